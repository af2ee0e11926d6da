"""The dialogs and pickers, driven by keys in a small host app; hostile text must show literally."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from test_external_editor import editor_script
from textual.app import App
from textual.screen import Screen
from textual.widgets import OptionList, TextArea

import frontdesk.styles
from frontdesk.storage.owners import OwnerChoice, TicketText, matched_areas, rank_owners
from frontdesk.storage.sla import DEFAULT_POLICY, Duration, Policy, Targets
from frontdesk.storage.store import StoreError
from frontdesk.tui.modals import (
    ConfirmScreen,
    NoteScreen,
    OwnerPickerScreen,
    SeverityScreen,
    SnippetChoice,
    SnippetPickerScreen,
    owners_shown,
)

from conftest import settle

MODALS_CSS = Path(frontdesk.styles.__file__).parent / "modals.tcss"
# Markup that would restyle or crash, a terminal escape and a bidi override.
HOSTILE = "Re: [JIRA-123] bug [/foo] [bold red]loud\x1b[31m\u202eend"
HOSTILE_SHOWN = "Re: [JIRA-123] bug [/foo] [bold red]loudend"


class Host(App):
    """Opens one screen and records what it dismisses with."""

    CSS_PATH = MODALS_CSS

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.first = screen
        self.results: list[object] = []

    def on_mount(self) -> None:
        self.push_screen(self.first, self.results.append)


def screen_text(app: App) -> str:
    """What the terminal shows for the top screen, as plain text."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def drive(
    screen: Screen, *keys: str, then: Callable[[Host], object] | None = None, size: tuple[int, int] = (80, 24)
) -> tuple[list[object], str]:
    """Open the screen, press the keys; returns the results and the text on screen at the end."""
    app = Host(screen)

    async def run() -> str:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            for key in keys:
                await pilot.press(key)
                await settle(pilot)
            if then is not None:
                then(app)
            return screen_text(app)

    return app.results, asyncio.run(run())


# --- severity --------------------------------------------------------------------------------


def prose(text: str) -> str:
    """The screen's words as running text: borders, margins and line wraps dropped."""
    return re.sub(r"[│█\s]+", " ", text)


@pytest.mark.parametrize(("key", "result"), [("1", 1), ("2", 2), ("escape", None)])
def test_severity_keys(key, result):
    results, _ = drive(SeverityScreen("Search is down", None, DEFAULT_POLICY), key)
    assert results == [result]


def test_severity_shows_the_definitions_marks_the_current_one_and_the_subject_literally():
    results, text = drive(SeverityScreen(HOSTILE, 2, DEFAULT_POLICY))
    assert results == []
    assert HOSTILE_SHOWN in text and "\x1b" not in text and "\u202e" not in text
    assert "Answer within 24 hours; resolve within 72 hours. Clock time, weekends included." in prose(text)
    assert "Answer within 5 business days; it's resolved when the work is complete." in prose(text)
    assert "Targets of the ticket's standard policy." in text
    assert "Severity 2: everything else  (current)" in text
    assert "Severity 1: production is badly hurt  (current)" not in text


def test_severity_shows_the_targets_of_the_tickets_own_agreement():
    elite = Policy("elite", {1: Targets(Duration(2, "h"), Duration(24, "h")), 2: Targets(Duration(1, "bd"), None)})
    _, text = drive(SeverityScreen("Search is down", None, elite))
    assert "Answer within 2 hours; resolve within 24 hours." in prose(text)
    assert "Answer within 1 business day; it's resolved when the work is complete." in prose(text)
    assert "Targets of the ticket's elite policy." in text
    assert "72 hours" not in text and "5 business days" not in text


# --- confirm ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "result"), [("y", True), ("enter", True), ("n", False), ("escape", False)])
def test_confirm_keys(key, result):
    results, _ = drive(ConfirmScreen("Acknowledge?", "Queue the acknowledgement?"), key)
    assert results == [result]


def test_confirm_by_mouse():
    app = Host(ConfirmScreen("Acknowledge?", "Queue it?", confirm="Queue"))

    async def run() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.click("#cancel")
            await pilot.pause()

    asyncio.run(run())
    assert app.results == [False]


def test_confirm_shows_hostile_text_literally():
    _, text = drive(ConfirmScreen(HOSTILE, f"Acknowledge {HOSTILE}?", confirm="[b]Send[/b]"))
    assert text.count(HOSTILE_SHOWN) == 2 and "[b]Send[/b] (y)" in text


# --- note ------------------------------------------------------------------------------------


def test_an_empty_note_is_refused_on_screen():
    results, text = drive(NoteScreen(HOSTILE), "space", "ctrl+s")
    assert results == []
    assert "The note is empty" in text and "never sent to the customer" in text and HOSTILE_SHOWN in text


def test_a_note_is_saved_with_ctrl_s():
    results, _ = drive(NoteScreen("Search is down"), *" tried [b]helm[/b] rollback ", "ctrl+s")
    assert results == ["tried [b]helm[/b] rollback"]


def test_a_note_is_cancelled_with_escape():
    results, _ = drive(NoteScreen("Search is down"), *"half a thought", "escape")
    assert results == [None]


def test_a_note_written_in_the_editor_comes_back_and_is_saved_with_ctrl_s(suspendable, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", 'echo "rolled back helm" >> "$1"')))
    results, _ = drive(NoteScreen("Search is down"), *"tried", "ctrl+e", "ctrl+s")
    assert results == ["tried\nrolled back helm"]


def test_a_note_the_editor_left_empty_is_kept_as_it_was_and_says_why(suspendable, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", ': > "$1"')))
    kept: list[str] = []
    _, text = drive(NoteScreen("Search is down"), *"tried", "ctrl+e", then=lambda app: kept.append(app.screen.query_one(TextArea).text))
    assert "The editor left the file empty: your note is as it was." in prose(text)
    assert kept == ["tried"]


def test_where_the_terminal_cannot_be_handed_over_the_note_says_so_and_stays():
    results, text = drive(NoteScreen("Search is down"), *"tried", "ctrl+e")
    assert "This terminal can't be handed over to an editor (Textual can't suspend here): your note is as it was." in prose(text)
    assert results == []


# --- owner picker ----------------------------------------------------------------------------

BOB = OwnerChoice("Bob Example", "bob@example.com", "Distribution", ("kubernetes", "helm", "upgrades"), 3)
CAROL = OwnerChoice("Carol [/foo] Smith", "carol@example.com", None, ("billing",), 0)
DAN = OwnerChoice("Dan [bold red]Core", "dan@example.com", "Core", ("helm",), 5)
ERIN = OwnerChoice("Erin", "erin@example.com", "Core", ("helm", "upgrades"), 5)
OWNERS = (CAROL, DAN, BOB, ERIN)
TICKET = TicketText("Helm upgrade loops", "After the upgrades to 4.2 the helmet chart fails.")


def emails(ranked) -> list[str]:
    return [r.owner.email for r in ranked]


def test_areas_match_as_whole_words_in_any_case_singular_or_plural():
    found = matched_areas(("kubernetes", "helm", "upgrades", "chart", "search"), TicketText("HELM upgrade", "helmet charts"))
    assert [(m.area, m.in_subject, m.in_body) for m in found] == [
        ("helm", True, False), ("upgrades", True, False), ("chart", False, True),
    ]


def test_owners_whose_areas_match_come_first_then_the_least_loaded():
    ranked = rank_owners(OWNERS, TICKET)
    assert emails(ranked) == ["bob@example.com", "erin@example.com", "dan@example.com", "carol@example.com"]
    assert ranked[0].why == "upgrades, helm (subject)"


def test_an_area_in_the_subject_outranks_a_less_loaded_owner_matched_in_the_body():
    search = OwnerChoice("Sol Search", "sol@example.com", "Search", ("search", "indexing"), 6)
    gitlab = OwnerChoice("Gil Hosts", "gil@example.com", "Code hosts", ("gitlab", "github"), 0)
    ticket = TicketText(
        "Search results missing for repositories added this week",
        "We mirror from GitLab. New repositories don't show up in search; GitLab sync looks fine.",
    )
    ranked = rank_owners([gitlab, search], ticket)
    assert emails(ranked) == ["sol@example.com", "gil@example.com"]
    assert (ranked[0].why, ranked[1].why) == ("search (subject)", "gitlab (body)")


def test_more_areas_named_rank_higher_and_equal_matches_go_by_load():
    busy = OwnerChoice("Busy", "busy@example.com", None, ("helm",), 9)
    idle = OwnerChoice("Idle", "idle@example.com", None, ("helm",), 1)
    both = OwnerChoice("Both", "both@example.com", None, ("helm", "chart"), 9)
    assert emails(rank_owners([busy, idle, both], TICKET)) == ["both@example.com", "idle@example.com", "busy@example.com"]


def test_the_filter_is_fuzzy_over_name_team_email_and_areas():
    assert emails(owners_shown(OWNERS, TICKET, "bill")) == ["carol@example.com"]
    assert emails(owners_shown(OWNERS, TICKET, "core")) == ["erin@example.com", "dan@example.com"]
    assert emails(owners_shown(OWNERS, TICKET, "dstrb")) == ["bob@example.com"]
    assert emails(owners_shown(OWNERS, TICKET, "carol@")) == ["carol@example.com"]
    assert owners_shown(OWNERS, TICKET, "zzz") == []


def owner_picker(current: str | None = None) -> OwnerPickerScreen:
    return OwnerPickerScreen(OWNERS, TICKET, current)


def test_the_owner_list_shows_load_areas_and_matches_with_names_literal():
    _, text = drive(owner_picker(current="dan@example.com"))
    assert "Bob Example  Distribution  3 open" in text
    assert "  matches: upgrades, helm (subject)   also: kubernetes" in text
    assert "Dan [bold red]Core  Core  5 open  (current owner)" in text
    assert "Carol [/foo] Smith  0 open" in text
    assert text.index("Bob Example") < text.index("Erin") < text.index("Dan [bold red]") < text.index("Carol")


def test_enter_then_a_note_hands_off():
    results, _ = drive(owner_picker(), "enter", *"loops after 4.2", "enter")
    assert results == [("bob@example.com", "loops after 4.2")]


def test_the_note_is_optional():
    results, _ = drive(owner_picker(), "enter", "enter")
    assert results == [("bob@example.com", None)]


def test_typing_filters_and_arrows_move_while_typing():
    results, _ = drive(owner_picker(), *"core", "down", "enter", "enter")
    assert results == [("dan@example.com", None)]


def test_the_note_step_names_the_owner_and_escape_goes_back_then_out():
    def at_note_step(app: Host) -> None:
        assert app.screen.focused.id == "note"

    _, text = drive(owner_picker(), *"carol", "enter", then=at_note_step)
    assert "Hand off to Carol [/foo] Smith" in text
    results, text = drive(owner_picker(), "enter", "escape")
    assert results == [] and "matches: upgrades, helm (subject)" in text
    results, _ = drive(owner_picker(), "enter", "escape", "escape")
    assert results == [None]


def test_no_match_says_so_literally():
    results, text = drive(owner_picker(), *"[zz", "enter")
    assert results == [] and "No owner matches [zz" in text


def test_no_owners_configured():
    results, text = drive(OwnerPickerScreen([], TICKET, None), "enter")
    assert results == [] and "No owners configured: add [[owners]] to the config file." in text


# --- snippet picker --------------------------------------------------------------------------

SNIPPETS = (
    SnippetChoice("ack", "Acknowledge [JIRA-1]"),
    SnippetChoice("handoff", "Hand-off [/foo]"),
    SnippetChoice("logs", "Ask for diagnostics"),
)


def preview(name: str) -> str:
    if name == "handoff":
        raise StoreError("snippet 'handoff': the snippet needs owner_name, which this ticket does not have")
    return f"Hi Alice [b]{name}[/b],\n\nfilled for ticket #1"


def snippet_picker(snippets: Sequence[SnippetChoice] = SNIPPETS) -> SnippetPickerScreen:
    return SnippetPickerScreen(snippets, preview)


def test_the_preview_shows_the_filled_text_literally():
    results, text = drive(snippet_picker(), size=(100, 30))
    assert results == []
    assert "Hi Alice [b]ack[/b]," in text and "filled for ticket #1" in text
    assert "Acknowledge [JIRA-1]" in text and "Hand-off [/foo]" in text


def test_a_snippet_that_cannot_be_filled_shows_why_and_is_not_inserted():
    results, text = drive(snippet_picker(), "down", "enter", size=(100, 30))
    assert results == []
    assert "Can't use this snippet here:" in text and "needs owner_name" in text


def test_enter_returns_the_highlighted_snippet():
    results, _ = drive(snippet_picker(), "down", "down", "enter")
    assert results == ["logs"]


def test_the_filter_narrows_the_snippets():
    def only_logs(app: Host) -> None:
        assert app.screen.query_one(OptionList).option_count == 1

    results, _ = drive(snippet_picker(), *"diag", then=only_logs)
    results, _ = drive(snippet_picker(), *"diag", "enter")
    assert results == ["logs"]


def test_escape_cancels_the_snippet_picker():
    results, _ = drive(snippet_picker(), "escape")
    assert results == [None]


# --- snapshots -------------------------------------------------------------------------------


async def no_blink(pilot) -> None:
    """Snapshots must not depend on when the cursor blinked; workers must have reported."""
    await settle(pilot)
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False
    await pilot.pause()


def test_snapshot_severity_picker(snap_compare):
    assert snap_compare(Host(SeverityScreen(HOSTILE, 1, DEFAULT_POLICY)), terminal_size=(80, 24), run_before=no_blink)


def test_snapshot_owner_picker(snap_compare):
    assert snap_compare(Host(owner_picker(current="dan@example.com")), terminal_size=(80, 24), run_before=no_blink)
