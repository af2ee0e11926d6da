"""What a ticket's row shows besides the ticket itself: mail waiting in the outbox, an unsent
draft, and who else has the ticket open. The inbox gathers them; the table, the preview and the
ticket view draw them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from rich.text import Text

if TYPE_CHECKING:
    from frontdesk.storage.presence import Activity

OutboxState = Literal["queued", "sending", "failed"]


@dataclass(frozen=True)
class Someone:
    """Another rep's session on the ticket (never your own)."""

    name: str
    activity: Activity


@dataclass(frozen=True)
class Marks:
    outbox: OutboxState | None = None  # the most pressing state of the ticket's unsent mail
    draft: bool = False  # an unsent reply is saved
    present: tuple[Someone, ...] = ()


NO_MARKS = Marks()
Present = Mapping[int, tuple[Someone, ...]]  # ticket id -> the others who have it open


def with_present(marks: Mapping[int, Marks], present: Present) -> dict[int, Marks]:
    """The rows' marks with `present` filled in from who else has each ticket open (the app's
    `present`, kept by tui/presence.py); `present` given in `marks` is replaced."""
    merged = {ticket_id: replace(mark, present=()) if mark.present else mark for ticket_id, mark in marks.items()}
    for ticket_id, someone in present.items():
        merged[ticket_id] = replace(merged.get(ticket_id, NO_MARKS), present=someone)
    return merged


def present_text(present: Sequence[Someone]) -> Text:
    """Who else is on a ticket, "Sam replying, Alex viewing", those writing first: names as plain
    text (they come from the database)."""
    ordered = sorted(present, key=lambda someone: someone.activity == "viewing")
    text = Text()
    for index, someone in enumerate(ordered):
        if index:
            text.append(", ")
        text.append(f"{someone.name} {someone.activity}", style="bold" if someone.activity != "viewing" else "")
    return text
