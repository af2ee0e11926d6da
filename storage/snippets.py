"""Reply snippets: built-in ones seeded on first open, the team's own from a folder of Markdown
files, and the placeholder filling that refuses to send a placeholder to a customer literally."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

BUILT_IN_SNIPPETS: dict[str, tuple[str, str]] = {
    "ack": (
        "Acknowledge: received, looking into it",
        "Hi {first_name},\n\n"
        "Thanks for getting in touch. Your request is logged as ticket #{ticket_id} and I'm looking into it now. "
        "I'll come back to you as soon as I know more.\n\n"
        "Best,\n{rep_name}",
    ),
    "call": (
        "Offer a call",
        "Hi {first_name},\n\n"
        "This might be quicker to sort out together. Would a short call help? Send me two or three times "
        "that suit you, with your time zone, and I'll set it up.\n\n"
        "Best,\n{rep_name}",
    ),
    "docs": (
        "Link to the documentation",
        "Hi {first_name},\n\n"
        "This is covered in our documentation, which walks through it step by step:\n\n"
        "{link}\n\n"
        "If what you see doesn't match the page, reply here and we'll pick it up from there.\n\n"
        "Best,\n{rep_name}",
    ),
    "handoff": (
        "Hand-off: introduce the support owner",
        "Hi {first_name},\n\n"
        "Thanks for the details. I've brought in {owner_name} ({owner_team}), who will see this through "
        "and follow up with you directly.\n\n"
        "Best,\n{rep_name}",
    ),
    "logs": (
        "Ask for diagnostics",
        "Hi {first_name},\n\n"
        "So we can get to the bottom of this quickly, could you send us:\n\n"
        "- the version you are running, and whether it is self-hosted or managed\n"
        "- the exact error message or a screenshot\n"
        "- logs from around the time it happened\n\n"
        "Thanks,\n{rep_name}",
    ),
    "resolved": (
        "Resolved: confirm and close",
        "Hi {first_name},\n\n"
        "Glad that's working again. I'm marking ticket #{ticket_id} as resolved; just reply to this email "
        "if anything comes back and it will reopen.\n\n"
        "Best,\n{rep_name}",
    ),
}

# Placeholders only the rep can fill (which page to link): fill() leaves them for the reply screen,
# which refuses to send until they are replaced, and refuses them where nobody can edit (the CLI).
HAND_FILLED = frozenset({"link"})

# What a reader takes for a placeholder: any case, spaces inside the braces, dotted or indexed
# ({First_Name}, { ticket_id }, {ticket_id.__class__}, {x[0]}). Only an exact lower-case {name}
# is ever filled, by plain substitution: nothing is looked up or evaluated. Other braces, such as
# JSON or {} in code, are ordinary text.
_LOOKS_LIKE_PLACEHOLDER = re.compile(r"\{\s*[A-Za-z_][A-Za-z0-9_.\[\]]*\s*\}")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")

_MAX_SNIPPET_BYTES = 256 * 1024  # a snippet is a short reply; a bigger file is a mistake

# Where the reply screen leaves the rep's cursor after inserting the snippet; removed from the text.
CURSOR = "{cursor}"


class SnippetError(ValueError):
    pass


class UserSnippet(NamedTuple):
    name: str
    title: str
    body: str


class Filled(NamedTuple):
    """A snippet filled for the reply screen: its text, and where in it the rep's cursor goes."""

    text: str
    cursor: int


def placeholders(text: str) -> list[str]:
    """Every placeholder-like `{...}` in the text, as written, once each, in order."""
    return list(dict.fromkeys(match.group() for match in _LOOKS_LIKE_PLACEHOLDER.finditer(text)))


def fill(body: str, values: Mapping[str, str | None], editable: bool = False) -> str:
    """Fill every placeholder or refuse: a customer must never see '{first_name}'.

    `editable`: the text goes into an editor that blocks sending while a placeholder remains, so
    the HAND_FILLED ones stay for the rep to write.
    """
    body = body.replace(CURSOR, "")
    found = placeholders(body)
    names = {token: _name(token) for token in found}
    unknown = [token for token, name in names.items() if name not in values and name not in HAND_FILLED]
    if unknown:
        known = ", ".join(sorted([*values, *HAND_FILLED]))
        raise SnippetError(f"the snippet has {', '.join(unknown)}, which frontdesk does not fill (known: {known})")
    missing = sorted({name for name in names.values() if name in values and not values[name]})
    if missing:
        raise SnippetError("the snippet needs " + ", ".join(missing) + ", which this ticket does not have")
    by_hand = [token for token, name in names.items() if name in HAND_FILLED and name not in values]
    if by_hand and not editable:
        raise SnippetError(f"the snippet needs {', '.join(by_hand)} written by hand: use it from the reply screen")
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1)) or match.group(), body)


def fill_for_editing(body: str, values: Mapping[str, str | None]) -> Filled:
    """fill(editable=True), with where the rep types next: at the snippet's {cursor}, else at the
    top of its body. The place is found in the snippet as written, so that a value (a customer's
    name) can never move it."""
    text = fill(body, values, editable=True)
    before, marker, _ = body.partition(CURSOR)
    if not marker:
        return Filled(text, _top_of_body(text))
    return Filled(text, min(len(fill(before, values, editable=True)), len(text)))


def _top_of_body(text: str) -> int:
    """After a greeting on a line of its own ("Hi Alice," and a blank line), else the very start:
    never the end of the signature."""
    greeting, blank, rest = text.partition("\n\n")
    if blank and rest and "\n" not in greeting:
        return len(greeting) + len(blank)
    return 0


def _name(token: str) -> str | None:
    """The name an exact {name} placeholder fills; None for anything else that only looks like one."""
    match = _PLACEHOLDER.fullmatch(token)
    return match.group(1) if match else None


def load_snippet_dir(folder: Path) -> tuple[list[UserSnippet], list[str]]:
    """The team's snippets: one UTF-8 Markdown file each, `name.md`, an optional `# Title` first line.

    Returns the snippets sorted by name, and a reason for each file that was skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [], [f"{folder}: no such folder"]
    try:
        paths = sorted(path for path in folder.glob("*.md") if not path.name.startswith("."))
    except OSError as error:
        return [], [f"{folder}: {error.strerror}"]
    snippets: list[UserSnippet] = []
    problems: list[str] = []
    for path in paths:
        try:
            snippets.append(_read_snippet(path))
        except SnippetError as error:
            problems.append(f"{path.name}: {error}")
    return snippets, problems


def snippet_files(folder: Path) -> frozenset[tuple[str, int, int]] | None:
    """What tells that the folder's snippets changed, cheaply: each file's name, size and time of
    change (None: the folder can't be listed)."""
    try:
        with os.scandir(folder) as entries:
            return frozenset(
                (entry.name, (stat := entry.stat()).st_size, stat.st_mtime_ns)
                for entry in entries
                if entry.name.endswith(".md")
            )
    except OSError:
        return None


def _read_snippet(path: Path) -> UserSnippet:
    try:
        if path.stat().st_size > _MAX_SNIPPET_BYTES:
            raise SnippetError(f"larger than {_MAX_SNIPPET_BYTES // 1024} KB")
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise SnippetError(f"not UTF-8 text at line {line}: skipped (save it as UTF-8)") from None
    except OSError as error:
        raise SnippetError(error.strerror or "cannot be read") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")
    title = path.stem
    if lines[0].startswith("# "):
        title = lines.pop(0)[2:].strip() or title
    body = "\n".join(lines).strip()
    if not body:
        raise SnippetError("has no text")
    return UserSnippet(path.stem, title, body)
