"""The outbox's life cycle: queued → sending → sent, or → failed → (retry) queued, or discarded.

`sending` is written and committed before a message leaves, so that a crash can never be
mistaken for "not sent yet": a row found in `sending` long after it was claimed is ambiguous,
and the sender resolves it instead of sending again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from .models import Event, Outbox
from .store import Store, StoreError

# Longer than any one send can take (a few SMTP timeouts): a row in `sending` for longer
# belongs to a process that died, not to one still at work.
STALE_SENDING = timedelta(minutes=10)


def due(store: Store, now: datetime) -> list[Outbox]:
    """Rows to send now: queued ones, and failed ones whose next attempt has come."""
    return list(Outbox.select().where(_is_due(now)).order_by(Outbox.id))


def stale_sending(store: Store, now: datetime) -> list[Outbox]:
    query = Outbox.select().where((Outbox.status == "sending") & (Outbox.updated_at <= now - STALE_SENDING))
    return list(query.order_by(Outbox.id))


def claim(store: Store, entry_id: int, now: datetime) -> bool:
    """Mark a due row `sending` (committed at once); False when another process got it first."""
    _require_no_transaction(store)
    changed = (
        Outbox.update(status="sending", attempts=Outbox.attempts + 1, updated_at=now, next_attempt_at=None)
        .where((Outbox.id == entry_id) & _is_due(now))
        .execute()
    )
    return changed == 1


def mark_sent(store: Store, entry_id: int, at: datetime, note: str | None = None) -> None:
    """note: something that went wrong after the send (e.g. the copy to the Sent folder)."""
    Outbox.update(status="sent", sent_at=at, updated_at=at, last_error=note, next_attempt_at=None).where(
        Outbox.id == entry_id
    ).execute()


def note_error(store: Store, entry_id: int, note: str) -> None:
    Outbox.update(last_error=note).where(Outbox.id == entry_id).execute()


def mark_failed(store: Store, entry_id: int, error: str, now: datetime, retry_at: datetime | None) -> None:
    """retry_at None: never again on its own; the user retries or discards it."""
    Outbox.update(status="failed", last_error=error, updated_at=now, next_attempt_at=retry_at).where(
        Outbox.id == entry_id
    ).execute()


def retry(store: Store, entry_id: int) -> Outbox:
    """A failed row goes back to the queue, to be sent on the next run."""
    with store.transaction():
        entry = _entry(entry_id)
        if entry.status != "failed":
            raise StoreError(f"outbox #{entry_id} is {entry.status}; only a failed one can be retried")
        now = store.clock.now()
        Outbox.update(status="queued", updated_at=now, next_attempt_at=None).where(Outbox.id == entry_id).execute()
    return _entry(entry_id)


def discard(store: Store, entry_id: int) -> Outbox:
    """Drop a row that will not be sent; the ticket's history keeps that it was."""
    with store.transaction():
        entry = _entry(entry_id)
        if entry.status not in ("queued", "failed"):
            raise StoreError(f"outbox #{entry_id} is {entry.status}; only a queued or failed one can be discarded")
        Outbox.delete().where(Outbox.id == entry_id).execute()
        Event.create(
            ticket=entry.ticket_id,
            at=store.clock.now(),
            actor=store.actor,
            kind="outbox_discarded",
            data={"outbox": entry.id, "kind": entry.kind, "to": entry.to_addrs},
        )
    return entry


def _entry(entry_id: int) -> Outbox:
    entry = Outbox.get_or_none(Outbox.id == entry_id)
    if entry is None:
        raise StoreError(f"no outbox entry #{entry_id}")
    return entry


def _is_due(now: datetime):
    return (Outbox.status == "queued") | ((Outbox.status == "failed") & (Outbox.next_attempt_at <= now))


def _require_no_transaction(store: Store) -> None:
    # Inside a transaction the claim would be a savepoint, not a commit: a crash could then
    # lose the mark that protects against sending twice.
    if store.db.in_transaction():
        raise RuntimeError("the outbox is sent outside any transaction")
