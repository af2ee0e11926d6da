"""The inbox's views: which tickets each one shows, and how they are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from frontdesk.storage.config import SavedView, ViewSort
from frontdesk.storage.views import TicketView

from .ticket_table import URGENCY, Sort


@dataclass(frozen=True)
class InboxView:
    key: str
    title: str
    short: str  # for narrow screens: never a word the table uses for something else (a state)
    hotkey: str
    describe: str  # for the help and the palette
    keep: Callable[[TicketView, datetime, str | None], bool]


def _open(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved"


def _untriaged(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and view.severity is None and view.automated is None


def _mine(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and me is not None and view.owner == me


def _unassigned(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and view.owner is None and view.automated is None


def _urgent(view: TicketView, now: datetime, me: str | None) -> bool:
    target = view.clock
    return target is not None and target.status_at(now) in ("at_risk", "breached")


def _waiting(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state == "waiting"


def _resolved(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state == "resolved"


def _no_ticket(view: TicketView, now: datetime, me: str | None) -> bool:
    return False  # the Outbox view lists outbox messages, not tickets (tui/outbox_view.py)


VIEWS: tuple[InboxView, ...] = (
    InboxView("open", "Open", "Open", "1", "every ticket not resolved, most urgent first", _open),
    InboxView("untriaged", "Untriaged", "Triage", "2", "tickets with no severity set yet", _untriaged),
    InboxView("mine", "Mine", "Mine", "3", "the tickets you own", _mine),
    InboxView("unassigned", "Unassigned", "Unowned", "4", "tickets nobody owns yet", _unassigned),
    InboxView("urgent", "At risk & breached", "Risk", "5", "tickets whose running clock is at risk or past due", _urgent),
    InboxView("waiting", "Waiting", "Wait", "6", "tickets waiting on the customer", _waiting),
    InboxView("resolved", "Resolved", "Done", "7", "the latest resolved tickets", _resolved),
    InboxView("outbox", "Outbox", "Out", "8", "mail waiting to be sent, or failed: retry or discard it", _no_ticket),
)
OUTBOX = "outbox"
VIEW_BY_KEY = {view.key: view for view in VIEWS}


SAVED_SHORT = 10  # cells of a saved view's name on a narrow screen


@dataclass(frozen=True)
class Tab:
    key: str  # the view's key in `counts`
    hotkey: str
    title: str
    short: str


def saved_key(view: SavedView) -> str:
    """A saved view's key among the inbox's views (never one of the built-in keys)."""
    return f"saved-{view.key}"


def saved_binding_id(view: SavedView) -> str:
    """The id of the saved view's key binding (a `[keys]` keymap can't name it: its key is in [[views]])."""
    return f"view-{saved_key(view)}"


def saved_help_rows(keys: dict[str, list[str]], views: Sequence[SavedView]) -> list[tuple[str, str]]:
    """(keys, meaning) for the help: each saved view, with its key in force and its query."""
    return [(" ".join(keys.get(saved_binding_id(view), ())), f"{view.name}: {view.query.text}") for view in views]


def _saved_tab(view: SavedView) -> Tab:
    short = Text(view.name)
    short.truncate(SAVED_SHORT, overflow="ellipsis")
    return Tab(saved_key(view), view.key, view.name, short.plain)


def tabs(counts: dict[str, int], active: str, searching: bool, width: int, saved: Sequence[SavedView] = ()) -> Text:
    """One line of tabs, each whole with its key and count, the saved views after the built-in
    ones: the titles when they fit `width`, else the short names, else the short names closer
    together; the note that the counts are of search results goes last (the search bar under the
    tabs says so too). When even that is too wide, tabs other than the active one go, the saved
    views first, then the built-in ones from the right, counted in a "+N" (their keys and the
    palette still reach them); on a line narrower still, every other tab is its key and count alone."""
    every = [Tab(view.key, view.hotkey, view.title, view.short) for view in VIEWS] + [_saved_tab(view) for view in saved]
    tiers = ((False, " ", "  search results"), (True, " ", "  search results"), (True, "", "  search"), (True, "", ""))
    for short, gap, note in tiers:
        line = _tab_line(every, counts, active, short, gap)
        if searching:
            line.append(note, style="italic")
        if line.cell_len <= width:
            return line
    left_out: list[Tab] = []
    for tab in [*reversed(every[len(VIEWS) :]), *reversed(every[: len(VIEWS)])]:
        if tab.key != active:
            left_out.append(tab)
            line = _tab_line([tab for tab in every if tab not in left_out], counts, active, True, "")
            line.append(f"+{len(left_out)}", style="bold")
            if line.cell_len <= width:
                return line
    return _tab_line(every, counts, active, True, "", names=False)


def _tab_line(
    shown: Sequence[Tab], counts: dict[str, int], active: str, short: bool, gap: str, names: bool = True
) -> Text:
    """`names`: False leaves out the names of all but the active tab."""
    line = Text()
    for view in shown:
        name = (view.short if short else view.title) if names or view.key == active else ""
        tab = Text(gap).append(view.hotkey, style="bold").append(f" {name} {counts[view.key]}" if name else f" {counts[view.key]}")
        tab.append(gap or " ")
        if view.key == active:
            tab.stylize("reverse bold", 0, len(tab) - (0 if gap else 1))
        line.append_text(tab)
    return line


def counts(rows: Sequence[TicketView], now: datetime, me: str | None) -> dict[str, int]:
    return {view.key: sum(1 for row in rows if view.keep(row, now, me)) for view in VIEWS}


# A saved view's `sort` as the table's column sort, which its header shows and the rep can change.
SAVED_SORTS: dict[ViewSort, Sort] = {
    "urgency": URGENCY,
    "age": Sort("age", descending=True),  # the oldest first
    "customer": Sort("customer"),
    "severity": Sort("sev"),
}


def select(rows: Sequence[TicketView], key: str, now: datetime, me: str | None) -> list[TicketView]:
    keep = VIEW_BY_KEY[key].keep
    return [row for row in rows if keep(row, now, me)]
