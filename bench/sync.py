"""How fast `frontdesk sync` mirrors a mailbox, next to a bare imapclient fetch and mbsync, all
against the same throwaway Dovecot in the same run; and how soon new mail becomes a ticket
while `frontdesk sync --watch` runs. frontdesk's sync path also runs once in this process, with
timers wrapped around it from outside, to show where the storing thread's time goes and how busy
the fetching thread is.

    /work/venv/bin/python bench/sync.py [--messages 10000] [--samples 10] [--runs 3]
        [--no-postgresql] [--compare-with OTHER_VENV/bin/python]

Needs Dovecot (`apt-get install dovecot-imapd`), for the mbsync rows isync (`apt-get install
isync`), and for the PostgreSQL rows Debian's postgresql (started as the tests start it). Everything goes over IMAPS on loopback. Timings are figures to compare, never pass/fail.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import itertools
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

from imapclient import IMAPClient

from frontdesk.mail import imap_sync, ingest
from frontdesk.mail.imap_sync import MailboxSync
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import load_config
from frontdesk.storage.store import Store

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent / "tests")]
bench_import = importlib.import_module("import")  # bench/import.py: the realistic message generator
mailserver = importlib.import_module("mailserver")  # tests/mailserver.py: the test Dovecot

BATCH = 500


def seed(server, folder: str, messages: list[bytes]) -> None:
    """MULTIAPPEND, BATCH messages per command, over one connection."""
    with server.client() as client:
        for start in range(0, len(messages), BATCH):
            client.multiappend(folder, messages[start : start + BATCH])


def bare_fetch(server, folder: str) -> None:
    """The least any client can do: BODY.PEEK[] of every UID, BATCH at a time, bytes dropped."""
    with IMAPClient(server.host, server.imaps_port, ssl_context=server.trusting_context()) as client:
        client.login(mailserver.USER, mailserver.PASSWORD)
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        for start in range(0, len(uids), BATCH):
            client.fetch(uids[start : start + BATCH], ["BODY.PEEK[]", "INTERNALDATE"])


def write_frontdesk_config(server, folder: Path, mailbox: str) -> Path:
    config = bench_import.write_config(folder)
    with config.open("a", encoding="utf-8") as out:
        out.write(
            f'[imap]\nhost = "{server.host}"\nport = {server.imaps_port}\nsecurity = "tls"\n'
            f'username = "{mailserver.USER}"\nfolder = "{mailbox}"\npassword_command = "printf {mailserver.PASSWORD}"\n'
        )
    return config


def frontdesk(config: Path, db: Path | str, *args: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "frontdesk.tui.cli", "--config", str(config), "--db", str(db), *args]


def compile_build(python: str) -> None:
    """Bytecode caches for another build's frontdesk, as bench_import.compile_frontdesk does for this one."""
    code = "import sys; sys.path.insert(0, sys.argv[1]); import importlib; importlib.import_module('import').compile_frontdesk()"
    subprocess.run([python, "-c", code, str(Path(__file__).parent)], check=True)


def mbsync(server, folder: Path, mailbox: str, fsync: bool = True) -> None:
    """fsync: mbsync's default, each message on disk before the next (what a user runs). Without it,
    mbsync does what frontdesk's SQLite does (WAL, synchronous=NORMAL: no sync per commit)."""
    fresh = Path(tempfile.mkdtemp(prefix="mbsync-", dir=folder))  # each run from empty, like frontdesk's
    maildir = fresh / "maildir"
    maildir.mkdir()
    config = fresh / "mbsyncrc"
    config.write_text(
        f"FSync {'yes' if fsync else 'no'}\n\n"
        f"IMAPAccount bench\nHost localhost\nPort {server.imaps_port}\nUser {mailserver.USER}\n"
        f"Pass {mailserver.PASSWORD}\nSSLType IMAPS\nCertificateFile {server.cert}\n\n"
        "IMAPStore remote\nAccount bench\n\n"
        f"MaildirStore local\nPath {maildir}/\nInbox {maildir}/INBOX\n\n"
        f"Channel pull\nFar :remote:\nNear :local:\nPatterns {mailbox}\nCreate Near\nSync Pull\nSyncState *\n"
    )
    subprocess.run(["mbsync", "-q", "-c", str(config), "pull"], check=True)


class Stages:
    """Seconds spent inside each stage of a sync, summed over the run. Fetching runs in a thread of
    its own, alongside the rest: it is the fetching thread's busy time, not part of the wall time."""

    def __init__(self) -> None:
        self.seconds: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.transactions = 0  # open store transactions: only the outermost is timed

    def timing(self, stage: str, work: Callable) -> Callable:
        def timed(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return work(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started
                self.calls[stage] += 1

        return timed

    def timing_transaction(self, transaction: Callable) -> Callable:
        @contextlib.contextmanager
        def timed(store: Store) -> Iterator[None]:
            started = time.perf_counter()
            self.transactions += 1
            try:
                with transaction(store):
                    yield
            finally:
                self.transactions -= 1
                if not self.transactions:
                    self.seconds["store"] += time.perf_counter() - started

        return timed


def split_sync(server, config_path: Path, db: Path | str) -> tuple[float, Stages]:
    """`frontdesk sync`'s path (MailboxSync.sync_once) in this process, from an empty database,
    timed from outside: every IMAP FETCH, every parse_message run here, every wait for a parsed
    batch, every store transaction."""
    config = load_config(config_path)
    store = Store.open(db, config, Clock())
    stages = Stages()
    try:
        sync = MailboxSync(store, config.imap, ssl_context=server.trusting_context())
        with (mock.patch.object(IMAPClient, "fetch", stages.timing("fetch", IMAPClient.fetch)),
              mock.patch.object(ingest, "parse_message", stages.timing("parse", ingest.parse_message)),
              mock.patch.object(imap_sync._Parsed, "records", stages.timing("records", imap_sync._Parsed.records)),
              mock.patch.object(Store, "transaction", stages.timing_transaction(Store.transaction))):
            started = time.perf_counter()
            sync.sync_once()
            total = time.perf_counter() - started
    finally:
        store.close()
    return total, stages


def report_split(total: float, stages: Stages, count: int, base, into: str) -> None:
    seconds = stages.seconds
    parse, store = seconds["parse"], seconds["store"]
    wait = seconds["records"] - parse  # a batch parsed here is parsed while its records are asked for
    rows = (("  parse here: parse_message in this process", parse),
            ("  wait for the parsing processes", wait),
            ("  store: every store transaction", store),
            ("  other: login, SEARCH, wait for FETCH", total - parse - wait - store),
            ("  frontdesk sync in this process, all", total),
            ("  fetching thread, busy in IMAP FETCH", seconds["fetch"]))
    print(f"frontdesk sync into {into}, where the storing thread's time goes (in this process, no start-up):")
    for what, spent in rows:
        print(bench_import.Figure(what, count, spent, base).row(), flush=True)
    print(f"  (parse_message ran here for {stages.calls['parse']:,} of {count:,} messages; the others"
          " in the parsing processes)")


def stored(db: Path, message_id: str) -> bool:
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT 1 FROM message WHERE message_id = ?", (message_id,)).fetchone() is not None


def watch_latency(server, mailbox: str, config: Path, db: Path, samples: int) -> list[float]:
    """APPEND one message at a time while `sync --watch` runs; seconds until it is in the store."""
    watcher = subprocess.Popen(frontdesk(config, db, "sync", "--watch"), stdout=subprocess.PIPE, text=True)
    try:
        watcher.stdout.readline()  # "watching ...": it has started
        time.sleep(1)  # and caught up, now in IDLE
        delays = []
        for index in range(samples):
            message_id = f"latency.{index}@bench.example"
            started = time.perf_counter()
            seed(server, mailbox, [_latency_mail(message_id)])
            while not stored(db, message_id):
                time.sleep(0.005)
            delays.append(time.perf_counter() - started)
            time.sleep(0.2)
        return delays
    finally:
        watcher.send_signal(signal.SIGINT)  # Ctrl-C: exits 0
        watcher.wait(timeout=15)


def _latency_mail(message_id: str) -> bytes:
    return (
        f"From: Ana Okafor <ana@northwind.example>\r\nTo: {bench_import.SUPPORT}\r\nSubject: Is this thing on?\r\n"
        f"Message-ID: <{message_id}>\r\nDate: Wed, 25 Nov 2026 15:00:00 +0000\r\n\r\nHello.\r\n"
    ).encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="messages seeded into the mailbox")
    parser.add_argument("--samples", type=int, default=10, help="APPENDs timed while `sync --watch` runs")
    parser.add_argument("--runs", type=int, default=3, help="end-to-end runs of each program (median reported)")
    parser.add_argument("--no-postgresql", action="store_true", help="sync into SQLite only")
    parser.add_argument("--compare-with", metavar="PYTHON",
                        help="also time the frontdesk of another environment (e.g. an older checkout's venv)")
    args = parser.parse_args(argv)
    messages = list(bench_import.generate(args.messages))
    size = sum(map(len, messages)) / len(messages)
    print(f"{args.messages:,} messages, {size / 1024:.1f} KB on average, IMAPS on loopback;"
          f" end-to-end rows: median of {args.runs} interleaved runs\n")
    print(f"{'measurement':<44} {'items':>8} {'seconds':>9} {'items/s':>12} {'vs base':>9}")
    timed, count = bench_import.timed, args.messages
    with (contextlib.contextmanager(mailserver.running_dovecot)() as server, tempfile.TemporaryDirectory() as name,
          contextlib.ExitStack() as servers):
        folder = Path(name)
        os.environ["SSL_CERT_FILE"] = str(server.cert)  # frontdesk trusts the throwaway certificate
        # With bytecode caches, as an installed copy has them: else our sources compile on every start.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        bench_import.compile_frontdesk()
        builds = {"": sys.executable}
        if args.compare_with:
            compile_build(args.compare_with)
            builds[" (compared build)"] = args.compare_with
        postgres = None
        if not args.no_postgresql:
            postgres = bench_import.start_postgres(folder)
            servers.callback(postgres.stop, "immediate")
        mailbox = server.new_folder("bench")
        timed(f"seed: MULTIAPPEND, {BATCH} per command", count, lambda: seed(server, mailbox, messages))
        config = write_frontdesk_config(server, folder, mailbox)
        names = itertools.count()

        def sync_into(python: str, backend: str) -> Callable[[], object]:
            def run() -> None:
                number = next(names)
                db = folder / f"tickets-{number}.db" if backend == "sqlite" else bench_import.new_postgres_database(postgres, f"sync{number}")
                subprocess.run(frontdesk(config, db, "sync", python=python), check=True, stdout=subprocess.DEVNULL)
            return run

        programs: dict[str, Callable[[], object]] = {f"bare imapclient fetch, {BATCH} UIDs per FETCH": lambda: bare_fetch(server, mailbox)}
        for label, python in builds.items():
            programs[f"frontdesk sync{label}"] = sync_into(python, "sqlite")
            if postgres is not None:
                programs[f"frontdesk sync{label}, PostgreSQL"] = sync_into(python, "postgresql")
        if shutil.which("mbsync"):
            programs["mbsync pull into a Maildir"] = lambda: mbsync(server, folder, mailbox)
            programs["mbsync pull, FSync no"] = lambda: mbsync(server, folder, mailbox, fsync=False)
        seconds, busy = interleaved_medians(programs, args.runs)
        base = None
        figures = {}
        for what, spent in seconds.items():
            figures[what] = bench_import.Figure(what, count, spent, base)
            base = base or figures[what]
            print(figures[what].row(), flush=True)
        report_busy(seconds, busy)
        report_split(*split_sync(server, config, folder / "split.db"), count, base, "SQLite")
        if postgres is not None:
            split_db = bench_import.new_postgres_database(postgres, "split")
            report_split(*split_sync(server, config, split_db), count, base, "PostgreSQL")
        mbsync_seconds = seconds.get("mbsync pull into a Maildir")
        if mbsync_seconds is None:
            print("mbsync: not installed (apt-get install isync): no comparison")
        print()
        for what, spent in seconds.items():
            if what.startswith("frontdesk"):
                against = f"; {spent / mbsync_seconds:.2f}x mbsync (target: below 1)" if mbsync_seconds else ""
                if "mbsync pull, FSync no" in seconds:
                    against += f", {spent / seconds['mbsync pull, FSync no']:.2f}x mbsync without fsync"
                print(f"{what}: {spent / base.seconds:.2f}x the bare fetch (target: 2.5 at most){against}")
        delays = watch_latency(server, mailbox, config, folder / "tickets-0.db", args.samples)
        print(f"APPEND to ticket under `sync --watch`: median {statistics.median(delays) * 1000:.0f} ms, "
              f"max {max(delays) * 1000:.0f} ms over {len(delays)} messages (target: within 5 s)")
    return 0


def interleaved_medians(programs: dict[str, Callable[[], object]], runs: int) -> tuple[dict[str, float], dict[str, float]]:
    """Each program `runs` times, taking turns, so a busy moment of the machine hits them alike:
    the median seconds of each, and the median CPU seconds the whole machine spent meanwhile."""
    times: dict[str, list[float]] = {what: [] for what in programs}
    busy: dict[str, list[float]] = {what: [] for what in programs}
    for _ in range(runs):
        for what, work in programs.items():
            started, busy_before = time.perf_counter(), machine_busy_seconds()
            work()
            times[what].append(time.perf_counter() - started)
            busy[what].append(machine_busy_seconds() - busy_before)
    return ({what: statistics.median(spent) for what, spent in times.items()},
            {what: statistics.median(spent) for what, spent in busy.items()})


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent on anything but idling (/proc/stat): the
    program's processes, the servers it talks to, and whatever else runs (keep that to nothing)."""
    user, nice, system, idle, iowait, *rest = map(int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:])
    return (user + nice + system + sum(rest[:3])) / os.sysconf("SC_CLK_TCK")  # irq, softirq, steal


def report_busy(seconds: dict[str, float], busy: dict[str, float]) -> None:
    """How much of the machine each program kept busy: a program using every core can only get
    faster by doing less."""
    cores = os.cpu_count() or 1
    print(f"\nthe machine's CPU time during each (all processes, servers included; {cores} cores), median:")
    for what, spent in busy.items():
        print(f"  {what:<42} {spent:6.2f} s of CPU in {seconds[what]:5.2f} s:"
              f" {spent / (seconds[what] * cores):4.0%} of the cores")

if __name__ == "__main__":
    sys.exit(main())
