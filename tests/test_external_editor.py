"""The editing step of ctrl+e (tui/external_editor.py), with real editors: shell scripts that change
the file, fail, or empty it; `true`, which changes nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from frontdesk.tui.external_editor import chosen_editor, edit_text

DRAFT = "Hi Alice,\n\nOn Wed, 25 Nov 2026 at 15:00, Alice Doe wrote:\n> Search is down."


def editor_script(folder: Path, name: str, body: str) -> Path:
    """An executable shell script, the editor: its last argument is the file it edits."""
    script = folder / name
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_the_editor_edits_a_private_mail_file_that_is_removed_and_its_text_comes_back(tmp_path, monkeypatch):
    log = tmp_path / "log"
    script = editor_script(
        tmp_path,
        "append",
        f'stat -c %a "$1" > {log}; echo "$1" >> {log}; echo "Best, Bob" >> "$1"',
    )
    monkeypatch.setenv("VISUAL", str(script))
    edited = edit_text(DRAFT, "frontdesk-reply-12", ".eml")
    assert edited.text == DRAFT + "\nBest, Bob" and edited.problem == ""
    mode, path = log.read_text().splitlines()
    assert mode == "600"
    assert Path(path).name.startswith("frontdesk-reply-12-") and path.endswith(".eml")
    assert stat.S_IMODE(Path(path).parent.stat().st_mode) == 0o700
    assert not Path(path).exists()


@pytest.mark.parametrize("text", [DRAFT, DRAFT + "\n", "\n\n" + DRAFT])
def test_an_editor_that_changes_nothing_gives_the_same_text_back(monkeypatch, text):
    monkeypatch.setenv("VISUAL", "true")
    assert edit_text(text, "frontdesk-reply-12", ".eml").text == text


def test_visual_comes_before_editor_and_may_carry_arguments_which_no_shell_reads(tmp_path, monkeypatch):
    args = tmp_path / "args"
    script = editor_script(tmp_path, "my editor", f'for a in "$@"; do echo "$a" >> "{args}"; done')
    monkeypatch.setenv("VISUAL", f"'{script}' --wait 'two words' $HOME;touch")
    monkeypatch.setenv("EDITOR", "false")
    assert edit_text(DRAFT, "frontdesk-reply-12", ".eml").text == DRAFT
    *given, edited_file = args.read_text().splitlines()
    assert given == ["--wait", "two words", "$HOME;touch"] and edited_file.endswith(".eml")


def test_editor_is_used_without_visual_and_vi_without_either():
    assert chosen_editor({"EDITOR": "nano -R"}) == ("$EDITOR", "nano -R")
    assert chosen_editor({"VISUAL": "  ", "EDITOR": "nano"}) == ("$EDITOR", "nano")
    assert chosen_editor({}) == ("the default", "vi")


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('echo "half written" >> "$1"; exit 1', "The editor exited with status 1"),
        (': > "$1"', "The editor left the file empty"),
        ('printf "\\n  \\n" > "$1"', "The editor left the file empty"),
        ('printf "\\377\\376" > "$1"', "The editor saved text that is not UTF-8"),
    ],
)
def test_a_failed_or_empty_edit_gives_no_text_and_says_why(tmp_path, monkeypatch, body, problem):
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", body)))
    edited = edit_text(DRAFT, "frontdesk-reply-12", ".eml")
    assert edited.text is None and edited.problem == problem
    assert not list(editing_folder().iterdir()), "the file is removed whatever happened"


def test_a_missing_editor_says_which_and_how_to_choose_another(monkeypatch):
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", "no-such-editor-anywhere --flag")
    edited = edit_text(DRAFT, "frontdesk-note-3", ".txt")
    assert edited.text is None
    assert edited.problem == "The editor no-such-editor-anywhere was not found; set $VISUAL or $EDITOR"
    assert not list(editing_folder().iterdir())


def test_an_editor_line_that_is_not_a_command_is_named(monkeypatch):
    monkeypatch.setenv("VISUAL", "vim 'unclosed")
    edited = edit_text(DRAFT, "frontdesk-note-3", ".txt")
    assert edited.text is None and edited.problem == "$VISUAL (vim 'unclosed) is not a command: No closing quotation"


def test_terminal_controls_written_in_the_editor_do_not_reach_the_screen(tmp_path, monkeypatch):
    script = editor_script(tmp_path, "editor", 'printf "Hi \\033[31mAlice\\033]8;;http://x\\a\\n" > "$1"')
    monkeypatch.setenv("VISUAL", str(script))
    assert edit_text(DRAFT, "frontdesk-reply-12", ".eml").text == "Hi Alice"


def editing_folder() -> Path:
    return Path(os.environ["XDG_STATE_HOME"]) / "frontdesk" / "editing"
