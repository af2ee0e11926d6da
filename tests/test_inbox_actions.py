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

from conftest import as_someone_else, notices, run_app, settle


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


def test_triage_moves_the_cursor_down_to_the_next_untriaged_ticket(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    def untriaged(table) -> list[int]:
        return [row.id for row in table.rows if row.severity is None and row.automated is None]

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        first, second, third, *_, last = untriaged(table)
        table.cursor = [row.id for row in table.rows].index(first)
        for expected in (second, third):
            await pilot.press("s", "2")
            await settle(pilot)
            assert table.ticket_id == expected, "the next untriaged ticket below, not the one just triaged"
        table.cursor = [row.id for row in table.rows].index(last)
        await pilot.press("s", "1")
        await settle(pilot)
        assert table.ticket_id == untriaged(table)[0], "from the last one: back to the first untriaged"
        table.cursor = [row.id for row in table.rows].index(first)
        await pilot.press("s", "1")  # a severity changed, not a first triage: the cursor stays on it
        await settle(pilot)
        assert table.ticket_id == first and demo_store.ticket(first).severity == 1

    run_app(app, script)


def test_the_severity_picker_shows_the_tickets_own_targets(demo_store):
    """A customer with an agreement of their own: the picker says its targets, not the handbook's."""
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        table.cursor = next(i for i, row in enumerate(table.rows) if row.policy.name == "elite")
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, SeverityScreen)
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "Answer within 2 hours; resolve within 24 hours." in text
        assert "Targets of the ticket's elite policy." in text
        assert "72 hours" not in text

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
        assert demo_store.ticket(ticket_id).state == "new", "nobody has answered it: it is not open"
        assert notices(app)[-1] == f"#{ticket_id} is new again: nobody has answered it yet"
        await pilot.press("x")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "resolved"
        await pilot.press("u")
        await settle(pilot)
        assert demo_store.ticket(ticket_id).state == "new"

    run_app(app, script)


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
        assert "Nothing to undo." in notices(app), "only my own steps are undone"
        assert not any(notice.startswith(f"New ticket #{ticket_id} ") for notice in notices(app)), "it is not new"

    on_an_untriaged_ticket(demo_store, script)


def stats_shown(app) -> list[str]:
    return [str(figures.content) for figures in app.screen.query(".stats-table")]


def test_undo_takes_back_every_kind_of_change_newest_first_and_stats_count_only_what_stands(demo_store):
    async def script(pilot, app, ticket_id):
        await press(pilot, "S")
        stats_before = stats_shown(app)
        await press(pilot, "escape")
        before, outbox_before = demo_store.ticket(ticket_id), demo_store.outbox()

        await press(pilot, "enter")  # on the ticket's own screen, whatever its changes do to the inbox's order
        await press(pilot, "s", "1")
        await press(pilot, "o")
        await press(pilot, "enter", *"yours", "enter")
        await press(pilot, "a")
        await press(pilot, "y")
        await press(pilot, "r")
        await press(pilot, *"On it", "ctrl+s")
        await press(pilot, "n")
        await press(pilot, *"customer on 5.1", "ctrl+s")
        await press(pilot, "w")
        kinds = [event.kind for event in demo_store.events(ticket_id)[-6:]]
        assert kinds == ["severity", "owner", "reply_queued", "reply_queued", "note", "state"]
        await press(pilot, "x")
        assert demo_store.ticket(ticket_id).state == "resolved"

        for _ in range(7):
            await press(pilot, "u")
        after = demo_store.ticket(ticket_id)
        assert (after.version, after.state, after.severity, after.owner_id, after.resolved_at, after.pauses) == (
            before.version + 14, before.state, before.severity, before.owner_id, before.resolved_at, before.pauses
        )
        assert demo_store.outbox() == outbox_before, "the acknowledgement, reply and hand-off mail taken back"
        assert demo_store.draft(ticket_id).startswith("On it\n"), "the reply is the draft again"
        undone = [event.data["kind"] for event in demo_store.events(ticket_id)[-7:]]
        assert undone == ["state", "state", "note", "reply_queued", "reply_queued", "owner", "severity"]
        await press(pilot, "u")
        assert notices(app)[-1] == "Nothing to undo."
        await press(pilot, "escape", "S")
        assert stats_shown(app) == stats_before

    on_an_untriaged_ticket(demo_store, script)


def test_undo_leaves_a_ticket_someone_changed_since_and_says_what_they_did(demo_store):
    async def script(pilot, app, ticket_id):
        await press(pilot, "x")
        usecases.note(as_someone_else(demo_store), ticket_id, "don't, they call back at 4")
        await press(pilot, "u")
        assert demo_store.ticket(ticket_id).state == "resolved"
        assert notices(app)[-1] == (
            f"#{ticket_id} changed since you looked: note: don't, they call back at 4 by Sam Lee at 10:00; nothing was changed"
        )

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
            assert any(title.startswith(wanted) for title in titles), wanted  # titles add search words

    run_app(app, script)
