"""A ticket's history in words: what each event in the append-only log says, for the ticket screen,
`frontdesk show` and the line that tells a rep what changed under them."""

from __future__ import annotations

from collections.abc import Iterable

from .models import Event


def undone(events: Iterable) -> set[int]:
    """The ids of the changes an `undo` among `events` took back: for undo and the figures, they
    no longer stand (the history keeps showing both)."""
    return {event.data["undid"] for event in events if event.kind == "undo"}


def describe(event: Event) -> str:
    return describe_change(event.kind, event.data)


def describe_change(kind: str, data: dict) -> str:
    match kind:
        case "created":
            return "ticket opened"
        case "message":
            return "reply recorded" if data.get("direction") == "out" else "customer wrote again"
        case "severity":
            return f"severity set to {data['to']}"
        case "owner" if data.get("taken"):
            return "took the ticket"
        case "owner":
            return f"handed to {data['to']}" + (f": {data['note']}" if data.get("note") else "")
        case "state":
            return f"{data['from']} → {data['to']}"
        case "reply_queued":
            return f"{data.get('kind', 'reply')} queued" + (f" (snippet {data['snippet']})" if data.get("snippet") else "")
        case "note":
            return f"note: {data['text']}"
        case "outbox_discarded":
            return "an unsent message was discarded from the outbox"
        case "undo":
            return f"undid “{describe_change(data['kind'], data['change'])}”"
    return kind
