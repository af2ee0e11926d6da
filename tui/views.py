"""The inbox's views: which tickets each one shows, and how they are counted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from frontdesk.storage.views import TicketView

from .countdown import live_status


@dataclass(frozen=True)
class InboxView:
    key: str
    title: str
    short: str  # for narrow screens
    hotkey: str
    keep: Callable[[TicketView, datetime, str | None], bool]
    describe: str = ""  # for the palette; by default "Show <title> tickets"


def _open(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved"


def _untriaged(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and view.severity is None and view.automated is None


def _mine(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and me is not None and view.owner == me


def _unassigned(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state != "resolved" and view.owner is None and view.automated is None


def _urgent(view: TicketView, now: datetime, me: str | None) -> bool:
    target = view.running_target
    return target is not None and live_status(target, now) in ("at_risk", "breached")


def _waiting(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state == "waiting"


def _resolved(view: TicketView, now: datetime, me: str | None) -> bool:
    return view.state == "resolved"


def _no_ticket(view: TicketView, now: datetime, me: str | None) -> bool:
    return False  # the Outbox view lists outbox messages, not tickets (tui/outbox_view.py)


VIEWS: tuple[InboxView, ...] = (
    InboxView("open", "Open", "Open", "1", _open),
    InboxView("untriaged", "Untriaged", "New", "2", _untriaged),
    InboxView("mine", "Mine", "Mine", "3", _mine),
    InboxView("unassigned", "Unassigned", "Unasg", "4", _unassigned),
    InboxView("urgent", "At risk & breached", "Risk", "5", _urgent),
    InboxView("waiting", "Waiting", "Wait", "6", _waiting),
    InboxView("resolved", "Resolved", "Done", "7", _resolved),
    InboxView("outbox", "Outbox", "Out", "8", _no_ticket, "Mail waiting to be sent or failed: retry or discard it"),
)
OUTBOX = "outbox"
VIEW_BY_KEY = {view.key: view for view in VIEWS}


def counts(rows: Sequence[TicketView], now: datetime, me: str | None) -> dict[str, int]:
    return {view.key: sum(1 for row in rows if view.keep(row, now, me)) for view in VIEWS}


def select(rows: Sequence[TicketView], key: str, now: datetime, me: str | None) -> list[TicketView]:
    keep = VIEW_BY_KEY[key].keep
    return [row for row in rows if keep(row, now, me)]
