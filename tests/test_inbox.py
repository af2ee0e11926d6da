"""The inbox, driven headless as a rep would drive it."""

from __future__ import annotations

import gc
import io
import re
import threading
import weakref
from datetime import timedelta

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual._compositor import ChopsUpdate
from textual.strip import Strip

from frontdesk.storage import usecases
from frontdesk.storage.find import find
from frontdesk.tui import inbox as inbox_module
from frontdesk.tui import views as inbox_views
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.ticket_screen import TicketScreen
from frontdesk.tui.ticket_table import TicketTable

from conftest import KEEP_LONG_LIVED, run_app, settle


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


def visible_rows(app) -> list[str]:
    table = app.screen.query_one(TicketTable)
    return [table.render_line(y).text for y in range(1, table.size.height)]


def test_tickets_are_sorted_by_urgency_and_views_counted(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        due = [row.clock.due_at for row in table.rows if row.clock and row.clock.running]
        assert due == sorted(due), "breached first, then least time left"
        assert table.rows[0].clock.status == "breached"
        tabs = app.screen.query_one("#tabs").render().plain
        assert "1 Open 22" in tabs and "2 Untriaged 7" in tabs and "7 Resolved 8" in tabs
        assert "DEMO MAILBOX" in app.screen.query_one("#banner").render().plain

    run_app(app, script)


def test_hostile_subjects_show_literally(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        rows = "\n".join(visible_rows(app))
        assert "[bold red]URGENT[/]" in rows
        assert "\x1b" not in rows

    run_app(app, script)


def test_views_switch_by_key(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("2")
        table = app.screen.query_one(TicketTable)
        assert table.rows and all(row.severity is None and row.automated is None for row in table.rows)
        await pilot.press("6")
        assert {row.state for row in table.rows} == {"waiting"}
        await pilot.press("7")
        assert len(table.rows) == 8 and {row.state for row in table.rows} == {"resolved"}

    run_app(app, script)


def test_search_as_you_type(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("slash", *"helm")
        await settle(pilot)
        table = app.screen.query_one(TicketTable)
        assert any("Helm upgrade" in row.subject for row in table.rows)
        assert len(table.rows) < 22
        await pilot.press("escape")
        await settle(pilot)
        assert len(table.rows) == 22

    run_app(app, script)


def test_search_down_goes_into_the_results_and_enter_opens_the_top_one(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        await pilot.press("slash", *"upgrade")
        await settle(pilot)
        found = [row.id for row in table.rows]
        assert len(found) == 2 and table.ticket_id == found[0], "the cursor on the first result"
        await pilot.press("down")
        assert table.has_focus and table.ticket_id == found[0]
        await pilot.press("down", "slash", "enter")  # back to the query, as it was: enter opens the highlighted one
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == found[1]
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen) and table.has_focus
        await pilot.press("slash", *"migrator", "enter")  # a new query; enter before its results come: opens when they do
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and "Helm upgrade" in app.screen.data.view.subject

    run_app(app, script)


def test_search_results_follow_a_change_made_to_them(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        await pilot.press("slash", *"is:automated")
        await settle(pilot)
        assert len(table.rows) == 2 and all(row.state != "resolved" for row in table.rows)
        await pilot.press("down", "down")  # into the results, then to the second one
        first, second = (row.id for row in table.rows)
        await pilot.press("x")
        await settle(pilot)
        await settle(pilot)  # the reload, then the search again
        assert [row.id for row in table.rows] == [first], "resolved, it left the Open view's results"
        await pilot.press("7")  # Resolved
        await settle(pilot)
        assert [(row.id, row.state) for row in table.rows] == [(second, "resolved")]

    run_app(app, script)


def test_the_search_bar_takes_a_query_and_points_at_a_wrong_term(demo_store):
    app = inbox_app(demo_store)
    wanted = {view.id for view in find(demo_store, "customer:globex -is:automated")}

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        assert not app.screen.query("#search"), "mounted when first wanted"
        await pilot.press("slash", *"customer:globex -is:automated")
        await settle(pilot)
        search = app.screen.query_one("#search")
        found = [row.id for row in table.rows]
        assert set(found) == wanted and len(found) == 3
        search.insert_text_at_cursor(" sevv:1")  # pasted: no query in between
        await settle(pilot)
        assert search.border_subtitle == 'column 31, "sevv:1": unknown field "sevv:" (did you mean sev:?)'
        marked = search.highlighter(Text(search.value))
        assert [(span.start, span.end) for span in marked.spans] == [(30, 36)], "the bad term is marked in the box"
        assert [row.id for row in table.rows] == found, "the list keeps the last good results"
        await pilot.press("enter")  # nothing to open for a query that can't be read
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen) and table.has_focus
        await pilot.press("slash", "end", *["backspace"] * 6, *"sev:1-2")
        await settle(pilot)
        assert search.border_subtitle == 'column 31, "sev:1-2": sev: takes 1, 2 or none'
        await pilot.press("backspace", "backspace")  # sev:1
        await settle(pilot)
        assert search.border_subtitle is None and not search.has_class("-bad-query")
        assert {row.id for row in table.rows} == {view.id for view in find(demo_store, search.value)}

    run_app(app, script)


def test_plain_words_in_the_search_bar_find_what_they_always_found(demo_store):
    """Each word a prefix, in the mail, notes, people, customer and subject, as store.search finds it."""
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        for words in ("helm", "upgrade", "grace", "globex", "502"):
            await pilot.press("slash", *words)
            await settle(pilot)
            open_ids = {view.id for view in demo_store.views_of(demo_store.search(words)) if view.state != "resolved"}
            assert {row.id for row in table.rows} == open_ids, words
            await pilot.press("escape")

    run_app(app, script)


def test_enter_opens_the_thread_and_escape_returns(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        first = app.screen.query_one(TicketTable).ticket_id
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.ticket_id == first
        text = app.screen.query_one("#messages").render().plain
        assert "customer wrote" in text
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)

    run_app(app, script)


def test_times_on_the_ticket_screen_and_in_the_preview_name_the_business_time_zone(demo_store):
    """Quoted mail shows other zones' offsets: every time frontdesk shows says which zone it is in."""
    app = inbox_app(demo_store)

    async def script(pilot):
        preview = app.screen.query_one("#preview").render().plain
        assert " EST (" in preview  # the due times: "due Tue 24 Nov 09:00 EST (24h)"
        await pilot.press("enter")
        await settle(pilot)
        clocks = app.screen.query_one("#ticket-clocks").render().plain
        messages = app.screen.query_one("#messages").render().plain
        history = app.screen.query_one("#history").render().plain
        assert " EST (" in clocks
        assert all(" EST " in text for text in (messages, history))

    run_app(app, script)


def test_countdowns_tick_from_due_times(demo_store, clock):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        before = table.render_line(1).text
        clock.advance(timedelta(minutes=5))
        table.tick()
        after = table.render_line(1).text
        assert before != after
        assert "-22h 00m" in before and "-22h 05m" in after

    run_app(app, script)


def test_a_ticket_resolved_without_a_reply_shows_missed_not_a_live_countdown(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        late = next(row for row in table.rows if row.clock and (row.clock.name, row.clock.status) == ("response", "breached"))
        usecases.resolve(demo_store, late.id)
        app.screen.reload()
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        index = next(i for i, row in enumerate(table.rows) if row.id == late.id)
        line = visible_rows(app)[index]
        assert "missed" in line and "LATE" not in line
        table.cursor = index
        await settle(pilot)
        preview = app.screen.query_one("#preview").render().plain
        assert "Response   missed" in preview and "BREACHED" not in preview

    run_app(app, script)


def test_the_cursor_stays_on_its_ticket_when_the_order_changes(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        await pilot.press("down", "down", "down")
        chosen = table.ticket_id
        table.set_rows(list(reversed(table.rows)))
        assert table.ticket_id == chosen
        assert table.cursor == len(table.rows) - 4

    run_app(app, script)


def test_a_tick_repaints_only_the_characters_that_changed(demo_store, clock):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        table.cursor = next(i for i, row in enumerate(table.rows) if row.id == 30)
        clock.set(table.rows[table.cursor].clock.due_at - timedelta(minutes=45))  # "45m 00s"
        table.tick()
        await pilot.pause()
        repainted = []
        table.refresh = lambda *regions, **kw: repainted.extend(regions)
        clock.advance(timedelta(seconds=1))  # 44m 59s
        table.tick()
        row_line = table.cursor - int(table.scroll_y) + 1
        mine = [region for region in repainted if region.y == row_line]
        assert len(mine) == 1 and mine[0].width == 6, "' 45m 00s' -> ' 44m 59s' share only ' 4'"

    run_app(app, script)


def _written(strip, x1: int, x2: int) -> str:
    """What the terminal is sent for a dirty span of one line (tui/partial_update.py), escapes removed."""
    update = ChopsUpdate([{0: strip}], [(0, x1, x2)], [[strip.cell_length]])
    written = update.render_segments(Console(file=io.StringIO(), force_terminal=True, color_system="256"))
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", written)


def test_a_tick_sends_the_terminal_only_the_characters_that_changed(demo_store, clock):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        table.cursor = next(i for i, row in enumerate(table.rows) if row.id == 30)
        clock.set(table.rows[table.cursor].clock.due_at - timedelta(minutes=45))
        table.tick()
        await pilot.pause()
        repainted = []
        table.refresh = lambda *regions, **kw: repainted.extend(regions)
        clock.advance(timedelta(seconds=1))  # "45m 00s" -> "44m 59s"
        table.tick()
        line = table.cursor - int(table.scroll_y) + 1
        (region,) = [region for region in repainted if region.y == line]
        assert _written(table.render_line(line), region.x, region.right) == "4m 59s"

    run_app(app, script)


def test_a_partial_update_never_cuts_a_wide_character():
    strip = Strip([Segment("#7 "), Segment("日本語"), Segment(" ok")])
    assert _written(strip, 4, 9) == "日本語", "the segment reaching into the span is sent whole"
    assert _written(strip, 9, 12) == " ok"


def test_loaded_tickets_are_kept_out_of_the_collectors_full_passes(demo_store, monkeypatch):
    monkeypatch.setattr(inbox_module, "keep_long_lived", KEEP_LONG_LIVED)
    app = inbox_app(demo_store)

    async def script(pilot):
        await settle(pilot)
        rows = app.screen.query_one(TicketTable).rows
        walked = {id(obj) for obj in gc.get_objects()}
        assert rows and not any(id(row) in walked for row in rows), "frozen after the load"
        gc.unfreeze()  # nothing stays frozen after the test

    run_app(app, script)


def test_rows_read_before_the_app_started_are_shown_not_read_again(demo_store, monkeypatch):
    first = demo_store.first_screen(200)
    app = FrontdeskApp(demo_store, demo=True, state_file=None, first_rows=first)
    read_again = []
    monkeypatch.setattr(demo_store, "first_screen", lambda *args: read_again.append(args) or first)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        assert first and not read_again, "shown as given, not read again by the screen"
        await settle(pilot)
        assert {row.id for row in first} <= {row.id for row in table.rows}

    run_app(app, script)


def test_a_full_collection_runs_at_most_once_a_minute_and_leaves_no_garbage_frozen(monkeypatch):
    keep = inbox_module.LongLived(every=60)
    trimmed = []
    monkeypatch.setattr(inbox_module, "_give_back_freed_memory", lambda: trimmed.append(True))

    class Cycle:
        pass

    def garbage() -> weakref.ref:
        cycle = Cycle()
        cycle.me = cycle
        return weakref.ref(cycle)

    try:
        early = garbage()
        keep()  # the first load: frozen, not collected (a full pass would hold the first screen)
        assert early() is not None
        soon = garbage()
        keep()  # a second load within the minute: frozen, not collected
        assert soon() is not None
        keep.collected_at -= 61
        keep()  # the next full one unfreezes and collects both
        assert early() is None and soon() is None
        assert trimmed == [True] * 3, "after each load, what it freed is handed back to the system"
    finally:
        gc.unfreeze()


def test_the_collector_stays_off_while_loads_build_their_tickets_and_finds_them_frozen():
    keep = inbox_module.LongLived()
    try:
        with keep.loading():
            assert not gc.isenabled()
            with keep.loading():  # a second load overlapping the first (a superseded worker runs on)
                built = [[] for _ in range(3)]
            assert not gc.isenabled(), "on again only when the last load ends"
        assert gc.isenabled()
        walked = {id(obj) for obj in gc.get_objects()}
        assert not any(id(item) in walked for item in built), "what the load built is frozen"
        gc.disable()
        with keep.loading():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
        gc.unfreeze()


def test_a_load_works_out_the_view_and_tab_counts_off_the_event_loop(demo_store, monkeypatch):
    """At 100,000 open tickets they took the event loop 0.46 s after every load."""
    on_the_loop = []
    for name in ("select", "counts"):
        work = getattr(inbox_views, name)
        monkeypatch.setattr(inbox_views, name, lambda *args, work=work, name=name: (
            on_the_loop.append(name) if threading.current_thread() is threading.main_thread() else None, work(*args)
        )[1])
    app = inbox_app(demo_store)

    async def script(pilot):
        await settle(pilot)
        assert visible_rows(app) and app.screen._tab_counts["open"] == len(app.screen.loaded.rows)
        assert on_the_loop == [], "a load's rows and counts were worked out in its worker"
        await pilot.press("2")  # a view switch works them out again, as of now
        assert on_the_loop == ["select", "counts"]

    run_app(app, script)
