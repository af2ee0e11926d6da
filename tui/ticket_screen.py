"""One ticket: both clocks, the customer's agreement, the thread, the history and notes."""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from frontdesk.storage import pending as pending_mail
from frontdesk.storage.models import Event, Message, Outbox
from frontdesk.storage.pending import Pending
from frontdesk.storage.views import TicketView

from .actions import ACTION_BINDINGS, TicketActions
from .detail import call_hint, customer_lines, history_lines, message_block, pending_block, target_line, when
from .help_screen import HelpScreen
from .presence import Present, present_text


@dataclass
class TicketData:
    view: TicketView
    messages: list[Message]
    events: list[Event]
    outbox: list[Outbox]
    pending: Pending = field(default_factory=Pending)  # its mail not sent yet, and a draft


class TicketScreen(TicketActions, Screen):
    BINDINGS = [
        *ACTION_BINDINGS,
        Binding("escape,q", "app.pop_screen", "Back"),
        Binding("question_mark", "help", "Keys"),
    ]

    def __init__(self, ticket_id: int) -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.data: TicketData | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="ticket-head", markup=False)
        yield Static(id="ticket-presence", markup=False)
        yield Static(id="ticket-clocks", markup=False)
        with VerticalScroll(id="thread"):
            yield Static(id="hint", markup=False)
            yield Static(id="messages", markup=False)
            yield Static(id="history", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hint").display = False
        self.show_presence(self.app.present)
        self.query_one("#thread").focus()
        self.reload()
        self.set_interval(self.app.tick_seconds, self._show_clocks)

    def reload(self) -> None:
        store = self.app.store
        ticket_id = self.ticket_id

        def load() -> TicketData:
            return TicketData(
                store.view(ticket_id), store.messages(ticket_id), store.events(ticket_id), store.outbox(ticket_id),
                pending_mail.of_ticket(store, ticket_id),
            )

        self.app.in_background(load, self._show, group="ticket", exclusive=True)

    def current_ticket(self) -> TicketView | None:
        return self.data.view if self.data else None

    def _show(self, data: TicketData) -> None:
        self.data = data
        view, tz = data.view, self.app.config.calendar.timezone
        head = Text(f"#{view.id} ", style="bold").append(view.subject or "(no subject)", style="bold")
        head.append("\nFrom       ").append(f"{view.requester_name} <{view.requester}>" if view.requester_name else view.requester)
        head.append("\n").append_text(customer_lines(view, self.app.config))
        severity = f"S{view.severity}" if view.severity else "not set (press s)"
        head.append(f"\nSeverity   {severity} · state {view.state} · owner {view.owner_name or 'none (press o)'}")
        head.append(f" · opened {when(view.created_at, tz)}")
        self.query_one("#ticket-head", Static).update(head)
        self._show_clocks()
        hint = call_hint(data.messages, data.events, view.state)
        self.query_one("#hint").display = hint is not None
        if hint is not None:
            self.query_one("#hint", Static).update(hint)
        thread = Text("\n\n").join(message_block(m, tz) for m in data.messages)
        self.query_one("#messages", Static).update(thread)
        self.query_one("#history", Static).update(history_lines(data.events, data.outbox, tz))

    def show_presence(self, present: Present) -> None:
        """Who else has this ticket open, in the header; the line is there only when someone is."""
        here = present.get(self.ticket_id, ())
        line = self.query_one("#ticket-presence", Static)
        line.display = bool(here)
        if here:
            line.update(Text("Also here  ", style="bold").append_text(present_text(here)))

    def _show_clocks(self) -> None:
        if self.data is None:
            return
        view, tz, now = self.data.view, self.app.config.calendar.timezone, self.app.clock.now()
        if view.automated:
            clocks = Text(f"{view.automated}: kept for the record; it starts no SLA clock", style="dim")
        else:
            clocks = target_line("Response", view.sla.response, now, tz)
            clocks.append("\n").append_text(target_line("Resolution", view.sla.resolution, now, tz))
        if (pending := pending_block(self.data.pending, view.id, now, tz)) is not None:
            clocks.append("\n").append_text(pending)
        self.query_one("#ticket-clocks", Static).update(clocks)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())
