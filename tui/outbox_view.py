"""View 8, Outbox: every message waiting to be sent or failed, with why, and keys to retry a
failed one or discard one that should not go out. What the rows, the preview and the ticket view
say about the outbox is built here too, as rich Text: nothing from the database is read as markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from frontdesk.storage.pending import Unsent
from frontdesk.storage.safe_text import display_line

from .ticket_table import DRAFT_MARKER, OUTBOX_MARKERS

KIND_WORDS = {"reply": "reply", "ack": "acknowledgement", "handoff": "hand-off notice", "slack": "Slack post"}
STATE_WIDTH = len("! sending")
STATE_STYLE = {"queued": "bold", "sending": "bold green", "failed": "bold reverse red"}


def clock_time(moment: datetime, now: datetime, tz) -> str:
    """HH:MM today; the day as well otherwise."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    return local.strftime("%H:%M") if local.date() == today.date() else local.strftime("%a %d %b %H:%M")


def what(entry: Unsent) -> str:
    """'reply to alice@acme.example'"""
    kind = KIND_WORDS.get(entry.kind, entry.kind)
    to = display_line(", ".join(entry.to)) if entry.to else ""
    return f"{kind} to {to}" if to else kind


def retry_words(entry: Unsent, now: datetime, tz) -> str:
    """When a failed message is tried again, or that it waits for the rep."""
    if entry.next_attempt_at is None:
        return "not retried on its own: R in the Outbox (8) retries it"
    if entry.next_attempt_at <= now:
        return "retried any moment now"
    return f"retried at {clock_time(entry.next_attempt_at, now, tz)}"


def attempts_words(entry: Unsent) -> str:
    if entry.attempts == 0:
        return "not tried yet"
    return f"{entry.attempts} attempt{'s' if entry.attempts != 1 else ''}"


def unsent_line(entry: Unsent, now: datetime, tz) -> Text:
    """One line for the preview and the ticket view, with the state's own word."""
    line = Text()
    line.append(OUTBOX_MARKERS[entry.status] + " ", style=STATE_STYLE[entry.status])
    line.append(what(entry) + " ")
    line.append(entry.status, style=STATE_STYLE[entry.status])
    if entry.status == "queued":
        line.append(f" {clock_time(entry.created_at, now, tz)} by {display_line(entry.actor)}")
        if entry.attempts:
            line.append(f", after {attempts_words(entry)}")
    elif entry.status == "sending":
        line.append(f" since {clock_time(entry.updated_at, now, tz)} (attempt {entry.attempts})")
    else:
        # When it is tried again before the error, which can be long: the preview cuts each line.
        line.append(f" after {attempts_words(entry)}, {retry_words(entry, now, tz)}: ")
        line.append(display_line(entry.error or "no reason recorded"), style="red")
    return line


def draft_line(saved_at: datetime, now: datetime, tz) -> Text:
    return Text().append(DRAFT_MARKER + " ", style="bold").append(f"draft saved {clock_time(saved_at, now, tz)}, not sent")


def pending_lines(
    entries: Sequence[Unsent], draft_at: datetime | None, now: datetime, tz, limit: int | None = None
) -> list[Text]:
    """A line per unsent message and one for a draft; with `limit`, the rest are counted."""
    lines = [unsent_line(entry, now, tz) for entry in entries]
    if draft_at is not None:
        lines.append(draft_line(draft_at, now, tz))
    if limit is not None and len(lines) > limit:
        more = len(lines) - (limit - 1)
        lines = lines[: limit - 1] + [Text(f"… {more} more: enter shows them", style="dim")]
    return lines


def outbox_entry(entry: Unsent, now: datetime, tz) -> Table:
    """An entry of the Outbox view: its state, then the ticket, what and to whom, the subject
    (one line), and why it waits (a failure's whole error, wrapped)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=STATE_WIDTH, no_wrap=True)
    grid.add_column(ratio=1)
    head = Text(f"#{entry.ticket_id}", style="bold").append(f" {what(entry)}")
    head.append(f" · {attempts_words(entry)}", style="dim")
    subject = Text(display_line(entry.subject) or "(no subject)", no_wrap=True, overflow="ellipsis")
    if entry.status == "failed":
        why = Text()
        why.append(display_line(entry.error or "no reason recorded"), style="red").append(f"; {retry_words(entry, now, tz)}")
    elif entry.status == "sending":
        why = Text(f"on its way since {clock_time(entry.updated_at, now, tz)}", style="dim")
    else:
        why = Text(f"queued {clock_time(entry.created_at, now, tz)} by {display_line(entry.actor)}", style="dim")
    state = Text(f"{OUTBOX_MARKERS[entry.status]} {entry.status}", style=STATE_STYLE[entry.status])
    grid.add_row(state, head)
    grid.add_row("", subject)
    grid.add_row("", why)
    return grid


class OutboxList(OptionList):
    """The Outbox view's list. Its keys act on the highlighted message."""

    BINDINGS = [
        Binding("R", "retry", "Retry"),
        Binding("d,delete", "discard", "Discard"),
        Binding("enter", "select", "Open", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("j", "cursor_down", "Down", show=False),
    ]

    class Retry(Message):
        def __init__(self, entry: Unsent) -> None:
            super().__init__()
            self.entry = entry

    class Discard(Message):
        def __init__(self, entry: Unsent) -> None:
            super().__init__()
            self.entry = entry

    class Opened(Message):
        def __init__(self, ticket_id: int) -> None:
            super().__init__()
            self.ticket_id = ticket_id

    class Highlighted(Message):
        def __init__(self, entry: Unsent | None) -> None:
            super().__init__()
            self.entry = entry

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.entries: dict[str, Unsent] = {}

    @property
    def entry(self) -> Unsent | None:
        if self.highlighted is None or not self.entries:
            return None
        return self.entries.get(self.get_option_at_index(self.highlighted).id or "")

    def show(self, entries: Sequence[Unsent], now: datetime, tz, empty_text: str) -> None:
        """Replace the list; the highlight stays on its message while that is still listed."""
        keep = self.entry
        self.entries = {str(entry.id): entry for entry in entries}
        options: list[Option | None] = []
        for entry in entries:
            if options:
                options.append(None)  # a rule between entries
            options.append(Option(outbox_entry(entry, now, tz), id=str(entry.id)))
        self.clear_options()
        if not options:
            self.add_option(Option(Text(empty_text, style="italic"), disabled=True))
            self.post_message(self.Highlighted(None))
            return
        self.add_options(options)
        index = self.get_option_index(str(keep.id)) if keep is not None and str(keep.id) in self.entries else 0
        self.highlighted = index
        self.post_message(self.Highlighted(self.entry))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.post_message(self.Highlighted(self.entry))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if (entry := self.entry) is not None:
            self.post_message(self.Opened(entry.ticket_id))

    def action_retry(self) -> None:
        if (entry := self.entry) is not None:
            self.post_message(self.Retry(entry))

    def action_discard(self) -> None:
        if (entry := self.entry) is not None:
            self.post_message(self.Discard(entry))
