"""Ingest: threading, dedupe, replies from the support address, automated mail."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.models import Message, Ticket
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
