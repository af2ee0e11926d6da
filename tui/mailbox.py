"""The live mailbox inside the inbox: the sync engine in a background thread, its state on screen."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from textual.app import App

from frontdesk.mail.imap_sync import MailboxSync, Status, SyncError, SyncReport
from frontdesk.mail.smtp_send import send_outbox


@dataclass(frozen=True)
class MailboxState:
    """What the banner says about the mailbox."""

    status: Status | str  # connecting | syncing | idle | waiting | stopped
    detail: str
    last_sync: datetime | None = None

    def line(self, tz) -> str:
        when = f" · last sync {self.last_sync.astimezone(tz):%H:%M}" if self.last_sync else ""
        if self.status == "idle":
            return f"mail: up to date{when}"
        if self.status in ("waiting", "stopped"):
            return f"mail: {self.detail}{when}"
        return f"mail: {self.status}{when}"


class MailboxWorker:
    """Runs MailboxSync.watch until the app quits; reports each state change to `on_change`."""

    def __init__(self, app: App, on_change) -> None:
        self.app = app
        self.on_change = on_change
        self.stop = threading.Event()
        self.state = MailboxState("connecting", "")

    def start(self) -> None:
        # A plain daemon thread, not a Textual worker: quitting must never wait on a mail server.
        threading.Thread(target=self._run, name="mailbox", daemon=True).start()

    def _run(self) -> None:
        store, config = self.app.store, self.app.config
        sync = MailboxSync(
            store,
            config.imap,
            on_status=self._status,
            after_fetch=(lambda: send_outbox(store)) if config.smtp else None,
        )
        try:
            sync.watch(self.stop, self._synced)
        except SyncError as error:  # a refused login: retrying would only lock the account
            self._report(MailboxState("stopped", f"stopped: {error}", self.state.last_sync))
        finally:
            store.db.close()  # this thread's own connection

    def _status(self, status: Status, detail: str) -> None:
        self._report(MailboxState(status, detail, self.state.last_sync))

    def _synced(self, report: SyncReport) -> None:
        if report.errors:
            self._report(MailboxState("waiting", "; ".join(report.errors), self.state.last_sync))
        else:
            self._report(MailboxState("idle", "", self.app.clock.now()))

    def _report(self, state: MailboxState) -> None:
        self.state = state
        if self.stop.is_set():
            return
        try:
            self.app.call_from_thread(self.on_change, state)
        except RuntimeError:  # the app closed while this thread was talking to the server
            self.stop.set()
