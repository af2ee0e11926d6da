"""The query language: reading a query (storage/query.py parse_query) and running it on a real
store on both backends (storage/find.py), against what the inbox's own views select."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.mail.demo import build_demo
from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.find import find
from frontdesk.storage.query import BUILT_IN_VIEWS, FIELDS, ME, Query, QueryError, Term, parse_query
from frontdesk.storage.store import Store
from frontdesk.tui import views as inbox_views

from conftest import CONFIG_TOML, NOW, build_mail

# --- reading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "field", "values"),
    [
        ("customer:acme", "customer", ("acme",)),
        ('customer:"Elite Co"', "customer", ("Elite Co",)),
        ("customer:none", "customer", (None,)),
        ('customer:"none"', "customer", ("none",)),
        ("customer:acme,elite", "customer", ("acme", "elite")),
        ("owner:me", "owner", (ME,)),
        ("owner:none", "owner", (None,)),
        ("owner:bob@example.com", "owner", ("bob@example.com",)),
        ("owner:me,none", "owner", (ME, None)),
        ("sev:1", "sev", (1,)),
        ("sev:2", "sev", (2,)),
        ("SEV:None", "sev", (None,)),
        ("sev:1,none", "sev", (1, None)),
        ("state:waiting", "state", ("waiting",)),
        ("state:new,open", "state", ("new", "open")),
        ("is:breached", "is", ("breached",)),
        ("is:at-risk", "is", ("at-risk",)),
        ("is:at_risk", "is", ("at-risk",)),
        ("is:untriaged", "is", ("untriaged",)),
        ("is:automated", "is", ("automated",)),
        ("is:mine", "is", ("mine",)),
        ("has:draft", "has", ("draft",)),
        ("has:outbox", "has", ("outbox",)),
        ("has:note", "has", ("note",)),
        ("from:grace@", "from", ("grace@",)),
        ('subject:"upgrade"', "subject", ("upgrade",)),
        ('subject:"helm upgrade, again"', "subject", ("helm upgrade, again",)),
        ("subject:a,b", "subject", ("a,b",)),
        ("after:2026-11-01", "after", (date(2026, 11, 1),)),
        ("before:7d", "before", (timedelta(days=7),)),
        ("before:24h", "before", (timedelta(hours=24),)),
        ("after:30m", "after", (timedelta(minutes=30),)),
        ("after:2w", "after", (timedelta(weeks=2),)),
    ],
)
def test_every_field_reads_into_typed_values(text, field, values):
    [term] = parse_query(text).terms
    assert (term.field, term.values, term.negated) == (field, values, False)


def test_terms_keep_their_place_negation_and_phrases():
    query = parse_query('  helm -owner:none "pre-upgrade hook" -"out of office" 10:30 -sev:1 ')
    assert query.terms == (
        Term(None, ("helm",), source="helm", start=2),
        Term("owner", (None,), negated=True, source="-owner:none", start=7),
        Term(None, ("pre-upgrade hook",), phrase=True, source='"pre-upgrade hook"', start=19),
        Term(None, ("out of office",), negated=True, phrase=True, source='-"out of office"', start=38),
        Term(None, ("10:30",), source="10:30", start=55),  # a colon after digits is a word, not a field
        Term("sev", (1,), negated=True, source="-sev:1", start=61),
    )
    assert parse_query("   ").terms == ()


def test_every_field_of_the_contract_is_read():
    assert set(FIELDS) == {"customer", "owner", "sev", "state", "is", "has", "from", "subject", "after", "before"}


@pytest.mark.parametrize(
    ("text", "term", "column", "reason"),
    [
        ("owner:me cust:acme", "cust:acme", 10, 'unknown field "cust:" (did you mean customer:?)'),
        ("severity:1", "severity:1", 1, "did you mean sev:?"),
        ("https://example.com", "https://example.com", 1, "put them in quotes"),
        ("helm sev:3", "sev:3", 6, "sev: takes 1, 2 or none"),
        ("sev:", "sev:", 1, "sev: takes 1, 2 or none"),
        ("sev:1,", "sev:1,", 1, "sev: takes 1, 2 or none"),
        ("state:closed", "state:closed", 1, "state: takes new, open, waiting or resolved"),
        ("is:late", "is:late", 1, "is: takes breached, at-risk, untriaged, automated or mine"),
        ("has:attachment", "has:attachment", 1, "has: takes draft, outbox or note"),
        ("before:yesterday", "before:yesterday", 1, "before: takes a date like 2026-11-01 or an age like 7d or 24h"),
        ("after:2026-13-01", "after:2026-13-01", 1, "after: takes a date like 2026-11-01"),
        ("after:0999-01-01", "after:0999-01-01", 1, "after: takes a date"),
        ("after:7bd", "after:7bd", 1, "after: takes a date"),
        ("after:10000w", "after:10000w", 1, "after: takes a date"),
        ("after:1d,2d", "after:1d,2d", 1, "after: takes a date"),
        ("customer:", "customer:", 1, "customer: takes a customer's name, or none"),
        ("owner:", "owner:", 1, "owner: takes me, none, or an owner's name or email"),
        ('subject:""', 'subject:""', 1, "subject: takes a word"),
        ('helm subject:"upgrade', '"upgrade', 14, 'unclosed quote: add a closing "'),
        ('"pre-upgrade"hook', '"pre-upgrade"h', 1, "put a space after the closing quote"),
        ('subject:up"grade"', 'subject:up"grade"', 1, "quotes go around the whole value"),
        ('up"grade"', 'up"grade"', 1, "quotes go around a whole phrase"),
        ('""', '""', 1, "an empty phrase"),
        ("helm -", "-", 6, "a - goes right before the term it negates"),
        ("--helm", "--helm", 1, "one - negates a term"),
        ("!!", "!!", 1, "nothing to search for"),
        ("helm\x1b[31m", "helm\x1b[31m", 1, "control character"),
    ],
)
def test_a_wrong_query_names_the_term_its_column_and_what_was_expected(text, term, column, reason):
    with pytest.raises(QueryError) as raised:
        parse_query(text)
    error = raised.value
    assert (error.term, error.start + 1) == (term, column)
    assert text[error.start : error.end] == term
    assert reason in error.reason
    message = str(error)
    assert message.startswith(f"column {column}, ") and reason in message
    assert "\n" not in message and "\x1b" not in message


# Pieces of the grammar, so that generated text reaches every path, not only the free words.
_PIECES = [
    *(f"{field}:" for field in FIELDS), "-", '"', ",", " ", ":", "me", "none", "1", "2", "3", "7d", "24h", "99999w",
    "2026-11-01", "2026-02-30", "at-risk", "breached", "waiting", "draft", "acme", "helm", "é", "\x00", "\ud800", "%", "_",
]


@given(st.one_of(st.text(), st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)))
def test_any_text_is_a_query_or_one_line_pointing_into_it(text):
    try:
        query = parse_query(text)
    except QueryError as error:
        assert 0 <= error.start < error.end <= len(text) and text[error.start : error.end] == error.term
        assert error.reason and "\n" not in str(error)
    else:
        assert isinstance(query, Query) and query.text == text
        for term in query.terms:
            assert text[term.start : term.start + len(term.source)] == term.source


# --- running ------------------------------------------------------------------------------------

ME_TOML = '\n[me]\nname = "Bob Example"\nemail = "Bob@Example.com"\n'


def open_store(target: Path | str, tmp_path: Path, clock: FrozenClock, extra: str = "", timezone_name: str = "UTC") -> Store:
    config_file = tmp_path / f"config-{timezone_name.replace('/', '-')}.toml"
    config_file.write_text(CONFIG_TOML.replace('timezone = "UTC"', f'timezone = "{timezone_name}"') + extra, encoding="utf-8")
    return Store.open(target, load_config(config_file), clock)


@dataclass
class Desk:
    store: Store
    tickets: dict[str, int]  # by a name


def make_desk(store: Store) -> Desk:
    """Six tickets, each a kind that queries tell apart."""
    ingest = Ingestor(store).ingest

    def arrive(name: str, at: datetime, **message) -> int:
        ingest(build_mail(message_id=f"{name}@test", date=at, **message), "test", received_at=at)
        return max(view.id for view in store.views(include_resolved=True))

    desk = {
        "search": arrive("search", NOW - timedelta(hours=1), subject="Search is down"),
        "licence": arrive(
            "licence", NOW - timedelta(hours=3, minutes=50), subject="Licence question", sender="Eve Elite <eve@elite.example>"
        ),
        "away": arrive(
            "away", NOW - timedelta(days=10), subject="Out of office", sender="Grace Hopper <grace@other.example>",
            Auto_Submitted="auto-replied",
        ),
        "export": arrive(
            "export", datetime(2026, 11, 1, 3, 0, tzinfo=timezone.utc), subject="Export fails at 100%", sender="Jo <jo@acme.example>"
        ),
        "old": arrive("old", NOW - timedelta(days=30), subject="Old upgrade question"),
        "helm": arrive(
            "helm", NOW - timedelta(hours=2), subject="Helm upgrade hangs", sender="Frank <frank@other.example>",
            body="The pre-upgrade hook never finishes.",
        ),
    }
    usecases.triage(store, desk["search"], 1)
    usecases.take(store, desk["search"])
    usecases.note(store, desk["search"], "escalate to the kubernetes team")
    usecases.undo(store, desk["search"])  # the note is withdrawn: neither has:note nor its words find it
    usecases.triage(store, desk["licence"], 1)  # Elite's 4h response: 10 minutes left, at risk
    usecases.triage(store, desk["export"], 2)
    usecases.wait(store, desk["export"])
    usecases.note(store, desk["export"], "customer runs helm 3.14")
    usecases.triage(store, desk["old"], 2)
    usecases.resolve(store, desk["old"])
    usecases.acknowledge(store, desk["helm"])
    store.save_draft(desk["helm"], "Hi Frank, which chart version?")
    return Desk(store, desk)


@pytest.fixture
def desk(database, tmp_path, clock):
    store = open_store(database, tmp_path, clock, ME_TOML)
    yield make_desk(store)
    store.close()


def ids(desk: Desk, text: str, **options) -> set[str]:
    """The names of the tickets the query finds; a query about tickets alone gives the same
    through Query.matches on every ticket, as the inbox's tabs would."""
    store = desk.store
    names = {ticket_id: name for name, ticket_id in desk.tickets.items()}
    found = find(store, text, **options)
    query = parse_query(text)
    if not query.needs_store and "limit" not in options:
        now, every = store.clock.now(), store.views(include_resolved=True)
        kept = [view.id for view in every if query.matches(view, now, store.config, options.get("include_resolved", False))]
        assert sorted(kept) == sorted(view.id for view in found), text
    return {names[view.id] for view in found}


EXPECTED = {
    "": {"search", "licence", "away", "export", "helm"},
    "customer:acme": {"search", "export"},
    "customer:ACME state:resolved": {"old"},
    'customer:"elite co"': {"licence"},
    "customer:none": {"away", "helm"},
    "-customer:acme": {"licence", "away", "helm"},
    "customer:acme,elite": {"search", "export", "licence"},
    "owner:me": {"search"},
    "is:mine": {"search"},
    "owner:bob": {"search"},
    "owner:distribution": set(),  # a team is not a name
    "owner:none": {"licence", "away", "export", "helm"},
    "-owner:me": {"licence", "away", "export", "helm"},
    "owner:me,none": {"search", "licence", "away", "export", "helm"},
    "sev:1": {"search", "licence"},
    "sev:2": {"export"},
    "sev:2 state:resolved": {"old"},
    "sev:none": {"away", "helm"},
    "sev:1,none": {"search", "licence", "away", "helm"},
    "-sev:none": {"search", "licence", "export"},
    "state:waiting": {"export"},
    "state:resolved": {"old"},
    "state:new": {"search", "licence", "away", "helm"},
    "state:new,resolved": {"search", "licence", "away", "helm", "old"},
    "-state:waiting": {"search", "licence", "away", "helm"},
    "is:at-risk": {"licence"},
    "is:breached": {"export"},
    "is:at-risk,breached": {"licence", "export"},
    "-is:at-risk": {"search", "away", "export", "helm"},
    "is:untriaged": {"helm"},
    "is:automated": {"away"},
    "owner:none -is:automated": {"licence", "export", "helm"},
    "has:draft": {"helm"},
    "has:outbox": {"helm"},
    "has:note": {"export"},
    "-has:note": {"search", "licence", "away", "helm"},
    "from:grace@": {"away"},
    "from:ACME.example": {"search", "export"},
    'from:"alice customer"': {"search"},
    "subject:upgrade": {"helm"},
    "subject:upgrade state:resolved": {"old"},
    'subject:"helm upgrade"': {"helm"},
    "subject:100%": {"export"},
    "subject:%": {"export"},  # the text's own wildcards are taken literally
    "subject:_": set(),
    "-subject:upgrade": {"search", "licence", "away", "export"},
    "after:2026-11-01": {"search", "licence", "away", "export", "helm"},
    "after:2026-11-02": {"search", "licence", "away", "helm"},
    "before:2026-11-01 state:resolved": {"old"},
    "before:7d": {"away", "export"},
    "after:24h": {"search", "licence", "helm"},
    "helm": {"helm", "export"},  # the message, and the note on export
    "HELM": {"helm", "export"},
    "pre-upgr": {"helm"},
    '"pre-upgrade hook"': {"helm"},
    '"hook pre-upgrade"': set(),
    "hook pre-upgrade": {"helm"},
    "-helm": {"search", "licence", "away"},
    "kubernetes": set(),  # only in the withdrawn note
    "frank@other": {"helm"},
    "customer:acme sev:2 state:waiting has:note helm": {"export"},
}


def test_each_term_finds_its_tickets(desk):
    found = {text: ids(desk, text) for text in EXPECTED}
    assert {text: names for text, names in found.items() if names != EXPECTED[text]} == {}


def test_the_clock_terms_follow_the_clock(desk, clock):
    assert ids(desk, "is:at-risk") == {"licence"} and ids(desk, "is:breached") == {"export"}
    clock.advance(timedelta(minutes=11))
    assert ids(desk, "is:at-risk") == set() and ids(desk, "is:breached") == {"licence", "export"}
    assert ids(desk, "-is:breached sev:1") == {"search"}


def test_resolved_tickets_count_when_asked_for_and_the_limit_keeps_the_most_urgent(desk):
    assert ids(desk, "customer:acme", include_resolved=True) == {"search", "export", "old"}
    assert ids(desk, "-state:resolved", include_resolved=True) == EXPECTED[""]
    everything = find(desk.store, "", include_resolved=True)
    assert everything[-1].id == desk.tickets["old"], "resolved last"
    assert find(desk.store, "", include_resolved=True, limit=2) == everything[:2]
    assert find(desk.store, "state:resolved", limit=1) == everything[-1:]


def test_dates_are_days_in_the_business_time_zone(database, tmp_path, clock):
    # Export came in at 03:00 UTC on 1 November: still 31 October in New York.
    store = open_store(database, tmp_path, clock, ME_TOML, timezone_name="America/New_York")
    try:
        desk = make_desk(store)
        assert ids(desk, "after:2026-11-01") == {"search", "licence", "away", "helm"}
        assert ids(desk, "before:2026-11-01") == {"export"}
    finally:
        store.close()


def test_owner_me_without_me_in_the_config_says_who_to_become(store):
    with pytest.raises(QueryError) as raised:
        find(store, "helm -is:mine")
    assert raised.value.term == "-is:mine" and "Add [me] name and email" in str(raised.value)
    assert find(store, "helm") == []


def test_a_wrong_query_is_refused_before_the_store_is_asked(store):
    with pytest.raises(QueryError, match="cust:"):
        find(store, "cust:acme")


def test_a_query_about_messages_is_decided_by_the_store_alone(desk):
    view = desk.store.views()[0]
    assert parse_query("sev:1,2,none").matches(view, NOW, desk.store.config)
    for text in ("helm", "from:grace", "has:draft"):
        with pytest.raises(ValueError, match="find"):
            parse_query(text).matches(view, NOW, desk.store.config)


@pytest.mark.parametrize("key", BUILT_IN_VIEWS)
def test_the_inbox_views_are_queries(demo_store, key):
    now, config = demo_store.clock.now(), demo_store.config
    me = config.me.email
    every = demo_store.views(include_resolved=True)
    shown = {view.id for view in inbox_views.select(every, key, now, me)}
    query = parse_query(BUILT_IN_VIEWS[key])
    assert shown or key == "mine", f"the demo has tickets in {key}"  # the demo's rep owns none; the desk's does
    assert {view.id for view in find(demo_store, query)} == shown
    assert {view.id for view in every if query.matches(view, now, config)} == shown


# Queries over the demo's week on both backends: the answers must be the same.
AGREEMENT = [
    *BUILT_IN_VIEWS.values(), "customer:globex", "customer:none", "-customer:initech sev:1", "owner:priya",
    "owner:none,me", "sev:2 state:waiting", "state:new", "state:resolved", "is:at-risk", "is:breached",
    "-is:breached -is:at-risk", "has:draft", "has:outbox", "has:note", "-has:note", "from:@globex", 'from:"a"',
    "subject:upgrade", "subject:_", "subject:%", "after:3d", "before:2d", "after:2026-11-20 before:2026-11-23",
    "upgrade", "login sso", '"login loop"', "-error", "café", "Навигация", "subject:Навигация", "owner:Tomás",
    "owner:TOMAS", "customer:volgasoft", "x", "state:resolved helm",
]


def _answers(target, tmp_path: Path) -> dict[str, list[int]]:
    folder = tmp_path / ("pg" if isinstance(target, str) else "sqlite")
    config_file, db = build_demo(folder, NOW, target)
    store = Store.open(db, load_config(config_file), FrozenClock(NOW))
    try:
        return {text: [view.id for view in find(store, text)] for text in AGREEMENT}
    finally:
        store.close()


def test_sqlite_and_postgresql_give_the_same_tickets_in_the_same_order(tmp_path, postgres_url):
    # One store at a time: the models follow the database opened last in a process.
    on_sqlite = _answers(None, tmp_path)
    on_postgres = _answers(postgres_url, tmp_path)
    assert on_postgres == on_sqlite
    assert sum(1 for found in on_sqlite.values() if found) > len(AGREEMENT) * 2 // 3, "most queries find something"


_LOCAL_PIECES = [
    "customer:", "owner:", "sev:", "state:", "is:", "subject:", "after:", "before:", "-", ",", " ", "none", "me",
    "1", "2", "globex", "priya", "new", "open", "waiting", "resolved", "at-risk", "breached", "untriaged",
    "automated", "mine", "3d", "2026-11-20", "upgrade", "a",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(_LOCAL_PIECES), max_size=10).map("".join))
def test_any_query_read_runs_and_the_store_and_matches_agree(demo_store, text):
    try:
        query = parse_query(text)
    except QueryError:
        return
    now, config = demo_store.clock.now(), demo_store.config
    found = [view.id for view in find(demo_store, query)]  # runs whatever was read, free words too
    if not query.needs_store:
        every = demo_store.views(include_resolved=True)
        assert sorted(found) == sorted(view.id for view in every if query.matches(view, now, config)), text
