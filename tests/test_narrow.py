"""At 80 columns and up to the width where the titles fit, everything on screen is whole: the
keys that matter in the footer, every tab with its count, the banner, states, the clocks."""

from __future__ import annotations

import pytest
from test_modals import screen_text

from frontdesk.storage.models import Ticket
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.keys import ACTIONS
from frontdesk.tui.ticket_screen import TicketScreen
from frontdesk.tui.ticket_table import TicketTable
from frontdesk.tui.views import VIEWS

from conftest import run_app, settle

PAUSED_TICKET = 12  # the demo's ticket waiting on the customer
LABELS = {action.label for action in ACTIONS if action.label}


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


def footer_keys(app) -> list[str]:
    """The footer's keys and labels as written, e.g. "? Keys"."""
    footer = screen_text(app).splitlines()[-1].split("▏")[0]
    return [f"{key} {label}" for key, label in _pairs(footer.split())]


def _pairs(words: list[str]):
    """`s Severity a Ack o Hand off` -> (s, Severity), (a, Ack), (o, Hand off)."""
    index = 0
    while index < len(words):
        key, label = words[index], words[index + 1]
        index += 2
        while index < len(words) and f"{label} {words[index]}" in LABELS:
            label, index = f"{label} {words[index]}", index + 1
        yield key, label


def test_at_80x24_the_footer_keeps_help_and_quit_and_cuts_no_label(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        keys = footer_keys(app)
        assert "? Keys" in keys and "q Quit" in keys
        assert {"s Severity", "a Ack", "r Reply", "o Hand off", "w Wait", "x Resolve"} <= set(keys)
        assert all(label in LABELS for label in (key.split(" ", 1)[1] for key in keys)), keys
        assert screen_text(app).splitlines()[-1].rstrip().endswith("^p palette")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        assert {"? Keys", "esc Back"} <= set(footer_keys(app))

    run_app(app, script, size=(80, 24))


@pytest.mark.parametrize("width", [80, 90, 100, 103, 110, 120])
def test_every_tab_is_whole_with_its_count(demo_store, width):
    app = inbox_app(demo_store)

    async def script(pilot):
        tabs = screen_text(app).splitlines()[1]
        assert "…" not in tabs
        counts = {"open": 22, "untriaged": 7, "mine": 0, "unassigned": 9, "urgent": 5, "waiting": 2, "resolved": 8, "outbox": 3}
        for view in VIEWS:
            assert any(f"{view.hotkey} {name} {counts[view.key]}" in tabs for name in (view.title, view.short)), (view, tabs)
        assert "New" not in tabs  # the untriaged tab is not named like the state `new`

    run_app(app, script, size=(width, 30))


def test_searching_at_80_columns_keeps_every_tab_whole(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("slash", *"helm")
        await settle(pilot)
        tabs = screen_text(app).splitlines()[1]
        assert "…" not in tabs and tabs.startswith("1 Open 2 2 Triage 1 "), tabs
        assert len(tabs.rstrip()) <= 80

    run_app(app, script, size=(80, 24))


def test_the_tabs_and_banner_fit_again_after_a_resize(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        banner, tabs = screen_text(app).splitlines()[:2]
        assert "8 Out 3" in tabs
        assert banner.rstrip().endswith("Alex Rivera on rotation since Mon 09:00")
        assert "? Keys" in footer_keys(app)

    run_app(app, script, size=(120, 40))


def test_resolved_reads_whole_in_the_state_column(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("7")
        await settle(pilot)
        table = app.screen.query_one(TicketTable)
        row = table.render_line(1).text
        assert row.rstrip().endswith("resolved"), row

    run_app(app, script, size=(80, 24))


@pytest.mark.parametrize("subject", ["Everything is broken " * 15, "全部坏了" * 75, "x" * 300])
def test_a_long_subject_leaves_the_preview_clocks_in_sight(demo_store, subject):
    Ticket.update(subject=subject).where(Ticket.id == 9).execute()
    app = inbox_app(demo_store)

    async def script(pilot):
        assert app.screen.query_one(TicketTable).ticket_id == 9
        lines = screen_text(app).splitlines()
        top = next(i for i, line in enumerate(lines) if line.startswith(" #9 "))
        title, who, response, resolution = lines[top:top + 4]
        assert title.rstrip().endswith("…")
        # Who wrote, the owner and the state whole; the address comes last, cut if need be.
        assert who.startswith(" Алексей Смирнов · VolgaSoft · owner Tomás Ibarra · open · <a.smirnov")
        assert response.startswith(" Response   missed") and resolution.startswith(" Resolution BREACHED")

    run_app(app, script, size=(80, 30))


def test_a_paused_clock_is_one_line_at_80_columns(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        app.push_screen(TicketScreen(PAUSED_TICKET))
        await settle(pilot)
        lines = str(app.screen.query_one("#ticket-clocks").render()).splitlines()
        assert len(lines) == 2 and lines[1].startswith("Resolution paused")
        assert app.screen.query_one("#ticket-clocks").size.height == 2

    run_app(app, script, size=(80, 24))


def test_at_80x24_a_long_customer_line_wraps_under_its_value_not_the_label(demo_store):
    """The demo's ticket 9 names its customer's account executive: wider than 80 columns."""
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.ticket_id == 9
        lines = screen_text(app).splitlines()
        customer = next(i for i, line in enumerate(lines) if line.lstrip().startswith("Customer"))
        value_starts = lines[customer].index("VolgaSoft")
        wrapped = lines[customer + 1]
        assert wrapped[:value_starts].strip() == "" and "Daniel Brooks" in wrapped
        assert lines[customer + 2].lstrip().startswith("Severity")

    run_app(app, script, size=(80, 24))
