"""IMAP sync against a real Dovecot: the mirror, the drills of issue 4, IDLE, TLS."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import mailserver
import pytest
import smtpserver
from mailserver import PASSWORD, Dovecot

from frontdesk.mail.imap_sync import Limits, MailboxSync, SyncError
from frontdesk.mail.ingest import IngestSummary
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import Config, ServerConfig
from frontdesk.storage.find import find
from frontdesk.storage.lease import Lease
from frontdesk.storage.store import Store
from frontdesk.tui.cli import main as frontdesk

from conftest import CONFIG_TOML, NOW, build_mail

# The fixtures live in mailserver.py; pytest finds them by these names.
dovecot = mailserver.dovecot
own_dovecot = mailserver.own_dovecot
smtp_server = smtpserver.smtp_server

# The peak resident size of the process's own memory (VmHWM) before and after `frontdesk ...`;
# getrusage's ru_maxrss would carry the parent's peak over fork and exec.
MEASURE_PEAK = """
import re, sys
import frontdesk.mail.imap_sync
from frontdesk.tui.cli import main
def peak_kb():
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+)", status.read()).group(1))
base = peak_kb()
status = main(sys.argv[1:])
print("GROWTH_KB", peak_kb() - base, file=sys.stderr)
sys.exit(status)
"""
RECEIVED = datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)  # INTERNALDATE, days before the Date header


def customer_mail(tag: str, count: int) -> list[bytes]:
    return [build_mail(subject=f"{tag} problem {i}", message_id=f"{tag}.{i}@acme.example") for i in range(count)]


def rows(db: Path | Store, sql: str) -> list[tuple]:
    """A SQLite file through a connection of its own; a store (either backend) through the store."""
    if isinstance(db, Store):
        try:
            return [tuple(row) for row in db.db.execute_sql(sql).fetchall()]
        finally:
            db.release()
    with contextlib.closing(sqlite3.connect(db)) as connection:
        return connection.execute(sql).fetchall()


def stored(db: Path | Store) -> tuple[int, int]:
    """(messages, distinct Message-IDs): equal means no message is stored twice."""
    return rows(db, "SELECT count(*), count(DISTINCT message_id) FROM message")[0]


def last_uid(db: Path | Store) -> int:
    found = rows(db, "SELECT max(last_uid) FROM sync_state")
    return found[0][0] or 0


def descendants(pid: int) -> set[int]:
    """The processes under `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit():
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
                children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    return ""


def running(pid: int) -> bool:
    """Alive, and not a zombie that nobody has reaped yet."""
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    return False


def all_ended(pids: set[int]) -> Callable[[], bool]:
    return lambda: not any(map(running, pids))


def has_stored(db: Path | Store, count: int) -> Callable[[], bool]:
    return lambda: stored(db)[0] == count


def committed_or_ended(process: subprocess.Popen, db: Path, since_uid: int) -> Callable[[], bool]:
    return lambda: process.poll() is not None or last_uid(db) > since_uid


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s")
        time.sleep(0.01)


@contextlib.contextmanager
def watching(sync: MailboxSync) -> Iterator[list[tuple[str, str]]]:
    """sync.watch in a thread, as the inbox runs it; yields the statuses it reported."""
    statuses: list[tuple[str, str]] = []
    sync.on_status = lambda state, detail: statuses.append((state, detail))
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            sync.watch(stop)
        except BaseException as error:  # handed to the test's thread
            failure.append(error)
        finally:
            sync.store.db.close()  # this thread's own connection

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield statuses
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive(), "watch did not stop"
    assert not failure, failure


# --- the command line against a real server --------------------------------------------------


@dataclass
class Box:
    """A folder of the test's own, a config naming it, and a database, for `frontdesk sync`."""

    server: Dovecot
    folder: str
    config: Path
    db: Path

    def args(self, *args: str) -> list[str]:
        return ["--db", str(self.db), "--config", str(self.config), *args]

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "frontdesk.tui.cli", *self.args(*args)]

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=60)


def make_box(server: Dovecot, folder: Path, tls: bool = True, password: str = PASSWORD) -> Box:
    """TLS through the CLI trusts the test certificate by SSL_CERT_FILE (see cli_env)."""
    box = server.new_folder()
    port, security = (server.imaps_port, "tls") if tls else (server.imap_port, "none")
    imap = (
        f'[imap]\nhost = "{server.host}"\nport = {port}\nsecurity = "{security}"\nusername = "support@example.com"\n'
        f'folder = "{box}"\npassword_command = "printf {password}"\ntimeout = 10\n'
    )
    config = folder / "sync.toml"
    config.write_text(CONFIG_TOML + imap, encoding="utf-8")
    return Box(server, box, config, folder / "tickets.db")


@pytest.fixture
def cli_env(dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))


@pytest.fixture
def box(dovecot: Dovecot, tmp_path: Path, cli_env: None) -> Box:
    return make_box(dovecot, tmp_path)


def engine(server: Dovecot, store: Store, folder: str, **options: object) -> MailboxSync:
    return MailboxSync(store, server.server_config(folder), **options)


# --- the mirror ------------------------------------------------------------------------------


def test_sync_from_empty_makes_tickets_and_leaves_the_mailbox_alone(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail("empty", 12), when=RECEIVED)
    flags_before = dovecot.flags(folder)

    report = engine(dovecot, store, folder).sync_once()

    counts = report.folders[folder].counts
    assert (counts.read, counts.new_tickets, counts.duplicates) == (12, 12, 0)
    assert {view.created_at for view in store.views()} == {RECEIVED}  # INTERNALDATE, not the Date header
    assert dovecot.flags(folder) == flags_before  # read-only: no \Seen
    assert all(b"\\Seen" not in flags for flags in flags_before.values())


def test_incremental_sync_fetches_only_new_uids(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail("incr", 5))
    sync = engine(dovecot, store, folder)
    sync.sync_once()

    dovecot.append(folder, customer_mail("incr-more", 3))
    assert sync.sync_once().fetched == 3
    # Appended and expunged: UIDNEXT moves on, and `UID SEARCH UID n:*` answers with the highest
    # UID still there (already stored), which must not be fetched again.
    dovecot.append(folder, customer_mail("gone", 1))
    dovecot.expunge_last(folder)
    assert sync.sync_once().fetched == 0
    assert len(store.views()) == 8


def test_small_batches_commit_with_the_position(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail("batches", 7))
    batches: list[int] = []
    limits = Limits(batch_uids=3, batch_bytes=700)  # a few messages of ~300 bytes each per batch
    engine(dovecot, store, folder, limits=limits, on_batch=lambda _, counts: batches.append(counts.read)).sync_once()
    assert sum(batches) == 7 and max(batches) <= 2
    assert last_uid(store) == 7


def test_uidvalidity_change_rescans_without_duplicates(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    mail = customer_mail("validity", 5)
    dovecot.append(folder, mail)
    sync = engine(dovecot, store, folder)
    sync.sync_once()

    dovecot.recreate(folder, [*reversed(mail), *customer_mail("validity-new", 1)])  # new UIDs for old mail
    report = sync.sync_once().folders[folder]

    assert report.rescanned
    assert (report.counts.read, report.counts.duplicates, report.counts.new_tickets) == (6, 5, 1)
    assert stored(store) == (6, 6)


def test_sent_folder_reply_stops_the_response_clock(dovecot: Dovecot, store: Store) -> None:
    inbox, sent = dovecot.new_folder("in"), dovecot.new_folder("replies")
    dovecot.append(inbox, [build_mail(message_id="ask@acme.example")], when=RECEIVED)
    answered = datetime(2026, 11, 20, 9, 15, tzinfo=timezone.utc)
    reply = build_mail(
        subject="Re: Search is down", sender="Example Support <support@example.com>", to="alice@acme.example",
        in_reply_to="ask@acme.example", body="We are on it.",
    )
    dovecot.append(sent, [reply], when=answered)

    MailboxSync(store, dovecot.server_config(inbox, sent_folder=sent)).sync_once()

    (view,) = store.views()
    assert (view.first_response_at, view.state, view.message_count) == (answered, "open", 2)


def test_a_missing_sent_folder_is_reported_and_the_inbox_still_syncs(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail("nosent", 2))
    report = MailboxSync(store, dovecot.server_config(folder, sent_folder="No Such Folder")).sync_once()
    assert report.folders[folder].counts.read == 2
    assert report.errors and report.errors[0].startswith("No Such Folder: ")


def test_huge_message_keeps_its_head_and_memory_stays_bounded(box: Box) -> None:
    """A 30 MB message, fetched and parsed whole, costs over 150 MB; cut to its head it costs little."""
    lines = b"0123456789abcdef" * 4 + b"\r\n"
    huge = build_mail(message_id="huge@acme.example", body="Logs attached.").replace(
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nLogs attached.",
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nLogs attached.'
        b'\r\n--b\r\nContent-Type: text/plain; name="dump.txt"\r\n\r\n' + lines * (30 * 1024 * 1024 // len(lines)) + b"--b--",
    )
    box.server.append(box.folder, [huge])
    done = subprocess.run([sys.executable, "-c", MEASURE_PEAK, *box.args("sync")], capture_output=True, text=True, timeout=60)

    assert done.returncode == 0, done.stderr
    growth_mb = int(done.stderr.split("GROWTH_KB")[1].split()[0]) / 1024
    assert growth_mb < 64, f"peak memory grew by {growth_mb:.0f} MB"
    body, defects = rows(box.db, "SELECT body_text, defects FROM message")[0]
    assert "Logs attached." in body
    assert "message truncated at 1 MB of 30.0 MB" in defects, defects


def help_desk_mail(count: int) -> list[bytes]:
    """Threads as a help desk sees them: replies by In-Reply-To and References, some of them ours,
    some before the mail they answer; copies delivered twice; a message without a Message-ID."""
    rng = random.Random(11)
    mail: list[bytes] = []
    chains: dict[str, list[str]] = {}  # Message-ID: the References of a reply to it
    for index in range(count):
        message_id, at = f"desk.{index}@acme.example", NOW - timedelta(minutes=count - index)
        if chains and rng.random() < 0.35:
            parent = rng.choice(list(chains)[-300:])
            ours = rng.random() < 0.4
            sender = "Example Support <support@example.com>" if ours else f"Customer {index % 41} <c{index % 41}@acme.example>"
            references = " ".join(f"<{ref}>" for ref in chains[parent])
            mail.append(build_mail(subject=f"Re: case {parent}", sender=sender, date=at, message_id=message_id,
                                   in_reply_to=parent, References=references))
            chains[message_id] = [*chains[parent][-5:], message_id]
        else:
            mail.append(build_mail(subject=f"case {message_id}", sender=f"Customer {index % 41} <c{index % 41}@acme.example>",
                                   date=at, message_id=message_id))
            chains[message_id] = [message_id]
        if rng.random() < 0.03:
            mail.append(mail[-1])
    for late in range(5):  # the reply arrives first
        mail.insert(late * 300, build_mail(subject=f"Re: late {late}", date=NOW, in_reply_to=f"late.{late}@acme.example"))
        mail.append(build_mail(subject=f"late {late}", date=NOW, message_id=f"late.{late}@acme.example"))
    mail.append(build_mail(subject="No id").replace(b"Message-ID: <", b"X-Not-An-Id: <"))
    return mail


def tickets_and_messages(db: Path) -> tuple[list[tuple], list[tuple]]:
    tickets = rows(db, "SELECT id, subject, requester_email, state, message_count, first_response_at FROM ticket ORDER BY id")
    messages = rows(db, "SELECT ticket_id, message_id, source, direction FROM message ORDER BY ticket_id, id")
    return tickets, messages


def test_parsing_in_processes_makes_the_same_tickets_as_parsing_here(
    dovecot: Dovecot, config: Config, clock: FrozenClock, tmp_path: Path
) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, help_desk_mail(2500))

    def sync_into(db: Path, processes: int) -> tuple[IngestSummary, int]:
        """The folder's counts, and the most pool workers seen at a batch."""
        workers: list[int] = []
        store = Store.open(db, config, clock)
        try:
            on_batch = lambda _, __: workers.append(len(multiprocessing.active_children()))  # noqa: E731
            report = engine(dovecot, store, folder, limits=Limits(parse_processes=processes), on_batch=on_batch).sync_once()
        finally:
            store.close()
        return report.folders[folder].counts, max(workers)

    inline_counts, inline_workers = sync_into(tmp_path / "inline.db", 1)
    pool_counts, pool_workers = sync_into(tmp_path / "pool.db", 2)

    assert inline_workers == 0 and pool_workers > 0  # the second sync parsed in a pool
    inline, pooled = tickets_and_messages(tmp_path / "inline.db"), tickets_and_messages(tmp_path / "pool.db")
    assert pool_counts == inline_counts
    assert pooled == inline
    tickets, messages = inline
    assert inline_counts.duplicates > 0 and inline_counts.threaded > 500
    assert any(ticket[5] is not None for ticket in tickets)  # our replies stopped response clocks
    assert any(message_id is None for _, message_id, _, _ in messages)
    late_tickets = {ticket for ticket, message_id, _, _ in messages if message_id and message_id.startswith("late.")}
    assert len(late_tickets) == 5


def test_parsing_in_processes_makes_the_same_tickets_and_search_words_on_postgresql(
    dovecot: Dovecot, config: Config, clock: FrozenClock, postgres_server
) -> None:
    """There the processes also make the search words, which a sync parsing here leaves to the store."""
    folder = dovecot.new_folder()
    dovecot.append(folder, help_desk_mail(1500))

    workers: list[int] = []
    on_batch = lambda _, __: workers.append(len(multiprocessing.active_children()))  # noqa: E731

    def sync_into(url: str, processes: int) -> tuple[list[tuple], list[tuple]]:
        store = Store.open(url, config, clock)
        try:
            engine(dovecot, store, folder, limits=Limits(parse_processes=processes), on_batch=on_batch).sync_once()
            tickets = rows(store, "SELECT id, subject, state, message_count, version, next_due_at FROM ticket ORDER BY id")
            messages = rows(store, "SELECT ticket_id, message_id, source, search::text FROM message ORDER BY id")
            return tickets, messages
        finally:
            store.close()

    inline = sync_into(postgres_server.new_database(), 1)
    assert max(workers) == 0
    pooled = sync_into(postgres_server.new_database(), 2)
    assert max(workers) > 0, "the second sync parsed in a pool"
    assert pooled == inline
    assert all(search for *_, search in inline[1])


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_mail_parsed_in_processes_for_postgresql_is_found_by_words_and_phrases(dovecot: Dovecot, store: Store) -> None:
    """For PostgreSQL the parsing processes also list each message's search words, which the
    store writes as they come."""
    folder = dovecot.new_folder()
    mail = customer_mail("bulk", 1200)
    mail[700] = build_mail(subject="Grüße from Zürich", body="The nightly re-index stalls at shard 7.", message_id="shard@acme.example")
    dovecot.append(folder, mail)
    workers: list[int] = []
    on_batch = lambda _, __: workers.append(len(multiprocessing.active_children()))  # noqa: E731
    engine(dovecot, store, folder, limits=Limits(parse_processes=2), on_batch=on_batch).sync_once()

    assert max(workers) > 0, "parsed in a pool"
    shard_ticket = store.db.execute_sql("SELECT ticket_id FROM message WHERE message_id = 'shard@acme.example'").fetchone()[0]
    assert store.search("zürich") == [shard_ticket]
    assert [view.id for view in find(store, '"re-index stalls" shard')] == [shard_ticket]
    assert find(store, '"stalls re-index"') == []
    unindexed = store.db.execute_sql("SELECT count(*) FROM message WHERE search IS NULL OR search = ''::tsvector").fetchone()[0]
    assert unindexed == 0


def test_a_parsing_process_that_dies_leaves_its_work_to_the_sync(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail("crash", 1500))
    killed: list[int] = []

    def kill_the_workers(_: str, __: object) -> None:
        if not killed:
            killed.extend(child.pid for child in multiprocessing.active_children())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    report = engine(dovecot, store, folder, limits=Limits(parse_processes=2), on_batch=kill_the_workers).sync_once()

    assert killed
    assert report.fetched == 1500
    assert stored(store) == (1500, 1500)


# --- drills ----------------------------------------------------------------------------------


def test_sigkill_at_random_points_then_resume_is_an_exact_mirror(box: Box) -> None:
    total = 4000
    box.server.append(box.folder, customer_mail("kill", total))
    box.run("list")  # the database exists, so that the test can watch its progress
    rng = random.Random(2026)
    interrupted, pooled = [], 0
    for _ in range(4):
        at_start = last_uid(box.db)
        process = subprocess.Popen(box.command("sync"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Wait for a batch of this run to commit, then kill at a random point of the next ones.
        wait_for(committed_or_ended(process, box.db, at_start), 30, "a batch")
        time.sleep(rng.uniform(0, 0.25))
        under = descendants(process.pid)
        commands = [command_line(pid) for pid in under]  # read before the kill: the workers then exit at once
        process.kill()
        process.wait()
        interrupted.append(last_uid(box.db) < total)
        if interrupted[-1] and total - at_start >= Limits().pool_from:  # it was parsing in a pool: nothing of it outlives it
            assert any("forkserver" in command for command in commands), commands
            wait_for(all_ended(under), 10, "the parsing processes to end")
            pooled += 1

    final = box.run("sync")

    assert final.returncode == 0, final.stderr
    assert sum(interrupted) >= 2 and pooled, "the kills should land mid-sync, one at least while parsing in a pool"
    assert stored(box.db) == (total, total)
    assert last_uid(box.db) == max(box.server.uids(box.folder))
    expected = {f"kill.{i}@acme.example" for i in range(total)}
    assert {row[0] for row in rows(box.db, "SELECT message_id FROM message")} == expected


def test_two_processes_on_one_database_neither_lock_errors_nor_duplicate(box: Box) -> None:
    total = 2000
    box.server.append(box.folder, customer_mail("pair", total))
    box.run("list")  # created first: two processes creating one database is the schema upgrade's race
    processes = [subprocess.Popen(box.command("sync"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    results = [process.communicate(timeout=60) for process in processes]

    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
        assert "locked" not in err
    assert stored(box.db) == (total, total)


def test_server_stopped_mid_sync_the_watch_reconnects_and_finishes(own_dovecot: Dovecot, store: Store) -> None:
    total = 3000
    folder = own_dovecot.new_folder()
    own_dovecot.append(folder, customer_mail("restart", total))
    db = store
    with watching(engine(own_dovecot, store, folder)) as statuses:
        wait_for(lambda: last_uid(db) > 0, 30, "the first batch")
        own_dovecot.stop()
        partly = stored(db)[0]
        own_dovecot.start()
        wait_for(has_stored(db, total), 30, "the rest after the restart")
    assert partly < total, "the server should stop mid-sync"
    assert "waiting" in {state for state, _ in statuses}  # it lost the connection and came back
    assert stored(db) == (total, total)


def test_wrong_password_stops_with_one_clear_line_and_one_attempt(own_dovecot: Dovecot, tmp_path: Path) -> None:
    box = make_box(own_dovecot, tmp_path, tls=False, password="wrong")
    done = box.run("sync", "--watch")  # even the endless mode gives up at once

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "refused the login" in done.stderr and "AUTHENTICATIONFAILED" in done.stderr
    assert own_dovecot.failed_logins() == 1


def test_plaintext_is_refused_off_loopback(store: Store) -> None:
    server = ServerConfig(host="imap.example.com", port=143, security="none", username="support@example.com")
    with pytest.raises(SyncError, match="in clear to imap.example.com"):
        MailboxSync(store, server)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_verifies_the_certificate(dovecot: Dovecot, store: Store, security: str) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, customer_mail(f"tls-{security}", 1))
    port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
    server = dovecot.server_config(folder, security=security, port=port)

    with pytest.raises(SyncError, match="certificate is not trusted"):
        MailboxSync(store, server).sync_once(attempts=3)  # not retried: it would fail the same way
    report = MailboxSync(store, server, ssl_context=dovecot.trusting_context()).sync_once()
    assert report.fetched == 1


def test_without_an_imap_section_sync_says_what_to_do(config_path: Path, tmp_path: Path, capsys) -> None:
    assert frontdesk(["--db", str(tmp_path / "t.db"), "--config", str(config_path), "sync"]) == 1
    assert "no [imap] section" in capsys.readouterr().err


# --- IDLE ------------------------------------------------------------------------------------


def test_idle_wakes_the_watch_for_new_mail(dovecot: Dovecot, store: Store) -> None:
    folder = dovecot.new_folder()
    db = store
    with watching(engine(dovecot, store, folder)) as statuses:
        for round_ in range(3):  # each wake-up catches up and goes back to IDLE
            wait_for(lambda: statuses and statuses[-1][0] == "idle", 15, "IDLE")
            dovecot.append(folder, customer_mail(f"idle{round_}", 1))
            wait_for(has_stored(db, round_ + 1), 15, "the new mail as a ticket")


def test_watch_prints_a_line_per_batch_and_ctrl_c_exits_0(box: Box) -> None:
    process = subprocess.Popen(box.command("sync", "--watch"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        assert lines.get(timeout=15).startswith("watching ")
        box.server.append(box.folder, customer_mail("cli-watch", 1))
        assert "1 fetched: 1 new ticket," in lines.get(timeout=15)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=15)
    assert process.returncode == 0, process.stderr.read()
    assert lines.get(timeout=5).strip() == "stopped"


def test_sync_also_sends_what_the_outbox_holds(box: Box, smtp_server) -> None:
    """One `frontdesk sync`: mail in, then the queued reply out over SMTP, exactly once."""
    smtp = (
        f'\n[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
        f'username = "support@example.com"\npassword_command = "printf {smtp_server.password}"\ntimeout = 10\n'
    )
    box.config.write_text(box.config.read_text(encoding="utf-8") + smtp, encoding="utf-8")
    box.server.append(box.folder, customer_mail("outbox", 1))
    assert box.run("sync").returncode == 0
    assert box.run("reply", "1", "--snippet", "ack").returncode == 0
    result = box.run("sync")
    assert result.returncode == 0, result.stderr
    assert "Sent 1: #1" in result.stdout
    assert box.run("sync").returncode == 0
    assert len(smtp_server.received) == 1
    assert rows(box.db, "SELECT status FROM outbox") == [("sent",)]


# --- one mailbox worker per team -------------------------------------------------------------

# `frontdesk sync --watch` with the mailbox lease's timing shortened, as a test can afford.
SHORT_LEASE = """
import sys
from frontdesk.mail import sync_cli
from frontdesk.storage.lease import Timing
from frontdesk.tui.cli import main
sync_cli.TIMING = Timing(renew_every=0.2, check_every=0.1, expires_after=2.0)
sys.exit(main(sys.argv[1:]))
"""


class Daemon:
    """A `frontdesk sync --watch` process; its stdout lines with the time each one arrived."""

    def __init__(self, box: Box, db: Path | str) -> None:
        command = [sys.executable, "-u", "-c", SHORT_LEASE, "--db", str(db), "--config", str(box.config), "sync", "--watch"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def said(self, start: str) -> float | None:
        """When a line starting so arrived, or None."""
        return next((at for at, line in self.lines if line.startswith(start)), None)

    def wait_for(self, start: str, timeout: float = 15) -> float:
        wait_for(lambda: self.said(start) is not None or self.process.poll() is not None, timeout, repr(start))
        assert self.said(start) is not None, f"{start!r} not said; stderr: {self.process.stderr.read()}"
        return self.said(start)

    def fetches(self) -> list[float]:
        return [at for at, line in self.lines if " fetched: " in line]

    def end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()


def test_two_watch_daemons_never_both_sync_and_the_standby_takes_over(box: Box, store: Store, database) -> None:
    """Two `sync --watch` on one database and one mailbox: one syncs, the other stands by; killed
    with SIGKILL, the syncing one is replaced; a one-shot `sync` meanwhile leaves it to them."""
    first = Daemon(box, database)
    second = None
    try:
        first.wait_for("watching ")
        second = Daemon(box, database)
        second.wait_for("standing by: mail is synced by ")
        box.server.append(box.folder, customer_mail("team", 2))
        wait_for(lambda: len(store.views()) == 2, 15, "the first daemon's sync")
        time.sleep(1.0)  # ten looks of the standby
        assert first.fetches() and not second.fetches()
        assert second.said("watching ") is None

        once = subprocess.run(
            [sys.executable, "-m", "frontdesk.tui.cli", "--db", str(database), "--config", str(box.config), "sync"],
            capture_output=True, text=True, timeout=60,
        )
        assert once.returncode == 0, once.stderr
        assert "mail is synced by " in once.stdout and "not syncing here" in once.stdout
        assert "fetched" not in once.stdout

        first.process.send_signal(signal.SIGKILL)
        first.process.wait(5)
        killed = time.monotonic()
        box.server.append(box.folder, customer_mail("after", 1))
        took_over = second.wait_for("watching ", timeout=10)
        assert took_over > killed and took_over - killed < 5, "the standby took over, after the death only"
        wait_for(lambda: len(store.views()) == 3, 15, "the new holder's sync")
        assert all(at > killed for at in second.fetches())
        assert stored_once(store)

        second.process.send_signal(signal.SIGINT)
        assert second.process.wait(15) == 0
    finally:
        first.end()
        if second is not None:
            second.end()
    assert Lease(store).observe().free, "Ctrl-C handed the mailbox over"


def stored_once(store: Store) -> bool:
    views = store.views()
    return len({view.subject for view in views}) == len(views)


def test_a_reply_queued_elsewhere_is_sent_by_the_daemon_within_seconds(
    box: Box, store: Store, database, smtp_server
) -> None:
    """The daemon holds the mailbox and waits in IDLE; a rep's reply from another process wakes it
    (the outbox has work), rather than waiting for the next mail or the 5-minute IDLE renewal."""
    smtp = (
        f'\n[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
        f'username = "support@example.com"\npassword_command = "printf {smtp_server.password}"\ntimeout = 10\n'
    )
    box.config.write_text(box.config.read_text(encoding="utf-8") + smtp, encoding="utf-8")
    box.server.append(box.folder, customer_mail("wake", 1))
    daemon = Daemon(box, database)
    try:
        daemon.wait_for("watching ")
        wait_for(lambda: len(store.views()) == 1, 15, "the ticket")
        reply = subprocess.run(
            [sys.executable, "-m", "frontdesk.tui.cli", "--db", str(database), "--config", str(box.config),
             "reply", "1", "--snippet", "ack"],
            capture_output=True, text=True, timeout=60,
        )
        assert reply.returncode == 0, reply.stderr
        queued = time.monotonic()
        wait_for(lambda: len(smtp_server.received) == 1, 10, "the reply to be sent by the daemon")
        assert time.monotonic() - queued < 5
    finally:
        daemon.end()
