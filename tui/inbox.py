"""The inbox screen: every ticket by urgency, views with counts, search, and a preview."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache, partial
from typing import TYPE_CHECKING

from rich.highlighter import Highlighter
from rich.text import Text
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Input, Static

from frontdesk.storage import outbox as outbox_life
from frontdesk.storage import pending as pending_mail
from frontdesk.storage.config import SavedView, who_are_you
from frontdesk.storage.find import find
from frontdesk.storage.pending import Pending, Unsent
from frontdesk.storage.query import Query, QueryError, parse_query
from frontdesk.storage.safe_text import display_line
from frontdesk.storage.views import TicketView

from . import views as inbox_views
from .actions import TicketActions
from .alerts import Alerts, ClockTurn, plan_turns
from .background import Background
from .detail import ticket_summary
from .handover_screen import HandoverScreen, since
from .keys import INBOX, KeysFooter, bindings, keys_in_force
from .marks import Marks, Present, present_text, with_present
from .moving import MovingActions
from .outbox_view import OutboxList, attempts_words, pending_lines, retry_words, what
from .ticket_table import Sort, TicketTable

if TYPE_CHECKING:
    from frontdesk.storage.team import Taken, Turn

RESOLVED_SHOWN = 500
SEARCH_SHOWN = 500  # the most urgent results (the newest resolved last)
# Commits from any process are noticed within a tick (data_version) and clocks turn at known
# times (no re-evaluation needed), so a full reload on a timer is only a safety net.
RELOAD_SECONDS = 600
PREVIEW_PENDING_LINES = 2  # under the summary: the outbox and the draft (the rest: enter)


@dataclass
class BannerPart:
    forms: list[Text]  # the longest first; an empty last form lets the part go
    shorten: int = 0  # which part gives way first (lowest); 0: never


def fit_banner(parts: list[BannerPart], width: int) -> Text:
    """The parts side by side, each in the longest form that lets the line fit `width`."""
    chosen = [0] * len(parts)

    def line() -> Text:
        return Text().join(part.forms[form] for part, form in zip(parts, chosen, strict=True))

    for index in sorted((i for i, part in enumerate(parts) if part.shorten), key=lambda i: parts[i].shorten):
        while line().cell_len > width and chosen[index] < len(parts[index].forms) - 1:
            chosen[index] += 1
    return line()


class BadTerm(Highlighter):
    """Marks the term of the query that can't be read, in the search box itself."""

    def __init__(self) -> None:
        self.error: QueryError | None = None

    def highlight(self, text: Text) -> None:
        if self.error is not None:
            text.stylize("bold reverse red", self.error.start, self.error.end)


class SearchInput(Input):
    """The search box: ↓ goes down into the results (enter opens one: on_input_submitted). A query
    that can't be read has its bad term marked and the reason on the box's lower border."""

    BINDINGS = [Binding("down", "screen.search_results", "Results", show=False)]

    def __init__(self, **kwargs) -> None:
        super().__init__(highlighter=BadTerm(), **kwargs)

    @property
    def error(self) -> QueryError | None:
        return self.highlighter.error

    def show_error(self, error: QueryError | None) -> None:
        self.highlighter.error = error
        self.border_subtitle = None if error is None else Text(str(error))
        self.set_class(error is not None, "-bad-query")
        self.refresh()


def _tickets_of_view(store, query: Query) -> list[TicketView]:
    """A saved view's tickets, when only the store decides them; none while the view asks about me
    and [me] is unknown (the inbox says how to set it when it opens)."""
    try:
        return find(store, query)
    except QueryError:
        return []


class LongLived:
    """What is alive after a load (the imports, the screens, the loaded tickets) mostly stays until
    the next one: frozen, the collector's full passes leave it alone. Those passes otherwise walk
    every loaded ticket every so many key presses (about 65 ms at 14,000 open tickets).

    While a load builds its tickets (`loading`, in its worker) the collector is off: its passes
    walked everything built so far, again and again as it grew (1.2 s of stalled keys at 100,000
    open tickets); the load is frozen before it comes back on. After a load (the call), what its
    temporaries freed is handed back to the system (`_give_back_freed_memory`), and it is
    unfrozen and collected so that no garbage stays frozen, but at most every `every` seconds,
    since that walks everything (0.4 s at 100,000 open) and loads follow every change a colleague
    makes; never after the first load, which would hold the first screen for it. Garbage frozen
    in between waits for the next full collection."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self.collected_at: float | None = None
        self._lock = threading.Lock()
        self._loads = 0  # running at once: the collector comes back on when the last one ends
        self._was_enabled = True

    @contextmanager
    def loading(self) -> Iterator[None]:
        with self._lock:
            self._loads += 1
            if self._loads == 1:
                self._was_enabled = gc.isenabled()
                gc.disable()
        try:
            yield
        finally:
            with self._lock:
                self._loads -= 1
                if self._loads == 0:
                    gc.freeze()
                    if self._was_enabled:
                        gc.enable()

    def __call__(self) -> None:
        now = time.monotonic()
        if self.collected_at is None:
            self.collected_at = now
        elif now - self.collected_at >= self.every:
            gc.unfreeze()
            gc.collect()
            self.collected_at = now
        gc.freeze()
        _give_back_freed_memory()


keep_long_lived = LongLived()


def _give_back_freed_memory() -> None:
    """The C library keeps what a load's temporaries freed (the database driver's rows, in the
    worker thread's own arena, and the lists shown) for later use; trimmed, the inbox holds 12 MB
    less at 100,000 open tickets, for 2 ms. glibc's malloc_trim; elsewhere nothing to call."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes

    return getattr(ctypes.CDLL(None), "malloc_trim", None)


@dataclass(frozen=True)
class Shown:
    """The built-in view on screen when a load began, worked out in the load's worker: its rows
    and every built-in view's count, which the event loop would otherwise spend 0.46 s on at
    100,000 open tickets, with key presses waiting. As of the load, like the tickets themselves."""

    view_key: str
    rows: list[TicketView]
    counts: dict[str, int]


@dataclass
class Loaded:
    rows: list[TicketView] = field(default_factory=list)  # open tickets
    resolved: list[TicketView] = field(default_factory=list)  # the latest ones
    resolved_total: int = 0
    pending: Pending = field(default_factory=Pending)  # unsent mail and drafts, per ticket
    outbox_tickets: dict[int, TicketView] = field(default_factory=dict)  # tickets of unsent mail not in the rows
    found: dict[str, list[TicketView]] = field(default_factory=dict)  # the saved views only the store decides
    shown: Shown | None = None
    turns: list[ClockTurn] = field(default_factory=list)  # the clocks' turns after the load (alerts.plan_turns)
    ids: frozenset[int] = frozenset()  # of the open tickets, for the alerts (not kept after)


class InboxScreen(MovingActions, TicketActions, Background, Screen):
    BINDINGS = bindings(INBOX)
    keys_where = INBOX

    def __init__(self, first_rows: list[TicketView] | None = None) -> None:
        """first_rows: the most urgent tickets, read before the app started (store.first_screen),
        so that the first frame has them; without them the screen reads them itself."""
        super().__init__()
        self._first_rows = first_rows
        self.view_key = "open"
        self.loaded = Loaded()
        self.search_ids: set[int] | None = None
        self.search_rows: list[TicketView] = []
        self._searched: str | None = None  # the query the results shown are for
        self._asked: str | None = None  # the latest query that could be read: its results are wanted
        self._sort_outside: Sort | None = None  # in a saved view: the table's sort in the other views
        self._open_when_found = False  # enter was pressed before the results came
        self._data_version: int | None = None
        self._alerts: Alerts | None = None
        self._outbox_rows: dict[int, TicketView] = {}  # in the Outbox view: the tickets of its entries
        self.turn: Turn | None = None  # who is on rotation, from the database
        # The rows' marks (tui/marks.py) per ticket; `present` is filled in from app.present when
        # they are shown (_show_marks), so whatever sets these leaves it empty.
        self.marks: dict[int, Marks] = {}
        self._failures_seen: set[tuple[int, int]] | None = None  # (outbox id, attempts); None before the first load
        self._turn_loaded = False
        self.saved_views = {inbox_views.saved_key(view): view for view in self.app.config.views}
        self._tab_counts: dict[str, int] = {key: 0 for key in [*inbox_views.VIEW_BY_KEY, *self.saved_views]}
        self._bind_saved_views()
        self._cursor_to: int | None = None  # where the cursor goes when the rows are next shown

    def compose(self) -> ComposeResult:
        yield Static(id="banner", markup=False)
        yield Static(id="tabs", markup=False)
        # The search box and the Outbox view's list are mounted when first wanted (_search_box,
        # _outbox_list): hidden, they still cost the first frame their styles and layout.
        with Vertical(id="main"):
            yield TicketTable(self.app.clock, empty_text="Loading tickets…", id="tickets")
            yield Static(id="preview", markup=False)
        yield KeysFooter()

    def on_mount(self) -> None:
        self._alerts = Alerts(self.app)
        self.query_one("#preview").display = self.app.size.height >= 30
        # The preview's looks (looks.py) are fixed when it is shown: a new theme shows it again.
        self.app.theme_changed_signal.subscribe(self, lambda _: self._show_preview())
        self.show_banner()
        if self.app.config.me is None:
            self.app.notify(who_are_you(self.app.config), title="frontdesk", severity="warning", timeout=30, markup=False)
        self.query_one(TicketTable).focus()
        if self._first_rows is not None:
            self._first_screen(self._first_rows)
        else:
            self._load_first_screen()
        self.set_interval(self.app.tick_seconds, self._tick)
        self.set_interval(RELOAD_SECONDS, self.reload)

    # --- data ----------------------------------------------------------------------------

    def _load_first_screen(self) -> None:
        """The most urgent tickets from the due-time index, shown while everything else loads."""
        store = self.app.store
        rows_on_screen = self.app.size.height

        def first_rows() -> list[TicketView] | None:
            try:
                return store.first_screen(rows_on_screen)
            except Exception:  # noqa: BLE001 (the full load that follows reads the same store and says what failed)
                return None

        self.in_background(first_rows, self._first_screen, group="first")

    def _first_screen(self, rows: list[TicketView] | None) -> None:
        # The full load waits for these rows to be painted: run beside the first paint, it slowed it.
        self.call_after_refresh(self.reload)
        if rows is None or self.loaded.rows or self.view_key != "open" or self.search_ids is not None:
            return  # the rep got there first
        self.query_one(TicketTable).set_rows(rows)
        self._show_preview()

    def reload(self) -> None:
        self._load_rotation()
        store, saved, clock, me = self.app.store, self.saved_views, self.app.clock, self._me()
        # A built-in view, no search: the worker can work out what it shows (Shown).
        view_key = self.view_key if self.view_key in inbox_views.VIEW_BY_KEY and self.search_ids is None else None

        def load() -> Loaded:
            with keep_long_lived.loading():
                store.watch_changes()  # from the first load on, other sessions' commits are noticed
                resolved, total = store.recently_resolved(RESOLVED_SHOWN)
                rows = store.views()
                pending = pending_mail.load(store)
                ids = frozenset(row.id for row in rows)
                known = ids | {row.id for row in resolved}
                missing = sorted({entry.ticket_id for entry in pending.unsent} - known)
                outbox_tickets = {row.id: row for row in store.views_of(missing)} if missing else {}
                found = {key: _tickets_of_view(store, view.query) for key, view in saved.items() if view.query.needs_store}
                now = clock.now()
                shown = None
                if view_key is not None:
                    shown = Shown(view_key, inbox_views.select(rows + resolved, view_key, now, me), inbox_views.counts(rows, now, me))
                return Loaded(rows, resolved, total, pending, outbox_tickets, found, shown, plan_turns(rows, now), ids)

        self.in_background(load, self._loaded, group="load", exclusive=True)

    def _loaded(self, loaded: Loaded) -> None:
        self._alerts.loaded(loaded.rows, loaded.ids, loaded.turns, self.app.clock.now())
        self._announce_failures(loaded.pending)
        before = self.loaded.pending
        self.loaded = replace(loaded, ids=frozenset())  # the alerts keep what they need of them: 4 MB at 100,000
        self._make_marks()
        self._show_rows(loaded.shown)
        if loaded.pending != before:
            self._refresh_open_tickets()
        if self._searched is not None and self._asked == self._searched:  # the results as they are now
            self._search(self._searched, parse_query(self._searched), first=False)
        keep_long_lived()

    # --- the outbox and drafts on every row, in the preview and in view 8 -------------------

    def _make_marks(self) -> None:
        """Each ticket's outbox state and draft, from the last load (who else is on it is added
        when they are shown: _show_marks)."""
        pending = self.loaded.pending
        states = pending.states()
        self.marks = {ticket: Marks(states.get(ticket), ticket in pending.drafts) for ticket in set(states) | set(pending.drafts)}
        self._show_marks()

    def _announce_failures(self, pending: Pending) -> None:
        """A notice for each send that failed since the last load, whichever process sent it; each
        failed attempt once. Failures already there when the inbox opens: one notice for all."""
        failed = pending.failed()
        seen, self._failures_seen = self._failures_seen, {entry.failure for entry in failed}
        tz, now = self.app.config.calendar.timezone, self.app.clock.now()
        if seen is None:
            if failed:
                some = "1 message" if len(failed) == 1 else f"{len(failed)} messages"
                self.app.notify(
                    f"{some} in the outbox failed to send: press 8 to see why, R there to retry",
                    title="Outbox", severity="error", markup=False, timeout=20,
                )
            return
        for entry in failed:
            if entry.failure not in seen:
                self.app.notify(
                    f"#{entry.ticket_id}: the {what(entry)} failed: {display_line(entry.error or 'no reason recorded')}; "
                    f"{retry_words(entry, now, tz)}",
                    title="Not sent", severity="error", markup=False, timeout=20,
                )

    def _refresh_open_tickets(self) -> None:
        """A ticket open on top of the inbox shows its outbox as it is now."""
        from .ticket_screen import TicketScreen  # loaded once a ticket was opened

        for screen in self.app.screen_stack:
            if isinstance(screen, TicketScreen) and screen.data is not None:
                screen.reload()

    def _outbox_entries(self) -> list[Unsent]:
        """What the Outbox view lists: everything unsent, or the searched tickets' mail."""
        entries = list(self.loaded.pending.unsent)
        if self.search_ids is not None:
            entries = [entry for entry in entries if entry.ticket_id in self.search_ids]
        return entries

    def _selected_ticket_id(self) -> int | None:
        if self.view_key == inbox_views.OUTBOX:
            entry = self._outbox_list().entry
            return entry.ticket_id if entry is not None else None
        return self.query_one(TicketTable).ticket_id

    def on_outbox_list_highlighted(self, message: OutboxList.Highlighted) -> None:
        self._show_preview()

    def on_outbox_list_opened(self, message: OutboxList.Opened) -> None:
        self.show_ticket(message.ticket_id)

    def on_outbox_list_retry(self, message: OutboxList.Retry) -> None:
        self.retry_send(message.entry)

    def on_outbox_list_discard(self, message: OutboxList.Discard) -> None:
        self.discard_send(message.entry)

    def retry_send(self, entry: Unsent) -> None:
        if entry.status != "failed":
            self.app.say(f"The {what(entry)} on #{entry.ticket_id} is {entry.status}: only a failed one is retried.", "warning")
            return
        store = self.app.store

        def done(_) -> None:
            self.app.say(f"#{entry.ticket_id}: the {what(entry)} is queued again")
            self.app.send_outbox()
            self.reload()

        self.app.in_background(lambda: outbox_life.retry(store, entry.id), done)

    def discard_send(self, entry: Unsent) -> None:
        if entry.status == "sending":
            self.app.say(f"The {what(entry)} on #{entry.ticket_id} is being sent right now: it can't be discarded.", "warning")
            return
        store = self.app.store

        def done(_) -> None:
            self.app.say(f"#{entry.ticket_id}: the {what(entry)} was discarded; the history keeps that it was")
            self.reload()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.app.in_background(lambda: outbox_life.discard(store, entry.id), done)

        body = Text(f"The {what(entry)} on #{entry.ticket_id} will never be sent:\n")
        body.append(display_line(entry.subject), style="bold")
        if entry.status == "failed":
            body.append(f"\nIt failed after {attempts_words(entry)}: {display_line(entry.error or 'no reason recorded')}")
        from .modals import ConfirmScreen

        self.app.push_screen(ConfirmScreen("Discard from the outbox", body, "Discard it"), confirmed)

    def _entry_for_palette(self, wanted: tuple[str, ...]) -> Unsent | None:
        """The highlighted message in the Outbox view; elsewhere the selected ticket's first one in
        one of the `wanted` states."""
        if self.view_key == inbox_views.OUTBOX:
            entry = self._outbox_list().entry
        else:
            ticket = self._selected_ticket_id()
            mail = self.loaded.pending.by_ticket().get(ticket, []) if ticket is not None else []
            entry = next((e for e in mail if e.status in wanted), None)
        if entry is None:
            self.app.say("No message in the outbox selected: 8 shows the outbox.", "warning")
        return entry

    def action_retry_send(self) -> None:
        if (entry := self._entry_for_palette(("failed",))) is not None:
            self.retry_send(entry)

    def action_discard_send(self) -> None:
        if (entry := self._entry_for_palette(("failed", "queued"))) is not None:
            self.discard_send(entry)

    def _tick(self) -> None:
        self.query_one(TicketTable).tick()
        self._alerts.tick(self.app.clock.now())
        version = self.app.store.data_version()
        if self._data_version is not None and version != self._data_version:
            self.reload()
        self._data_version = version

    def _me(self) -> str | None:
        person = self.app.config.me
        return person.email if person is not None else self.app.config.support.rep_email

    def _show_rows(self, shown: Shown | None = None) -> None:
        """The current view's rows and the tabs' counts; `shown`: as a load's worker worked them
        out, used if the rep is still on that view and not searching."""
        now = self.app.clock.now()
        me = self._me()
        pool = self._pool()
        if shown is not None and (shown.view_key != self.view_key or self.search_ids is not None):
            shown = None
        if self.view_key == inbox_views.OUTBOX:
            entries = self._outbox_entries()
            wanted = {entry.ticket_id for entry in entries}
            self._outbox_rows = {row.id: row for row in [*pool, *self.loaded.outbox_tickets.values()] if row.id in wanted}
            tz = self.app.config.calendar.timezone
            self._outbox_list().show(entries, now, tz, self._empty_text())
            self._show_tabs(now, me)
            self._show_preview()
            return
        if shown is not None:
            rows = shown.rows
        elif (saved := self.saved_views.get(self.view_key)) is not None:
            rows = self._saved_rows(saved, pool, now)
        else:
            rows = inbox_views.select(pool, self.view_key, now, me)
        table = self.query_one(TicketTable)
        table.empty_text = self._empty_text()
        table.set_rows(rows, keep_ticket=self._cursor_to)
        self._cursor_to = None
        self._show_tabs(now, me, None if shown is None else shown.counts)
        self._show_preview()

    def _pool(self) -> list[TicketView]:
        """The tickets the views choose from: the search results, else every ticket loaded."""
        return self.search_rows if self.search_ids is not None else self.loaded.rows + self.loaded.resolved

    def _saved_rows(self, view: SavedView, pool: list[TicketView], now) -> list[TicketView]:
        """The saved view's tickets among `pool`: decided here on each row when the query allows,
        else by the last load (inbox_views.saved_key's entry of Loaded.found)."""
        if view.query.needs_store:
            found = self.loaded.found.get(inbox_views.saved_key(view), [])
            return found if self.search_ids is None else [row for row in found if row.id in self.search_ids]
        return [row for row in pool if view.query.matches(row, now, self.app.config)]

    def _empty_text(self) -> str:
        if self.view_key == inbox_views.OUTBOX:
            if self.search_ids is not None:
                return "No mail waits in the outbox for the tickets found. Esc clears the search."
            return "Nothing waits in the outbox: everything queued has been sent."
        if self.search_ids is not None:
            return "Nothing matches the search. Esc clears it."
        if self.view_key == "open":
            return "No open tickets: the inbox is clear."
        return f"No tickets in {self._view_title()}."

    # --- the parts of the screen ---------------------------------------------------------

    def show_banner(self) -> None:
        """One line, each part whole: on a narrow screen the address goes first, then a quiet
        mailbox line, then the demo notice and the rotation get their short forms."""
        parts = [BannerPart([Text(" frontdesk ", style="bold reverse")])]
        if self.app.demo:
            demo = (" DEMO MAILBOX: made-up tickets, nothing is sent ", " DEMO: nothing is sent ")
            parts.append(BannerPart([Text(words, style="bold black on yellow") for words in demo], shorten=3))
        parts.append(BannerPart([Text("  ").append_text(line) for line in self._rotation_lines()], shorten=4))
        mailbox = self.app.mailbox
        if mailbox is not None:
            trouble = mailbox.state.status in ("waiting", "stopped")
            line = Text(" · ").append(mailbox.state.line(self.app.config.calendar.timezone), style="bold red" if trouble else "dim")
            parts.append(BannerPart([line] if trouble else [line, Text()], shorten=2))
        address = Text(f" · {self.app.config.support.address or 'no support address configured'}")
        parts.append(BannerPart([address, Text()], shorten=1))
        self.query_one("#banner", Static).update(fit_banner(parts, self.app.size.width))

    def _rotation_lines(self) -> list[Text]:
        """Who is on rotation, the longest form first."""
        if not self._turn_loaded:
            return [Text("")]
        if self.turn is None:
            return [Text(words, style="bold") for words in ("Nobody on rotation: ctrl+p, Take over the rotation", "Nobody on rotation")]
        tz = self.app.config.calendar.timezone
        on = f"{self.turn.rep_name} on rotation"
        return [Text(f"{on} since {since(self.turn.started_at, self.app.clock.now(), tz)}"), Text(on)]

    def _show_tabs(self, now, me, built_in: dict[str, int] | None = None) -> None:
        """`built_in`: the built-in views' counts when a load's worker took them (Shown)."""
        pool = self.search_rows if self.search_ids is not None else self.loaded.rows
        counts = dict(built_in) if built_in is not None else inbox_views.counts(pool, now, me)
        if self.search_ids is None:
            counts["resolved"] = self.loaded.resolved_total
        counts[inbox_views.OUTBOX] = len(self._outbox_entries())
        every = self._pool()
        counts |= {key: len(self._saved_rows(view, every, now)) for key, view in self.saved_views.items()}
        self._tab_counts = counts
        self._draw_tabs()

    def _draw_tabs(self) -> None:
        searching = self.search_ids is not None
        tabs = inbox_views.tabs(self._tab_counts, self.view_key, searching, self.app.size.width, self.app.config.views)
        self.query_one("#tabs", Static).update(tabs)

    def on_resize(self) -> None:
        self.show_banner()
        self._draw_tabs()

    def _show_preview(self) -> None:
        """The selected ticket's summary, under the list."""
        preview = self.query_one("#preview", Static)
        if not preview.display:
            return
        ticket = self.current_ticket()
        tz = self.app.config.calendar.timezone
        summary = ticket_summary(ticket, self.app.clock.now(), tz) if ticket else Text("")
        here = self.app.present.get(ticket.id, ()) if ticket else ()
        if here:  # last, on its own line: who else has the ticket open
            summary.append("\n").append_text(present_text(here))
        if ticket is not None:  # the outbox and the draft, a line each
            pending = self.loaded.pending
            for line in pending_lines(
                pending.by_ticket().get(ticket.id, ()), pending.drafts.get(ticket.id), self.app.clock.now(), tz,
                PREVIEW_PENDING_LINES,
            ):
                summary.append("\n").append_text(line)
        preview.update(summary)

    def _show_marks(self) -> None:
        """The rows' markers: the outbox and drafts (self.marks), and who else is on each ticket."""
        self.query_one(TicketTable).set_marks(with_present(self.marks, self.app.present))

    def show_presence(self, present: Present) -> None:
        """Someone else opened, left, or started or stopped writing on a ticket (app.present)."""
        self._show_marks()
        self._show_preview()

    def current_ticket(self) -> TicketView | None:
        """The ticket under the cursor (in the Outbox view, the selected message's)."""
        if self.view_key == inbox_views.OUTBOX:
            entry = self._outbox_list().entry
            return None if entry is None else self._outbox_rows.get(entry.ticket_id)
        return self.query_one(TicketTable).current_row

    def show_ticket(self, ticket_id: int) -> None:
        """The ticket's screen, given the list shown here for J and K to walk."""
        if self.view_key == inbox_views.OUTBOX:
            order = list(dict.fromkeys(entry.ticket_id for entry in self._outbox_entries()))
        else:
            order = [row.id for row in self.query_one(TicketTable).rows]
        title = self._view_title()
        list_name = f"the search results in {title}" if self.search_ids is not None else f"the {title} view"
        from .ticket_screen import TicketScreen

        self.app.push_screen(TicketScreen(ticket_id, order, list_name), lambda _: self.reload())

    def _view_title(self) -> str:
        saved = self.saved_views.get(self.view_key)
        return saved.name if saved else inbox_views.VIEW_BY_KEY[self.view_key].title

    def triaged(self, ticket: TicketView) -> None:
        """Triage goes down the list: the cursor moves on to the next untriaged ticket below (else
        the first one above) instead of following the ticket just triaged."""
        rows = list(self.query_one(TicketTable).rows)
        at = next((i for i, row in enumerate(rows) if row.id == ticket.id), None)
        if at is None:
            return
        untriaged = inbox_views.VIEW_BY_KEY["untriaged"].keep
        now = self.app.clock.now()
        after = (row for row in rows[at + 1 :] + rows[:at] if untriaged(row, now, None))
        self._cursor_to = next((row.id for row in after), None)

    def on_ticket_table_highlighted(self, message: TicketTable.Highlighted) -> None:
        self._show_preview()

    def on_ticket_table_opened(self, message: TicketTable.Opened) -> None:
        self.show_ticket(message.ticket_id)

    # --- views, search, preview ----------------------------------------------------------

    def _bind_saved_views(self) -> None:
        """Each saved view's key shows it (tui/keymap.py refuses a key something else has here)."""
        keys = self._bindings.key_to_bindings  # a copy of the class's map: its lists are shared, so never appended to
        for key, view in self.saved_views.items():
            binding = Binding(view.key, f"view('{key}')", view.name, show=False, id=inbox_views.saved_binding_id(view))
            keys[view.key] = [*keys.get(view.key, ()), binding]

    def palette_commands(self):
        yield from super().palette_commands()
        keys = keys_in_force([self])
        for key, view in self.saved_views.items():
            shown = " ".join(keys.get(inbox_views.saved_binding_id(view), ()))
            about = f"Saved view: {view.query.text}" + (f" (key {shown})" if shown else "")
            yield SystemCommand(escape(f"View: {view.name}"), escape(about), lambda key=key: self.action_view(key))

    def action_view(self, key: str) -> None:
        outbox = key == inbox_views.OUTBOX
        self.view_key = key
        table = self.query_one(TicketTable)
        table.display = not outbox
        if outbox or self.query(OutboxList):
            self._outbox_list().display = outbox
        if outbox:  # the Outbox lists messages: no ticket is in the view, so none stays marked
            table.unmark()
        if (saved := self.saved_views.get(key)) is not None:  # its sort, until the rep leaves the saved views
            self._sort_outside = self._sort_outside or table.sort
            table.sort = inbox_views.SAVED_SORTS[saved.sort]
        elif self._sort_outside is not None:
            table.sort, self._sort_outside = self._sort_outside, None
        if not isinstance(self.focused, SearchInput):
            self._focus_list()
        self._show_rows()

    async def action_search(self) -> None:
        search = self._search_box()
        if search is None:
            search = SearchInput(placeholder="Search words, or customer:acme is:breached -owner:none … · ↓ results · enter opens", id="search")
            await self.mount(search, before="#main")
        search.display = True
        search.focus()

    def _search_box(self) -> SearchInput | None:
        """None until the rep first searches."""
        found = self.query(SearchInput)
        return found.first() if found else None

    def _outbox_list(self) -> OutboxList:
        """The Outbox view's list, mounted the first time the view is shown."""
        found = self.query(OutboxList)
        if found:
            return found.first()
        entries = OutboxList(id="outbox")
        self.query_one("#main").mount(entries, before="#preview")
        return entries

    def on_input_changed(self, event: Input.Changed) -> None:
        """The text is a query (storage/query.py): one that can't be read is pointed out in the
        box, and the list keeps the last results."""
        search = self.query_one(SearchInput)
        text = event.value.strip()
        if not text:
            search.show_error(None)
            self.search_ids = self._searched = self._asked = None
            self._show_rows()
            return
        try:
            query = parse_query(event.value)  # the raw value: the error's columns are the box's
        except QueryError as error:
            search.show_error(error)  # the results of the last query read still come
            return
        search.show_error(None)
        self._search(text, query, first=True)

    def _search(self, text: str, query: Query, first: bool) -> None:
        """`first`: a new query, whose results start at the top; else the same one again, after a
        change, keeping the cursor on its ticket."""
        self._asked, store = text, self.app.store

        def run() -> tuple[str, list[TicketView] | QueryError]:
            try:
                return text, find(store, query, include_resolved=True, limit=SEARCH_SHOWN)
            except QueryError as error:  # owner:me while [me] is unknown
                return text, error

        self.in_background(run, partial(self._found, first=first), group="search", exclusive=True)

    def _found(self, found: tuple[str, list[TicketView] | QueryError], first: bool = True) -> None:
        text, rows = found
        if text != self._asked:
            return  # changed or cleared while the search ran: a newer search follows
        if isinstance(rows, QueryError):
            self.query_one(SearchInput).show_error(rows)
            self._open_when_found = False
            return
        self._searched, self.search_ids, self.search_rows = text, {row.id for row in rows}, rows
        self._show_rows()
        if first and self.view_key != inbox_views.OUTBOX:
            self.query_one(TicketTable).action_jump(0)  # the cursor on the first result, like fzf
        if self._open_when_found:
            self._open_when_found = False
            self._open_selected()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter opens the highlighted result (the top one, unless ↓ moved) at once, or as soon as
        the search finishes; the list has the focus when the rep comes back."""
        self._focus_list()
        text = event.value.strip()
        if text and text == self._searched:
            self._open_selected()
        else:
            self._open_when_found = bool(text) and self.query_one(SearchInput).error is None

    def action_search_results(self) -> None:
        self._focus_list()

    def _open_selected(self) -> None:
        if (ticket_id := self._selected_ticket_id()) is not None:
            self.show_ticket(ticket_id)

    def action_clear_search(self) -> None:
        if (search := self._search_box()) is not None:
            search.value = ""
            search.show_error(None)
            search.display = False
        self.search_ids = self._searched = self._asked = None
        self._open_when_found = False
        self._focus_list()
        self._show_rows()

    def _focus_list(self) -> None:
        """The tickets, or in the Outbox view its messages."""
        (self._outbox_list() if self.view_key == inbox_views.OUTBOX else self.query_one(TicketTable)).focus()

    def action_sort_step(self, step: int) -> None:
        self.query_one(TicketTable).sort_step(step)

    def action_invert_sort(self) -> None:
        self.query_one(TicketTable).invert_sort()

    def action_toggle_preview(self) -> None:
        preview = self.query_one("#preview")
        preview.display = not preview.display
        self._show_preview()

    # --- marks: the tickets a bulk change applies to (tui/actions.py) --------------------------

    def marked_tickets(self) -> list[TicketView]:
        return [] if self.view_key == inbox_views.OUTBOX else self.query_one(TicketTable).marked_rows

    def keep_marked(self, ticket_ids: set[int]) -> None:
        self.query_one(TicketTable).keep_marked(ticket_ids)

    def _marking(self) -> TicketTable | None:
        if self.view_key == inbox_views.OUTBOX:
            self.app.say("The Outbox lists messages: mark tickets in one of the other views.", "warning")
            return None
        return self.query_one(TicketTable)

    def action_mark(self) -> None:
        if (table := self._marking()) is not None:
            table.toggle_mark()

    def action_mark_range(self) -> None:
        if (table := self._marking()) is not None:
            table.mark_range()

    def action_mark_all(self) -> None:
        if (table := self._marking()) is not None:
            table.mark_all()

    def action_clear(self) -> None:
        """Esc: the marks first, then the search."""
        table = self.query_one(TicketTable)
        if table.selection:
            table.unmark()
        else:
            self.action_clear_search()

    def on_ticket_table_marked(self, message: TicketTable.Marked) -> None:
        self.query_one(KeysFooter).marked = message.count

    # --- the rotation --------------------------------------------------------------------

    def _load_rotation(self) -> None:
        from frontdesk.storage import team  # first needed once the first rows are painted

        store = self.app.store
        self.in_background(lambda: team.current_rotation(store), self._rotation_loaded, group="rotation", exclusive=True)

    def _rotation_loaded(self, turn: Turn | None) -> None:
        """Whoever took the rotation, here or in another process: the banner says so, and the
        rep who took it over reads the note they were left."""
        before, first = self.turn, not self._turn_loaded
        self.turn, self._turn_loaded = turn, True
        self.show_banner()
        if first or turn is None or (before is not None and before.id == turn.id):
            return
        person = self.app.config.me
        if person is not None and turn.held_by(person):
            self.app.push_screen(HandoverScreen(turn))
        else:
            self.app.say(f"{turn.rep_name} took over the rotation")

    def action_take_rotation(self) -> None:
        person = self.app.config.me
        if person is None:
            self.app.say(who_are_you(self.app.config), "warning")
            return
        from frontdesk.storage import team

        store = self.app.store

        def done(taken: Taken) -> None:
            tz = self.app.config.calendar.timezone
            self.turn, self._turn_loaded = taken.turn, True
            self.show_banner()
            if taken.took:
                self.app.push_screen(HandoverScreen(taken.turn))
            else:
                self.app.say(f"You are on rotation already, since {since(taken.turn.started_at, self.app.clock.now(), tz)}.")

        self.app.in_background(lambda: team.take_rotation(store, person), done)

    def action_handover_note(self) -> None:
        if self.turn is None:
            self.app.say("No hand-over note: nobody has taken the rotation yet.")
            return
        self.app.push_screen(HandoverScreen(self.turn))
