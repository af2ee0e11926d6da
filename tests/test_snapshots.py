"""What the rep sees, frozen: the demo mailbox at NOW, fixed terminal sizes. Review the SVGs
under tests/__snapshots__ after --snapshot-update before committing them."""

from __future__ import annotations

import pytest

from frontdesk.tui.app import FrontdeskApp

from conftest import settle


@pytest.fixture
def database(tmp_path):
    """What the screen shows does not depend on the backend: snapshots are taken on SQLite only."""
    return tmp_path / "tickets.db"


@pytest.fixture
def app(demo_store) -> FrontdeskApp:
    return FrontdeskApp(demo_store, demo=True, state_file=None)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_inbox(app, snap_compare, size):
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_inbox_in_16_colours(app, snap_compare):
    app.theme = "ansi-dark"
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_ticket(app, snap_compare, size):
    async def open_first(pilot):
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=open_first)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_help(app, snap_compare, size):
    async def open_help(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=open_help)


@pytest.mark.parametrize(
    "keys",
    [("s",), ("o",), ("r",), ("S",)],
    ids=["severity-picker", "owner-picker", "compose", "stats"],
)
def test_screens_at_120x40(app, snap_compare, keys):
    async def open_screen(pilot):
        await settle(pilot)
        await pilot.press("down", *keys)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(120, 40), run_before=open_screen)



# Legibility: urgency stays the most visible thing without colour, in 16 colours and on a light theme.
@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_inbox_without_colour(demo_store, snap_compare, monkeypatch, size):
    monkeypatch.setenv("NO_COLOR", "1")  # read when the app starts
    app = FrontdeskApp(demo_store, demo=True, state_file=None)
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_inbox_on_a_16_colour_terminal(demo_store, snap_compare, monkeypatch):
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLORTERM")
    app = FrontdeskApp(demo_store, demo=True, state_file=None)
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


def test_inbox_on_a_light_theme(app, snap_compare):
    app.theme = "solarized-light"
    assert snap_compare(app, terminal_size=(120, 40), run_before=settle)


# 80 columns and the widths where the tab titles just do not fit: every key, tab and word whole.
@pytest.mark.parametrize("size", [(103, 30), (80, 30)], ids=["103x30", "80x30"])
def test_inbox_narrow(app, snap_compare, size):
    assert snap_compare(app, terminal_size=size, run_before=settle)


def test_resolved_view_at_80x24(app, snap_compare):
    async def resolved(pilot):
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=resolved)


def test_paused_ticket_at_80x24(app, snap_compare):
    async def open_paused(pilot):
        await settle(pilot)
        await pilot.press("6", "enter")  # the Waiting view's first ticket: its clock is paused
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=open_paused)


def test_inbox_sorted_by_customer_with_the_jump_prompt(app, snap_compare):
    """The sorted column marked in the header (▼: descending), and `:12` typed at the bottom."""

    async def sort_and_jump(pilot):
        await settle(pilot)
        await pilot.press("greater_than_sign", "greater_than_sign", "I", "colon", "1", "2")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=sort_and_jump)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_marked_tickets_at_80x24(demo_store, snap_compare, monkeypatch, no_color):
    """Three tickets marked, their numbers reversed (the cursor on the last), the count in the footer."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def mark(pilot):
        await settle(pilot)
        await pilot.press("space", "down", "space", "space", "up")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=mark)
