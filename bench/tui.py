"""How the full-screen inbox starts, idles and answers keys, next to a bare Textual app in the same run.

    /work/venv/bin/python bench/tui.py [--quick] [--runs 5] [--presses 50] [--tickets 100000]

Every app runs as its own process in a real pseudo-terminal (TERM=xterm-256color, 120x40), the way
a user starts it; the script reads what the app writes to the terminal and answers nothing back.
The tickets are dated back from the moment the run starts.

- start: from spawning the process to the first frame (the table header) and to the first rows
  painted (a ticket subject in the output), with 100,000 tickets in the database (the realistic
  mix, then all of them open), against a bare app (a Static and a Footer) to its first paint;
  median of --runs runs, interleaved, after one warm-up run each;
- idle: CPU time (user + system, from /proc) and bytes written to the terminal over 60 s (15 s with
  --quick), from 5 s after spawning (or from the first paint, if later), with the real clock: 1,000 open tickets whose
  countdowns run, then the 100,000-ticket inboxes; against the bare app idle for as long;
- keys: --presses presses of Down spread over 36 s,
  from writing the key to the next output, at 100,000 tickets with the clock pinned, against the
  bare app with a focused 100-item OptionList; and the resident memory (RSS) of each after its
  first paint and after the presses;
- where the inbox's load goes at 100,000 tickets: store.recently_resolved and store.views timed and
  profiled in this process, and the work the event loop then does with the result.

Every program's measurement has a time limit (--timeout): one that runs past it, or a program that
never shows what the measurement waits for, is reported in the table as not measured and the run
goes on. Figures are to compare, never pass/fail; the targets of issue 11 are checked after
the table.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import dataclasses
import fcntl
import importlib.util
import os
import pstats
import random
import re
import select
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.sla import format_span
from frontdesk.storage.store import Store
from frontdesk.tui import views as inbox_views
from frontdesk.tui.inbox import RESOLVED_SHOWN

COLUMNS, LINES = 120, 40
TABLE_ROWS = 30  # ticket rows on a 120x40 inbox: 40 lines less banner, tabs, header, preview, footer
KEY_DOWN = b"\x1b[B"
CTRL_Q = b"\x11"
START_TIMEOUT = 180.0  # seconds; generous, the all-open variant is slow
TIME_LIMIT = 300.0  # seconds one program's measurement may take (--timeout); past it: reported, not waited for
KEY_WAIT = 5.0  # seconds a key press waits for output; a press with none counts as this long
# Seconds over which the key presses are spread. Not tied to the inbox's reload timer: since that
# became a 10-minute safety net, spanning one took 12 minutes per program and the phase looked hung.
KEY_SPAN = 36.0
IDLE_FROM = 5.0  # seconds after spawning (or the first paint, if later) that idle begins: issue 11's window
TARGETS = {"start": 1.5, "cpu": 2.0, "bytes": 1000.0, "p95": 33.0, "rss": 150.0}  # issue 11

BARE_APP = """
import sys
from textual.app import App
from textual.widgets import Footer, OptionList, Static

class Bare(App):
    def compose(self):
        yield Static("bare textual app ready")
        if sys.argv[1] == "list":
            yield OptionList(*[f"bare option {i}" for i in range(100)])
        yield Footer()

Bare().run()
"""
BARE_MARK = re.compile(rb"bare textual app ready")
# The table's header: the screen is up, rows may not be. The column sorted on carries an arrow.
HEADER_MARK = re.compile(rb"Due(?:\xe2\x96[\xb2\xbc])? SLA")


def _load_import_bench() -> ModuleType:
    """bench/import.py, whose name is a keyword: it fills the ticket table for its listing timings."""
    spec = importlib.util.spec_from_file_location("import_bench", Path(__file__).with_name("import.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


import_bench = _load_import_bench()
# Any subject fill_tickets writes, cut before its first placeholder: rows are on screen.
ROWS_MARK = re.compile(b"|".join(re.escape(s.split("{")[0][:14].encode()) for s in import_bench.SUBJECTS))


# --- databases -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Databases:
    config: Path
    big: Path  # 100,000 tickets, the realistic mix
    big_open: Path  # the same tickets, all open
    small: Path  # 1,000 open tickets of `big` whose clocks run: see ticking_ids
    # The same two big databases on PostgreSQL (URLs), when it is measured.
    big_pg: str | None = None
    big_open_pg: str | None = None

    def big_ones(self, k: str) -> dict[str, tuple[str, str]]:
        """Name -> (label, --db) of every big database measured."""
        cases = {"big": (k, str(self.big)), "open": (f"{k} all open", str(self.big_open))}
        if self.big_pg and self.big_open_pg:
            cases |= {"big_pg": (f"{k}, PostgreSQL", self.big_pg),
                      "open_pg": (f"{k} all open, PostgreSQL", self.big_open_pg)}
        return cases


def write_config(folder: Path) -> Path:
    """import.py's config (support address, customers) plus a UTC calendar that never closes,
    so every clock runs whatever the day and hour of the run."""
    path = import_bench.write_config(folder)
    with path.open("a", encoding="utf-8") as out:
        out.write('[business_hours]\ntimezone = "UTC"\n'
                  'workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nhours = "00:00-24:00"\n')
    return path


@contextlib.contextmanager
def dated(at: datetime) -> Iterator[None]:
    """fill_tickets dates tickets back from import.py's NOW; the idle runs need them dated back
    from the wall clock, or no countdown would change while they run."""
    saved, import_bench.NOW = import_bench.NOW, at
    try:
        yield
    finally:
        import_bench.NOW = saved


def build_databases(folder: Path, at: datetime, tickets: int) -> Databases:
    config = write_config(folder)
    big = folder / "big.db"
    with dated(at):
        import_bench.fill_tickets(big, config, tickets)
    big_open = _copy(big, folder / "big-open.db")
    _execute(big_open, "UPDATE ticket SET state = 'open', resolved_at = NULL WHERE state = 'resolved'")
    # Reopened behind the store's back: without the due time it keeps of each ticket, the first
    # screen and the order the load reads in would be those of no real inbox. Opening the store
    # after its SLA settings are forgotten works them out again.
    _execute(big_open, "DELETE FROM meta WHERE key = 'sla_settings'")
    Store.open(big_open, load_config(config), FrozenClock(at)).close()
    small = _copy(big, folder / "small.db")
    _keep_only(small, ticking_ids(big, config, at, 1000))
    return Databases(config, big, big_open, small)


def copy_to_postgres(server, db: Path, config: Path, at: datetime, name: str) -> str:
    """A new PostgreSQL database holding the same tickets as the SQLite one; returns its URL."""
    import psycopg

    url = import_bench.new_postgres_database(server, name)
    Store.open(url, load_config(config), FrozenClock(at)).close()  # the schema and the customers
    with contextlib.closing(sqlite3.connect(db)) as source, psycopg.connect(url) as target:
        columns = [row[1] for row in source.execute("PRAGMA table_info(ticket)")]
        customers = dict(target.execute("SELECT name, id FROM customer").fetchall())
        ids = {old: customers[name] for old, name in source.execute("SELECT id, name FROM customer")}
        at_customer = columns.index("customer_id")
        listed = ", ".join(columns)
        with target.cursor().copy(f"COPY ticket ({listed}) FROM STDIN") as copy:
            for row in source.execute(f"SELECT {listed} FROM ticket"):
                row = list(row)
                row[at_customer] = ids.get(row[at_customer])
                copy.write_row(row)
        target.execute("SELECT setval(pg_get_serial_sequence('ticket', 'id'), (SELECT max(id) FROM ticket))")
        target.execute("ANALYZE ticket")
    return url


def ticking_ids(db: Path, config: Path, at: datetime, count: int) -> list[int]:
    """The `count` open tickets due soonest without being past due (then clockless ones): the
    first screen's countdowns then change every second, the worst case for the tick. Breached
    tickets would sort first and show clocks that change once an hour."""
    store = Store.open(db, load_config(config), FrozenClock(at))
    try:
        views = store.views()
    finally:
        store.close()
    running = [v.id for v in views if v.clock is None or v.clock.status_at(at) != "breached"]
    return running[:count]


def _copy(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    return target


def _execute(db: Path, sql: str) -> None:
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        connection.execute(sql)


def _keep_only(db: Path, ids: list[int]) -> None:
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("CREATE TEMP TABLE keep (id INTEGER PRIMARY KEY)")
        connection.executemany("INSERT INTO keep VALUES (?)", [(ticket_id,) for ticket_id in ids])
        connection.execute("DELETE FROM ticket WHERE id NOT IN keep")


def ticket_counts(db: Path) -> tuple[int, int]:
    """All tickets and the not-resolved ones."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*), sum(state != 'resolved') FROM ticket").fetchone()


# --- time limits --------------------------------------------------------------------------------


class NotMeasured(Exception):
    """A measurement that gave no figure; the table says why and the run goes on."""

    cell = "failed"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.noted = False  # the reason is printed under the first row that shows it


class TimedOut(NotMeasured):
    cell = "timed out"


T = TypeVar("T")


def attempt(work: Callable[..., T], *args: object) -> T | NotMeasured:
    try:
        return work(*args)
    except NotMeasured as missing:
        return missing


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raises TimedOut wherever the measurement is, even in a blocked read or write: the signal
    handler runs as soon as the system call is interrupted."""

    def expire(_signum: int, _frame: object) -> None:
        raise TimedOut(f"timed out after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --- a program in a pseudo-terminal --------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    argv: list[str]
    env: dict[str, str]
    first_frame: re.Pattern[bytes]
    painted: re.Pattern[bytes]  # the screen the measurement waits for


def _take_terminal() -> None:
    """In the child: make the pty its controlling terminal, as a shell would."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Session:
    """One run of a program on a fresh 120x40 pty; the parent reads everything it writes."""

    def __init__(self, program: Program) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLUMNS, 0, 0))
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            program.argv, stdin=slave, stdout=slave, stderr=slave, env=program.env,
            start_new_session=True, preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.output = bytearray()  # kept only while waiting for a marker
        self.ended = False

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *_: object) -> None:
        self.quit()

    def read(self, timeout: float) -> bytes:
        """The next chunk of output, or b"" when none came within `timeout` seconds."""
        if self.ended or not select.select([self.master], [], [], max(0.0, timeout))[0]:
            return b""
        try:
            return os.read(self.master, 65536)
        except OSError:  # EIO: the program has closed the terminal
            self.ended = True
            return b""

    def wait_for(self, pattern: re.Pattern[bytes], timeout: float) -> float:
        """Seconds from spawning until `pattern` appears in the output."""
        deadline, scanned = time.perf_counter() + timeout, 0
        while not pattern.search(self.output, max(0, scanned - 64)):
            scanned = len(self.output)
            tail = f"; output ends {bytes(self.output[-200:])!r}"
            if self.ended:
                raise NotMeasured(f"ended before {pattern.pattern!r} appeared{tail}")
            if time.perf_counter() > deadline:
                raise TimedOut(f"timed out after {timeout:.0f} s waiting for {pattern.pattern!r}{tail}")
            self.output += self.read(deadline - time.perf_counter())
        return time.perf_counter() - self.started

    def pump(self, seconds: float) -> int:
        """Read (and count) output for `seconds`, so the program never blocks on a full pty."""
        deadline, count = time.perf_counter() + seconds, 0
        while (left := deadline - time.perf_counter()) > 0 and not self.ended:
            count += len(self.read(left))
        return count

    def settle(self, quiet: float = 1.0, limit: float = 15.0) -> None:
        """Read until the program has written nothing for `quiet` seconds."""
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline and self.read(quiet):
            pass

    def drain(self) -> None:
        while self.read(0):
            pass

    def send(self, keys: bytes) -> float:
        os.write(self.master, keys)
        return time.perf_counter()

    def next_output(self, timeout: float) -> float | None:
        """When the next chunk arrived; None when none came within `timeout` seconds."""
        return time.perf_counter() if self.read(timeout) else None

    def resident_megabytes(self) -> float:
        """The program's resident memory (VmRSS), in MB of 10^6 bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE).group(1))
        return kilobytes * 1024 / 1e6

    def cpu_seconds(self) -> float:
        """User + system CPU of the program so far, all its threads included."""
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()  # the name in parentheses may hold spaces
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def quit(self) -> None:
        """ctrl+q, reading the goodbye frames meanwhile; stopped by force only if it hangs."""
        with contextlib.suppress(OSError):
            self.send(CTRL_Q)
        deadline = time.perf_counter() + 15
        while self.process.poll() is None and time.perf_counter() < deadline:
            self.pump(0.05)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.master)


def child_env(home: Path, pinned: datetime | None) -> dict[str, str]:
    """The user's environment minus what changes Textual's output; a throwaway HOME so the app's
    remembered theme is never the user's."""
    # PYTHONDONTWRITEBYTECODE too: without bytecode caches our sources compile on every start,
    # which no installed copy does (the bare app's Textual has its caches from pip).
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TEXTUAL", "FRONTDESK")) and k not in ("COLORTERM", "NO_COLOR", "PYTHONDONTWRITEBYTECODE")}
    env.update(TERM="xterm-256color", COLUMNS=str(COLUMNS), LINES=str(LINES), HOME=str(home),
               XDG_STATE_HOME=str(home / "state"), XDG_CONFIG_HOME=str(home / "config"))
    if pinned is not None:
        env["FRONTDESK_NOW"] = pinned.isoformat()
    return env


def frontdesk_argv(db: Path | str, config: Path) -> list[str]:
    script = Path(sys.executable).with_name("frontdesk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "frontdesk.tui.cli"]
    return [*command, "--db", str(db), "--config", str(config)]


def inbox(db: Path | str, config: Path, env: dict[str, str]) -> Program:
    return Program(frontdesk_argv(db, config), env, HEADER_MARK, ROWS_MARK)


def bare(kind: str, env: dict[str, str]) -> Program:
    return Program([sys.executable, "-c", BARE_APP, kind], env, BARE_MARK, BARE_MARK)


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    first_frame: float
    painted: float


def start_once(program: Program, limit: float) -> Start:
    with Session(program) as session, time_limit(limit):
        first = session.wait_for(program.first_frame, START_TIMEOUT)
        return Start(first, session.wait_for(program.painted, START_TIMEOUT))


def start_medians(programs: dict[str, Program], runs: int, limit: float) -> dict[str, Start | NotMeasured]:
    """Runs interleaved, so a busy moment on the machine hits every program alike. A program
    whose run gave no figure is not run again."""
    seen: dict[str, list[Start]] = {name: [] for name in programs}
    missing: dict[str, NotMeasured] = {}
    for run in range(runs + 1):
        for name, program in programs.items():
            if name in missing:
                continue
            result = attempt(start_once, program, limit)
            if isinstance(result, NotMeasured):
                missing[name] = result
            elif run:  # run 0 warms the page cache and the bytecode
                seen[name].append(result)
    return {name: missing[name] if name in missing else
            Start(statistics.median(s.first_frame for s in starts), statistics.median(s.painted for s in starts))
            for name, starts in seen.items()}


@dataclass(frozen=True)
class Idle:
    cpu_percent: float  # of one core
    bytes_per_second: float


def idle(program: Program, seconds: float, limit: float) -> Idle:
    with Session(program) as session, time_limit(limit):
        painted = session.wait_for(program.painted, START_TIMEOUT)
        session.pump(max(0.0, IDLE_FROM - painted))
        cpu, started = session.cpu_seconds(), time.perf_counter()
        written = session.pump(seconds)
        elapsed = time.perf_counter() - started
        return Idle(100 * (session.cpu_seconds() - cpu) / elapsed, written / elapsed)


@dataclass(frozen=True)
class Keys:
    p50: float  # milliseconds
    p95: float
    worst: float
    silent: int  # presses that showed nothing within KEY_WAIT
    painted_mb: float  # resident memory once the first screen has settled
    after_mb: float  # and after the last press


def key_latency(program: Program, presses: int, limit: float) -> Keys:
    """Down, then the time to the next output; pauses are jittered so they never fall into step
    with the 1 s tick."""
    rng = random.Random(3)
    pause = KEY_SPAN / presses
    seen: list[float] = []
    silent = 0
    with Session(program) as session, time_limit(limit):
        session.wait_for(program.painted, START_TIMEOUT)
        session.settle()
        painted_mb = session.resident_megabytes()
        for press in range(presses):
            session.drain()  # output already on its way belongs to no key
            sent = session.send(KEY_DOWN)
            arrived = session.next_output(KEY_WAIT)
            if session.ended:
                raise NotMeasured(f"ended after {press} presses")
            if arrived is None:
                silent += 1
                arrived = sent + KEY_WAIT
            seen.append(1000 * (arrived - sent))
            session.pump(rng.uniform(0.75, 1.25) * pause)
        after_mb = session.resident_megabytes()
    p95 = statistics.quantiles(seen, n=20, method="inclusive")[18]
    return Keys(statistics.median(seen), p95, max(seen), silent, painted_mb, after_mb)


def import_seconds(module: str, env: dict[str, str], limit: float, runs: int = 3) -> float:
    """Median wall time of a fresh interpreter that only imports `module`."""
    times = []
    with time_limit(limit):  # subprocess.run kills the interpreter when the limit interrupts it
        for _ in range(runs + 1):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", f"import {module}"], env=env, check=True)
            times.append(time.perf_counter() - started)
    return statistics.median(times[1:])


# --- where the load goes -------------------------------------------------------------------------


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def load_breakdown(db: Path, config: Path, at: datetime, profile: bool) -> None:
    """The inbox's reload, as InboxScreen.reload runs it in its worker (the Open view's rows and
    the tabs' counts included: inbox.Shown); optionally profiled."""
    store = Store.open(db, load_config(config), FrozenClock(at))
    try:
        resolved_s, (resolved, _total) = _timed(lambda: store.recently_resolved(RESOLVED_SHOWN))
        views_s, views = _timed(store.views)
        rows = views + resolved
        shown_s, _ = _timed(lambda: (inbox_views.select(rows, "open", at, None), inbox_views.counts(views, at, None)))
        print(f"  worker: store.recently_resolved({RESOLVED_SHOWN}) {resolved_s:.2f} s, store.views() {views_s:.2f} s"
              f" for {len(views):,} open tickets, the Open view's rows and the tabs' counts {shown_s:.2f} s")
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(lambda: (store.recently_resolved(RESOLVED_SHOWN), store.views()))
            print("  profile of the worker's load, top by cumulative time:")
            pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative").print_stats(20)
    finally:
        store.close()


@dataclass(frozen=True)
class Clocks:
    """How often the countdowns on the first screen change: what the idle tick has to repaint."""

    seconds: int
    minutes: int
    slower: int
    none: int

    def __str__(self) -> str:
        return (f"{self.seconds} countdowns change every second, {self.minutes} every minute,"
                f" {self.slower} hourly or slower, {self.none} rows have no running clock")


def visible_clocks(db: Path, config: Path, at: datetime) -> Clocks:
    store = Store.open(db, load_config(config), FrozenClock(at))
    try:
        shown = [row.clock for row in store.views()[:TABLE_ROWS]]
    finally:
        store.close()
    texts = [format_span(target.remaining_at(at)) for target in shown if target is not None and not target.stopped]
    seconds = sum(text.endswith("s") for text in texts)
    minutes = sum(text.endswith("m") for text in texts)
    return Clocks(seconds, minutes, len(texts) - seconds - minutes, len(shown) - len(texts))


# --- reporting -----------------------------------------------------------------------------------


def value(result: object, attribute: str) -> float | NotMeasured:
    """One figure of a measurement, or why the measurement gave none."""
    return result if isinstance(result, NotMeasured) else getattr(result, attribute)


def row(what: str, ours: float | NotMeasured, base: float | NotMeasured, unit: str) -> None:
    cells = [f"{v.cell:>10}" if isinstance(v, NotMeasured) else f"{v:>10.2f}" for v in (ours, base)]
    measured = not isinstance(ours, NotMeasured) and not isinstance(base, NotMeasured)
    ratio = f"{ours / base:8.2f}x" if measured and base else "      n/a"
    print(f"{what:<62} {cells[0]} {cells[1]} {unit:<6} {ratio}", flush=True)
    for name, figure in (("frontdesk", ours), ("bare app", base)):
        if isinstance(figure, NotMeasured) and not figure.noted:
            figure.noted = True
            print(f"  ({name}: {figure})", flush=True)


def verdict(what: str, measured: float | NotMeasured, limit: float | NotMeasured, unit: str,
            limit_note: str = "") -> None:
    if isinstance(measured, NotMeasured) or isinstance(limit, NotMeasured):
        print(f"  {what}: not measured")
        return
    said = f"  {what}: {measured:.2f} {unit}, target {limit:.2f} {unit}{limit_note}: "
    if measured <= limit:
        print(said + f"met ({limit - measured:.2f} {unit} to spare)")
    else:
        print(said + f"missed by {measured - limit:.2f} {unit} ({measured / limit:.1f}x the target)")


@dataclass(frozen=True)
class Run:
    dbs: Databases
    at: datetime  # the data's "now"
    pinned: dict[str, str]  # environment with the clock pinned at `at`: outputs come only from keys
    live: dict[str, str]  # with the real clock: countdowns tick
    k: str  # the big database's size, for labels
    limit: float  # seconds one program's measurement may take


def bench_start(run: Run, runs: int) -> dict[str, Start | NotMeasured]:
    cases = run.dbs.big_ones(run.k)
    programs = {name: inbox(db, run.dbs.config, run.pinned) for name, (_, db) in cases.items()}
    starts = start_medians({"bare": bare("static", run.pinned), **programs}, runs, run.limit)
    base = value(starts["bare"], "painted")
    for name, (label, _) in cases.items():
        row(f"start: first frame (table header), {label}", value(starts[name], "first_frame"), base, "s")
        row(f"start: rows visible, {label}", value(starts[name], "painted"), base, "s")
    ours = attempt(import_seconds, "frontdesk.tui.cli, frontdesk.tui.app", run.pinned, run.limit)
    base_import = attempt(import_seconds, "textual.app, textual.widgets", run.pinned, run.limit)
    row("import frontdesk cli+app vs textual.app+widgets", ours, base_import, "s")
    return starts


def bench_idle(run: Run, seconds: float) -> dict[str, Idle | NotMeasured]:
    dbs = run.dbs
    ticking = visible_clocks(dbs.small, dbs.config, datetime.now(timezone.utc)).seconds
    cases = {"small": ("1,000 open", str(dbs.small)), **dbs.big_ones(run.k)}
    programs = {"bare": bare("static", run.live),
                **{name: inbox(db, dbs.config, run.live) for name, (_, db) in cases.items()}}
    idles = {name: attempt(idle, program, seconds, run.limit) for name, program in programs.items()}
    over = f"over {seconds:.0f} s"
    for measure, unit, label in (("cpu_percent", "% core", f"idle CPU {over}"),
                                 ("bytes_per_second", "B/s", "idle output")):
        base = value(idles["bare"], measure)
        clock = ", clock running" if measure == "cpu_percent" else ""
        for name, (case, _) in cases.items():
            row(f"{label}, {case}{clock}", value(idles[name], measure), base, unit)
    small = idles["small"]
    if ticking and not isinstance(small, NotMeasured):
        each = small.bytes_per_second / ticking
        print(f"  ({ticking} countdowns on the 1,000-ticket screen change every second: at most {each:.0f} B each,"
              " any reload's repaints included;"
              f" a screen of {TABLE_ROWS} such countdowns would write about {each * TABLE_ROWS:.0f} B/s)")
    return idles


def bench_keys(run: Run, presses: int) -> dict[str, Keys | NotMeasured]:
    cases = run.dbs.big_ones(run.k)
    programs = {"bare": bare("list", run.pinned),
                **{name: inbox(db, run.dbs.config, run.pinned) for name, (_, db) in cases.items()}}
    keys = {name: attempt(key_latency, program, presses, run.limit) for name, program in programs.items()}
    base = keys["bare"]
    for name, (label, _) in cases.items():
        for measure, what, unit in (("p50", "Down to next output p50", "ms"), ("p95", "Down to next output p95", "ms"),
                                    ("worst", "Down to next output max", "ms"),
                                    ("painted_mb", "resident memory after first paint", "MB"),
                                    ("after_mb", f"resident memory after {presses} Down", "MB")):
            row(f"{what}, {label}", value(keys[name], measure), value(base, measure), unit)
    for name, result in keys.items():
        if not isinstance(result, NotMeasured) and result.silent:
            print(f"  ({name}: {result.silent} of {presses} presses showed nothing within {KEY_WAIT:.0f} s;"
                  f" counted as {KEY_WAIT:.0f} s)")
    return keys


def report_targets(run: Run, starts: dict[str, Start | NotMeasured], idles: dict[str, Idle | NotMeasured],
                   keys: dict[str, Keys | NotMeasured]) -> None:
    print("\ntargets (issue 11):")
    cases = run.dbs.big_ones(run.k)
    bare_start = value(starts["bare"], "painted")
    if isinstance(bare_start, NotMeasured):
        budget, note = bare_start, ""
    else:
        budget, note = TARGETS["start"] * bare_start, f" ({TARGETS['start']}x the bare app's {bare_start:.2f} s)"
    for name, (label, _) in cases.items():
        verdict(f"start, {label}", value(starts[name], "painted"), budget, "s", note)
    idle_cases = {"small": ("1,000 open", ""), **cases}
    for name, (label, _) in idle_cases.items():
        verdict(f"idle CPU, {label}", value(idles[name], "cpu_percent"), TARGETS["cpu"], "% core")
    for name, (label, _) in idle_cases.items():
        verdict(f"idle output, {label}", value(idles[name], "bytes_per_second"), TARGETS["bytes"], "B/s")
    for name, (label, _) in cases.items():
        verdict(f"key p95, {label}", value(keys[name], "p95"), TARGETS["p95"], "ms")
    for name, (label, _) in cases.items():
        verdict(f"resident memory after the keys, {label}", value(keys[name], "after_mb"), TARGETS["rss"], "MB")


def report_load(run: Run) -> None:
    print("\nwhere the inbox's load goes (in this process, clock pinned):")
    for label, db, profile in ((f"{run.k}, realistic mix", run.dbs.big, True),
                               (f"{run.k}, all open", run.dbs.big_open, False)):
        print(f" {label}:")
        try:
            with time_limit(run.limit):
                load_breakdown(db, run.dbs.config, run.at, profile)
        except NotMeasured as missing:
            print(f"  not measured: {missing}")


def describe(dbs: Databases, at: datetime) -> None:
    for label, db in (("big", dbs.big), ("big, all open", dbs.big_open), ("small", dbs.small)):
        total, open_count = ticket_counts(db)
        print(f"database {label}: {total:,} tickets, {open_count:,} not resolved")
    print(f"first screen of the small database: {visible_clocks(dbs.small, dbs.config, at)}")
    if dbs.big_pg:
        print("big and big, all open: also copied into PostgreSQL databases on a throwaway local server")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="idle for 15 s instead of 60 s")
    parser.add_argument("--runs", type=int, default=5, help="start runs per program (median reported)")
    parser.add_argument("--presses", type=int, default=50, help="Down presses per latency run")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets in the big database")
    parser.add_argument("--timeout", type=float, default=TIME_LIMIT,
                        help="seconds one program's measurement may take before it is reported as timed out")
    parser.add_argument("--no-postgresql", action="store_true",
                        help="SQLite only (PostgreSQL comes from Debian's packages, started as the tests do)")
    args = parser.parse_args(argv)
    at = datetime.now(timezone.utc).replace(microsecond=0)
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-tui-") as name, contextlib.ExitStack() as servers:
        folder = Path(name)
        import_bench.compile_frontdesk()
        dbs = build_databases(folder, at, args.tickets)
        if not args.no_postgresql:
            server = import_bench.start_postgres(folder)
            servers.callback(server.stop, "immediate")
            dbs = dataclasses.replace(dbs, big_pg=copy_to_postgres(server, dbs.big, dbs.config, at, "big"),
                                      big_open_pg=copy_to_postgres(server, dbs.big_open, dbs.config, at, "big_open"))
        run = Run(dbs, at, child_env(folder, at), child_env(folder, None), f"{args.tickets // 1000}k", args.timeout)
        describe(run.dbs, at)
        print(f"\n{'measurement':<62} {'frontdesk':>10} {'bare app':>10} {'unit':<6} {'vs bare':>9}", flush=True)
        starts = bench_start(run, args.runs)
        idles = bench_idle(run, 15.0 if args.quick else 60.0)
        keys = bench_keys(run, args.presses)
        report_targets(run, starts, idles, keys)
        report_load(run)
    return 0


if __name__ == "__main__":
    sys.exit(main())
