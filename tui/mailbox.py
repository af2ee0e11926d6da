"""The live mailbox inside the inbox: the team's mailbox worker in a background thread when this
inbox holds the lease, a standby that shows who syncs when it doesn't, and its state on screen."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from peewee import PeeweeException
from textual.app import App

from frontdesk.mail.imap_sync import Status, SyncError, SyncReport
from frontdesk.mail.safe_text import display_line
from frontdesk.mail.smtp_send import SendReport
from frontdesk.mail.worker import MailboxWork
from frontdesk.storage.lease import DEFAULT_TIMING, Lease, LeaseInfo, Timing, serve


@dataclass(frozen=True)
class MailboxState:
    """What the banner says about the mailbox."""

    status: Status | str  # connecting | syncing | idle | waiting | stopped | standby
    detail: str
    last_sync: datetime | None = None
    synced_by: str | None = None  # standby: who holds the mailbox ("sam@support-box")
    synced_ago: float | None = None  # standby: seconds since the holder's last finished sync
    silent_for: float | None = None  # standby: set when the holder has not been heard from for long

    def line(self, tz) -> str:
        when = f" · last sync {self.last_sync.astimezone(tz):%H:%M}" if self.last_sync else ""
        if self.status == "standby":
            return self._standby_line()
        if self.status == "idle":
            return f"mail: up to date{when}"
        if self.status in ("waiting", "stopped"):
            return f"mail: {self.detail}{when}"
        return f"mail: {self.status}{when}"

    def _standby_line(self) -> str:
        if self.synced_by is None:
            return "mail: nobody syncs; taking over"
        who = display_line(self.synced_by)  # from the database: no escape sequences, never markup
        if self.silent_for is not None:
            return f"mail: synced by {who}, not heard from for {ago(self.silent_for)}"
        if self.synced_ago is None:
            return f"mail: synced by {who}, first sync under way"
        return f"mail: synced by {who}, {ago(self.synced_ago)} ago"


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 2 * 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


class MailboxWorker:
    """Runs the team's mailbox work while this inbox holds the lease, and stands by otherwise,
    until the app quits; reports each state change to `on_change`. Lease renewals, like the sync,
    happen in background threads, never on the event loop."""

    timing: Timing = DEFAULT_TIMING  # tests shorten it

    def __init__(self, app: App, on_change, on_sent=None) -> None:
        self.app = app
        self.on_change = on_change
        self.on_sent = on_sent
        self.stop = threading.Event()
        self.state = MailboxState("connecting", "")
        self.lease = Lease(app.store, timing=self.timing)
        self.work = MailboxWork(
            app.store, self.lease, on_status=self._status, on_report=self._synced, on_sent=self._sent
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A plain daemon thread, not a Textual worker: quitting must never wait on a mail server.
        self._thread = threading.Thread(target=self._run, name="mailbox", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def holding(self) -> bool:
        """Whether this inbox is the one that syncs and sends."""
        return self.lease.held

    def nudge(self) -> None:
        """Send the outbox now, if this inbox is the one that sends; the holder notices by itself."""
        self.work.nudge()

    def close(self, wait: float = 1.5) -> None:
        """On quit: stop, and hand the lease over at once so that a standby takes over now rather
        than in 30 s. Waits a moment for the thread to release it; a thread stuck on a mail server
        is not waited for: the lease is released from here."""
        self.stop.set()
        if self._thread is not None:
            self._thread.join(wait)
        if self.lease.held:
            try:
                self.lease.release()
            except Exception:  # the database is away: the standbys take over when the beat stops
                pass

    def _run(self) -> None:
        store = self.app.store
        try:
            while not self.stop.is_set():
                try:
                    serve(self.lease, self.stop, self._work, on_standby=self._standby)
                    return
                except PeeweeException as error:  # the database went away mid-work: wait, then stand by again
                    store.db.close()
                    problem = " ".join(str(error).split())
                    self._report(MailboxState("waiting", f"database unavailable: {problem}", self.state.last_sync))
                    self.stop.wait(self.lease.timing.renew_every)
        except SyncError as error:  # a refused login: retrying would only lock the account
            self._report(MailboxState("stopped", f"stopped: {error}", self.state.last_sync))
        finally:
            store.db.close()  # this thread's own connection

    def _work(self, quit: threading.Event) -> None:
        self._report(MailboxState("connecting", "", self.state.last_sync))
        self.work(quit)

    def _standby(self, info: LeaseInfo | None, problem: str | None) -> None:
        if problem is not None:
            self._report(MailboxState("waiting", problem, self.state.last_sync))
            return
        if info is None or info.free:
            self._report(MailboxState("standby", "", self.state.last_sync))
            return
        timing = self.lease.timing
        quiet = info.silent_for >= 2 * timing.renew_every + timing.check_every
        self._report(
            MailboxState(
                "standby",
                "",
                self.state.last_sync,
                synced_by=info.who,
                synced_ago=None if info.synced_ago is None else int(info.synced_ago),  # as shown: whole seconds
                silent_for=int(info.silent_for) if quiet else None,
            )
        )

    def _status(self, status: Status, detail: str) -> None:
        self._report(MailboxState(status, detail, self.state.last_sync))

    def _synced(self, report: SyncReport) -> None:
        if report.errors:
            self._report(MailboxState("waiting", "; ".join(report.errors), self.state.last_sync))
        else:
            self._report(MailboxState("idle", "", self.app.clock.now()))

    def _sent(self, report: SendReport) -> None:
        if self.on_sent is not None and (report.sent or report.failed) and not self.stop.is_set():
            try:
                self.app.call_from_thread(self.on_sent, report)
            except RuntimeError:
                self.stop.set()

    def _report(self, state: MailboxState) -> None:
        unchanged = state == self.state
        self.state = state
        if self.stop.is_set() or unchanged:
            return
        try:
            self.app.call_from_thread(self.on_change, state)
        except RuntimeError:  # the app closed while this thread was talking to the server
            self.stop.set()
