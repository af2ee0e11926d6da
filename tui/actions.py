"""The front-line actions, one key each, shared by the inbox and the ticket screen."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import SystemCommand
from textual.binding import Binding

from frontdesk.storage import usecases
from frontdesk.storage.errors import Conflict, Held, Seen
from frontdesk.storage.usecases import Done
from frontdesk.storage.views import TicketView

from .compose import ComposeScreen
from .held_screen import SEND, HeldScreen
from .modals import ConfirmScreen, NoteScreen, OwnerChoice, OwnerPickerScreen, SeverityScreen
from .stats_screen import StatsScreen

ACTION_BINDINGS = [
    Binding("s", "severity", "Severity"),
    Binding("a", "acknowledge", "Ack"),
    Binding("r", "reply", "Reply"),
    Binding("o", "handoff", "Hand off"),
    Binding("t", "take", "Take", show=False),
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
    ("take", "Take", "Make the ticket yours: assign it to me"),
    ("waiting", "Waiting on customer", "Pause the resolution clock until the customer answers"),
    ("resolve", "Resolve", "Mark the ticket resolved (can be undone)"),
    ("note", "Internal note", "A note for the team, never sent to the customer"),
    ("undo", "Undo", "Take back my last change to a ticket, if nobody changed it since"),
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

    def _change(
        self, work: Callable[[], Done], then_send: bool = False, undo_hint: bool = False, undoable: bool = True
    ) -> None:
        """Apply a use case off the event loop, then say what it did and show the new state; send
        the outbox afterwards when the change put something in it. When someone changed the ticket
        since it was shown, nothing was changed: say what they did and show it as it is now.
        `undoable`: u takes this change back (one step: the change before it may not be mine)."""

        def attempt() -> Done | Conflict:
            try:
                return work()
            except Conflict as conflict:
                return conflict

        def done(result: Done | Conflict) -> None:
            self.reload()
            if isinstance(result, Conflict):
                self.app.say(str(result), "warning")
                return
            self.app.last_undo = (result.ticket.id, result.ticket.version) if undoable else None
            self.app.say(f"#{result.ticket.id} {result.said}" + (". Press u to undo." if undo_hint else ""))
            if then_send and result.outbox:
                self.app.send_outbox()

        self.app.in_background(attempt, done)

    def action_severity(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return

        def chosen(severity: int | None) -> None:
            if severity is not None and severity != ticket.severity:
                store = self.app.store
                self._change(lambda: usecases.triage(store, ticket.id, severity, ticket.version))

        self.app.push_screen(SeverityScreen(ticket.subject, ticket.severity), chosen)

    def action_acknowledge(self) -> None:
        """One acknowledgement per ticket; held, like a reply, when the ticket moved since the row
        the rep acted on was shown (the customer wrote, someone answered, owner or state changed)."""
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        seen = Seen(version=ticket.version)  # the ticket as its row showed it

        def ask(already: str | None) -> None:
            if already is not None:
                self.app.say(f"#{ticket.id} {already}", "warning")
                return
            body = f"Queue the acknowledgement to {ticket.requester_name or ticket.requester}? It says the request is logged and being looked at."
            self.app.push_screen(ConfirmScreen(f"Acknowledge #{ticket.id}", body, "Queue it"), confirmed)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._acknowledge(ticket.id, seen)

        self.app.in_background(lambda: usecases.already_acknowledged(store, ticket.id), ask)

    def _acknowledge(self, ticket_id: int, seen: Seen) -> None:
        store = self.app.store

        def attempt() -> Done | Held:
            try:
                return usecases.acknowledge(store, ticket_id, seen=seen)
            except Held as held:
                return held

        def done(result: Done | Held) -> None:
            self.reload()
            if isinstance(result, Held):
                def choice(chosen: str | None) -> None:
                    if chosen == SEND:  # only what happens after this screen holds it again
                        self._acknowledge(ticket_id, result.current)

                zone, now = store.config.calendar.timezone, store.clock.now()
                self.app.push_screen(HeldScreen(result, zone, now), choice)
                return
            if not result.outbox:  # it already had one: nothing was queued
                self.app.say(f"#{result.ticket.id} {result.said}", "warning")
                return
            self.app.last_undo = (result.ticket.id, result.ticket.version)
            self.app.say(f"#{result.ticket.id} {result.said}")
            self.app.send_outbox()

        self.app.in_background(attempt, done)

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
            if choice is not None:
                email, note = choice  # the owner hears of it by mail or chat, queued with the hand-off
                self._change(lambda: usecases.assign(store, ticket.id, email, note, ticket.version), then_send=True)

        self.app.in_background(load, show)

    def action_take(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        self._change(lambda: usecases.take(store, ticket.id, ticket.version))

    def action_waiting(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        change = usecases.reopen if ticket.state == "waiting" else usecases.wait
        self._change(lambda: change(store, ticket.id, ticket.version))

    def action_resolve(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        if ticket.state == "resolved":
            self._change(lambda: usecases.reopen(store, ticket.id, ticket.version))
        else:
            self._change(lambda: usecases.resolve(store, ticket.id, ticket.version), undo_hint=True)

    def action_undo(self) -> None:
        """Take back my last change, unless someone changed that ticket since."""
        undo = getattr(self.app, "last_undo", None)
        if undo is None:
            self.app.say("Nothing to undo.")
            return
        ticket_id, version = undo
        store = self.app.store
        self.app.last_undo = None
        self._change(lambda: usecases.undo(store, ticket_id, version), undoable=False)

    def action_note(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def written(text: str | None) -> None:
            if text:
                self._change(lambda: usecases.note(store, ticket.id, text, ticket.version))

        self.app.push_screen(NoteScreen(ticket.subject, ticket.id), written)

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

