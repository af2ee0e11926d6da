"""Who else has a ticket open: one heartbeat row per inbox session.

Each session publishes a row under a random session id: who (the rep's name), the ticket it has
open (or none) and what the rep does there: viewing it, replying, or writing a note. The row's
integer `beat` moves every `renew_every` seconds, and at once when what the rep does changes.
Quitting deletes the row.

Nobody compares clocks, as with the mailbox lease (storage/lease.py): an observer counts a row as
gone once it has watched the beat stand still for `stale_after` seconds of its *own* monotonic
clock, so a wall clock moved by hours, or two hosts that disagree about the time, never make a
live session look stale. The observer that judged a row stale deletes it (only if the beat is
still the one it watched), so the rows of a process killed with SIGKILL do not pile up.

Worst case, an observer notices the last beat `check_every` after it happened and judges it at
the first look `stale_after` after that: the row is gone from its screen `stale_after + 2 *
check_every` after the session died, which the defaults keep at 30 s.

Cost: the table is a few rows, read every `check_every` seconds by each inbox. It sends no change
notice (PostgreSQL) and is not among what storage/database.py's ChangeWatch looks at (SQLite), so
a heartbeat never makes another inbox reload its tickets.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .models import Presence as PresenceRow
from .safe_text import display_line

if TYPE_CHECKING:
    from .store import Store

Activity = Literal["viewing", "replying", "noting"]
ACTIVITIES: tuple[Activity, ...] = ("viewing", "replying", "noting")
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Timing:
    renew_every: float = 5.0  # the heartbeat
    check_every: float = 2.5  # how often an inbox looks at the others
    stale_after: float = 25.0  # a beat standing still this long (the observer's clock): gone

    @property
    def gone_within(self) -> float:
        """The longest a dead session stays on the screen of an inbox already watching it."""
        return self.stale_after + 2 * self.check_every


DEFAULT_TIMING = Timing()


@dataclass(frozen=True)
class Doing:
    """What a session publishes: the ticket it has open, and what the rep does there."""

    ticket_id: int | None = None
    activity: Activity | None = None


NOTHING = Doing()


@dataclass(frozen=True)
class OtherSession:
    """Another session with a ticket open, as one observer sees it. `who` is safe to show as plain
    text (no control characters); it is still never to be read as markup."""

    session: str
    who: str
    ticket_id: int
    activity: Activity


class Presence:
    """One inbox session's presence: publishing its own row and watching the others'. Each
    statement commits on its own: call the methods outside any transaction, from one thread."""

    def __init__(
        self,
        store: Store,
        *,
        who: str | None = None,
        timing: Timing = DEFAULT_TIMING,
        monotonic: Monotonic = time.monotonic,
    ) -> None:
        self.store = store
        self.who = who if who is not None else store.actor
        self.timing = timing
        self.monotonic = monotonic
        self.session = uuid.uuid4().hex  # random: two sessions of one rep are two rows
        self.doing = NOTHING
        self._watched: dict[str, tuple[int, float]] = {}  # session: (beat, monotonic time first seen)

    # --- this session ---------------------------------------------------------------------------

    def publish(self, doing: Doing | None = None) -> None:
        """Say what this session does now (or, without an argument, that it is still there): the
        beat moves either way. Brings the row back if an observer had judged it stale."""
        if doing is not None:
            if (doing.ticket_id is None) != (doing.activity is None) or (
                doing.activity is not None and doing.activity not in ACTIVITIES
            ):
                raise ValueError(f"not something a session does: {doing}")
            self.doing = doing
        values = {
            PresenceRow.who: self.who,
            PresenceRow.ticket_id: self.doing.ticket_id,
            PresenceRow.activity: self.doing.activity,
            PresenceRow.renewed_at: self.store.clock.now(),  # for people reading the table; never judged
        }
        (
            PresenceRow.insert(
                {
                    **values,
                    PresenceRow.session: self.session,
                    PresenceRow.beat: 0,
                    PresenceRow.host: _host(),
                    PresenceRow.pid: os.getpid(),
                }
            )
            .on_conflict(
                conflict_target=[PresenceRow.session], update={**values, PresenceRow.beat: PresenceRow.beat + 1}
            )
            .bind(self.store.db)
            .execute()
        )

    def leave(self) -> None:
        """On quit: this session's row goes at once."""
        PresenceRow.delete().where(PresenceRow.session == self.session).bind(self.store.db).execute()

    # --- the others ---------------------------------------------------------------------------

    def others(self) -> list[OtherSession]:
        """The other live sessions that have a ticket open, by name. Rows whose beat this observer
        has watched stand still for `stale_after` are deleted, unless they moved meanwhile."""
        rows = (
            PresenceRow.select(
                PresenceRow.session, PresenceRow.who, PresenceRow.ticket_id, PresenceRow.activity, PresenceRow.beat
            )
            .where(PresenceRow.session != self.session)
            .tuples()
            .bind(self.store.db)
        )
        now = self.monotonic()
        watched: dict[str, tuple[int, float]] = {}
        seen, stale = [], []
        for session, who, ticket_id, activity, beat in rows:
            last = self._watched.get(session)
            watched[session] = last if last is not None and last[0] == beat else (beat, now)
            if now - watched[session][1] >= self.timing.stale_after:
                stale.append((session, beat))
            elif ticket_id is not None and activity in ACTIVITIES:
                seen.append(OtherSession(session, display_line(who) or "someone", ticket_id, activity))
        self._watched = watched  # sessions no longer in the table are forgotten
        for session, beat in stale:
            PresenceRow.delete().where((PresenceRow.session == session) & (PresenceRow.beat == beat)).bind(
                self.store.db
            ).execute()
            self._watched.pop(session, None)
        return sorted(seen, key=lambda s: (s.ticket_id, s.who.casefold(), s.session))


def by_ticket(seen: list[OtherSession]) -> dict[int, list[OtherSession]]:
    """The sessions on each ticket, in the order given."""
    tickets: dict[int, list[OtherSession]] = {}
    for someone in seen:
        tickets.setdefault(someone.ticket_id, []).append(someone)
    return tickets


def _host() -> str:
    return socket.gethostname().split(".")[0] or "localhost"


class Heartbeat:
    """Keeps a session's presence in a thread of its own: publishes what the session does at once
    when it changes and every `renew_every` otherwise, and hands what it sees of the others to
    `on_seen` every `check_every` (only when that changed). `close` deletes the row."""

    def __init__(self, presence: Presence, on_seen: Callable[[list[OtherSession]], None]) -> None:
        self.presence = presence
        self.on_seen = on_seen
        self._want = NOTHING
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A plain daemon thread: quitting never waits on an unreachable database for long.
        self._thread = threading.Thread(target=self._run, name="frontdesk-presence", daemon=True)
        self._thread.start()

    def doing(self, doing: Doing) -> None:
        """What the rep does now; published at once (from the thread)."""
        with self._lock:
            changed = doing != self._want
            self._want = doing
        if changed:
            self._wake.set()

    def close(self, wait: float = 1.5) -> None:
        """Stop, and delete this session's row (by the thread, which is given `wait` seconds)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(wait)

    def _run(self) -> None:
        presence, timing = self.presence, self.presence.timing
        published: Doing | None = None
        shown: list[OtherSession] | None = None
        next_beat = next_look = looked = presence.monotonic()
        try:
            while not self._stop.is_set():
                with self._lock:
                    want = self._want
                now = presence.monotonic()
                try:
                    if want != published or now >= next_beat:
                        presence.publish(want)
                        published, next_beat = want, now + timing.renew_every
                    if now >= next_look:
                        next_look = now + timing.check_every
                        seen, looked = presence.others(), now
                        if seen != shown:
                            shown = seen if self._report(seen) else None  # None: told again next time
                except Exception:  # the database is away (or refused): try again shortly, on a new connection
                    _reconnect(presence)
                    published = None
                    next_beat = next_look = now + min(1.0, timing.check_every)
                    if shown and now - looked >= timing.stale_after:  # can't tell who is still there
                        shown = [] if self._report([]) else None
                self._wake.wait(max(0.0, min(next_beat, next_look) - presence.monotonic()))
                self._wake.clear()
        finally:
            try:
                presence.leave()
            except Exception:  # unreachable: the others judge the row stale within gone_within
                pass
            _reconnect(presence)  # this thread's own connection

    def _report(self, seen: list[OtherSession]) -> bool:
        try:
            self.on_seen(seen)
        except Exception:  # the receiver's trouble (a screen going away) must not stop the heartbeat
            return False
        return True


def _reconnect(presence: Presence) -> None:
    try:
        presence.store.db.close()
    except Exception:  # already broken: nothing to close cleanly
        pass
