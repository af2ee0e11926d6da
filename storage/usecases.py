"""Every change a person makes to a ticket, in one place: triage, assign (and take), acknowledge,
reply, note, wait, resolve, reopen and undo. The inbox, the command line and the demo call these and
nothing else to change a ticket.

Each is one function and one transaction. Each takes the ticket's `version` as the caller saw it
(None: as it is now, for the command line, which reads and applies at once). Inside the transaction
the ticket is read again under a lock (SELECT … FOR UPDATE on PostgreSQL; on SQLite the transaction
began with BEGIN IMMEDIATE, which already admits one writer at a time); if its version moved,
nothing is changed and `Conflict` says what changed and who did it. Every change bumps the version
in the same UPDATE and logs one event carrying that version, so "what changed since you looked" is
the events after it, and the values it replaced, so that `undo` can put them back.

Replies and acknowledgements are judged differently: not every change since the rep looked
matters to what they wrote, so they are *held* (`Held`, nothing queued) only when since the reply
began the customer wrote, anyone queued or sent a reply or acknowledgement, or the ticket changed
owner or state; what the rep saw is a `Seen` (storage/errors.py), and the check runs under the same
lock, so two reps sending at once send one reply. A ticket gets one acknowledgement.

What a change queues (a reply, the hand-off's notifications) is written in the same transaction:
an owner is never assigned without being notified. Sending is the outbox's job, after the commit.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime

from .config import who_are_you
from .errors import Change, Conflict, Held, Seen, StoreError
from .handoff import handoff_notifications
from .history import describe, undone
from .models import Draft, Event, Message, Outbox, Owner, Ticket, UtcDateTimeField
from .owners import the_owner
from .safe_text import display_line
from .sla import SEVERITY_LEVELS, levels_text
from .store import Store, reply_subject
from .views import ticket_view

ACK = "ack"  # the snippet an acknowledgement sends
# Changes undo can take back. Those that change the ticket keep the values they replaced, under
# "before" in their event; a note is withdrawn, a reply taken out of the outbox.
UNDOABLE = frozenset({"severity", "owner", "state", "note", "reply_queued"})
_SHOWN_CHANGES = 3  # a conflict names the latest few changes, in one line


@dataclass(frozen=True)
class Done:
    """What a change did. `said` follows the ticket number: "#12 is now severity 1"."""

    ticket: Ticket  # as it is now: its version is the one to pass with the next change
    said: str
    outbox: tuple[Outbox, ...] = ()  # what it queued: the reply, or the hand-off's notifications
    changed: bool = True  # False: it was so already and nothing was written, so nothing to undo


UndoStep = tuple[tuple[int, int], ...]  # (ticket id, the version a change left it at): one step of a rep's


@dataclass(frozen=True)
class Several:
    """What one step over several tickets did (`each`): the changes made, and the tickets left as
    they are, with why."""

    done: tuple[Done, ...]
    refused: tuple[StoreError, ...]
    summary: str  # its first "{}" is the count: "Resolved {} tickets" says "Resolved 9 of 10 tickets"

    @property
    def said(self) -> str:
        if len(self.done) + len(self.refused) == 1:
            return f"#{self.done[0].ticket.id} {self.done[0].said}" if self.done else str(self.refused[0])
        changed = sum(1 for done in self.done if done.changed)
        total = len(self.done) + len(self.refused)
        # Why the others are as they were: refusals first (someone else's change), then "already so".
        why = [str(error) for error in self.refused] + [f"#{d.ticket.id} {d.said}" for d in self.done if not d.changed]
        if len(why) > _SHOWN_CHANGES:
            why[_SHOWN_CHANGES:] = [f"{len(why) - _SHOWN_CHANGES} more left as they were"]
        count = str(changed) if changed == total else f"{changed} of {total}"
        return self.summary.replace("{}", count, 1) + "".join(f"; {reason}" for reason in why)


# --- the use cases ---------------------------------------------------------------------------


def triage(store: Store, ticket_id: int, severity: int, version: int | None = None) -> Done:
    if severity not in SEVERITY_LEVELS:
        raise StoreError(f"severity must be {levels_text()}, not {severity}")
    with _changing(store, ticket_id, version) as ticket:
        if ticket.severity == severity:
            return Done(ticket, f"is already severity {severity}", changed=False)
        ticket = _record(store, ticket, "severity", {"from": ticket.severity, "to": severity}, {"severity": severity})
    return Done(ticket, f"is now severity {severity}")


def assign(store: Store, ticket_id: int, owner: str, note: str | None = None, version: int | None = None) -> Done:
    """Hand the ticket to an owner, and queue their notification with it. `owner`: their email,
    or a unique start of their name or email (UnknownOwner lists the candidates otherwise)."""
    with _changing(store, ticket_id, version) as ticket:
        owner = the_owner(store.owners(), owner)
        ticket, queued = _hand_to(store, ticket, owner, note)
    notified = " (notified through the outbox)" if queued else ""
    return Done(ticket, f"is now owned by {owner.name} <{owner.email}>{notified}", queued)


def take(store: Store, ticket_id: int, version: int | None = None) -> Done:
    """Assign the ticket to me: the [[owners]] entry with my [me] email. Nobody is notified."""
    me = store.config.me
    if me is None or not me.email:
        raise StoreError(who_are_you(store.config))
    with _changing(store, ticket_id, version) as ticket:
        owner = _active_owner(store, me.email)
        if owner is None:
            raise StoreError(
                f"you ({me.email}) are not an owner: add yourself under [[owners]] in the config to take tickets"
            )
        if ticket.owner_id == owner.id:
            raise StoreError(f"ticket #{ticket_id} is already yours")
        ticket, _ = _hand_to(store, ticket, owner, None, taken=True)
    return Done(ticket, f"is now yours ({owner.email})")


def acknowledge(
    store: Store, ticket_id: int, version: int | None = None, *, seen: Seen | None = None, force: bool = False
) -> Done:
    """Queue the acknowledgement: a first response right away, before the answer is known. A
    ticket gets one: when it already has one (queued or sent), this says so and queues nothing."""
    return snippet_reply(store, ticket_id, ACK, version, seen=seen, force=force)


def snippet_reply(
    store: Store, ticket_id: int, name: str, version: int | None = None, *, seen: Seen | None = None,
    force: bool = False,
) -> Done:
    """A saved reply as it is, filled for this ticket; the `ack` snippet is an acknowledgement.
    Held like `reply`."""
    kind = "ack" if name == ACK else "reply"
    with _changing(store, ticket_id, None) as ticket:
        if kind == "ack" and (earlier := already_acknowledged(store, ticket.id)) is not None:
            return Done(ticket, earlier, changed=False)
        if not force:
            _hold_if_moved(store, ticket, _seen(seen, version), kind)
        body = store.render_snippet(ticket_id, name)
        ticket, entry = _queue_reply(store, ticket, body, kind, name)
    return _replied(ticket, entry)


def reply_then(
    store: Store, ticket_id: int, snippet: str, then: str | None, *, seen: Seen | None = None, force: bool = False,
) -> tuple[Done, ...]:
    """A macro: the snippet queued as a reply (held like `reply`), then the ticket resolved or
    waiting (`then`; None: left as it is), in one transaction. A ticket with a draft in progress is
    refused: the reply would replace the rep's own words. Nothing moves when nothing was queued (an
    acknowledgement the ticket already has)."""
    with store.transaction():
        if next(iter(Draft.select(Draft.ticket).where(Draft.ticket == ticket_id).execute(store.db)), None) is not None:
            raise StoreError(f"#{ticket_id} has a draft in progress: send or discard it first (r opens it)")
        replied = snippet_reply(store, ticket_id, snippet, seen=seen, force=force)
        if then is None or not replied.changed:
            return (replied,)
        move = {"resolve": resolve, "waiting": wait}[then]
        return replied, move(store, ticket_id, replied.ticket.version)


def reply(
    store: Store, ticket_id: int, body: str, snippet: str | None = None, version: int | None = None, *,
    seen: Seen | None = None, force: bool = False,
) -> Done:
    """Queue a reply in the outbox; it replaces the ticket's draft. `snippet`: the last one used.

    `seen` is what the rep saw when the reply began (`version` alone: the ticket's version they
    saw; neither: nothing to compare, as a command typed on the spot). When since then the customer
    wrote, anyone queued or sent a reply or acknowledgement, or the ticket changed owner or state,
    nothing is queued: `Held` says what happened. Other changes (a severity, a note) don't hold a
    reply. `force=True` sends regardless. The check runs under the ticket's lock, in the
    transaction that queues: of two reps sending at once, the second is held by the first's reply.
    """
    if not body.strip():
        raise StoreError("the reply is empty")
    with _changing(store, ticket_id, None) as ticket:
        if not force:
            _hold_if_moved(store, ticket, _seen(seen, version), "reply")
        ticket, entry = _queue_reply(store, ticket, body, "reply", snippet)
    return _replied(ticket, entry)


def seen_now(store: Store, ticket_id: int) -> Seen:
    """The ticket as it is now, for a reply beginning: its version and its newest event, read in one
    statement so that both describe the same moment. Every event a ticket logs that can hold a
    reply is written after the UPDATE of its ticket row, under that row's lock (use cases here,
    mail in Store._after_reply), so a ticket's event ids follow commit order: whatever commits
    after this read has a larger id."""
    row = store._first(
        "SELECT t.version, (SELECT MAX(e.id) FROM event e WHERE e.ticket_id = t.id) FROM ticket t WHERE t.id = ?",
        (ticket_id,),
    )
    if row is None:
        raise StoreError(f"no ticket #{ticket_id}")
    return Seen(version=row[0], event=row[1] or 0)


def changes_since(store: Store, ticket_id: int, seen: Seen) -> list[Change]:
    """What holds a reply begun at `seen`, oldest first (see `reply` and storage/errors.py Seen)."""
    query = Event.select().where((Event.ticket == ticket_id) & Event.kind.in_(_HOLDING_KINDS))
    by_time = seen.event is None and seen.version is None
    if seen.event is not None:
        query = query.where(Event.id > seen.event)
    elif seen.version is not None:
        query = query.where(Event.version > seen.version)
    elif seen.at is None:
        return []
    changes = []
    for event in query.order_by(Event.id).execute(store.db):
        found = _change_of(store, ticket_id, event)
        if found is not None and (not by_time or found[1] > seen.at):
            changes.append(found[0])
    return changes


def note(store: Store, ticket_id: int, text: str, version: int | None = None) -> Done:
    """An internal note: in the history for the team, never sent to the customer."""
    if not text.strip():
        raise StoreError("the note is empty")
    with _changing(store, ticket_id, version) as ticket:
        ticket = _record(store, ticket, "note", {"text": text.strip()})
    return Done(ticket, "has a new internal note")


def wait(store: Store, ticket_id: int, version: int | None = None) -> Done:
    done = _move(store, ticket_id, "waiting", version, "is waiting on the customer")
    # Only a running resolution clock pauses: an auto-reply, an untriaged ticket or a target
    # without one has none, and a breached clock keeps counting.
    view = ticket_view(store.config, store.clock.now(), ticket_id)
    paused = view is not None and view.sla.resolution is not None and view.sla.resolution.status == "paused"
    return replace(done, said=f"{done.said} (resolution clock paused)") if paused else done


def resolve(store: Store, ticket_id: int, version: int | None = None) -> Done:
    return _move(store, ticket_id, "resolved", version, "is resolved")


def reopen(store: Store, ticket_id: int, version: int | None = None) -> Done:
    """A waiting or resolved ticket back to work: `open`, or `new` while nobody has answered it
    (a reply still in the outbox is no answer yet: when it is sent, the ticket opens)."""
    return _move(store, ticket_id, "open", version, "is open again")


def undo(store: Store, ticket_id: int, version: int | None = None) -> Done:
    """Take back a change a person made: the severity, owner or state (with its pauses and
    resolution time) it replaced comes back, a note is withdrawn, a reply still in the outbox is
    taken out (a reply goes back to being the draft), and a hand-off's notifications not sent yet
    are dropped (one sent already can't be unsent: the answer says so). The history keeps both the
    change and the `undo`. Mail's doings (a customer's message reopening the ticket) are never undone.

    `version`: the one the change left the ticket at (its Done.ticket.version), so undo takes back
    that very change, several deep, once the changes after it are undone; anything after it still
    standing (someone else's change, a customer's message) refuses it with Conflict. None: the
    ticket's latest change still standing (the command line, which reads and applies at once)."""
    with _changing(store, ticket_id, None) as ticket:
        event = _undoable(store, ticket, version)
        unsent = ""
        if event.kind == "owner":
            unsent = _discard_unsent(store, event.data)
        elif event.kind == "reply_queued":
            _take_back_reply(store, ticket, event.data)
        change = {key: value for key, value in event.data.items() if key != "before"}
        data = {"undid": event.id, "kind": event.kind, "change": change}
        ticket = _record(store, ticket, "undo", data, _restored(event.data.get("before", {})))
    return Done(ticket, f"is back as it was before “{_short(describe(event))}”{unsent}")


def undo_step(store: Store, step: UndoStep) -> Several:
    """Undo one step of a rep's, one change on each of its tickets, in one transaction (`each`): a
    ticket whose change can't be undone (someone changed it since, its reply has left) stays as it is."""
    # A ticket's newest change first: each of its changes comes back once the later ones have.
    return each(store, sorted(step, key=lambda change: -change[1]), undo, "Undid {} changes")


def each(
    store: Store, tickets: Iterable[tuple[int, int | None]], change: Callable[[Store, int, int | None], Done],
    summary: str,
) -> Several:
    """One change on several tickets, each as the rep saw it: (ticket id, its version then), in one
    transaction. A ticket the change refuses (someone changed it since, ...) stays as it is and
    the others change all the same: each ticket's change has a savepoint of its own. What was done
    is one step for `undo_step`. `summary`: see Several."""
    done: list[Done] = []
    refused: list[StoreError] = []
    with store.transaction():
        # Locked in one order, so two steps never deadlock; a ticket's changes stay in the order given.
        for ticket_id, version in sorted(tickets, key=lambda change: change[0]):
            try:
                done.append(change(store, ticket_id, version))
            except StoreError as error:
                refused.append(error)
    return Several(tuple(done), tuple(refused), summary)


# --- the check at send time -----------------------------------------------------------------

_HOLDING_KINDS = ("message", "reply_queued", "owner", "state", "undo")
_SHOWN_HELD = 3  # a held send's one line names the latest few changes


def _seen(seen: Seen | None, version: int | None) -> Seen | None:
    return seen if seen is not None else (Seen(version=version) if version is not None else None)


def _hold_if_moved(store: Store, ticket: Ticket, seen: Seen | None, kind: str) -> None:
    """Inside the transaction that queues, with the ticket locked: raise Held when it moved."""
    if seen is None:
        return
    changes = changes_since(store, ticket.id, seen)
    if not changes:
        return
    lines = [f"{display_line(c.who)} {_short(c.said)} at {_when(store, c.at)}" for c in changes[-_SHOWN_HELD:]]
    if len(changes) > _SHOWN_HELD:
        lines.insert(0, f"{len(changes) - _SHOWN_HELD} earlier changes")
    what = "acknowledgement" if kind == "ack" else "reply"
    message = f"#{ticket.id} {what} held: since you began, {', '.join(lines)}; nothing was sent"
    raise Held(message, ticket.id, kind, tuple(changes), seen_now(store, ticket.id))


def _change_of(store: Store, ticket_id: int, event: Event) -> tuple[Change, datetime] | None:
    """The change an event makes to a reply in progress, and when frontdesk learnt of it; None
    when it makes none (an auto-reply, our own reply coming back sent, a reply taken back, ...)."""
    who, at, data = event.actor, event.at, event.data
    match event.kind:
        case "message":
            message = _message_of(store, ticket_id, data)
            if message is None:  # (not to be: messages are never deleted)
                return (Change("message", "the customer", at, "wrote again"), at) if data.get("direction") == "in" else None
            sender = message.from_name or message.from_email
            if message.direction == "in":
                if message.auto is not None:
                    return None  # an out-of-office or a bounce changes nothing the rep would say
                return Change("message", sender, message.received_at, "wrote again", message.body_text), message.created_at
            if message.message_id and _is_ours(store, ticket_id, message.message_id):
                return None  # the outbox's own reply, sent: its queuing is the change
            said = "replied outside frontdesk"
            return Change("sent", sender, message.received_at, said, message.body_text, "sent"), message.created_at
        case "reply_queued":
            entry = next(iter(Outbox.select().where(Outbox.id == data.get("outbox")).execute(store.db)), None)
            if entry is None or entry.kind not in ("reply", "ack"):
                return None  # taken back or discarded: it never went
            what = "an acknowledgement" if entry.kind == "ack" else "a reply"
            verb = "sent" if entry.status == "sent" else "queued"
            when = entry.sent_at if entry.status == "sent" and entry.sent_at else at
            return Change(entry.kind, who, when, f"{verb} {what}", entry.body, entry.status), at
        case "owner":
            said = "took the ticket" if data.get("taken") else f"handed it to {data.get('to')}"
            return Change("owner", who, at, said), at
        case "state" if who != "mail":  # mail's state changes come with the customer's message
            return Change("state", who, at, f"moved it {data['from']} → {data['to']}"), at
        case "undo" if data.get("kind") in ("owner", "state"):
            return Change(data["kind"], who, at, describe(event)), at
    return None


def _message_of(store: Store, ticket_id: int, data: dict) -> Message | None:
    query = Message.select().where(Message.ticket == ticket_id)
    if data.get("id") is not None:
        query = query.where(Message.id == data["id"])
    elif data.get("message_id"):  # logged before events named the stored message
        query = query.where((Message.message_id == data["message_id"]) & (Message.direction == data.get("direction")))
    else:
        return None
    return next(iter(query.order_by(Message.id.desc()).limit(1).execute(store.db)), None)


def _is_ours(store: Store, ticket_id: int, message_id: str) -> bool:
    query = Outbox.select(Outbox.id).where((Outbox.ticket == ticket_id) & (Outbox.message_id == message_id))
    return next(iter(query.execute(store.db)), None) is not None


def already_acknowledged(store: Store, ticket_id: int) -> str | None:
    """What `acknowledge` says instead of queuing a second acknowledgement (one is queued, being
    sent, sent, or failed and waiting to be retried or discarded); None when there is none."""
    query = Outbox.select().where((Outbox.ticket == ticket_id) & (Outbox.kind == "ack")).order_by(Outbox.id.desc())
    entry = next(iter(query.limit(1).execute(store.db)), None)
    if entry is None:
        return None
    if entry.status == "sent":
        how = f"sent at {_when(store, entry.sent_at or entry.updated_at)}"
    elif entry.status == "failed":
        how = "waiting in the outbox to be retried"
    else:
        how = f"{entry.status} at {_when(store, entry.created_at)}"
    return f"already has an acknowledgement ({how}, by {display_line(entry.actor)}); nothing was queued"


def _when(store: Store, at: datetime) -> str:
    """14:02 today, else Tue 24 Nov 14:02, in the desk's time zone."""
    zone = store.config.calendar.timezone
    local, today = at.astimezone(zone), store.clock.now().astimezone(zone).date()
    return f"{local:%H:%M}" if local.date() == today else f"{local:%a %d %b %H:%M}"


# --- one change: read under the lock, check the version, write with the next one ----------


@contextmanager
def _changing(store: Store, ticket_id: int, version: int | None) -> Iterator[Ticket]:
    """The transaction of one change, and the ticket as it is inside it."""
    with store.transaction():
        query = Ticket.select().where(Ticket.id == ticket_id)
        if store.db.for_update:  # PostgreSQL; SQLite has no FOR UPDATE and needs none (see above)
            query = query.for_update()
        ticket = next(iter(query.execute(store.db)), None)
        if ticket is None:
            raise StoreError(f"no ticket #{ticket_id}")
        if version is not None and ticket.version != version:
            raise _conflict(store, ticket, version)
        yield ticket


def _record(store: Store, ticket: Ticket, kind: str, data: dict, changes: dict | None = None) -> Ticket:
    """Write the changes with the next version and log the event; returns the ticket as changed."""
    changes = changes or {}
    version = ticket.version + 1
    if kind in UNDOABLE and changes:
        data = {**data, "before": {name: _portable(name, ticket.__data__.get(name)) for name in changes}}
    # The version in the WHERE as well: even a lock misread can never let a change overwrite another.
    updated = (
        Ticket.update({**changes, "version": version})
        .where((Ticket.id == ticket.id) & (Ticket.version == ticket.version))
        .execute(store.db)
    )
    if updated != 1:
        raise _conflict(store, ticket, ticket.version)
    at = store.clock.now()
    Event.insert(ticket=ticket.id, at=at, actor=store.actor, kind=kind, data=data, version=version).execute(store.db)
    if changes:
        store._refresh_due(ticket.id)
    return next(iter(Ticket.select().where(Ticket.id == ticket.id).execute(store.db)))


def _conflict(store: Store, ticket: Ticket, seen: int, since: list[Event] | None = None) -> Conflict:
    """'#12 changed since you looked: severity set to 1 by Sam at 14:02; nothing was changed'.
    `since`: the changes to name, oldest first (else every event after version `seen`)."""
    current = next(iter(Ticket.select(Ticket.version).where(Ticket.id == ticket.id).execute(store.db)))
    if since is None:
        since = list(
            Event.select()
            .where((Event.ticket == ticket.id) & (Event.version > seen))
            .order_by(Event.id)
            .execute(store.db)
        )
    zone, today = store.config.calendar.timezone, store.clock.now().astimezone(store.config.calendar.timezone).date()
    changes = []
    for event in since[-_SHOWN_CHANGES:]:
        local = event.at.astimezone(zone)
        at = f"{local:%H:%M}" if local.date() == today else f"{local:%a %d %b %H:%M}"
        changes.append(f"{_short(describe(event))} by {display_line(event.actor)} at {at}")
    if len(since) > _SHOWN_CHANGES:
        changes.insert(0, f"{len(since) - _SHOWN_CHANGES} earlier changes")
    what = f": {', '.join(changes)}" if changes else ""
    return Conflict(f"#{ticket.id} changed since you looked{what}; nothing was changed", ticket.id, current.version)


def _short(text: str, limit: int = 60) -> str:
    line = display_line(text)
    return line if len(line) <= limit else line[: limit - 1] + "…"


_TIMES = {name for name, field in Ticket._meta.fields.items() if isinstance(field, UtcDateTimeField)}


def _portable(name: str, value: object) -> object:
    """A ticket column's value as the event's JSON keeps it (times as stored text)."""
    return Ticket._meta.fields[name].db_value(value) if name in _TIMES else value


def _restored(before: dict) -> dict:
    fields = Ticket._meta.fields
    return {name: fields[name].python_value(value) if name in _TIMES else value for name, value in before.items()}


# --- the parts of the changes ------------------------------------------------------------------


def _move(store: Store, ticket_id: int, state: str, version: int | None, said: str) -> Done:
    with _changing(store, ticket_id, version) as ticket:
        if ticket.state == state:
            raise StoreError(f"ticket #{ticket_id} is already {state}")
        if state == "open" and ticket.state not in ("waiting", "resolved"):
            raise StoreError(f"ticket #{ticket_id} is {ticket.state}; only a waiting or resolved ticket can be reopened")
        if state == "open" and ticket.first_response_at is None:
            state, said = "new", "is new again: nobody has answered it yet"
        changes = store._state_changes(ticket, state, store.clock.now())
        ticket = _record(store, ticket, "state", {"from": ticket.state, "to": state}, changes)
    return Done(ticket, said)


def _active_owner(store: Store, email: str) -> Owner | None:
    query = Owner.select().where((Owner.email == email.strip().lower()) & (Owner.active == 1))
    return next(iter(query.execute(store.db)), None)


def _hand_to(
    store: Store, ticket: Ticket, owner: Owner, note: str | None, taken: bool = False
) -> tuple[Ticket, tuple[Outbox, ...]]:
    previous = _owner_email(store, ticket.owner_id)
    queued: tuple[Outbox, ...] = ()
    if not taken:
        view = ticket_view(store.config, store.clock.now(), ticket.id)
        notes = handoff_notifications(store.config, view, owner.email, store.actor, note, _latest(store, ticket.id, "in"))
        queued = tuple(_queue(store, ticket, n.kind, n.to, n.subject, n.body) for n in notes)
    data: dict = {"from": previous, "to": owner.email, "note": note}
    if taken:
        data["taken"] = True
    if queued:
        data["outbox"] = [entry.id for entry in queued]
    return _record(store, ticket, "owner", data, {"owner": owner.id}), queued


def _owner_email(store: Store, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    row = next(iter(Owner.select(Owner.email).where(Owner.id == owner_id).execute(store.db)), None)
    return row.email if row else None


def _queue_reply(store: Store, ticket: Ticket, body: str, kind: str, snippet: str | None) -> tuple[Ticket, Outbox]:
    if not store.config.support.address:
        raise StoreError("no support address configured: set address under [support] in the config")
    last = _latest(store, ticket.id)
    entry = _queue(
        store, ticket, kind, [ticket.requester_email], reply_subject(ticket.id, ticket.subject), body,
        cc=_kept_cc(store, ticket), in_reply_to=last.message_id if last else None, refs=_reference_chain(last),
    )
    if kind == "reply":  # the draft became this reply; an acknowledgement leaves a draft in progress alone
        Draft.delete().where(Draft.ticket == ticket.id).execute(store.db)
    data = {"outbox": entry.id, "kind": kind, "snippet": snippet}
    return _record(store, ticket, "reply_queued", data), entry


def _replied(ticket: Ticket, entry: Outbox) -> Done:
    what = "acknowledgement" if entry.kind == "ack" else "reply"
    return Done(ticket, f"{what} to {entry.to_addrs[0]} queued in the outbox", (entry,))


def _queue(
    store: Store, ticket: Ticket, kind: str, to: list[str], subject: str, body: str,
    cc: list[str] | None = None, in_reply_to: str | None = None, refs: list[str] | None = None,
) -> Outbox:
    now = store.clock.now()
    values = dict(
        ticket=ticket.id, kind=kind, to_addrs=to, cc_addrs=cc or [], subject=subject, body=body,
        in_reply_to=in_reply_to, refs=refs or [], actor=store.actor, created_at=now, updated_at=now,
        message_id=_new_message_id(ticket.id, now, store.config.support.address or ""),
    )
    return Outbox(id=Outbox.insert(**values).execute(store.db), **values)


def _latest(store: Store, ticket_id: int, direction: str | None = None) -> Message | None:
    query = Message.select().where(Message.ticket == ticket_id)
    if direction is not None:
        query = query.where(Message.direction == direction)
    return next(iter(query.order_by(Message.received_at.desc(), Message.id.desc()).limit(1).execute(store.db)), None)


def _kept_cc(store: Store, ticket: Ticket) -> list[str]:
    """Everyone the customer last included, so a reply reaches the same people (reply-all)."""
    query = Message.select().where((Message.ticket == ticket.id) & (Message.direction == "in"))
    last_in = next(iter(query.order_by(Message.id.desc()).limit(1).execute(store.db)), None)
    if last_in is None:
        return []
    ours = {ticket.requester_email, (store.config.support.address or "").lower()}
    return [a for a in dict.fromkeys([*last_in.to_addrs, *last_in.cc_addrs]) if a and a not in ours]


def _reference_chain(last: Message | None) -> list[str]:
    if last is None:
        return []
    chain = [ref for ref in last.refs if ref != last.message_id]
    if last.message_id:
        chain.append(last.message_id)
    return chain[-20:]


def _new_message_id(ticket_id: int, now: datetime, address: str) -> str:
    domain = address.rpartition("@")[2] or "frontdesk.invalid"
    return f"frontdesk.{ticket_id}.{now.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(6)}@{domain}"


# --- undo ------------------------------------------------------------------------------------


def _undoable(store: Store, ticket: Ticket, version: int | None) -> Event:
    """The change that left the ticket at `version`, else its latest change still standing; refused
    unless a person made it (mail can't be undone)."""
    events = list(Event.select().where(Event.ticket == ticket.id).order_by(Event.id.desc()).execute(store.db))
    taken_back = undone(events)
    standing = [event for event in events if event.kind != "undo" and event.id not in taken_back]
    if version is not None:
        since = [event for event in standing if event.version is not None and event.version > version]
        if since:
            raise _conflict(store, ticket, version, since[::-1])
        standing = [event for event in standing if event.version == version]
        if not standing:
            raise StoreError(f"nothing to undo on #{ticket.id}: that change is undone already")
    if not standing:
        raise StoreError(f"nothing to undo on #{ticket.id}")
    event = standing[0]
    if event.kind in ("note", "reply_queued") or (event.kind in UNDOABLE and "before" in event.data):
        return event  # (a change logged before undo existed kept no "before": it stays)
    raise StoreError(f"nothing to undo on #{ticket.id}: its last change ({_short(describe(event))}) can't be undone")


def _discard_unsent(store: Store, handoff: dict) -> str:
    """A hand-off taken back: its notifications that have not left yet never will. One that has
    left can't be unsent: what it returns says whom it reached (empty when none left)."""
    outbox_ids = handoff.get("outbox", [])
    if not outbox_ids:
        return ""
    Outbox.delete().where(Outbox.id.in_(outbox_ids) & Outbox.status.in_(("queued", "failed"))).execute(store.db)
    if next(iter(Outbox.select(Outbox.id).where(Outbox.id.in_(outbox_ids)).execute(store.db)), None) is None:
        return ""
    return f"; {handoff['to']} was notified already (mail can't be unsent)"


def _take_back_reply(store: Store, ticket: Ticket, data: dict) -> None:
    query = Outbox.select().where(Outbox.id == data["outbox"])
    entry = next(iter(query.execute(store.db)), None)
    taken = Outbox.delete().where((Outbox.id == data["outbox"]) & Outbox.status.in_(("queued", "failed"))).execute(store.db)
    if entry is None or taken != 1:
        raise StoreError(f"the {data['kind']} on #{ticket.id} has already been sent; it can't be taken back")
    if entry.kind == "reply":
        now = store.clock.now()
        Draft.insert(ticket=ticket.id, body=entry.body, updated_at=now).on_conflict(
            conflict_target=[Draft.ticket], update={Draft.body: entry.body, Draft.updated_at: now}
        ).execute(store.db)
