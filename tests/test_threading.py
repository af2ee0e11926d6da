"""Ingest: threading, dedupe, replies from the support address, automated mail."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from frontdesk.mail.ingest import Ingestor, prepare
from frontdesk.storage import usecases
from frontdesk.storage.models import Message, Ticket
from frontdesk.storage.store import Store
from frontdesk.storage.views import ticket_view

from conftest import NOW


def test_first_message_opens_a_new_ticket_for_the_customer(store, mail):
    outcome, _ = Ingestor(store).ingest(mail(message_id="q1@acme.example"), "test")
    ticket = Ticket.get()
    assert outcome == "new"
    assert (ticket.state, ticket.requester_email, ticket.customer.name) == ("new", "alice@acme.example", "Acme")
    assert ticket.requester_name == "Alice Customer"
    assert ticket.created_at == NOW


def test_replies_join_by_in_reply_to_and_support_replies_count_as_response(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(message_id="q1@acme.example"), "test")
    answer = mail(
        sender="Support <support@example.com>",
        to="alice@acme.example",
        subject="Re: Search is down",
        message_id="a1@example.com",
        in_reply_to="q1@acme.example",
        date=NOW + timedelta(hours=2),
    )
    follow_up = mail(subject="Re: Search is down", message_id="q2@acme.example", in_reply_to="a1@example.com", date=NOW + timedelta(hours=3))
    assert ingestor.ingest(answer, "test")[0] == "threaded"
    assert ingestor.ingest(follow_up, "test")[0] == "threaded"
    ticket = Ticket.get()
    assert Ticket.select().count() == 1
    assert ticket.first_response_at == NOW + timedelta(hours=2)
    assert ticket.state == "open"
    assert ticket.message_count == 3
    assert [m.direction for m in store.messages(ticket.id)] == ["in", "out", "in"]


def test_subject_token_joins_only_when_the_sender_belongs_to_the_ticket(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(), "test")
    ticket_id = Ticket.get().id
    colleague = mail(sender="carol@acme.example", subject=f"Re: Search is down [#{ticket_id}]")
    stranger = mail(sender="mallory@evil.example", subject=f"Re: Search is down [#{ticket_id}]")
    assert ingestor.ingest(colleague, "test")[0] == "threaded"
    assert ingestor.ingest(stranger, "test")[0] == "new"


def test_same_bytes_twice_is_one_message(store, mail):
    raw = mail()
    ingestor = Ingestor(store)
    assert ingestor.ingest(raw, "a")[0] == "new"
    assert ingestor.ingest(raw, "b")[0] == "duplicate"
    assert Message.select().count() == 1


def test_duplicate_delivery_with_other_received_headers_is_one_message(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(b"Received: from a.example\r\n" + mail(message_id="same@acme.example"), "a")
    assert ingestor.ingest(b"Received: from b.example\r\n" + mail(message_id="same@acme.example"), "b")[0] == "duplicate"


def test_reused_message_id_with_other_content_is_another_message(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(message_id="reused@x", subject="First", body="one"), "a")
    assert ingestor.ingest(mail(message_id="reused@x", subject="Second", body="two"), "b")[0] != "duplicate"
    assert Message.select().count() == 2


def test_without_message_id_only_identical_bytes_are_duplicates(store):
    raw = b"From: bob@acme.example\r\nSubject: no id\r\n\r\nhello\r\n"
    ingestor = Ingestor(store)
    assert ingestor.ingest(raw, "a")[0] == "new"
    assert ingestor.ingest(raw, "b")[0] == "duplicate"
    assert ingestor.ingest(raw.replace(b"hello", b"hello again"), "c")[0] == "new"


def test_a_reply_that_arrives_before_its_parent_still_threads(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(subject="Re: Helm upgrade", message_id="child@acme.example", in_reply_to="root@acme.example"), "a")
    outcome, _ = ingestor.ingest(mail(subject="Helm upgrade", message_id="root@acme.example", date=NOW - timedelta(hours=5)), "b")
    assert outcome == "threaded"
    assert Ticket.select().count() == 1
    assert Ticket.get().created_at == NOW - timedelta(hours=5)


def test_automated_mail_is_kept_but_starts_no_clock(store, mail, config, clock):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(sender="MAILER-DAEMON@mx.acme.example", subject="Undelivered Mail Returned to Sender"), "a")
    view = ticket_view(config, clock.now(), Ticket.get().id)
    assert view.automated == "bounce"
    assert view.sla.response is None and view.sla.resolution is None


def test_out_of_office_does_not_reopen_a_waiting_ticket(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(message_id="q1@acme.example"), "a")
    ticket_id = Ticket.get().id
    usecases.wait(store, ticket_id)
    ooo = mail(subject="Automatic reply: Search is down", in_reply_to="q1@acme.example", Auto_Submitted="auto-replied")
    assert ingestor.ingest(ooo, "b")[0] == "threaded"
    assert store.ticket(ticket_id).state == "waiting"


def test_customer_message_reopens_waiting_and_resolved_tickets(store, mail, clock):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(message_id="q1@acme.example"), "a")
    ticket_id = Ticket.get().id
    usecases.wait(store, ticket_id)
    clock.advance(timedelta(hours=4))
    ingestor.ingest(mail(message_id="q2@acme.example", in_reply_to="q1@acme.example", date=clock.now()), "b")
    ticket = store.ticket(ticket_id)
    assert ticket.state == "open"
    assert len(ticket.pauses) == 1 and ticket.pauses[0][1] is not None
    usecases.resolve(store, ticket_id)
    clock.advance(timedelta(hours=1))
    ingestor.ingest(mail(message_id="q3@acme.example", in_reply_to="q2@acme.example", date=clock.now()), "c")
    ticket = store.ticket(ticket_id)
    assert (ticket.state, ticket.resolved_at) == ("open", None)


def _stored_state(store) -> dict:
    """Everything storing mail decides: the tickets (due times too), each message's ticket, the events, search."""
    read = lambda sql: [tuple(row) for row in store.db.execute_sql(sql)]  # noqa: E731
    return {
        "tickets": read("SELECT * FROM ticket ORDER BY id"),
        "messages": read("SELECT id, ticket_id, direction, message_id, fingerprint FROM message ORDER BY id"),
        "events": read("SELECT id, ticket_id, at, actor, kind, data, version FROM event ORDER BY id"),
        "search": {word: sorted(store.search(word)) for word in ("exports", "outreach", "headerless")},
    }


def test_a_batch_is_stored_exactly_as_one_message_at_a_time(request, database, config, clock, mail):
    """Ingest reads what threading and dedupe need once per batch: a duplicate or a thread within
    the batch must come out as it does when each message is stored on its own."""
    headerless = mail(subject="Headerless question", sender="dora@acme.example").splitlines(True)
    without_id = b"".join(line for line in headerless if not line.startswith(b"Message-ID"))
    batch = [
        (mail(message_id="r1@acme.example", in_reply_to="q0@acme.example", date=NOW + timedelta(hours=1)), None),
        (mail(message_id="q1@acme.example", subject="Exports fail", date=NOW + timedelta(hours=2)), None),
        (mail(message_id="q1@acme.example", subject="Exports fail", date=NOW + timedelta(hours=2)), None),
        (mail(sender="Support <support@example.com>", to="alice@acme.example", subject="Re: Exports fail",
              message_id="a1@example.com", in_reply_to="q1@acme.example", date=NOW + timedelta(hours=3)), None),
        # found in the Sent folder: ours whoever sent it
        (mail(sender="Rep <rep@example.com>", to="erin@elite.example", subject="Outreach", message_id="o1@example.com"), True),
        # a reply before the message it answers
        (mail(message_id="z2@acme.example", in_reply_to="z1@acme.example", subject="Re: Slow", date=NOW + timedelta(hours=5)),
         None),
        (mail(message_id="z1@acme.example", subject="Slow", date=NOW + timedelta(hours=4)), None),
        (mail(sender="carol@acme.example", subject="Re: Exports fail [#2]", date=NOW + timedelta(hours=6)), None),
        (mail(sender="mallory@evil.example", subject="Re: Exports fail [#2]", date=NOW + timedelta(hours=6)), None),
        (without_id, None),
        (without_id, None),
    ]
    states, outcomes = [], []
    for other_database, per_call in ((database, len(batch)), (_another(request, database), 1)):
        store = Store.open(other_database, config, clock)
        try:
            ingestor = Ingestor(store)
            ingestor.ingest(mail(message_id="q0@acme.example"), "before")
            usecases.resolve(store, Ticket.get().id)
            prepared = [(prepare(raw, "batch", None, NOW), outbound) for raw, outbound in batch]
            stored = []
            for start in range(0, len(prepared), per_call):
                with store.transaction():
                    stored += ingestor.store_prepared(prepared[start : start + per_call])
            outcomes.append(stored)
            states.append(_stored_state(store))
        finally:
            store.close()
    assert outcomes[0] == [
        "threaded", "new", "duplicate", "threaded", "new", "new", "threaded", "threaded", "new", "new", "duplicate",
    ]
    assert outcomes[0] == outcomes[1]
    assert states[0] == states[1]
    assert states[0]["search"] == {"exports": [2, 5], "outreach": [3], "headerless": [6]}


def _another(request, database):
    """A second empty database on the same backend."""
    if isinstance(database, Path):
        return database.with_name("one_at_a_time.db")
    return request.getfixturevalue("postgres_server").new_database()
