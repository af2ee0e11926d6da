"""The store: schema, the rep's actions, the event log and the outbox."""

from __future__ import annotations

import logging
import sqlite3
import struct
import threading
from datetime import timedelta

import pytest
from peewee import IntegrityError

from frontdesk.mail.ingest import Ingestor, prepare
from frontdesk.storage import usecases
from frontdesk.storage.config import load_config
from frontdesk.storage.fulltext import search_vector
from frontdesk.storage.migrations import SCHEMA_VERSION, schema_version
from frontdesk.storage.models import MODELS, Event, Message, Ticket
from frontdesk.storage.store import Store, StoreError, reply_subject
from frontdesk.storage.views import TicketView, next_due, ticket_view, views_where

from conftest import NOW


@pytest.fixture
def ticket_id(store, mail) -> int:
    Ingestor(store).ingest(mail(message_id="q1@acme.example", sender="Doe, Alice <alice@acme.example>"), "test")
    return Ticket.get().id


def test_schema_is_current_and_matches_the_models(store):
    db = store.db
    assert schema_version(db) == SCHEMA_VERSION
    if not store.on_postgres:
        assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    search_index = {"search"} if store.on_postgres else set()  # PostgreSQL keeps it on the message and event rows
    for model in MODELS:
        columns = {column.name for column in db.get_columns(model._meta.table_name)}
        extra = search_index if model in (Message, Event) else set()
        assert columns == {field.column_name for field in model._meta.sorted_fields} | extra, model.__name__


def test_open_tickets_come_most_urgent_first_whatever_due_times_the_rows_keep(store, mail, clock):
    """The load reads the tickets by the due time each row keeps, in batches, so that its sort has
    little left to do; the order is still the clocks' own when a kept due time is stale."""
    ingestor = Ingestor(store)
    for number in range(150):  # more than two of the load's batches
        ingestor.ingest(mail(subject=f"Question {number}", date=NOW - timedelta(hours=number * 7 % 100)), "test")
    for ticket_id in range(1, 151):
        if ticket_id % 3:
            usecases.triage(store, ticket_id, ticket_id % 3)
    usecases.wait(store, 5)
    usecases.resolve(store, 6)
    unsorted = views_where(store.config, clock.now(), Ticket.state != "resolved")

    def most_urgent_first() -> list[int]:
        # Equally urgent: the older first (business-day clocks of mail from one weekend end together).
        return [view.id for view in sorted(unsorted, key=lambda view: (view.urgency(), view.created_at, view.id))]

    assert len(unsorted) == 149
    assert [view.id for view in store.views()] == most_urgent_first()
    # Kept due times that are wrong (the times the tickets came in), or none at all.
    store.db.execute_sql("UPDATE ticket SET next_due_at = created_at")
    assert [view.id for view in store.views()] == most_urgent_first()
    store.db.execute_sql("UPDATE ticket SET next_due_at = NULL")
    assert [view.id for view in store.views()] == most_urgent_first()


def test_a_newer_schema_is_refused_with_a_reason(tmp_path, config, clock):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer than this frontdesk knows"):
        Store.open(path, config, clock)


def test_a_file_that_is_not_a_database_is_refused(tmp_path, config, clock):
    path = tmp_path / "notes.db"
    path.write_bytes(b"these are my notes, not a database" * 100)
    with pytest.raises(StoreError, match="cannot open the database"):
        Store.open(path, config, clock)


def test_opening_the_store_does_not_wait_for_another_sessions_write(tmp_path, config, clock, mail):
    """A sync's batch holds SQLite's write lock; an inbox opening meanwhile only reads, since an
    upgrade, a new config or new built-in snippets are all it would write."""
    path = tmp_path / "tickets.db"
    first = Store.open(path, config, clock)
    Ingestor(first).ingest(mail(subject="Login loop"), "test")
    first.close()
    writer = sqlite3.connect(path)
    writer.execute("BEGIN IMMEDIATE")
    opened: list[Store] = []
    try:
        opening = threading.Thread(target=lambda: opened.append(Store.open(path, config, clock)))
        opening.start()
        opening.join(10.0)  # the store's busy timeout is 30 s
        assert opened, "opening waited for the write lock"
        assert [view.subject for view in opened[0].first_screen()] == ["Login loop"]
    finally:
        writer.rollback()
        writer.close()
        opening.join()
        for store in opened:
            store.close()


def test_triage_and_hand_off_are_logged(store, ticket_id):
    usecases.triage(store, ticket_id, 1)
    usecases.assign(store, ticket_id, "Bob@Example.com", note="helm upgrade loop")
    ticket = store.ticket(ticket_id)
    assert (ticket.severity, ticket.owner.email) == (1, "bob@example.com")
    kinds = [(e.kind, e.actor) for e in store.events(ticket_id)]
    assert ("severity", "Dana Rep") in kinds and ("owner", "Dana Rep") in kinds
    assert store.events(ticket_id)[-1].data == {"from": None, "to": "bob@example.com", "note": "helm upgrade loop", "before": {"owner": None}}


def test_unknown_owner_says_where_owners_come_from(store, ticket_id):
    with pytest.raises(StoreError, match=r"add them under \[\[owners\]\].*bob@example.com"):
        usecases.assign(store, ticket_id, "nobody@example.com")


def test_unknown_ticket(store):
    with pytest.raises(StoreError, match="no ticket #99"):
        usecases.triage(store, 99, 1)


def test_the_event_log_is_append_only(store, ticket_id):
    with pytest.raises(IntegrityError, match="append-only"):
        Event.update(actor="someone else").execute()
    with pytest.raises(IntegrityError, match="append-only"):
        Event.delete().execute()


def test_waiting_pauses_the_resolution_clock(store, ticket_id, config, clock):
    usecases.triage(store, ticket_id, 1)
    due_before = ticket_view(config, clock.now(), ticket_id).sla.resolution.due_at
    usecases.wait(store, ticket_id)
    clock.advance(timedelta(hours=10))
    paused = ticket_view(config, clock.now(), ticket_id).sla.resolution
    assert paused.status == "paused"
    usecases.reopen(store, ticket_id)
    running = ticket_view(config, clock.now(), ticket_id).sla.resolution
    assert running.status == "ok"
    assert running.due_at == due_before + timedelta(hours=10)


def test_resolve_then_reopen(store, ticket_id, clock):
    usecases.resolve(store, ticket_id)
    assert store.ticket(ticket_id).resolved_at == NOW
    with pytest.raises(StoreError, match="already resolved"):
        usecases.resolve(store, ticket_id)
    clock.advance(timedelta(hours=1))
    usecases.reopen(store, ticket_id)
    ticket = store.ticket(ticket_id)
    assert (ticket.state, ticket.resolved_at) == ("new", None), "nobody has answered it yet"


def test_only_waiting_or_resolved_tickets_reopen(store, ticket_id):
    with pytest.raises(StoreError, match="only a waiting or resolved ticket can be reopened"):
        usecases.reopen(store, ticket_id)


def test_queued_reply_threads_and_carries_the_ticket_token(store, ticket_id):
    body = store.render_snippet(ticket_id, "ack")
    [entry] = usecases.acknowledge(store, ticket_id).outbox
    assert (entry.kind, entry.body) == ("ack", body)
    assert body.startswith("Hi Alice,") and f"#{ticket_id}" in body and body.endswith("Dana Rep")
    assert entry.subject == f"Re: Search is down [#{ticket_id}]"
    assert (entry.in_reply_to, entry.refs, entry.to_addrs) == ("q1@acme.example", ["q1@acme.example"], ["alice@acme.example"])
    assert entry.message_id.endswith("@example.com")
    assert store.events(ticket_id)[-1].kind == "reply_queued"


def test_a_snippet_never_goes_out_with_an_empty_placeholder(store, ticket_id):
    with pytest.raises(StoreError, match="needs owner_name, owner_team"):
        store.render_snippet(ticket_id, "handoff")
    usecases.assign(store, ticket_id, "bob@example.com")
    assert "Bob Example (Distribution)" in store.render_snippet(ticket_id, "handoff")


def test_empty_reply_is_refused(store, ticket_id):
    with pytest.raises(StoreError, match="empty"):
        usecases.reply(store, ticket_id, "  \n")


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Search is down", "Re: Search is down [#7]"),
        ("Re: Search is down [#7]", "Re: Search is down [#7]"),
        ("RE:Search", "RE:Search [#7]"),
        ("", "Re: your request [#7]"),
    ],
)
def test_reply_subject(subject, expected):
    assert reply_subject(7, subject) == expected


def test_customers_added_to_the_config_later_claim_their_old_tickets(tmp_path, database, store, mail, clock):
    Ingestor(store).ingest(mail(sender="zed@newco.example"), "test")
    assert Ticket.get().customer is None
    store.close()
    extended = tmp_path / "more.toml"
    extended.write_text((tmp_path / "config.toml").read_text() + '\n[[customers]]\nname = "NewCo"\ndomains = ["newco.example"]\n')
    reopened = Store.open(database, load_config(extended), clock)
    assert Ticket.get().customer.name == "NewCo"
    reopened.close()


def test_search_finds_words_in_messages_requesters_and_customers(store, mail):
    ingestor = Ingestor(store)
    ingestor.ingest(mail(subject="Helm upgrade hangs", body="The pre-upgrade hook never finishes."), "t")
    ingestor.ingest(mail(subject="Licence question", sender="Eve <eve@elite.example>", body="How many seats?"), "t")
    helm, licence = 1, 2
    assert store.search("pre-upgr") == [helm]
    assert store.search("HOOK never") == [helm]
    assert store.search("elite") == [licence]
    assert store.search('seats" OR *') == [], "search syntax typed by the user is taken as words"
    assert store.search("   ") == []


def test_a_message_with_more_words_than_an_index_holds_is_stored_with_the_rest_of_its_batch(store, mail):
    # About 1 MB of distinct words: more than PostgreSQL's 1 MB tsvector, which used to fail the batch.
    words = " ".join(f"w{index}z" for index in range(130_000))
    dump = mail(subject="Log dump", body=f"{'a' * 3000} {words}", message_id="dump@acme.example")
    after = mail(subject="Second question", body="Unrelated words here.", message_id="after@acme.example")
    summary = list(Ingestor(store).ingest_all([("t", dump), ("t", after)]))[-1]
    assert summary.new_tickets == 2
    dump_ticket, after_ticket = 1, 2
    assert store.search("w5z") == [dump_ticket] and store.search("w5z w40000z") == [dump_ticket]
    assert store.search("unrelated") == [after_ticket]
    assert store.search("a" * 3000) == [], "a word too long for an index is not searched for"


def tsvector_words(binary: bytes) -> dict[str, list[int]]:
    """tsvector's binary form (PostgreSQL's tsvectorsend and tsvectorrecv) read back: each word and its positions."""
    (count,), at, words = struct.unpack_from(">i", binary), 4, {}
    for _ in range(count):
        end = binary.index(b"\0", at)
        (positions,) = struct.unpack_from(">H", binary, end + 1)
        words[binary[at:end].decode()] = list(struct.unpack_from(f">{positions}H", binary, end + 3))
        at = end + 3 + 2 * positions
    assert at == len(binary), "nothing after the last word"
    return words


def test_search_words_are_numbered_for_phrases_and_kept_within_what_an_index_holds():
    assert tsvector_words(search_vector("Grüße, grüße! Re-index_now")) == {"grüße": [1, 2], "re": [3], "index": [4], "now": [5]}
    kept = tsvector_words(search_vector(f"start {'x' * 2047} middle"))
    assert kept == {"start": [1], "middle": [3]}, "a word too long to index is left out; the count goes on"
    many = tsvector_words(search_vector(" ".join(f"w{index}" for index in range(200_000))))
    assert list(many)[:2] == ["w0", "w1"] and many["w1"] == [2] and "w199999" not in many, "the first words, up to 1 MB"
    assert many["w16382"] == [16383] == many["w20000"], "a word past position 16383 is at 16383"
    often = tsvector_words(search_vector("ping " * 300 + "x " * 16100 + "late late"))
    assert often["ping"] == list(range(1, 257)), "at most 256 positions a word"
    assert often["late"] == [16383], "one position past 16383, however many words are there"
    assert tsvector_words(search_vector("")) == {} == tsvector_words(search_vector("-- ... __"))


def test_search_finds_internal_notes_and_hand_off_notes_but_not_undone_ones(store, mail):
    ingestor = Ingestor(store)
    for subject in ("Search is slow", "Login fails", "Billing question"):
        ingestor.ingest(mail(subject=subject, body="Please help."), "t")
    slow, login, billing = 1, 2, 3
    usecases.note(store, slow, "Zoekt shards rebuilding on the customer's instance")
    usecases.assign(store, login, "bob@example.com", note="SAML assertion expired; see Okta logs")
    usecases.note(store, billing, "Okta renewal pending")
    assert store.search("zoekt") == [slow]
    assert store.search("rebuild shards") == [slow], "every word, in any order, the last one a prefix"
    assert sorted(store.search("okta")) == [login, billing]
    assert store.search("saml assert") == [login]
    usecases.undo(store, billing)
    assert store.search("okta") == [login], "a withdrawn note is not found"


def test_notes_and_drafts(store, ticket_id):
    usecases.note(store, ticket_id, "Customer is on 5.1, known bug")
    assert store.events(ticket_id)[-1].data == {"text": "Customer is on 5.1, known bug"}
    store.save_draft(ticket_id, "Hi Alice,\n\nWe")
    assert store.draft(ticket_id) == "Hi Alice,\n\nWe"
    store.save_draft(ticket_id, "Hi Alice,\n\nWe found it.")
    assert store.draft(ticket_id) == "Hi Alice,\n\nWe found it."
    store.save_draft(ticket_id, "")
    assert store.draft(ticket_id) is None


def test_a_reply_keeps_everyone_the_customer_copied(store, mail):
    raw = mail(to="support@example.com, Bob <bob@acme.example>", Cc="carol@acme.example, Support <support@example.com>")
    Ingestor(store).ingest(raw, "t")
    [entry] = usecases.reply(store, 1, "On it.").outbox
    assert (entry.to_addrs, entry.cc_addrs) == (["alice@acme.example"], ["bob@acme.example", "carol@acme.example"])


def test_the_teams_snippet_folder_is_loaded_and_refreshed(tmp_path, snippet_folder, clock, mail):
    with_folder, folder = snippet_folder
    store = Store.open(tmp_path / "s.db", load_config(with_folder), clock)
    Ingestor(store).ingest(mail(), "t")
    assert "Please restart the indexer." in store.render_snippet(1, "restart")
    store.close()
    (folder / "restart.md").write_text("# Restart the indexer\n\nHi {first_name}, restart it please.\n")
    store = Store.open(tmp_path / "s.db", load_config(with_folder), clock)
    assert store.render_snippet(1, "restart") == "Hi Alice, restart it please."
    store.close()


def test_due_times_kept_for_the_first_screen_match_the_clock(demo_store):
    """Every change keeps ticket.next_due_at equal to what evaluating the ticket says."""
    for view in demo_store.views(include_resolved=True):
        stored = Ticket.get_by_id(view.id).next_due_at
        assert stored == (None if view.state == "resolved" else next_due(view.sla)), view.id
    first = demo_store.first_screen(limit=5)
    assert [v.id for v in first] == [v.id for v in demo_store.views() if next_due(v.sla)][:5]


def test_the_first_screen_walks_the_due_time_index_instead_of_sorting_every_open_ticket(tmp_path, config, clock, mail, caplog):
    store = Store.open(tmp_path / "tickets.db", config, clock)
    Ingestor(store).ingest(mail(), "t")
    caplog.set_level(logging.DEBUG, logger="peewee")
    assert store.first_screen(limit=5)
    sql, params = next(record.msg for record in caplog.records if "next_due_at" in record.msg[0])
    plan = " ".join(row[3] for row in store.db.execute_sql(f"EXPLAIN QUERY PLAN {sql}", params))
    store.close()
    assert "USING INDEX ticket_next_due" in plan and "TEMP B-TREE" not in plan, plan


def test_due_times_are_computed_again_when_the_sla_settings_change(tmp_path, database, store, mail, clock):
    Ingestor(store).ingest(mail(sender="eve@elite.example"), "t")
    assert Ticket.get().next_due_at == NOW + timedelta(hours=4)  # elite: 4h response
    store.close()
    slower = tmp_path / "slower.toml"
    slower.write_text((tmp_path / "config.toml").read_text().replace('response = "4h"', 'response = "6h"'))
    reopened = Store.open(database, load_config(slower), clock)
    assert Ticket.get().next_due_at == NOW + timedelta(hours=6)
    reopened.close()


def test_due_times_written_by_a_batch_of_mail_match_the_views(store, mail, clock, config):
    """A batch works its tickets' due times out as it holds them; the views read back must agree."""
    ingest = Ingestor(store)
    opened = {}
    for name, sender in [("waiting", "bo@elite.example"), ("resolved", "cy@acme.example"), ("ours", "di@elite.example")]:
        ingest.ingest(mail(subject=name, sender=sender, message_id=f"{name}@x.example"), "test")
        opened[name] = Ticket.get(Ticket.subject == name).id
    usecases.triage(store, opened["waiting"], 1)  # elite sev1: a resolution clock, paused while waiting
    # Answered: its resolution clock is the one running, which the pause moves
    ingest.ingest(mail(sender="support@example.com", to="bo@elite.example", in_reply_to="waiting@x.example"), "test")
    usecases.wait(store, opened["waiting"])
    usecases.resolve(store, opened["resolved"])
    clock.advance(timedelta(hours=3))
    replies = [
        mail(sender="bo@elite.example", in_reply_to="waiting@x.example"),  # ends the pause
        mail(sender="cy@acme.example", in_reply_to="resolved@x.example"),  # reopens: a pause over the gap
        mail(sender="support@example.com", to="di@elite.example", in_reply_to="ours@x.example"),  # first response
        mail(subject="new and then answered", sender="ed@elite.example", message_id="new@x.example"),
        mail(sender="support@example.com", to="ed@elite.example", in_reply_to="new@x.example"),
        mail(subject="out of office", sender="fay@acme.example", Auto_Submitted="auto-replied"),
        mail(subject=f"Re: waiting [#{opened['waiting']}]", sender="bo@elite.example"),
    ]
    with store.transaction():
        ingest.store_prepared([(prepare(raw, "test", clock.now(), clock.now()), None) for raw in replies])
    views = store.views(include_resolved=True)
    assert len(views) == 5
    assert any(view.automated for view in views) and any(view.sla.resolution for view in views)
    for view in views:
        expected = None if view.state == "resolved" else next_due(view.sla)
        assert Ticket.get_by_id(view.id).next_due_at == expected, view.id


def test_batches_stored_at_once_by_two_sessions_number_their_tickets_in_order_without_gaps(store, mail, clock):
    """Each batch's new tickets get the next ids in a row, in the order their mail came, whatever
    another session stores meanwhile (PostgreSQL: the sequence taken a batch at a time)."""
    batches, size = 6, 15
    start = threading.Barrier(2)

    def sync(session: str) -> None:
        ingest = Ingestor(store)
        try:
            for batch in range(batches):
                records = [
                    prepare(mail(subject=f"{session} {batch} {n:02d}"), "test", clock.now(), clock.now())
                    for n in range(size)
                ]
                start.wait()
                with store.transaction():
                    ingest.store_prepared([(record, None) for record in records])
        except BaseException:
            start.abort()  # the other session stops waiting for this one; the ids below tell what went wrong
            raise
        finally:
            store.release()

    workers = [threading.Thread(target=sync, args=(session,)) for session in ("sam", "alex")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    numbered = sorted(Ticket.select(Ticket.id, Ticket.subject).tuples())
    assert [ticket_id for ticket_id, _ in numbered] == list(range(1, 2 * batches * size + 1))
    by_batch: dict[str, list[tuple[int, str]]] = {}
    for ticket_id, subject in numbered:
        by_batch.setdefault(subject.rsplit(" ", 1)[0], []).append((ticket_id, subject))
    assert len(by_batch) == 2 * batches
    for tickets in by_batch.values():
        ids = [ticket_id for ticket_id, _ in tickets]
        assert ids == list(range(ids[0], ids[0] + size)), tickets
        assert [subject for _, subject in tickets] == sorted(subject for _, subject in tickets)
