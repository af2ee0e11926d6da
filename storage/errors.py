"""The errors the store raises: each message is one line meant for the user as it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class StoreError(Exception):
    """A request the store refuses, or a database it can't use."""


class Conflict(StoreError):
    """The ticket changed since the caller looked at it, so nothing was changed: the message says
    what changed and who did it. `version` is the ticket's version now, to look again with."""

    def __init__(self, message: str, ticket_id: int, version: int) -> None:
        super().__init__(message)
        self.ticket_id = ticket_id
        self.version = version


class DraftKeptHere(StoreError):
    """The database could not take a draft, so it is kept on this computer until it can."""


@dataclass(frozen=True)
class Seen:
    """What a rep saw of a ticket when their reply (or acknowledgement) began; anything that
    happened after it may hold the send (storage/usecases.py). The most precise mark known wins:

    - `event`: the newest event on the ticket then (the composer reads it with the version);
      every message, reply, hand-off and state change after it is new;
    - else `version`: the ticket's version (the inbox's rows, `frontdesk reply --seen`); what moves
      the version is new (customer messages, replies queued, hand-offs, state changes), a reply
      sent from another mail program is not seen by it;
    - else `at`: a moment (a reply file's modification time); what frontdesk stored after it is new.
    """

    version: int | None = None
    event: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Change:
    """One thing that happened on a ticket since a rep looked, as a held send shows it.

    what: "message" (the customer wrote), "reply" or "ack" (queued in frontdesk, `status` says
    how far it got), "sent" (a reply sent from another mail program), "owner", "state".
    `text` is mail or a rep's reply as written: plain text, never markup."""

    what: str
    who: str
    at: datetime
    said: str  # one line: "wrote again", "queued a reply", "handed it to bob@example.com", "open → waiting"
    text: str | None = None
    status: str | None = None  # of a reply or ack: queued, sending, sent, failed


class Held(StoreError):
    """A reply or acknowledgement not queued because, since the rep began it, the customer wrote,
    someone else answered, or the ticket changed owner or state. Nothing was changed. `changes`
    says what (oldest first); `current` is the ticket as it is now: sending again with it as the
    seen state sends unless something else happens meanwhile; `force=True` sends regardless."""

    def __init__(self, message: str, ticket_id: int, kind: str, changes: tuple[Change, ...], current: Seen) -> None:
        super().__init__(message)
        self.ticket_id = ticket_id
        self.kind = kind  # "reply" | "ack"
        self.changes = changes
        self.current = current
