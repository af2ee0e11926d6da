"""One ticket: both clocks, the customer's agreement, the thread, the history and notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from frontdesk.storage import pending as pending_mail
from frontdesk.storage.models import Event, Message, Outbox
from frontdesk.storage.pending import Pending
from frontdesk.storage.presence import Activity
from frontdesk.storage.views import TicketView

from .actions import TicketActions
from .background import Background
from .detail import call_hint, history_lines, message_block, pending_block, target_line, ticket_head
from .keys import TICKET, KeysFooter, bindings
from .marks import Present, present_text
from .moving import MovingActions


@dataclass
class TicketData:
    view: TicketView
    messages: list[Message]
    events: list[Event]
    outbox: list[Outbox]
    pending: Pending = field(default_factory=Pending)  # its mail not sent yet, and a draft


class TicketScreen(MovingActions, TicketActions, Background, Screen):
    presence_activity: Activity = "viewing"
    BINDINGS = bindings(TICKET)
    keys_where = TICKET

    def __init__(self, ticket_id: int, order: Sequence[int] = (), list_name: str = "the list") -> None:
        super().__init__()
        self.ticket_id = ticket_id
        self.data: TicketData | None = None
        self.order = order  # the ticket ids of the list it was opened from, as shown: J and K walk it
        self.list_name = list_name  # that list, in the notices at its ends ("the Open view")

    def compose(self) -> ComposeResult:
        yield Static(id="ticket-head", markup=False)
        yield Static(id="ticket-presence", markup=False)
        yield Static(id="ticket-clocks", markup=False)
        with VerticalScroll(id="thread"):
            yield Static(id="hint", markup=False)
            yield Static(id="messages", markup=False)
            yield Static(id="history", markup=False)
        yield KeysFooter()

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

        self.in_background(load, self._show, group="ticket", exclusive=True)

    def current_ticket(self) -> TicketView | None:
        return self.data.view if self.data else None

    def show_ticket(self, ticket_id: int) -> None:
        """Another ticket in its place (J, K, :); until it has loaded no key acts on the one before."""
        self.ticket_id, self.data = ticket_id, None
        self.query_one("#thread").scroll_home(animate=False)
        self.show_presence(self.app.present)
        self.app.presence.screens_changed()  # the others see which ticket this rep is on now
        self.reload()

    def action_next_ticket(self, step: int) -> None:
        if self.ticket_id not in self.order:
            self.app.say(f"#{self.ticket_id} is not in {self.list_name}: J and K walk that list's tickets.", "warning")
            return
        at = self.order.index(self.ticket_id) + step
        if not 0 <= at < len(self.order):
            self.app.say(f"#{self.ticket_id} is the {'last' if step > 0 else 'first'} ticket of {self.list_name}.")
            return
        self.show_ticket(self.order[at])

    def _show(self, data: TicketData) -> None:
        self.data = data
        view, tz = data.view, self.app.config.calendar.timezone
        self.query_one("#ticket-head", Static).update(ticket_head(view, self.app.config, hints=True))
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
