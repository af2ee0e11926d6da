"""The SLA clock: pure functions over a policy, a business calendar and a ticket's history. No I/O."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from math import ceil, floor
from types import MappingProxyType
from typing import Literal, NamedTuple, Protocol, get_args
from zoneinfo import ZoneInfo

Unit = Literal["m", "h", "d", "bh", "bd"]
Status = Literal["ok", "at_risk", "breached", "met", "missed", "paused"]
ClockName = Literal["response", "resolution"]

_US = timedelta(microseconds=1)
_MINUTE_US = 60_000_000
_HOUR_US = 60 * _MINUTE_US
_DAY_US = 24 * _HOUR_US
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CALENDAR_UNIT_US = {"m": _MINUTE_US, "h": _HOUR_US, "d": _DAY_US}
_DURATION = re.compile(r"\s*([0-9]+)(m|h|d|bh|bd)\s*")
_MAX_AMOUNT = 99_999  # keeps every due time far inside datetime's range
_LONGEST_SPAN_DAYS = 999  # format_span stays within 8 characters


@dataclass(frozen=True)
class Duration:
    """A target length: calendar minutes/hours/days, or business hours/days."""

    amount: int
    unit: Unit

    def __post_init__(self) -> None:
        if self.amount <= 0 or self.unit not in get_args(Unit):
            raise ValueError(f"a target must be a positive amount of m, h, d, bh or bd, got {self.amount}{self.unit}")

    @property
    def is_business(self) -> bool:
        return self.unit in ("bh", "bd")

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def words(self) -> str:
        """'24 hours', '5 business days', '1 minute'."""
        unit = _UNIT_WORDS[self.unit]
        return f"{self.amount} {unit}" if self.amount == 1 else f"{self.amount} {unit}s"


_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day", "bh": "business hour", "bd": "business day"}


def parse_duration(text: str) -> Duration:
    """'90m', '24h', '3d', '8bh', '5bd' -> Duration; ValueError with a readable reason otherwise."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"expected a duration like 90m, 24h, 3d, 8bh or 5bd, got {text!r}")
    amount = int(match.group(1))
    if not 0 < amount <= _MAX_AMOUNT:
        raise ValueError(f"expected a duration of 1 to {_MAX_AMOUNT}{match.group(2)}, got {text!r}")
    return Duration(amount, match.group(2))  # type: ignore[arg-type]  # the regex admits only Units


@dataclass(frozen=True)
class BusinessCalendar:
    """Where and when business time runs. `end` None means midnight (24:00)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    workdays: frozenset[int] = frozenset(range(5))  # 0 = Monday
    start: time = time(0, 0)
    end: time | None = None
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.workdays or not set(self.workdays) <= set(range(7)):
            raise ValueError(f"workdays must be a non-empty set of 0 (Monday) to 6, got {sorted(self.workdays)}")
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"business hours must end after they start, got {self.start:%H:%M}-{self.end:%H:%M}")

    @property
    def day_length(self) -> timedelta:
        """How long one business day (`1bd`) is: the daily hours."""
        return self._business_time.day_us * _US

    @cached_property
    def _business_time(self) -> _BusinessTime:
        return _BusinessTime(self)


def business_seconds(calendar: BusinessCalendar, a: datetime, b: datetime) -> float:
    """Business time elapsed from a to b, in seconds (negative when b is before a)."""
    measure = calendar._business_time
    return (measure.pos(b) - measure.pos(a)) / 1_000_000


def add_business(calendar: BusinessCalendar, start: datetime, seconds: float) -> datetime:
    """The first instant (UTC) at which the business time elapsed since start reaches seconds."""
    if seconds < 0:
        raise ValueError(f"cannot add negative business time ({seconds}s)")
    if seconds == 0:
        return start.astimezone(timezone.utc)
    measure = calendar._business_time
    return measure.instant(measure.pos(start) + round(seconds * 1_000_000))


class _Measure(Protocol):
    """A monotonic map between instants and positions (integer microseconds) on a target's clock."""

    def pos(self, t: datetime) -> int: ...

    def instant(self, p: int) -> datetime: ...


class _RealTime:
    """Calendar targets count real elapsed time, whatever daylight saving does."""

    def pos(self, t: datetime) -> int:
        return (t - _EPOCH) // _US

    def instant(self, p: int) -> datetime:
        return _EPOCH + p * _US


_REAL_TIME = _RealTime()


class _BusinessTime:
    """Business time as positions: business microseconds since 0001-01-01, local wall clock.

    Business time is measured in local wall-clock time inside each day's window, so a business day
    always has its nominal length and a due time keeps its local wall-clock time across daylight-saving
    changes. Where the clocks skip forward the position jumps over the missing hour. Where they fall
    back the clock waits at the start of the repeated hour during its first pass and counts the second,
    so that a due time inside that hour still shows its own wall-clock time.
    """

    def __init__(self, calendar: BusinessCalendar) -> None:
        workdays = sorted(calendar.workdays)
        self.tz = calendar.timezone
        self.workdays = tuple(workdays)
        self.is_workday = tuple(day in workdays for day in range(7))
        self.workdays_before = tuple(sum(1 for w in workdays if w < day) for day in range(7))
        self.holidays = tuple(sorted(h.toordinal() for h in calendar.holidays if h.weekday() in workdays))
        self.holiday_set = frozenset(self.holidays)
        self.start_us = _time_us(calendar.start)
        self.day_us = (_DAY_US if calendar.end is None else _time_us(calendar.end)) - self.start_us

    # Days are proleptic ordinals: ordinal 1 (0001-01-01) is a Monday, so weekday = (ordinal - 1) % 7.

    def days_before(self, ordinal: int) -> int:
        """How many business days come before this day."""
        weeks, weekday = divmod(ordinal - 1, 7)
        workdays = weeks * len(self.workdays) + self.workdays_before[weekday]
        return workdays - bisect_left(self.holidays, ordinal)

    def nth_day(self, n: int) -> int:
        """The ordinal of business day number n (0-based), skipping holidays without a day-by-day walk."""
        workday = n  # the candidate's index among all workdays, holidays included
        while True:
            weeks, index = divmod(workday, len(self.workdays))
            ordinal = 1 + 7 * weeks + self.workdays[index]
            holidays_so_far = bisect_right(self.holidays, ordinal)
            if workday == n + holidays_so_far:
                return ordinal
            workday = n + holidays_so_far

    def is_business_day(self, ordinal: int) -> bool:
        return self.is_workday[(ordinal - 1) % 7] and ordinal not in self.holiday_set

    def pos(self, t: datetime) -> int:
        wall = self.wall(t)
        ordinal = wall.toordinal()
        position = self.days_before(ordinal) * self.day_us
        if self.is_business_day(ordinal):
            into_day = _time_us(wall) - self.start_us
            position += min(max(into_day, 0), self.day_us)
        return position

    def instant(self, p: int) -> datetime:
        day, into_day = divmod(p, self.day_us)
        if into_day == 0:  # reached exactly at the end of the previous business day
            day, into_day = day - 1, self.day_us
        midnight = datetime.combine(date.fromordinal(self.nth_day(day)), time(), self.tz)
        return self.first_instant(midnight + (self.start_us + into_day) * _US)

    def wall(self, t: datetime) -> datetime:
        """t in local time, held at the start of a repeated hour during its first pass."""
        t = _utc(t)  # a local time that never happened (in a gap) must not reach the arithmetic below
        local = t.astimezone(self.tz)
        if local.fold:
            return local
        repeated = local.utcoffset() - local.replace(fold=1).utcoffset()  # type: ignore[operator]
        if not repeated:
            return local
        fell_back = _transition(self.tz, t, t + repeated)
        return (fell_back - repeated).astimezone(self.tz)

    def first_instant(self, wall: datetime) -> datetime:
        """The first instant (UTC) whose wall-clock position is at or after wall (local, fold 0)."""
        second = wall.replace(fold=1)
        shift = wall.utcoffset() - second.utcoffset()  # type: ignore[operator]
        if not shift:
            return wall.astimezone(timezone.utc)
        if shift > timedelta(0):  # a repeated wall time counts on its second pass ...
            later = second.astimezone(timezone.utc)
            at_fall_back = (later - _US).astimezone(self.tz).utcoffset() != second.utcoffset()
            return wall.astimezone(timezone.utc) if at_fall_back else later  # ... except the hour's very start
        # A skipped wall time: the jump forward is the first instant past it.
        return _transition(self.tz, second.astimezone(timezone.utc), wall.astimezone(timezone.utc))


def _time_us(t: time | datetime) -> int:
    """Microseconds since midnight of a time of day (a datetime's wall-clock time)."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


def _transition(tz: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant (UTC, whole second) where the UTC offset changes between before and after."""
    offset = after.astimezone(tz).utcoffset()
    lo, hi = floor(before.timestamp()), ceil(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == offset:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, timezone.utc)


@dataclass(frozen=True)
class Targets:
    response: Duration | None
    resolution: Duration | None


@dataclass(frozen=True)
class Severity:
    """One level of the handbook's severity scale: what it means and its targets by default."""

    level: int
    summary: str  # a few words: "production is badly hurt"
    meaning: str  # the handbook's definition, for someone on their first rotation
    default_targets: Targets
    critical: bool = False  # production is hurt: shown loudest

    @property
    def name(self) -> str:
        """Short, for tables: 'S1'."""
        return f"S{self.level}"

    @property
    def title(self) -> str:
        return f"Severity {self.level}"

    @property
    def config_key(self) -> str:
        """Its table in a policy of the configuration: 'sev1'."""
        return f"sev{self.level}"


# The support handbook's scale, most severe first: every screen, the command line, the
# configuration and the clock read it from here.
SEVERITIES = (
    Severity(
        1,
        "production is badly hurt",
        "The customer can't use the product properly in production, and it is costing their business.",
        Targets(response=Duration(24, "h"), resolution=Duration(72, "h")),
        critical=True,
    ),
    Severity(
        2,
        "everything else",
        "Something non-critical works only in part, or it's a how-to question or a feature request.",
        Targets(response=Duration(5, "bd"), resolution=None),
    ),
)
SEVERITY_LEVELS = tuple(severity.level for severity in SEVERITIES)


def severity(level: int) -> Severity:
    for known in SEVERITIES:
        if known.level == level:
            return known
    raise ValueError(f"severity must be {levels_text()}, got {level!r}")


def levels_text(joiner: str = "or") -> str:
    """'1 or 2'."""
    return _listed([str(level) for level in SEVERITY_LEVELS], joiner)


def severity_guide() -> str:
    """'1 (production is badly hurt) or 2 (everything else)'."""
    return _listed([f"{known.level} ({known.summary})" for known in SEVERITIES], "or")


def _listed(items: list[str], joiner: str) -> str:
    *most, last = items
    return f"{', '.join(most)} {joiner} {last}" if most else last


@dataclass(frozen=True)
class Policy:
    name: str
    targets: Mapping[int, Targets] = field(hash=False)  # by severity level, one for every level of SEVERITIES
    pause_while_waiting: bool = True

    def __post_init__(self) -> None:
        if sorted(self.targets) != sorted(SEVERITY_LEVELS):
            raise ValueError(f"a policy needs targets for severities {levels_text('and')}, got {sorted(self.targets)}")
        object.__setattr__(self, "targets", MappingProxyType(dict(self.targets)))  # frozen like the rest

    def targets_for(self, level: int) -> Targets:
        return self.targets[severity(level).level]


DEFAULT_POLICY = Policy(name="standard", targets={known.level: known.default_targets for known in SEVERITIES})


@dataclass(frozen=True)
class TicketTimes:
    """What the clock needs to know about one ticket. All datetimes are aware."""

    started_at: datetime  # the first customer message
    severity: int | None  # None: untriaged
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()  # waiting intervals; None end = still waiting


@dataclass(frozen=True, slots=True)  # two per open ticket in the inbox's memory
class TargetState:
    name: ClockName
    target: Duration
    due_at: datetime
    status: Status
    # The evaluation's now, or the stop time once stopped: `remaining` is measured to it. Both are
    # shared with the ticket (or with every ticket evaluated at once), where a time left would be
    # an object of its own.
    measured_at: datetime
    # A running clock turns at risk here (then breached at due_at): displays can follow the status
    # from the clock alone, without evaluating again. None once stopped or while paused.
    at_risk_at: datetime | None = None

    @property
    def remaining(self) -> timedelta:
        """due_at minus now (or minus the stop time once stopped); negative when over."""
        return self.due_at - self.measured_at

    @property
    def stopped(self) -> bool:
        return self.status in ("met", "missed")

    @property
    def running(self) -> bool:
        """Counting down now: neither stopped nor paused."""
        return self.status in ("ok", "at_risk", "breached")

    def status_at(self, now: datetime) -> Status:
        """The status as of now, followed from the clock's own turning points: no re-evaluation."""
        if not self.running:
            return self.status
        if now >= self.due_at:
            return "breached"
        if self.at_risk_at is not None and now >= self.at_risk_at:
            return "at_risk"
        return self.status

    def remaining_at(self, now: datetime) -> timedelta:
        """Time left as of now, from the due time (never counted down); frozen once stopped or paused."""
        return self.due_at - now if self.running else self.remaining


@dataclass(frozen=True, slots=True)
class SlaState:
    response: TargetState | None
    resolution: TargetState | None


def current_clock(sla: SlaState) -> TargetState | None:
    """The clock that matters now: response until it stops, then resolution (paused ones included:
    they resume). Once every clock has stopped, how they ended: a missed one, else the last met."""
    clocks = [target for target in (sla.response, sla.resolution) if target is not None]
    ended = next((target for target in clocks if target.status == "missed"), clocks[-1] if clocks else None)
    return next((target for target in clocks if not target.stopped), ended)


class _Clock(NamedTuple):
    """One target's clock once the pauses that count have moved its due position."""

    target: Duration
    measure: _Measure
    length: int
    due_pos: int
    due_at: datetime


def evaluate(
    ticket: TicketTimes,
    policy: Policy,
    calendar: BusinessCalendar,
    now: datetime,
    at_risk_fraction: float = 0.2,
) -> SlaState:
    """Both targets of a ticket as of now. Due times are UTC."""
    # Everything in UTC first: comparisons within one zone would ignore daylight saving's fold.
    start, now = _utc(ticket.started_at), _utc(now)
    resolved = _utc_or_none(ticket.resolved_at)
    # Resolving stops every clock: a ticket closed without a reply has its response met or missed then.
    responded = _utc_or_none(ticket.first_response_at) or resolved
    if ticket.severity is None:
        # Untriaged: the strictest response target, so the ticket sorts to the top; no resolution yet.
        responses = [t.response for t in policy.targets.values() if t.response is not None]
        candidates = [_clock(target, calendar, start, (), now) for target in responses]
        strictest = min(candidates, key=lambda c: c.due_at, default=None)
        response = None if strictest is None else _state("response", strictest, responded, now, False, at_risk_fraction)
        return SlaState(response=response, resolution=None)
    targets = policy.targets_for(ticket.severity)
    response = None
    if targets.response is not None:
        clock = _clock(targets.response, calendar, start, (), now)
        response = _state("response", clock, responded, now, False, at_risk_fraction)
    resolution = None
    if targets.resolution is not None:
        pauses = tuple((_utc(b), _utc_or_none(e)) for b, e in ticket.pauses) if policy.pause_while_waiting else ()
        clock = _clock(targets.resolution, calendar, start, pauses, now if resolved is None else resolved)
        paused = resolved is None and any(_is_open(pause, now) for pause in pauses)
        resolution = _state("resolution", clock, resolved, now, paused, at_risk_fraction)
    return SlaState(response=response, resolution=resolution)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:  # astimezone would silently take the machine's zone
        raise ValueError(f"the SLA clock needs aware datetimes, got {t.isoformat()}")
    return t.astimezone(timezone.utc)


def _utc_or_none(t: datetime | None) -> datetime | None:
    return None if t is None else _utc(t)


def _clock(
    target: Duration,
    calendar: BusinessCalendar,
    start: datetime,
    pauses: tuple[tuple[datetime, datetime | None], ...],
    horizon: datetime,
) -> _Clock:
    """The target's due time from start, moved by the paused time (pauses open until horizon)."""
    measure: _Measure = _REAL_TIME
    if target.is_business:
        business = measure = calendar._business_time
        length = target.amount * (_HOUR_US if target.unit == "bh" else business.day_us)
    else:
        length = target.amount * _CALENDAR_UNIT_US[target.unit]
    start_pos = measure.pos(start)
    due_pos = start_pos + length
    if pauses:
        due_pos = _moved_by_pauses(due_pos, _paused_spans(measure, start, pauses, horizon))
    return _Clock(target, measure, length, due_pos, measure.instant(due_pos))


def _paused_spans(
    measure: _Measure,
    start: datetime,
    pauses: tuple[tuple[datetime, datetime | None], ...],
    horizon: datetime,
) -> list[tuple[int, int]]:
    """The pauses after start and before horizon as sorted, non-overlapping position spans."""
    spans = []
    for begin, end in pauses:
        begin, end = max(begin, start), horizon if end is None else min(end, horizon)
        if begin < end:
            spans.append((measure.pos(begin), measure.pos(end)))
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(spans):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _moved_by_pauses(due_pos: int, spans: list[tuple[int, int]]) -> int:
    """Each pause that begins before the (already moved) due position moves it by the pause's length."""
    for begin, end in spans:
        if begin >= due_pos:  # a pause that starts once the target is due cannot save it
            break
        due_pos += end - begin
    return due_pos


def _is_open(pause: tuple[datetime, datetime | None], now: datetime) -> bool:
    begin, end = pause
    return begin <= now and (end is None or now < end)


def _state(
    name: ClockName, clock: _Clock, stop: datetime | None, now: datetime, paused: bool, at_risk_fraction: float
) -> TargetState:
    due_at = clock.due_at
    if stop is not None:
        return TargetState(name, clock.target, due_at, "met" if stop <= due_at else "missed", stop)
    status: Status
    if now >= due_at:
        status = "breached"  # also when a pause began only after the target was already due
    elif paused:
        status = "paused"
    elif clock.due_pos - clock.measure.pos(now) < at_risk_fraction * clock.length:
        status = "at_risk"
    else:
        status = "ok"
    if paused:
        return TargetState(name, clock.target, due_at, status, now)
    # The first position with less than the fraction left: the inverse of the test above.
    at_risk_pos = clock.due_pos - ceil(at_risk_fraction * clock.length) + 1
    return TargetState(name, clock.target, due_at, status, now, clock.measure.instant(at_risk_pos))


def format_span(span: timedelta) -> str:
    """A span of time as every screen and export shows it: '4d 03h', '3h 05m', '42m 10s' under an
    hour (so a countdown visibly ticks), '-3h 05m' past due; at most 8 characters.

    Part seconds round away from zero, so '0m 00s' means exactly due and a clock never shows it early.
    """
    sign = "-" if span < timedelta(0) else ""
    seconds = -(-abs(span) // timedelta(seconds=1))  # whole seconds, rounded up
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days > _LONGEST_SPAN_DAYS:
        return f"{sign}{_LONGEST_SPAN_DAYS}d+"
    if days >= 100:
        return f"{sign}{days}d"
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"

