"""The team's one mailbox worker: IMAP sync with IDLE and sending the outbox.

Every inbox and every `frontdesk sync --watch` can do this work, and exactly one of them does it at
a time: the one holding the "mailbox" lease (storage/lease.py). The others stand by, show who
syncs, and take over within 30 s when the holder goes away.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from frontdesk.storage import outbox
from frontdesk.storage.lease import Lease, LeaseInfo, keeping
from frontdesk.storage.store import Store

from .imap_sync import MailboxSync, Status, SyncReport
from .ingest import IngestSummary
from .safe_text import display_line
from .smtp_send import SendReport, send_outbox

OUTBOX_RECHECK = 60.0  # without [imap]: how often failed messages due for a retry are looked for


class OutboxWaker:
    """Asked every second while the worker waits: True when it should send now, because this
    process asked (`nudge`) or another process committed something and the outbox has work."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.nudged = threading.Event()
        self._token: int | None = None

    def nudge(self) -> None:
        self.nudged.set()

    def mark(self) -> None:
        """Called just before each send, which sees everything committed until now."""
        self._token = self.store.data_version()  # this thread's own connection on SQLite

    def __call__(self) -> bool:
        if self.nudged.is_set():
            self.nudged.clear()
            return True
        token = self.store.data_version()
        if token == self._token:
            return False
        self._token = token
        return bool(outbox.due(self.store, self.store.clock.now()))


class MailboxWork:
    """What the lease holder runs: `work(quit)` returns soon after `quit` is set."""

    def __init__(
        self,
        store: Store,
        lease: Lease,
        *,
        on_status: Callable[[Status, str], None] | None = None,
        on_report: Callable[[SyncReport], None] | None = None,
        on_sent: Callable[[SendReport], None] | None = None,
        on_batch: Callable[[str, IngestSummary], None] | None = None,
    ) -> None:
        self.store = store
        self.config = store.config
        self.lease = lease
        self.on_status = on_status
        self.on_report = on_report
        self.on_sent = on_sent
        self.on_batch = on_batch
        self.waker = OutboxWaker(store)

    def nudge(self) -> None:
        """Send the outbox now rather than at the next wake-up (if this process holds the lease)."""
        self.waker.nudge()

    def __call__(self, quit: threading.Event) -> None:
        send = (lambda: self.send(quit)) if self.config.smtp is not None else None
        if self.config.imap is None:
            self._outbox_only(quit)
            return
        sync = MailboxSync(
            self.store,
            self.config.imap,
            clock=self.store.clock,
            on_batch=self.on_batch,
            on_status=self.on_status,
            after_fetch=send,
            wake=self.waker if send is not None else None,
        )
        sync.watch(quit, self._synced)

    def send(self, quit: threading.Event) -> None:
        if quit.is_set():
            return  # the lease is gone: the new holder sends
        self.waker.mark()
        report = send_outbox(self.store)
        if self.on_sent:
            self.on_sent(report)

    def _synced(self, report: SyncReport) -> None:
        if not report.errors:
            self.lease.synced()
        if self.on_report:
            self.on_report(report)

    def _outbox_only(self, quit: threading.Event) -> None:
        """With [smtp] and no [imap]: nothing to sync, the outbox still goes out from one place."""
        while not quit.is_set():
            if self.on_status:
                self.on_status("syncing", "sending the outbox")
            self.send(quit)
            if not quit.is_set():
                self.lease.synced()  # what the standbys show: when the mail was last seen to
            if self.on_status:
                self.on_status("idle", "")
            deadline = time.monotonic() + OUTBOX_RECHECK
            while not quit.wait(1.0):
                if self.waker() or time.monotonic() >= deadline:
                    break


def send_if_free(store: Store, lease: Lease) -> SendReport | None:
    """Send the outbox once, holding the lease while at it; None when another process holds it
    (that process sends)."""
    if not lease.acquire():
        return None
    with keeping(lease):  # renewed while a slow server takes its time; released at the end
        return send_outbox(store)


def wait_for_lease(lease: Lease) -> LeaseInfo | None:
    """None once this process holds the lease; the holder once its beat is seen to move (it is
    alive: a few seconds). A holder whose beat stands still is taken over after `expires_after`."""
    first: tuple[str, int] | None = None
    while not lease.acquire():
        info = lease.last_seen
        if info is not None and not info.free:
            if first is None:
                first = (info.holder, info.beat)
            elif first != (info.holder, info.beat):
                return info
        time.sleep(lease.timing.check_every)
    return None


def describe_holder(info: LeaseInfo) -> str:
    """Like "sam@support-box (pid 4242), last sync 12 s ago"; from the database, so made safe to print."""
    if info.synced_ago is None:
        when = "no sync finished yet"
    else:
        when = f"last sync {info.synced_ago:.0f} s ago"
    return f"{display_line(info.who)} (pid {info.pid}), {when}"
