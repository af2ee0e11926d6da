"""The stats screen: response and resolution times, SLA attainment by severity, and the rotation
summary of a chosen week, which `e` exports as the Markdown hand-over note for the next rep.

Everything is loaded in a thread worker; the screen only formats. Text from mail (subjects,
customer and owner names) is made display-safe and enters widgets as Content, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import zip_longest
from pathlib import Path
from typing import Any, NamedTuple

import platformdirs
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from frontdesk.mail.safe_text import display_line
from frontdesk.storage.files import write_private
from frontdesk.storage.rotation import (
    Breach,
    CustomerLoad,
    HandOff,
    RotationSummary,
    Week,
    customer_label,
    export_name,
    figures,
    rotation_summary,
    to_markdown,
)
from frontdesk.storage.sla import SEVERITIES, format_span
from frontdesk.storage.stats import compute_stats
from frontdesk.storage.store import Store
from frontdesk.storage.views import TicketView
from frontdesk.styles import sheet

from .background import Background

METER_WIDTH = 20
# Untriaged tickets never have a resolution clock, so they get no resolution row.
TARGETS = {**{str(s.level): ("response", "resolution") for s in SEVERITIES}, "untriaged": ("response",)}
SEVERITY_LABEL = {**{str(s.level): s.name for s in SEVERITIES}, "untriaged": "Untriaged"}
CLOCK_WORD = {"ok": ("", ""), "at_risk": ("RISK", "$text-warning bold"), "breached": ("LATE", "$text-error bold")}
_WORKER_GROUP = "stats"


class Col(NamedTuple):
    title: str
    width: int  # cells, including the gap after it; 0: the rest of the line (the widget cuts it)
    right: bool = False


Cell = Content | str


def table(columns: Sequence[Col], rows: Iterable[Sequence[Cell]], header: bool = True) -> Content:
    """Rows of fixed-width cells, one line each, under the column titles."""
    lines = [_line(columns, row) for row in rows]
    if header:
        lines.insert(0, _line(columns, [Content.styled(col.title, "bold") for col in columns]))
    return Content("\n").join(lines)


def _line(columns: Sequence[Col], cells: Sequence[Cell]) -> Content:
    parts = []
    for col, cell in zip(columns, cells, strict=True):
        content = Content(cell) if isinstance(cell, str) else cell
        if col.width:
            content = content.truncate(col.width - 1, ellipsis=True)
            content = content.right(col.width - 1) if col.right else content.pad_right(col.width - 1 - content.cell_length)
            content += " "
        parts.append(content)
    return Content.assemble(*parts)


def meter(rate: float) -> Content:
    """Met as full blocks, missed as light shade: it reads without colour too. Rounded down, so a
    full bar means every target was met."""
    filled = int(rate * METER_WIDTH)
    return Content.assemble(("█" * filled, "$success"), ("░" * (METER_WIDTH - filled), "$error"))


def duration(seconds: float | None) -> str:
    return "-" if seconds is None else format_span(timedelta(seconds=seconds))


def mail_text(text: str) -> Content:
    """Text that came in a message: one line, no controls, never markup."""
    return Content(display_line(text))


def ticket_text(view: TicketView) -> Content:
    return Content.assemble(
        mail_text(customer_label(view)), (" · ", "dim"), mail_text(view.subject or "(no subject)")
    )


def clock_cell(view: TicketView) -> Content:
    """The running clock as the inbox shows it: time left, and a word that needs no colour."""
    target = view.clock
    if target is None:
        return Content.styled(f"{'-':>8}", "dim")
    if not target.running:  # paused, or how a stopped clock ended: met or missed
        return Content.styled(f"{target.status:>8}", "dim")
    word, style = CLOCK_WORD[target.status]
    return Content.assemble(f"{format_span(target.remaining):>8} ", (word, style))


def export_folders() -> list[Path]:
    """Where `e` writes the note, the first that takes it: the user's documents folder when they have
    one (XDG_DOCUMENTS_DIR, else ~/Documents), then frontdesk's data folder. Never the folder
    frontdesk was started from, where nobody would look for it."""
    documents = platformdirs.user_documents_path()
    data = platformdirs.user_data_path("frontdesk")
    return [documents, data] if documents.is_dir() else [data]


def write_text(path: Path, text: str) -> Path:
    """The hand-over note names customers and tickets: readable by its owner only (0600)."""
    return write_private(path, text)


def when(moment: datetime, week: Week) -> str:
    return f"{moment.astimezone(week.tz):%a %d %b %H:%M}"


def age(view: TicketView, summary: RotationSummary) -> str:
    return format_span(summary.now - view.created_at)


def times_table(stats: dict) -> Content:
    columns = (Col("", 12), Col("Median", 9, True), Col("90th pct", 10, True), Col("Tickets", 9, True))
    rows = []
    for label, key in (("Response", "response_time"), ("Resolution", "resolution_time")):
        spread = stats[key]
        rows.append((label, duration(spread["median_seconds"]), duration(spread["p90_seconds"]), str(spread["count"])))
    return table(columns, rows)


def attainment_table(stats: dict) -> Content:
    """One row per severity and target; the severity's name and ticket count on its first row."""
    columns = (
        Col("Severity", 10), Col("Tickets", 8, True), Col("", 2), Col("Target", 11),
        Col("Met", 5, True), Col("Missed", 8, True), Col("", 2), Col("Attainment", 0),
    )
    rows = []
    for key, targets in TARGETS.items():
        group = stats["attainment"][key]
        for index, target in enumerate(targets):
            result = group[target]
            label, count = (SEVERITY_LABEL[key], str(group["tickets"])) if index == 0 else ("", "")
            rows.append((label, count, "", target, str(result["met"]), str(result["missed"]), "", rate_cell(result["rate"])))
    return table(columns, rows)


def rate_cell(rate: float | None) -> Content:
    if rate is None:
        return Content.styled("none decided yet", "dim")
    return meter(rate) + Content(f" {rate * 100:3.0f}%")


def figures_table(summary: RotationSummary) -> Content:
    """The week's counts in two columns."""
    pairs = figures(summary)
    half = (len(pairs) + 1) // 2
    columns = (Col("", 24), Col("", 9, True), Col("", 4), Col("", 24), Col("", 9, True))
    rows = [(*left, "", *right) for left, right in zip_longest(pairs[:half], pairs[half:], fillvalue=("", ""))]
    return table(columns, rows, header=False)


@dataclass(frozen=True)
class Listing:
    """One list of the week's summary: its items and how each one reads as a row."""

    key: str
    title: str
    columns: tuple[Col, ...]
    items: Callable[[RotationSummary], Sequence[Any]]
    row: Callable[[RotationSummary, Any], Sequence[Cell]]

    def render(self, summary: RotationSummary) -> Content:
        items = self.items(summary)
        if not items:
            return Content.styled("None.", "dim")
        return table(self.columns, [self.row(summary, item) for item in items])


def _open_hand_off(summary: RotationSummary, view: TicketView) -> Sequence[Cell]:
    owner = mail_text(view.owner_name or view.owner or "-")
    return (str(view.id), owner, view.state, age(view, summary), clock_cell(view), ticket_text(view))


def _breach(summary: RotationSummary, breach: Breach) -> Sequence[Cell]:
    running = Content.styled("running", "$text-error bold")
    return (
        str(breach.ticket.id),
        breach.target,
        when(breach.state.due_at, summary.week),
        format_span(breach.over),
        "missed" if breach.state.status == "missed" else running,
        ticket_text(breach.ticket),
    )


def _untriaged(summary: RotationSummary, view: TicketView) -> Sequence[Cell]:
    return (str(view.id), age(view, summary), clock_cell(view), ticket_text(view))


def _hand_off(summary: RotationSummary, hand_off: HandOff) -> Sequence[Cell]:
    return (str(hand_off.ticket.id), when(hand_off.at, summary.week), mail_text(hand_off.to), ticket_text(hand_off.ticket))


def _customer(summary: RotationSummary, load: CustomerLoad) -> Sequence[Cell]:
    return (mail_text(load.name), str(load.tickets), str(load.messages))


TICKET = Col("Ticket", 0)
LISTINGS = (
    Listing(
        "open-hand-offs", "Open hand-offs",
        (Col("#", 5, True), Col("Owner", 15), Col("State", 9), Col("Age", 8), Col("Clock", 14), TICKET),
        lambda summary: summary.open_hand_offs, _open_hand_off,
    ),
    Listing(
        "breaches", "SLA breaches",
        (Col("#", 5, True), Col("Target", 11), Col("Due", 17), Col("Over", 8, True), Col("", 9), TICKET),
        lambda summary: summary.breaches, _breach,
    ),
    Listing(
        "untriaged", "Still untriaged",
        (Col("#", 5, True), Col("Age", 8), Col("Clock", 14), TICKET),
        lambda summary: summary.untriaged, _untriaged,
    ),
    Listing(
        "hand-offs", "Hand-offs this week",
        (Col("#", 5, True), Col("When", 17), Col("To", 16), TICKET),
        lambda summary: summary.hand_offs, _hand_off,
    ),
    Listing(
        "busiest", "Busiest customers",
        (Col("Customer", 26), Col("Tickets", 8, True), Col("Messages", 9, True)),
        lambda summary: summary.busiest, _customer,
    ),
)


@dataclass(frozen=True)
class Loaded:
    views: list[TicketView]
    stats: dict
    summary: RotationSummary


class StatsScreen(Background, Screen):
    """Stats for the whole store and the rotation summary of one week (the current one at first)."""

    CSS_PATH = [sheet("stats")]
    BINDINGS = [
        Binding("left_square_bracket", "week(-1)", "Prev week", key_display="["),
        Binding("right_square_bracket", "week(1)", "Next week", key_display="]"),
        # Priority, because the focused scroll container would take them for sideways scrolling.
        Binding("left", "week(-1)", "Prev week", show=False, priority=True),
        Binding("right", "week(1)", "Next week", show=False, priority=True),
        Binding("e", "export", "Export note"),
        Binding("r", "reload", "Reload"),
        Binding("escape,q", "back", "Back"),
    ]

    def __init__(self, store: Store, export_dir: Path | None = None) -> None:
        """export_dir: where `e` writes the note; by default see export_folders()."""
        super().__init__()
        self.store = store
        self.export_dir = export_dir
        self.week = Week.containing(store.clock.now(), store.config.calendar.timezone)
        self.loaded: Loaded | None = None

    def compose(self) -> ComposeResult:
        yield Static(Content("Stats · loading…"), id="stats-title")
        with VerticalScroll(id="stats-body"):
            yield Static(Content("Response and resolution times"), classes="stats-heading")
            yield Static(id="stats-times", classes="stats-table")
            yield Static(Content("SLA attainment by severity"), classes="stats-heading")
            yield Static(id="stats-attainment", classes="stats-table")
            yield Static(id="stats-week", classes="stats-heading")
            yield Static(id="stats-figures", classes="stats-table")
            for listing in LISTINGS:
                yield Static(Content(listing.title), classes="stats-subheading")
                yield Static(id=f"stats-{listing.key}", classes="stats-table")
        yield Footer()

    def on_mount(self) -> None:
        self._load(reload=True)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The screen's keys, for the command palette (the app asks the active screen)."""
        for binding in self.BINDINGS:
            if binding.show:
                help_text = f"{binding.description} (key {self.app.get_key_display(binding)})"
                yield SystemCommand(binding.description, help_text, partial(self.run_action, binding.action))

    # --- loading ---------------------------------------------------------------------------

    def _load(self, reload: bool) -> None:
        """All tickets again on reload; for another week, only that week's events."""
        views = None if reload or self.loaded is None else self.loaded.views
        week = self.week
        self._static("stats-week").update(Content(f"Week {week.label} · loading…"))
        # Exclusive: a week left behind by a quick `[` is dropped.
        self.in_background(lambda: self._gather(week, views), self._gathered, group=_WORKER_GROUP, exclusive=True)

    def _gather(self, week: Week, views: list[TicketView] | None) -> Loaded:
        """Runs in a worker thread, on that thread's own database connection."""
        if views is None:
            views = self.store.views(include_resolved=True)
        return Loaded(views, compute_stats(views), rotation_summary(self.store, week.monday, views))

    def _gathered(self, loaded: Loaded) -> None:
        self.loaded = loaded
        self._show(loaded)

    def background_failed(self, error: Exception) -> None:
        reason = f"Could not load the stats: {error}"
        self._static("stats-week").update(Content(reason))
        self.notify(reason, severity="error", markup=False)

    # --- showing ---------------------------------------------------------------------------

    def _static(self, name: str) -> Static:
        return self.query_one(f"#{name}", Static)

    def _show(self, loaded: Loaded) -> None:
        stats, summary = loaded.stats, loaded.summary
        tickets = stats["tickets"]
        self._static("stats-title").update(
            Content(
                f"Stats · {when(summary.now, summary.week)} · {tickets['total']} tickets, "
                f"{tickets['automated']} automated · {tickets['untriaged_open']} untriaged and open"
            )
        )
        self._static("stats-times").update(times_table(stats))
        self._static("stats-attainment").update(attainment_table(stats))
        self._show_week(summary)

    def _show_week(self, summary: RotationSummary) -> None:
        week = summary.week
        self._static("stats-week").update(
            Content(f"Week {week.label} · {week.days}" + ("" if summary.complete else " · so far"))
        )
        self._static("stats-figures").update(figures_table(summary))
        for listing in LISTINGS:
            self._static(f"stats-{listing.key}").update(listing.render(summary))

    # --- actions ---------------------------------------------------------------------------

    def action_week(self, step: int) -> None:
        week = self.week.shifted(step)
        if week.start > self.store.clock.now():
            self.app.bell()
            self.notify("This is the current week: there is no later one yet.", markup=False)
            return
        self.week = week
        self._load(reload=False)
        self._static("stats-week").scroll_visible(top=True)  # at 80x24 the week starts below the fold

    def action_reload(self) -> None:
        self._load(reload=True)

    def action_export(self) -> None:
        loaded = self.loaded
        if loaded is None or loaded.summary.week != self.week:
            self.notify("The week is still loading; export again in a moment.", severity="warning", markup=False)
            return
        try:
            path = self._write_note(export_name(self.week), to_markdown(loaded.summary))
        except OSError as error:
            self.notify(f"Could not write the hand-over note: {error}", severity="error", markup=False)
            return
        self.notify(f"Hand-over note written to {path}", title="Exported", markup=False)

    def _write_note(self, name: str, note: str) -> Path:
        """Into export_dir if given, else the first of export_folders() that takes it."""
        folders = [self.export_dir] if self.export_dir is not None else export_folders()
        for folder in folders[:-1]:
            try:
                return write_text(folder / name, note)
            except OSError:
                continue
        return write_text(folders[-1] / name, note)

    def action_back(self) -> None:
        self.dismiss()
