"""The inbox table: a virtual list (Line API) that renders only the rows on screen.

Textual's DataTable measures every cell on every update and takes seconds to show 10,000 rows;
this table holds any number of tickets and, on each clock tick, repaints only the countdowns
whose text changed. Mail text is written as plain segments: it is never parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from frontdesk.storage.clock import Clock
from frontdesk.storage.sla import format_span, severity
from frontdesk.storage.views import TicketView

from .countdown import STATUS_LABEL
from .looks import STATUS_STYLE
from .marks import NO_MARKS, Marks


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int  # 0: takes the space left
    min_screen: int = 0  # shown only when the table is at least this wide
    right: bool = False


COLUMNS = (
    Column("id", "#", 5, right=True),
    Column("marks", "", 3),  # the outbox, a draft, someone else on it: see MARKERS
    Column("due", "Due", 8, right=True),
    Column("sla", "SLA", 4),
    Column("sev", "Sev", 4),
    Column("customer", "Customer", 14),
    Column("subject", "Subject", 0),
    Column("requester", "Requester", 18, min_screen=110),
    Column("owner", "Owner", 12, min_screen=96),
    Column("state", "State", 8),  # "resolved" whole
    Column("age", "Age", 4, min_screen=96, right=True),
)


STATE_ORDER = {"new": 0, "open": 1, "waiting": 2, "resolved": 3}


def _by_text(text: str | None) -> tuple[bool, str]:
    """Blank ones last; letters without regard to case."""
    return (not text, (text or "").casefold())


# How each sortable column orders its rows, ascending; None: as the rows came (urgency: the
# default). Ascending is what the cell shows, smallest first: the youngest age, severity 1 before
# 2 (untriaged before both, automated last), states in their life's order.
SORT_KEYS: dict[str, Callable[[TicketView], object] | None] = {
    "id": lambda row: row.id,
    "due": None,
    "sev": lambda row: 3 if row.automated else (row.severity or 0),
    "customer": lambda row: _by_text(row.customer or row.requester),
    "subject": lambda row: _by_text(row.subject),
    "requester": lambda row: _by_text(row.requester_name or row.requester),
    "owner": lambda row: _by_text(row.owner_name),
    "state": lambda row: STATE_ORDER.get(row.state, len(STATE_ORDER)),
    "age": lambda row: -row.created_at.timestamp(),
}
# In the header after the sorted column's title: shapes, so they read without colour.
SORT_ARROWS = {False: "▲", True: "▼"}


@dataclass(frozen=True)
class Sort:
    column: str = "due"  # a key of SORT_KEYS
    descending: bool = False

    def apply(self, rows: Sequence[TicketView]) -> list[TicketView]:
        key = SORT_KEYS[self.column]
        if key is None:
            return list(reversed(rows)) if self.descending else list(rows)
        return sorted(rows, key=key, reverse=self.descending)  # stable: ties keep their urgency order


URGENCY = Sort()


# One cell each, always in the same place (outbox, draft, someone else), with shapes that read
# without colour; the help screen explains them.
OUTBOX_MARKERS = {"queued": "↑", "sending": "»", "failed": "!"}
DRAFT_MARKER = "✎"
VIEWING_MARKER = "○"
WRITING_MARKER = "●"  # someone else is writing a reply or a note
MARKERS = (
    (OUTBOX_MARKERS["queued"], "mail for the ticket is queued in the outbox"),
    (OUTBOX_MARKERS["sending"], "mail for the ticket is being sent right now"),
    (OUTBOX_MARKERS["failed"], "sending it failed (shown reversed): 8 shows the outbox and why"),
    (DRAFT_MARKER, "a reply draft is saved, not sent"),
    (VIEWING_MARKER, "someone else has the ticket open"),
    (WRITING_MARKER, "someone else is writing a reply or note on it"),
)


NOT_REVERSED = Style(reverse=False)


def age_text(created: datetime, now: datetime) -> str:
    minutes = max(0, int((now - created).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // 1440}d"


def _common_prefix(a: str, b: str) -> int:
    """How many leading characters two equally wide cells share (ASCII countdowns only)."""
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y), len(a))


def fit(text: str, width: int, right: bool = False) -> str:
    """Exactly `width` cells, cut with an ellipsis; wide characters (CJK, emoji) counted right."""
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…" if width > 1 else set_cell_size(text, width)
    return set_cell_size(text, width) if not right else " " * (width - cell_len(text)) + text


class TicketTable(ScrollView, can_focus=True):
    """Tickets in the order given; the cursor stays on its ticket when the order changes."""

    DEFAULT_CSS = """
    TicketTable { height: 1fr; overflow-x: hidden; }
    TicketTable > .ticket-table--header { text-style: bold; background: $panel; }
    TicketTable > .ticket-table--cursor { background: $accent; color: $text; }
    TicketTable > .ticket-table--cursor-blurred { background: $accent 30%; }
    /* The terminal's 16 colours: its own cursor pair, readable whatever its palette. */
    TicketTable:ansi > .ticket-table--cursor { background: $block-cursor-background; color: $block-cursor-foreground; }
    TicketTable > .ticket-table--empty { color: $text-muted; text-style: italic; }
    TicketTable > .ticket-table--queued { color: $foreground; text-style: bold; }
    TicketTable > .ticket-table--sending { color: $success; text-style: bold; }
    TicketTable > .ticket-table--failed { color: $error; text-style: bold reverse; }
    TicketTable > .ticket-table--draft { color: $secondary; text-style: bold; }
    TicketTable > .ticket-table--viewing { color: $secondary; }
    TicketTable > .ticket-table--writing { color: $secondary; text-style: bold; }
    """
    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Open", show=False),
    ]
    COMPONENT_CLASSES = {
        "ticket-table--header",
        "ticket-table--cursor",
        "ticket-table--cursor-blurred",
        "ticket-table--empty",
        "ticket-table--queued",
        "ticket-table--sending",
        "ticket-table--failed",
        "ticket-table--draft",
        "ticket-table--viewing",
        "ticket-table--writing",
    }

    cursor = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        def __init__(self, ticket_id: int | None) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    class Opened(Message):
        def __init__(self, ticket_id: int) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    class Marked(Message):
        """The marked tickets changed: the rep marked some, or marked ones left the rows."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, clock: Clock, empty_text: str = "No tickets here.", **kwargs) -> None:
        super().__init__(**kwargs)
        self.clock = clock
        self.rows: Sequence[TicketView] = ()  # as shown: in the sort's order
        self._given: Sequence[TicketView] = ()  # as set_rows got them: in urgency order
        self.sort = URGENCY
        self.marks: Mapping[int, Marks] = {}  # ticket id -> its markers; a ticket not in it has none
        self.empty_text = empty_text
        self.selection: set[int] = set()  # the marked tickets' ids: a bulk action applies to each
        self._anchor: int | None = None  # the ticket last marked or unmarked one by one: where a range starts
        self._shown_clocks: dict[int, tuple[str, str]] = {}  # screen line -> (due, sla) last painted
        # screen line -> where its countdown changed: the cell is drawn in two segments there, so
        # the terminal gets only the changed characters (partial_update.py)
        self._changed_at: dict[int, int] = {}

    # --- data ----------------------------------------------------------------------------

    @property
    def current_row(self) -> TicketView | None:
        return self.rows[self.cursor] if self.rows else None

    @property
    def ticket_id(self) -> int | None:
        row = self.current_row
        return None if row is None else row.id

    def set_rows(self, rows: Sequence[TicketView], keep_ticket: int | None = None) -> None:
        """Replace the rows (sorted as the header shows); the cursor follows its ticket (or the
        given one) to its new place."""
        follow = keep_ticket if keep_ticket is not None else self.ticket_id
        self._given = rows
        rows = self.rows = self.sort.apply(rows)
        index = next((i for i, row in enumerate(rows) if row.id == follow), None)
        self.virtual_size = Size(self._width, len(rows) + 1)
        self._shown_clocks.clear()
        self.cursor = min(index if index is not None else self.cursor, max(0, len(rows) - 1))
        if self.selection:  # marks survive a reload, but not a ticket leaving the rows
            shown = {row.id for row in rows}
            if not self.selection <= shown:
                self._select(self.selection & shown)
        self.refresh()

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        """Sort by `column`; without a direction, ascending, or the other way when it is sorted
        by it already (like a click on a header)."""
        if descending is None:
            descending = column == self.sort.column and not self.sort.descending
        self.sort = Sort(column, descending)
        self.set_rows(self._given)

    def sort_step(self, step: int) -> None:
        """Sort by the next (or previous) column shown that sorts, ascending, round the end."""
        shown = [c.key for c in COLUMNS if c.key in SORT_KEYS and c.key in self._widths()]
        at = shown.index(self.sort.column) if self.sort.column in shown else -1 if step > 0 else 0
        self.sort_by(shown[(at + step) % len(shown)], descending=False)

    def invert_sort(self) -> None:
        self.sort_by(self.sort.column, descending=not self.sort.descending)

    def set_marks(self, marks: Mapping[int, Marks]) -> None:
        """New markers for the rows (the outbox, drafts, presence): only the marker cells repaint."""
        self.marks = marks
        width = self._widths()
        x = width["id"] + 1
        self.refresh(Region(x, 1, width["marks"], max(0, self.size.height - 1)))

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh()
        self.post_message(self.Highlighted(self.ticket_id))

    def tick(self) -> None:
        """Repaint just the clock cells whose text changed since they were last painted: on an
        idle screen that is a few bytes a second, not whole rows."""
        now = self.clock.now()
        top = int(self.scroll_y)
        width = self._widths()
        due_x = width["id"] + 1 + width["marks"] + 1
        sla_x = due_x + width["due"] + 1
        for line in range(1, self.size.height):
            index = top + line - 1
            if index >= len(self.rows):
                break
            due, sla = self._clock_cells(self.rows[index], now)
            shown_due, shown_sla = self._shown_clocks.get(line, (None, None))
            if due != shown_due:
                # Right-aligned: "42m 10s" -> "42m 09s" repaints only the last characters.
                same = _common_prefix(fit(due, width["due"], True), fit(shown_due, width["due"], True)) if shown_due else 0
                self._changed_at[line] = same
                self.refresh(Region(due_x + same, line, width["due"] - same, 1))
            if sla != shown_sla:
                self.refresh(Region(sla_x, line, width["sla"], 1))

    # --- marks: the tickets a bulk action applies to -----------------------------------------

    @property
    def marked_rows(self) -> list[TicketView]:
        return [row for row in self.rows if row.id in self.selection]

    def toggle_mark(self) -> None:
        """Mark the highlighted ticket, or unmark it, and move on to the next (as mutt tags)."""
        if (ticket_id := self.ticket_id) is None:
            return
        self._anchor = ticket_id
        self._select(self.selection ^ {ticket_id})
        self.action_cursor(1)

    def mark_range(self) -> None:
        """Mark every ticket from the one last marked (or unmarked) to the highlighted one."""
        if not self.rows:
            return
        ids = [row.id for row in self.rows]
        start = ids.index(self._anchor) if self._anchor in ids else self.cursor
        low, high = sorted((start, self.cursor))
        self._anchor = self.ticket_id
        self._select(self.selection | set(ids[low : high + 1]))

    def mark_all(self) -> None:
        self._select({row.id for row in self.rows})

    def unmark(self) -> None:
        self._select(set())

    def keep_marked(self, ticket_ids: set[int]) -> None:
        """Of the marked tickets, only these stay marked."""
        self._select(self.selection & ticket_ids)

    def _select(self, selection: set[int]) -> None:
        if selection != self.selection:
            self.selection = selection
            self.refresh()
            self.post_message(self.Marked(len(selection)))

    # --- navigation ----------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.size.height - 2))

    def action_jump(self, index: int) -> None:
        if self.rows:
            self.cursor = index % len(self.rows)

    def action_open(self) -> None:
        if self.ticket_id is not None:
            self.post_message(self.Opened(self.ticket_id))

    def on_click(self, event) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column in SORT_KEYS:
                self.sort_by(column)
            return
        index = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self.rows):
            if index == self.cursor and event.chain >= 2:
                self.action_open()
            self.cursor = index

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        if self.cursor < self.scroll_y:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= self.scroll_y + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def on_resize(self) -> None:
        self.virtual_size = Size(self._width, len(self.rows) + 1)
        self._shown_clocks.clear()

    # --- rendering -----------------------------------------------------------------------

    @property
    def _width(self) -> int:
        """The width inside the scrollbar, which would otherwise cut the last column."""
        return self.scrollable_content_region.width

    def _widths(self) -> dict[str, int]:
        total = self._width
        shown = [c for c in COLUMNS if total >= c.min_screen]
        fixed = sum(c.width for c in shown) + len(shown)  # one space after each column
        return {c.key: (c.width or max(8, total - fixed)) for c in shown}

    def _column_at(self, x: int) -> str | None:
        """The key of the column drawn at `x` (or the space after it)."""
        start = 0
        for key, width in self._widths().items():
            if start <= x < start + width + 1:
                return key
            start += width + 1
        return None

    def _title(self, column: Column) -> str:
        if column.key != self.sort.column:
            return column.title
        return column.title + SORT_ARROWS[self.sort.descending]

    def _clock_cells(self, row: TicketView, now: datetime) -> tuple[str, str]:
        """The Due and SLA texts as of now; a stopped clock's final met or missed, in words."""
        target = row.clock
        if target is None:
            return "-", ""
        if target.stopped:
            return target.status, ""
        return format_span(target.remaining_at(now)), STATUS_LABEL[target.status_at(now)]

    def render_line(self, y: int) -> Strip:
        width = self._widths()
        if y == 0:
            header = self.get_component_rich_style("ticket-table--header")
            text = " ".join(fit(self._title(c), width[c.key], c.right) for c in COLUMNS if c.key in width)
            return Strip([Segment(fit(text, self._width), header)])
        index = int(self.scroll_y) + y - 1
        if not self.rows and y == 2:
            empty = self.get_component_rich_style("ticket-table--empty")
            return Strip([Segment(fit("  " + self.empty_text, self._width), empty)])
        if index >= len(self.rows):
            return Strip.blank(self._width, self.rich_style)
        now = self.clock.now()
        row = self.rows[index]
        self._shown_clocks[y] = self._clock_cells(row, now)
        base = self.rich_style
        if index == self.cursor:
            cursor = "ticket-table--cursor" if self.has_focus else "ticket-table--cursor-blurred"
            base = base + self.get_component_rich_style(cursor)
        segments = []
        for column in COLUMNS:
            if column.key not in width:
                continue
            if column.key == "marks":
                segments.extend(self._marker_segments(self.marks.get(row.id, NO_MARKS), base))
                segments.append(Segment(" ", base))
                continue
            text, look = self._cell(column.key, row, now)
            if column.key == "id" and row.id in self.selection:
                look = "marked"
            elif not text.strip():
                look = ""  # an empty cell is no hole in the cursor's bar
            text, style = fit(text, width[column.key], column.right), self.look(look, base, index == self.cursor)
            split = self._changed_at.pop(y, 0) if column.key == "due" else 0
            segments.extend(Segment(part, style) for part in (text[:split], text[split:]) if part)
            segments.append(Segment(" ", base))
        return Strip(segments).crop_extend(0, self._width, base)

    def _marker_segments(self, marks: Marks, base: Style) -> list[Segment]:
        """Three cells: the outbox's state, a draft, someone else on the ticket."""
        cells = [(" ", "")] * 3
        if marks.outbox is not None:
            cells[0] = (OUTBOX_MARKERS[marks.outbox], marks.outbox)
        if marks.draft:
            cells[1] = (DRAFT_MARKER, "draft")
        if marks.present:
            writing = any(someone.activity != "viewing" for someone in marks.present)
            cells[2] = (WRITING_MARKER, "writing") if writing else (VIEWING_MARKER, "viewing")
        return [Segment(char, base + self._style(name)) if name else Segment(char, base) for char, name in cells]

    def _cell(self, key: str, row: TicketView, now: datetime) -> tuple[str, str]:
        """A cell's text and the name of its look (looks.py), "" for none."""
        target = row.clock
        match key:
            case "id":
                return str(row.id), "muted"
            case "due" | "sla":
                if target is None:
                    return ("-" if key == "due" else ""), "muted"
                due, sla = self._clock_cells(row, now)
                return (due if key == "due" else sla), STATUS_STYLE[target.status_at(now)]
            case "sev":
                if row.automated:
                    return "auto", "muted"
                if row.severity is None:
                    return "?", "severity.untriaged"  # not triaged yet
                shown = severity(row.severity)
                return shown.name, "severity.critical" if shown.critical else ""
            case "customer":
                return row.customer or row.requester or "(unknown sender)", ""
            case "subject":
                return row.subject or "(no subject)", ""
            case "requester":
                return row.requester_name or row.requester, "muted"
            case "owner":
                return row.owner_name or "-", "" if row.owner_name else "muted"
            case "state":
                return row.state, "muted" if row.state in ("waiting", "resolved") else ""
            case "age":
                return age_text(row.created_at, now), "muted"
        raise KeyError(key)

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"ticket-table--{name}", partial=True)

    def look(self, name: str, row: Style, selected: bool) -> Style:
        """A look (looks.py) on its row. On the selected row a status is drawn on the table's own
        background, in its own colour: in the cursor's colours it could vanish (the cursor is often
        the colour of a warning), and reversed it could match the cursor (as greys, without colour).
        Faded text is not faded there."""
        if not name:
            return row
        look = self.app.console.get_style(name)
        if not selected:
            return row + look
        if name == "muted":
            return row
        return self.rich_style + look + NOT_REVERSED
