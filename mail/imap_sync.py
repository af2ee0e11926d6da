"""Copy the support mailbox into the ticket store over IMAP, never changing the mailbox.

A server copy of a message is identified by (account, folder, UIDVALIDITY, UID). Each folder is
read from the UID after the last one stored, in batches; a batch's messages and the folder's new
position are committed in one transaction, so a crash at any point resumes with nothing lost and
nothing stored twice. A new UIDVALIDITY reads the folder again from UID 1 and the store's dedupe
keeps it from storing anything twice. IDLE only wakes the loop up: every wake-up, timeout and
reconnect catches up by UID, because IDLE notifications can be late or lost.
"""

from __future__ import annotations

import imaplib
import multiprocessing
import os
import queue
import random
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from typing import Literal, TypeVar
from urllib.parse import quote

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from frontdesk.storage.clock import Clock
from frontdesk.storage.config import ServerConfig
from frontdesk.storage.fulltext import search_vector
from frontdesk.storage.models import Message
from frontdesk.storage.store import MessageRecord, Store
from frontdesk.storage.sync_state import FolderPosition, folder_position, save_position

from .credentials import Secret, resolve_secret
from .imap_connect import ImapError, check_settings, close_quietly, connect_imap
from .imap_fetch import fetch_bodies
from .ingest import Ingestor, IngestSummary, prepare
from .server_errors import reason

MiB = 1024 * 1024

# A SEARCH answers in one line, ~7 MB for a million UIDs; imaplib refuses lines over 1,000,000
# bytes. The limit is module-level in imaplib, so this raises it for the whole process.
imaplib._MAXLINE = max(imaplib._MAXLINE, 64 * MiB)

# What a lost or refused connection raises; anything permanent is turned into SyncError first.
_TRANSIENT = (OSError, IMAPClientError, ImapError)

Status = Literal["connecting", "syncing", "idle", "waiting"]


@dataclass(frozen=True)
class Limits:
    batch_uids: int = 500  # Dovecot refuses command lines over 64 KB: a UID list must stay short
    batch_bytes: int = 20 * MiB  # one FETCH response is held in memory at a time
    max_message: int = 25 * MiB  # a bigger message is cut...
    huge_head: int = 1 * MiB  # ...to its first MiB: headers and text come before attachments
    idle_renew: float = 300.0  # servers may drop an IDLE after 29 minutes; this also re-reads Sent
    poll: float = 1.0  # how often a wait looks at the stop event
    backoff_first: float = 1.0
    backoff_max: float = 300.0
    parse_processes: int | None = None  # None: one per usable CPU; 1: parse in the storing thread, no pool
    # A catch-up of fewer new messages parses them itself: starting the processes (about 0.2 s)
    # costs more than half the parsing of a thousand messages saves.
    pool_from: int = 1000


class SyncError(Exception):
    """A failure that retrying will not fix; the one-line message says what to do."""


@dataclass
class FolderReport:
    folder: str
    counts: IngestSummary = field(default_factory=IngestSummary)
    truncated: int = 0
    rescanned: bool = False  # UIDVALIDITY changed: the folder was read again from UID 1
    error: str | None = None
    uidnext: int | None = None  # as the last look at the folder saw it


@dataclass
class SyncReport:
    folders: dict[str, FolderReport] = field(default_factory=dict)

    def folder(self, name: str) -> FolderReport:
        return self.folders.setdefault(name, FolderReport(name))

    @property
    def fetched(self) -> int:
        return sum(report.counts.read for report in self.folders.values())

    @property
    def errors(self) -> list[str]:
        return [f"{report.folder}: {report.error}" for report in self.folders.values() if report.error]


@dataclass(frozen=True)
class _Fetched:
    uid: int
    raw: bytes
    received_at: datetime | None
    cut_from: int | None  # the full size when only the head was fetched


_Job = tuple[bytes, str, datetime | None]  # what `prepare` needs of a message: raw, source, received_at
_CHUNK = 64  # messages per task sent to a parsing process: one pickling round trip each
Item = TypeVar("Item")


def backoff_delay(failures: int, limits: Limits, rng: random.Random) -> float:
    """Exponential, capped, with jitter so that many clients do not reconnect in step."""
    ceiling = min(limits.backoff_max, limits.backoff_first * 2 ** (failures - 1))
    return ceiling * rng.uniform(0.5, 1.0)


class MailboxSync:
    """Mirrors `server.folder` (and `server.sent_folder`, when set) into the store."""

    def __init__(
        self,
        store: Store,
        server: ServerConfig,
        get_secret: Callable[[], Secret] | None = None,
        clock: Clock | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        limits: Limits = Limits(),
        on_batch: Callable[[str, IngestSummary], None] | None = None,
        on_status: Callable[[Status, str], None] | None = None,
        after_fetch: Callable[[], None] | None = None,
        wake: Callable[[], bool] | None = None,
    ) -> None:
        try:
            check_settings(server)
        except ImapError as error:
            raise SyncError(str(error)) from None
        self.store = store
        self.server = server
        self.username = server.username
        self.account = f"{server.username}@{server.host}"
        self.where = f"IMAP server {server.host}:{server.port}"
        self.get_secret = get_secret or (lambda: resolve_secret(server, "imap"))
        self.clock = clock or store.clock
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.limits = limits
        self.on_batch = on_batch
        self.on_status = on_status
        self.after_fetch = after_fetch
        self.wake = wake  # asked every `poll` while waiting: True ends the wait (e.g. the outbox has work)
        self.ingestor = Ingestor(store)
        self.folders = [name for name in (server.folder or "INBOX", server.sent_folder) if name]
        self._rng = random.Random()

    # --- the two ways to run -------------------------------------------------------------------

    def sync_once(self, attempts: int = 1, stop: threading.Event | None = None) -> SyncReport:
        """Fetch what is new in every folder; a lost connection is retried `attempts - 1` times.
        `stop` ends it between batches (e.g. when the mailbox lease is lost)."""
        report = SyncReport()  # kept across attempts: each one adds what it stored
        stop = stop or threading.Event()
        attempt = 1
        while True:
            try:
                with self._session() as client:
                    return self._catch_up(client, report, stop)
            except _TRANSIENT as error:
                if attempt >= attempts or stop.is_set():
                    raise SyncError(f"{self._describe(error)} (gave up after {attempt} attempts)") from None
                self._wait_before_retry(attempt, error, stop)
                attempt += 1

    def watch(self, stop: threading.Event, on_report: Callable[[SyncReport], None] | None = None) -> None:
        """Catch up, IDLE until something happens, catch up again, until `stop` is set. A lost
        connection is retried for ever with backoff; SyncError (e.g. a refused login) ends it."""
        failures = 0
        while not stop.is_set():
            try:
                with self._session() as client:
                    while not stop.is_set():
                        report = self._catch_up(client, SyncReport(), stop)
                        failures = 0
                        if on_report:
                            on_report(report)
                        self._wait_for_news(client, stop, report.folder(self.folders[0]))
            except _TRANSIENT as error:
                failures += 1
                self._wait_before_retry(failures, error, stop)

    def _wait_before_retry(self, failures: int, error: Exception, stop: threading.Event) -> None:
        delay = backoff_delay(failures, self.limits, self._rng)
        self._status("waiting", f"{self._describe(error)}; retrying in {delay:.0f} s")
        stop.wait(delay)

    def _describe(self, error: Exception) -> str:
        """One line naming the server (an ImapError names it itself)."""
        return str(error) if isinstance(error, ImapError) else f"{self.where}: {reason(error)}"

    def _status(self, status: Status, detail: str) -> None:
        if self.on_status:
            self.on_status(status, detail)

    # --- connecting ----------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[IMAPClient]:
        self._status("connecting", f"connecting to {self.where}")
        try:
            client = connect_imap(self.server, self.get_secret, self.ssl_context)
        except ImapError as error:
            if not error.retryable:  # e.g. a refused login: retrying would only lock the account
                raise SyncError(str(error)) from None
            raise
        try:
            yield client
        except BaseException:
            close_quietly(client)  # the connection may be dead: no polite LOGOUT that could hang
            raise
        try:
            client.logout()
        except _TRANSIENT:
            close_quietly(client)

    # --- catching up ---------------------------------------------------------------------------

    def _catch_up(self, client: IMAPClient, report: SyncReport, stop: threading.Event) -> SyncReport:
        self._status("syncing", f"syncing with {self.where}")
        with _Parsing(self.limits, self.store.on_postgres) as parsing:
            for folder in self.folders:
                self._sync_folder(client, report.folder(folder), stop, parsing)
        if self.after_fetch:
            self.after_fetch()
        return report

    def _sync_folder(self, client: IMAPClient, report: FolderReport, stop: threading.Event, parsing: _Parsing) -> None:
        """A pipeline: the next batches are fetched (a thread of their own) and parsed (the pool)
        while this thread stores the one before, in UID order."""
        try:
            selected = client.select_folder(report.folder, readonly=True)  # EXAMINE: flags stay as they are
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:  # e.g. no such folder: the other folders still sync
            report.error = reason(error)
            return
        report.error = None
        report.uidnext = selected.get(b"UIDNEXT")
        validity = selected[b"UIDVALIDITY"]
        position = self._position(report, validity)
        if report.uidnext is not None and report.uidnext <= position.last_uid + 1:
            return
        # The server answers `n:*` with its highest UID even when that is below n.
        uids = sorted(uid for uid in client.search(["UID", f"{position.last_uid + 1}:*"]) if uid > position.last_uid)
        parsing.expect(len(uids))
        with _read_ahead(self._fetch_batches(client, uids, stop)) as fetched_batches:
            parsed_batches = (
                (fetched, last_uid, parsing.submit(self._jobs(report.folder, validity, fetched), self.clock.now()))
                for fetched, last_uid in fetched_batches
            )
            for fetched, last_uid, parsed in _one_ahead(parsed_batches):
                if stop.is_set():  # a first sync can take minutes: stop between batches
                    return
                self._store_batch(report, validity, fetched, parsed, last_uid)

    def _fetch_batches(
        self, client: IMAPClient, uids: list[int], stop: threading.Event
    ) -> Iterator[tuple[list[_Fetched], int]]:
        """Each batch's messages and the UID its position moves to."""
        for start in range(0, len(uids), self.limits.batch_uids):
            window = uids[start : start + self.limits.batch_uids]
            sizes = {uid: data.get(b"RFC822.SIZE", 0) for uid, data in client.fetch(window, ["RFC822.SIZE"]).items()}
            for batch in self._batches(window, sizes):
                if stop.is_set():
                    return
                yield self._fetch(client, batch, sizes), batch[-1]

    def _jobs(self, folder: str, validity: int, fetched: list[_Fetched]) -> list[_Job]:
        return [(message.raw, self._source(folder, validity, message.uid), message.received_at) for message in fetched]

    def _position(self, report: FolderReport, validity: int) -> FolderPosition:
        """Where to read from; a new UIDVALIDITY starts the folder over (dedupe keeps copies out)."""
        position = folder_position(self.account, report.folder)
        if position.uidvalidity == validity:
            return position
        with self.store.transaction():
            position = folder_position(self.account, report.folder)  # another process may have been first
            if position.uidvalidity != validity:
                report.rescanned = position.uidvalidity is not None
                position = FolderPosition(validity, 0)
                save_position(self.account, report.folder, position, self.clock.now())
        return position

    def _batches(self, window: Sequence[int], sizes: dict[int, int]) -> Iterator[list[int]]:
        """Runs of UIDs whose bodies add up to at most batch_bytes; a UID gone from the server
        (no size) stays in its run so that the position moves past it."""
        batch: list[int] = []
        total = 0
        for uid in window:
            size = self._fetch_size(sizes.get(uid, 0))
            if batch and total + size > self.limits.batch_bytes:
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch

    def _fetch_size(self, size: int) -> int:
        return self.limits.huge_head if size > self.limits.max_message else size

    def _fetch(self, client: IMAPClient, uids: list[int], sizes: dict[int, int]) -> list[_Fetched]:
        """BODY.PEEK, never BODY: reading must not set \\Seen. A huge message: its head only."""
        whole = [uid for uid in uids if uid in sizes and sizes[uid] <= self.limits.max_message]
        huge = [uid for uid in uids if uid in sizes and sizes[uid] > self.limits.max_message]
        head = f"BODY.PEEK[]<0.{self.limits.huge_head}>"
        found = {uid: (data, b"BODY[]", None) for uid, data in fetch_bodies(client, whole, "BODY.PEEK[]").items()}
        found |= {uid: (data, b"BODY[]<0>", sizes[uid]) for uid, data in fetch_bodies(client, huge, head).items()}
        return [
            _Fetched(uid, data[key], _utc(data.get(b"INTERNALDATE")), cut_from)
            for uid, (data, key, cut_from) in sorted(found.items())
            if key in data
        ]

    def _store_batch(
        self, report: FolderReport, validity: int, fetched: list[_Fetched], parsed: _Parsed, last_uid: int
    ) -> None:
        """One transaction: the messages and the position that covers them. On SQLite every
        transaction begins IMMEDIATE (storage/database.py): a second process waits, then sees what
        the first one stored. Only the mailbox lease's holder syncs in the first place."""
        records = parsed.records()  # before the transaction: waiting for the pool holds no lock
        counts = IngestSummary()
        # Whatever sits in the Sent folder was sent by us, whichever address the rep used.
        sent = report.folder == self.server.sent_folder or None
        with self.store.transaction():
            position = folder_position(self.account, report.folder)
            new = [
                (message, record)
                for message, record in zip(fetched, records, strict=True)
                if not position.covers(validity, message.uid)  # else another process stored it while we fetched it
            ]
            outcomes = self.ingestor.store_prepared([(record, sent) for _, record in new])
            for (message, record), outcome in zip(new, outcomes, strict=True):
                counts.count(outcome, record)
                if message.cut_from is not None:
                    self._note_truncation(report, message.cut_from, record, outcome)
            if not position.covers(validity, last_uid):
                save_position(self.account, report.folder, FolderPosition(validity, last_uid), self.clock.now())
        _add(report.counts, counts)
        if self.on_batch and counts.read:
            self.on_batch(report.folder, counts)

    def _note_truncation(self, report: FolderReport, cut_from: int, record: MessageRecord, outcome: str) -> None:
        report.truncated += 1
        if outcome != "duplicate":
            note = f"message truncated at {self.limits.huge_head / MiB:g} MB of {cut_from / MiB:.1f} MB"
            # raw_sha256 is indexed, unlike source
            stored = (Message.raw_sha256 == record.raw_sha256) & (Message.source == record.source)
            Message.update(defects=[*record.defects, note]).where(stored).execute()

    def _source(self, folder: str, validity: int, uid: int) -> str:
        """An IMAP URL (RFC 5092) naming the server copy, so that it can be found again."""
        user, box = quote(self.username, safe=""), quote(folder, safe="/")
        return f"imap://{user}@{self.server.host}:{self.server.port}/{box};UIDVALIDITY={validity}/;UID={uid}"

    # --- waiting for news ----------------------------------------------------------------------

    def _wait_for_news(self, client: IMAPClient, stop: threading.Event, main: FolderReport) -> None:
        """Return when the main folder may have news, after `idle_renew`, or when stopped."""
        if stop.is_set():
            return
        if main.error:
            self._pause(stop, self.limits.idle_renew)  # nothing to IDLE on: look again later
            return
        selected = client.select_folder(main.folder, readonly=True)
        if selected.get(b"UIDNEXT") != main.uidnext:
            return  # mail arrived while the catch-up was busy elsewhere
        self._status("idle", f"waiting for mail on {self.where}")
        client.idle()
        if not _has_buffered_input(client):
            self._wait_in_idle(client, stop)
        client.idle_done()

    def _wait_in_idle(self, client: IMAPClient, stop: threading.Event) -> None:
        deadline = time.monotonic() + self.limits.idle_renew
        while not stop.is_set():
            wait = min(self.limits.poll, deadline - time.monotonic())
            if wait <= 0:
                return
            started = time.monotonic()
            if client.idle_check(timeout=wait) or (self.wake is not None and self.wake()):
                return
            # On a closed connection idle_check returns [] at once instead of waiting (imapclient#565).
            if wait >= 0.1 and time.monotonic() - started < wait / 2:
                raise ConnectionError("the server closed the connection")


    def _pause(self, stop: threading.Event, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not stop.wait(min(self.limits.poll, max(deadline - time.monotonic(), 0))):
            if time.monotonic() >= deadline or (self.wake is not None and self.wake()):
                return


class _Parsing:
    """Turns fetched batches into records: during a big catch-up in a pool of processes (that
    lives as long as the catch-up), else in the storing thread when it gets to the batch. For
    PostgreSQL the pool also lists each message's search words, which the store makes otherwise."""

    def __init__(self, limits: Limits, search_vectors: bool) -> None:
        self.limits = limits
        self.search_vectors = search_vectors
        self.pool: ProcessPoolExecutor | None = None
        self.lifeline: Connection | None = None  # the workers' way to notice that this process is gone

    def __enter__(self) -> _Parsing:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop_pool()

    def expect(self, count: int) -> None:
        """Start the pool when `count` new messages are worth it."""
        processes = self.limits.parse_processes or _usable_cpus()
        if self.pool is not None or processes < 2 or count < self.limits.pool_from:
            return
        # Forked from a clean server process, not from this one, whose other threads may hold locks.
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([prepare.__module__])
        their_end, self.lifeline = context.Pipe(duplex=False)
        self.pool = ProcessPoolExecutor(processes, context, initializer=_start_worker, initargs=(their_end,))

    def submit(self, jobs: list[_Job], now: datetime) -> _Parsed:
        if self.pool is not None:
            try:
                chunks = [jobs[start : start + _CHUNK] for start in range(0, len(jobs), _CHUNK)]
                parsing = [self.pool.submit(_prepare_all, chunk, now, self.search_vectors) for chunk in chunks]
                return _Parsed(jobs, now, parsing)
            except BrokenProcessPool:  # a worker died: the rest is parsed here
                self._stop_pool()
        return _Parsed(jobs, now, None)

    def _stop_pool(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.lifeline.close()
            self.pool = self.lifeline = None


@dataclass(frozen=True)
class _Parsed:
    """A batch on its way to records: in the pool (a future per chunk of _CHUNK jobs) or, without
    one, parsed when asked for."""

    jobs: list[_Job]
    now: datetime
    chunks: list[Future] | None

    def records(self) -> list[MessageRecord]:
        if self.chunks is None:
            return _prepare_all(self.jobs, self.now)
        records: list[MessageRecord] = []
        for start, chunk in zip(range(0, len(self.jobs), _CHUNK), self.chunks, strict=True):
            jobs = self.jobs[start : start + _CHUNK]
            try:
                records += chunk.result()
            except BrokenProcessPool:  # a worker died (e.g. killed for its memory): parse its chunk here
                records += _prepare_all(jobs, self.now)
        return records


def _prepare_all(jobs: list[_Job], now: datetime, search_vectors: bool = False) -> list[MessageRecord]:
    records = [prepare(raw, source, received_at, now) for raw, source, received_at in jobs]
    if search_vectors:
        records = [replace(record, search_vector=search_vector(record.searched_text())) for record in records]
    return records


def _start_worker(lifeline: Connection) -> None:
    """In a pool worker. Ctrl-C reaches the whole process group: the parent handles it and stops
    the pool. Waiting for a task, a worker would outlive a SIGKILLed parent, since it holds the
    task pipe's writing end too and no EOF comes; the lifeline's writing end is the parent's alone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Parsing runs ahead of storing: when cores are short, the storing thread (what the sync waits
    # for) and, in the inbox, the screen come first.
    os.nice(10)

    def watch() -> None:
        try:
            lifeline.recv_bytes()
        except EOFError:
            pass
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def _read_ahead(items: Iterator[Item], depth: int = 1) -> Iterator[Iterator[Item]]:
    """`items` drawn in a thread of its own, at most `depth` ahead of the consumer (each holds a
    batch in memory). Its exceptions are raised to the consumer; leaving the block ends the thread."""
    ready: queue.Queue = queue.Queue(depth)
    leaving = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                ready.put((item, None))
                if leaving.is_set():
                    return
        except BaseException as error:  # raised again in the consumer's thread
            ready.put((_END, error))
        else:
            ready.put((_END, None))

    def consume() -> Iterator[Item]:
        while True:
            item, error = ready.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield item

    thread = threading.Thread(target=produce, name="imap-fetch", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        leaving.set()
        while thread.is_alive():  # unblock its put, so that it sees `leaving`
            try:
                ready.get(timeout=0.05)
            except queue.Empty:
                pass


_END = object()


def _one_ahead(items: Iterator[Item]) -> Iterator[Item]:
    """Each item once the next one has been drawn: batch k+1 is already parsing while k is stored."""
    previous = _END
    for item in items:
        if previous is not _END:
            yield previous
        previous = item
    if previous is not _END:
        yield previous


def _has_buffered_input(client: IMAPClient) -> bool:
    """imaplib reads ahead: an EXISTS that came in one packet with "+ idling" waits in its buffer,
    where idle_check's poll() cannot see it. Peek there without blocking."""
    sock = client.socket()
    sock.setblocking(False)
    try:
        return bool(client._imap.file.peek(1))
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    finally:
        sock.setblocking(True)
        client._set_read_timeout()


def _add(total: IngestSummary, batch: IngestSummary) -> None:
    for counter in fields(IngestSummary):
        if isinstance(getattr(total, counter.name), int):
            setattr(total, counter.name, getattr(total, counter.name) + getattr(batch, counter.name))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if value is not None else None
