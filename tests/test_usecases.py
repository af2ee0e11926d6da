"""The use cases (storage/usecases.py), on SQLite and on PostgreSQL: each change is one transaction,
is applied against the ticket as its author saw it, is told instead of lost when someone else got
there first, and can be undone exactly."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import outbox, usecases
from frontdesk.storage.config import Person, ServerConfig
from frontdesk.storage.errors import Conflict, StoreError
from frontdesk.storage.handoff import HANDOFF
from frontdesk.storage.history import describe
from frontdesk.storage.models import Event, Outbox, Ticket
from frontdesk.storage.store import Store

from conftest import NOW, as_someone_else, run_at_once

SMTP = ServerConfig(host="smtp.example.com", port=587, security="starttls")


@pytest.fixture
def ticket_id(store, mail) -> int:
    """A new ticket from Acme, untriaged and unanswered, that arrived at NOW."""
    Ingestor(store).ingest(mail(message_id="q1@acme.example", sender="Alice <alice@acme.example>"), "test")
    return Ticket.get().id


def row(ticket_id: int) -> dict:
    """Everything the ticket row holds."""
    return Ticket.select().where(Ticket.id == ticket_id).dicts().get()


def history(store: Store, ticket_id: int) -> list[tuple[str, str, int | None]]:
    return [(event.kind, event.actor, event.version) for event in store.events(ticket_id)]


# --- one transaction each --------------------------------------------------------------------


CHANGES: dict[str, Callable[[Store, int], usecases.Done]] = {
    "triage": lambda store, t: usecases.triage(store, t, 1),
    "assign": lambda store, t: usecases.assign(store, t, "bob@example.com", "yours"),
    "acknowledge": usecases.acknowledge,
    "reply": lambda store, t: usecases.reply(store, t, "On it."),
    "note": lambda store, t: usecases.note(store, t, "customer on 5.1"),
    "wait": usecases.wait,
    "resolve": usecases.resolve,
}


@pytest.mark.parametrize("change", CHANGES, ids=str)
def test_a_change_that_fails_halfway_leaves_nothing_behind(store, ticket_id, change, monkeypatch):
    store.config = replace(store.config, smtp=SMTP)  # a hand-off queues its email too
    store.save_draft(ticket_id, "Hi Alice, half a thought")
    before, events = row(ticket_id), history(store, ticket_id)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")  # the last step of every change: its event

    monkeypatch.setattr(Event, "insert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        CHANGES[change](store, ticket_id)
    monkeypatch.undo()

    assert row(ticket_id) == before
    assert history(store, ticket_id) == events
    assert store.outbox() == [] and store.draft(ticket_id) == "Hi Alice, half a thought"


def test_an_owner_is_never_assigned_without_the_notification(store, ticket_id):
    support = replace(store.config.support, address=None)
    store.config = replace(store.config, smtp=SMTP, support=support)
    before = row(ticket_id)

    with pytest.raises(StoreError, match=r"no support address configured to email the owner from: set address under \[support\]"):
        usecases.assign(store, ticket_id, "bob@example.com")

    assert row(ticket_id) == before and store.outbox() == []
    assert [kind for kind, _, _ in history(store, ticket_id)] == ["created"]


def test_a_hand_off_queues_its_notification_in_the_same_change(store, ticket_id):
    store.config = replace(store.config, smtp=SMTP)
    done = usecases.assign(store, ticket_id, "bob@example.com", "yours")
    [entry] = done.outbox
    assert (entry.kind, entry.to_addrs, entry.actor) == (HANDOFF, ["bob@example.com"], "Dana Rep")
    assert done.said == "is now owned by Bob Example <bob@example.com> (notified through the outbox)"
    handoff = store.events(ticket_id)[-1]
    assert (handoff.kind, handoff.data["outbox"], handoff.version) == ("owner", [entry.id], done.ticket.version)


def test_every_change_bumps_the_version_and_logs_it(store, ticket_id):
    assert row(ticket_id)["version"] == 0
    seen = 0
    for change in CHANGES.values():
        seen = change(store, ticket_id).ticket.version if change is not usecases.resolve else seen
    assert seen == 6
    assert history(store, ticket_id)[-6:] == [
        ("severity", "Dana Rep", 1),
        ("owner", "Dana Rep", 2),
        ("reply_queued", "Dana Rep", 3),
        ("reply_queued", "Dana Rep", 4),
        ("note", "Dana Rep", 5),
        ("state", "Dana Rep", 6),
    ]


def test_the_same_severity_again_changes_nothing(store, ticket_id):
    usecases.triage(store, ticket_id, 2)
    done = usecases.triage(store, ticket_id, 2, version=1)
    assert (done.said, done.ticket.version, len(store.events(ticket_id))) == ("is already severity 2", 1, 2)
    assert not done.changed, "nothing for undo to take back"


# --- applied against what the rep saw ---------------------------------------------------------


def test_a_stale_version_is_refused_and_says_who_changed_what(store, ticket_id):
    sam = as_someone_else(store)
    seen = store.view(ticket_id).version
    usecases.triage(sam, ticket_id, 1, version=seen)
    before = row(ticket_id)

    with pytest.raises(Conflict) as refused:
        usecases.resolve(store, ticket_id, version=seen)

    assert str(refused.value) == f"#{ticket_id} changed since you looked: severity set to 1 by Sam Lee at 15:00; nothing was changed"
    assert (refused.value.ticket_id, refused.value.version) == (ticket_id, seen + 1)
    assert row(ticket_id) == before
    usecases.resolve(store, ticket_id, version=refused.value.version)  # looked again: it goes through
    assert store.ticket(ticket_id).state == "resolved"


def test_a_conflict_names_the_latest_changes_in_one_line(store, ticket_id, clock):
    sam = as_someone_else(store)
    for severity in (1, 2, 1, 2):
        clock.advance(timedelta(minutes=1))
        usecases.triage(sam, ticket_id, severity)
    clock.advance(timedelta(days=1))
    with pytest.raises(Conflict) as refused:
        usecases.note(store, ticket_id, "hello", version=0)
    assert str(refused.value) == (
        f"#{ticket_id} changed since you looked: 1 earlier changes, severity set to 2 by Sam Lee at Wed 25 Nov 15:02, "
        "severity set to 1 by Sam Lee at Wed 25 Nov 15:03, severity set to 2 by Sam Lee at Wed 25 Nov 15:04; nothing was changed"
    )


def test_two_sessions_on_one_database_one_resolves_the_others_triage_is_refused(store, database, config, clock, ticket_id):
    other = Store.open(database, config, clock)  # a second rep's inbox on the same database
    other.actor = "Sam Lee"
    try:
        mine, theirs = store.view(ticket_id), other.view(ticket_id)
        assert mine.version == theirs.version == 0

        usecases.resolve(store, ticket_id, version=mine.version)
        with pytest.raises(Conflict, match=rf"^#{ticket_id} changed since you looked: new → resolved by Dana Rep at 15:00; nothing was changed$"):
            usecases.triage(other, ticket_id, 1, version=theirs.version)

        assert other.view(ticket_id).severity is None
        assert history(other, ticket_id)[1:] == [("state", "Dana Rep", 1)], "the log shows exactly what happened"
    finally:
        other.close()


@pytest.mark.parametrize("seen", [0, None], ids=["as-seen", "as-it-is-now"])
def test_of_many_reps_resolving_at_the_same_moment_exactly_one_does(store, ticket_id, seen):
    reps = [as_someone_else(store, f"Rep {n}") for n in range(8)]
    results = run_at_once([store], [lambda rep=rep: usecases.resolve(rep, ticket_id, version=seen) for rep in reps])

    done = [result for result in results if isinstance(result, usecases.Done)]
    refused = [result for result in results if isinstance(result, StoreError)]
    assert (len(done), len(refused)) == (1, 7), results
    if seen is None:
        assert all(str(error) == f"ticket #{ticket_id} is already resolved" for error in refused)
    else:
        assert all(isinstance(error, Conflict) for error in refused)
        winner = done[0].ticket
        assert all(f"new → resolved by {store.events(ticket_id)[-1].actor} at" in str(error) for error in refused)
        assert winner.version == 1
    states = [event for event in store.events(ticket_id) if event.kind == "state"]
    assert len(states) == 1 and store.ticket(ticket_id).version == 1


def test_triage_assign_and_resolve_at_the_same_moment_one_wins(store, ticket_id):
    attempts = [
        lambda: usecases.triage(as_someone_else(store, "Ann"), ticket_id, 1, version=0),
        lambda: usecases.assign(as_someone_else(store, "Ben"), ticket_id, "bob@example.com", version=0),
        lambda: usecases.resolve(as_someone_else(store, "Cat"), ticket_id, version=0),
        lambda: usecases.note(as_someone_else(store, "Dan"), ticket_id, "looking", version=0),
    ]
    results = run_at_once([store], attempts)
    assert sum(isinstance(result, usecases.Done) for result in results) == 1, results
    assert sum(isinstance(result, Conflict) for result in results) == 3
    people = [event for event in store.events(ticket_id) if event.version is not None]
    assert len(people) == 1 and people[0].version == 1 == store.ticket(ticket_id).version


# --- undo -----------------------------------------------------------------------------------------


def answered(store: Store, mail) -> None:
    """Our answer to ticket 1, as found in the Sent folder: the ticket is open."""
    raw = mail(sender="support@example.com", to="alice@acme.example", in_reply_to="q1@acme.example")
    Ingestor(store).ingest(raw, "sent")


SETUPS: dict[str, Callable] = {
    "new": lambda store, mail, clock: None,
    "open": lambda store, mail, clock: answered(store, mail),
    "resolved an hour ago": lambda store, mail, clock: (usecases.resolve(store, 1), clock.advance(timedelta(hours=1))),
    "waiting an hour": lambda store, mail, clock: (answered(store, mail), usecases.wait(store, 1), clock.advance(timedelta(hours=1))),
}
UNDONE = [
    ("new", "triage", lambda store: usecases.triage(store, 1, 2)),
    ("new", "assign", lambda store: usecases.assign(store, 1, "bob@example.com", "please look")),
    ("new", "take", lambda store: usecases.take(store, 1)),
    ("new", "resolve", lambda store: usecases.resolve(store, 1)),
    ("open", "wait", lambda store: usecases.wait(store, 1)),
    ("open", "resolve", lambda store: usecases.resolve(store, 1)),
    ("resolved an hour ago", "reopen", lambda store: usecases.reopen(store, 1)),
    ("waiting an hour", "reopen", lambda store: usecases.reopen(store, 1)),
    ("waiting an hour", "resolve", lambda store: usecases.resolve(store, 1)),
    ("new", "note", lambda store: usecases.note(store, 1, "customer on 5.1")),
    ("new", "acknowledge", lambda store: usecases.acknowledge(store, 1)),
]


@pytest.mark.parametrize(("setup", "action", "change"), UNDONE, ids=[f"{a}-from-{s}" for s, a, _ in UNDONE])
def test_undo_restores_exactly_what_the_last_change_replaced(store, ticket_id, mail, clock, setup, action, change):
    store.config = replace(store.config, smtp=SMTP, me=Person("Bob Example", "bob@example.com"))
    SETUPS[setup](store, mail, clock)
    clock.advance(timedelta(minutes=5))
    before, outbox, draft = row(ticket_id), store.outbox(), store.draft(ticket_id)

    done = change(store)
    assert row(ticket_id) != before or action in ("note", "acknowledge")
    clock.advance(timedelta(minutes=1))
    undone = usecases.undo(store, ticket_id, version=done.ticket.version)

    after = row(ticket_id)
    assert after.pop("version") == before.pop("version") + 2
    assert after == before, "severity, owner, state, pauses, resolved_at: all as they were"
    assert store.outbox() == outbox and store.draft(ticket_id) == draft, "a queued message or notification is taken back"
    event, undo = store.events(ticket_id)[-2:]
    assert (undo.kind, undo.data["undid"], undo.version) == ("undo", event.id, undone.ticket.version)
    assert undone.said.startswith("is back as it was before “")


def test_an_undone_reply_goes_back_to_being_the_draft(store, ticket_id):
    usecases.reply(store, ticket_id, "Hi Alice, it is fixed.")
    assert store.draft(ticket_id) is None
    usecases.undo(store, ticket_id)
    assert store.outbox() == [] and store.draft(ticket_id) == "Hi Alice, it is fixed."


def test_undo_takes_back_changes_in_turn_and_never_what_mail_did(store, ticket_id, mail):
    usecases.triage(store, ticket_id, 1)
    usecases.wait(store, ticket_id)
    usecases.undo(store, ticket_id)
    assert (store.ticket(ticket_id).state, store.ticket(ticket_id).severity) == ("new", 1)
    usecases.undo(store, ticket_id)
    assert store.ticket(ticket_id).severity is None
    with pytest.raises(StoreError, match=rf"^nothing to undo on #{ticket_id}: its last change \(ticket opened\) can't be undone$"):
        usecases.undo(store, ticket_id)

    usecases.triage(store, ticket_id, 2)
    Ingestor(store).ingest(mail(message_id="q2@acme.example", in_reply_to="q1@acme.example"), "test")
    with pytest.raises(StoreError, match=r"its last change \(customer wrote again\) can't be undone"):
        usecases.undo(store, ticket_id)
    assert store.ticket(ticket_id).severity == 2


def test_undo_is_refused_when_someone_changed_the_ticket_since(store, ticket_id):
    mine = usecases.resolve(store, ticket_id)
    usecases.note(as_someone_else(store), ticket_id, "don't, they call back at 4")
    with pytest.raises(Conflict, match="note: don't, they call back at 4 by Sam Lee at 15:00; nothing was changed"):
        usecases.undo(store, ticket_id, version=mine.ticket.version)
    assert store.ticket(ticket_id).state == "resolved"


def test_a_reply_that_has_left_cannot_be_taken_back(store, ticket_id):
    [entry] = usecases.reply(store, ticket_id, "On it.").outbox
    Outbox.update(status="sent", sent_at=NOW).where(Outbox.id == entry.id).execute()
    with pytest.raises(StoreError, match=rf"the reply on #{ticket_id} has already been sent; it can't be taken back"):
        usecases.undo(store, ticket_id)
    assert [e.status for e in store.outbox()] == ["sent"]


def test_undo_shows_in_the_history(store, ticket_id):
    usecases.resolve(store, ticket_id)
    usecases.undo(store, ticket_id)
    assert describe(store.events(ticket_id)[-1]) == "undid “new → resolved”"


@pytest.mark.parametrize("setup", ["new", "open"])
@pytest.mark.parametrize("away", [usecases.wait, usecases.resolve], ids=["waiting", "resolved"])
def test_reopening_puts_a_ticket_nobody_answered_back_to_new(store, ticket_id, mail, clock, setup, away):
    SETUPS[setup](store, mail, clock)
    away(store, ticket_id)
    done = usecases.reopen(store, ticket_id)
    assert (done.ticket.state, done.said) == (
        ("new", "is new again: nobody has answered it yet") if setup == "new" else ("open", "is open again")
    )


def test_undo_goes_back_step_by_step_newest_first_to_exactly_where_it_began(store, ticket_id, clock):
    store.config = replace(store.config, smtp=SMTP)
    before, steps = row(ticket_id), []
    for change in CHANGES.values():  # triage, assign, acknowledge, reply, note, wait, resolve
        clock.advance(timedelta(minutes=7))
        steps.append(change(store, ticket_id))
    for done in reversed(steps):
        clock.advance(timedelta(minutes=1))
        usecases.undo(store, ticket_id, version=done.ticket.version)

    after = row(ticket_id)
    assert after.pop("version") == before.pop("version") + 2 * len(steps)
    assert after == before and store.outbox() == []
    undos = [event.data for event in store.events(ticket_id) if event.kind == "undo"]
    assert [data["undid"] for data in undos] == sorted((data["undid"] for data in undos), reverse=True), "newest first"
    assert [data["kind"] for data in undos] == ["state", "state", "note", "reply_queued", "reply_queued", "owner", "severity"]


def test_undo_several_deep_is_refused_past_a_change_someone_else_made(store, ticket_id):
    mine = usecases.triage(store, ticket_id, 1)
    theirs = usecases.note(as_someone_else(store), ticket_id, "they call back at 4")
    mine_again = usecases.resolve(store, ticket_id, version=theirs.ticket.version)
    usecases.undo(store, ticket_id, version=mine_again.ticket.version)
    with pytest.raises(Conflict, match=r"changed since you looked: note: they call back at 4 by Sam Lee at 15:00; nothing was changed$"):
        usecases.undo(store, ticket_id, version=mine.ticket.version)  # only what still stands is named
    assert (store.ticket(ticket_id).severity, store.ticket(ticket_id).state) == (1, "new")


def test_a_change_undone_already_is_not_undone_twice(store, ticket_id):
    done = usecases.triage(store, ticket_id, 1)
    usecases.undo(store, ticket_id, version=done.ticket.version)
    with pytest.raises(StoreError, match=rf"^nothing to undo on #{ticket_id}: that change is undone already$"):
        usecases.undo(store, ticket_id, version=done.ticket.version)


def test_one_step_over_several_tickets_is_undone_together_except_where_someone_changed_one(store, ticket_id, mail):
    Ingestor(store).ingest(mail(message_id="q9@acme.example", subject="Second"), "test")
    Ingestor(store).ingest(mail(message_id="q10@acme.example", subject="Third"), "test")
    ids = [ticket.id for ticket in Ticket.select().order_by(Ticket.id)]
    step = tuple((t, usecases.resolve(store, t).ticket.version) for t in ids)
    usecases.note(as_someone_else(store), ids[1], "keep it resolved")

    undone = usecases.undo_step(store, step)

    assert [store.ticket(t).state for t in ids] == ["new", "resolved", "new"]
    assert [done.ticket.id for done in undone.done] == [ids[0], ids[2]]
    assert [type(error) for error in undone.refused] == [Conflict]
    assert undone.said == (
        f"Undid 2 of 3 changes; #{ids[1]} changed since you looked: note: keep it resolved by Sam Lee at 15:00; nothing was changed"
    )
    assert usecases.undo_step(store, step[:1]).said == f"nothing to undo on #{ids[0]}: that change is undone already"


def test_a_step_that_fails_halfway_undoes_nothing(store, ticket_id, mail, monkeypatch):
    Ingestor(store).ingest(mail(message_id="q9@acme.example", subject="Second"), "test")
    ids = [ticket.id for ticket in Ticket.select().order_by(Ticket.id)]
    step = tuple((t, usecases.resolve(store, t).ticket.version) for t in ids)
    events = [history(store, t) for t in ids]
    logged = Event.insert

    def broken_on_the_second(**values):
        if values["ticket"] == ids[1]:
            raise RuntimeError("disk full")
        return logged(**values)

    monkeypatch.setattr(Event, "insert", broken_on_the_second)
    with pytest.raises(RuntimeError, match="disk full"):
        usecases.undo_step(store, step)
    monkeypatch.undo()
    assert [store.ticket(t).state for t in ids] == ["resolved", "resolved"]
    assert [history(store, t) for t in ids] == events


def test_undoing_a_hand_off_whose_notification_left_says_so(store, ticket_id):
    store.config = replace(store.config, smtp=SMTP)
    done = usecases.assign(store, ticket_id, "bob@example.com", "yours")
    outbox.mark_sent(store, done.outbox[0].id, NOW)
    undone = usecases.undo(store, ticket_id, version=done.ticket.version)
    assert undone.said == "is back as it was before “handed to bob@example.com: yours”; bob@example.com was notified already (mail can't be unsent)"
    assert store.ticket(ticket_id).owner_id is None


# --- take ---------------------------------------------------------------------------------------


def test_take_assigns_the_ticket_to_me_without_notifying_anyone(store, ticket_id):
    store.config = replace(store.config, smtp=SMTP, me=Person("Bob Example", "bob@example.com"))
    done = usecases.take(store, ticket_id, version=0)
    assert (done.said, done.outbox) == ("is now yours (bob@example.com)", ())
    assert store.ticket(ticket_id).owner.email == "bob@example.com"
    assert store.events(ticket_id)[-1].data == {"from": None, "to": "bob@example.com", "note": None, "taken": True, "before": {"owner": None}}
    with pytest.raises(StoreError, match=rf"ticket #{ticket_id} is already yours"):
        usecases.take(store, ticket_id)


@pytest.mark.parametrize(
    ("me", "problem"),
    [
        (None, r"^Who are you\? Add \[me\] name and email to "),
        (Person("Dana Rep"), r"^Who are you\? Add \[me\] name and email to "),
        (Person("Dana Rep", "dana@example.com"), r"^you \(dana@example.com\) are not an owner: add yourself under \[\[owners\]\]"),
    ],
)
def test_take_says_how_to_become_someone_who_can(store, ticket_id, me, problem):
    store.config = replace(store.config, me=me)
    with pytest.raises(StoreError, match=problem):
        usecases.take(store, ticket_id)
    assert store.ticket(ticket_id).owner_id is None


def test_a_customer_writing_since_the_rep_looked_is_a_change_they_are_told_about(store, ticket_id, mail, clock):
    seen = store.view(ticket_id).version
    usecases.wait(store, ticket_id, version=seen)
    seen = store.view(ticket_id).version
    clock.advance(timedelta(minutes=5))
    Ingestor(store).ingest(mail(message_id="q2@acme.example", in_reply_to="q1@acme.example", body="Still broken."), "t")
    with pytest.raises(Conflict, match="customer wrote again by mail"):
        usecases.resolve(store, ticket_id, version=seen)
    assert row(ticket_id)["state"] == "open", "the customer's reopening stands"
    assert history(store, ticket_id)[-2:] == [("state", "mail", seen + 1), ("message", "mail", seen + 1)]


def test_our_own_reply_coming_back_from_the_sent_folder_is_no_change_to_be_told_about(store, ticket_id, mail):
    usecases.triage(store, ticket_id, 1)
    usecases.acknowledge(store, ticket_id)
    seen = store.view(ticket_id).version
    sent_copy = mail(message_id="r1@example.com", in_reply_to="q1@acme.example", sender="support@example.com")
    Ingestor(store).ingest(sent_copy, "t")
    assert usecases.note(store, ticket_id, "told them", version=seen).ticket.version == seen + 1


# --- one change on several tickets (the inbox's marks) ---------------------------------------


def three_tickets(store: Store, mail) -> list[int]:
    for number, subject in enumerate(("First", "Second", "Third")):
        Ingestor(store).ingest(mail(message_id=f"bulk{number}@acme.example", subject=subject), "test")
    return [ticket.id for ticket in Ticket.select().order_by(Ticket.id)]


def test_one_change_on_several_tickets_skips_one_changed_since_and_is_one_step_for_undo(store, mail):
    ids = three_tickets(store, mail)
    seen = [(t, store.ticket(t).version) for t in ids]
    usecases.note(as_someone_else(store), ids[1], "on it")

    several = usecases.each(store, seen, usecases.resolve, "Resolved {} tickets")

    assert [store.ticket(t).state for t in ids] == ["resolved", "new", "resolved"]
    assert [type(error) for error in several.refused] == [Conflict]
    assert several.said == (
        f"Resolved 2 of 3 tickets; #{ids[1]} changed since you looked: note: on it by Sam Lee at 15:00; nothing was changed"
    )
    step = tuple((done.ticket.id, done.ticket.version) for done in several.done)
    assert usecases.undo_step(store, step).said == "Undid 2 changes"
    assert [store.ticket(t).state for t in ids] == ["new", "new", "new"]


def test_one_change_on_several_tickets_says_which_were_so_already(store, mail):
    ids = three_tickets(store, mail)
    usecases.triage(store, ids[0], 1)
    seen = [(t, store.ticket(t).version) for t in ids]

    several = usecases.each(store, seen, lambda s, t, v: usecases.triage(s, t, 1, v), "Severity 1 on {} tickets")

    assert [store.ticket(t).severity for t in ids] == [1, 1, 1]
    assert several.said == f"Severity 1 on 2 of 3 tickets; #{ids[0]} is already severity 1"
    assert [done.changed for done in several.done] == [False, True, True]


def test_one_change_on_many_tickets_names_the_first_few_left_as_they_were(store, mail):
    three_tickets(store, mail)
    for number in range(3, 6):
        Ingestor(store).ingest(mail(message_id=f"bulk{number}@acme.example", subject=f"More {number}"), "test")
    ids = [ticket.id for ticket in Ticket.select().order_by(Ticket.id)]
    seen = [(t, store.ticket(t).version) for t in ids]
    for t in ids[:5]:
        usecases.triage(as_someone_else(store), t, 2)

    said = usecases.each(store, seen, usecases.resolve, "Resolved {} tickets").said

    assert said.startswith(f"Resolved 1 of 6 tickets; #{ids[0]} changed since you looked")
    assert said.count("changed since you looked") == 3 and said.endswith("; 2 more left as they were")

