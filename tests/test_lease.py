"""The mailbox lease: one process of the team at a time, on both backends. Expiry is judged by the
observer's own monotonic clock (injected here), never by comparing wall clocks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from frontdesk.storage.lease import DEFAULT_TIMING, Lease, Timing, serve
from frontdesk.storage.models import Lease as LeaseRow

from conftest import Monotonic


def lease(store, mono: Monotonic, who: str, timing: Timing = DEFAULT_TIMING) -> Lease:
    return Lease(store, timing=timing, monotonic=mono, who=who)


def test_the_first_to_ask_holds_it_and_the_others_see_who(store, mono):
    sam, dana = lease(store, mono, "sam@support-box"), lease(store, mono, "dana@laptop")
    assert sam.acquire()
    assert not dana.acquire()
    seen = dana.last_seen
    assert (seen.who, seen.pid, seen.mine, seen.free) == ("sam@support-box", os.getpid(), False, False)
    assert sam.acquire(), "asking again while holding renews"
    assert LeaseRow.get().beat == 1


def test_a_renewed_lease_never_expires_and_a_silent_one_does_after_its_time(store, mono):
    sam, dana = lease(store, mono, "sam@support-box"), lease(store, mono, "dana@laptop")
    sam.acquire()
    assert not dana.acquire()
    for _ in range(20):  # 100 s of heartbeats, each seen by the standby
        mono.advance(5)
        assert sam.renew()
        assert not dana.acquire()
    mono.advance(DEFAULT_TIMING.expires_after - 0.1)
    assert not dana.acquire(), "not a moment early"
    mono.advance(0.1)
    assert dana.acquire(), "the beat stood still for expires_after: taken over"
    row = LeaseRow.get()
    assert (row.holder, row.who, row.synced_at) == (dana.id, "dana@laptop", None)
    assert not sam.renew(), "the old holder finds out at its next renewal"
    assert not sam.held


def test_expiry_counts_from_when_the_observer_first_saw_the_beat(store, mono):
    """A process that starts long after the holder died still waits the whole time: it can't
    know how old the beat is without comparing clocks."""
    sam = lease(store, mono, "sam@support-box")
    sam.acquire()
    mono.advance(3600)  # sam died an hour ago
    late = lease(store, mono, "dana@laptop")
    assert not late.acquire()
    mono.advance(DEFAULT_TIMING.expires_after)
    assert late.acquire()


def test_of_two_standbys_only_one_takes_over(store, mono):
    sam = lease(store, mono, "sam@support-box")
    sam.acquire()
    dana, lee = lease(store, mono, "dana@laptop"), lease(store, mono, "lee@desk")
    seen = dana.observe()
    assert lee.observe() == seen
    mono.advance(60)
    # Both decided that sam is dead from the same look: the compare-and-set lets one through.
    assert [dana._take(seen), lee._take(seen)] == [True, False]
    assert not lee.acquire(), "the new holder's beat is new to lee: it starts watching again"
    assert LeaseRow.get().holder == dana.id


def test_release_hands_over_at_once(store, mono):
    sam, dana = lease(store, mono, "sam@support-box"), lease(store, mono, "dana@laptop")
    sam.acquire()
    assert not dana.acquire()
    sam.release()
    assert dana.acquire(), "no waiting after a clean exit"
    sam.release()  # no longer sam's: nothing happens
    assert LeaseRow.get().holder == dana.id


@pytest.mark.parametrize("jump", [timedelta(hours=5), -timedelta(hours=5)], ids=["forward", "back"])
def test_a_wall_clock_jump_does_not_make_a_live_holder_look_dead(store, clock, mono, jump):
    sam, dana = lease(store, mono, "sam@support-box"), lease(store, mono, "dana@laptop")
    sam.acquire()
    sam.synced()
    assert not dana.acquire()
    clock.advance(jump)  # the host's wall clock moves by hours (NTP step, a suspended VM, skew)
    for _ in range(12):
        mono.advance(5)
        sam.renew()
        assert not dana.acquire()
    assert dana.observe().synced_ago == pytest.approx(60), "60 s by sam's monotonic clock, whatever its wall clock says"
    clock.advance(-jump)
    mono.advance(12)
    assert dana.observe().synced_ago == pytest.approx(72), "and 12 s more of dana's since the last beat"


def test_synced_ago_is_measured_on_the_observers_clock(store, clock, mono):
    sam, dana = lease(store, mono, "sam@support-box"), lease(store, mono, "dana@laptop")
    sam.acquire()
    assert not dana.acquire()
    assert dana.last_seen.synced_ago is None, "no sync finished yet"
    sam.synced()
    assert dana.observe().synced_ago == 0
    mono.advance(4)
    clock.advance(timedelta(seconds=4))
    sam.renew()  # a heartbeat 4 s after the sync, by sam's clock
    mono.advance(8)
    assert dana.observe().synced_ago == pytest.approx(4), "seen just now: 4 s by sam's timestamps"
    mono.advance(8)
    assert dana.observe().synced_ago == pytest.approx(12)


def test_the_defaults_take_over_within_30_seconds_of_a_death():
    """The arithmetic, then a simulation over every phase of heartbeat and look: a standby that is
    watching takes over at most 30 s after the holder's last sign of life."""
    timing = DEFAULT_TIMING
    assert timing.takeover_within <= 30
    assert timing.give_up_after < timing.expires_after, "a holder that can't renew stops before it can be replaced"
    assert timing.expires_after >= 4 * timing.renew_every, "three late heartbeats in a row are forgiven"
    worst = 0.0
    for phase in range(50):  # when the standby looks, relative to the beats
        offset = phase * timing.check_every / 50
        death = 100.0  # the holder renewed at 0, 5, ..., 100 and then died
        looks = [offset + k * timing.check_every for k in range(200)]
        seen_at, seen_beat, taken = None, None, None
        for at in looks:
            beat = min(int(at // timing.renew_every), int(death // timing.renew_every))
            if beat != seen_beat:
                seen_at, seen_beat = at, beat
            elif at - seen_at >= timing.expires_after:
                taken = at
                break
        assert taken is not None
        worst = max(worst, taken - death)
    assert worst <= 30


def test_a_holder_that_lost_the_lease_stops_working_at_once(store, mono):
    """Real threads and time, shortened: a forced takeover ends the holder's work at its next
    renewal, and the holder goes back to standing by."""
    timing = Timing(renew_every=0.2, check_every=0.1, expires_after=1.0)
    sam = Lease(store, timing=timing, who="sam@support-box")
    stop, working, ended, standing = threading.Event(), threading.Event(), threading.Event(), []

    def work(quit: threading.Event) -> None:
        working.set()
        quit.wait()
        ended.set()

    thread = threading.Thread(target=serve, args=(sam, stop, work, lambda info, problem: standing.append(info)))
    thread.start()
    try:
        assert working.wait(5)
        dana = lease(store, mono, "dana@laptop", timing)
        seen = dana.observe()
        assert dana._take(seen)  # as if sam had looked dead to dana
        started = time.monotonic()
        assert ended.wait(5)
        assert time.monotonic() - started < timing.renew_every + 0.5
        deadline = time.monotonic() + 5
        while not standing and time.monotonic() < deadline:
            time.sleep(0.05)
        assert standing and standing[-1].who == "dana@laptop"
    finally:
        stop.set()
        thread.join(5)
    assert LeaseRow.get().holder == dana.id, "sam never took it back from a live holder"


def test_stopping_releases(store, mono):
    timing = Timing(renew_every=0.2, check_every=0.1, expires_after=1.0)
    sam = Lease(store, timing=timing, who="sam@support-box")
    stop, working = threading.Event(), threading.Event()
    thread = threading.Thread(target=serve, args=(sam, stop, lambda quit: (working.set(), quit.wait())))
    thread.start()
    assert working.wait(5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert LeaseRow.get().holder == "", "released: the next one to ask gets it at once"


# --- failover after SIGKILL, across processes -------------------------------------------------

HOLDER = """
import sys, time
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import load_config
from frontdesk.storage.lease import Lease, Timing, keeping
from frontdesk.storage.store import Store

store = Store.open(sys.argv[1], load_config(sys.argv[2]), Clock())
lease = Lease(store, timing=Timing(renew_every=0.2, check_every=0.1, expires_after=2.0), who="sam@support-box")
assert lease.acquire()
with keeping(lease):
    print("holding", flush=True)
    time.sleep(600)
"""


def start_holder(database, config_path: Path) -> subprocess.Popen:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(database), str(config_path)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "holding"
    return holder


def stop_holder(holder: subprocess.Popen) -> None:
    if holder.poll() is None:
        holder.kill()
    holder.wait()
    holder.stdout.close()


def test_a_holder_killed_with_sigkill_is_taken_over_when_its_beat_stops(store, database, config_path: Path):
    """As across hosts: the standby can't look at the holder's process, only at its beat."""
    timing = Timing(renew_every=0.2, check_every=0.1, expires_after=2.0)
    holder = start_holder(database, config_path)
    try:
        standby = Lease(store, timing=timing, who="dana@laptop", check_pids=False)
        alive_until = time.monotonic() + 2 * timing.expires_after
        while time.monotonic() < alive_until:  # longer than the expiry: the beat keeps it alive
            assert not standby.acquire(), "a live holder's lease was taken"
            time.sleep(timing.check_every)
        assert standby.last_seen.who == "sam@support-box"
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        killed = time.monotonic()
        while not standby.acquire():
            assert time.monotonic() - killed < timing.takeover_within + 1.0, "not taken over in time"
            time.sleep(timing.check_every)
        took = time.monotonic() - killed
        assert took >= timing.expires_after - timing.renew_every, "taken over before the beat could be judged"
        assert LeaseRow.get().who == "dana@laptop"
    finally:
        stop_holder(holder)


def test_a_holder_killed_on_this_machine_is_taken_over_at_once(store, database, config_path: Path):
    timing = Timing(renew_every=0.2, check_every=0.1, expires_after=2.0)
    holder = start_holder(database, config_path)
    try:
        standby = Lease(store, timing=timing, who="dana@laptop")
        assert not standby.acquire(), "its process exists: alive"
        holder.send_signal(signal.SIGKILL)
        holder.wait(5)
        assert standby.acquire(), "no process with the holder's pid here: dead for certain"
    finally:
        stop_holder(holder)
