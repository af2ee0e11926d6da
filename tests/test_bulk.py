"""Marks and changes to each marked ticket in one step, from the inbox: space, v, ctrl+a and esc;
severity, hand-off, waiting, resolve and note on every marked ticket, one notice, one undo."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.models import Owner, Ticket
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.keys import KeysFooter
from frontdesk.tui.modals import NoteScreen, OwnerPickerScreen, SeverityScreen
from frontdesk.tui.ticket_table import TicketTable

from conftest import NOW, as_someone_else, build_mail, notices, run_app, settle


def make_tickets(store, people: int = 3, auto_replies: int = 0) -> list[int]:
    """Tickets from customers, then auto-replies, each its own thread; their ids, oldest first."""
    ingest = Ingestor(store).ingest
    for n in range(people):
        ingest(build_mail(subject=f"Question {n}", body="How do we upgrade?", date=NOW - timedelta(minutes=n)), "test")
    for n in range(auto_replies):
        reply = build_mail(
            subject=f"Automatic reply: out of office {n}", sender=f"Away {n} <away{n}@acme.example>",
            body="I am away until Monday.", Auto_Submitted="auto-replied",
        )
        ingest(reply, "test")
    return [ticket.id for ticket in Ticket.select().order_by(Ticket.id)]


def in_the_inbox(store, script, size: tuple[int, int] = (120, 40), **tickets: int) -> None:
    """Run `script(pilot, app, ids)` in the inbox over tickets made by make_tickets(**tickets)."""
    ids = make_tickets(store, **tickets)
    app = FrontdeskApp(store, state_file=None)

    async def run(pilot):
        await script(pilot, app, ids)

    run_app(app, run, size)


def table_of(app) -> TicketTable:
    return app.screen.query_one(TicketTable)


def footer_line(app) -> str:
    return "".join(strip.text for strip in app.screen._compositor.render_strips()[-1:])


async def press(pilot, *keys: str) -> None:
    await pilot.press(*keys)
    await settle(pilot)


async def put_cursor_on(pilot, table: TicketTable, ticket_id: int) -> None:
    table.cursor = [row.id for row in table.rows].index(ticket_id)
    await pilot.pause()


def test_space_marks_v_marks_a_range_ctrl_a_marks_all_and_esc_clears_the_marks_before_the_search(store):
    async def script(pilot, app, ids):
        table = table_of(app)
        order = [row.id for row in table.rows]
        await press(pilot, "space")
        assert table.selection == {order[0]} and table.ticket_id == order[1], "marked, and on to the next"
        await press(pilot, "space", "up", "space")
        assert table.selection == {order[0]} and table.ticket_id == order[2], "space again unmarks"
        await press(pilot, "down", "down", "v")
        assert table.selection == set(order[0:5]), "from the ticket last marked or unmarked to here"
        await press(pilot, "ctrl+a")
        assert table.selection == set(order)
        await press(pilot, "slash", *"Question 1", "down")  # a search (a space in it is no mark), then the list
        assert app.screen.query_one("#search").value == "Question 1"
        assert table.selection == {row.id for row in table.rows} != set(order), "those found stay marked"
        await press(pilot, "escape")
        assert table.selection == set() and app.screen.query_one("#search").display, "marks first"
        await press(pilot, "escape")
        assert not app.screen.query_one("#search").display

    in_the_inbox(store, script, people=6)


def test_resolving_ten_auto_replies_is_one_step_and_one_undo_takes_it_back(store):
    async def script(pilot, app, ids):
        auto = ids[2:]
        table = table_of(app)
        for ticket_id in auto:
            await put_cursor_on(pilot, table, ticket_id)
            await press(pilot, "space")
        assert table.selection == set(auto)
        await press(pilot, "x")
        assert [store.ticket(t).state for t in ids] == ["new", "new"] + ["resolved"] * 10
        assert notices(app)[-1] == "Resolved 10 tickets. Press u to undo the step."
        assert table.selection == set(), "the marks clear after the step"
        assert len(app.undo_steps) == 1
        await press(pilot, "u")
        assert [store.ticket(t).state for t in ids] == ["new"] * 12
        assert notices(app)[-1] == "Undid 10 changes"

    in_the_inbox(store, script, people=2, auto_replies=10)


def test_a_ticket_someone_changed_since_is_left_named_and_stays_marked(store):
    async def script(pilot, app, ids):
        await press(pilot, "ctrl+a")
        usecases.triage(as_someone_else(store), ids[1], 1)  # after the rows were shown
        await press(pilot, "x")
        assert [store.ticket(t).state for t in ids] == ["resolved", "new", "resolved"]
        assert notices(app)[-1] == (
            f"Resolved 2 of 3 tickets; #{ids[1]} changed since you looked: severity set to 1 by Sam Lee at 15:00; "
            "nothing was changed. Press u to undo the step."
        )
        assert table_of(app).selection == {ids[1]}, "left as it was: still marked, to look at again"

    in_the_inbox(store, script, people=3)


def test_severity_hand_off_and_note_ask_once_for_every_marked_ticket(store):
    async def script(pilot, app, ids):
        table = table_of(app)
        for ticket_id in ids[:2]:
            await put_cursor_on(pilot, table, ticket_id)
            await press(pilot, "space")
        await press(pilot, "s")
        assert isinstance(app.screen, SeverityScreen) and app.screen.subject == "2 tickets"
        await press(pilot, "2")
        assert [store.ticket(t).severity for t in ids] == [2, 2, None]
        assert notices(app)[-1] == "Severity 2 on 2 tickets. Press u to undo the step."
        for ticket_id in ids[:2]:  # the marks cleared: mark them again
            await put_cursor_on(pilot, table, ticket_id)
            await press(pilot, "space")
        await press(pilot, "o")
        assert isinstance(app.screen, OwnerPickerScreen) and app.screen.title_text == "Hand off 2 tickets"
        await press(pilot, "enter", "enter")
        bob = Owner.get(Owner.email == "bob@example.com").id
        assert [store.ticket(t).owner_id for t in ids] == [bob, bob, None]
        assert notices(app)[-1] == "Handed 2 tickets to bob@example.com. Press u to undo the step."
        await press(pilot, "u")
        assert [store.ticket(t).owner_id for t in ids] == [None, None, None], "one undo: both hand-offs"
        for ticket_id in ids[:2]:
            await put_cursor_on(pilot, table, ticket_id)
            await press(pilot, "space")
        assert table.selection == set(ids[:2])
        await press(pilot, "n")
        assert isinstance(app.screen, NoteScreen) and app.screen.subject == "2 tickets"
        await press(pilot, *"called them", "ctrl+s")
        assert [[e.data["text"] for e in store.events(t) if e.kind == "note"] for t in ids] == [
            ["called them"], ["called them"], []
        ]

    in_the_inbox(store, script, people=3)


def test_waiting_on_a_mixed_selection_moves_the_others_and_says_how_many_were_already(store):
    async def script(pilot, app, ids):
        usecases.wait(store, ids[0])
        app.screen.reload()
        await press(pilot, "ctrl+a")
        await press(pilot, "w")
        assert [store.ticket(t).state for t in ids] == ["waiting"] * 3
        assert notices(app)[-1] == "Put 2 tickets on waiting; 1 was waiting already. Press u to undo the step."
        assert table_of(app).selection == set()
        await press(pilot, "ctrl+a", "w")  # every one waiting: like the key pressed again, they reopen
        assert [store.ticket(t).state for t in ids] == ["new"] * 3
        assert notices(app)[-1] == "Reopened 3 tickets. Press u to undo the step."

    in_the_inbox(store, script, people=3)


def test_marks_survive_a_reload_and_drop_tickets_that_left_the_view(store):
    async def script(pilot, app, ids):
        await press(pilot, "ctrl+a")
        usecases.resolve(as_someone_else(store), ids[0])
        app.screen.reload()
        await settle(pilot)
        assert table_of(app).selection == set(ids[1:]), "the resolved one left the Open view"
        await press(pilot, "8")
        assert table_of(app).selection == set(), "the Outbox view lists messages: nothing stays marked"

    in_the_inbox(store, script, people=3)


def test_the_footer_counts_the_marks_at_80_by_24_with_the_keys_that_apply_to_them(store):
    async def script(pilot, app, ids):
        assert isinstance(app.screen, InboxScreen)
        before = footer_line(app)
        assert "marked" not in before and "Ack" in before
        await press(pilot, "space", "space", "space")
        line = footer_line(app)
        assert line.startswith(" 3 marked ") and app.screen.query_one(KeysFooter).marked == 3
        for key in ("Severity", "Hand off", "Wait", "Resolve", "Keys", "Quit"):
            assert key in line, key
        assert "Ack" not in line and "Reply" not in line, "not for marked tickets: room for the count"
        await press(pilot, "escape")
        assert footer_line(app) == before

    in_the_inbox(store, script, size=(80, 24), people=4)
