"""display_safe / display_line: nothing that can steer a terminal gets through."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.mail.safe_text import display_line, display_safe

# What must never reach the screen: C0 except \t \n, DEL, C1, bidi controls, surrogates.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("plain text stays", "plain text stays"),
        ("a\x1b[31mred\x1b[0m b", "ared b"),
        ("\x1b[2J\x1b[Hclear", "clear"),
        ("x\x1b[38;5;196my", "xy"),
        ("\x1b]8;;https://evil.example/\x1b\\link\x1b]8;;\x1b\\ end", "link end"),
        ("\x1b]0;window title\x07after", "after"),
        ("keep\x1b]unterminated osc\nnext line", "keep\nnext line"),
        ("x\x9b31my", "xy"),
        ("c1\x85\x90\x9dgone", "c1gone"),
        ("e\x1bcz", "ez"),
        ("bell\x07 nul\x00 del\x7f", "bell nul del"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ("\u2066isolate\u2069 \u200emark\u200f", "isolate mark"),
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("tab\tkept", "tab\tkept"),
        ("line\u2028separator", "line\nseparator"),
        ("lone \udcff surrogate", "lone \ufffd surrogate"),
        ("[bold]x[/] [/foo] [link=https://e.example]y[/link]",
         "[bold]x[/] [/foo] [link=https://e.example]y[/link]"),
        ("Grüße, 日本語, emoji 👍", "Grüße, 日本語, emoji 👍"),
    ],
)
def test_display_safe(raw: str, expected: str) -> None:
    assert display_safe(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Re:\r\n\tfolded   subject \n", "Re: folded subject"),
        ("name\x1b[31m\nwith\u202e newline", "name with newline"),
        ("no\u00a0break", "no break"),
        ("", ""),
    ],
)
def test_display_line(raw: str, expected: str) -> None:
    assert display_line(raw) == expected


def test_clean_text_is_returned_unchanged() -> None:
    text = "Hello,\n\n\tthe invoice is wrong.\n" * 100
    assert display_safe(text) is text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=()), max_size=300))
def test_display_safe_never_leaves_controls(text: str) -> None:
    safe = display_safe(text)
    assert not FORBIDDEN.search(safe)
    assert "\r" not in safe


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(
    ["\x1b", "[", "]", "31m", ";", "\x07", "\\", "\x9b", "\u202e", "\r", "\n", "text", "8;;"]
), max_size=40))
def test_display_safe_on_escape_soup(parts: list[str]) -> None:
    safe = display_safe("".join(parts))
    assert not FORBIDDEN.search(safe)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_display_line_is_one_clean_line(text: str) -> None:
    line = display_line(text)
    assert "\n" not in line and "\t" not in line
    assert line == line.strip()
    assert not FORBIDDEN.search(line)
