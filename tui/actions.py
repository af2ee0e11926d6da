"""The front-line actions, one key each, shared by the inbox and the ticket screen."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from frontdesk.storage import usecases
from frontdesk.storage.errors import Conflict, Held, Seen
from frontdesk.storage.owners import OwnerChoice, TicketText
from frontdesk.storage.store import Store
from frontdesk.storage.usecases import Done
from frontdesk.storage.views import TicketView

from .keymap import bind_macros, macro_commands
from .keys import keys_in_force, palette

# The screens these actions open are imported as they open: the inbox's first frame needs none.


class TicketActions:
    """Mixed into a Screen that can say which ticket the rep is looking at."""

    keys_where: str  # which of the key table's screens this is (tui/keys.py)

    def current_ticket(self) -> TicketView | None:
        raise NotImplementedError

    def reload(self) -> None:
        raise NotImplementedError

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        bind_macros(self, self.app.config.macros)

    def palette_commands(self):
        yield from palette(self, self.keys_where)
        yield from macro_commands(self)

    def action_help(self) -> None:
        """The help shows the keys in force here, and the inbox's under it."""
        from .help_screen import HelpScreen

        self.app.push_screen(HelpScreen(keys_in_force(reversed(self.app.screen_stack))))

    def _ticket_or_say(self) -> TicketView | None:
        ticket = self.current_ticket()
        if ticket is None:
            self.app.say("No ticket selected.", "warning")
        return ticket

    def _change(
        self, work: Callable[[], Done], then_send: bool = False, undo_hint: bool = False,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Apply a use case off the event loop, then say what it did and show the new state; send
        the outbox afterwards when the change put something in it. When someone changed the ticket
        since it was shown, nothing was changed: say what they did and show it as it is now.
        `then`: called when the change was made, before the new state is shown."""

        def attempt() -> Done | Conflict:
            try:
                return work()
            except Conflict as conflict:
                return conflict

        def done(result: Done | Conflict) -> None:
            if then is not None and not isinstance(result, Conflict):
                then()
            self.reload()
            if isinstance(result, Conflict):
                self.app.say(str(result), "warning")
                return
            self._remember(result)
            self.app.say(f"#{result.ticket.id} {result.said}" + (". Press u to undo." if undo_hint else ""))
            if then_send and result.outbox:
                self.app.send_outbox()

        self.app.in_background(attempt, done)  # the app's work: told even if this screen has closed meanwhile

    def triaged(self, ticket: TicketView) -> None:
        """`ticket` got its first severity (the inbox moves on to the next untriaged ticket)."""

    def marked_tickets(self) -> list[TicketView]:
        """The tickets marked for a change to each (the inbox's marks); none: the current ticket's."""
        return []

    def keep_marked(self, ticket_ids: set[int]) -> None:
        """After a step on the marked tickets, only these stay marked (those it left as they were)."""

    def _change_each(
        self, tickets: list[TicketView], change: Callable[[Store, int, int | None], Done], summary: str,
        then_send: bool = False, left: str = "",
    ) -> None:
        """One change to each of `tickets` as its row showed it, in one transaction (usecases.each):
        one notice, one step for u. A ticket someone changed since stays as it is, named in the
        notice, and the only one still marked. `summary`: see usecases.Several; `left`: what the
        notice adds about marked tickets the change was not for."""
        store, seen = self.app.store, [(ticket.id, ticket.version) for ticket in tickets]

        def done(several: usecases.Several) -> None:
            self.keep_marked({ticket_id for ticket_id, _ in seen} - {done.ticket.id for done in several.done})
            self.reload()
            self._remember(*several.done)
            undo = ". Press u to undo the step." if any(done.changed for done in several.done) else ""
            self.app.say(several.said + left + undo, "warning" if several.refused else "information")
            if then_send and any(done.outbox for done in several.done):
                self.app.send_outbox()

        self.app.in_background(lambda: usecases.each(store, seen, change, summary), done)

    def _move_each(self, tickets: list[TicketView], state: str, move: Callable[..., Done], summary: str) -> None:
        """Waiting or resolve on the marked tickets: every one already `state` reopens, like the
        single key pressed again; else each of the others moves, and the notice counts those left."""
        if all(ticket.state == state for ticket in tickets):
            self._change_each(tickets, usecases.reopen, "Reopened {} tickets")
            return
        others = [ticket for ticket in tickets if ticket.state != state]
        already = len(tickets) - len(others)
        left = f"; {already} {'was' if already == 1 else 'were'} {state} already" if already else ""
        self._change_each(others, move, summary, left=left)

    def _remember(self, *changes: Done) -> None:
        """One step for u to take back: each change of it, one per ticket, undone together."""
        step = tuple((done.ticket.id, done.ticket.version) for done in changes if done.changed)
        if step:
            self.app.undo_steps.append(step)

    def action_severity(self) -> None:
        if marked := self.marked_tickets():
            self._severity_each(marked)
            return
        if (ticket := self._ticket_or_say()) is None:
            return

        def chosen(severity: int | None) -> None:
            if severity is not None and severity != ticket.severity:
                store = self.app.store
                then = partial(self.triaged, ticket) if ticket.severity is None else None
                self._change(lambda: usecases.triage(store, ticket.id, severity, ticket.version), then=then)

        from .modals import SeverityScreen

        self.app.push_screen(SeverityScreen(ticket.subject, ticket.severity, ticket.policy), chosen)

    def _severity_each(self, tickets: list[TicketView]) -> None:
        """One picker for all the marked tickets; their targets when they share a policy."""
        severities = {ticket.severity for ticket in tickets}
        policies = {ticket.policy.name: ticket.policy for ticket in tickets}

        def chosen(severity: int | None) -> None:
            if severity is not None:
                triage = partial(_triage, severity=severity)
                self._change_each(tickets, triage, f"Severity {severity} on {{}} tickets")

        current = next(iter(severities)) if len(severities) == 1 else None
        policy = next(iter(policies.values())) if len(policies) == 1 else None
        from .modals import SeverityScreen

        self.app.push_screen(SeverityScreen(f"{len(tickets)} tickets", current, policy, len(tickets)), chosen)

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
            from .modals import ConfirmScreen

            self.app.push_screen(ConfirmScreen(f"Acknowledge #{ticket.id}", body, "Queue it"), confirmed)

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._acknowledge(ticket.id, seen)

        self.in_background(lambda: usecases.already_acknowledged(store, ticket.id), ask)

    def _acknowledge(self, ticket_id: int, seen: Seen) -> None:
        store = self.app.store
        self._queue_unless_held(lambda seen: (usecases.acknowledge(store, ticket_id, seen=seen),), seen)

    def action_macro(self, index: int) -> None:
        """A [[macros]] entry: its snippet queued as a reply (held like any reply when the ticket
        moved since it was shown), then the ticket moved; one step for u."""
        if (ticket := self._ticket_or_say()) is None:
            return
        store, macro = self.app.store, self.app.config.macros[index]
        self._queue_unless_held(
            lambda seen: usecases.reply_then(store, ticket.id, macro.snippet, macro.then, seen=seen),
            Seen(version=ticket.version),  # the ticket as its row showed it
        )

    def _queue_unless_held(self, work: Callable[[Seen], tuple[Done, ...]], seen: Seen) -> None:
        """Queue a reply (and what follows it: `work`'s changes, the reply first), or show why it
        is held; sending anyway runs `work` again with the ticket as it is now."""
        store = self.app.store

        def attempt() -> tuple[Done, ...] | Held:
            try:
                return work(seen)
            except Held as held:
                return held

        def done(result: tuple[Done, ...] | Held) -> None:
            self.reload()
            if isinstance(result, Held):
                from .held_screen import SEND, HeldScreen

                def choice(chosen: str | None) -> None:
                    if chosen == SEND:  # only what happens after this screen holds it again
                        self._queue_unless_held(work, result.current)

                zone, now = store.config.calendar.timezone, store.clock.now()
                self.app.push_screen(HeldScreen(result, zone, now), choice)
                return
            replied = result[0]
            if not replied.outbox:  # an acknowledgement it already had: nothing was queued
                self.app.say(f"#{replied.ticket.id} {replied.said}", "warning")
                return
            self._remember(*result)
            self.app.say("; ".join(f"#{change.ticket.id} {change.said}" for change in result))
            self.app.send_outbox()

        self.app.in_background(attempt, done)

    def action_reply(self) -> None:
        self._reply(in_editor=False)

    def action_reply_in_editor(self) -> None:
        self._reply(in_editor=True)

    def _reply(self, in_editor: bool) -> None:
        """The composer; `in_editor`: it opens the rep's own editor on the draft at once."""
        if (ticket := self._ticket_or_say()) is None:
            return

        def sent(queued: bool | None) -> None:
            if queued:
                self._remember(compose.queued)  # what queuing did: u takes the reply back
                self.app.say(f"Reply to {ticket.requester} queued in the outbox")
                self.app.send_outbox()
                self.reload()

        from .compose import ComposeScreen

        compose = ComposeScreen(self.app.store, ticket.id, in_editor)
        self.app.push_screen(compose, sent)

    def action_handoff(self) -> None:
        if marked := self.marked_tickets():
            self._handoff_each(marked)
            return
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def load() -> tuple[list[OwnerChoice], TicketText]:
            return owner_choices(store), ticket_text(store, ticket.id)

        def show(loaded: tuple[list[OwnerChoice], TicketText]) -> None:
            owners, text = loaded
            if not owners:
                self.app.say("No owners configured: add them under [[owners]] in the config file.", "warning")
                return
            from .modals import OwnerPickerScreen

            self.app.push_screen(OwnerPickerScreen(owners, text, ticket.owner), picked)

        def picked(choice: tuple[str, str | None] | None) -> None:
            if choice is not None:
                email, note = choice  # the owner hears of it by mail or chat, queued with the hand-off
                self._change(lambda: usecases.assign(store, ticket.id, email, note, ticket.version), then_send=True)

        self.in_background(load, show)

    def _handoff_each(self, tickets: list[TicketView]) -> None:
        """One picker for all the marked tickets: owners ranked on what all of them say."""
        store = self.app.store
        owners_now = {ticket.owner for ticket in tickets}

        def load() -> tuple[list[OwnerChoice], TicketText]:
            texts = [ticket_text(store, ticket.id) for ticket in tickets]
            return owner_choices(store), TicketText("\n".join(t.subject for t in texts), "\n".join(t.body for t in texts))

        def show(loaded: tuple[list[OwnerChoice], TicketText]) -> None:
            owners, text = loaded
            if not owners:
                self.app.say("No owners configured: add them under [[owners]] in the config file.", "warning")
                return
            current = next(iter(owners_now)) if len(owners_now) == 1 else None
            from .modals import OwnerPickerScreen

            self.app.push_screen(OwnerPickerScreen(owners, text, current, f"Hand off {len(tickets)} tickets"), picked)

        def picked(choice: tuple[str, str | None] | None) -> None:
            if choice is not None:
                email, note = choice
                assign = partial(_assign, owner=email, note=note)
                self._change_each(tickets, assign, f"Handed {{}} tickets to {email}", then_send=True)

        self.in_background(load, show)

    def action_take(self) -> None:
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        self._change(lambda: usecases.take(store, ticket.id, ticket.version))

    def action_waiting(self) -> None:
        if marked := self.marked_tickets():
            self._move_each(marked, "waiting", usecases.wait, "Put {} tickets on waiting")
            return
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        change = usecases.reopen if ticket.state == "waiting" else usecases.wait
        self._change(lambda: change(store, ticket.id, ticket.version))

    def action_resolve(self) -> None:
        if marked := self.marked_tickets():
            self._move_each(marked, "resolved", usecases.resolve, "Resolved {} tickets")
            return
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store
        if ticket.state == "resolved":
            self._change(lambda: usecases.reopen(store, ticket.id, ticket.version))
        else:
            self._change(lambda: usecases.resolve(store, ticket.id, ticket.version), undo_hint=True)

    def action_undo(self) -> None:
        """Take back my latest step not undone yet, several deep; a ticket someone changed since
        stays as it is, and the notice says what they did."""
        if not self.app.undo_steps:
            self.app.say("Nothing to undo.")
            return
        step, store = self.app.undo_steps.pop(), self.app.store

        def done(undone: usecases.Several) -> None:
            self.reload()
            self.app.say(undone.said, "warning" if undone.refused else "information")

        self.app.in_background(lambda: usecases.undo_step(store, step), done)  # the app's work, as in _change

    def action_note(self) -> None:
        if marked := self.marked_tickets():
            self._note_each(marked)
            return
        if (ticket := self._ticket_or_say()) is None:
            return
        store = self.app.store

        def written(text: str | None) -> None:
            if text:
                self._change(lambda: usecases.note(store, ticket.id, text, ticket.version))

        from .modals import NoteScreen

        self.app.push_screen(NoteScreen(ticket.subject, ticket.id), written)

    def _note_each(self, tickets: list[TicketView]) -> None:
        def written(text: str | None) -> None:
            if text:
                self._change_each(tickets, partial(_note, text=text), "Added the note to {} tickets")

        from .modals import NoteScreen

        self.app.push_screen(NoteScreen(f"{len(tickets)} tickets"), written)

    def action_stats(self) -> None:
        from .stats_screen import StatsScreen

        self.app.push_screen(StatsScreen(self.app.store))


# The use cases in the shape usecases.each calls them: (store, ticket id, version), the rest by name.
def _triage(store: Store, ticket_id: int, version: int | None, *, severity: int) -> Done:
    return usecases.triage(store, ticket_id, severity, version)


def _assign(store: Store, ticket_id: int, version: int | None, *, owner: str, note: str | None) -> Done:
    return usecases.assign(store, ticket_id, owner, note, version)


def _note(store: Store, ticket_id: int, version: int | None, *, text: str) -> Done:
    return usecases.note(store, ticket_id, text, version)


def owner_choices(store) -> list[OwnerChoice]:
    """Active owners with how many open tickets each already carries."""
    load = store.open_tickets_by_owner()
    return [
        OwnerChoice(name=o.name, email=o.email, team=o.team, areas=tuple(o.areas), open_tickets=load.get(o.id, 0))
        for o in store.owners()
    ]


def ticket_text(store, ticket_id: int) -> TicketText:
    """What the owner picker matches areas against: the subject and what the customer wrote."""
    messages = store.messages(ticket_id)
    subject = messages[0].subject if messages else ""
    return TicketText(subject, "\n".join(m.body_text for m in messages if m.direction == "in"))

