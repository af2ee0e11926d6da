"""The front-line actions, one key each, shared by the inbox and the ticket screen."""

from __future__ import annotations

from textual.app import SystemCommand
from textual.binding import Binding

from frontdesk.mail.notify import queue_handoff
from frontdesk.storage.views import TicketView

from .compose import ComposeScreen
from .modals import ConfirmScreen, NoteScreen, OwnerChoice, OwnerPickerScreen, SeverityScreen
from .stats_screen import StatsScreen

ACTION_BINDINGS = [
    Binding("s", "severity", "Severity"),
    Binding("a", "acknowledge", "Ack"),
    Binding("r", "reply", "Reply"),
    Binding("o", "handoff", "Hand off"),
    Binding("w", "waiting", "Waiting"),
    Binding("x", "resolve", "Resolve"),
    Binding("n", "note", "Note", show=False),
    Binding("u", "undo", "Undo", show=False),
    Binding("S", "stats", "Stats", show=False),
]

# (action, title, help) for the command palette, so every action is reachable by name too.
PALETTE_ACTIONS = (
    ("severity", "Set severity", "Severity 1 or 2, with what each means"),
    ("acknowledge", "Acknowledge", "Queue the acknowledgement reply: a first response right away"),
    ("reply", "Reply", "Write a reply, with snippets"),
    ("handoff", "Hand off", "Give the ticket to a support owner who sees it through"),
    ("waiting", "Waiting on customer", "Pause the resolution clock until the customer answers"),
    ("resolve", "Resolve", "Mark the ticket resolved (can be undone)"),
    ("note", "Internal note", "A note for the team, never sent to the customer"),
    ("stats", "Stats", "Response and resolution times, SLA attainment, rotation summary"),
)


class TicketActions:
    """Mixed into a Screen that can say which ticket the rep is looking at."""

    def current_ticket(self) -> TicketView | None:
        raise NotImplementedError

    def reload(self) -> None:
        raise NotImplementedError

    def palette_commands(self):
        for action, title, help_text in PALETTE_ACTIONS:
            yield SystemCommand(title, help_text, lambda action=action: self.run_action(action))

    def _ticket_or_say(self) -> TicketView | None:
        ticket = self.current_ticket()
        if ticket is None:
            self.app.say("No ticket selected.", "warning")
        return ticket

    def _change(self, work, said: str, then_send: bool = False) -> None:
        """Apply a store change off the event loop, then say so and show the new state; send the
        outbox afterwards when the change put something in it."""

        def done(_result: object) -> None:
            self.app.say(said)
            self.reload()
            if then_send:
                self.app.send_outbox()

        self.app.in_background(work, done)

    def action_severity(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return

        def chosen(severity: int | None) -> None:
            if severity is not None and severity != ticket.severity:
                store = self.app.store
                self._change(lambda: store.triage(ticket.id, severity), f"#{ticket.id} is now severity {severity}")

        self.app.push_screen(SeverityScreen(ticket.subject, ticket.severity), chosen)

    def action_acknowledge(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def queue() -> object:
            return store.queue_reply(ticket.id, store.render_snippet(ticket.id, "ack"), kind="ack", snippet="ack")

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._change(queue, f"Acknowledgement to {ticket.requester} queued in the outbox", then_send=True)

        body = f"Queue the acknowledgement to {ticket.requester_name or ticket.requester}? It says the request is logged and being looked at."
        self.app.push_screen(ConfirmScreen(f"Acknowledge #{ticket.id}", body, "Queue it"), confirmed)

    def action_reply(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return

        def sent(queued: bool | None) -> None:
            if queued:
                self.app.say(f"Reply to {ticket.requester} queued in the outbox")
                self.app.send_outbox()
                self.reload()

        self.app.push_screen(ComposeScreen(self.app.store, ticket.id), sent)

    def action_handoff(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def load() -> tuple[list[OwnerChoice], str]:
            return owner_choices(store), ticket_text(store, ticket.id)

        def show(loaded: tuple[list[OwnerChoice], str]) -> None:
            owners, text = loaded
            if not owners:
                self.app.say("No owners configured: add them under [[owners]] in the config file.", "warning")
                return
            self.app.push_screen(OwnerPickerScreen(owners, text, ticket.owner), picked)

        def picked(choice: tuple[str, str | None] | None) -> None:
            if choice is None:
                return
            email, note = choice

            def hand_off() -> None:
                store.assign(ticket.id, email, note)
                queue_handoff(store, ticket.id, note)  # the owner hears of it by mail or chat

            self._change(hand_off, f"#{ticket.id} handed to {email}", then_send=True)

        self.app.in_background(load, show)

    def action_waiting(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        if ticket.state == "waiting":
            self._change(lambda: store.set_state(ticket.id, "open"), f"#{ticket.id} is open again")
        else:
            self._change(lambda: store.set_state(ticket.id, "waiting"), f"#{ticket.id} is waiting on the customer")

    def action_resolve(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        if ticket.state == "resolved":
            self._change(lambda: store.set_state(ticket.id, "open"), f"#{ticket.id} reopened")
            return
        previous = ticket.state

        def done(_result: object) -> None:
            self.app.notify(f"#{ticket.id} resolved. Press u to undo.", markup=False, timeout=8)
            self.app.last_undo = (ticket.id, previous)
            self.reload()

        self.app.in_background(lambda: store.set_state(ticket.id, "resolved"), done)

    def action_undo(self) -> None:
        undo = getattr(self.app, "last_undo", None)
        if undo is None:
            self.app.say("Nothing to undo.")
            return
        ticket_id, previous = undo
        self.app.last_undo = None
        store = self.app.store
        restored = "open" if previous == "new" else previous  # "new" is only ever set by mail arriving
        self._change(lambda: store.set_state(ticket_id, restored), f"#{ticket_id} is {restored} again")

    def action_note(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def written(text: str | None) -> None:
            if text:
                self._change(lambda: store.add_note(ticket.id, text), f"Note added to #{ticket.id}")

        self.app.push_screen(NoteScreen(ticket.subject), written)

    def action_stats(self) -> None:
        self.app.push_screen(StatsScreen(self.app.store))


def owner_choices(store) -> list[OwnerChoice]:
    """Active owners with how many open tickets each already carries."""
    load = store.open_tickets_by_owner()
    return [
        OwnerChoice(name=o.name, email=o.email, team=o.team, areas=tuple(o.areas), open_tickets=load.get(o.id, 0))
        for o in store.owners()
    ]


def ticket_text(store, ticket_id: int) -> str:
    """What the owner picker matches areas against: the subject and what the customer wrote."""
    messages = store.messages(ticket_id)
    return "\n".join([messages[0].subject if messages else ""] + [m.body_text for m in messages if m.direction == "in"])

