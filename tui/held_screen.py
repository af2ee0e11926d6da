"""A held send: the reply (or acknowledgement) was not queued because the ticket moved since the rep
began it. The screen shows what happened (the customer's new message, the other reply with who and
when, a hand-off or a change of state) and asks what to do: send anyway, go back to editing, or
discard the draft; for an acknowledgement, send anyway or cancel.

What it shows comes from mail and from other reps: plain text only, never read as markup.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Mount
from textual.screen import ModalScreen
from textual.widgets import Button

from frontdesk.mail.safe_text import display_line, display_safe
from frontdesk.storage.errors import Change, Held
from frontdesk.styles import sheet

from .modals import DIALOGS, ConfirmScreen, text_static

SEND, EDIT, DISCARD = "send", "edit", "discard"
_TEXT_LINES = 12  # of each message or reply shown; the whole thread is on the ticket screen


def when(at: datetime, zone: tzinfo, now: datetime) -> str:
    """15:05 CET today, else Tue 24 Nov 15:05 CET: in the desk's time zone, named, since quoted
    mail shows other zones' offsets."""
    local = at.astimezone(zone)
    return f"{local:%H:%M %Z}" if local.date() == now.astimezone(zone).date() else f"{local:%a %d %b %H:%M %Z}"


def change_heading(change: Change, zone: tzinfo, now: datetime) -> Content:
    """'Sam Lee queued a reply · 15:04': who in bold, then what and when."""
    status = f" ({change.status})" if change.status in ("sending", "failed") else ""
    return Content.assemble(
        (display_line(change.who) or "someone", "bold"), f" {display_line(change.said)}{status}",
        (f" · {when(change.at, zone, now)}", "dim"),
    )


def change_text(text: str, lines: int = _TEXT_LINES) -> Content:
    """A message or reply as written, its first lines; blank lines at its ends dropped."""
    shown = display_safe(text).strip("\n").split("\n")
    kept = shown[:lines]
    if len(shown) > lines:
        kept.append(f"… ({len(shown) - lines} more lines)")
    return Content("\n".join(kept))


class HeldScreen(ModalScreen[str | None]):
    """Dismisses with SEND, EDIT or DISCARD for a reply; SEND or None for an acknowledgement."""

    CSS_PATH = [*DIALOGS, sheet("held")]
    BINDINGS = [
        Binding("s", "choose('send')", "Send anyway"),
        Binding("e", "choose('edit')", "Back to editing"),
        Binding("d", "choose('discard')", "Discard draft"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, held: Held, zone: tzinfo, now: datetime) -> None:
        super().__init__()
        self.held = held
        self.zone = zone
        self.now = now
        self.is_ack = held.kind == "ack"

    def compose(self) -> ComposeResult:
        what = "acknowledgement" if self.is_ack else "reply"
        with Vertical(classes="dialog held") as dialog:
            dialog.border_title = f"Not sent: #{self.held.ticket_id} changed"
            yield text_static(Content(f"Since you began this {what}:"), classes="dialog-title")
            with VerticalScroll(id="held-changes"):
                for change in self.held.changes:
                    yield text_static(change_heading(change, self.zone, self.now), classes="held-heading")
                    if change.text is not None and change.text.strip():
                        yield text_static(change_text(change.text), classes="held-text")
            with Horizontal(classes="buttons"):
                yield Button(Content("Send anyway (s)"), variant="warning", id="send")
                if self.is_ack:
                    yield Button(Content("Cancel (esc)"), id="cancel")
                else:
                    yield Button(Content("Back to editing (e)"), variant="primary", id="edit")
                    yield Button(Content("Discard draft (d)"), id="discard")

    def on_mount(self) -> None:
        # Enter goes back to the text, never sends: sending anyway is a choice of its own.
        self.query_one("#cancel" if self.is_ack else "#edit", Button).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose" and self.is_ack and parameters and parameters[0] != SEND:
            return False  # an acknowledgement has no draft: send anyway or cancel
        return True

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(None if event.button.id == "cancel" else event.button.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)

    def action_back(self) -> None:
        self.dismiss(None if self.is_ack else EDIT)


class DiscardDraftScreen(ConfirmScreen):
    """Discard a draft? Only y (or the button) discards: enter and esc keep it, so that a key meant
    for the text can never throw the text away."""

    BINDINGS = [Binding("enter", "answer(False)", "Keep", show=False)]

    def __init__(self, ticket_id: int) -> None:
        super().__init__(
            f"Discard the draft to #{ticket_id}?",
            "What you wrote is deleted and nothing is sent. The ticket stays as it is.",
            "Discard",
        )

    def on_mount(self, event: Mount) -> None:
        event.prevent_default()  # not ConfirmScreen's: it focuses the button that says yes
        self.query_one("#cancel", Button).focus()

