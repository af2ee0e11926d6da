"""The rotation summary and its Markdown hand-over note."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from peewee import IntegrityError, fn
from textual.widgets import Markdown

from frontdesk.mail.demo import build_demo
from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import team, usecases
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import Person, load_config
from frontdesk.storage.models import MODELS, Event, Rotation, Ticket
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
from frontdesk.storage.team import current_rotation, rotation_history, take_rotation
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.cli import main
from frontdesk.tui.handover_screen import HandoverScreen
from frontdesk.tui.inbox import InboxScreen

from conftest import NOW, run_app, settle  # NOW: Wednesday 25 November 2026, 15:00 UTC

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
        getattr(usecases, action)(self.store, ticket_id, *args)  # the rep's actions are use cases


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
    desk.act(at(20, 12), "wait", f)
    desk.receive(at(24, 10), "f2@acme.example", sender="Frank <frank@acme.example>", in_reply_to="f@acme.example")
    # B: Acme, never triaged nor answered: its 24h response target broke on Tuesday 08:00.
    desk.receive(at(23, 8), "b@acme.example", subject="[bold red]x[/] | a_b *c* [/foo]")
    # C: Elite Co (4h response, 24h resolution): answered in 2h, resolved on Tuesday.
    c = desk.receive(at(23, 12), "c@elite.example", subject="Export fails", sender="Eve <eve@elite.example>")
    desk.act(at(23, 12, 30), "triage", c, 1)
    desk.act(at(23, 13), "reply", c, "Looking into it.")
    desk.answer(at(23, 14), "c@elite.example", "eve@elite.example")
    desk.act(at(24, 10), "resolve", c)
    # D: an auto-reply: kept, but no SLA and not a received ticket.
    desk.receive(at(24, 8), "d@acme.example", subject="Out of office", Auto_Submitted="auto-replied")
    # E: Acme, severity 2, a follow-up from the customer, handed to Bob and resolved the same day.
    e = desk.receive(at(24, 9), "e@acme.example", subject="Billing question")
    desk.act(at(24, 9, 30), "triage", e, 2)
    desk.receive(at(24, 15), "e2@acme.example", in_reply_to="e@acme.example")
    desk.act(at(24, 16), "assign", e, "bob@example.com")
    desk.act(at(24, 17), "resolve", e)
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
    for row in ("| Tickets received | 3 |", "| Median first response | 2h 00m |", "| Answered within target | 1 of 1 |",
                "| SLA breaches | 1 |", "| Hand-offs still open | 1 |", "| Still untriaged | 1 |"):
        assert f"\n{row}\n" in note
    hostile = r"\[bold red\]x\[/\] \| a\_b \*c\* \[/foo\]"
    assert f"- #3 {hostile} (Acme): response breached, 1d 07h over and still running (due Tue 24 Nov 08:00)\n" in note
    assert "- #1 Search is down (Acme): with Bob Example, open, 6d 05h old; resolution breached 3d 05h ago\n" in note
    assert "- Mon 23 Nov 09:00: #1 Search is down (Acme) to Bob Example. Note: needs the \\| index expert\n" in note
    assert note.endswith("| Customer | Tickets | Messages |\n|---|---:|---:|\n| Acme | 3 | 4 |\n| Elite Co | 1 | 1 |\n")


def test_a_change_undone_counts_for_nothing_even_when_undone_the_week_after(desk, store, clock):
    def figures() -> tuple:
        s = rotation_summary(store, W48)
        hand_offs = [(h.ticket.id, h.to, h.note) for h in s.hand_offs]
        tickets = [[v.id for v in views] for views in (s.open_hand_offs, s.untriaged)]
        return s.received, s.handled, s.first_responses, s.responses_met, s.resolved, hand_offs, tickets

    before = figures()
    b, f = 3, 2  # B: nobody has touched it; F: open again since the customer answered
    clock.set(at(26, 10))
    for action, *args in (("triage", 1), ("resolve",), ("assign", "bob@example.com", "yours")):
        done = getattr(usecases, action)(store, b, *args)
        usecases.undo(store, b, version=done.ticket.version)
    clock.set(at(27, 10))
    resolved = usecases.resolve(store, f)
    clock.set(at(30, 12))  # Monday: the next week
    usecases.undo(store, f, version=resolved.ticket.version)

    assert figures() == before
    assert rotation_summary(store, W48.replace(day=30)).resolved == 0, "an undo is no work of its own"


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


def test_the_demo_has_two_reps_and_a_turn_for_each_week(demo):
    alex, jamie = rotation_history(demo)
    assert (alex.rep_name, alex.previous_name, jamie.rep_name, jamie.previous_name) == ("Alex Rivera", "Jamie Chen", "Jamie Chen", None)
    assert alex.started_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # Monday 09:00 in New York
    assert jamie.started_at == alex.started_at - timedelta(days=7)
    assert demo.config.me.name == "Alex Rivera" and alex.held_by(demo.config.me)
    assert alex.handover.startswith("# Hand-over from Jamie Chen\n\nAlex Rivera took the rotation over from Jamie Chen on Mon 23 Nov 09:00")
    assert "## Hand-offs in flight\n" in alex.handover and "## The week 2026-W47\n" in alex.handover
    actors = {actor: (first, last) for actor, first, last in (
        Event.select(Event.actor, fn.MIN(Event.at), fn.MAX(Event.at)).where(Event.actor != "mail").group_by(Event.actor).tuples()
    )}
    assert set(actors) == {"Jamie Chen", "Alex Rivera"}
    assert actors["Jamie Chen"][1] < alex.started_at <= actors["Alex Rivera"][0]


# --- who is on rotation: shared by the team --------------------------------------------------------

DANA = Person("Dana Rep", "dana@example.com")
SAM = Person("Sam Lee", "sam@example.com")


def test_taking_the_rotation(store, clock):
    assert current_rotation(store) is None
    taken = take_rotation(store, DANA, NOW)
    assert taken.took
    turn = current_rotation(store)
    assert (turn.rep_name, turn.rep_email, turn.started_at, turn.previous_name) == ("Dana Rep", "dana@example.com", NOW, None)
    assert turn.handover.startswith("# Hand-over note\n\nDana Rep took the rotation on Wed 25 Nov 15:00 (UTC); nobody held it before.\n")
    assert turn == taken.turn


def test_taking_it_again_changes_nothing(store):
    first = take_rotation(store, DANA, NOW)
    again = take_rotation(store, Person("dana rep", "DANA@example.com"), NOW + timedelta(hours=1))
    assert not again.took and again.turn == first.turn
    assert rotation_history(store) == [first.turn]


def test_taking_over_follows_the_previous_rep(store):
    take_rotation(store, DANA, NOW - timedelta(days=7))
    taken = take_rotation(store, SAM, NOW)
    assert taken.took and current_rotation(store) == taken.turn
    assert (taken.turn.rep_name, taken.turn.previous_name) == ("Sam Lee", "Dana Rep")
    assert taken.turn.handover.startswith(
        "# Hand-over from Dana Rep\n\nSam Lee took the rotation over from Dana Rep on Wed 25 Nov 15:00 (UTC), after 7d 00h.\n"
    )
    assert [turn.rep_name for turn in rotation_history(store)] == ["Sam Lee", "Dana Rep"]


def test_taking_over_records_what_the_desk_holds(desk, store, clock):
    take_rotation(store, DANA, at(16, 9))
    usecases.acknowledge(store, 3)  # B: a promise
    usecases.acknowledge(store, 6)  # E is resolved: no promise left open
    store.save_draft(2, "Hi Frank, about SSO:")
    note = take_rotation(store, SAM, NOW).turn.handover
    hostile = r"\[bold red\]x\[/\] \| a\_b \*c\* \[/foo\]"
    assert note.startswith("# Hand-over from Dana Rep\n\nSam Lee took the rotation over from Dana Rep on Wed 25 Nov 15:00 (UTC), after 9d 06h.\n")
    assert (
        "## Promised a follow-up\n\n"
        f"- #3 {hostile} (Acme): acknowledged Wed 25 Nov 15:00, nothing sent since; response breached 1d 07h ago\n\n"
    ) in note
    assert (
        "## At risk or breached\n\n"
        "- #1 Search is down (Acme): resolution breached 3d 05h ago\n"
        f"- #3 {hostile} (Acme): response breached 1d 07h ago\n\n"
    ) in note
    assert "## Unsent drafts\n\n- #2 Question about SSO (Acme): draft saved Wed 25 Nov 15:00\n" in note
    assert (
        "## Waiting in the outbox\n\n"
        "- #4 Export fails (Elite Co): reply queued Mon 23 Nov 13:00\n"
        f"- #3 {hostile} (Acme): acknowledgement queued Wed 25 Nov 15:00\n"
        "- #6 Billing question (Acme): acknowledgement queued Wed 25 Nov 15:00\n\n"
    ) in note
    assert "## Hand-offs in flight\n\n- #1 Search is down (Acme): with Bob Example, open; resolution breached 3d 05h ago\n" in note
    # The week so far (a Wednesday), its own headings one level down.
    assert "\n## The week 2026-W48\n\nMon 23 Nov to Sun 29 Nov 2026 (UTC), as of Wed 25 Nov 15:00. The week is not over yet.\n" in note
    assert "\n### The week in numbers\n" in note and "\n### Busiest customers\n" in note
    assert "\x1b" not in note and "[bold red]" not in note


def test_an_answer_after_the_acknowledgement_keeps_the_promise(desk, store):
    usecases.acknowledge(store, 3)
    usecases.reply(store, 3, "Here is the fix.")
    note = take_rotation(store, SAM, NOW).turn.handover
    assert "## Promised a follow-up" not in note
    assert "\nNo promised follow-ups or unsent drafts.\n" in note


def test_on_a_monday_the_note_sums_up_the_week_just_ended(desk, store, clock):
    monday = at(30, 9)
    clock.set(monday)
    note = take_rotation(store, SAM, monday).turn.handover
    assert "\n## The week 2026-W48\n" in note and "The week is not over yet" not in note


def test_two_stores_on_one_database_share_the_rotation(database, store, config, clock):
    other = Store.open(database, config, clock)
    try:
        take_rotation(other, DANA, NOW - timedelta(days=1))
        assert current_rotation(store).rep_name == "Dana Rep"
        take_rotation(store, SAM, NOW)
        assert current_rotation(other).rep_name == "Sam Lee"
        assert current_rotation(other).previous_name == "Dana Rep"
    finally:
        other.close()


def test_someone_taking_over_meanwhile_is_followed(database, store, config, clock, monkeypatch):
    """Dana takes the rotation between Sam's look and Sam's write: Sam follows Dana."""
    other = Store.open(database, config, clock)
    real_note = team.handover_note
    interrupted = []

    def note_while_dana_takes_over(*args):
        if not interrupted:
            interrupted.append(True)
            take_rotation(other, DANA, NOW - timedelta(minutes=1))
        return real_note(*args)

    monkeypatch.setattr(team, "handover_note", note_while_dana_takes_over)
    try:
        taken = take_rotation(store, SAM, NOW)
        assert taken.took and taken.turn.previous_name == "Dana Rep"
        assert [turn.rep_name for turn in rotation_history(other)] == ["Sam Lee", "Dana Rep"]
    finally:
        other.close()


def test_a_turn_can_follow_another_only_once(store):
    first = take_rotation(store, DANA, NOW).turn
    values = dict(rep_name="Sam Lee", started_at=NOW, follows=0)
    with pytest.raises(IntegrityError), store.transaction():
        Rotation.insert(**values).execute()
    assert rotation_history(store) == [first]


def test_the_rotation_history_is_append_only(store):
    take_rotation(store, DANA, NOW)
    with pytest.raises(IntegrityError, match="append-only"), store.transaction():
        Rotation.update(rep_name="Mallory").execute()
    with pytest.raises(IntegrityError, match="append-only"), store.transaction():
        Rotation.delete().execute()
    assert current_rotation(store).rep_name == "Dana Rep"


def test_a_stale_look_is_caught_by_the_database(store, monkeypatch):
    """Sam's session still believes nobody is on rotation when it writes: the database refuses a
    second turn following the same one, and Sam looks again and follows Dana."""
    take_rotation(store, DANA, NOW - timedelta(minutes=1))
    real_current = team.current_rotation
    stale = [None, None]  # the look before the write, and the check inside its transaction
    monkeypatch.setattr(team, "current_rotation", lambda store: stale.pop() if stale else real_current(store))
    taken = take_rotation(store, SAM, NOW)
    assert taken.took and taken.turn.previous_name == "Dana Rep"
    assert [turn.rep_name for turn in rotation_history(store)] == ["Sam Lee", "Dana Rep"]


# --- the inbox: who is on rotation, live -------------------------------------------------------------


def _banner(app) -> str:
    return app.screen_stack[0].query_one("#banner").render().plain


def test_the_inbox_shows_who_is_on_rotation_and_follows_other_sessions(database, store, config, clock):
    app = FrontdeskApp(store, state_file=None, tick_seconds=0.1)
    other = Store.open(database, config, clock)  # another rep's session on the same database
    store.db.bind(MODELS, bind_refs=False, bind_backrefs=False)  # this process's models stay on the app's store

    async def script(pilot):
        assert "Nobody on rotation: ctrl+p, Take over the rotation" in _banner(app)
        take_rotation(other, SAM, NOW - timedelta(days=1))
        await pilot.pause(0.3)
        await settle(pilot)
        assert "Sam Lee on rotation since Tue 15:00" in _banner(app)
        assert "Sam Lee took over the rotation" in [str(n.message) for n in app._notifications]
        assert isinstance(app.screen, InboxScreen)  # nothing for Dana to read: it isn't her turn

        # Dana takes it over from the palette: her header, and Sam's note to read.
        app.screen.action_take_rotation()
        await settle(pilot)
        assert isinstance(app.screen, HandoverScreen)
        shown = app.screen.query_one(Markdown).source
        assert shown.startswith("# Hand-over from Sam Lee\n\nDana Rep took the rotation over from Sam Lee")
        assert "Dana Rep on rotation since Wed 15:00" in _banner(app)
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)
        await pilot.pause(0.3)
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen), "the note is shown once"
        assert current_rotation(other).rep_name == "Dana Rep"

        # Back from Sam's session: Dana's inbox follows.
        take_rotation(other, SAM, NOW + timedelta(minutes=1))
        await pilot.pause(0.3)
        await settle(pilot)
        assert "Sam Lee on rotation since Wed 15:01" in _banner(app)

    try:
        run_app(app, script)
    finally:
        other.close()


def test_the_palette_takes_the_rotation(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Take over the rotation" in titles and "Hand-over note" in titles
        assert "Alex Rivera on rotation since Mon 09:00" in _banner(app)
        app.screen.action_take_rotation()
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert "You are on rotation already, since Mon 09:00." in [str(n.message) for n in app._notifications]
        app.screen.action_handover_note()
        await settle(pilot)
        assert isinstance(app.screen, HandoverScreen)
        assert app.screen.query_one(Markdown).source.startswith("# Hand-over from Jamie Chen\n")

    run_app(app, script)


def test_without_me_the_inbox_says_how_to_set_it(tmp_path, clock):
    path = tmp_path / "anonymous.toml"
    path.write_text('[support]\naddress = "support@example.com"\n', encoding="utf-8")
    config = load_config(path, environ={})
    assert config.me is None
    store = Store.open(tmp_path / "anonymous.db", config, clock)
    app = FrontdeskApp(store, state_file=None)

    async def script(pilot):
        notices = [str(n.message) for n in app._notifications]
        assert f"Who are you? Add [me] name and email to {path}" in notices
        app.screen.action_take_rotation()
        await settle(pilot)
        assert current_rotation(store) is None

    try:
        run_app(app, script)
    finally:
        store.close()


# --- the command line ------------------------------------------------------------------------------


@pytest.fixture
def cli(tmp_path, config_path, monkeypatch, capsys):
    """`frontdesk --db ... --config ... ARGS` as Dana: (status, stdout, stderr)."""
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(*args: str, config: Path = config_path) -> tuple[int, str, str]:
        status = main(["--db", str(tmp_path / "cli.db"), "--config", str(config), *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def test_frontdesk_rotation_take(cli, tmp_path):
    assert cli("rotation") == (0, "Nobody has taken the rotation yet: frontdesk rotation take\n", "")
    status, out, _ = cli("rotation", "take")
    assert (status, out) == (0, "Dana Rep is on rotation now\n")
    assert cli("rotation", "take")[:2] == (0, "You are on rotation already, since Wed 25 Nov 2026 15:00; nothing changed.\n")
    sam = tmp_path / "sam.toml"
    sam.write_text((tmp_path / "config.toml").read_text() + '\n[me]\nname = "Sam Lee"\nemail = "sam@example.com"\n')
    status, out, _ = cli("rotation", "take", config=sam)
    assert (status, out) == (0, "Sam Lee is on rotation now, after Dana Rep. Their hand-over note: frontdesk rotation note\n")
    status, out, _ = cli("rotation")
    assert out.splitlines() == [
        "On rotation: Sam Lee <sam@example.com>, since Wed 25 Nov 2026 15:00 (UTC), after Dana Rep. "
        "Their hand-over note: frontdesk rotation note",
        "  before: Wed 25 Nov 2026 15:00  Dana Rep",
    ]
    status, out, _ = cli("rotation", "note")
    assert status == 0 and out.startswith("# Hand-over from Dana Rep\n\nSam Lee took the rotation over from Dana Rep")
    status, out, _ = cli("rotation", "--json")
    turns = json.loads(out)
    assert [(t["rep"], t["started_at"], t["previous"]) for t in turns] == [
        ({"name": "Sam Lee", "email": "sam@example.com"}, "2026-11-25T15:00:00Z", "Dana Rep"),
        ({"name": "Dana Rep", "email": None}, "2026-11-25T15:00:00Z", None),
    ]


def test_frontdesk_rotation_take_needs_to_know_who_you_are(cli, tmp_path):
    anonymous = tmp_path / "anonymous.toml"
    anonymous.write_text('[support]\naddress = "support@example.com"\n', encoding="utf-8")
    status, out, err = cli("rotation", "take", config=anonymous)
    assert status == 2 and out == ""
    assert err == f"frontdesk: Who are you? Add [me] name and email to {anonymous}\n"
    assert cli("rotation", "note")[0] == 1


def test_snapshot_hand_over_note_80x24(demo, snap_compare):
    """Jamie's note to Alex in the demo, as the palette's "Hand-over note" shows it (on SQLite:
    the screen doesn't depend on the backend)."""

    async def open_note(pilot):
        await settle(pilot)
        pilot.app.screen.action_handover_note()
        await settle(pilot)

    app = FrontdeskApp(demo, demo=True, state_file=None)
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_note)
