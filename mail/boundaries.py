"""Multipart boundaries found without compiling a regular expression per message.

The stdlib's email.feedparser compiles `(?P<sep>--BOUNDARY)(?P<end>--)?(?P<ws>[ \\t]*)(?P<linesep>\\r\\n|\\r|\\n)?$`
for every multipart message it reads. Boundaries are unique, so re's cache never helps, and the
compiling was a quarter of parsing a typical message. `install` gives the feedparser a `re` whose
`compile` answers that one pattern with BoundaryLine, the same test as a prefix check and one
regular expression compiled once; every other pattern is compiled as before.
"""

from __future__ import annotations

import re
from email import feedparser

_HEAD = "(?P<sep>"
_TAIL = r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"
_AFTER_SEPARATOR = re.compile(_TAIL.removeprefix(")"))
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)  # re.escape puts a backslash before a character, nothing more


class BoundaryLine:
    """Matches a line as the feedparser's boundary pattern does; the match has the groups it reads
    (`end`, `ws`, `linesep`)."""

    __slots__ = ("separator",)

    def __init__(self, separator: str) -> None:
        self.separator = separator

    def match(self, line: str) -> re.Match[str] | None:
        if not line.startswith(self.separator):
            return None
        return _AFTER_SEPARATOR.match(line, len(self.separator))


class _FeedparserRe:
    """The `re` module but for that pattern."""

    def __getattr__(self, name: str) -> object:
        return getattr(re, name)

    @staticmethod
    def compile(pattern: str, flags: int = 0) -> re.Pattern[str] | BoundaryLine:
        if not flags and isinstance(pattern, str) and pattern.startswith(_HEAD) and pattern.endswith(_TAIL):
            return BoundaryLine(_ESCAPED.sub(r"\1", pattern[len(_HEAD) : -len(_TAIL)]))
        return re.compile(pattern, flags)


def install() -> None:
    """From here on, in this process. A feedparser that builds the pattern differently (another
    Python) compiles it as before."""
    if not isinstance(feedparser.re, _FeedparserRe):
        feedparser.re = _FeedparserRe()
