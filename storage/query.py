"""The query language: one grammar for the search bar, `frontdesk list QUERY` and saved views.

    customer:acme owner:me sev:1 state:waiting is:breached has:draft from:grace@
    subject:"upgrade loop" after:2026-11-01 before:7d helm "pre-upgrade hook" -owner:none

Terms are separated by spaces and must all hold; `-` before a term negates it; a comma between
values means any of them (`sev:1,none`, `is:at-risk,breached`); quotes hold a value or a phrase
with spaces. Resolved tickets count only when a `state:` term names them (or the caller asks).

parse_query() is pure: text in, a Query or a QueryError out (naming the bad term, its column and
what was expected). storage/find.py runs a query on a store: the Query's SQL for the stored fields,
text and history, then its clock terms (is:breached, is:at-risk) on each ticket's SLA clocks as the
inbox computes them. Query.matches() decides a query on one TicketView, for the inbox's tabs, when
it asks only about what a TicketView holds. This module imports no store, so the configuration
can read saved views with it.
"""

from __future__ import annotations

import difflib
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal, get_args

from .errors import StoreError
from .fulltext import SEARCH_WORD, escape_like, like_pattern, not_undone, tickets_with_text
from .models import UtcDateTimeField
from .safe_text import display_line
from .sla import SEVERITY_LEVELS

if TYPE_CHECKING:  # never imported here: the configuration reads saved views' queries with parse_query
    from .config import Config
    from .views import TicketView

Field = Literal["customer", "owner", "sev", "state", "is", "has", "from", "subject", "after", "before"]
FIELDS: tuple[Field, ...] = get_args(Field)
STATES = ("new", "open", "waiting", "resolved")  # the schema's (storage/migrations.py)
IS_VALUES = ("breached", "at-risk", "untriaged", "automated", "mine")
HAS_VALUES = ("draft", "outbox", "note")
_CLOCK_STATUS = {"breached": "breached", "at-risk": "at_risk"}  # decided on the SLA clocks, as of now
_LISTS = frozenset({"customer", "owner", "sev", "state", "is", "has"})  # fields taking `a,b`
_NON_LOCAL = frozenset({None, "from", "has"})  # need more than a TicketView: messages, notes, drafts, outbox
_FIELD_HINTS = {"severity": "sev", "priority": "sev", "status": "state", "assignee": "owner", "since": "after", "until": "before"}

# The inbox's built-in views as queries (keys as in tui/views.py; the Outbox lists mail, not tickets).
BUILT_IN_VIEWS: Mapping[str, str] = MappingProxyType({
    "open": "",
    "untriaged": "is:untriaged",
    "mine": "is:mine",
    "unassigned": "owner:none -is:automated",
    "urgent": "is:at-risk,breached",
    "waiting": "state:waiting",
    "resolved": "state:resolved",
})


class Me(Enum):
    """`owner:me`: whoever [me] in the config is, looked up when the query runs."""

    ME = "me"


ME = Me.ME
Value = str | int | date | timedelta | Me | None


def _one_of(values) -> str:
    *most, last = (str(value) for value in values)
    return f"{', '.join(most)} or {last}" if most else last


_WHEN = "takes a date like 2026-11-01 or an age like 7d or 24h"
_EXPECTED: dict[str, str] = {
    "customer": "takes a customer's name, or none",
    "owner": "takes me, none, or an owner's name or email",
    "sev": f"takes {_one_of([*SEVERITY_LEVELS, 'none'])}",
    "state": f"takes {_one_of(STATES)}",
    "is": f"takes {_one_of(IS_VALUES)}",
    "has": f"takes {_one_of(HAS_VALUES)}",
    "from": "takes a name or an address, e.g. from:grace@",
    "subject": 'takes a word or "a phrase"',
    "after": _WHEN,
    "before": _WHEN,
}
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z_-]*")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_AGE = re.compile(r"([0-9]{1,4})([mhdw])")  # at most 9999 weeks: every bound stays a four-digit year
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Characters no one types in a query; the databases refuse some of them (NUL, lone surrogates).
_UNTYPABLE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_stored = UtcDateTimeField()


class QueryError(StoreError):
    """A query that can't be read: `term` (as written) starts at `start` in the query; `reason`
    says what was expected there. The message is one line naming both."""

    def __init__(self, reason: str, term: str, start: int) -> None:
        shown = display_line(term)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        super().__init__(f'column {start + 1}, "{shown}": {reason}')
        self.reason = reason
        self.term = term
        self.start = start
        self.end = start + len(term)


@dataclass(frozen=True)
class Term:
    field: Field | None  # None: words searched in the text
    values: tuple[Value, ...]  # the term holds when any of them does
    negated: bool = False
    phrase: bool = False  # words in quotes: found whole and in this order
    source: str = ""  # as written, for messages
    start: int = 0  # where it begins in the query

    @property
    def asks_me(self) -> bool:
        return ME in self.values or (self.field == "is" and "mine" in self.values)

    @property
    def on_clock(self) -> bool:
        """Whether it is decided on the SLA clocks as of now, not on what is stored."""
        return self.field == "is" and any(value in _CLOCK_STATUS for value in self.values)


@dataclass(frozen=True)
class Query:
    text: str
    terms: tuple[Term, ...] = ()

    @property
    def names_resolved(self) -> bool:
        """A `state:` term asks for resolved tickets: then they count."""
        return any(term.field == "state" and not term.negated and "resolved" in term.values for term in self.terms)

    @property
    def needs_store(self) -> bool:
        """It asks about more than a TicketView holds (text, senders, drafts, outbox, notes): only find() decides it."""
        return any(term.field in _NON_LOCAL for term in self.terms)

    def unknown_me(self, config: Config) -> Term | None:
        """The first term asking about me (owner:me, is:mine) while [me] has no email; else None."""
        return None if _me(config) else next((term for term in self.terms if term.asks_me), None)

    def ticket_ids_sql(self, config: Config, now: datetime, postgres: bool, include_resolved: bool = False) -> tuple[str, list]:
        """SELECT of the ids of the tickets the stored fields, text and history decide (`?` for its
        parameters, returned with it): a superset where clock terms remain, see holds_on_clock."""
        me, zone = _me(config), config.calendar.timezone
        where: list[str] = []
        params: list = []
        if not (include_resolved or self.names_resolved):
            where.append("t.state <> 'resolved'")
        for term in self.terms:
            if (built := _term_sql(term, postgres, me, now, zone)) is not None:
                where.append(built[0])
                params += built[1]
        conditions = "".join(f" {'AND' if i else 'WHERE'} {condition}" for i, condition in enumerate(where))
        joined = "ticket t LEFT JOIN customer c ON c.id = t.customer_id LEFT JOIN owner o ON o.id = t.owner_id"
        return f"SELECT t.id FROM {joined}{conditions}", params

    def holds_on_clock(self, view: TicketView, now: datetime, config: Config) -> bool:
        """Whether the clock terms (is:breached, is:at-risk) hold as of now: what SQL can't decide."""
        me, zone = _me(config), config.calendar.timezone
        return all(_holds(term, view, now, me, zone) for term in self.terms if term.on_clock)

    def matches(self, view: TicketView, now: datetime, config: Config, include_resolved: bool = False) -> bool:
        """Whether the ticket is one find() would give, for a query that doesn't need the store.
        owner:me matches nobody while [me] is unknown (find() says so instead)."""
        if self.needs_store:
            raise ValueError(f"{self.text!r} asks about messages or notes: run it with find()")
        if view.state == "resolved" and not (include_resolved or self.names_resolved):
            return False
        me, zone = _me(config), config.calendar.timezone
        return all(_holds(term, view, now, me, zone) for term in self.terms)


# --- reading a query ---------------------------------------------------------------------------


def parse_query(text: str) -> Query:
    """The query written in `text`; QueryError at the first term that can't be read."""
    return Query(text, tuple(_term(raw, start) for start, raw in _pieces(text)))


def _pieces(text: str):
    """Each term as written, with where it starts: runs of non-space, a quoted part kept whole."""
    at, end = 0, len(text)
    while at < end:
        if text[at].isspace():
            at += 1
            continue
        start = at
        while at < end and not text[at].isspace():
            if text[at] == '"':
                close = text.find('"', at + 1)
                if close < 0:
                    raise QueryError('unclosed quote: add a closing "', text[at:], at)
                at = close + 1
                if at < end and not text[at].isspace():
                    raise QueryError("put a space after the closing quote", text[start : at + 1], start)
                break
            at += 1
        yield start, text[start:at]


def _term(raw: str, start: int) -> Term:
    def wrong(reason: str) -> QueryError:
        return QueryError(reason, raw, start)

    if _UNTYPABLE.search(raw):
        raise wrong("holds a control character; type the words instead")
    negated = raw.startswith("-")
    body = raw[1:] if negated else raw
    if not body:
        raise wrong("a - goes right before the term it negates, e.g. -owner:none")
    if body.startswith("-"):
        raise wrong("one - negates a term")
    if body.startswith('"'):
        words = body[1:-1]
        if not words.strip():
            raise wrong("an empty phrase: put words between the quotes")
        return Term(None, (words,), negated, phrase=True, source=raw, start=start)
    name, colon, value = body.partition(":")
    if colon and _FIELD_NAME.fullmatch(name):
        field = name.lower()
        if field not in FIELDS:
            close = _FIELD_HINTS.get(field) or next(iter(difflib.get_close_matches(field, FIELDS, n=1)), None)
            hint = f"did you mean {close}:?" if close else "to search for words with a colon, put them in quotes"
            raise wrong(f'unknown field "{name}:" ({hint})')
        return Term(field, _values(field, value, wrong), negated, source=raw, start=start)  # type: ignore[arg-type]
    if '"' in body:
        raise wrong('quotes go around a whole phrase, or a whole value: subject:"a phrase"')
    if not SEARCH_WORD.search(body):
        raise wrong("nothing to search for: a word needs a letter or a digit")
    return Term(None, (body,), negated, source=raw, start=start)


def _values(field: Field, value: str, wrong) -> tuple[Value, ...]:
    expected = f"{field}: {_EXPECTED[field]}"
    quoted = value.startswith('"')
    if quoted:
        value = value[1:-1]
    if '"' in value:
        raise wrong(f'quotes go around the whole value: {field}:"a phrase"')
    alternatives = [value] if quoted or field not in _LISTS else value.split(",")
    if not all(alternative.strip() for alternative in alternatives):
        raise wrong(expected)
    try:
        return tuple(_value(field, alternative, quoted) for alternative in alternatives)
    except (ValueError, KeyError):
        raise wrong(expected) from None


def _value(field: Field, typed: str, quoted: bool) -> Value:
    """One value as the field reads it; ValueError or KeyError when it is not one the field takes."""
    word = typed.lower()
    if field in ("customer", "owner") and not quoted:
        if word == "none":
            return None
        if word == "me" and field == "owner":
            return ME
    if field == "sev":
        if word == "none":
            return None
        return {str(level): level for level in SEVERITY_LEVELS}[word]  # KeyError: not a level
    if field in ("state", "is", "has"):
        word = word.replace("_", "-")
        if word not in {"state": STATES, "is": IS_VALUES, "has": HAS_VALUES}[field]:
            raise ValueError(typed)
        return word
    if field in ("after", "before"):
        return _when(word)
    return typed


def _when(typed: str) -> date | timedelta:
    if _DATE.fullmatch(typed):
        day = date.fromisoformat(typed)
        if day.year < 1000:
            raise ValueError(typed)
        return day
    age = _AGE.fullmatch(typed)
    if age is None:
        raise ValueError(typed)
    return timedelta(**{_AGE_UNITS[age.group(2)]: int(age.group(1))})


# --- deciding a query ---------------------------------------------------------------------------


def _me(config: Config) -> str | None:
    return config.me.email if config.me is not None and config.me.email else None


def _fold(text: str) -> str:
    """Case is ignored for ASCII letters, as SQLite's LIKE does; PostgreSQL is made to agree."""
    return text.translate(_ASCII_LOWER)


def _instant(when: date | timedelta, now: datetime, zone: tzinfo) -> datetime:
    """A date's first moment in the business time zone; an age counted back from now."""
    if isinstance(when, timedelta):
        return now - when
    return datetime.combine(when, time(0), tzinfo=zone).astimezone(timezone.utc)


def _clock_status(view: TicketView, now: datetime) -> str | None:
    target = view.clock
    return None if target is None else target.status_at(now)


def _holds(term: Term, view: TicketView, now: datetime, me: str | None, zone: tzinfo) -> bool:
    return any(_value_holds(term.field, value, view, now, me, zone) for value in term.values) != term.negated


def _value_holds(field: Field | None, value: Value, view: TicketView, now: datetime, me: str | None, zone: tzinfo) -> bool:
    match field:
        case "customer":
            return view.customer is None if value is None else _contains(view.customer, value)
        case "owner" if value is ME:
            return me is not None and view.owner is not None and _fold(view.owner) == _fold(me)
        case "owner":
            return view.owner is None if value is None else _contains(view.owner, value) or _contains(view.owner_name, value)
        case "sev":
            return view.severity == value
        case "state":
            return view.state == value
        case "is" if value in _CLOCK_STATUS:
            return _clock_status(view, now) == _CLOCK_STATUS[value]
        case "is" if value == "untriaged":
            return view.severity is None and view.automated is None
        case "is" if value == "automated":
            return view.automated is not None
        case "is":  # mine
            return _value_holds("owner", ME, view, now, me, zone)
        case "subject":
            return _contains(view.subject, value)
        case "after":
            return view.created_at >= _instant(value, now, zone)
        case "before":
            return view.created_at < _instant(value, now, zone)
    raise ValueError(f"{field}: needs the store")


def _contains(text: str | None, part: str) -> bool:
    return text is not None and _fold(part) in _fold(text)


def _term_sql(term: Term, postgres: bool, me: str | None, now: datetime, zone: tzinfo) -> tuple[str, list] | None:
    """The term as SQL on ticket t, customer c and owner o (`?` for parameters); a clock term as
    a superset (a running clock), None when negated: the views decide those. Never NULL, so NOT is safe."""
    if term.on_clock and term.negated:
        return None
    parts, params = [], []
    for value in term.values:
        sql, more = _value_sql(term, value, postgres, me, now, zone)
        parts.append(sql)
        params += more
    sql = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return (f"NOT {sql}" if term.negated else sql), params


# Written as SQL rather than Peewee expressions: text must match alike on both backends (and in
# matches()), and Peewee's contains() is ILIKE, which folds every letter on PostgreSQL, ASCII on SQLite.
def _value_sql(term: Term, value: Value, postgres: bool, me: str | None, now: datetime, zone: tzinfo) -> tuple[str, list]:
    def like(column: str) -> str:
        # SQLite's LIKE ignores case for ASCII letters only; PostgreSQL's is told the same.
        folded = f"translate({column}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')" if postgres else column
        return f"({column} IS NOT NULL AND {folded} LIKE ? ESCAPE '\\')"

    pattern = like_pattern(_fold(value)) if isinstance(value, str) else None
    match term.field:
        case None:
            sql, params = tickets_with_text(value, postgres, phrase=term.phrase)
            return f"t.id IN ({sql})", params
        case "customer":
            return ("t.customer_id IS NULL", []) if value is None else (like("c.name"), [pattern])
        case "owner" if value is ME:
            return like("o.email"), [escape_like(_fold(me))]
        case "owner":
            return ("t.owner_id IS NULL", []) if value is None else (f"({like('o.email')} OR {like('o.name')})", [pattern] * 2)
        case "sev":
            return ("t.severity IS NULL", []) if value is None else ("(t.severity IS NOT NULL AND t.severity = ?)", [value])
        case "state":
            return "t.state = ?", [value]
        case "is" if value in _CLOCK_STATUS:
            return "t.next_due_at IS NOT NULL", []  # only a running clock is at risk or breached
        case "is" if value == "untriaged":
            return "(t.severity IS NULL AND t.automated IS NULL)", []
        case "is" if value == "automated":
            return "t.automated IS NOT NULL", []
        case "is":  # mine
            return _value_sql(Term("owner", (ME,)), ME, postgres, me, now, zone)
        case "has" if value == "draft":
            return "t.id IN (SELECT ticket_id FROM draft)", []
        case "has" if value == "outbox":
            return "t.id IN (SELECT ticket_id FROM outbox WHERE status <> 'sent')", []
        case "has":  # note
            return f"t.id IN (SELECT e.ticket_id FROM event e WHERE e.kind = 'note' AND {not_undone('e', postgres)})", []
        case "from":
            senders = f"{like('m.from_email')} OR {like('m.from_name')}"
            return f"t.id IN (SELECT m.ticket_id FROM message m WHERE m.direction = 'in' AND ({senders}))", [pattern] * 2
        case "subject":
            return like("t.subject"), [pattern]
        case "after":
            return "t.created_at >= ?", [_stored.db_value(_instant(value, now, zone))]
        case "before":
            return "t.created_at < ?", [_stored.db_value(_instant(value, now, zone))]
    raise ValueError(f"unknown field {term.field!r}")
