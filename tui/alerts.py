"""Toasts and the terminal bell when a ticket arrives or its clock turns at risk or breached."""

from __future__ import annotations

from collections.abc import Sequence

from frontdesk.storage.views import TicketView

from .countdown import live_status


class Alerts:
    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.config.alerts

    def compare(self, before: Sequence[TicketView], after: Sequence[TicketView]) -> None:
        """Announce what changed between two loads; the first load announces nothing."""
        if not before:
            return
        now = self.app.clock.now()
        known = {row.id: row for row in before}
        rang = False
        for row in after:
            previous = known.get(row.id)
            message = self._news(previous, row, now)
            if message is None:
                continue
            self.app.notify(message, severity="warning", markup=False, timeout=10)
            rang = rang or self.settings.bell
        if rang:
            self.app.bell()

    def _news(self, previous: TicketView | None, row: TicketView, now) -> str | None:
        if previous is None:
            if self.settings.new_ticket and row.automated is None and row.state == "new":
                return f"New ticket #{row.id} from {row.customer or row.requester}: {row.subject}"
            return None
        status = _status(row, now)
        was = previous.running_target.status if previous.running_target else None
        if status == was:
            return None
        if status == "breached" and self.settings.breached:
            return f"#{row.id} has breached its SLA: {row.subject}"
        if status == "at_risk" and self.settings.at_risk:
            return f"#{row.id} is at risk: {row.subject}"
        return None


def _status(row: TicketView, now) -> str | None:
    target = row.running_target
    return live_status(target, now) if target is not None else None
