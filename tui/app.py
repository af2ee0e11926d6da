"""The full-screen inbox: the Textual application and what every screen shares."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from rich.theme import Theme as RichTheme
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen

from frontdesk.storage.clock import Clock
from frontdesk.storage.config import Config
from frontdesk.storage.files import write_private
from frontdesk.storage.store import Store
from frontdesk.storage.views import TicketView
from frontdesk.styles import sheet

from . import partial_update
from .background import Background
from .inbox import InboxScreen
from .keymap import keymap
from .looks import looks_theme
from .marks import Present

# The mailbox (IMAP, SMTP, the mail parser) and presence load once the first frame is painted.
if TYPE_CHECKING:
    from frontdesk.mail.smtp_send import SendReport
    from frontdesk.storage.presence import Timing as PresenceTiming
    from frontdesk.storage.usecases import UndoStep

    from .mailbox import MailboxState, MailboxWorker
    from .presence import SessionPresence

STATE_FILE = platformdirs.user_state_path("frontdesk") / "tui.json"
SIXTEEN_COLOUR_THEME = "ansi-dark"


partial_update.install()  # countdown ticks write only what changed


class FrontdeskApp(Background, App):
    """One rep, one database: the inbox and the screens it opens."""

    TITLE = "frontdesk"
    CSS_PATH = [sheet("frontdesk")]  # the dialogs' sheets come with them (styles/__init__.py)
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", show=False, priority=True)]
    presence_timing: PresenceTiming | None = None  # None: storage/presence.py's; tests shorten it

    def __init__(
        self,
        store: Store,
        *,
        demo: bool = False,
        state_file: Path | None = STATE_FILE,
        tick_seconds: float = 1.0,
        first_rows: list[TicketView] | None = None,
        after_first_frame: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self._first_rows = first_rows  # the inbox's first screen, when read before the app started
        self._after_first_frame = after_first_frame  # the command line's end of start-up (launch.py)
        self.demo = demo
        self.state_file = state_file
        self.tick_seconds = tick_seconds
        self.mailbox: MailboxWorker | None = None
        self.presence: SessionPresence | None = None
        self.present: Present = {}  # who else has which ticket open (never this session)
        self.undo_steps: list[UndoStep] = []  # the rep's changes, newest last: u takes back one step at a time
        self.set_keymap(keymap(self.config))  # [keys]; a wrong one is a ConfigError before anything shows
        self.console.push_theme(self._looks())  # watch_theme replaces it
        if self.no_color:
            # Textual chose its NO_COLOR filter for the theme it started with (colours to greys): an
            # ANSI theme chosen later would be drawn black on black.
            for name, theme in list(self.available_themes.items()):
                if theme.ansi:
                    self.unregister_theme(name)
        self._restore_theme()

    @property
    def config(self) -> Config:
        return self.store.config

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def get_default_screen(self) -> Screen:
        return InboxScreen(self._first_rows)

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, lambda theme: self._save_state(theme=theme.name))
        for notice in getattr(self.store, "notices", ()):  # e.g. the database's mode tightened on open
            self.say(notice, "warning")
        self.call_after_refresh(self._first_frame_painted)

    def _first_frame_painted(self) -> None:
        """The threads (and the modules they import) start now: started beside the first
        frame, they held the interpreter while it was drawn."""
        if self._after_first_frame is not None:
            self._after_first_frame()
        if (self.config.imap is not None or self.config.smtp is not None) and not self.demo:
            from .mailbox import MailboxWorker

            self.mailbox = MailboxWorker(self, self._mailbox_changed, self._outbox_sent)
            self.mailbox.start()
        from .presence import SessionPresence

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

    def send_outbox(self) -> None:
        """Send what waits in the outbox now, rather than at the mailbox's next wake-up. Only the
        process holding the mailbox lease sends: this inbox's worker if it holds it; otherwise the
        holder notices the new entry within a second or two."""
        if self.config.smtp is None or self.demo:
            return
        if self.mailbox is not None and self.mailbox.running:
            self.mailbox.nudge()
            return
        from frontdesk.mail.worker import send_if_free
        from frontdesk.storage.lease import Lease

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
        sixteen_colours = self.console.color_system in ("standard", "windows") and not self.no_color
        if sixteen_colours and (theme not in self.available_themes or not self.get_theme(theme).ansi):
            # 16 colours: a theme's shades would collapse onto a few of them (the cursor and LATE both
            # bright red); the terminal's own colours, which it has chosen to tell apart, are kept.
            theme = SIXTEEN_COLOUR_THEME
        if theme in self.available_themes:
            self.theme = theme

    def watch_theme(self) -> None:
        """Urgency's looks (looks.py) in the new theme's colours, for all the console draws."""
        self.console.pop_theme()
        self.console.push_theme(self._looks())

    def _looks(self) -> RichTheme:
        return looks_theme(self.get_css_variables(), self.no_color)

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
