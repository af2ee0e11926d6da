"""The desk at a glance, for a status bar or a shell prompt: how many clocks the inbox marks LATE and
RISK, and how long until the next one is due.

Only tickets whose clock runs are read, straight from the due-time index (paused, stopped and
clockless tickets can be neither), so it stays quick however many tickets the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import Config
from .models import Ticket
from .views import views_where


@dataclass(frozen=True)
class DeskStatus:
    open_tickets: bool
    late: int  # running clocks past due: the inbox's LATE
    at_risk: int  # the inbox's RISK
    next_due: timedelta | None  # until the soonest running clock not yet past due


def desk_status(config: Config, now: datetime) -> DeskStatus:
    running = (Ticket.state != "resolved") & Ticket.next_due_at.is_null(False)
    # A running clock is LATE from its due time on (TargetState.status_at): counted without evaluating it.
    late = Ticket.select().where(running & (Ticket.next_due_at <= now)).count()
    clocks = [view.clock for view in views_where(config, now, running & (Ticket.next_due_at > now)) if view.clock]
    return DeskStatus(
        open_tickets=bool(late or clocks) or Ticket.select().where(Ticket.state != "resolved").exists(),
        late=late,
        at_risk=sum(1 for clock in clocks if clock.status_at(now) == "at_risk"),
        next_due=min((clock.due_at - now for clock in clocks), default=None),
    )
