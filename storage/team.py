"""Who is on the front-line rotation: one answer for the whole team, kept in the shared database.

A turn is a row of `rotation`: who took the rotation, when, whom they took it from, and the
hand-over note that rep leaves behind, written at the moment of the take-over so it tells what
the new rep found: promises still open, tickets at risk, unsent drafts and replies, hand-offs in
flight, and the week's summary (storage/rotation.py). Turns are history: never changed or
deleted, and each follows the one before it exactly once, so two reps taking over at the same
moment can't both succeed (the second finds the first already on rotation and follows them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from peewee import IntegrityError

from .errors import StoreError
from .models import Draft, Message, Outbox, Rotation
from .sla import format_span
from .store import Store
from .views import TicketView, ticket_views

# The week's summary (rotation.py, with statistics) loads when a hand-over is written, not with
# every inbox that asks who is on rotation.
if TYPE_CHECKING:
    from .rotation import Week

_ATTEMPTS = 5
_UNSENT = ("queued", "sending", "failed")
_OUTBOX_WORDS = {"ack": "acknowledgement", "reply": "reply", "handoff": "hand-off email to the owner", "slack": "hand-off post"}


class Person(Protocol):
    """Someone on the team: config.me (storage/config.py) is one."""

    name: str
    email: str | None


@dataclass(frozen=True)
class Turn:
    """One rep's turn on the rotation, from `started_at` until the next turn."""

    id: int
    rep_name: str
    rep_email: str | None
    started_at: datetime
    previous_name: str | None  # None: nobody held the rotation before
    handover: str | None  # the previous rep's hand-over note, Markdown with mail text escaped

    def held_by(self, person: Person) -> bool:
        return same_person(self.rep_name, self.rep_email, person.name, getattr(person, "email", None))


@dataclass(frozen=True)
class Taken:
    turn: Turn  # the rotation as it now stands
    took: bool  # False: the person held it already, and nothing changed


def same_person(name: str, email: str | None, other_name: str, other_email: str | None) -> bool:
    """By address when both have one, else by name (ignoring case)."""
    if email and other_email:
        return email.strip().casefold() == other_email.strip().casefold()
    return name.strip().casefold() == other_name.strip().casefold()


def _turn(row: Rotation) -> Turn:
    return Turn(row.id, row.rep_name, row.rep_email, row.started_at, row.previous_name, row.handover)


def current_rotation(store: Store) -> Turn | None:
    """The latest turn; None when nobody has taken the rotation yet."""
    row = next(iter(Rotation.select().order_by(Rotation.id.desc()).limit(1).bind(store.db)), None)
    return None if row is None else _turn(row)


def rotation_history(store: Store, limit: int = 20) -> list[Turn]:
    """The latest turns, newest first."""
    return [_turn(row) for row in Rotation.select().order_by(Rotation.id.desc()).limit(limit).bind(store.db)]


def take_rotation(store: Store, person: Person, now: datetime | None = None) -> Taken:
    """`person` goes on rotation from `now`, with the previous rep's hand-over note, in one
    transaction. Taking it while holding it changes nothing (Taken.took is False)."""
    if not person.name or not person.name.strip():
        raise StoreError("the rotation needs a name: set [me] name in the config")
    now = now or store.clock.now()
    for _ in range(_ATTEMPTS):
        current = current_rotation(store)
        if current is not None and current.held_by(person):
            return Taken(current, took=False)
        # The note reads every ticket: written before the transaction, so the write lock is held
        # only for the write; the transaction checks nobody took over in between.
        note = handover_note(store, current, person, now)
        follows = current.id if current is not None else 0
        try:
            with store.transaction():
                latest = current_rotation(store)
                if (latest.id if latest is not None else 0) != follows:
                    continue  # someone took over meanwhile: look again
                values = dict(
                    rep_name=person.name.strip(),
                    rep_email=getattr(person, "email", None) or None,
                    started_at=now,
                    follows=follows,
                    previous_name=current.rep_name if current is not None else None,
                    handover=note,
                )
                turn_id = Rotation.insert(**values).bind(store.db).execute()
            return Taken(_turn(Rotation(id=turn_id, **values)), took=True)
        except IntegrityError:
            continue  # another session followed the same turn first (PostgreSQL): look again
    raise StoreError("the rotation kept changing hands while taking it over; try again")


# --- the hand-over note ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeskState:
    """What the next rep inherits, as of one moment."""

    now: datetime
    promises: tuple[tuple[TicketView, datetime], ...]  # acknowledged, and nothing sent since
    at_risk: tuple[TicketView, ...]  # running clock at risk or breached
    drafts: tuple[tuple[TicketView, datetime], ...]  # replies begun and not queued
    unsent: tuple[tuple[TicketView, Outbox], ...]  # in the outbox, not sent yet
    in_flight: tuple[TicketView, ...]  # handed to an owner, not resolved


def desk_state(store: Store, now: datetime, views: list[TicketView] | None = None) -> DeskState:
    if views is None:
        views = ticket_views(store.config, now, include_resolved=True)
    by_id = {view.id: view for view in views}
    unresolved = sorted((view for view in views if view.state != "resolved"), key=lambda view: view.urgency())
    drafts = [
        (by_id[ticket_id], saved)
        for ticket_id, saved in Draft.select(Draft.ticket, Draft.updated_at).order_by(Draft.updated_at).tuples().bind(store.db)
        if ticket_id in by_id
    ]
    unsent = [
        (by_id[entry.ticket_id], entry)
        for entry in Outbox.select().where(Outbox.status.in_(_UNSENT)).order_by(Outbox.id).bind(store.db)
        if entry.ticket_id in by_id
    ]
    return DeskState(
        now=now,
        promises=_open_promises(store, by_id, unresolved),
        at_risk=tuple(
            view for view in unresolved
            if view.clock is not None and view.clock.status in ("at_risk", "breached")
        ),
        drafts=tuple(drafts),
        unsent=tuple(unsent),
        in_flight=tuple(view for view in unresolved if view.owner),
    )


def _open_promises(store: Store, by_id: dict[int, TicketView], unresolved: list[TicketView]) -> tuple[tuple[TicketView, datetime], ...]:
    """Tickets whose last reply from us was the acknowledgement that promised a follow-up, and
    that are not waiting on the customer."""
    last: dict[int, tuple[str, datetime, str]] = {}
    for ticket_id, kind, created_at, message_id in (
        Outbox.select(Outbox.ticket, Outbox.kind, Outbox.created_at, Outbox.message_id)
        .where(Outbox.kind.in_(("ack", "reply")))  # to the customer, not hand-off notices
        .order_by(Outbox.id)
        .tuples()
        .bind(store.db)
    ):
        last[ticket_id] = (kind, created_at, message_id)
    acked = {
        ticket_id: (at, message_id)
        for ticket_id, (kind, at, message_id) in last.items()
        if kind == "ack" and ticket_id in by_id and by_id[ticket_id].state in ("new", "open")
    }
    if not acked:
        return ()
    since = min(at for at, _ in acked.values())
    answered = set()
    # Mail we sent another way (found in the Sent folder) after the acknowledgement counts too.
    for ticket_id, received_at, message_id in (
        Message.select(Message.ticket, Message.received_at, Message.message_id)
        .where((Message.direction == "out") & (Message.received_at > since))
        .tuples()
        .bind(store.db)
    ):
        promised = acked.get(ticket_id)
        if promised and received_at > promised[0] and message_id != promised[1]:
            answered.add(ticket_id)
    return tuple((by_id[i], acked[i][0]) for i in (v.id for v in unresolved) if i in acked and i not in answered)


def summary_week(now: datetime, tz) -> Week:
    """The week a hand-over sums up: on a Monday the week just ended, else this week so far."""
    from .rotation import Week

    week = Week.containing(now, tz)
    return week.shifted(-1) if now.astimezone(tz).weekday() == 0 else week


def handover_note(store: Store, previous: Turn | None, taker: Person, now: datetime) -> str:
    """The previous rep's hand-over note as Markdown, as of `now`; mail text is escaped."""
    from .rotation import clock_phrase, customer_label, markdown_text, rotation_summary, to_markdown

    tz = store.config.calendar.timezone
    views = ticket_views(store.config, now, include_resolved=True)
    state = desk_state(store, now, views)
    summary = rotation_summary(store, summary_week(now, tz).monday, views, now=now)

    def when(moment: datetime) -> str:
        return f"{moment.astimezone(tz):%a %d %b %H:%M}"

    def ticket(view: TicketView) -> str:
        return f"#{view.id} {markdown_text(view.subject or '(no subject)')} ({markdown_text(customer_label(view))})"

    taker_name = markdown_text(taker.name)
    if previous is None:
        title = "# Hand-over note"
        lead = f"{taker_name} took the rotation on {when(now)} ({tz.key}); nobody held it before."
    else:
        title = f"# Hand-over from {markdown_text(previous.rep_name)}"
        lead = (
            f"{taker_name} took the rotation over from {markdown_text(previous.rep_name)} "
            f"on {when(now)} ({tz.key}), after {format_span(now - previous.started_at)}."
        )
    sections = (
        ("Promised a follow-up", "promised follow-ups", [
            f"{ticket(view)}: acknowledged {when(at)}, nothing sent since; {clock_phrase(view)}" for view, at in state.promises
        ]),
        ("At risk or breached", "tickets at risk", [f"{ticket(view)}: {clock_phrase(view)}" for view in state.at_risk]),
        ("Unsent drafts", "unsent drafts", [f"{ticket(view)}: draft saved {when(at)}" for view, at in state.drafts]),
        ("Waiting in the outbox", "mail waiting in the outbox", [
            f"{ticket(view)}: {_outbox_phrase(entry, when)}" for view, entry in state.unsent
        ]),
        ("Hand-offs in flight", "hand-offs in flight", [
            f"{ticket(view)}: with {markdown_text(view.owner_name or view.owner or '')}, {view.state}; {clock_phrase(view)}"
            for view in state.in_flight
        ]),
    )
    parts = [title, "", lead, ""]
    nothing = [words for _, words, items in sections if not items]
    if nothing:
        listed = nothing[0] if len(nothing) == 1 else ", ".join(nothing[:-1]) + " or " + nothing[-1]
        parts += [f"No {listed}.", ""]
    for heading, _, items in sections:
        if items:
            parts += [f"## {heading}", "", *[f"- {item}" for item in items], ""]
    week = to_markdown(summary).splitlines()
    parts.append(f"## The week {summary.week.label}")
    parts += [f"#{line}" if line.startswith("#") else line for line in week[1:]]
    return "\n".join(parts).rstrip("\n") + "\n"


def _outbox_phrase(entry: Outbox, when) -> str:
    from .rotation import markdown_text

    what = _OUTBOX_WORDS.get(entry.kind, entry.kind)
    if entry.status == "failed":
        error = markdown_text(entry.last_error or "no reason given")
        return f"{what} not sent after {entry.attempts} tries: {error}"
    if entry.status == "sending":
        return f"{what} being sent"
    return f"{what} queued {when(entry.created_at)}"

