"""What waits on each ticket besides the ticket itself: mail in the outbox not sent yet (queued,
sending or failed), and saved drafts. Two small queries, whatever the number of tickets: the
outbox's unsent rows (by the status index; their bodies are not read) and the draft table."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .models import Draft, Outbox
from .store import Store

UNSENT = ("queued", "sending", "failed")
# A ticket's most pressing state, for its row: a failed send first, then one on its way.
PRESSING = {"failed": 0, "sending": 1, "queued": 2}


@dataclass(frozen=True)
class Unsent:
    """One outbox row not sent yet, without its body."""

    id: int
    ticket_id: int
    kind: str  # "reply" | "ack" | "handoff" | "slack"
    to: tuple[str, ...]
    subject: str
    status: str  # "queued" | "sending" | "failed"
    attempts: int
    error: str | None
    next_attempt_at: datetime | None  # a failed row is retried from then; None: by hand only
    actor: str  # who queued it
    created_at: datetime
    updated_at: datetime

    @property
    def failure(self) -> tuple[int, int]:
        """Which failure this is: every attempt that fails is a new one."""
        return (self.id, self.attempts)


@dataclass(frozen=True)
class Pending:
    unsent: tuple[Unsent, ...] = ()  # oldest first
    drafts: dict[int, datetime] = field(default_factory=dict)  # ticket id -> when the draft was saved

    def by_ticket(self) -> dict[int, list[Unsent]]:
        tickets: dict[int, list[Unsent]] = {}
        for entry in self.unsent:
            tickets.setdefault(entry.ticket_id, []).append(entry)
        return tickets

    def states(self) -> dict[int, str]:
        """Per ticket, the most pressing state of its unsent mail."""
        states: dict[int, str] = {}
        for entry in self.unsent:
            known = states.get(entry.ticket_id)
            if known is None or PRESSING[entry.status] < PRESSING[known]:
                states[entry.ticket_id] = entry.status
        return states

    def failed(self) -> list[Unsent]:
        return [entry for entry in self.unsent if entry.status == "failed"]


_FIELDS = (
    Outbox.id,
    Outbox.ticket,
    Outbox.kind,
    Outbox.to_addrs,
    Outbox.subject,
    Outbox.status,
    Outbox.attempts,
    Outbox.last_error,
    Outbox.next_attempt_at,
    Outbox.actor,
    Outbox.created_at,
    Outbox.updated_at,
)


def unsent(store: Store, ticket_id: int | None = None) -> list[Unsent]:
    """Every outbox row waiting or failed (or one ticket's), oldest first."""
    query = Outbox.select(*_FIELDS).where(Outbox.status.in_(UNSENT)).order_by(Outbox.id)
    if ticket_id is not None:
        query = query.where(Outbox.ticket == ticket_id)
    return [
        Unsent(
            id=row.id,
            ticket_id=row.ticket_id,
            kind=row.kind,
            to=tuple(row.to_addrs or ()),
            subject=row.subject,
            status=row.status,
            attempts=row.attempts,
            error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            actor=row.actor,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        for row in query
    ]


def drafts(store: Store, ticket_id: int | None = None) -> dict[int, datetime]:
    """Tickets with a saved draft, and when it was last saved."""
    query = Draft.select(Draft.ticket, Draft.updated_at)
    if ticket_id is not None:
        query = query.where(Draft.ticket == ticket_id)
    return {row.ticket_id: row.updated_at for row in query}


def load(store: Store) -> Pending:
    return Pending(tuple(unsent(store)), drafts(store))


def of_ticket(store: Store, ticket_id: int) -> Pending:
    return Pending(tuple(unsent(store, ticket_id)), drafts(store, ticket_id))
