"""Where imported mail comes from: single .eml files, mbox files and Maildir folders."""

from __future__ import annotations

import mailbox
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# A header line ("Name: value") or an mbox "From " line at the start, after a BOM or blank space.
_MAIL_START = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*(?:From |[\x21-\x39\x3b-\x7e]+[ \t]*:)")
# In a folder walk these names are taken as mail whatever they hold; others must look like mail.
_MAIL_SUFFIXES = {"", ".eml", ".msg", ".raw", ".mbox", ".mail"}


class SourceError(Exception):
    """A path that cannot be imported; the message names it and says why."""


@dataclass(frozen=True)
class Found:
    """What a walk over the paths turned up: messages as (locator, raw bytes), and skipped files."""

    locator: str
    raw: bytes | None  # None: a file in a folder walk that is not mail


def read_messages(paths: list[Path]) -> Iterator[Found]:
    """Stream every message under the paths, in file order; a folder walk reports non-mail files."""
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
    for path in paths:
        yield from _read_one(path)


def _read_one(path: Path) -> Iterator[Found]:
    try:
        if path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            yield from _maildir(path)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
                yield from _file(child, explicit=False)
        else:
            yield from _file(path, explicit=True)
    except OSError as error:
        raise SourceError(f"{error.filename or path}: {error.strerror}") from None
    except mailbox.Error as error:
        raise SourceError(f"{path}: not a readable mailbox ({error})") from None


def _file(path: Path, explicit: bool) -> Iterator[Found]:
    with path.open("rb") as handle:
        is_mbox = handle.read(5) == b"From "
    if is_mbox:  # read member by member: an mbox can be far larger than memory wants to hold
        box = mailbox.mbox(path, factory=None, create=False)
        for index, key in enumerate(box.iterkeys(), start=1):
            yield Found(f"{path}#{index}", box.get_bytes(key))
        return
    raw = path.read_bytes()
    if explicit or path.suffix.lower() in _MAIL_SUFFIXES or _MAIL_START.match(raw[:1000]):
        yield Found(str(path), raw)
    else:
        yield Found(str(path), None)


def _maildir(path: Path) -> Iterator[Found]:
    box = mailbox.Maildir(path, factory=None, create=False)
    # Maildir names begin with the delivery time, so name order is arrival order.
    for key in sorted(box.iterkeys()):
        yield Found(f"{path}/{key}", box.get_bytes(key))
