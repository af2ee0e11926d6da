"""The rotation summary and its Markdown hand-over note."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from frontdesk.mail.demo import build_demo
from frontdesk.mail.ingest import Ingestor
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.models import Ticket
from frontdesk.storage.rotation import (
    LoggedEvent,
    RotationSummary,
    Week,
    markdown_text,
    rotation_summary,
    summarize,
    to_markdown,
)
from frontdesk.storage.store import Store

from conftest import NOW  # Wednesday 25 November 2026, 15:00 UTC

UTC = timezone.utc
NEW_YORK = ZoneInfo("America/New_York")
W48 = date(2026, 11, 23)
W47 = date(2026, 11, 16)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


# --- weeks ---------------------------------------------------------------------------------------


def test_a_week_is_monday_to_monday_in_the_business_time_zone():
    week = Week.containing(date(2026, 11, 25), NEW_YORK)
    assert (week.monday, week.label) == (W48, "2026-W48")
    assert week.start == at(23, 5) and week.end == at(30, 5)  # EST is UTC-5
    assert at(23, 5) in week and at(30, 5) not in week and None not in week


def test_an_instant_belongs_to_the_local_week():
    # Monday 02:00 UTC is still Sunday evening in New York.
    assert Week.containing(at(23, 2), NEW_YORK).monday == W47
    assert Week.containing(at(23, 2), ZoneInfo("UTC")).monday == W48


def test_the_week_daylight_saving_ends_has_169_hours():
    week = Week.containing(date(2026, 11, 1), NEW_YORK)  # clocks fall back on Sunday 1 November
    assert week.monday == date(2026, 10, 26)
    assert week.end - week.start == timedelta(hours=169)
    assert week.shifted(1).end - week.shifted(1).start == timedelta(hours=168)


def test_a_week_must_start_on_a_monday():
    with pytest.raises(ValueError, match="starts on a Monday"):
        Week(date(2026, 11, 25), NEW_YORK)


def test_only_people_handle_tickets():
    event = LoggedEvent(1, NOW, "mail", "state", {"from": "waiting", "to": "open"})
    assert not event.by_rep
    assert LoggedEvent(1, NOW, "Dana Rep", "state", {"from": "open", "to": "waiting"}).by_rep
    assert LoggedEvent(1, NOW, "mail", "message", {"direction": "out"}).by_rep
    assert not LoggedEvent(1, NOW, "mail", "message", {"direction": "in"}).by_rep


def test_no_tickets_no_figures():
    summary = summarize(Week(W48, ZoneInfo("UTC")), [], [], NOW)
    assert (summary.received, summary.handled, summary.first_responses.count, summary.busiest) == (0, 0, 0, ())
    assert "None." in to_markdown(summary) and "No customer mail this week." in to_markdown(summary)


# --- a week replayed on a real store ---------------------------------------------------------------


class Desk:
    """Mail arrives and the rep acts, each at its own moment on the frozen clock."""

    def __init__(self, store: Store, clock: FrozenClock, mail) -> None:
        self.store, self.clock, self.mail = store, clock, mail
        self.ingestor = Ingestor(store)

    def receive(self, when: datetime, message_id: str, **headers) -> int:
        self.clock.set(when)
        self.ingestor.ingest(self.mail(date=when, message_id=message_id, **headers), "test", received_at=when)
        return Ticket.select().order_by(Ticket.id.desc()).get().id

    def answer(self, when: datetime, message_id: str, to: str) -> None:
        """Our reply, as found in the Sent folder: it stops the response clock."""
        self.receive(when, f"re-{message_id}", sender="support@example.com", to=to, in_reply_to=message_id)

    def act(self, when: datetime, action: str, ticket_id: int, *args) -> None:
        self.clock.set(when)
        getattr(self.store, action)(ticket_id, *args)


@pytest.fixture
def desk(store, clock, mail) -> Desk:
    """Two weeks at the desk (business time zone UTC); see each ticket's comment for its story."""
    desk = Desk(store, clock, mail)
    # A: Acme, severity 1, answered in 23h last week; its 72h resolution came due last Sunday and
    # it is still open; handed to Bob on Monday.
    a = desk.receive(at(19, 10), "a@acme.example", subject="Search is down")
    desk.act(at(19, 11), "triage", a, 1)
    desk.answer(at(20, 9), "a@acme.example", "alice@acme.example")
    desk.act(at(23, 9), "assign", a, "bob@example.com", "needs the | index expert")
    # F: Acme, severity 2, waiting since last week; the customer's answer reopens it this week.
    f = desk.receive(at(20, 10), "f@acme.example", subject="Question about SSO", sender="Frank <frank@acme.example>")
    desk.act(at(20, 11), "triage", f, 2)
    desk.act(at(20, 12), "set_state", f, "waiting")
    desk.receive(at(24, 10), "f2@acme.example", sender="Frank <frank@acme.example>", in_reply_to="f@acme.example")
    # B: Acme, never triaged nor answered: its 24h response target broke on Tuesday 08:00.
    desk.receive(at(23, 8), "b@acme.example", subject="[bold red]x[/] | a_b *c* [/foo]")
    # C: Elite Co (4h response, 24h resolution): answered in 2h, resolved on Tuesday.
    c = desk.receive(at(23, 12), "c@elite.example", subject="Export fails", sender="Eve <eve@elite.example>")
    desk.act(at(23, 12, 30), "triage", c, 1)
    desk.act(at(23, 13), "queue_reply", c, "Looking into it.")
    desk.answer(at(23, 14), "c@elite.example", "eve@elite.example")
    desk.act(at(24, 10), "set_state", c, "resolved")
    # D: an auto-reply: kept, but no SLA and not a received ticket.
    desk.receive(at(24, 8), "d@acme.example", subject="Out of office", Auto_Submitted="auto-replied")
    # E: Acme, severity 2, a follow-up from the customer, handed to Bob and resolved the same day.
    e = desk.receive(at(24, 9), "e@acme.example", subject="Billing question")
    desk.act(at(24, 9, 30), "triage", e, 2)
    desk.receive(at(24, 15), "e2@acme.example", in_reply_to="e@acme.example")
    desk.act(at(24, 16), "assign", e, "bob@example.com")
    desk.act(at(24, 17), "set_state", e, "resolved")
    clock.set(NOW)
    return desk


def test_this_week(desk, store):
    summary = rotation_summary(store, date(2026, 11, 25))
    assert (summary.week.label, summary.complete) == ("2026-W48", False)
    assert (summary.received, summary.automated, summary.handled, summary.resolved) == (3, 1, 3, 2)
    assert summary.first_responses.as_json() == {"count": 1, "median_seconds": 7200.0, "p90_seconds": 7200.0}
    assert summary.responses_met == 1
    [breach] = summary.breaches
    assert (breach.ticket.subject, breach.target, breach.state.status) == ("[bold red]x[/] | a_b *c* [/foo]", "response", "breached")
    assert (breach.state.due_at, breach.over) == (at(24, 8), timedelta(hours=31))
    assert [(h.ticket.subject, h.to, h.note) for h in summary.hand_offs] == [
        ("Search is down", "Bob Example", "needs the | index expert"),
        ("Billing question", "Bob Example", None),
    ]
    assert [v.subject for v in summary.open_hand_offs] == ["Search is down"]
    assert [v.subject for v in summary.untriaged] == ["[bold red]x[/] | a_b *c* [/foo]"]
    assert [(c.name, c.tickets, c.messages) for c in summary.busiest] == [("Acme", 3, 4), ("Elite Co", 1, 1)]


def test_last_week(desk, store):
    summary = rotation_summary(store, W47)
    assert (summary.week.label, summary.complete) == ("2026-W47", True)
    assert (summary.received, summary.automated, summary.handled, summary.resolved) == (2, 0, 2, 0)
    assert summary.first_responses.as_json() == {"count": 1, "median_seconds": 82800.0, "p90_seconds": 82800.0}
    [breach] = summary.breaches  # A's resolution: due Sunday 22 November 10:00, still open
    assert (breach.ticket.subject, breach.target, breach.state.due_at) == ("Search is down", "resolution", at(22, 10))
    assert (summary.hand_offs, summary.open_hand_offs, summary.untriaged) == ((), (), ())
    assert [(c.name, c.tickets, c.messages) for c in summary.busiest] == [("Acme", 2, 2)]


def test_the_hand_over_note(desk, store):
    note = to_markdown(rotation_summary(store, W48))
    assert note.startswith(
        "# Front-line hand-over, week 2026-W48\n\n"
        "Mon 23 Nov to Sun 29 Nov 2026 (UTC), as of Wed 25 Nov 15:00. The week is not over yet.\n"
    )
    for row in ("| Tickets received | 3 |", "| Median first response | 2h00m |", "| Answered within target | 1 of 1 |",
                "| SLA breaches | 1 |", "| Hand-offs still open | 1 |", "| Still untriaged | 1 |"):
        assert f"\n{row}\n" in note
    hostile = r"\[bold red\]x\[/\] \| a\_b \*c\* \[/foo\]"
    assert f"- #3 {hostile} (Acme): response breached, 1d 7h over and still running (due Tue 24 Nov 08:00)\n" in note
    assert "- #1 Search is down (Acme): with Bob Example, open, 6d 5h old; resolution breached 3d 5h ago\n" in note
    assert "- Mon 23 Nov 09:00: #1 Search is down (Acme) to Bob Example. Note: needs the \\| index expert\n" in note
    assert note.endswith("| Customer | Tickets | Messages |\n|---|---:|---:|\n| Acme | 3 | 4 |\n| Elite Co | 1 | 1 |\n")


def test_markdown_text_is_one_literal_line():
    assert markdown_text("[x](http://e.example) *a* _b_\n`c` <img> a|b &amp; ~~d~~ \\") == (
        r"\[x\](http://e.example) \*a\* \_b\_ \`c\` \<img> a\|b \&amp; \~\~d\~\~ \\"
    )


# --- the demo mailbox ------------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Store]:
    config_path, db_path = build_demo(tmp_path, NOW)
    store = Store.open(db_path, load_config(config_path), FrozenClock(NOW))
    yield store
    store.close()


def _counts(summary: RotationSummary) -> tuple[int, ...]:
    return (
        summary.received, summary.automated, summary.handled, summary.first_responses.count, summary.resolved,
        len(summary.breaches), len(summary.hand_offs), len(summary.open_hand_offs), len(summary.untriaged),
    )


def test_the_demo_week(demo):
    summary = rotation_summary(demo, NOW.date())
    assert summary.week.start == at(23, 5)  # the demo's desk is in New York
    assert _counts(summary) == (18, 2, 18, 10, 3, 3, 11, 10, 7)
    assert summary.busiest[0].name == "Northwind Traders"
    note = to_markdown(summary)
    assert r"\[bold red\]URGENT\[/\] everyone logged out after the SSO certificate change \[/\] (Hooli)" in note
    assert "\x1b" not in note


def test_the_demo_week_before(demo):
    summary = rotation_summary(demo, W47, views=demo.views(include_resolved=True))
    assert _counts(summary) == (10, 0, 9, 8, 6, 2, 5, 1, 0)
    assert summary.complete
