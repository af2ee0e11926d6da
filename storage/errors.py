"""The errors the store raises: each message is one line meant for the user as it is."""


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
