"""The SLA clock: durations, business-calendar arithmetic, target states and the countdown text."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.storage.sla import (
    DEFAULT_POLICY,
    SEVERITIES,
    SEVERITY_LEVELS,
    BusinessCalendar,
    Duration,
    Policy,
    SlaState,
    Targets,
    TargetState,
    TicketTimes,
    add_business,
    business_seconds,
    current_clock,
    evaluate,
    format_span,
    parse_duration,
    severity,
    severity_guide,
)

UTC = timezone.utc
LA = ZoneInfo("America/Los_Angeles")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = 3600
DAY = 24 * HOUR
US = timedelta(microseconds=1)

WHOLE_DAYS = BusinessCalendar()  # UTC, Monday to Friday, 00:00-24:00
NINE_TO_FIVE = BusinessCalendar(start=time(9), end=time(17))
EVERY_DAY_LA = BusinessCalendar(timezone=LA, workdays=frozenset(range(7)))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def la(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LA, fold=fold)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def policy(sev1: Targets, sev2: Targets, pause: bool = True) -> Policy:
    return Policy(name="custom", targets={1: sev1, 2: sev2}, pause_while_waiting=pause)


def targets(response: str | None, resolution: str | None) -> Targets:
    return Targets(
        response=None if response is None else parse_duration(response),
        resolution=None if resolution is None else parse_duration(resolution),
    )


# --- parse_duration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", Duration(90, "m")),
        ("24h", Duration(24, "h")),
        ("3d", Duration(3, "d")),
        ("8bh", Duration(8, "bh")),
        ("5bd", Duration(5, "bd")),
        ("  5bd\n", Duration(5, "bd")),
        ("007h", Duration(7, "h")),
    ],
)
def test_parse_duration_accepts_the_grammar(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["5 days", "", "   ", "5", "bd", "-1h", "+1h", "1.5h", "5BD", "5 bd", "5bdx", "5b", "1w", "٣h", "5h 2m"]
)
def test_parse_duration_rejects_anything_else_saying_what_is_expected(text: str) -> None:
    expected = f"expected a duration like 90m, 24h, 3d, 8bh or 5bd, got {text!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_duration(text)


@pytest.mark.parametrize("text", ["0h", "0bd", "100000d"])
def test_parse_duration_rejects_zero_and_absurd_amounts(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"got {text!r}")):
        parse_duration(text)


def test_parse_duration_refuses_a_number_without_unit_from_a_config_file() -> None:
    with pytest.raises(ValueError, match="got 24"):
        parse_duration(24)  # type: ignore[arg-type]


def test_duration_round_trips_through_str() -> None:
    assert str(parse_duration(" 8bh ")) == "8bh"
    with pytest.raises(ValueError):
        Duration(0, "h")


# --- the business calendar --------------------------------------------------------------------------


def test_calendar_rejects_impossible_hours_and_workdays() -> None:
    with pytest.raises(ValueError, match="workdays"):
        BusinessCalendar(workdays=frozenset())
    with pytest.raises(ValueError, match="workdays"):
        BusinessCalendar(workdays=frozenset({7}))
    with pytest.raises(ValueError, match="17:00-09:00"):
        BusinessCalendar(start=time(17), end=time(9))


def test_a_business_day_is_as_long_as_the_daily_hours() -> None:
    assert WHOLE_DAYS.day_length == timedelta(hours=24)
    assert NINE_TO_FIVE.day_length == timedelta(hours=8)


@pytest.mark.parametrize(
    ("start", "expected", "holidays"),
    [
        (utc(2026, 3, 2, 10), utc(2026, 3, 9, 10), ()),  # Monday -> next Monday
        (utc(2026, 3, 7, 10), utc(2026, 3, 14), ()),  # Saturday: starts Monday 00:00, due end of Friday
        (utc(2026, 3, 8, 23, 59), utc(2026, 3, 14), ()),  # Sunday night likewise
        (utc(2026, 3, 2, 10), utc(2026, 3, 10, 10), (date(2026, 3, 4),)),  # a holiday adds a day
        (utc(2026, 3, 2, 10), utc(2026, 3, 9, 10), (date(2026, 3, 7),)),  # a holiday on a Saturday does not
        (utc(2026, 3, 2, 10), utc(2026, 3, 10), (date(2026, 3, 2),)),  # received on a holiday: starts Tuesday
        (utc(2026, 3, 6, 23), utc(2026, 3, 13, 23), ()),  # Friday night
    ],
)
def test_five_business_days_whole_days(start: datetime, expected: datetime, holidays: tuple[date, ...]) -> None:
    calendar = BusinessCalendar(holidays=frozenset(holidays))
    assert add_business(calendar, start, 5 * DAY) == expected


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        (utc(2026, 3, 2, 10), 8, utc(2026, 3, 3, 10)),  # Monday 10:00 -> Tuesday 10:00
        (utc(2026, 3, 6, 17, 30), 8, utc(2026, 3, 9, 17)),  # after hours on Friday -> Monday 17:00
        (utc(2026, 3, 2, 8), 1, utc(2026, 3, 2, 10)),  # before hours: the clock starts at 09:00
        (utc(2026, 3, 2, 10), 7, utc(2026, 3, 2, 17)),  # due at the very end of the day, not next morning
        (utc(2026, 3, 7, 12), 40, utc(2026, 3, 13, 17)),  # a Saturday ticket: Monday 09:00 + five days
    ],
)
def test_business_hours_nine_to_five(start: datetime, hours: int, expected: datetime) -> None:
    assert add_business(NINE_TO_FIVE, start, hours * HOUR) == expected
    assert business_seconds(NINE_TO_FIVE, start, expected) == hours * HOUR


def test_business_seconds_skip_nights_weekends_and_holidays() -> None:
    assert business_seconds(WHOLE_DAYS, utc(2026, 3, 6, 12), utc(2026, 3, 9, 12)) == DAY
    assert business_seconds(NINE_TO_FIVE, utc(2026, 3, 6, 12), utc(2026, 3, 9, 12)) == 8 * HOUR
    assert business_seconds(NINE_TO_FIVE, utc(2026, 3, 7), utc(2026, 3, 8, 23)) == 0
    assert business_seconds(WHOLE_DAYS, utc(2026, 3, 9, 12), utc(2026, 3, 6, 12)) == -DAY
    holiday = BusinessCalendar(holidays=frozenset({date(2026, 3, 9)}))
    assert business_seconds(holiday, utc(2026, 3, 6, 12), utc(2026, 3, 10, 12)) == DAY


def test_add_business_rejects_negative_time_and_accepts_zero() -> None:
    with pytest.raises(ValueError):
        add_business(WHOLE_DAYS, utc(2026, 3, 2), -1)
    assert add_business(WHOLE_DAYS, la(2026, 3, 7, 10), 0) == la(2026, 3, 7, 10)


def test_a_hundred_business_days_over_years_of_holidays_are_quick() -> None:
    holidays = frozenset(date(2026, 1, 1) + timedelta(days=k) for k in range(0, 3650, 2))  # every other day
    calendar = BusinessCalendar(holidays=holidays)
    due = add_business(calendar, utc(2026, 1, 1), 100 * DAY)
    assert business_seconds(calendar, utc(2026, 1, 1), due) == 100 * DAY
    assert due.date() > date(2026, 10, 1)
    assert due == _walked(calendar, utc(2026, 1, 1), 100 * DAY)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        business_seconds(WHOLE_DAYS, datetime(2026, 3, 2), utc(2026, 3, 3))


# --- daylight saving ------------------------------------------------------------------------------


def test_business_due_time_keeps_its_wall_clock_time_when_clocks_spring_forward() -> None:
    calendar = BusinessCalendar(timezone=LA)
    start = la(2026, 3, 6, 10)  # Friday, PST
    due = add_business(calendar, start, 5 * DAY)
    assert due == la(2026, 3, 13, 10) == utc(2026, 3, 13, 17)  # Friday 10:00 PDT
    assert due - start == timedelta(days=7, hours=-1)
    assert business_seconds(calendar, start, due) == 5 * DAY


def test_business_due_time_keeps_its_wall_clock_time_when_clocks_fall_back() -> None:
    calendar = BusinessCalendar(timezone=LA)
    due = add_business(calendar, la(2026, 10, 30, 10), 5 * DAY)
    assert due == la(2026, 11, 6, 10) == utc(2026, 11, 6, 18)  # Friday 10:00 PST


def test_berlin_nine_to_five_across_both_changes() -> None:
    calendar = BusinessCalendar(timezone=BERLIN, start=time(9), end=time(17))
    assert add_business(calendar, berlin(2026, 3, 27, 10), 40 * HOUR) == berlin(2026, 4, 3, 10) == utc(2026, 4, 3, 8)
    assert add_business(calendar, berlin(2026, 10, 23, 10), 40 * HOUR) == utc(2026, 10, 30, 9)
    assert add_business(calendar, berlin(2026, 3, 27, 16), 2 * HOUR) == berlin(2026, 3, 30, 10)


def test_a_business_day_that_is_23_or_25_real_hours_long_still_counts_24() -> None:
    assert add_business(EVERY_DAY_LA, la(2026, 3, 7, 12), DAY) == la(2026, 3, 8, 12) == utc(2026, 3, 8, 19)
    assert business_seconds(EVERY_DAY_LA, la(2026, 3, 8), la(2026, 3, 9)) == DAY
    assert business_seconds(EVERY_DAY_LA, la(2026, 11, 1), la(2026, 11, 2)) == DAY
    assert la(2026, 11, 2).astimezone(UTC) - la(2026, 11, 1).astimezone(UTC) == timedelta(hours=25)


def test_a_due_time_in_the_skipped_hour_is_the_jump_forward() -> None:
    start = la(2026, 3, 8, 1, 30)  # PST; 02:00-03:00 does not exist that night
    assert add_business(EVERY_DAY_LA, start, HOUR) == la(2026, 3, 8, 3) == utc(2026, 3, 8, 10)
    assert add_business(EVERY_DAY_LA, start, 2 * HOUR) == la(2026, 3, 8, 3, 30)  # wall clock, not 2 real hours
    assert business_seconds(EVERY_DAY_LA, start, utc(2026, 3, 8, 10)) == 1.5 * HOUR


def test_the_repeated_hour_counts_once_and_due_times_in_it_keep_their_wall_clock_time() -> None:
    start = la(2026, 11, 1, 0, 30)  # PDT; 01:00-02:00 happens twice that night
    # (Compared in UTC: Python never finds a time inside the repeated hour equal to one in another zone.)
    assert add_business(EVERY_DAY_LA, start, 1800) == utc(2026, 11, 1, 8)  # 01:00 PDT
    assert add_business(EVERY_DAY_LA, start, 3600) == utc(2026, 11, 1, 9, 30)  # 01:30 PST
    assert add_business(EVERY_DAY_LA, start, 5400) == utc(2026, 11, 1, 10)  # 02:00 PST
    assert utc(2026, 11, 1, 9, 30).astimezone(LA).replace(tzinfo=None) == datetime(2026, 11, 1, 1, 30)
    # The clock waits during the first pass (PDT) and runs during the second (PST).
    assert business_seconds(EVERY_DAY_LA, start, la(2026, 11, 1, 1, 45)) == 1800
    assert business_seconds(EVERY_DAY_LA, start, la(2026, 11, 1, 1, 45, fold=1)) == 4500


def test_non_existent_and_ambiguous_local_times_as_inputs_do_not_crash() -> None:
    for start in (la(2026, 3, 8, 2, 30), la(2026, 11, 1, 1, 30), la(2026, 11, 1, 1, 30, fold=1)):
        due = add_business(EVERY_DAY_LA, start, HOUR)
        assert due > start
        ticket = TicketTimes(started_at=start, severity=2)
        assert evaluate(ticket, DEFAULT_POLICY, EVERY_DAY_LA, now=start).response is not None


def test_a_non_existent_local_time_is_read_as_python_does_and_counted_consistently() -> None:
    skipped = la(2026, 3, 8, 2, 30)  # does not exist; Python reads it as 03:30 PDT
    assert business_seconds(EVERY_DAY_LA, skipped, la(2026, 3, 8, 3, 30)) == 0
    assert add_business(EVERY_DAY_LA, skipped, HOUR) == la(2026, 3, 8, 4, 30)


def test_calendar_targets_are_real_elapsed_time_across_daylight_saving() -> None:
    calendar = BusinessCalendar(timezone=LA)
    sev1 = policy(targets("24h", "3d"), targets(None, None))
    start = la(2026, 3, 6, 12)  # Friday PST
    state = evaluate(TicketTimes(start, severity=1), sev1, calendar, now=start)
    assert state.resolution is not None and state.response is not None
    assert state.resolution.due_at == utc(2026, 3, 9, 20) == la(2026, 3, 9, 13)  # 72 real hours: 13:00 PDT
    start = la(2026, 10, 31, 12)  # Saturday PDT
    state = evaluate(TicketTimes(start, severity=1), sev1, calendar, now=start)
    assert state.response is not None
    assert state.response.due_at == la(2026, 11, 1, 11) == utc(2026, 11, 1, 19)  # 24 real hours: 11:00 PST


# --- evaluate ------------------------------------------------------------------------------------


def test_untriaged_runs_against_the_strictest_response_and_has_no_resolution_clock() -> None:
    start = utc(2026, 3, 6, 12)
    state = evaluate(TicketTimes(start, severity=None), DEFAULT_POLICY, WHOLE_DAYS, now=start)
    assert state.resolution is None
    assert state.response is not None
    assert state.response.target == Duration(24, "h")
    assert state.response.due_at == utc(2026, 3, 7, 12)
    assert (state.response.status, state.response.remaining) == ("ok", timedelta(hours=24))


def test_untriaged_takes_sev2_when_sev2_responds_sooner() -> None:
    custom = policy(targets("1bd", "5bd"), targets("2h", None))
    start = utc(2026, 3, 2, 10)
    state = evaluate(TicketTimes(start, severity=None), custom, WHOLE_DAYS, now=start)
    assert state.response is not None and state.resolution is None
    assert (state.response.target, state.response.due_at) == (Duration(2, "h"), utc(2026, 3, 2, 12))


@pytest.mark.parametrize(
    ("start", "target", "due"),
    [
        (utc(2026, 3, 2, 9), Duration(8, "bh"), utc(2026, 3, 2, 17)),  # Monday morning: 8bh is sooner
        (utc(2026, 3, 6, 16), Duration(24, "h"), utc(2026, 3, 7, 16)),  # Friday afternoon: 24h is sooner
    ],
)
def test_untriaged_compares_due_times_not_durations(start: datetime, target: Duration, due: datetime) -> None:
    custom = policy(targets("8bh", None), targets("24h", None))
    state = evaluate(TicketTimes(start, severity=None), custom, NINE_TO_FIVE, now=start)
    assert state.response is not None
    assert (state.response.target, state.response.due_at) == (target, due)


def test_untriaged_without_any_response_target_has_no_clock() -> None:
    none = policy(targets(None, "3d"), targets(None, None))
    assert evaluate(TicketTimes(utc(2026, 3, 2), None), none, WHOLE_DAYS, now=utc(2026, 3, 2)).response is None


def test_targets_count_from_the_first_message_even_when_severity_is_set_later() -> None:
    start = utc(2026, 3, 2, 10)
    triaged_days_later = utc(2026, 3, 12)
    state = evaluate(TicketTimes(start, severity=2), DEFAULT_POLICY, WHOLE_DAYS, now=triaged_days_later)
    assert state.resolution is None  # sev2 has no resolution target by default
    assert state.response is not None
    assert (state.response.due_at, state.response.status) == (utc(2026, 3, 9, 10), "breached")
    assert state.response.remaining == -timedelta(days=2, hours=14)
    state = evaluate(TicketTimes(start, severity=1), DEFAULT_POLICY, WHOLE_DAYS, now=triaged_days_later)
    assert state.resolution is not None and state.resolution.due_at == utc(2026, 3, 5, 10)


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="severity must be 1 or 2, got 3"):
        evaluate(TicketTimes(utc(2026, 3, 2), severity=3), DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 2))


# --- the severity model --------------------------------------------------------------------------


def test_the_handbook_policy_is_each_severitys_default_targets() -> None:
    assert [known.level for known in SEVERITIES] == [1, 2]
    assert DEFAULT_POLICY.targets_for(1) == Targets(Duration(24, "h"), Duration(72, "h")) == severity(1).default_targets
    assert DEFAULT_POLICY.targets_for(2) == Targets(Duration(5, "bd"), None) == severity(2).default_targets
    assert (severity(1).name, severity(1).title, severity(1).config_key) == ("S1", "Severity 1", "sev1")
    assert severity(1).critical and not severity(2).critical
    assert severity_guide() == "1 (production is badly hurt) or 2 (everything else)"


def test_a_policy_needs_targets_for_every_severity() -> None:
    with pytest.raises(ValueError, match="targets for severities 1 and 2"):
        Policy("half", {1: Targets(Duration(1, "h"), None)})


@pytest.mark.parametrize(
    ("duration", "words"),
    [("1m", "1 minute"), ("24h", "24 hours"), ("3d", "3 days"), ("8bh", "8 business hours"), ("5bd", "5 business days")],
)
def test_a_duration_in_words(duration: str, words: str) -> None:
    assert parse_duration(duration).words == words


# --- which clock matters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved", "status"),
    [(utc(2026, 3, 2, 20), "met"), (utc(2026, 3, 3, 10), "met"), (utc(2026, 3, 4), "missed")],
)
@pytest.mark.parametrize("level", [None, 1, 2])
def test_resolving_a_ticket_never_answered_stops_its_response_clock(
    resolved: datetime, status: str, level: int | None
) -> None:
    """A resolved ticket shows how its response clock ended, never a live breached countdown."""
    ticket = TicketTimes(utc(2026, 3, 2, 10), severity=level, resolved_at=resolved)
    later = utc(2026, 3, 20)
    response = evaluate(ticket, policy(targets("24h", "72h"), targets("24h", None)), WHOLE_DAYS, now=later).response
    assert response is not None
    assert (response.status, response.remaining) == (status, utc(2026, 3, 3, 10) - resolved)
    assert (response.status_at(later), response.remaining_at(later)) == (status, response.remaining)


def test_the_current_clock_is_the_response_until_it_stops_then_the_resolution_then_how_they_ended() -> None:
    start = utc(2026, 3, 2, 10)
    sev1 = TicketTimes(start, severity=1)
    clock = current_clock(evaluate(sev1, DEFAULT_POLICY, WHOLE_DAYS, now=start))
    assert clock is not None and (clock.name, clock.status, clock.running) == ("response", "ok", True)
    answered, waiting = utc(2026, 3, 2, 11), ((utc(2026, 3, 2, 12), None),)
    waiting_ticket = TicketTimes(start, severity=1, first_response_at=answered, pauses=waiting)
    clock = current_clock(evaluate(waiting_ticket, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 3)))
    assert clock is not None and (clock.name, clock.status) == ("resolution", "paused")
    assert not clock.running and not clock.stopped
    done = TicketTimes(start, severity=1, first_response_at=answered, resolved_at=utc(2026, 3, 6))
    clock = current_clock(evaluate(done, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 20)))
    assert clock is not None and (clock.name, clock.status, clock.stopped) == ("resolution", "missed", True)
    late_answer_quick_fix = TicketTimes(start, severity=1, first_response_at=utc(2026, 3, 4), resolved_at=utc(2026, 3, 4))
    clock = current_clock(evaluate(late_answer_quick_fix, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 20)))
    assert clock is not None and (clock.name, clock.status) == ("response", "missed")  # a miss is not hidden
    sev2_answered = TicketTimes(start, severity=2, first_response_at=answered)
    clock = current_clock(evaluate(sev2_answered, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 20)))
    assert clock is not None and (clock.name, clock.status) == ("response", "met")
    assert current_clock(SlaState(response=None, resolution=None)) is None


def test_a_running_clock_follows_its_turning_points_without_evaluating_again() -> None:
    start = utc(2026, 3, 2, 10)
    response = evaluate(TicketTimes(start, severity=1), DEFAULT_POLICY, WHOLE_DAYS, now=start).response
    assert response is not None and response.at_risk_at is not None
    assert response.status_at(response.at_risk_at - US) == "ok"
    assert response.status_at(response.at_risk_at) == "at_risk"
    assert response.status_at(response.due_at) == "breached"
    assert response.remaining_at(response.due_at + timedelta(hours=1)) == -timedelta(hours=1)


@pytest.mark.parametrize(
    ("replied", "status", "remaining"),
    [
        (utc(2026, 3, 2, 11), "met", timedelta(hours=23)),
        (utc(2026, 3, 3, 10), "met", timedelta(0)),  # exactly on the due time
        (utc(2026, 3, 3, 10) + US, "missed", -US),
        (utc(2026, 3, 4), "missed", -timedelta(hours=14)),
    ],
)
def test_a_stopped_response_is_met_or_missed(replied: datetime, status: str, remaining: timedelta) -> None:
    ticket = TicketTimes(utc(2026, 3, 2, 10), severity=1, first_response_at=replied)
    response = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 20)).response
    assert response is not None
    assert (response.due_at, response.status, response.remaining) == (utc(2026, 3, 3, 10), status, remaining)


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (utc(2026, 3, 2, 10), "ok"),
        (utc(2026, 3, 3, 10) - timedelta(hours=4, minutes=48), "ok"),  # exactly 20% left
        (utc(2026, 3, 3, 10) - timedelta(hours=4, minutes=48) + US, "at_risk"),
        (utc(2026, 3, 3, 10) - US, "at_risk"),
        (utc(2026, 3, 3, 10), "breached"),  # due now
        (utc(2026, 3, 5), "breached"),
    ],
)
def test_a_running_target_is_ok_at_risk_or_breached(now: datetime, status: str) -> None:
    response = evaluate(TicketTimes(utc(2026, 3, 2, 10), severity=1), DEFAULT_POLICY, WHOLE_DAYS, now=now).response
    assert response is not None
    assert (response.status, response.remaining) == (status, utc(2026, 3, 3, 10) - now)


def test_at_risk_is_measured_in_business_time_for_business_targets() -> None:
    ticket = TicketTimes(utc(2026, 3, 2, 10), severity=2)  # 5bd: due Monday 2026-03-09 10:00
    on_friday = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 6, 10)).response
    assert on_friday is not None and on_friday.status == "ok"  # exactly one business day (20%) left
    # On Saturday 58 real hours remain (more than 20% of 120h) but only 10 business hours.
    on_saturday = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 7)).response
    assert on_saturday is not None
    assert (on_saturday.status, on_saturday.remaining) == ("at_risk", timedelta(hours=58))


@pytest.mark.parametrize(("fraction", "status"), [(0.6, "at_risk"), (0.4, "ok")])
def test_at_risk_fraction_is_configurable(fraction: float, status: str) -> None:
    ticket = TicketTimes(utc(2026, 3, 2, 10), severity=1)
    now = utc(2026, 3, 2, 22)  # half of the 24h left
    response = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now, at_risk_fraction=fraction).response
    assert response is not None and response.status == status


def test_due_times_come_back_in_utc() -> None:
    ticket = TicketTimes(la(2026, 3, 6, 10), severity=1, first_response_at=la(2026, 3, 6, 11))
    state = evaluate(ticket, DEFAULT_POLICY, BusinessCalendar(timezone=LA), now=la(2026, 3, 6, 12))
    assert state.response is not None and state.resolution is not None
    assert state.response.due_at.utcoffset() == timedelta(0) == state.resolution.due_at.utcoffset()


# --- pauses -------------------------------------------------------------------------------------

START = utc(2026, 3, 2, 10)  # Monday; sev1 resolution (72h) due Thursday 10:00
SEV1_DUE = utc(2026, 3, 5, 10)


def resolution(
    pauses: tuple[tuple[datetime, datetime | None], ...], now: datetime, resolved_at: datetime | None = None
) -> TargetState:
    ticket = TicketTimes(START, severity=1, pauses=pauses, resolved_at=resolved_at)
    state = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now=now).resolution
    assert state is not None
    return state


def test_a_pause_moves_the_resolution_due_time_by_its_length() -> None:
    state = resolution(((utc(2026, 3, 3), utc(2026, 3, 3, 10)),), now=utc(2026, 3, 4))
    assert (state.due_at, state.status) == (SEV1_DUE + timedelta(hours=10), "ok")


def test_only_the_part_of_a_pause_after_the_first_message_counts() -> None:
    state = resolution(((utc(2026, 3, 1), utc(2026, 3, 2, 12)),), now=utc(2026, 3, 3))
    assert state.due_at == SEV1_DUE + timedelta(hours=2)


def test_a_pause_after_the_due_time_does_not_save_a_breach() -> None:
    state = resolution(((utc(2026, 3, 6), None),), now=utc(2026, 3, 7))
    assert (state.due_at, state.status) == (SEV1_DUE, "breached")


def test_a_pause_that_begins_before_the_moved_due_time_counts() -> None:
    first = (utc(2026, 3, 4), utc(2026, 3, 5))  # moves the due time to Friday 10:00
    second = (utc(2026, 3, 5, 12), utc(2026, 3, 5, 14))  # after the original due time, before the moved one
    state = resolution((second, first), now=utc(2026, 3, 6))
    assert state.due_at == SEV1_DUE + timedelta(hours=26)


def test_overlapping_pauses_count_once() -> None:
    pauses = ((utc(2026, 3, 3, 2), utc(2026, 3, 3, 6)), (utc(2026, 3, 3), utc(2026, 3, 3, 4)))
    assert resolution(pauses, now=utc(2026, 3, 4)).due_at == SEV1_DUE + timedelta(hours=6)


def test_an_open_pause_is_paused_with_the_due_time_as_if_it_ended_now() -> None:
    now = utc(2026, 3, 4)
    state = resolution(((utc(2026, 3, 3), None),), now=now)
    assert (state.status, state.due_at) == ("paused", SEV1_DUE + timedelta(days=1))
    assert state.remaining == timedelta(hours=58)  # frozen while paused


def test_a_resolved_ticket_is_not_paused_and_its_pause_ends_at_resolution() -> None:
    state = resolution(((utc(2026, 3, 3), None),), now=utc(2026, 3, 9), resolved_at=utc(2026, 3, 6))
    assert (state.status, state.due_at) == ("met", SEV1_DUE + timedelta(days=3))


def test_pauses_are_ignored_when_the_policy_says_so() -> None:
    ticket = TicketTimes(START, severity=1, pauses=((utc(2026, 3, 3), None),))
    no_pause = policy(DEFAULT_POLICY.targets_for(1), DEFAULT_POLICY.targets_for(2), pause=False)
    state = evaluate(ticket, no_pause, WHOLE_DAYS, now=utc(2026, 3, 4)).resolution
    assert state is not None and (state.due_at, state.status) == (SEV1_DUE, "ok")


def test_the_response_clock_is_never_paused() -> None:
    ticket = TicketTimes(START, severity=1, pauses=((utc(2026, 3, 2, 11), None),))
    response = evaluate(ticket, DEFAULT_POLICY, WHOLE_DAYS, now=utc(2026, 3, 2, 12)).response
    assert response is not None and (response.due_at, response.status) == (utc(2026, 3, 3, 10), "ok")


def test_a_pause_moves_a_business_target_by_business_time_only() -> None:
    custom = policy(targets(None, "5bd"), targets(None, None))
    over_weekend = ((utc(2026, 3, 6, 12), utc(2026, 3, 9)),)  # Friday noon to Monday: 12 business hours
    ticket = TicketTimes(START, severity=1, pauses=over_weekend)
    state = evaluate(ticket, custom, WHOLE_DAYS, now=utc(2026, 3, 9, 12)).resolution
    assert state is not None and state.due_at == utc(2026, 3, 9, 22)


# --- format_span --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=4, hours=3, minutes=59), "4d 03h"),
        (timedelta(hours=23, minutes=59, seconds=59), "23h 59m"),
        (timedelta(hours=3, minutes=5), "3h 05m"),
        (timedelta(minutes=42, seconds=10), "42m 10s"),
        (timedelta(minutes=42, seconds=9, milliseconds=1), "42m 10s"),  # a part second still left shows
        (timedelta(0), "0m 00s"),
        (-timedelta(hours=3, minutes=12, seconds=5), "-3h 12m"),
        (-timedelta(seconds=30), "-0m 30s"),
        (-timedelta(days=12, hours=23, minutes=59), "-12d 23h"),
        (-timedelta(days=123, hours=5), "-123d"),
        (timedelta(days=5000), "999d+"),
    ],
)
def test_format_span(span: timedelta, text: str) -> None:
    assert format_span(span) == text


@given(st.timedeltas())
def test_format_span_is_short_and_signed(span: timedelta) -> None:
    text = format_span(span)
    assert len(text) <= 8
    assert text.startswith("-") == (span < timedelta(0))


# --- properties -----------------------------------------------------------------------------------

# Offset changes (UTC) per zone, incl. negative DST (Dublin), 30-minute DST (Lord Howe), changes at
# midnight (Sao Paulo) and a skipped day (Apia, 2011).
OFFSET_CHANGES = {
    "UTC": [],
    "Asia/Kolkata": [],
    "America/Los_Angeles": [utc(2026, 3, 8, 10), utc(2026, 11, 1, 9)],
    "Europe/Berlin": [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)],
    "Europe/Dublin": [utc(2026, 3, 29, 1), utc(2026, 10, 25, 1)],
    "Australia/Lord_Howe": [utc(2026, 4, 4, 15), utc(2026, 10, 3, 15, 30)],
    "America/Sao_Paulo": [utc(2018, 11, 4, 3), utc(2019, 2, 17, 2)],
    "Pacific/Apia": [utc(2011, 12, 30, 10), utc(2021, 4, 3, 14)],
}
ZONES = list(OFFSET_CHANGES)
FIXED_ZONES = ["UTC", "Asia/Kolkata"]
QUARTERS = 24 * 4
Scenario = tuple[BusinessCalendar, datetime]


@st.composite
def scenarios(draw: st.DrawFn, zones: list[str] = ZONES) -> Scenario:
    """A random calendar and a start instant, often within hours of one of its zone's offset changes."""
    zone = draw(st.sampled_from(zones))
    anchors = st.datetimes(datetime(2000, 1, 1), datetime(2035, 12, 31), timezones=st.just(UTC))
    if OFFSET_CHANGES[zone]:
        anchors |= st.sampled_from(OFFSET_CHANGES[zone])
    anchor = draw(anchors)
    offset = draw(st.integers(-48, 48).map(lambda q: q * 900) | st.integers(-3 * DAY, 3 * DAY) | st.just(0))
    start = anchor + timedelta(seconds=offset)
    if draw(st.booleans()):
        opens, closes = 0, QUARTERS
    else:
        opens = draw(st.integers(0, QUARTERS - 1))
        closes = draw(st.integers(opens + 1, QUARTERS))
    holidays = draw(st.sets(st.integers(-10, 120), max_size=25))
    calendar = BusinessCalendar(
        timezone=ZoneInfo(zone),
        workdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))),
        start=_quarter(opens),
        end=None if closes == QUARTERS else _quarter(closes),
        holidays=frozenset(anchor.date() + timedelta(days=k) for k in holidays),
    )
    return calendar, start


def _quarter(n: int) -> time:
    return time(n // 4, n % 4 * 15)


AMOUNTS = st.integers(1, 200).map(lambda q: q * 900) | st.integers(1, 30 * DAY)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _at_offset_change(calendar: BusinessCalendar, t: datetime) -> bool:
    tz = calendar.timezone
    return (t - US).astimezone(tz).utcoffset() != t.astimezone(tz).utcoffset()


@FAST
@given(scenarios(), AMOUNTS)
def test_add_business_is_the_first_instant_reaching_the_target(scenario: Scenario, seconds: int) -> None:
    calendar, start = scenario
    due = add_business(calendar, start, seconds)
    assert due > start
    assert business_seconds(calendar, start, due) >= seconds
    assert business_seconds(calendar, start, due - US) < seconds
    if not _at_offset_change(calendar, due):  # only a jump forward can overshoot
        assert business_seconds(calendar, start, due) == seconds


@FAST
@given(scenarios(), AMOUNTS, AMOUNTS)
def test_add_business_is_monotonic(scenario: Scenario, a: int, b: int) -> None:
    calendar, start = scenario
    low, high = sorted((a, b))
    assert add_business(calendar, start, low) <= add_business(calendar, start, high)


@FAST
@given(scenarios(), AMOUNTS)
def test_a_due_time_lies_inside_or_at_the_end_of_a_business_window(scenario: Scenario, seconds: int) -> None:
    calendar, start = scenario
    due = add_business(calendar, start, seconds)
    local = due.astimezone(calendar.timezone).replace(tzinfo=None)
    assert _inside_or_at_end(calendar, local) or _at_offset_change(calendar, due)


def _inside_or_at_end(calendar: BusinessCalendar, wall: datetime) -> bool:
    def business(day: date) -> bool:
        return day.weekday() in calendar.workdays and day not in calendar.holidays

    day, at = wall.date(), wall.time()
    if calendar.end is None and at == time() and business(day - timedelta(days=1)):
        return True
    return business(day) and calendar.start < at and (calendar.end is None or at <= calendar.end)


@FAST
@given(scenarios(), st.integers(0, 10 * DAY), st.integers(0, 10 * DAY))
def test_business_seconds_never_run_backwards_and_add_up_over_a_split(scenario: Scenario, x: int, y: int) -> None:
    calendar, a = scenario
    middle, b = a + timedelta(seconds=x), a + timedelta(seconds=x + y)
    first, second = business_seconds(calendar, a, middle), business_seconds(calendar, middle, b)
    assert first >= 0 and second >= 0
    assert first + second == pytest.approx(business_seconds(calendar, a, b), abs=1e-6)  # float seconds


@FAST
@given(scenarios(zones=FIXED_ZONES), AMOUNTS)
def test_add_business_agrees_with_a_day_by_day_walk(scenario: Scenario, seconds: int) -> None:
    calendar, start = scenario
    assert add_business(calendar, start, seconds) == _walked(calendar, start, seconds)


def _walked(calendar: BusinessCalendar, start: datetime, seconds: int) -> datetime:
    """The obvious day-by-day walk in local time; right only where the zone has no offset changes."""
    tz, left = calendar.timezone, timedelta(seconds=seconds)
    wall = start.astimezone(tz).replace(tzinfo=None)
    day = wall.date()
    while True:
        if day.weekday() in calendar.workdays and day not in calendar.holidays:
            opens = datetime.combine(day, calendar.start)
            closes = datetime.combine(day, calendar.end or time()) + timedelta(days=calendar.end is None)
            begin = max(opens, wall)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).replace(tzinfo=tz).astimezone(UTC)
                left -= closes - begin
        day += timedelta(days=1)


DURATIONS = st.builds(Duration, st.integers(1, 100), st.sampled_from(["m", "h", "d", "bh", "bd"]))
TARGETS = st.builds(Targets, DURATIONS | st.none(), DURATIONS | st.none())


@st.composite
def pauses(draw: st.DrawFn, start: datetime) -> tuple[tuple[datetime, datetime | None], ...]:
    spans = []
    for _ in range(draw(st.integers(0, 4))):
        begin = start + timedelta(seconds=draw(st.integers(-2 * DAY, 20 * DAY)))
        length = draw(st.integers(1, 5 * DAY) | st.none())
        spans.append((begin, None if length is None else begin + timedelta(seconds=length)))
    return tuple(spans)


@FAST
@given(scenarios(), TARGETS, TARGETS, st.sampled_from([None, 1, 2]), st.data())
def test_due_times_never_precede_the_first_message_and_pauses_only_delay_them(
    scenario: Scenario, sev1: Targets, sev2: Targets, severity: int | None, data: st.DataObject
) -> None:
    calendar, start = scenario
    now = start + timedelta(seconds=data.draw(st.integers(0, 30 * DAY)))
    custom = policy(sev1, sev2)
    paused = TicketTimes(start, severity, pauses=data.draw(pauses(start)))
    plain = TicketTimes(start, severity)
    with_pauses, without = evaluate(paused, custom, calendar, now), evaluate(plain, custom, calendar, now)
    for state, reference in ((with_pauses.response, without.response), (with_pauses.resolution, without.resolution)):
        assert (state is None) == (reference is None)
        if state is not None and reference is not None:
            assert state.due_at >= start
            assert state.due_at >= reference.due_at
            assert state.remaining == state.due_at - now
            assert state.due_at.utcoffset() == timedelta(0)


@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(timezone.utc)),
    hours=st.integers(min_value=1, max_value=200),
    business=st.booleans(),
    offset=st.integers(min_value=0, max_value=400 * 3600),
)
@settings(max_examples=150, deadline=None)
def test_at_risk_at_is_where_evaluation_turns_at_risk(start, hours, business, offset):
    """Displays follow the status from at_risk_at and due_at alone: they must agree with evaluate."""
    target = Duration(hours, "bh" if business else "h")
    policy = Policy("p", {level: Targets(target, None) for level in SEVERITY_LEVELS})
    calendar = BusinessCalendar(timezone=ZoneInfo("Europe/Berlin"))
    ticket = TicketTimes(started_at=start, severity=1)
    first = evaluate(ticket, policy, calendar, start).response
    now = start + timedelta(seconds=offset)
    later = evaluate(ticket, policy, calendar, now).response
    expected = "breached" if now >= first.due_at else "at_risk" if now >= first.at_risk_at else "ok"
    assert later.status == expected
