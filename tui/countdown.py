"""How a clock reads at a glance: `4d 03h`, `23h 59m`, `42m 10s` under an hour, `-3h 12m` past due."""

from __future__ import annotations

from datetime import datetime, timedelta

from frontdesk.storage.sla import TargetState

_LONGEST_DAYS = 999
# Short status words beside a countdown, so it reads without colour too.
STATUS_LABEL = {"breached": "LATE", "at_risk": "RISK", "ok": "ok", "paused": "wait", "met": "", "missed": ""}


def format_countdown(remaining: timedelta) -> str:
    seconds = int(remaining.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days > _LONGEST_DAYS:
        return f"{sign}{_LONGEST_DAYS}d+"
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    return f"{sign}{minutes}m {secs:02d}s"


def live_status(target: TargetState, now: datetime) -> str:
    """The status as of now, followed from the clock's own turning points: no re-evaluation."""
    if target.status not in ("ok", "at_risk"):
        return target.status
    if now >= target.due_at:
        return "breached"
    if target.at_risk_at is not None and now >= target.at_risk_at:
        return "at_risk"
    return target.status


def live_remaining(target: TargetState, now: datetime) -> timedelta:
    """Time left, recomputed from the due time (never counted down), frozen once stopped or paused."""
    if target.status in ("met", "missed", "paused"):
        return target.remaining
    return target.due_at - now
