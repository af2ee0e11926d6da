"""Toasts and the terminal bell when a ticket arrives or its clock turns at risk or breached.

Clocks turn at times known in advance (TargetState.at_risk_at and due_at), so the turns wait in a
heap and are announced on the tick they happen, without evaluating any ticket again.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from datetime import datetime

from frontdesk.storage.views import TicketView

MESSAGES = {"at_risk": "#{id} is at risk: {subject}", "breached": "#{id} has breached its SLA: {subject}"}


class Alerts:
    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.config.alerts
        self._known: set[int] | None = None  # None until the first load: nothing is new then
        self._turns: list[tuple[datetime, int, str, str]] = []
        self._rang = False

    def loaded(self, rows: Sequence[TicketView], now: datetime) -> None:
        """After each load: announce tickets new since the last one; plan the clocks' turns."""
        if self._known is not None and self.settings.new_ticket:
            for row in rows:
                if row.id not in self._known and row.automated is None and row.state == "new":
                    self._announce(f"New ticket #{row.id} from {row.customer or row.requester}: {row.subject}")
        # Every ticket shown since the start: one coming back (a resolve undone) is not new.
        self._known = (self._known or set()) | {row.id for row in rows}
        self._turns = [turn for row in rows for turn in _turns(row, now)]
        heapq.heapify(self._turns)
        self._ring()

    def tick(self, now: datetime) -> None:
        while self._turns and self._turns[0][0] <= now:
            _, ticket_id, status, subject = heapq.heappop(self._turns)
            if getattr(self.settings, status):
                self._announce(MESSAGES[status].format(id=ticket_id, subject=subject))
        self._ring()

    def _announce(self, message: str) -> None:
        self.app.notify(message, severity="warning", markup=False, timeout=10)
        self._rang = True

    def _ring(self) -> None:
        if self._rang and self.settings.bell:
            self.app.bell()
        self._rang = False


def _turns(row: TicketView, now: datetime) -> Iterator[tuple[datetime, int, str, str]]:
    target = row.clock
    if target is None or target.status not in ("ok", "at_risk"):  # only these can still turn
        return
    if target.at_risk_at is not None and target.at_risk_at > now:
        yield target.at_risk_at, row.id, "at_risk", row.subject
    if target.due_at > now:
        yield target.due_at, row.id, "breached", row.subject
