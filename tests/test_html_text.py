"""html_to_text: readable text from HTML mail, fast, never raising."""

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frontdesk.mail.html_text import html_to_text


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("a<br>b<br/><br>c", "a\nb\n\nc"),
        ("<div>x</div><div>y</div>", "x\ny"),
        ("<h1>Title</h1>text", "Title\n\ntext"),
        ("<ul><li>one</li><li>two</li></ul>", "- one\n- two"),
        ("<ol><li>first</li><li>second</li></ol>", "1. first\n2. second"),
        ("<ul><li><p>para</p></li><li><div>div</div></li></ul>", "- para\n\n- div"),
        ("<ul><li></li><li>two</li></ul>", "-\n- two"),
        ("<table><tr><td>Name</td><td>Ann</td></tr><tr><td>Age</td><td>40</td></tr></table>",
         "Name Ann\nAge 40"),
        ("<p>Hello&nbsp;<b>world</b> &amp; &lt;you&gt; &eacute;</p>", "Hello world & <you> é"),
        ("  lots   of\n\n  space\t here ", "lots of space here"),
        ("<pre>  keep\n    indent</pre>", "  keep\n    indent"),
        ("<p>before</p><blockquote><p>quoted</p><p>more</p></blockquote><p>after</p>",
         "before\n\n> quoted\n>\n> more\n\nafter"),
        ("<blockquote>outer<blockquote>inner</blockquote></blockquote>", "> outer\n>\n> > inner"),
        ("<p>x</p><hr><p>y</p>", "x\n\n---\n\ny"),
        ("<img src='a.png' alt='Company logo'>", "Company logo"),
    ],
)
def test_structure(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<a href="https://example.com/docs">the docs</a>', "the docs <https://example.com/docs>"),
        ('<a href="https://example.com/">https://example.com</a>', "https://example.com"),
        ('<a href="mailto:help@example.com">help@example.com</a>', "help@example.com"),
        ('<a href="javascript:alert(1)">click</a>', "click"),
        ('<a href="#top">top</a>', "top"),
        ('<a href="https://e.example/x"><img src="b.png"></a>', ""),
        ('see <a href="https://e.example/x">here</a>.', "see here <https://e.example/x>."),
    ],
)
def test_links(markup: str, expected: str) -> None:
    assert html_to_text(markup) == expected


def test_script_style_head_are_dropped() -> None:
    markup = (
        "<html><head><title>Secret title</title><style>p {color: red}</style>"
        "<script>var x = '<p>not text</p>';</script></head>"
        "<body><p>Visible</p><script>alert('x')</script></body></html>"
    )
    assert html_to_text(markup) == "Visible"


def test_unclosed_head_does_not_swallow_the_body() -> None:
    assert html_to_text("<head><meta charset=utf-8><div>Body text</div>") == "Body text"


def test_invisible_padding_is_removed() -> None:
    assert html_to_text("Preview\u200c&nbsp;\u200c&nbsp;\u200c&nbsp;text\u200b here") == "Preview text here"


def test_malformed_markup_does_not_raise() -> None:
    assert html_to_text("<![foo bar]>hello <b>world") == "hello world"
    assert html_to_text("<p <p <<>> text </div></div></p>").endswith("text")


def _newsletter(size: int) -> str:
    rng = random.Random(7)
    words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do".split()
    rows = []
    while sum(map(len, rows)) < size:
        line = " ".join(rng.choice(words) for _ in range(25))
        rows.append(
            f'<table width="100%"><tr><td style="font-family:Arial"><p class="x">{line} '
            f'<a href="https://example.com/t?id={rng.random()}">read&nbsp;more</a></p>'
            f'<div><span><b>{line}</b></span><br/><img src="x.png" alt="logo"></div></td></tr></table>\n'
        )
    return "<html><head><style>.x{}</style></head><body>" + "".join(rows) + "</body></html>"


def test_large_page_is_fast() -> None:
    page = _newsletter(700_000)
    start = time.perf_counter()
    text = html_to_text(page)
    assert time.perf_counter() - start < 1.0
    assert "read more <https://example.com/t?id=" in text


@pytest.mark.parametrize(
    "hostile",
    ["<!--" * 100_000, "<a" * 100_000, "<![if " * 50_000, "<" * 200_000, "</" * 100_000,
     "<div>" * 100_000, "<a href='" + "x" * 200_000],
)
def test_pathological_input_stays_bounded(hostile: str) -> None:
    start = time.perf_counter()
    html_to_text(hostile)
    assert time.perf_counter() - start < 3.0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>/!-[]&;#=\"' abpdivscrtlye\n\x1b")) | st.characters(),
               max_size=300))
def test_never_raises(markup: str) -> None:
    assert isinstance(html_to_text(markup), str)
