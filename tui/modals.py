"""The dialogs the inbox, ticket and compose screens open: severity, confirm, internal note, owner
and snippet pickers.

Subjects, names, owners and snippets come from mail and from users' files, so every one of them is
shown as a Content object built from plain text (never a markup string), with terminal control
sequences removed first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from frontdesk.mail.safe_text import display_line, display_safe
from frontdesk.storage.owners import OwnerChoice, RankedOwner, TicketText, rank_owners
from frontdesk.storage.presence import Activity
from frontdesk.storage.sla import SEVERITIES, Policy, Severity, Targets
from frontdesk.storage.snippets import SnippetError
from frontdesk.storage.store import StoreError
from frontdesk.styles import sheet

from .background import Background
from .external_editor import EDIT_KEY, WritingArea, edit_suspended
from .fuzzy import fuzzy_fields_score

Result = TypeVar("Result")
DIALOGS = [sheet("modals")]  # the dialogs' and the compose screen's looks, parsed when the first one opens


def plain(text: str) -> Content:
    """One line of untrusted text, shown exactly as written."""
    return Content(display_line(text))


def plain_block(text: str) -> Content:
    """Untrusted text with its line breaks, shown exactly as written."""
    return Content(display_safe(text))


def key_hints(*keys: tuple[str, str]) -> Content:
    """'Enter insert   Esc cancel', keys in bold: readable without colour."""
    return Content("   ").join(Content.assemble((key, "bold"), " ", what) for key, what in keys)


def text_static(content: Content, classes: str = "", id: str | None = None) -> Static:
    return Static(content, markup=False, classes=classes, id=id)


# --- severity ------------------------------------------------------------------------------


def targets_text(targets: Targets) -> str:
    """'Answer within 24 hours; resolve within 72 hours. Clock time, weekends included.'"""
    response, resolution = targets.response, targets.resolution
    answer = f"Answer within {response.words}" if response else "No response target"
    resolve = f"resolve within {resolution.words}" if resolution else "it's resolved when the work is complete"
    clock_time = any(target and not target.is_business for target in (response, resolution))
    return f"{answer}; {resolve}." + (" Clock time, weekends included." if clock_time else "")


class SeverityChoice(Horizontal):
    """One severity with its meaning and the ticket's targets for it; clicking it chooses it, like its key."""

    def __init__(self, severity: Severity, targets: Targets | None, current: bool) -> None:
        super().__init__(classes="severity-choice -current" if current else "severity-choice")
        self.severity = severity
        self.targets = targets
        self.current = current

    def compose(self) -> ComposeResult:
        severity = self.severity
        yield text_static(Content(f" {severity.level} "), classes="severity-key")
        current = "  (current)" if self.current else ""
        title = Content.assemble((f"{severity.title}: {severity.summary}", "bold"), current)
        lines = [title, Content(severity.meaning)]
        if self.targets is not None:
            lines.append(Content(targets_text(self.targets)))
        meaning = Content("\n").join(lines)
        yield text_static(meaning, classes="severity-meaning")

    def on_click(self, event: Click) -> None:
        event.stop()
        self.screen.dismiss(self.severity.level)


class SeverityScreen(ModalScreen[int | None]):
    """Choose a ticket's severity with the definitions and the ticket's own targets on screen.
    Dismisses with the level chosen or None. `policy` None: tickets of several policies, each
    keeping its own targets."""

    CSS_PATH = DIALOGS
    BINDINGS = [
        *(Binding(str(severity.level), f"choose({severity.level})", severity.title) for severity in SEVERITIES),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, subject: str, current: int | None, policy: Policy | None, tickets: int = 1) -> None:
        super().__init__()
        self.tickets = tickets  # how many it sets: several marked ones share one choice
        self.subject = subject
        self.current = current
        self.policy = policy

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Severity"
            yield text_static(plain(self.subject), classes="dialog-subject")
            policy = self.policy
            for severity in SEVERITIES:
                targets = policy.targets_for(severity.level) if policy is not None else None
                yield SeverityChoice(severity, targets, severity.level == self.current)
            if policy is not None:
                whose = "the ticket's" if self.tickets == 1 else "the tickets'"
                yield text_static(plain(f"Targets of {whose} {policy.name} policy."), "muted")
            else:
                yield text_static(Content("The tickets have different policies: each keeps its own targets."), "muted")
            keys = [(str(severity.level), severity.title) for severity in SEVERITIES]
            yield text_static(key_hints(*keys, ("Esc", "cancel")), "keys")

    def action_choose(self, level: int) -> None:
        self.dismiss(level)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- confirm -------------------------------------------------------------------------------


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question. Dismisses with True or False.

    `body` as a str is shown as plain text; a Text or Content keeps its styles (build it from plain
    text: it is not parsed as markup either way)."""

    CSS_PATH = DIALOGS
    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("enter", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel", show=False),
    ]

    def __init__(self, title: str, body: str | Text | Content, confirm: str = "Yes") -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm = confirm

    def compose(self) -> ComposeResult:
        body = plain_block(self.body) if isinstance(self.body, str) else self.body
        with Vertical(classes="dialog confirm"):
            yield text_static(plain(self.title_text), classes="dialog-title")
            yield Static(body, markup=False, classes="confirm-body")
            with Horizontal(classes="buttons"):
                yield Button(Content(f"{display_line(self.confirm)} (y)"), variant="primary", id="confirm")
                yield Button(Content("Cancel (n)"), id="cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


# --- internal note -------------------------------------------------------------------------


class NoteScreen(ModalScreen[str | None]):
    """Write an internal note. Dismisses with the note (stripped) or None."""

    CSS_PATH = DIALOGS
    presence_activity: Activity = "noting"  # with a ticket_id only: a note for no ticket shows nothing
    BINDINGS = [
        Binding("ctrl+s", "save", "Save note"),
        Binding(EDIT_KEY, "external_editor", "Your editor"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, subject: str, ticket_id: int | None = None) -> None:
        super().__init__()
        self.subject = subject
        self.ticket_id = ticket_id  # published while the note is written: the others see "noting"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog note"):
            yield text_static(Content("Internal note"), classes="dialog-title")
            yield text_static(plain(self.subject), classes="dialog-subject")
            yield text_static(Content("Only your team sees notes: they are never sent to the customer."), "muted")
            yield WritingArea(id="note-text")
            yield text_static(Content(""), classes="problem", id="note-problem")
            yield text_static(key_hints(("Ctrl+S", "save"), ("Ctrl+E", "your editor"), ("Esc", "cancel")), "keys")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#note-problem", Static).update(Content("The note is empty: write something, or Esc to cancel."))
            self.app.bell()
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_external_editor(self) -> None:
        area = self.query_one(TextArea)
        name = "frontdesk-note" if self.ticket_id is None else f"frontdesk-note-{self.ticket_id}"
        edited = edit_suspended(self.app, area.text, name, ".txt")
        problem = self.query_one("#note-problem", Static)
        if edited.text is None:
            problem.update(plain(f"{edited.problem}: your note is as it was."))
            return
        area.replace(edited.text, (0, 0), area.document.end, maintain_selection_offset=False)
        problem.update(Content(""))


# --- pickers with a fuzzy filter -----------------------------------------------------------


class FilterPicker(ModalScreen[Result]):
    """A filter Input over an OptionList: typing filters, up/down move the list, Enter chooses."""

    CSS_PATH = DIALOGS
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("down", "move('cursor_down')", show=False),
        Binding("up", "move('cursor_up')", show=False),
        Binding("pagedown", "move('page_down')", show=False),
        Binding("pageup", "move('page_up')", show=False),
    ]
    FILTER_PLACEHOLDER = "Type to filter"

    def filter_input(self) -> Input:
        return Input(placeholder=self.FILTER_PLACEHOLDER, id="filter")

    def on_mount(self) -> None:
        self.show_options("")
        self.query_one("#filter", Input).focus()

    def options(self, query: str) -> list[Option]:
        raise NotImplementedError

    def choose(self, option_id: str) -> None:
        raise NotImplementedError

    def show_options(self, query: str) -> None:
        option_list = self.query_one(OptionList)
        option_list.set_options(self.options(query))
        option_list.highlighted = 0 if option_list.option_count else None

    def action_move(self, action: str) -> None:
        getattr(self.query_one(OptionList), f"action_{action}")()

    def action_back(self) -> None:
        self.dismiss(None)

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.show_options(event.value)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        option = self.query_one(OptionList).highlighted_option
        if option is not None and option.id is not None:
            self.choose(option.id)

    @on(OptionList.OptionSelected)
    def _option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id is not None:
            self.choose(event.option.id)


def no_match(query: str, what: str) -> Option:
    return Option(Content.assemble(f"No {what} matches ", (display_line(query), "bold")), disabled=True)


# --- owner picker --------------------------------------------------------------------------


def owners_shown(owners: Sequence[OwnerChoice], ticket: TicketText, query: str = "") -> list[RankedOwner]:
    """The suggested order (storage/owners.py rank_owners); a query filters fuzzily over name,
    team, email and areas and puts the best matches first."""
    ranked = rank_owners(owners, ticket)
    if not query.strip():
        return ranked
    scored = [(_owner_score(query, r.owner), r) for r in ranked]
    kept = [(score, r) for score, r in scored if score is not None]
    kept.sort(key=lambda pair: -pair[0])  # stable: equal scores keep the suggested order
    return [r for _, r in kept]


def _owner_score(query: str, owner: OwnerChoice) -> int | None:
    return fuzzy_fields_score(query, [owner.name, owner.team or "", owner.email, *owner.areas])


def owner_prompt(ranked: RankedOwner, current: bool) -> Content:
    """The owner and their load; under it their areas, those the ticket names first with where
    (why the owner ranks where they do), each area once so that the line fits 80 columns."""
    owner = ranked.owner
    first = Content.assemble(
        (display_line(owner.name), "bold"),
        f"  {display_line(owner.team)}" if owner.team else "",
        f"  {owner.open_tickets} open",
        ("  (current owner)" if current else "", "italic"),
    )
    named = {match.area for match in ranked.matched}
    others = ", ".join(display_line(area) for area in owner.areas if area.strip() not in named)
    if ranked.matched:
        second = Content.assemble("  ", (f"matches: {display_line(ranked.why)}", "bold"), f"   also: {others}" if others else "")
    else:
        second = Content.assemble("  ", others or "no areas listed")
    return Content("\n").join([first, second])


class OwnerPickerScreen(FilterPicker[tuple[str, str | None] | None]):
    """Hand a ticket to an owner, then add an optional note for them.

    Dismisses with (owner email, note or None), or None when backed out of.
    """

    FILTER_PLACEHOLDER = "Filter by name, team, email or area"

    def __init__(
        self, owners: Sequence[OwnerChoice], ticket: TicketText, current_owner: str | None, title: str = "Hand off"
    ) -> None:
        super().__init__()
        self.title_text = title  # "Hand off 10 tickets" for marked ones
        self.owners = {owner.email: owner for owner in owners}
        self.ticket = ticket
        self.current_owner = current_owner
        self.chosen: OwnerChoice | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker") as dialog:
            dialog.border_title = self.title_text
            with ContentSwitcher(initial="pick-owner"):
                with Vertical(id="pick-owner"):
                    yield self.filter_input()
                    yield OptionList(id="owners")
                    yield text_static(key_hints(("↑↓", "choose"), ("Enter", "hand off"), ("Esc", "cancel")), "keys")
                with Vertical(id="handoff-note"):
                    yield text_static(Content(""), classes="dialog-title", id="handoff-to")
                    yield text_static(
                        Content("A note for them (optional): what you've tried, what the customer is waiting for."),
                        "muted",
                    )
                    yield Input(placeholder="Optional note", id="note")
                    yield text_static(key_hints(("Enter", "hand off"), ("Esc", "back to the list")), "keys")

    def options(self, query: str) -> list[Option]:
        if not self.owners:
            return [Option(Content("No owners configured: add [[owners]] to the config file."), disabled=True)]
        ranked = owners_shown(list(self.owners.values()), self.ticket, query)
        if not ranked:
            return [no_match(query, "owner")]
        return [Option(owner_prompt(r, r.owner.email == self.current_owner), id=r.owner.email) for r in ranked]

    def choose(self, option_id: str) -> None:
        self.chosen = owner = self.owners[option_id]
        team = f" ({owner.team})" if owner.team else ""
        self.query_one("#handoff-to", Static).update(plain(f"Hand off to {owner.name}{team}"))
        self.query_one(ContentSwitcher).current = "handoff-note"
        self.query_one("#note", Input).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.chosen is None if action == "move" else True

    def action_back(self) -> None:
        if self.chosen is None:
            self.dismiss(None)
            return
        self.chosen = None
        self.query_one(ContentSwitcher).current = "pick-owner"
        self.query_one("#filter", Input).focus()

    @on(Input.Submitted, "#note")
    def _note_submitted(self, event: Input.Submitted) -> None:
        if self.chosen is not None:
            self.dismiss((self.chosen.email, event.value.strip() or None))


# --- snippet picker ------------------------------------------------------------------------


@dataclass(frozen=True)
class SnippetChoice:
    name: str
    title: str


class SnippetPickerScreen(Background, FilterPicker[str | None]):
    """Pick a snippet, seeing it filled in for this ticket. Dismisses with its name or None.

    `preview(name)` returns the filled text or raises StoreError/SnippetError saying why it can't
    be filled; it runs in a thread, since it may read the database.
    """

    FILTER_PLACEHOLDER = "Filter snippets"

    def __init__(self, snippets: Sequence[SnippetChoice], preview: Callable[[str], str]) -> None:
        super().__init__()
        self.snippets = list(snippets)
        self.preview = preview
        self.previews: dict[str, tuple[bool, str]] = {}  # name -> (fillable, text or reason)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker snippets") as dialog:
            dialog.border_title = "Insert a snippet"
            yield self.filter_input()
            with Horizontal(classes="snippet-panes"):
                yield OptionList(id="snippets")
                with VerticalScroll(id="snippet-preview-pane"):
                    yield text_static(Content(""), id="snippet-preview")
            yield text_static(key_hints(("↑↓", "choose"), ("Enter", "insert"), ("Esc", "cancel")), "keys")

    def options(self, query: str) -> list[Option]:
        scored = [(fuzzy_fields_score(query, [s.name, s.title]), s) for s in self.snippets]
        kept = sorted(((score, s) for score, s in scored if score is not None), key=lambda pair: -pair[0])
        if not kept:
            return [no_match(query, "snippet")]
        return [Option(_snippet_prompt(s), id=s.name) for _, s in kept]

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None:
            return
        if name in self.previews:
            self._show_preview(name)
        else:
            fill, show = partial(self._preview_or_why, name), partial(self._store_preview, name)
            self.in_background(fill, show, group="snippet-preview", exclusive=True)

    def _preview_or_why(self, name: str) -> tuple[bool, str]:
        """The filled text, or why this snippet can't be used on this ticket."""
        try:
            return True, self.preview(name)
        except (StoreError, SnippetError) as error:
            return False, str(error)

    def _store_preview(self, name: str, result: tuple[bool, str]) -> None:
        self.previews[name] = result
        self._show_preview(name)

    def _show_preview(self, name: str) -> None:
        highlighted = self.query_one(OptionList).highlighted_option
        if highlighted is None or highlighted.id != name:
            return  # the rep has moved on; this preview waits in the cache
        fillable, text = self.previews[name]
        preview = self.query_one("#snippet-preview", Static)
        preview.set_class(not fillable, "-error")
        preview.update(plain_block(text) if fillable else Content.assemble("Can't use this snippet here:\n", display_safe(text)))

    def choose(self, option_id: str) -> None:
        fillable, _ = self.previews.get(option_id, (True, ""))
        if not fillable:
            self.app.bell()  # the reason is on screen already
            return
        self.dismiss(option_id)


def _snippet_prompt(snippet: SnippetChoice) -> Content:
    return Content("\n").join([Content.styled(display_line(snippet.title), "bold"), plain(snippet.name)])
