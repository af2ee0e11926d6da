"""Writing a reply: the rep's words above the customer's last message (quoted, as mail clients do),
snippets inserted at the cursor, and a draft that survives leaving, quitting and crashes.

Every database call runs in a thread worker; results come back to the event loop with
call_from_thread. Draft writes and the send share one lock, so a late draft save can never bring
back the draft that sending has just cleared.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial
from typing import TypeVar

from peewee import PeeweeException
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static, TextArea
from textual.worker import Worker

from frontdesk.mail.safe_text import display_line, display_safe
from frontdesk.storage import usecases
from frontdesk.storage.errors import Conflict, DraftKeptHere
from frontdesk.storage.models import Message
from frontdesk.storage.snippets import placeholders
from frontdesk.storage.store import Store, StoreError, reply_subject

from .modals import SnippetChoice, SnippetPickerScreen, plain, text_static

T = TypeVar("T")

QUOTE = "> "
SAVE_DELAY = 0.5  # seconds of quiet before the draft is written: the most a crash can lose
_QUOTED_LINES = 400  # a reply quotes the gist, not a 40 MB log pasted into a mail


@dataclass(frozen=True)
class ReplyStart:
    """What the compose screen opens with, read in one go off the event loop."""

    to: str
    subject: str
    text: str
    restored: bool  # the text is the saved draft
    version: int  # the ticket as the rep saw it when the reply began


def attribution(message: Message, zone: tzinfo) -> str:
    when = (message.sent_at or message.received_at).astimezone(zone)
    who = display_line(message.from_name or message.from_email) or "the customer"
    return f"On {when:%a, %d %b %Y at %H:%M}, {who} wrote:"


def quoted(body: str) -> str:
    lines = display_safe(body).strip().split("\n")
    shown = [QUOTE + line if line else QUOTE.rstrip() for line in lines[:_QUOTED_LINES]]
    if len(lines) > _QUOTED_LINES:
        shown.append(f"{QUOTE}… ({len(lines) - _QUOTED_LINES} more lines)")
    return "\n".join(shown)


def fresh_reply(latest: Message | None, zone: tzinfo) -> str:
    """An empty first line for the greeting, then the customer's last message quoted."""
    if latest is None:
        return ""
    return f"\n\n{attribution(latest, zone)}\n{quoted(latest.body_text)}"


def own_text(text: str) -> str:
    """The rep's words: the text without quoted lines and the 'On …, … wrote:' lines above them."""
    lines = text.split("\n")
    kept = [
        line
        for index, line in enumerate(lines)
        if not line.startswith(">")
        and not (line.rstrip().endswith("wrote:") and index + 1 < len(lines) and lines[index + 1].startswith(">"))
    ]
    return "\n".join(kept)


def send_problem(text: str) -> str | None:
    """Why this text must not be sent yet, or None. Quoted lines are the customer's and never block."""
    mine = own_text(text)
    if not mine.strip():
        return "Nothing to send yet: write your reply above the quoted message."
    left = placeholders(mine)
    if left:
        return f"Replace {', '.join(left)} before sending: a customer must never see a placeholder."
    return None


def _latest_from_customer(messages: Sequence[Message]) -> Message | None:
    incoming = [message for message in messages if message.direction == "in"]
    return incoming[-1] if incoming else None


class ComposeScreen(Screen[bool]):
    """Reply to one ticket. Dismisses with True once the reply is queued, False when left."""

    BINDINGS = [
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+t", "snippet", "Insert snippet"),
        Binding("escape", "leave", "Leave (draft kept)"),
    ]

    def __init__(self, store: Store, ticket_id: int) -> None:
        super().__init__()
        self.store = store
        self.ticket_id = ticket_id
        self._ready = False  # the ticket and draft are loaded: edits are the rep's
        self._saved = ""  # the text last handed to a draft write
        self._dirty = False  # edits not yet handed to a draft write
        self._sending = False
        self._sent = False  # read by draft writes in threads, under _lock
        self._lock = threading.Lock()
        self._save_timer: Timer | None = None
        self._snippet: str | None = None  # the last snippet inserted, for the ticket's history
        self._version: int | None = None  # the ticket's version the reply answers
        self._gone = False  # unmounted: results arriving from threads are dropped
        # Kept, not queried: the text is still needed while the screen is being taken down.
        self.editor = TextArea(id="compose-body", read_only=True, soft_wrap=True)

    def compose(self) -> ComposeResult:
        with Vertical(id="compose-header"):
            yield text_static(Content.assemble(("Reply", "bold"), f" · ticket #{self.ticket_id}"))
            yield self._header_row("To", "compose-to")
            yield self._header_row("Subject", "compose-subject")
        yield self.editor
        yield text_static(Content("Loading the ticket…"), id="compose-status")
        yield Footer()

    @staticmethod
    def _header_row(label: str, id: str) -> Horizontal:
        return Horizontal(text_static(Content(label), classes="field"), text_static(Content(""), id=id))

    def on_mount(self) -> None:
        self._in_thread(self._load, self._loaded, group="compose-load")

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> ReplyStart:
        view = self.store.view(self.ticket_id)
        draft = self.store.draft(self.ticket_id)
        to = f"{view.requester_name} <{view.requester}>" if view.requester_name else view.requester
        if draft is not None:
            text = draft
        else:
            latest = _latest_from_customer(self.store.messages(self.ticket_id))
            text = fresh_reply(latest, self.store.config.calendar.timezone)
        return ReplyStart(to, reply_subject(view.id, view.subject), text, draft is not None, view.version)

    def _loaded(self, start: ReplyStart) -> None:
        self.query_one("#compose-to", Static).update(plain(start.to))
        self.query_one("#compose-subject", Static).update(plain(start.subject))
        editor = self.editor
        editor.load_text(start.text)
        editor.move_cursor((0, 0))
        editor.read_only = False
        editor.focus()
        self._saved = start.text
        self._version = start.version
        self._ready = True
        self._status("Your saved draft is back." if start.restored else "")

    # --- drafts ----------------------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self._ready or self._sending or event.text_area.text == self._saved:
            return
        self._dirty = True
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self._save_draft)

    def _save_draft(self) -> Worker[str | None]:
        """Hand the current text to a draft write; the write reports on the status line."""
        self._saved = self.editor.text
        self._dirty = False
        return self.run_worker(self._write_and_report, thread=True, group="compose-draft")

    def _write_and_report(self) -> str | None:
        problem, said = self._write_draft()
        self.app.call_from_thread(self._while_here, self._status, said, problem is not None)
        return problem

    def _write_draft(self) -> tuple[str | None, str]:
        """Write the last handed-over text (in a thread): (the reason it failed, what to say).
        Workers may run out of order: each writes the newest text, so the last write always wins."""
        with self._lock:
            if self._sent:
                return None, ""
            body = self._saved
            try:
                self.store.save_draft(self.ticket_id, body if own_text(body).strip() else "")
            except DraftKeptHere as kept:  # nothing is lost: leaving is fine
                return None, f"Draft kept: {kept}."
            except (StoreError, PeeweeException) as error:
                problem = f"Could not save the draft: {error}"
                return problem, problem
        return None, "Draft saved."

    def _stop_save_timer(self) -> None:
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None

    def on_unmount(self) -> None:
        # Leaving by a key saves first; this catches the app quitting mid-sentence. A plain thread,
        # not a worker: workers are cancelled with the screen, and this must not touch the UI.
        self._gone = True
        self._stop_save_timer()
        if self._dirty and not self._sent:
            self._saved = self.editor.text
            threading.Thread(target=self._write_draft, name="frontdesk-draft").start()

    async def action_leave(self) -> None:
        self._stop_save_timer()
        if self._dirty:
            problem = await self._save_draft().wait()
            if problem:
                return  # stay: the reason is on the status line and the text is still here
        kept = self._ready and own_text(self.editor.text).strip()
        self.notify("Draft kept: reply to this ticket again to carry on." if kept else "Nothing written: no draft kept.", markup=False)
        self.dismiss(False)

    # --- snippets --------------------------------------------------------------------------

    def action_snippet(self) -> None:
        if self._ready and not self._sending:
            self._in_thread(self._snippet_choices, self._pick_snippet, group="compose-snippets")

    def _snippet_choices(self) -> list[SnippetChoice]:
        return [SnippetChoice(snippet.name, snippet.title) for snippet in self.store.snippets()]

    def _pick_snippet(self, choices: list[SnippetChoice]) -> None:
        self.app.push_screen(SnippetPickerScreen(choices, self._render_snippet), self._snippet_picked)

    def _render_snippet(self, name: str) -> str:
        return self.store.render_snippet(self.ticket_id, name, editable=True)

    def _snippet_picked(self, name: str | None) -> None:
        if name is not None:
            self._in_thread(partial(self._render_snippet, name), partial(self._insert, name), group="compose-snippets")

    def _insert(self, name: str, text: str) -> None:
        """At the cursor, replacing any selection; the cursor ends after the inserted text."""
        editor = self.editor
        editor.replace(display_safe(text), *editor.selection, maintain_selection_offset=False)
        editor.focus()
        self._snippet = name

    # --- sending ---------------------------------------------------------------------------

    def action_send(self) -> None:
        if not self._ready or self._sending:
            return
        text = self.editor.text
        problem = send_problem(text)
        if problem:
            self._status(problem, problem=True)
            self.app.bell()
            return
        self._stop_save_timer()
        self._sending = True
        self.editor.read_only = True
        self._status("Queuing the reply…")
        self._in_thread(partial(self._queue, text), lambda _: self.dismiss(True), group="compose-send")

    def _queue(self, body: str) -> None:
        with self._lock:
            try:
                usecases.reply(self.store, self.ticket_id, body, self._snippet, self._version)
            except Conflict as conflict:
                self._version = conflict.version  # the rep has been told: sending again sends
                raise StoreError(f"{conflict}. Press ctrl+s again to send it anyway.") from None
            self._sent = True

    # --- plumbing --------------------------------------------------------------------------

    def _in_thread(self, work: Callable[[], T], done: Callable[[T], None], group: str) -> None:
        """Run a store call in a thread; its result goes to `done`, a refusal to the status line."""

        def run() -> None:
            try:
                result = work()
            except (StoreError, PeeweeException) as error:
                self.app.call_from_thread(self._while_here, self._failed, str(error))
                return
            self.app.call_from_thread(self._while_here, done, result)

        self.run_worker(run, thread=True, group=group)

    def _while_here(self, callback: Callable[..., object], *args: object) -> None:
        if not self._gone:
            callback(*args)

    def _failed(self, reason: str) -> None:
        self._sending = False
        self.editor.read_only = not self._ready
        self._status(reason, problem=True)
        self.app.bell()

    def _status(self, message: str, problem: bool = False) -> None:
        status = self.query_one("#compose-status", Static)
        status.set_class(problem, "-problem")
        status.update(plain(message))
