"""Moving fast, shared by the inbox and the ticket screen: `:123` (or `#123`) opens a ticket by its
number, `y` copies its number and subject and `Y` its link, through the terminal (OSC 52)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from frontdesk.storage.safe_text import display_line
from frontdesk.storage.views import TicketView
from frontdesk.styles import sheet

TICKET_URL_EXAMPLE = 'ticket_url = "https://tracker.example/frontdesk/{id}"'


class JumpPrompt(ModalScreen[int | None]):
    """One line at the bottom, like vim's command line: the number, enter opens, esc cancels."""

    CSS_PATH = [sheet("moving")]
    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel", show=False)]

    def __init__(self, sign: str) -> None:
        super().__init__()
        self.sign = sign  # ":" or "#": the key that opened it, shown before the number

    def compose(self) -> ComposeResult:
        with Horizontal(id="jump-line"):
            yield Label(self.sign, id="jump-sign", markup=False)
            # Nine digits at most: any ticket's number, never past the database's integers.
            yield Input(
                placeholder="ticket number, enter opens, esc cancels", restrict=r"#?[0-9]{0,9}", id="jump-number"
            )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        digits = event.value.removeprefix("#")
        self.dismiss(int(digits) if digits else None)


def copy_line(ticket: TicketView) -> str:
    """`#12 Subject` for the clipboard. Textual sends it base64-encoded inside the OSC 52 sequence,
    which a subject can't break out of; it is cleaned all the same, because the rep pastes it into
    another terminal or program, where an ESC or BEL from the mail would act."""
    return f"#{ticket.id} {display_line(ticket.subject)}".rstrip()


def ticket_link(template: str, ticket_id: int) -> str:
    """The ticket's link from `[support] ticket_url` (the config checked it holds `{id}`)."""
    return template.replace("{id}", str(ticket_id))


class MovingActions:
    """Mixed into a Screen with TicketActions, before it."""

    def show_ticket(self, ticket_id: int) -> None:
        raise NotImplementedError

    def action_jump(self, sign: str) -> None:
        """`:` or `#`: ask for a number, then open that ticket, whichever view holds it (or none)."""
        store = self.app.store

        def asked(ticket_id: int | None) -> None:
            if ticket_id is not None:
                self.in_background(lambda: store.views_of([ticket_id]), lambda found: opened(ticket_id, found))

        def opened(ticket_id: int, found: list[TicketView]) -> None:
            if found:
                self.show_ticket(ticket_id)
            else:
                self.app.say(f"No ticket #{ticket_id}.", "warning")

        self.app.push_screen(JumpPrompt(sign), asked)

    def action_copy_ticket(self) -> None:
        if (ticket := self._ticket_or_say()) is not None:
            line = copy_line(ticket)
            self.app.copy_to_clipboard(line)
            self.app.say(f"Copied {line}")

    def action_copy_link(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        template = self.app.config.support.ticket_url
        if template is None:
            self.app.say(f"No link to copy: set it in the config, under [support]: {TICKET_URL_EXAMPLE}", "warning")
            return
        link = ticket_link(template, ticket.id)
        self.app.copy_to_clipboard(link)
        self.app.say(f"Copied {link}")
