"""Work that one process of the team may do at a time: a named lease in the database.

The mailbox is the one such work: IMAP sync and sending the outbox run only in the process that
holds the "mailbox" lease, whichever inboxes and `sync --watch` daemons are open.

Nobody compares clocks. The holder bumps an integer `beat` every `renew_every` seconds; another
process (a standby) takes the lease over only after it has watched the beat stand still for
`expires_after` seconds of its *own* monotonic clock, so a wall clock moved by hours, or two
hosts that disagree about the time, never make a live holder look dead. The takeover is a
compare-and-set on (holder, beat): of two standbys only one wins, and a holder that was merely
slow finds out at its next renewal (0 rows) and stops. Releasing hands over at once.

One shortcut, which needs no clock: a holder on this very machine and in this process namespace
whose process no longer exists (a crash, `kill -9`) is taken over at once, so that re-running a
killed `frontdesk sync` on the support host does not wait. A pid that exists, possibly reused by
another program, proves nothing and leaves it to the beat.

Worst case, a standby notices the last beat `check_every` after it happened and takes over at the
first look `expires_after` after that: `expires_after + 2 * check_every` after the holder died,
which the defaults keep at 30 s.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from peewee import PeeweeException

from .models import Lease as LeaseRow

if TYPE_CHECKING:
    from .store import Store

MAILBOX = "mailbox"
FREE = ""  # the holder of a released lease: the next process to ask gets it at once
Monotonic = Callable[[], float]


@dataclass(frozen=True)
class Timing:
    renew_every: float = 5.0  # the holder's heartbeat
    check_every: float = 2.5  # how often a standby looks
    expires_after: float = 25.0  # a beat standing still this long (the standby's clock): dead

    @property
    def takeover_within(self) -> float:
        """The longest a dead holder keeps the work from being done, for a standby already watching."""
        return self.expires_after + 2 * self.check_every

    @property
    def give_up_after(self) -> float:
        """A holder that could not renew for this long stops working: a standby may soon take over."""
        return max(self.expires_after - self.renew_every, self.renew_every)


DEFAULT_TIMING = Timing()


@dataclass(frozen=True)
class LeaseInfo:
    """The lease as one observer sees it."""

    name: str
    holder: str  # FREE when released
    who: str  # "sam@support-box"
    pid: int
    beat: int
    acquired_at: datetime
    renewed_at: datetime
    synced_at: datetime | None
    silent_for: float  # seconds (observer's monotonic clock) since the observer saw the beat move
    mine: bool

    @property
    def free(self) -> bool:
        return self.holder == FREE

    @property
    def synced_ago(self) -> float | None:
        """Seconds since the holder's last finished sync: the gap between two of the holder's own
        timestamps (skew-free) plus how long this observer has seen no renewal since."""
        if self.synced_at is None:
            return None
        return max(0.0, (self.renewed_at - self.synced_at).total_seconds()) + self.silent_for


def _pid_space() -> str:
    """Names the set of pids this process can check: one boot of one kernel, one pid namespace."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux: no shortcut
        return "-"
    return hashlib.sha256(f"{boot}/{namespace}".encode()).hexdigest()[:12]


PID_SPACE = _pid_space()


def whoami() -> str:
    """user@host, as people say it."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        user = str(os.getuid())
    return f"{user}@{socket.gethostname().split('.')[0] or 'localhost'}"


class Lease:
    """One process's hold on (or watch over) a named lease. Each statement commits on its own:
    call the methods outside any transaction. The wall clock (`store.clock`) only fills in the
    times people read; expiry is judged on `monotonic`."""

    def __init__(
        self,
        store: Store,
        name: str = MAILBOX,
        *,
        timing: Timing = DEFAULT_TIMING,
        monotonic: Monotonic = time.monotonic,
        who: str | None = None,
        check_pids: bool = True,
    ) -> None:
        self.store = store
        self.name = name
        self.timing = timing
        self.monotonic = monotonic
        self.who = who or whoami()
        self.pid = os.getpid()
        self.check_pids = check_pids  # the shortcut above; tests turn it off to watch the beat alone
        self.id = f"{PID_SPACE}.{self.pid}.{uuid.uuid4().hex[:12]}"  # unique to this process and object
        self.held = False
        self._seen: tuple[str, int] | None = None  # (holder, beat) as last seen
        self._seen_at = 0.0  # monotonic time it was first seen
        self.last_seen: LeaseInfo | None = None  # what the last look found
        self._synced_at: float | None = None  # monotonic time of this holder's last finished sync

    # --- holding -------------------------------------------------------------------------------

    def acquire(self) -> bool:
        """True when this process holds the lease now: it was free or released, already ours, or
        its beat has stood still for `expires_after` of this process's clock."""
        if self.held:
            return self.renew()
        now = self.store.clock.now()
        LeaseRow.insert(
            name=self.name, holder=self.id, who=self.who, pid=self.pid, beat=0, acquired_at=now, renewed_at=now
        ).on_conflict_ignore().execute()
        info = self.observe()
        if info is None:  # deleted by hand between the two statements: try again next time
            return False
        if info.mine:  # the insert was ours, or nobody took it while we could not renew
            self.held = True
        elif (info.free or info.silent_for >= self.timing.expires_after or self._gone(info)) and self._take(info):
            self.held, self._synced_at = True, None
        return self.held

    def _gone(self, info: LeaseInfo) -> bool:
        """Whether the holder is a process of this machine's pid space that no longer exists."""
        if not self.check_pids or PID_SPACE == "-" or info.pid <= 0 or not info.holder.startswith(PID_SPACE + "."):
            return False
        try:
            os.kill(info.pid, 0)  # signal 0: only asks whether the process exists
        except ProcessLookupError:
            return True
        except OSError:  # it exists, under another user
            return False
        return False

    def _take(self, seen: LeaseInfo) -> bool:
        """Compare-and-set: only if nobody renewed or took it since we looked."""
        now = self.store.clock.now()
        changed = (
            LeaseRow.update(
                holder=self.id,
                who=self.who,
                pid=self.pid,
                beat=LeaseRow.beat + 1,
                acquired_at=now,
                renewed_at=now,
                synced_at=None,  # the new holder has synced nothing yet
            )
            .where((LeaseRow.name == self.name) & (LeaseRow.holder == seen.holder) & (LeaseRow.beat == seen.beat))
            .execute()
        )
        return changed == 1

    def renew(self) -> bool:
        """The heartbeat. False when another process took the lease: stop working at once."""
        now = self.store.clock.now()
        values = {LeaseRow.beat: LeaseRow.beat + 1, LeaseRow.renewed_at: now}
        if self._synced_at is not None:  # restated on today's wall clock: a clock jump can't age it
            values[LeaseRow.synced_at] = now - timedelta(seconds=self.monotonic() - self._synced_at)
        changed = LeaseRow.update(values).where((LeaseRow.name == self.name) & (LeaseRow.holder == self.id)).execute()
        self.held = changed == 1
        return self.held

    def synced(self) -> None:
        """Record a finished sync, for the standbys' "synced by sam@support-box, 12 s ago". A sign
        of life as well: the beat moves."""
        now = self.store.clock.now()
        self._synced_at = self.monotonic()
        LeaseRow.update(synced_at=now, renewed_at=now, beat=LeaseRow.beat + 1).where(
            (LeaseRow.name == self.name) & (LeaseRow.holder == self.id)
        ).execute()

    def release(self) -> None:
        """Hand over at once (a no-op when the lease is no longer ours)."""
        self.held = False
        LeaseRow.update(holder=FREE, beat=LeaseRow.beat + 1).where(
            (LeaseRow.name == self.name) & (LeaseRow.holder == self.id)
        ).execute()

    # --- watching ------------------------------------------------------------------------------

    def observe(self) -> LeaseInfo | None:
        """Read the lease and note whether its beat moved since the last look."""
        row = LeaseRow.get_or_none(LeaseRow.name == self.name)
        if row is None:
            return None
        now = self.monotonic()
        if self._seen != (row.holder, row.beat):
            self._seen, self._seen_at = (row.holder, row.beat), now
        self.last_seen = LeaseInfo(
            name=row.name,
            holder=row.holder,
            who=row.who,
            pid=row.pid,
            beat=row.beat,
            acquired_at=row.acquired_at,
            renewed_at=row.renewed_at,
            synced_at=row.synced_at,
            silent_for=now - self._seen_at,
            mine=row.holder == self.id,
        )
        return self.last_seen


# --- working only while holding --------------------------------------------------------------


class Hold:
    """A held lease being kept: `quit` is set as soon as the work must end; `lost` says it ended
    because the lease is no longer ours (rather than because the process is stopping)."""

    def __init__(self) -> None:
        self.quit = threading.Event()
        self.lost = False


@contextmanager
def keeping(lease: Lease, stop: threading.Event | None = None) -> Iterator[Hold]:
    """Renew a held lease in a thread of its own, so that a long fetch or a slow SMTP server never
    delays the heartbeat. `quit` is set when the lease was lost, could not be renewed for
    `give_up_after`, or `stop` was set. On the way out the lease is released if still ours."""
    hold = Hold()
    keeper = threading.Thread(target=_keep, args=(lease, stop, hold), name=f"lease-{lease.name}", daemon=True)
    keeper.start()
    try:
        yield hold
    finally:
        hold.quit.set()
        keeper.join()
        if lease.held:
            _quietly(lease, lease.release)


def _keep(lease: Lease, stop: threading.Event | None, hold: Hold) -> None:
    timing = lease.timing
    poll = min(0.25, timing.renew_every / 4)
    renewed = lease.monotonic()
    next_renewal = renewed + timing.renew_every
    try:
        while not hold.quit.wait(poll):
            if stop is not None and stop.is_set():
                return
            now = lease.monotonic()
            if now < next_renewal:
                continue
            try:
                if not lease.renew():
                    hold.lost = True  # taken over: to the others this process looked dead
                    return
                renewed, next_renewal = now, now + timing.renew_every
            except PeeweeException:  # the database is away: keep trying while that is safe
                _reconnect(lease)
                if now - renewed >= timing.give_up_after:
                    lease.held, hold.lost = False, True
                    return
                next_renewal = now + min(1.0, timing.renew_every)
    finally:
        hold.quit.set()
        lease.store.db.close()  # this thread's own connection


def serve(
    lease: Lease,
    stop: threading.Event,
    work: Callable[[threading.Event], None],
    on_standby: Callable[[LeaseInfo | None, str | None], None] | None = None,
) -> None:
    """Until `stop` is set: wait for the lease, then run `work(quit)` while holding it; `work` must
    return soon after `quit` is set. A lost lease goes back to waiting. `work` returning by itself
    (or raising) ends this and releases the lease, so that another process can do the work.
    At each look a standby tells `on_standby(info, problem)` what it sees."""
    try:
        while not stop.is_set():
            try:
                got = lease.acquire()
            except PeeweeException as error:
                _reconnect(lease)
                if on_standby:
                    on_standby(None, f"database unavailable: {' '.join(str(error).split())}")
                stop.wait(lease.timing.check_every)
                continue
            if not got:
                if on_standby:
                    on_standby(lease.last_seen, None)
                stop.wait(lease.timing.check_every)
                continue
            with keeping(lease, stop) as hold:
                work(hold.quit)
            if not hold.lost:
                return
    finally:
        if lease.held:
            _quietly(lease, lease.release)


def _reconnect(lease: Lease) -> None:
    """Drop this thread's broken connection; the next statement opens a new one."""
    with contextlib.suppress(Exception):
        lease.store.db.close()


def _quietly(lease: Lease, call: Callable[[], object]):
    try:
        return call()
    except PeeweeException:
        _reconnect(lease)
        return None
