"""Tickets as the screens and the command line see them: with their SLA clocks, in urgency order."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache

from peewee import JOIN

from .config import Config
from .models import Customer, Owner, Ticket
from .sla import Policy, SlaState, TargetState, TicketTimes, current_clock, evaluate


@dataclass(frozen=True, slots=True)  # a view per open ticket is held in memory: no __dict__ each
class TicketView:
    id: int
    subject: str
    requester: str
    requester_name: str
    customer: str | None
    severity: int | None
    state: str
    owner: str | None
    owner_name: str | None
    automated: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    message_count: int
    # The SLA clocks (`sla`), kept apart: an object less for each of 100,000 open tickets.
    response: TargetState | None
    resolution: TargetState | None
    policy: Policy  # the customer's agreement the clocks run under
    version: int  # what a change made from this view passes on: see storage/usecases.py

    @property
    def sla(self) -> SlaState:
        return SlaState(self.response, self.resolution)

    @property
    def clock(self) -> TargetState | None:
        """The clock that matters now, or the final one once all have stopped (sla.current_clock)."""
        return current_clock(self.sla)

    def urgency(self) -> tuple:
        """Breached first, then least time left (untriaged first at equal time); paused, stopped
        and clockless tickets after; resolved last, newest first."""
        target = self.clock
        if self.state == "resolved":
            return (3, -self.created_at.timestamp(), 0)
        if target is None or not target.running:
            return (2, self.created_at.timestamp(), 0)
        return (1, target.remaining.total_seconds(), 0 if self.severity is None else 1)

    def as_json(self) -> dict:
        response, resolution = self.sla.response, self.sla.resolution
        return {
            "id": self.id,
            "subject": self.subject,
            "requester": self.requester,
            "customer": self.customer,
            "severity": self.severity,
            "state": self.state,
            "owner": self.owner,
            "created_at": iso(self.created_at),
            "first_response_at": iso(self.first_response_at),
            "resolved_at": iso(self.resolved_at),
            "response_due_at": iso(response.due_at) if response else None,
            "resolution_due_at": iso(resolution.due_at) if resolution else None,
            "response_status": response.status if response else None,
            "resolution_status": resolution.status if resolution else None,
            "message_count": self.message_count,
        }


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


_COLUMNS = (
    Ticket.id,
    Ticket.subject,
    Ticket.requester_email,
    Ticket.requester_name,
    Customer.name,
    Customer.policy,
    Ticket.severity,
    Ticket.state,
    Owner.email,
    Owner.name,
    Ticket.automated,
    Ticket.created_at,
    Ticket.first_response_at,
    Ticket.resolved_at,
    Ticket.pauses,
    Ticket.message_count,
    Ticket.version,
)


def _query():
    return (
        Ticket.select(*_COLUMNS)
        .join(Customer, JOIN.LEFT_OUTER, on=(Ticket.customer == Customer.id))
        .switch(Ticket)
        .join(Owner, JOIN.LEFT_OUTER, on=(Ticket.owner == Owner.id))
    )


def _views(config: Config, now: datetime, query) -> list[TicketView]:
    """The query's rows as views. Raw rows: peewee's per-column conversion cost more than the SLA
    clock. The same few names and states recur on thousands of rows: one copy of each (`shared`)."""
    sql, params = query.sql()
    shared: dict[str, str] = {}
    cursor = Ticket._meta.database.execute_sql(sql, params)
    views: list[TicketView] = []
    # In batches, letting go of the GIL between them. While 100,000 rows loaded, the screen's
    # thread got it every 5 ms at best (the interpreter's switch interval), and on SQLite up to
    # 70 ms at a time: read a row at a time, sqlite3 lets go of it for every row, too briefly for
    # another thread to take it. Now its median wait is under a millisecond on both, and keys
    # pressed during a load answer about as fast as when idle (bench/tui.py).
    while rows := cursor.fetchmany(_BATCH):
        views += [_view(config, now, row, shared) for row in rows]
        time.sleep(0)
    return views


_BATCH = 64


def recently_resolved(config: Config, now: datetime, limit: int) -> tuple[list[TicketView], int]:
    """The latest resolved tickets, newest first, and how many there are in all."""
    query = _query().where(Ticket.state == "resolved").order_by(Ticket.resolved_at.desc()).limit(limit)
    total = Ticket.select().where(Ticket.state == "resolved").count()
    return _views(config, now, query), total


def ticket_views(
    config: Config,
    now: datetime,
    include_resolved: bool = False,
    ticket_ids: Sequence[int] | None = None,
) -> list[TicketView]:
    # Read by due time, the urgency sort has little left to do: 13 ms instead of 90-170 ms at
    # 100,000 open tickets, time in which the sort holds the GIL and the screen's thread can't run.
    # Equally urgent tickets keep the order read: the older first.
    query = _query().order_by(Ticket.next_due_at.is_null(), Ticket.next_due_at, Ticket.created_at, Ticket.id)
    if ticket_ids is not None:
        query = query.where(Ticket.id.in_(list(ticket_ids)))
    elif not include_resolved:
        query = query.where(Ticket.state != "resolved")
    views = _views(config, now, query)
    views.sort(key=TicketView.urgency)
    return views


def views_where(config: Config, now: datetime, condition, newest: int | None = None) -> list[TicketView]:
    """The tickets a Peewee condition on Ticket, Customer and Owner selects, unsorted; with `newest`,
    only that many of them, the latest created first."""
    query = _query().where(condition)
    if newest is not None:
        query = query.order_by(Ticket.created_at.desc()).limit(newest)
    return _views(config, now, query)


@cache
def _one_ticket_sql(param: str) -> str:
    """Written once per backend: one ticket is read after every change to it, on the import's hot path."""
    sql, _ = _query().where(Ticket.id == 0).sql()
    return sql


def ticket_view(config: Config, now: datetime, ticket_id: int) -> TicketView | None:
    database = Ticket._meta.database
    row = database.execute_sql(_one_ticket_sql(database.param), (ticket_id,)).fetchone()
    return None if row is None else _view(config, now, row, {})


def first_screen(config: Config, now: datetime, limit: int) -> list[TicketView]:
    """The most urgent open tickets straight from the due-time index: what the inbox shows while
    the rest loads."""
    query = (
        _query()
        .where((Ticket.state != "resolved") & Ticket.next_due_at.is_null(False))
        .order_by(Ticket.next_due_at)
        .limit(limit)
    )
    views = _views(config, now, query)
    views.sort(key=TicketView.urgency)
    return views


def _view(config: Config, now: datetime, row: tuple, shared: dict[str, str]) -> TicketView:
    (
        ticket_id, subject, requester, requester_name, customer, policy_name, severity, state,
        owner, owner_name, automated, created, first_response, resolved, pauses, count, version,
    ) = row
    created, first_response, resolved = map(_time, (created, first_response, resolved))
    requester, requester_name, customer, state, owner, owner_name, automated = (
        None if text is None else shared.setdefault(text, text)
        for text in (requester, requester_name, customer, state, owner, owner_name, automated)
    )
    pauses = () if pauses == "[]" else _pauses(json.loads(pauses))
    policy = policy_named(config, policy_name)
    sla = _sla(config, now, policy, automated, created, severity, first_response, resolved, pauses)
    return TicketView(
        id=ticket_id,
        subject=subject,
        requester=requester,
        requester_name=requester_name,
        customer=customer,
        severity=severity,
        state=state,
        owner=owner,
        owner_name=owner_name,
        automated=automated,
        created_at=created,
        first_response_at=first_response,
        resolved_at=resolved,
        message_count=count,
        response=sla.response,
        resolution=sla.resolution,
        policy=policy,
        version=version,
    )


def _sla(
    config: Config, now: datetime, policy: Policy, automated: str | None, created: datetime, severity: int | None,
    first_response: datetime | None, resolved: datetime | None, pauses: tuple[tuple[datetime, datetime | None], ...],
) -> SlaState:
    if automated:
        return SlaState(response=None, resolution=None)  # auto-replies and bounces start no clock
    times = TicketTimes(
        started_at=created, severity=severity, first_response_at=first_response, resolved_at=resolved, pauses=pauses
    )
    return evaluate(times, policy, config.calendar, now, config.sla.at_risk_fraction)


def ticket_due_time(config: Config, now: datetime, ticket: Ticket, policy_name: str | None) -> datetime | None:
    """What next_due_at keeps for a ticket as it stands in memory, its customer's policy given: the
    due time its view would show (None once resolved), without reading it back."""
    if ticket.state == "resolved":
        return None
    policy = policy_named(config, policy_name)
    sla = _sla(
        config, now, policy, ticket.automated, ticket.created_at, ticket.severity, ticket.first_response_at,
        ticket.resolved_at, _pauses(ticket.pauses),
    )
    return next_due(sla)


def policy_named(config: Config, name: str | None) -> Policy:
    """A customer's policy by name; a name the config no longer has falls back to the default."""
    return config.sla.policies.get(name or "") or config.sla.policies[config.sla.default_policy]


def next_due(sla: SlaState) -> datetime | None:
    """The due time of the clock that runs now; None when none runs or it is paused."""
    target = current_clock(sla)
    return target.due_at if target is not None and target.running else None


def _time(stored: str | None) -> datetime | None:
    return None if stored is None else datetime.fromisoformat(stored).replace(tzinfo=timezone.utc)


def _pauses(raw: list) -> tuple[tuple[datetime, datetime | None], ...]:
    return tuple((_time(start), _time(end)) for start, end in raw)
