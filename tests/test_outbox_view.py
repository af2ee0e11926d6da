"""The outbox on screen: markers in the rows, lines in the preview and the ticket view, view 8
with retry and discard, and a notice once per failed send. On SQLite and on PostgreSQL (the
snapshots: SQLite only)."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest
from rich.console import Console
from textual.worker import WorkerCancelled

from frontdesk.storage import outbox
from frontdesk.storage.models import Event, Outbox
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.help_screen import HelpScreen, help_text
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.marks import Marks
from frontdesk.tui.modals import ConfirmScreen
from frontdesk.tui.outbox_view import OutboxList
from frontdesk.tui.ticket_screen import TicketScreen
from frontdesk.tui.ticket_table import TicketTable

from conftest import run_app
from conftest import settle as settle_once

# The demo mailbox's outbox: three messages queued, none sent (demo mode sends nothing).
QUEUED_REPLY, ACK_25, ACK_22 = 1, 2, 3
ERROR = "smtp.example.com: 550 5.1.1 <ben.carter@northwind.example>: [mailbox] unavailable"


def fail(store: Store, entry_id: int, error: str = ERROR, retry_in: timedelta | None = timedelta(minutes=4)) -> None:
    """What the sender does when a message can't go out (mail/smtp_send.py)."""
    now = store.clock.now()
    assert outbox.claim(store, entry_id, now)
    outbox.mark_failed(store, entry_id, error, now, now + retry_in if retry_in else None)


def states(store: Store) -> None:
    """Ticket 25's acknowledgement failed, 22's is being sent, 8 has a reply queued and a draft."""
    fail(store, ACK_25)
    assert outbox.claim(store, ACK_22, store.clock.now())
    store.save_draft(8, "Hi Lucia,\n\nstill looking")


def inbox_app(store: Store, **kwargs) -> FrontdeskApp:
    """The inbox, keeping every notice it shows (a toast goes away after a few seconds)."""
    app = FrontdeskApp(store, demo=True, state_file=None, **kwargs)
    app.said = []
    notify = app.notify

    def recording(message, *args, **more):
        app.said.append(str(message))
        return notify(message, *args, **more)

    app.notify = recording
    return app


def row_line(app, ticket_id: int):
    table = app.screen.query_one(TicketTable)
    table.cursor = next(i for i, row in enumerate(table.rows) if row.id == ticket_id)
    y = table.cursor - int(table.scroll_y) + 1
    return table.render_line(y)


def markers(app, ticket_id: int) -> str:
    """The marker cells: after the number (5 cells and a space), three cells."""
    return row_line(app, ticket_id).text[6:9]


async def settle(pilot) -> None:
    """Background work done and shown. A load that a change seen in the database started (on
    PostgreSQL this test's own writes are seen too) may take the place of another: waiting on the
    one replaced says it was cancelled, and the wait goes on."""
    for _ in range(5):
        try:
            await settle_once(pilot)
            return
        except WorkerCancelled:
            continue


async def reload(pilot) -> None:
    """What a change seen in the database does (the inbox under any screen), waited for."""
    pilot.app.screen_stack[0].reload()
    await settle(pilot)


def notices(app) -> list[str]:
    return list(app.said)


def test_rows_mark_queued_sending_failed_and_a_draft(demo_store):
    states(demo_store)
    app = inbox_app(demo_store)

    async def script(pilot):
        screen = app.screen
        assert screen.marks[8] == Marks("queued", True)
        assert screen.marks[22] == Marks("sending") and screen.marks[25] == Marks("failed")
        assert markers(app, 8) == "↑✎ "
        assert markers(app, 22) == "»  "
        assert markers(app, 25) == "!  "
        assert markers(app, 9) == "   ", "nothing waits on #9"
        # Without colour (NO_COLOR) a failure still stands out: bold and reversed.
        failed = next(s for s in row_line(app, 25) if s.text == "!")
        assert failed.style.bold and failed.style.reverse

    run_app(app, script)


def test_the_marker_follows_the_outbox_and_the_draft(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        assert markers(app, 25) == "↑  "
        fail(demo_store, ACK_25)
        outbox.mark_sent(demo_store, QUEUED_REPLY, demo_store.clock.now())
        demo_store.save_draft(25, "Hi Ben,")
        await reload(pilot)
        assert markers(app, 25) == "!✎ "
        assert markers(app, 8) == "   ", "sent: nothing waits any more"
        demo_store.save_draft(25, "")  # an emptied draft is gone
        outbox.retry(demo_store, ACK_25)
        await reload(pilot)
        assert markers(app, 25) == "↑  "

    run_app(app, script)


def preview_text(app) -> str:
    return app.screen.query_one("#preview").render().plain


def test_the_preview_and_the_ticket_say_queued_sending_failed_and_draft(demo_store):
    states(demo_store)
    app = inbox_app(demo_store)

    async def script(pilot):
        row_line(app, 25)
        await settle(pilot)
        lines = preview_text(app).splitlines()
        failed = next(line for line in lines if "failed" in line)
        assert "acknowledgement to ben.carter@northwind.example failed after 1 attempt, retried at 10:04" in failed
        assert "[mailbox] unavailable" in failed, "the error, as plain text"
        row_line(app, 22)
        await settle(pilot)
        assert "acknowledgement to lucia.romero@globex.example sending since 10:00 (attempt 1)" in preview_text(app)
        row_line(app, 8)
        await settle(pilot)
        text = preview_text(app)
        assert "reply to lucia.romero@globex.example queued 09:00 by Alex Rivera" in text
        assert "draft saved 10:00, not sent" in text
        row_line(app, 9)
        await settle(pilot)
        assert "queued" not in preview_text(app) and "draft" not in preview_text(app)

        row_line(app, 25)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        clocks = app.screen.query_one("#ticket-clocks").render().plain
        assert "Unsent" in clocks and "failed after 1 attempt, retried at 10:04" in clocks and ERROR in clocks
        # Retried meanwhile (elsewhere): the open ticket follows.
        outbox.retry(demo_store, ACK_25)
        await reload(pilot)
        clocks = app.screen.query_one("#ticket-clocks").render().plain
        assert "queued" in clocks and "failed" not in clocks

    run_app(app, script)


def test_a_failure_that_waits_for_the_rep_says_so(demo_store):
    fail(demo_store, ACK_25, "smtp: 554 rejected", retry_in=None)
    app = inbox_app(demo_store)

    async def script(pilot):
        row_line(app, 25)
        await settle(pilot)
        assert "not retried on its own: R in the Outbox (8) retries it: smtp: 554 rejected" in preview_text(app)

    run_app(app, script)


def outbox_list(app) -> OutboxList:
    return app.screen.query_one(OutboxList)


def highlight(app, entry_id: int) -> None:
    entries = outbox_list(app)
    entries.highlighted = entries.get_option_index(str(entry_id))


def test_the_outbox_view_lists_retries_and_discards(demo_store):
    fail(demo_store, ACK_25)
    app = inbox_app(demo_store)

    async def script(pilot):
        assert not app.screen.query(OutboxList), "mounted when the view is first shown"
        await pilot.press("8")
        await settle(pilot)
        entries = outbox_list(app)
        assert entries.display and entries.has_focus and not app.screen.query_one(TicketTable).display
        assert "8 Outbox 3" in app.screen.query_one("#tabs").render().plain
        assert [e.id for e in entries.entries.values()] == [QUEUED_REPLY, ACK_25, ACK_22]

        # R on a queued one: only a failed one is retried.
        highlight(app, QUEUED_REPLY)
        await pilot.press("R")
        await settle(pilot)
        assert any("only a failed one is retried" in n for n in notices(app))

        highlight(app, ACK_25)
        await pilot.press("R")
        await settle(pilot)
        assert Outbox.get_by_id(ACK_25).status == "queued"
        assert any("is queued again" in n for n in notices(app))

        # d asks first; n keeps it.
        highlight(app, ACK_22)
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot)
        assert Outbox.get_or_none(Outbox.id == ACK_22) is not None
        await pilot.press("d")
        await pilot.press("y")
        await settle(pilot)
        assert Outbox.get_or_none(Outbox.id == ACK_22) is None
        assert Event.select().where((Event.ticket == 22) & (Event.kind == "outbox_discarded")).count() == 1
        assert list(outbox_list(app).entries) == [str(QUEUED_REPLY), str(ACK_25)]
        assert "8 Outbox 2" in app.screen.query_one("#tabs").render().plain

        # Enter opens the ticket; the view is still there on the way back.
        highlight(app, ACK_25)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == 25
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and outbox_list(app).display

        # Back to the tickets.
        await pilot.press("1")
        await settle(pilot)
        assert app.screen.query_one(TicketTable).display and app.screen.query_one(TicketTable).has_focus

    run_app(app, script)


def test_the_outbox_view_shows_keys_and_has_its_commands(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("8")
        await settle(pilot)
        shown = {b.binding.description for b in app.screen.active_bindings.values() if b.binding.show}
        assert {"Retry", "Discard"} <= shown
        titles = {command.title for command in app.screen.palette_commands()}
        assert {"View: Outbox", "Outbox: retry a failed send", "Outbox: discard"} <= titles
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_text(app.screen.keys))
        help_text_ = console.export_text()
        for words in ("The Outbox view (8)", "retry a failed message", "sending it failed", "a reply draft is saved"):
            assert words in help_text_

    run_app(app, script)


def test_nothing_in_the_outbox_says_so(demo_store):
    for entry_id in (QUEUED_REPLY, ACK_25, ACK_22):
        outbox.discard(demo_store, entry_id)
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("8")
        await settle(pilot)
        assert "8 Outbox 0" in app.screen.query_one("#tabs").render().plain
        assert outbox_list(app).entry is None
        await pilot.press("R", "d")  # nothing to act on: nothing happens
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)

    run_app(app, script)


def test_a_failed_send_in_another_process_is_told_once(demo_store, clock):
    """The sender is another process (the mailbox lease's holder): the inbox sees the failure in
    the database, says so once, and again only when the message fails again."""
    app = inbox_app(demo_store, tick_seconds=0.05)
    sender = Store.open(demo_store.target, demo_store.config, clock)
    failures = lambda: [n for n in notices(app) if "failed" in n]  # noqa: E731

    async def until(pilot, condition, seconds: float = 10.0) -> bool:
        for _ in range(int(seconds / 0.05)):
            if condition():
                return True
            await pilot.pause(0.05)
        return condition()

    async def drive() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            assert failures() == []
            await asyncio.to_thread(fail, sender, ACK_25)
            assert await until(pilot, lambda: len(failures()) == 1)
            assert failures()[0].startswith("#25: the acknowledgement to ben.carter@northwind.example failed: ")
            assert "retried at 10:04" in failures()[0]
            # Later loads (something else changed) say nothing more about it.
            clock.advance(timedelta(seconds=30))  # the database's change marks move with time
            await asyncio.to_thread(outbox.mark_sent, sender, QUEUED_REPLY, clock.now())
            assert await until(pilot, lambda: 8 not in app.screen.marks)
            await reload(pilot)
            assert len(failures()) == 1
            # Retried, and failing again: a new failure.
            clock.advance(timedelta(seconds=30))
            await asyncio.to_thread(outbox.retry, sender, ACK_25)
            await asyncio.to_thread(fail, sender, ACK_25, "smtp: 421 try later")
            assert await until(pilot, lambda: len(failures()) == 2)
            assert "smtp: 421 try later" in failures()[1]

    try:
        asyncio.run(drive())
    finally:
        sender.close()


def test_failures_found_on_opening_are_told_in_one_notice(demo_store):
    fail(demo_store, ACK_25)
    fail(demo_store, ACK_22)
    app = inbox_app(demo_store)

    async def script(pilot):
        await reload(pilot)
        said = [n for n in notices(app) if "failed" in n]
        assert said == ["2 messages in the outbox failed to send: press 8 to see why, R there to retry"]

    run_app(app, script)


# --- snapshots (SQLite only) ---------------------------------------------------------------


@pytest.fixture
def sqlite_demo(tmp_path, clock):
    from frontdesk.mail.demo import build_demo
    from frontdesk.storage.config import load_config

    config_file, db_file = build_demo(tmp_path / "demo", clock.now())
    opened = Store.open(db_file, load_config(config_file), clock)
    states(opened)
    yield opened
    opened.close()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_outbox_view(sqlite_demo, snap_compare, size):
    async def open_outbox(pilot):
        await settle(pilot)
        await pilot.press("8")
        await settle(pilot)
        pilot.app.clear_notifications()  # the failure's notice: the view itself is what is compared
        await pilot.pause()

    assert snap_compare(inbox_app(sqlite_demo), terminal_size=size, run_before=open_outbox)
