"""The dialogs the inbox, ticket and compose screens open: severity, confirm, internal note, owner
and snippet pickers.

Subjects, names, owners and snippets come from mail and from users' files, so every one of them is
shown as a Content object built from plain text (never a markup string), with terminal control
sequences removed first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.events import Click
from textual.screen import ModalScreen
from textual.widgets import Button, ContentSwitcher, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from frontdesk.mail.safe_text import display_line, display_safe
from frontdesk.storage.snippets import SnippetError
from frontdesk.storage.store import StoreError

from .fuzzy import fuzzy_fields_score

Result = TypeVar("Result")


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


@dataclass(frozen=True)
class SeverityLevel:
    level: int
    title: str
    meaning: str
    targets: str


# The handbook's definitions and default targets, written for someone on their first rotation.
SEVERITY_LEVELS = (
    SeverityLevel(
        1,
        "Severity 1: production is badly hurt",
        "The customer can't use the product properly in production, and it is costing their business.",
        "Answer within 24 hours; resolve within 72 hours. Clock time, weekends included.",
    ),
    SeverityLevel(
        2,
        "Severity 2: everything else",
        "Something non-critical works only in part, or it's a how-to question or a feature request.",
        "Answer within 5 business days; it's resolved when the work is complete.",
    ),
)


class SeverityChoice(Horizontal):
    """One severity with its meaning; clicking it chooses it, like its key."""

    def __init__(self, level: SeverityLevel, current: bool) -> None:
        super().__init__(classes="severity-choice -current" if current else "severity-choice")
        self.level = level
        self.current = current

    def compose(self) -> ComposeResult:
        level = self.level
        yield text_static(Content(f" {level.level} "), classes="severity-key")
        title = Content.assemble((level.title, "bold"), ("  (current)" if self.current else ""))
        meaning = Content("\n").join([title, Content(level.meaning), Content(level.targets)])
        yield text_static(meaning, classes="severity-meaning")

    def on_click(self, event: Click) -> None:
        event.stop()
        self.screen.dismiss(self.level.level)


class SeverityScreen(ModalScreen[int | None]):
    """Choose a ticket's severity with the definitions on screen. Dismisses with 1, 2 or None."""

    BINDINGS = [
        Binding("1", "choose(1)", "Severity 1"),
        Binding("2", "choose(2)", "Severity 2"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, subject: str, current: int | None) -> None:
        super().__init__()
        self.subject = subject
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as dialog:
            dialog.border_title = "Severity"
            yield text_static(plain(self.subject), classes="dialog-subject")
            for level in SEVERITY_LEVELS:
                yield SeverityChoice(level, level.level == self.current)
            yield text_static(Content("Standard targets; a customer with its own agreement may have others."), "muted")
            yield text_static(key_hints(("1", "Severity 1"), ("2", "Severity 2"), ("Esc", "cancel")), "keys")

    def action_choose(self, level: int) -> None:
        self.dismiss(level)

    def action_cancel(self) -> None:
        self.dismiss(None)


# --- confirm -------------------------------------------------------------------------------


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question. Dismisses with True or False.

    `body` as a str is shown as plain text; a Text or Content keeps its styles (build it from plain
    text: it is not parsed as markup either way)."""

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

    BINDINGS = [
        Binding("ctrl+s", "save", "Save note"),
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
            yield TextArea(id="note-text")
            yield text_static(Content(""), classes="problem", id="note-problem")
            yield text_static(key_hints(("Ctrl+S", "save"), ("Esc", "cancel")), "keys")

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


# --- pickers with a fuzzy filter -----------------------------------------------------------


class FilterPicker(ModalScreen[Result]):
    """A filter Input over an OptionList: typing filters, up/down move the list, Enter chooses."""

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


@dataclass(frozen=True)
class OwnerChoice:
    name: str
    email: str
    team: str | None
    areas: tuple[str, ...]
    open_tickets: int


@dataclass(frozen=True)
class RankedOwner:
    owner: OwnerChoice
    matched: tuple[str, ...]  # the owner's areas that the ticket mentions


def matched_areas(areas: Sequence[str], ticket_text: str) -> tuple[str, ...]:
    """Areas named in the ticket as whole words: 'helm' in 'Helm upgrade', not in 'helmet'."""
    return tuple(
        area for area in areas if area.strip() and re.search(rf"(?<!\w){re.escape(area.strip())}(?!\w)", ticket_text, re.I)
    )


def rank_owners(owners: Sequence[OwnerChoice], ticket_text: str, query: str = "") -> list[RankedOwner]:
    """Owners whose areas the ticket mentions first, then the least loaded; a query filters
    fuzzily over name, team, email and areas and puts the best matches first."""
    ranked = [RankedOwner(owner, matched_areas(owner.areas, ticket_text)) for owner in owners]
    ranked.sort(key=lambda r: (not r.matched, r.owner.open_tickets, -len(r.matched), r.owner.name.casefold()))
    if not query.strip():
        return ranked
    scored = [(_owner_score(query, r.owner), r) for r in ranked]
    kept = [(score, r) for score, r in scored if score is not None]
    kept.sort(key=lambda pair: -pair[0])  # stable: equal scores keep the suggested order
    return [r for _, r in kept]


def _owner_score(query: str, owner: OwnerChoice) -> int | None:
    return fuzzy_fields_score(query, [owner.name, owner.team or "", owner.email, *owner.areas])


def owner_prompt(ranked: RankedOwner, current: bool) -> Content:
    owner = ranked.owner
    first = Content.assemble(
        (display_line(owner.name), "bold"),
        f"  {display_line(owner.team)}" if owner.team else "",
        f"  {owner.open_tickets} open",
        ("  (current owner)" if current else "", "italic"),
    )
    areas = ", ".join(display_line(area) for area in owner.areas) or "no areas listed"
    second = Content.assemble("  ", areas)
    if ranked.matched:
        matched = ", ".join(display_line(area) for area in ranked.matched)
        second = Content.assemble(second, "   ", (f"matches: {matched}", "bold"))
    return Content("\n").join([first, second])


class OwnerPickerScreen(FilterPicker[tuple[str, str | None] | None]):
    """Hand a ticket to an owner, then add an optional note for them.

    Dismisses with (owner email, note or None), or None when backed out of.
    """

    FILTER_PLACEHOLDER = "Filter by name, team, email or area"

    def __init__(self, owners: Sequence[OwnerChoice], ticket_text: str, current_owner: str | None) -> None:
        super().__init__()
        self.owners = {owner.email: owner for owner in owners}
        self.ticket_text = ticket_text
        self.current_owner = current_owner
        self.chosen: OwnerChoice | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker") as dialog:
            dialog.border_title = "Hand off"
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
        ranked = rank_owners(list(self.owners.values()), self.ticket_text, query)
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


class SnippetPickerScreen(FilterPicker[str | None]):
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
            self._render_preview(name)

    @work(thread=True, exclusive=True, group="snippet-preview")
    def _render_preview(self, name: str) -> None:
        try:
            result = (True, self.preview(name))
        except (StoreError, SnippetError) as error:
            result = (False, str(error))
        self.app.call_from_thread(self._store_preview, name, result)

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
