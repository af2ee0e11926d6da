"""Make untrusted text safe to show in a terminal.

Mail is attacker-controlled: an ESC sequence in a subject can recolour, move the
cursor or plant a hyperlink in the rep's terminal, and a bidi override can make
``invoice\u202efdp.exe`` read as ``invoiceexe.pdf``.  Everything shown goes
through these two functions.  Rich markup such as ``[bold]`` is left alone: the
UI renders it literally.
"""

from __future__ import annotations

import re

__all__ = ["display_safe", "display_line"]

# Whole escape sequences, so that no parameter bytes are left behind as text:
# CSI (ESC [ or 8-bit \x9b), string commands OSC/DCS/SOS/PM/APC (ESC ] P X ^ _)
# up to BEL or ST, and two-byte ESC sequences.  An unterminated string command
# ends at the line end rather than eating the rest of the text.  Other 8-bit C1
# introducers are removed as single characters below.
_ESCAPES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)

# C0 except \t and \n, DEL, C1, bidi embeddings/overrides/isolates and marks.
_CONTROLS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# Lone surrogates (left by surrogateescape) make terminal output raise.
_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_SEPARATORS = re.compile("\r\n?|[\u2028\u2029]")
# Anything the steps above would change; most text has none of it.
_NEEDS_WORK = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
    "\u2028\u2029\ud800-\udfff]"
)
_ASCII_CONTROLS = bytes([*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F])


def display_safe(text: str) -> str:
    """Return *text* without terminal controls or bidi overrides; newlines become \\n."""
    if _clean(text):
        return text
    if "\x1b" in text or "\x9b" in text:
        text = _ESCAPES.sub("", text)
    text = _LINE_SEPARATORS.sub("\n", text)
    text = _CONTROLS.sub("", text)
    return _SURROGATES.sub("\ufffd", text)


def display_line(text: str) -> str:
    """Like display_safe, then all whitespace runs (newlines too) become one space."""
    return " ".join(display_safe(text).split())


def _clean(text: str) -> bool:
    """True when there is certainly nothing to remove (the common case, made cheap)."""
    if text.isascii():
        raw = text.encode("ascii")
        return len(raw.translate(None, _ASCII_CONTROLS)) == len(raw)
    return not _NEEDS_WORK.search(text)
