"""Two sessions on one database, on SQLite and on PostgreSQL: each sees the other's changes, is
woken by them, and is not woken by the mailbox lease's heartbeat."""

from __future__ import annotations

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.lease import Lease
from frontdesk.storage.models import Ticket
from frontdesk.storage.store import Store

from conftest import wait_until


def _changed(store: Store, seen: int, seconds: float = 10.0) -> bool:
    return wait_until(lambda: store.data_version() != seen, seconds)


def test_two_sessions_see_and_are_woken_by_each_others_changes(database, config, clock, mail):
    sam, alex = Store.open(database, config, clock), Store.open(database, config, clock)
    sam.watch_changes()
    alex.watch_changes()
    try:
        Ingestor(sam).ingest(mail(subject="Login loop"), "test")
        ticket_id = Ticket.select(Ticket.id).scalar(sam.db)
        seen = alex.data_version()
        usecases.triage(sam, ticket_id, 1)
        assert _changed(alex, seen)
        assert alex.view(ticket_id).severity == 1
        seen = sam.data_version()
        usecases.note(alex, ticket_id, "asked for logs")
        assert _changed(sam, seen)
        assert [event.kind for event in sam.events(ticket_id)][-2:] == ["severity", "note"]
    finally:
        sam.close()
        alex.close()


def test_the_mailbox_heartbeat_wakes_nobody(database, config, clock):
    holder, inbox = Store.open(database, config, clock), Store.open(database, config, clock)
    try:
        inbox.watch_changes()
        lease = Lease(holder)
        assert lease.acquire()
        seen = inbox.data_version()
        for _ in range(3):
            assert lease.renew()
        assert not _changed(inbox, seen, seconds=1.0), "a heartbeat is not a change to show"
        lease.release()
    finally:
        holder.close()
        inbox.close()
