"""The inbox's views: which tickets each one shows, and how they are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.text import Text

from frontdesk.storage.views import TicketView


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


def tabs(counts: dict[str, int], active: str, searching: bool, width: int) -> Text:
    """One line of tabs, each whole with its key and count: the titles when they fit `width`,
    else the short names, else the short names closer together; the note that the counts are
    of search results goes last (the search bar under the tabs says so too)."""
    tiers = ((False, " ", "  search results"), (True, " ", "  search results"), (True, "", "  search"), (True, "", ""))
    for short, gap, note in tiers:
        line = Text()
        for view in VIEWS:
            tab = Text(gap).append(view.hotkey, style="bold").append(f" {view.short if short else view.title} {counts[view.key]}")
            tab.append(gap or " ")
            if view.key == active:
                tab.stylize("reverse bold", 0, len(tab) - (0 if gap else 1))
            line.append_text(tab)
        if searching:
            line.append(note, style="italic")
        if line.cell_len <= width:
            break
    return line


def counts(rows: Sequence[TicketView], now: datetime, me: str | None) -> dict[str, int]:
    return {view.key: sum(1 for row in rows if view.keep(row, now, me)) for view in VIEWS}


def select(rows: Sequence[TicketView], key: str, now: datetime, me: str | None) -> list[TicketView]:
    keep = VIEW_BY_KEY[key].keep
    return [row for row in rows if keep(row, now, me)]
