"""Presence: who else has a ticket open, on both backends. A session's row is judged by its beat
standing still on the observer's own monotonic clock (injected here), never by wall clocks; a
process killed with SIGKILL is gone for the others within 30 s; two inboxes on one database see
each other open a ticket, reply, and quit."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from frontdesk.storage.models import Presence as PresenceRow
from frontdesk.storage.presence import DEFAULT_TIMING, NOTHING, Doing, Heartbeat, OtherSession, Presence, Timing
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.compose import ComposeScreen
from frontdesk.tui.marks import Someone
from frontdesk.tui.ticket_screen import TicketScreen
from frontdesk.tui.ticket_table import TicketTable

from conftest import Monotonic, settle, until, wait_until


def session(store, mono: Monotonic, who: str, timing: Timing = DEFAULT_TIMING) -> Presence:
    return Presence(store, who=who, timing=timing, monotonic=mono)


def names(seen: list[OtherSession]) -> list[tuple[str, int, str]]:
    return [(s.who, s.ticket_id, s.activity) for s in seen]


def test_a_published_ticket_is_seen_by_the_others_and_never_by_its_own_session(store, mono):
    sam, dana = session(store, mono, "Sam"), session(store, mono, "Dana")
    sam.publish(Doing(12, "viewing"))
    dana.publish(NOTHING)
    assert names(dana.others()) == [("Sam", 12, "viewing")]
    assert sam.others() == [], "dana has no ticket open; sam never sees sam"
    sam.publish(Doing(12, "replying"))
    dana.publish(Doing(7, "noting"))
    assert names(dana.others()) == [("Sam", 12, "replying")]
    assert names(sam.others()) == [("Dana", 7, "noting")]
    sam.publish(NOTHING)  # back in the inbox: the ticket under the cursor does not count
    assert dana.others() == []


def test_the_same_rep_in_two_windows_is_two_sessions(store, mono):
    one, two = session(store, mono, "Sam"), session(store, mono, "Sam")
    one.publish(Doing(3, "viewing"))
    two.publish(Doing(3, "replying"))
    assert names(one.others()) == [("Sam", 3, "replying")], "filtered by session, not by name"
    assert names(two.others()) == [("Sam", 3, "viewing")]


def test_renewing_moves_the_beat(store, mono):
    sam = session(store, mono, "Sam")
    sam.publish(Doing(4, "viewing"))
    sam.publish()
    sam.publish()
    row = PresenceRow.select().where(PresenceRow.session == sam.session).bind(store.db).get()
    assert (row.who, row.ticket_id, row.activity, row.beat) == ("Sam", 4, "viewing", 2)
    with pytest.raises(ValueError):
        sam.publish(Doing(4, None))


def test_a_renewed_session_stays_and_a_silent_one_is_gone_after_its_time(store, mono):
    sam, dana = session(store, mono, "Sam"), session(store, mono, "Dana")
    sam.publish(Doing(12, "viewing"))
    assert names(dana.others()) == [("Sam", 12, "viewing")]
    for _ in range(20):  # 100 s of heartbeats, each seen by dana
        mono.advance(DEFAULT_TIMING.renew_every)
        sam.publish()
        assert names(dana.others()) == [("Sam", 12, "viewing")]
    mono.advance(DEFAULT_TIMING.stale_after - 0.1)
    assert names(dana.others()) == [("Sam", 12, "viewing")], "not a moment early"
    mono.advance(0.1)
    assert dana.others() == [], "the beat stood still for stale_after of dana's clock: gone"
    assert PresenceRow.select().where(PresenceRow.session == sam.session).bind(store.db).count() == 0, "and deleted"
    sam.publish()  # sam was only slow (a suspended laptop): its next beat brings it back
    assert names(dana.others()) == [("Sam", 12, "viewing")]


def test_thirty_seconds_of_observed_silence_is_always_gone(store, mono):
    sam, dana = session(store, mono, "Sam"), session(store, mono, "Dana")
    sam.publish(Doing(1, "replying"))
    assert dana.others()
    mono.advance(30)
    assert dana.others() == []


def test_silence_counts_from_when_the_observer_first_saw_the_beat(store, mono):
    """An inbox that starts long after a session died still waits the whole time: it can't know
    how old the beat is without comparing clocks."""
    sam = session(store, mono, "Sam")
    sam.publish(Doing(5, "viewing"))
    mono.advance(3600)
    late = session(store, mono, "Dana")
    assert names(late.others()) == [("Sam", 5, "viewing")]
    mono.advance(DEFAULT_TIMING.stale_after)
    assert late.others() == []


def test_a_row_that_moved_meanwhile_is_not_deleted(store, mono):
    """The observer deletes what it judged stale only if the beat is still the one it watched."""
    sam, dana, lee = session(store, mono, "Sam"), session(store, mono, "Dana"), session(store, mono, "Lee")
    sam.publish(Doing(9, "viewing"))
    dana.others()
    mono.advance(DEFAULT_TIMING.stale_after)
    lee.others()  # lee sees sam for the first time
    sam.publish()  # alive after all, just before dana looks again
    assert names(dana.others()) == [("Sam", 9, "viewing")], "a new beat: watched afresh"
    assert names(lee.others()) == [("Sam", 9, "viewing")]


@pytest.mark.parametrize("jump", [timedelta(hours=5), -timedelta(hours=5)], ids=["forward", "back"])
def test_a_wall_clock_jump_does_not_make_a_live_session_look_stale(store, clock, mono, jump):
    sam, dana = session(store, mono, "Sam"), session(store, mono, "Dana")
    sam.publish(Doing(12, "replying"))
    assert dana.others()
    clock.advance(jump)  # the host's wall clock moves by hours (NTP step, a suspended VM, skew)
    for _ in range(12):
        mono.advance(DEFAULT_TIMING.renew_every)
        sam.publish()
        assert names(dana.others()) == [("Sam", 12, "replying")]


def test_quitting_deletes_the_row_at_once(store, mono):
    sam, dana = session(store, mono, "Sam"), session(store, mono, "Dana")
    sam.publish(Doing(12, "viewing"))
    assert dana.others()
    sam.leave()
    assert dana.others() == []
    assert PresenceRow.select().bind(store.db).count() == 0


def test_names_from_the_database_are_plain_text(store, mono):
    hostile = session(store, mono, "Sam\x1b]8;;http://evil\x07 [bold]x[/bold]\u202e\nEvil")
    hostile.publish(Doing(2, "viewing"))
    (seen,) = session(store, mono, "Dana").others()
    assert seen.who == "Sam [bold]x[/bold] Evil", "controls stripped; markup left as literal text"


def test_a_heartbeat_is_not_a_change_any_screen_shows(database, config, clock, mono):
    """Other inboxes are not made to reload their tickets by presence (SQLite: PRAGMA
    data_version moves, but nothing ChangeWatch looks at; PostgreSQL: no notice is sent)."""
    sam_store, inbox = Store.open(database, config, clock), Store.open(database, config, clock)
    try:
        sam = Presence(sam_store, who="Sam", monotonic=mono)
        inbox.watch_changes()
        seen = inbox.data_version()
        for activity in ("viewing", "replying", "noting", "viewing"):
            sam.publish(Doing(1, activity))
        sam.leave()
        assert not wait_until(lambda: inbox.data_version() != seen, 1.0), "presence woke the inbox"
    finally:
        sam_store.close()
        inbox.close()


# --- the heartbeat thread -----------------------------------------------------------------------

FAST = Timing(renew_every=0.2, check_every=0.1, stale_after=1.0)


def test_the_heartbeat_publishes_at_once_renews_and_leaves_on_close(store, mono):
    watcher = session(store, mono, "Dana", FAST)
    reports: list[list[OtherSession]] = []
    beat = Heartbeat(Presence(store, who="Sam", timing=FAST), reports.append)
    beat.start()
    try:
        assert wait_until(lambda: PresenceRow.select().bind(store.db).count() == 1, 5)
        assert watcher.others() == [], "no ticket open yet"
        beat.doing(Doing(8, "replying"))
        assert wait_until(lambda: names(watcher.others()) == [("Sam", 8, "replying")], 1.0), "published at once"
        first = PresenceRow.select(PresenceRow.beat).bind(store.db).scalar()
        assert wait_until(lambda: PresenceRow.select(PresenceRow.beat).bind(store.db).scalar() > first, 2.0), "renewed"
    finally:
        beat.close()
    assert PresenceRow.select().bind(store.db).count() == 0, "gone on close"


def test_an_inbox_that_can_no_longer_reach_the_database_stops_showing_anyone(store, mono):
    """Whoever it showed may have left meanwhile: after stale_after without a look, nobody is shown."""

    class Unreachable(Presence):
        def others(self) -> list[OtherSession]:
            if self.reachable:
                return [OtherSession("s1", "Sam", 3, "viewing")]
            raise OSError("the server went away")

    presence = Unreachable(store, who="Dana", timing=FAST)
    presence.reachable = True
    reports: list[list[OtherSession]] = []
    beat = Heartbeat(presence, reports.append)
    beat.start()
    try:
        assert wait_until(lambda: reports == [[OtherSession("s1", "Sam", 3, "viewing")]], 5)
        presence.reachable = False
        started = time.monotonic()
        assert wait_until(lambda: reports[-1] == [], 5)
        assert time.monotonic() - started >= FAST.stale_after - FAST.check_every
    finally:
        beat.close()


# --- SIGKILL, across processes --------------------------------------------------------------------

PUBLISHER = """
import sys, time
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import load_config
from frontdesk.storage.presence import Doing, Heartbeat, Presence, Timing
from frontdesk.storage.store import Store

store = Store.open(sys.argv[1], load_config(sys.argv[2]), Clock())
beat = Heartbeat(Presence(store, who="Sam", timing=Timing(renew_every=0.2, check_every=0.1, stale_after=1.5)), lambda seen: None)
beat.doing(Doing(42, "replying"))
beat.start()
print("present", flush=True)
time.sleep(600)
"""


def test_a_session_killed_with_sigkill_is_gone_once_its_beat_stops(store, database, config_path: Path):
    timing = Timing(renew_every=0.2, check_every=0.1, stale_after=1.5)
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(database), str(config_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert publisher.stdout.readline().strip() == "present"
        watcher = Presence(store, who="Dana", timing=timing)
        assert wait_until(lambda: names(watcher.others()) == [("Sam", 42, "replying")], 5)
        alive_until = time.monotonic() + 2 * timing.stale_after
        while time.monotonic() < alive_until:  # longer than stale_after: the beat keeps it alive
            assert names(watcher.others()) == [("Sam", 42, "replying")], "a live session looked stale"
            time.sleep(timing.check_every)
        publisher.send_signal(signal.SIGKILL)
        publisher.wait(5)
        killed = time.monotonic()
        while watcher.others():
            assert time.monotonic() - killed < timing.gone_within + 1.0, "not gone in time"
            time.sleep(timing.check_every)
        took = time.monotonic() - killed
        assert took >= timing.stale_after - timing.renew_every, "judged before the beat could stand still"
        assert PresenceRow.select().bind(store.db).count() == 0, "the observer deleted the dead row"
    finally:
        if publisher.poll() is None:
            publisher.kill()
        publisher.wait()
        publisher.stdout.close()


def test_the_defaults_make_a_dead_session_disappear_within_30_seconds():
    """The arithmetic, then a simulation over every phase of heartbeat and look."""
    timing = DEFAULT_TIMING
    assert timing.gone_within <= 30
    assert timing.stale_after >= 4 * timing.renew_every, "three late heartbeats in a row are forgiven"
    worst = 0.0
    for phase in range(50):  # when the observer looks, relative to the beats
        offset = phase * timing.check_every / 50
        death = 100.0  # the session renewed at 0, 5, ..., 100 and then died
        seen_at, seen_beat, gone = None, None, None
        for k in range(200):
            at = offset + k * timing.check_every
            beat = min(int(at // timing.renew_every), int(death // timing.renew_every))
            if beat != seen_beat:
                seen_at, seen_beat = at, beat
            elif at - seen_at >= timing.stale_after:
                gone = at
                break
        assert gone is not None
        worst = max(worst, gone - death)
    assert worst <= 30


# --- two inboxes on one database ----------------------------------------------------------------

SHORT = Timing(renew_every=0.3, check_every=0.1, stale_after=3.0)


def inbox(store, name: str) -> FrontdeskApp:
    store.actor = name  # who this inbox's rep is, as [me] would say
    app = FrontdeskApp(store, demo=True, state_file=None)
    app.presence_timing = SHORT
    return app


def preview_text(app) -> str:
    return app.screen.query_one("#preview").render().plain


def test_two_inboxes_see_each_other_open_reply_note_and_quit(demo_store, clock):
    dana_store = Store.open(demo_store.target, demo_store.config, clock)
    sam_app, dana_app = inbox(demo_store, "Sam"), inbox(dana_store, "Dana")

    async def drive() -> None:
        async with dana_app.run_test(size=(120, 40)) as dana:
            await settle(dana)
            table = dana_app.screen.query_one(TicketTable)
            async with sam_app.run_test(size=(120, 40)) as sam:
                await settle(sam)
                ticket_id = sam_app.screen.query_one(TicketTable).ticket_id
                assert ticket_id == table.ticket_id, "both cursors on the most urgent ticket"
                await sam.pause(5 * SHORT.check_every)
                assert dana_app.present == {}, "a ticket under the cursor is not open"

                await sam.press("enter")  # sam opens the ticket
                await settle(sam)
                assert isinstance(sam_app.screen, TicketScreen)
                sam_viewing = {ticket_id: (Someone("Sam", "viewing"),)}
                assert await until(dana, lambda: dana_app.present == sam_viewing)
                assert table.marks[ticket_id].present == sam_viewing[ticket_id], "the row is marked"
                assert "Sam viewing" in preview_text(dana_app)

                await sam.press("r")  # and starts replying
                await settle(sam)
                assert isinstance(sam_app.screen, ComposeScreen)
                assert await until(dana, lambda: dana_app.present == {ticket_id: (Someone("Sam", "replying"),)})
                assert "Sam replying" in preview_text(dana_app)

                await dana.press("enter")  # dana opens it too: the header says who else is here
                await settle(dana)
                line = dana_app.screen.query_one("#ticket-presence")
                assert line.display and line.render().plain == "Also here  Sam replying"
                assert await until(sam, lambda: sam_app.present == {ticket_id: (Someone("Dana", "viewing"),)}), (
                    "sam sees dana, never sam"
                )

                await dana.press("n")  # dana writes a note
                await settle(dana)
                assert await until(sam, lambda: sam_app.present == {ticket_id: (Someone("Dana", "noting"),)})
                await dana.press("escape")
                await settle(dana)

                await sam.press("escape")  # sam leaves the reply (the draft is kept), back on the ticket
                await settle(sam)
                assert await until(dana, lambda: line.render().plain == "Also here  Sam viewing")
            # sam quit
            rows = PresenceRow.select(PresenceRow.who).tuples().bind(dana_store.db)
            assert [who for (who,) in rows] == ["Dana"], "sam's row deleted on the way out"
            assert await until(dana, lambda: dana_app.present == {}, seconds=SHORT.stale_after / 2), (
                "gone at once, not when the beat goes stale"
            )
            assert not line.display
            await dana.press("escape")
            await settle(dana)
            assert ticket_id not in {i for i, marks in table.marks.items() if marks.present}
            assert "Sam" not in preview_text(dana_app)

    try:
        asyncio.run(drive())
    finally:
        dana_store.close()
    assert PresenceRow.select().bind(demo_store.db).count() == 0, "both rows deleted on quit"
