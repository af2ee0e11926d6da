"""The one source of "now". Everything asks a Clock; tests and snapshots hand in a frozen one."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone


class Clock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a frozen clock needs an aware datetime")
        self._at = at.astimezone(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(timezone.utc)


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; a naive one is taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def clock_from_environment() -> Clock:
    """FRONTDESK_NOW pins the clock, so scripted runs and demos are reproducible."""
    pinned = os.environ.get("FRONTDESK_NOW")
    if pinned:
        try:
            return FrozenClock(parse_instant(pinned))
        except ValueError:
            raise ValueError(f"FRONTDESK_NOW={pinned!r} is not an ISO 8601 time such as 2026-11-26T09:00:00Z") from None
    return Clock()
