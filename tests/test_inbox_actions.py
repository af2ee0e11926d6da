"""Every front-line action from the inbox, one key each, through to the store."""

from __future__ import annotations

from frontdesk.storage.models import Event, Outbox
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.modals import ConfirmScreen, NoteScreen, OwnerPickerScreen, SeverityScreen
from frontdesk.tui.ticket_table import TicketTable

from conftest import run_app, settle


def untriaged_first(app) -> int:
    """Put the cursor on the first untriaged ticket and return its id."""
    table = app.screen.query_one(TicketTable)
    table.cursor = next(i for i, row in enumerate(table.rows) if row.severity is None and row.automated is None)
    return table.ticket_id


def test_severity_picker_sets_severity(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        ticket_id = untriaged_first(app)
        await pilot.press("s")
        assert isinstance(app.screen, SeverityScreen)
        await pilot.press("1")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert demo_store.ticket(ticket_id).severity == 1
        row = next(r for r in app.screen.query_one(TicketTable).rows if r.id == ticket_id)
        assert row.severity == 1, "the inbox shows the change"

    run_app(app, script)


def test_acknowledge_asks_then_queues_the_ack(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        ticket_id = untriaged_first(app)
        before = Outbox.select().where(Outbox.ticket == ticket_id).count()
        await pilot.press("a")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert Outbox.select().where(Outbox.ticket == ticket_id).count() == before
        await pilot.press("a", "y")
        await settle(pilot)
        queued = Outbox.select().where(Outbox.ticket == ticket_id).order_by(Outbox.id.desc()).first()
        assert queued.kind == "ack" and f"#{ticket_id}" in queued.body

    run_app(app, script)


def test_hand_off_to_an_owner_with_a_note(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        ticket_id = untriaged_first(app)
        await pilot.press("o")
        await settle(pilot)
        assert isinstance(app.screen, OwnerPickerScreen)
        await pilot.press("enter")  # the best-ranked owner
        await pilot.press(*"please take this", "enter")
        await settle(pilot)
        ticket = demo_store.ticket(ticket_id)
        assert ticket.owner_id is not None
        handoff = Event.select().where(Event.ticket == ticket_id, Event.kind == "owner").order_by(Event.id.desc()).first()
        assert handoff.data["note"] == "please take this"

    run_app(app, script)


def test_waiting_resolve_and_undo(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        ticket_id = untriaged_first(app)
        await pilot.press("w")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "waiting"
        app.screen.query_one(TicketTable).set_rows(app.screen.query_one(TicketTable).rows, keep_ticket=ticket_id)
        await pilot.press("w")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "open"
        await pilot.press("x")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "resolved"
        await pilot.press("u")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "open"

    run_app(app, script)


def test_internal_note(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        ticket_id = untriaged_first(app)
        await pilot.press("n")
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"[bold]customer on 5.1[/]", "ctrl+s")
        await settle(pilot)
        note = demo_store.events(ticket_id)[-1]
        assert (note.kind, note.data["text"]) == ("note", "[bold]customer on 5.1[/]")

    run_app(app, script)


def test_every_action_is_in_the_command_palette(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for wanted in ("Set severity", "Acknowledge", "Reply", "Hand off", "Waiting on customer", "Resolve",
                       "Internal note", "Stats", "View: Untriaged", "View: At risk & breached", "Search"):
            assert wanted in titles

    run_app(app, script)
