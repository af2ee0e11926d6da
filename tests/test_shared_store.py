"""Two sessions on one database, on SQLite and on PostgreSQL: each sees the other's changes, is
woken by them, and is not woken by the mailbox lease's heartbeat."""

from __future__ import annotations

import threading

import pytest

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
        seen = alex.data_version()
        Ingestor(sam).ingest(mail(subject="Login loop"), "test")  # on PostgreSQL its rows go in by COPY
        assert _changed(alex, seen), "new mail wakes the other session"
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


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_mail_for_a_ticket_a_rep_is_changing_waits_for_the_change_and_builds_on_it(database, config, clock, mail):
    """A batch holds the tickets it threads into as it read them: it must not read one under a
    change another session hasn't committed yet."""
    sync, rep = Store.open(database, config, clock), Store.open(database, config, clock)
    try:
        Ingestor(sync).ingest(mail(subject="Login loop", message_id="first@acme.example"), "test")
        ticket_id = Ticket.select(Ticket.id).scalar(sync.db)
        reply = mail(subject="Re: Login loop", message_id="second@acme.example", in_reply_to="first@acme.example")
        storing = threading.Thread(target=lambda: Ingestor(sync).ingest(reply, "test"))
        with rep.transaction():  # the rep's change, not committed yet
            usecases.triage(rep, ticket_id, 1)
            storing.start()
            storing.join(1.0)
            assert storing.is_alive(), "the mail waits for the change"
        storing.join(10.0)
        view = sync.view(ticket_id)
        assert (view.severity, view.message_count, view.version) == (1, 2, 2), "one version for each"
    finally:
        sync.close()
        rep.close()
