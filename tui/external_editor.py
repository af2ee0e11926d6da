"""ctrl+e in the reply and note composers: the text in the rep's own editor ($VISUAL, else $EDITOR,
else vi), as mutt and git do. The app hands the terminal over (App.suspend) and takes the text back
into the composer; nothing is sent from here.

The editor gets a private file (0600) in frontdesk's state folder, named so that editors pick a
mail filetype, and removed afterwards: it holds the customer's quoted words."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs
from textual.app import App, SuspendNotSupported
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.widgets import TextArea

from frontdesk.storage.files import make_folder
from frontdesk.storage.safe_text import display_safe

EDIT_KEY = "ctrl+e"
DEFAULT_EDITOR = "vi"


@dataclass(frozen=True)
class Edited:
    """What came back from the editor: the new text, or None and why the old one stays."""

    text: str | None
    problem: str = ""


def chosen_editor(environ: Mapping[str, str] = os.environ) -> tuple[str, str]:
    """(where it was set, the command line): $VISUAL, else $EDITOR, else vi."""
    for variable in ("VISUAL", "EDITOR"):
        if environ.get(variable, "").strip():
            return f"${variable}", environ[variable]
    return "the default", DEFAULT_EDITOR


def edit_text(text: str, name: str, suffix: str, environ: Mapping[str, str] = os.environ) -> Edited:
    """Write `text` to a private file `name`-….`suffix`, run the editor on it and wait, read it back
    (one trailing newline dropped: the one the file ends with). Never raises: it runs while the app
    is suspended, and an exception there would leave the terminal out of application mode."""
    where, line = chosen_editor(environ)
    try:
        command = shlex.split(line)  # "code --wait" is a program and its arguments, never a shell line
    except ValueError as error:
        return Edited(None, f"{where} ({line}) is not a command: {error}")
    try:
        handle, file_name = tempfile.mkstemp(prefix=f"{name}-", suffix=suffix, dir=make_folder(_folder()))
    except OSError as error:
        return Edited(None, f"No file for the editor: {error}")
    path = Path(file_name)
    try:
        with open(handle, "w", encoding="utf-8") as file:
            file.write(text + "\n")
        problem = _run(command, path)
        if problem:
            return Edited(None, problem)
        edited = path.read_text(encoding="utf-8").removesuffix("\n")
    except UnicodeDecodeError:
        return Edited(None, "The editor saved text that is not UTF-8")
    except OSError as error:
        return Edited(None, f"The editor's file could not be used: {error}")
    finally:
        path.unlink(missing_ok=True)
    if not edited.strip():
        return Edited(None, "The editor left the file empty")
    return Edited(display_safe(edited))


def _folder() -> Path:
    return platformdirs.user_state_path("frontdesk") / "editing"


def _run(command: list[str], path: Path) -> str:
    """Run the editor on the file until it exits: "" when it went well, else why not."""
    program = command[0] if command else ""
    try:
        finished = subprocess.run([*command, str(path)], check=False)
    except FileNotFoundError:
        return f"The editor {program} was not found; set $VISUAL or $EDITOR"
    except OSError as error:
        return f"The editor {program} could not be started ({error.strerror}); set $VISUAL or $EDITOR"
    if finished.returncode != 0:
        return f"The editor exited with status {finished.returncode}"
    return ""


def edit_suspended(app: App, text: str, name: str, suffix: str) -> Edited:
    """The terminal is the editor's until it exits. The event loop waits meanwhile, as App.suspend
    is meant to be used: nothing of the app may paint over the editor."""
    try:
        with app.suspend():
            return edit_text(text, name, suffix)
    except SuspendNotSupported:
        return Edited(None, "This terminal can't be handed over to an editor (Textual can't suspend here)")


def without_keys(bindings: Iterable[Binding], *keys: str) -> list[Binding]:
    """The bindings with `keys` taken out, left to the screen around the widget."""
    kept = []
    for binding in bindings:
        rest = [key for key in binding.key.split(",") if key not in keys]
        if rest:
            kept.append(replace(binding, key=",".join(rest)))
    return kept


class WritingArea(TextArea, inherit_bindings=False):
    """A text area whose ctrl+e (end of line; End still does that) opens the rep's own editor."""

    BINDINGS = [
        *(b for b in ScrollableContainer.BINDINGS if b.key in ("ctrl+pageup", "ctrl+pagedown")),
        *without_keys(TextArea.BINDINGS, EDIT_KEY),
    ]
