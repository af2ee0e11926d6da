"""The hand-over note the previous rep left, shown when the rotation changes hands."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from frontdesk.mail.safe_text import display_safe
from frontdesk.styles import sheet

if TYPE_CHECKING:
    from frontdesk.storage.team import Turn


def since(moment: datetime, now: datetime, tz: ZoneInfo) -> str:
    """When a turn began, local to the desk: the weekday within the last six days, else the date."""
    local = moment.astimezone(tz)
    if (now - moment).days < 6:
        return f"{local:%a %H:%M}"
    return f"{local:%d %b %Y}"


class HandoverScreen(ModalScreen):
    """The note as Markdown: mail text in it was escaped when it was written, and terminal controls
    are removed again here, since the database is shared and anyone on the team writes to it."""

    CSS_PATH = [sheet("team")]
    BINDINGS = [Binding("escape,q", "app.pop_screen", "Close")]

    def __init__(self, turn: Turn) -> None:
        super().__init__()
        self.turn = turn

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # markdown-it loads when a note is shown, not with the inbox

        with VerticalScroll(id="handover"):
            yield Markdown(display_safe(self.turn.handover or "No hand-over note was left."), open_links=False)

    def on_mount(self) -> None:
        scroll = self.query_one("#handover", VerticalScroll)
        scroll.border_title = "Hand-over note"
        scroll.border_subtitle = "↑↓ PgUp PgDn scroll · esc closes"
        scroll.focus()
