"""The rotation summary: one week on the front line, told as the hand-over note for the next rep.

The figures are computed by `summarize` from plain inputs (ticket views and the events logged in
the week), so they can be checked without a database; `rotation_summary` is the small part that
reads the store. A week runs from Monday 00:00 to the next Monday 00:00 in the business time zone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

from .history import undone
from .models import Event, Owner
from .sla import TargetState, format_span
from .stats import Spread, spread
from .store import Store
from .views import TicketView

# What only a person does; a state change made by mail (a customer reopening a ticket) is "mail".
_REP_KINDS = frozenset({"severity", "owner", "state", "reply_queued", "note"})
_BUSIEST = 5
# CommonMark's backslash escapes for what would make a link, emphasis, code, HTML, an entity or a
# table cell out of a subject. Only mid-line text is escaped, so line-start markers need nothing.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<|~&])")
_ISO_WEEK = re.compile(r"(\d{4})-[Ww](\d{2})")


@dataclass(frozen=True)
class Week:
    """Monday 00:00 to the next Monday 00:00, local time in `tz` (167 to 169 hours around DST)."""

    monday: date
    tz: ZoneInfo

    def __post_init__(self) -> None:
        if self.monday.weekday() != 0:
            raise ValueError(f"a week starts on a Monday, not on {self.monday:%A %Y-%m-%d}")

    @classmethod
    def containing(cls, moment: date | datetime, tz: ZoneInfo) -> Week:
        day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
        return cls(day - timedelta(days=day.weekday()), tz)

    @cached_property
    def start(self) -> datetime:
        return _local_midnight(self.monday, self.tz)

    @cached_property
    def end(self) -> datetime:
        return _local_midnight(self.monday + timedelta(days=7), self.tz)

    @property
    def label(self) -> str:
        """The ISO week, e.g. 2026-W48."""
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    @classmethod
    def from_label(cls, label: str, tz: ZoneInfo) -> Week:
        """The ISO week a label such as 2026-W49 names; ValueError for anything else."""
        match = _ISO_WEEK.fullmatch(label.strip())
        if match is None:
            raise ValueError(f"{label!r} is not an ISO week such as 2026-W49")
        try:
            return cls(date.fromisocalendar(int(match[1]), int(match[2]), 1), tz)
        except ValueError:  # week 0, or a week 53 in a year of 52
            raise ValueError(f"{match[1]} has no week {match[2]}") from None

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def days(self) -> str:
        """e.g. 'Mon 23 Nov – Sun 29 Nov 2026 (Europe/Berlin)'."""
        return f"{self.monday:%a %d %b} – {self.sunday:%a %d %b %Y} ({self.tz.key})"

    def shifted(self, weeks: int) -> Week:
        return Week(self.monday + timedelta(weeks=weeks), self.tz)

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)


@dataclass(frozen=True)
class LoggedEvent:
    """One entry of a ticket's history, detached from the database."""

    ticket_id: int
    at: datetime
    actor: str
    kind: str
    data: Mapping[str, object]

    @property
    def by_rep(self) -> bool:
        """A person's action or a reply to the customer, rather than mail arriving."""
        if self.kind == "message":
            return self.data.get("direction") == "out"
        return self.kind in _REP_KINDS and self.actor != "mail"


@dataclass(frozen=True)
class Breach:
    ticket: TicketView
    target: str  # "response" | "resolution"
    state: TargetState  # missed, or breached and still running

    @property
    def over(self) -> timedelta:
        return -self.state.remaining


@dataclass(frozen=True)
class HandOff:
    ticket: TicketView
    at: datetime
    to: str  # the owner's name, else their address
    note: str | None


@dataclass(frozen=True)
class CustomerLoad:
    name: str
    tickets: int  # with customer mail in the week
    messages: int  # from the customer in the week


@dataclass(frozen=True)
class RotationSummary:
    week: Week
    now: datetime
    received: int  # tickets opened by people in the week
    automated: int  # auto-replies, bounces and list mail received in the week (no SLA)
    handled: int  # tickets with a rep's action or a reply in the week
    first_responses: Spread  # tickets first answered in the week, and how long that took
    responses_met: int  # of those, answered within the response target
    resolved: int
    breaches: tuple[Breach, ...]  # targets due in the week that were missed or are still breached
    hand_offs: tuple[HandOff, ...]
    open_hand_offs: tuple[TicketView, ...]  # tickets handed off in the week that are not resolved
    untriaged: tuple[TicketView, ...]  # received by the week's end, open and still without severity
    busiest: tuple[CustomerLoad, ...]

    @property
    def complete(self) -> bool:
        """False while the week is still going on."""
        return self.now >= self.week.end


def summarize(
    week: Week,
    views: Sequence[TicketView],
    events: Iterable[LoggedEvent],
    now: datetime,
    owner_names: Mapping[str, str] | None = None,
) -> RotationSummary:
    """The week's figures. views: every ticket, resolved ones too, with clocks as of now;
    events: at least those logged in the week (others are ignored)."""
    tickets = {view.id: view for view in views}
    people = [view for view in views if view.automated is None]
    logged = sorted((e for e in events if e.at in week), key=lambda e: e.at)
    received = [view for view in people if view.created_at in week]
    answered = [view for view in people if view.first_response_at in week]
    hand_offs = _hand_offs(logged, tickets, owner_names or {})
    return RotationSummary(
        week=week,
        now=now,
        received=len(received),
        automated=sum(1 for view in views if view.automated and view.created_at in week),
        handled=len({e.ticket_id for e in logged if e.by_rep} | {view.id for view in answered}),
        first_responses=spread([(view.first_response_at - view.created_at).total_seconds() for view in answered]),
        responses_met=sum(1 for view in answered if view.sla.response and view.sla.response.status == "met"),
        resolved=len({e.ticket_id for e in logged if e.kind == "state" and e.data.get("to") == "resolved"}),
        breaches=_breaches(people, week),
        hand_offs=hand_offs,
        open_hand_offs=tuple({h.ticket.id: h.ticket for h in hand_offs if h.ticket.state != "resolved"}.values()),
        untriaged=tuple(
            sorted(
                (v for v in people if v.severity is None and v.state != "resolved" and v.created_at < week.end),
                key=lambda view: view.created_at,
            )
        ),
        busiest=_busiest(received, logged, tickets),
    )


def _hand_offs(events: Sequence[LoggedEvent], tickets: Mapping[int, TicketView], names: Mapping[str, str]) -> tuple[HandOff, ...]:
    found = []
    for event in events:
        to = event.data.get("to")
        if event.kind == "owner" and to and event.ticket_id in tickets:
            note = event.data.get("note")
            found.append(HandOff(tickets[event.ticket_id], event.at, names.get(str(to), str(to)), note and str(note)))
    return tuple(found)


def _breaches(views: Sequence[TicketView], week: Week) -> tuple[Breach, ...]:
    found = [
        Breach(view, name, state)
        for view in views
        for name, state in (("response", view.sla.response), ("resolution", view.sla.resolution))
        if state is not None and state.status in ("missed", "breached") and state.due_at in week
    ]
    return tuple(sorted(found, key=lambda breach: breach.state.due_at))


def _busiest(received: Sequence[TicketView], events: Sequence[LoggedEvent], tickets: Mapping[int, TicketView]) -> tuple[CustomerLoad, ...]:
    """Customers by the mail they sent in the week: each new ticket's first message, then follow-ups."""
    writing = list(received)
    for event in events:
        view = tickets.get(event.ticket_id)
        if event.kind == "message" and event.data.get("direction") == "in" and view and view.automated is None:
            writing.append(view)
    messages = Counter(customer_label(view) for view in writing)
    active = Counter(customer_label(view) for view in {view.id: view for view in writing}.values())
    ranked = sorted(messages, key=lambda name: (-messages[name], -active[name], name))
    return tuple(CustomerLoad(name, active[name], messages[name]) for name in ranked[:_BUSIEST])


def customer_label(view: TicketView) -> str:
    """Who the ticket is for: the customer on file, else the sender's address."""
    return view.customer or view.requester or "(unknown sender)"


def clock_phrase(view: TicketView) -> str:
    """The ticket's running clock in words, e.g. 'resolution due in 20h 05m'."""
    target = view.clock
    if target is None or target.stopped:
        return "no clock running"
    name = target.name
    if target.status == "paused":
        return f"{name} clock paused"
    if target.status == "breached":
        return f"{name} breached {format_span(-target.remaining)} ago"
    risk = " (at risk)" if target.status == "at_risk" else ""
    return f"{name} due in {format_span(target.remaining)}{risk}"


def breach_phrase(breach: Breach) -> str:
    if breach.state.status == "missed":
        return f"{breach.target} missed by {format_span(breach.over)}"
    return f"{breach.target} breached, {format_span(breach.over)} over and still running"


# --- reading the store -------------------------------------------------------------------------


def week_events(week: Week) -> list[LoggedEvent]:
    """The week's changes that stand: one undone (in the week or after it) never happened, for the
    figures, and an undo is no work of its own."""
    query = (
        Event.select(Event.id, Event.ticket, Event.at, Event.actor, Event.kind, Event.data)
        .where((Event.at >= week.start) & (Event.at < week.end) & (Event.kind != "undo"))
        .order_by(Event.at, Event.id)
    )
    rows = list(query.tuples().iterator())
    if not rows:
        return []
    # An undo is logged after what it undid: those of the week's changes come after the first of them.
    after = Event.id > min(row[0] for row in rows)
    taken_back = undone(Event.select(Event.kind, Event.data).where((Event.kind == "undo") & after))
    return [LoggedEvent(*row[1:]) for row in rows if row[0] not in taken_back]


def rotation_summary(
    store: Store, week_start: date, views: Sequence[TicketView] | None = None, now: datetime | None = None
) -> RotationSummary:
    """The week holding week_start, in the business time zone, as of `now` (the store's clock).
    views: every ticket with resolved ones, when the caller has loaded them already."""
    week = Week.containing(week_start, store.config.calendar.timezone)
    if views is None:
        views = store.views(include_resolved=True)
    owner_names = dict(Owner.select(Owner.email, Owner.name).tuples())  # departed owners too
    return summarize(week, views, week_events(week), now or store.clock.now(), owner_names)


# --- the hand-over note ------------------------------------------------------------------------


def markdown_text(text: str) -> str:
    """Mail text as one line of literal Markdown: no link, emphasis, HTML or table-cell break."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def export_name(week: Week) -> str:
    return f"frontdesk-rotation-{week.label}.md"


def to_markdown(summary: RotationSummary) -> str:
    week = summary.week
    status = "" if summary.complete else " The week is not over yet."
    parts = [
        f"# Front-line hand-over, week {week.label}",
        "",
        f"{week.monday:%a %d %b} to {week.sunday:%a %d %b %Y} ({week.tz.key}), "
        f"as of {_when(summary.now, summary)}.{status}",
        "",
        "## The week in numbers",
        "",
        *_table(("Figure", "Value"), figures(summary)),
        *_section("Open hand-offs", [_open_hand_off_item(summary, view) for view in summary.open_hand_offs]),
        *_section("SLA breaches", [_breach_item(summary, breach) for breach in summary.breaches]),
        *_section("Still untriaged", [_untriaged_item(summary, view) for view in summary.untriaged]),
        *_section("Hand-offs this week", [_hand_off_item(summary, hand_off) for hand_off in summary.hand_offs]),
        "## Busiest customers",
        "",
    ]
    if summary.busiest:
        rows = [(c.name, str(c.tickets), str(c.messages)) for c in summary.busiest]
        parts += _table(("Customer", "Tickets", "Messages"), rows)
    else:
        parts += ["No customer mail this week.", ""]
    return "\n".join(parts)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table: the first column text, the others right-aligned figures."""
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    lines += ["| " + " | ".join(markdown_text(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _section(title: str, items: list[str]) -> list[str]:
    return [f"## {title}", "", *([f"- {item}" for item in items] or ["None."]), ""]


def _open_hand_off_item(summary: RotationSummary, view: TicketView) -> str:
    owner = markdown_text(view.owner_name or view.owner or "nobody")
    return f"{_ticket(view)}: with {owner}, {view.state}, {_age(summary, view)} old; {clock_phrase(view)}"


def _breach_item(summary: RotationSummary, breach: Breach) -> str:
    return f"{_ticket(breach.ticket)}: {breach_phrase(breach)} (due {_when(breach.state.due_at, summary)})"


def _untriaged_item(summary: RotationSummary, view: TicketView) -> str:
    return f"{_ticket(view)}: received {_when(view.created_at, summary)}, {_age(summary, view)} ago; {clock_phrase(view)}"


def _hand_off_item(summary: RotationSummary, hand_off: HandOff) -> str:
    note = f". Note: {markdown_text(hand_off.note)}" if hand_off.note else ""
    return f"{_when(hand_off.at, summary)}: {_ticket(hand_off.ticket)} to {markdown_text(hand_off.to)}{note}"


def figures(summary: RotationSummary) -> list[tuple[str, str]]:
    """The week's counts as (label, value) rows, for the note and the screen alike."""
    answered = summary.first_responses
    median = answered.median_seconds
    return [
        ("Tickets received", str(summary.received)),
        ("Automated mail (no SLA)", str(summary.automated)),
        ("Tickets handled", str(summary.handled)),
        ("First responses", str(answered.count)),
        ("Median first response", "-" if median is None else format_span(timedelta(seconds=median))),
        ("Answered within target", f"{summary.responses_met} of {answered.count}"),
        ("Tickets resolved", str(summary.resolved)),
        ("SLA breaches", str(len(summary.breaches))),
        ("Hand-offs", str(len(summary.hand_offs))),
        ("Hand-offs still open", str(len(summary.open_hand_offs))),
        ("Still untriaged", str(len(summary.untriaged))),
    ]


def _ticket(view: TicketView) -> str:
    return f"#{view.id} {markdown_text(view.subject or '(no subject)')} ({markdown_text(customer_label(view))})"


def _when(moment: datetime, summary: RotationSummary) -> str:
    """Local time at the desk, where the week is counted."""
    return f"{moment.astimezone(summary.week.tz):%a %d %b %H:%M}"


def _age(summary: RotationSummary, view: TicketView) -> str:
    return format_span(summary.now - view.created_at)
