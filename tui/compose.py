"""Writing a reply: the rep's words above the customer's last message (quoted, as mail clients do),
snippets inserted at the cursor, and a draft that survives leaving, quitting and crashes.

Every database call is the screen's background work (tui/background.py), but for the draft written
as the screen closes, which must finish even as the app quits. Draft writes and the send share one
lock, so a late draft save can never bring back the draft that sending has just cleared.

The draft remembers what the rep saw when it began (a `Seen`, kept with the draft row) and which
customer message it quotes: the send is held when the ticket moved since (tui/held_screen.py shows
what changed), and a draft brought back under a newer customer message offers to quote that one.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo
from functools import partial

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
from frontdesk.storage.errors import DraftKeptHere, Held, Seen
from frontdesk.storage.models import Message
from frontdesk.storage.presence import Activity
from frontdesk.storage.snippets import Filled, placeholders
from frontdesk.storage.store import Store, StoreError, reply_subject

from .background import Background, failure_text
from .external_editor import EDIT_KEY, WritingArea, edit_suspended, without_keys
from .held_screen import DISCARD, SEND, DiscardDraftScreen, HeldScreen
from .modals import DIALOGS, SnippetChoice, SnippetPickerScreen, plain, text_static

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
    seen: Seen  # the ticket as the rep saw it when the reply began (a restored draft: when it began)
    quoted: int | None  # the customer message the text quotes
    newer: bool  # a restored draft quotes an older message than the customer's newest


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


def requote(text: str, latest: Message, zone: tzinfo) -> str:
    """The rep's words kept, the quoted part replaced by the customer's newest message."""
    return own_text(text).rstrip() + fresh_reply(latest, zone)


def _latest_from_customer(messages: Sequence[Message]) -> Message | None:
    incoming = [message for message in messages if message.direction == "in"]
    return incoming[-1] if incoming else None


def _written_after(messages: Sequence[Message], quoted: int | None) -> Message | None:
    """The customer's newest message stored after the quoted one (an out-of-office doesn't count)."""
    later = [m for m in messages if m.direction == "in" and m.auto is None and m.id > (quoted or 0)]
    return later[-1] if later else None


class ReplyEditor(WritingArea, inherit_bindings=False):
    """The reply's text area, its ctrl+d left to the screen (discard the draft): Delete still
    deletes to the right."""

    BINDINGS = without_keys(WritingArea.BINDINGS, "ctrl+d")


class ComposeScreen(Background, Screen[bool]):
    """Reply to one ticket. Dismisses with True once the reply is queued (`queued` says what that
    did, for undo), False when left."""

    CSS_PATH = DIALOGS  # its header and status share the dialogs' sheet
    presence_activity: Activity = "replying"
    BINDINGS = [
        Binding("ctrl+s", "send", "Send"),
        Binding("ctrl+t", "snippet", "Insert snippet"),
        Binding("ctrl+r", "refresh_quote", "Quote newest"),
        Binding("ctrl+d", "discard", "Discard"),
        Binding(EDIT_KEY, "external_editor", "Your editor", show=False),  # the footer has no room at 80 columns: in ? and the README
        Binding("escape", "leave", "Leave (draft kept)"),
    ]

    def __init__(self, store: Store, ticket_id: int, in_editor: bool = False) -> None:
        super().__init__()
        self.store = store
        self.ticket_id = ticket_id
        self._in_editor = in_editor  # R: straight into the rep's own editor once the draft is loaded
        self._ready = False  # the ticket and draft are loaded: edits are the rep's
        self._saved = ""  # the text last handed to a draft write
        self._dirty = False  # edits not yet handed to a draft write
        self._sending = False
        self._sent = False  # read by draft writes in threads, under _lock
        self.queued: usecases.Done | None = None
        self._lock = threading.Lock()
        self._save_timer: Timer | None = None
        self._snippet: str | None = None  # the last snippet inserted, for the ticket's history
        self._seen: Seen | None = None  # what the rep saw when the reply began: newer changes hold it
        self._quoted: int | None = None  # the customer message the text quotes
        self._newer = False  # the customer wrote after the quoted message: ctrl+r quotes the newest
        # Kept, not queried: the text is still needed while the screen is being taken down.
        self.editor = ReplyEditor(id="compose-body", read_only=True, soft_wrap=True)

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
        self.in_background(self._load, self._loaded, group="compose-load")

    # --- loading ---------------------------------------------------------------------------

    def _load(self) -> ReplyStart:
        # First: whatever happens after this moment holds the send, even what the quote below shows.
        now = usecases.seen_now(self.store, self.ticket_id)
        view = self.store.view(self.ticket_id)
        draft = self.store.saved_draft(self.ticket_id)
        to = f"{view.requester_name} <{view.requester}>" if view.requester_name else view.requester
        messages = self.store.messages(self.ticket_id)
        latest = _latest_from_customer(messages)
        latest_id = latest.id if latest else None
        subject = reply_subject(view.id, view.subject)
        if draft is None:
            text = fresh_reply(latest, self.store.config.calendar.timezone)
            return ReplyStart(to, subject, text, False, now, latest_id, False)
        if draft.seen is None:  # saved before drafts kept what their author saw: as of now
            return ReplyStart(to, subject, draft.body, True, now, latest_id, False)
        newer = _written_after(messages, draft.quoted) is not None
        return ReplyStart(to, subject, draft.body, True, draft.seen, draft.quoted, newer)

    def _loaded(self, start: ReplyStart) -> None:
        self.query_one("#compose-to", Static).update(plain(start.to))
        self.query_one("#compose-subject", Static).update(plain(start.subject))
        editor = self.editor
        editor.load_text(start.text)
        editor.move_cursor((0, 0))
        editor.read_only = False
        editor.focus()
        self._saved = start.text
        self._seen, self._quoted, self._newer = start.seen, start.quoted, start.newer
        self._ready = True
        self.refresh_bindings()
        if start.newer:
            self._status("Draft back; the customer wrote again since: ctrl+r quotes the new message.", problem=True)
        else:
            self._status("Your saved draft is back." if start.restored else "")
        if self._in_editor:
            self.call_after_refresh(self.action_external_editor)

    # --- drafts ----------------------------------------------------------------------------

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if not self._ready or self._sending or event.text_area.text == self._saved:
            return
        self._dirty = True
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self._save_draft)

    def _save_draft(self, quietly: bool = False) -> Worker[tuple[str | None, str] | None]:
        """Hand the current text to a draft write; the write reports on the status line (when
        `quietly`, only a problem: the line says something more useful)."""
        self._saved = self.editor.text
        self._dirty = False
        return self.in_background(self._write_draft, partial(self._draft_written, quietly), group="compose-draft")

    def _draft_written(self, quietly: bool, written: tuple[str | None, str]) -> None:
        problem, said = written
        if problem is not None or not quietly:
            self._status(said, problem is not None)

    def _write_draft(self) -> tuple[str | None, str]:
        """Write the last handed-over text (in a thread): (the reason it failed, what to say).
        Workers may run out of order: each writes the newest text, so the last write always wins."""
        with self._lock:
            if self._sent:
                return None, ""
            body = self._saved
            try:
                text = body if own_text(body).strip() else ""
                self.store.save_draft(self.ticket_id, text, self._seen, self._quoted)
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
        # Leaving by a key saves first; this catches the app quitting mid-sentence.
        self._stop_save_timer()
        if self._dirty and not self._sent:
            self._saved = self.editor.text
            self.must_finish(self._write_draft, name="frontdesk-draft")

    async def action_leave(self) -> None:
        if self._sending:
            return  # queuing or discarding: its outcome closes the screen, and says what happened
        self._stop_save_timer()
        if self._dirty:
            written = await self._save_draft().wait()
            if written is None or written[0] is not None:
                return  # stay: the reason is on the status line and the text is still here
        kept = self._ready and own_text(self.editor.text).strip()
        self.notify("Draft kept: reply to this ticket again to carry on." if kept else "Nothing written: no draft kept.", markup=False)
        self.dismiss(False)

    # --- the rep's own editor ------------------------------------------------------------------

    def action_external_editor(self) -> None:
        """The whole text, quote and snippets included, in $VISUAL or $EDITOR; back here to send."""
        if not self._ready or self._sending:
            return
        editor = self.editor
        edited = edit_suspended(self.app, editor.text, f"frontdesk-reply-{self.ticket_id}", ".eml")
        changed = edited.text is not None and edited.text != editor.text
        if changed:
            editor.replace(edited.text, (0, 0), editor.document.end, maintain_selection_offset=False)
            editor.move_cursor((0, 0))
        if changed or self._dirty:
            # Saved now, and quietly: a write still waiting for its timer would say "Draft saved."
            # over what the line says next, a problem with the editor included.
            self._stop_save_timer()
            self._save_draft(quietly=True)
        if edited.text is None:
            self._status(f"{edited.problem}: your draft is as it was.", problem=True)
        elif changed:
            self._status("Back from your editor: read it over, then ctrl+s sends the reply.")
        else:
            self._status("Back from your editor, nothing changed: ctrl+s sends the reply.")

    # --- snippets --------------------------------------------------------------------------

    def action_snippet(self) -> None:
        if self._ready and not self._sending:
            self.in_background(self._snippet_choices, self._pick_snippet, group="compose-snippets")

    def _snippet_choices(self) -> list[SnippetChoice]:
        return [SnippetChoice(snippet.name, snippet.title) for snippet in self.store.snippets()]

    def _pick_snippet(self, choices: list[SnippetChoice]) -> None:
        self.app.push_screen(SnippetPickerScreen(choices, self._render_snippet), self._snippet_picked)
        for problem in self.store.snippet_problems:  # why a file of the team's is not in the list
            self.app.say(f"Snippet skipped: {problem}", "warning")

    def _render_snippet(self, name: str) -> str:
        return self.store.render_snippet(self.ticket_id, name, editable=True)

    def _snippet_picked(self, name: str | None) -> None:
        if name is not None:
            filling = partial(self.store.snippet_for_editing, self.ticket_id, name)
            self.in_background(filling, partial(self._insert, name), group="compose-snippets")

    def _insert(self, name: str, filled: Filled) -> None:
        """At the cursor, replacing any selection; the cursor then goes where the rep types: the
        snippet's {cursor}, else the top of its body (not the end of the signature)."""
        editor = self.editor
        # Cleaned in two parts, so that the cursor's place survives what display_safe removes.
        before, after = display_safe(filled.text[: filled.cursor]), display_safe(filled.text[filled.cursor :])
        start = min(editor.selection)
        editor.replace(before + after, *editor.selection, maintain_selection_offset=False)
        lines = before.split("\n")
        column = (start[1] if len(lines) == 1 else 0) + len(lines[-1])
        editor.move_cursor((start[0] + len(lines) - 1, column))
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
        self.in_background(partial(self._queue, text), self._queued, group="compose-send")

    def _queue(self, body: str) -> usecases.Done | Held:
        """Queue the reply (in a thread); a Held comes back to be shown, nothing queued."""
        with self._lock:
            try:
                done = usecases.reply(self.store, self.ticket_id, body, self._snippet, seen=self._seen)
            except Held as held:
                return held
            self._sent = True
        return done

    def _queued(self, result: usecases.Done | Held) -> None:
        if not isinstance(result, Held):
            self.queued = result
            self.dismiss(True)
            return
        self._status("Not sent: the ticket changed since you began this reply.", problem=True)
        now, zone = self.store.clock.now(), self.store.config.calendar.timezone
        self.app.push_screen(HeldScreen(result, zone, now), partial(self._held_choice, result))

    def _held_choice(self, held: Held, choice: str | None) -> None:
        """Send anyway, back to editing, or discard. Either way the rep has now seen what changed:
        from here only something newer holds the reply again."""
        self._seen = held.current
        if choice == SEND:
            self._status("Queuing the reply…")
            self.in_background(partial(self._queue, self.editor.text), self._queued, group="compose-send")
            return
        self._sending = False
        self.editor.read_only = False
        self.editor.focus()
        self._newer = self._newer or any(change.what == "message" for change in held.changes)
        self.refresh_bindings()
        self._save_draft(quietly=True)  # with what the rep has seen now, so a draft brought back knows it
        if choice == DISCARD:
            self.action_discard()
            return
        if self._newer:
            self._status("Not sent: edit, then ctrl+s; ctrl+r quotes the customer's new message.")
        else:
            self._status("Not sent: edit, then ctrl+s to send it, or ctrl+d to discard it.")

    # --- discarding and the quote ------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refresh_quote":
            return self._newer  # in the footer only when the customer wrote after the quote
        return True

    def action_discard(self) -> None:
        if self._ready and not self._sending:
            self.app.push_screen(DiscardDraftScreen(self.ticket_id), self._discard_confirmed)

    def _discard_confirmed(self, yes: bool | None) -> None:
        if not yes:
            self.editor.focus()
            return
        self._stop_save_timer()
        self._sending = True
        self.editor.read_only = True
        self.in_background(self._discard, self._discarded, group="compose-send")

    def _discard(self) -> None:
        with self._lock:  # after any draft write in flight, and none after it
            self.store.discard_draft(self.ticket_id)
            self._sent = True

    def _discarded(self, _: None) -> None:
        self._dirty = False
        self.notify("Draft discarded: nothing was sent.", markup=False)
        self.dismiss(False)

    def action_refresh_quote(self) -> None:
        if self._ready and not self._sending and self._newer:
            self.in_background(self._latest_message, self._requote, group="compose-quote")

    def _latest_message(self) -> Message | None:
        messages = self.store.messages(self.ticket_id)
        return _written_after(messages, self._quoted) or _latest_from_customer(messages)

    def _requote(self, latest: Message | None) -> None:
        if latest is None or self._sending:
            return
        editor = self.editor
        text = requote(editor.text, latest, self.store.config.calendar.timezone)
        mine = text[: len(text) - len(fresh_reply(latest, self.store.config.calendar.timezone))]
        self._quoted, self._newer = latest.id, False
        editor.replace(text, (0, 0), editor.document.end, maintain_selection_offset=False)
        lines = mine.split("\n")
        editor.move_cursor((len(lines) - 1, len(lines[-1])))
        editor.focus()
        self.refresh_bindings()
        self._status("The customer's newest message is quoted now, below your words.")

    # --- plumbing --------------------------------------------------------------------------

    def background_failed(self, error: Exception) -> None:
        """A refused or failed store call: on the status line, and the reply can be edited again."""
        self._sending = False
        self.editor.read_only = not self._ready
        self._status(failure_text(error, self.store), problem=True)
        self.app.bell()

    def _status(self, message: str, problem: bool = False) -> None:
        status = self.query_one("#compose-status", Static)
        status.set_class(problem, "-problem")
        status.update(plain(message))
