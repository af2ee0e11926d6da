"""Background work belongs to the screen that asked for it: a screen closed while its store call is
still running takes no result (and the app keeps running); a change the rep made is the app's, so
it is done and told even when its screen has closed; a failing call is a notice, never a crash."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable

import pytest
from test_modals import Host

from frontdesk.storage import usecases
from frontdesk.tui import stats_screen
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.compose import ComposeScreen
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.modals import SnippetChoice, SnippetPickerScreen
from frontdesk.tui.stats_screen import StatsScreen
from frontdesk.tui.ticket_screen import TicketScreen

from conftest import notices, run_app, settle


class Gate:
    """Holds calls (those `holds` picks) while the gate is closed: the real store (or use case)
    still answers, only later, as a slow database would."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, holds: Callable[..., bool] = lambda *_: True
    ) -> None:
        self.entered = threading.Event()
        self._open = threading.Event()
        self._open.set()
        real = getattr(owner, name)

        @functools.wraps(real)
        def held(*args, **kwargs):
            if not self._open.is_set() and holds(*args):
                self.entered.set()
                self._open.wait(10)
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, held)

    def close(self) -> None:
        self._open.clear()

    def open(self) -> None:
        self._open.set()

    async def reached(self, seconds: float = 10.0) -> None:
        """Until a call waits at the gate (the event loop keeps running meanwhile)."""
        deadline = time.monotonic() + seconds
        while not self.entered.is_set():
            assert time.monotonic() < deadline, "nothing reached the gate"
            await asyncio.sleep(0.02)


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


async def open_first_ticket(pilot) -> TicketScreen:
    await pilot.press("enter")
    await settle(pilot)
    assert isinstance(pilot.app.screen, TicketScreen)
    return pilot.app.screen


async def leave_while_held(pilot, gate: Gate, key: str) -> None:
    """Press `key`, press escape while its work waits at the gate, then let the work answer."""
    gate.close()
    await pilot.press(key)
    await gate.reached()
    await pilot.press("escape")
    await pilot.pause()
    gate.open()
    await settle(pilot)
    assert pilot.app.is_running


def test_closing_a_ticket_before_it_loads_keeps_the_app(demo_store, monkeypatch):
    loading = Gate(monkeypatch, demo_store, "events")  # only the ticket screen's load reads events
    app = inbox_app(demo_store)

    async def script(pilot):
        await leave_while_held(pilot, loading, "enter")
        assert isinstance(app.screen, InboxScreen)

    run_app(app, script)


@pytest.mark.parametrize("held", ["reload", "change"])
def test_resolve_then_escape_resolves_tells_and_keeps_the_app(demo_store, monkeypatch, held):
    """x resolves, then reloads the ticket; the rep leaves while either is still running. The
    change is the app's work: it is done and told all the same."""
    gate = Gate(monkeypatch, demo_store, "events") if held == "reload" else Gate(monkeypatch, usecases, "resolve")
    app = inbox_app(demo_store)

    async def script(pilot):
        ticket = await open_first_ticket(pilot)
        await leave_while_held(pilot, gate, "x")
        assert isinstance(app.screen, InboxScreen)
        assert demo_store.view(ticket.ticket_id).state == "resolved"
        assert any(notice.startswith(f"#{ticket.ticket_id} is resolved") for notice in notices(app))

    run_app(app, script)


def test_work_superseded_before_it_answers_is_dropped(demo_store, monkeypatch):
    """A quick `[` leaves this week's figures behind: when they come in late, they are not shown."""
    screen = StatsScreen(demo_store)
    this_week = screen.week
    loading = Gate(monkeypatch, stats_screen, "rotation_summary", holds=lambda _, monday, *__: monday == this_week.monday)
    app = inbox_app(demo_store)

    async def script(pilot):
        loading.close()
        app.push_screen(screen)
        await loading.reached()
        screen.action_week(-1)
        while screen.loaded is None:
            await pilot.pause(0.02)
        loading.open()
        await settle(pilot)
        assert screen.week != this_week and screen.loaded.summary.week == screen.week

    run_app(app, script)


def test_a_refused_load_is_a_notice_and_the_screen_stays(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        app.push_screen(TicketScreen(99999))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, TicketScreen)
        assert "no ticket #99999" in notices(app)

    run_app(app, script)


def test_an_unexpected_failure_in_work_is_a_notice_not_a_crash(demo_store):
    def broken_preview(name: str) -> str:
        raise KeyError(name)  # a bug in rendering, not a refusal the picker knows how to show

    app = inbox_app(demo_store)

    async def script(pilot):
        app.push_screen(SnippetPickerScreen([SnippetChoice("ack", "Acknowledge")], broken_preview))
        await settle(pilot)
        assert app.is_running and isinstance(app.screen, SnippetPickerScreen)
        assert "Something went wrong: KeyError: 'ack'" in notices(app)

    run_app(app, script)


def test_escape_while_a_reply_is_being_queued_waits_for_it(demo_store, monkeypatch):
    """The reply is queued either way: the rep must not be told a draft was kept."""
    queuing = Gate(monkeypatch, usecases, "reply")
    ticket_id = demo_store.views()[0].id
    app = Host(ComposeScreen(demo_store, ticket_id))

    async def script(pilot):
        await settle(pilot)
        await pilot.press(*"On it.")
        await leave_while_held(pilot, queuing, "ctrl+s")
        assert not any("Draft" in notice for notice in notices(app))
        assert app.results and app.results[0] is not False

    run_app(app, script, size=(80, 24))
    assert any(entry.kind == "reply" for entry in demo_store.outbox(ticket_id))
