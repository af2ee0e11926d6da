"""HTML mail bodies to readable plain text, with the standard library only.

Block elements become line breaks, links keep their target as ``text <url>``,
quotes get ``> `` prefixes.  The result is plain text for reading, not a
faithful rendering.  ``html_to_text`` never raises: malformed markup, parser
errors and pathological inputs fall back to a simple tag strip.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser

__all__ = ["html_to_text"]

# Past this much parse time the input is treated as hostile and tag-stripped.
_TIME_BUDGET_S = 2.0

_SKIP = frozenset({"script", "style", "title", "template", "head"})
_LINE_BREAK = frozenset({
    "address", "article", "aside", "caption", "center", "dd", "details", "div",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "header", "li",
    "main", "nav", "section", "summary", "tr",
})
_PARAGRAPH = frozenset({
    "blockquote", "dl", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "ol", "p",
    "pre", "table", "ul",
})
_LINK_SCHEMES = ("http://", "https://", "ftp://", "mailto:")

# A whitespace run, counting zero-width non-joiners around it (newsletter
# "preheader" padding is long runs of "&zwnj;&nbsp;").
_WHITESPACE = re.compile(r"[\s\u200c]*\s[\s\u200c]*")
# Invisible characters that only pad or break words.
_INVISIBLE = str.maketrans("", "", "\u200b\u2060\ufeff\u034f\xad")
_BLANK_RUNS = re.compile(r"\n{3,}")
_TAG = re.compile(r"<[^<>]*>")


class _Timeout(Exception):
    """The parse ran past its budget."""


class _TextConverter(HTMLParser):
    """Collects text as lines, turning block structure into line breaks."""

    def __init__(self, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self._deadline = deadline
        self._calls = 0
        self._lines: list[str] = []
        self._line: list[str] = []
        self._space = False      # a space is owed before the next word
        self._break = 0          # 1: new line owed, 2: blank line owed
        self._break_quote = 0    # quote depth of the owed blank line
        self._skip = 0           # inside script/style/head...
        self._pre = 0
        self._quote = 0
        self._lists: list[list[int]] = []   # per open list: [ordered, counter]
        self._after_marker = False          # the line holds just a list marker
        self._href: str | None = None
        self._anchor: list[str] = []

    # -- output -------------------------------------------------------------

    def text(self) -> str:
        self._end_line()
        out = "\n".join(line.rstrip() for line in self._lines)
        return _BLANK_RUNS.sub("\n\n", out).strip("\n")

    def _prefix(self) -> str:
        return "> " * self._quote

    def _end_line(self) -> None:
        if self._line:
            self._lines.append(self._prefix() + "".join(self._line))
            self._line = []
        self._space = False

    def _request_break(self, level: int) -> None:
        if self._after_marker:
            return   # <li><p>text: the text goes after the marker
        self._end_line()
        # A blank line between a quote and its surroundings belongs to neither.
        self._break_quote = min(self._break_quote, self._quote) if self._break else self._quote
        self._break = max(self._break, level)

    def _write(self, text: str) -> None:
        if self._break:
            if self._break == 2 and self._lines and self._lines[-1].strip(" >"):
                self._lines.append("> " * min(self._break_quote, self._quote))
            self._break = 0
        if self._space and self._line:
            self._line.append(" ")
        self._space = False
        self._after_marker = False
        self._line.append(text)
        if self._href is not None:
            self._anchor.append(text)

    # -- parser callbacks ---------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tick()
        if tag in _SKIP:
            self._skip += 1
            return
        if tag == "body" or (self._skip and (tag in _LINE_BREAK or tag in _PARAGRAPH)):
            self._skip = 0   # an unclosed <head> must not swallow the body
        if self._skip:
            return
        if tag in _PARAGRAPH or tag in _LINE_BREAK:
            self._start_block(tag)
        if tag == "br":
            self._line_break()
        elif tag == "li":
            self._list_item()
        elif tag in ("td", "th"):
            self._space = True
        elif tag == "a":
            self._start_link(attrs)
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt and alt.strip():
                self.handle_data(alt)

    def handle_endtag(self, tag: str) -> None:
        self._tick()
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag == "a":
            self._end_link()
        elif tag in ("ul", "ol") and self._lists:
            self._lists.pop()
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in _PARAGRAPH:
            self._request_break(2)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
        elif tag in _LINE_BREAK:
            self._request_break(1)

    def handle_data(self, data: str) -> None:
        self._tick()
        if self._skip or not data:
            return
        if not data.isascii():
            data = data.translate(_INVISIBLE)
        if self._pre:
            self._write_pre(data)
            return
        data = _WHITESPACE.sub(" ", data)
        if data.startswith(" "):
            self._space = True
        core = data.strip(" ")
        if core:
            self._write(core)
            self._space = data.endswith(" ")

    def parse_marked_section(self, i: int, report: int = 1) -> int:
        # The stdlib raises AssertionError on "<![foo"; treat it as a bogus comment.
        try:
            return super().parse_marked_section(i, report)
        except AssertionError:
            end = self.rawdata.find(">", i)
            return -1 if end < 0 else end + 1

    # -- helpers ------------------------------------------------------------

    def _tick(self) -> None:
        self._calls += 1
        if self._calls & 0xFF == 0 and time.monotonic() > self._deadline:
            raise _Timeout

    def _start_block(self, tag: str) -> None:
        level = 2 if tag in _PARAGRAPH else 1
        self._request_break(level)
        if tag == "blockquote":
            self._quote += 1
        elif tag == "pre":
            self._pre += 1
        elif tag in ("ul", "ol"):
            self._lists.append([tag == "ol", 0])
        elif tag == "hr":
            self._write("---")
            self._request_break(2)

    def _line_break(self) -> None:
        if self._line:
            self._end_line()
        else:
            self._lines.append(self._prefix())
        self._break = 0

    def _list_item(self) -> None:
        self._after_marker = False   # an empty item before this one still ends
        self._request_break(1)
        depth = max(1, len(self._lists))
        marker = "-"
        if self._lists:
            current = self._lists[-1]
            current[1] += 1
            if current[0]:
                marker = f"{current[1]}."
        self._write("  " * (depth - 1) + marker)
        self._space = True
        self._after_marker = True

    def _write_pre(self, data: str) -> None:
        data = data.replace("\r\n", "\n").replace("\r", "\n").replace("\xa0", " ")
        first, *rest = data.split("\n")
        if first:
            self._write(first)
        for line in rest:
            self._line_break()
            if line:
                self._write(line)

    def _start_link(self, attrs: list[tuple[str, str | None]]) -> None:
        self._end_link()
        href = "".join((dict(attrs).get("href") or "").split())
        if href.lower().startswith(_LINK_SCHEMES):
            self._href = href
            self._anchor = []

    def _end_link(self) -> None:
        href, self._href = self._href, None
        if href is None:
            return
        label = " ".join(self._anchor).strip()
        if label and not _same_target(label, href):
            space = self._space
            self._space = True
            self._write(f"<{href}>")
            self._space = space


def _same_target(label: str, href: str) -> bool:
    """Whether the link text already shows where the link goes."""
    label = label.lower().strip("<>")
    target = href.lower()
    for prefix in ("mailto:", "https://", "http://"):
        if target.startswith(prefix):
            target = target[len(prefix):]
        if label.startswith(prefix):
            label = label[len(prefix):]
    return label.rstrip("/") == target.rstrip("/")


def html_to_text(markup: str) -> str:
    """Readable text from an HTML document or fragment; never raises."""
    try:
        converter = _TextConverter(time.monotonic() + _TIME_BUDGET_S)
        converter.feed(_close_dangling(markup))
        converter.close()
        return converter.text()
    except Exception:   # noqa: BLE001 - any parser failure degrades to a tag strip
        return _strip_tags(markup)


def _close_dangling(markup: str) -> str:
    """Close a comment, marked section or tag left open at the end.

    HTMLParser rescans to the end of the input for every unclosed "<!--", "<!["
    or "<" it meets at EOF, which is quadratic on inputs like "<!--" * 100000.
    A closer at the very end ends that; what it swallows is markup anyway.
    """
    if markup.rfind("<!--") > markup.rfind("-->"):
        markup += "-->"
    if markup.rfind("<![") > markup.rfind("]>"):
        markup += "]]>"
    if markup.rfind("<") > markup.rfind(">"):
        markup += ">"
    return markup


def _strip_tags(markup: str) -> str:
    """Last resort: linear-time tag removal and whitespace tidy-up."""
    try:
        text = html.unescape(_TAG.sub(" ", markup))
    except Exception:   # noqa: BLE001
        text = markup
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")
