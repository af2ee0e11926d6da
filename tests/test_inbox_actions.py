"""Every front-line action from the inbox, one key each, through to the store."""

from __future__ import annotations

import copy
from dataclasses import replace

from frontdesk.storage import usecases
from frontdesk.storage.config import Person
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
        await settle(pilot)  # (whether the ticket has an acknowledgement already is looked up first)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert Outbox.select().where(Outbox.ticket == ticket_id).count() == before
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("y")
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


def notices(app) -> list[str]:
    return [str(notification.message) for notification in app._notifications]


def on_an_untriaged_ticket(store, script, **options) -> None:
    """Run `script(pilot, app, ticket_id)` in the inbox, the cursor on the first untriaged ticket."""
    app = FrontdeskApp(store, demo=True, state_file=None, **options)

    async def run(pilot):
        await script(pilot, app, untriaged_first(app))

    run_app(app, run)


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


def test_undo_puts_back_exactly_what_resolving_a_new_ticket_changed(demo_store):
    async def script(pilot, app, ticket_id):
        before = demo_store.ticket(ticket_id)
        assert before.state == "new"
        await press(pilot, "x")
        assert demo_store.ticket(ticket_id).state == "resolved"
        await press(pilot, "u")
        after = demo_store.ticket(ticket_id)
        assert (after.state, after.resolved_at, after.pauses, after.updated_at) == ("new", None, before.pauses, before.updated_at)
        assert demo_store.events(ticket_id)[-1].kind == "undo"
        assert f"#{ticket_id} is back as it was before “new → resolved”" in notices(app)
        await press(pilot, "u")
        assert "Nothing to undo." in notices(app), "one step: the change before may not be mine"

    on_an_untriaged_ticket(demo_store, script)


def test_take_makes_the_ticket_mine_or_says_how_to_become_an_owner(demo_store):
    async def script(pilot, app, ticket_id):
        await press(pilot, "t")
        assert demo_store.ticket(ticket_id).owner_id is None
        assert any("add yourself under [[owners]]" in notice for notice in notices(app))
        owner = demo_store.owners()[0]
        demo_store.config = replace(demo_store.config, me=Person(owner.name, owner.email))
        await press(pilot, "t")
        assert demo_store.ticket(ticket_id).owner.email == owner.email
        assert f"#{ticket_id} is now yours ({owner.email})" in notices(app)

    on_an_untriaged_ticket(demo_store, script)


def test_a_change_made_meanwhile_by_someone_else_is_told_not_overwritten(demo_store):
    async def script(pilot, app, ticket_id):
        sam = copy.copy(demo_store)  # another rep's session on the same database
        sam.actor = "Sam Lee"
        usecases.triage(sam, ticket_id, 2)
        await press(pilot, "s", "1")
        assert demo_store.ticket(ticket_id).severity == 2, "Sam's change stands"
        assert any(
            notice.startswith(f"#{ticket_id} changed since you looked: severity set to 2 by Sam Lee at ")
            and notice.endswith("; nothing was changed")
            for notice in notices(app)
        )
        row = next(r for r in app.screen.query_one(TicketTable).rows if r.id == ticket_id)
        assert row.severity == 2, "the inbox shows the ticket as it is now"
        await press(pilot, "s", "1")
        assert demo_store.ticket(ticket_id).severity == 1, "seen now: the change goes through"

    on_an_untriaged_ticket(demo_store, script, tick_seconds=3600)  # no reload of its own accord


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
        for wanted in ("Set severity", "Acknowledge", "Reply", "Hand off", "Take", "Waiting on customer", "Resolve",
                       "Internal note", "Undo", "Stats", "View: Untriaged", "View: At risk & breached", "Search"):
            assert wanted in titles

    run_app(app, script)
