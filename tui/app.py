"""The full-screen inbox: the Textual application and what every screen shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import platformdirs
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

import frontdesk.styles
from frontdesk.mail.smtp_send import SendReport
from frontdesk.mail.worker import send_if_free
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import Config
from frontdesk.storage.database import describe, is_unavailable
from frontdesk.storage.files import write_private
from frontdesk.storage.lease import Lease
from frontdesk.storage.presence import DEFAULT_TIMING as PRESENCE_TIMING
from frontdesk.storage.presence import Timing as PresenceTiming
from frontdesk.storage.store import Store, StoreError

from .inbox import InboxScreen
from .mailbox import MailboxState, MailboxWorker
from .presence import Present, SessionPresence

STYLES = Path(frontdesk.styles.__file__).parent
STATE_FILE = platformdirs.user_state_path("frontdesk") / "tui.json"


class FrontdeskApp(App):
    """One rep, one database: the inbox and the screens it opens."""

    TITLE = "frontdesk"
    CSS_PATH = sorted(STYLES.glob("*.tcss"))
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]
    presence_timing: PresenceTiming = PRESENCE_TIMING  # tests shorten it

    def __init__(
        self,
        store: Store,
        *,
        demo: bool = False,
        state_file: Path | None = STATE_FILE,
        tick_seconds: float = 1.0,
    ) -> None:
        super().__init__()
        self.store = store
        self.demo = demo
        self.state_file = state_file
        self.tick_seconds = tick_seconds
        self.mailbox: MailboxWorker | None = None
        self.presence: SessionPresence | None = None
        self.present: Present = {}  # who else has which ticket open (never this session)
        self._restore_theme()

    @property
    def config(self) -> Config:
        return self.store.config

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def get_default_screen(self) -> Screen:
        return InboxScreen()

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, lambda theme: self._save_state(theme=theme.name))
        for notice in getattr(self.store, "notices", ()):  # e.g. the database's mode tightened on open
            self.say(notice, "warning")
        if (self.config.imap is not None or self.config.smtp is not None) and not self.demo:
            self.mailbox = MailboxWorker(self, self._mailbox_changed, self._outbox_sent)
            self.mailbox.start()
        self.presence = SessionPresence(self, self.presence_timing)
        self.presence.start()

    def on_unmount(self) -> None:
        if self.presence is not None:
            self.presence.close()  # the others stop seeing this session at once
        if self.mailbox is not None:
            self.mailbox.close()  # hands the mailbox lease over to a standby at once

    def presence_changed(self, present: Present) -> None:
        """Who else has which ticket open changed: every screen that shows it redraws."""
        self.present = present
        for screen in self.screen_stack:
            show = getattr(screen, "show_presence", None)
            if show is not None and screen.is_mounted:
                try:
                    show(present)
                except NoMatches:  # not composed yet, or going away: it reads app.present when shown
                    pass

    def _mailbox_changed(self, state: MailboxState) -> None:
        if state.status in ("waiting", "stopped"):
            self.say(state.line(self.config.calendar.timezone), "warning")
        for screen in self.screen_stack:
            if isinstance(screen, InboxScreen):
                screen.show_banner()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        commands = getattr(screen, "palette_commands", None)
        if commands is not None:
            yield from commands()

    # --- work off the event loop ---------------------------------------------------------

    def in_background(
        self,
        work: Callable[[], object],
        done: Callable[[object], None] | None = None,
        group: str = "store",
        exclusive: bool = False,
    ) -> None:
        """Run a store call in a thread; report StoreError as a notice, hand the result to `done`."""

        def run() -> None:
            try:
                result = work()
            except StoreError as error:
                self.call_from_thread(self.say, str(error), "error")
                return
            except Exception as error:  # keep the rep's screen; say what failed instead of crashing
                self.log.error(repr(error))
                self.call_from_thread(self.say, self._failure(error), "error")
                return
            finally:
                self.store.release()
            if done is not None:
                self.call_from_thread(done, result)

        self.run_worker(run, thread=True, group=group, exclusive=exclusive)

    def _failure(self, error: Exception) -> str:
        if is_unavailable(error):
            where = describe(self.store.target)
            return f"The database {where} is unavailable; nothing was changed. frontdesk reconnects by itself: try again shortly."
        return f"Something went wrong: {type(error).__name__}: {error}"

    def send_outbox(self) -> None:
        """Send what waits in the outbox now, rather than at the mailbox's next wake-up. Only the
        process holding the mailbox lease sends: this inbox's worker if it holds it; otherwise the
        holder notices the new entry within a second or two."""
        if self.config.smtp is None or self.demo:
            return
        if self.mailbox is not None and self.mailbox.running:
            self.mailbox.nudge()
            return
        store, lease = self.store, Lease(self.store)  # the worker stopped (e.g. a refused IMAP login)

        def sent(report: SendReport | None) -> None:
            if report is not None:
                self._outbox_sent(report)

        self.in_background(lambda: send_if_free(store, lease), sent, group="send")

    def _outbox_sent(self, report: SendReport) -> None:
        # A failure is announced by the inbox, which sees it in the database whichever process
        # sent (InboxScreen._announce_failures): once, not once per process.
        if report.sent:
            self.say(f"Sent {len(report.sent)} from the outbox")

    def say(self, message: str, severity: str = "information") -> None:
        """Notifications never read markup: they often quote subjects and names from mail."""
        self.notify(message, severity=severity, markup=False)

    # --- remembered between runs ---------------------------------------------------------

    def _restore_theme(self) -> None:
        theme = self._load_state().get("theme")
        if theme in self.available_themes:
            self.theme = theme

    def _load_state(self) -> dict:
        if self.state_file is None:
            return {}
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _save_state(self, **changes: object) -> None:
        if self.state_file is None:
            return
        state = self._load_state() | changes
        try:
            write_private(self.state_file, json.dumps(state))
        except OSError as error:
            self.say(f"Could not remember the theme: {error.strerror}", "warning")
