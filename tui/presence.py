"""This inbox's presence (storage/presence.py): what the rep has open, published for the others,
and who else has which ticket open, handed to the screens.

What the rep does is read off the screen stack, top down: the reply composer is "replying", the
note editor "noting", an open ticket "viewing"; dialogs on top of them (pickers, help) change
nothing; the inbox, whatever ticket is under its cursor, or any other full screen, is nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import App
from textual.screen import ModalScreen, Screen

from frontdesk.storage.presence import (
    DEFAULT_TIMING,
    NOTHING,
    Activity,
    Doing,
    Heartbeat,
    OtherSession,
    Presence,
    Timing,
    by_ticket,
)

from .marks import Someone


def doing_of(stack: Sequence[Screen]) -> Doing:
    """What the rep does, from the screens open (the last one on top). A screen that shows one
    ticket says what the rep does there with `presence_activity`: read off the screen, not by
    importing its class, so the inbox starts without loading the reply composer."""
    for screen in reversed(stack):
        activity: Activity | None = getattr(screen, "presence_activity", None)
        if activity is not None and screen.ticket_id is not None:
            return Doing(screen.ticket_id, activity)
        if not isinstance(screen, ModalScreen):
            return NOTHING
    return NOTHING


def present_by_ticket(seen: list[OtherSession]) -> dict[int, tuple[Someone, ...]]:
    return {ticket: tuple(Someone(s.who, s.activity) for s in group) for ticket, group in by_ticket(seen).items()}


class SessionPresence:
    """Publishes this inbox's presence and reports the others' to `app.presence_changed(present)`,
    from a thread of its own (nothing touches the database on the event loop)."""

    def __init__(self, app: App, timing: Timing | None = None) -> None:
        self.app = app
        self.presence = Presence(app.store, timing=timing or DEFAULT_TIMING)
        self.heartbeat = Heartbeat(self.presence, self._seen)
        self._closed = False

    def start(self) -> None:
        self.heartbeat.doing(doing_of(self.app.screen_stack))
        self.heartbeat.start()
        self.app.screen_change_signal.subscribe(self.app, lambda _: self.screens_changed())

    def screens_changed(self) -> None:
        if not self._closed:
            self.heartbeat.doing(doing_of(self.app.screen_stack))

    def close(self) -> None:
        """On quit: the row goes at once."""
        self._closed = True
        self.heartbeat.close()

    def _seen(self, seen: list[OtherSession]) -> None:  # in the heartbeat's thread
        if self._closed:
            return
        try:
            self.app.call_from_thread(self.app.presence_changed, present_by_ticket(seen))
        except RuntimeError:  # the app closed meanwhile
            pass
