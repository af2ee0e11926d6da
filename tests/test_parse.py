"""parse_message on hostile and broken mail (fixtures in tests/fixtures/mail)."""

import base64
import os
import random
import re
import tracemalloc
from datetime import datetime, timezone
from email.utils import getaddresses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frontdesk.mail import boundaries
from frontdesk.mail.parse import _PARSER, Address, Attachment, ParsedMessage, _plain_addresses, parse_message

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def parse_fixture(name: str) -> ParsedMessage:
    return parse_message((FIXTURES / name).read_bytes())


def display_fields(msg: ParsedMessage) -> list[str]:
    addresses = (msg.sender, *msg.to, *msg.cc, *msg.reply_to)
    return [
        msg.subject, msg.text, *msg.defects, *msg.references,
        msg.message_id or "", msg.in_reply_to or "",
        *(a.name for a in addresses), *(a.email for a in addresses),
        *(a.filename for a in msg.attachments), *(a.content_type for a in msg.attachments),
    ]


def assert_display_safe(msg: ParsedMessage) -> None:
    for value in display_fields(msg):
        assert not FORBIDDEN.search(value), repr(value)
    for line in (msg.subject, *(a.filename for a in msg.attachments), msg.sender.name):
        assert "\n" not in line and "\t" not in line


def assert_well_formed(msg: ParsedMessage) -> None:
    assert msg.text_source in ("plain", "html", "none")
    assert (msg.text != "") == (msg.text_source != "none")
    assert msg.auto in (None, "auto-reply", "bounce", "list")
    assert msg.date is None or msg.date.tzinfo is not None
    assert_display_safe(msg)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.eml")))
def test_every_fixture_is_display_safe(name: str) -> None:
    msg = parse_fixture(name)
    assert_well_formed(msg)
    assert not any(d.startswith("message unreadable") for d in msg.defects)


# -- terminal escapes and markup -------------------------------------------------

def test_escapes_removed_and_markup_kept_literally() -> None:
    msg = parse_fixture("ansi-and-markup.eml")
    assert msg.subject == "Refund [bold]now[/] [/foo] please"
    assert msg.sender == Address("Evil [bold]Corp[/]", "evil@example.com")
    assert msg.text == (
        "Hello red team,\n"
        "click here to win.\n"
        "8-bit CSI: still text\n"
        "Markup stays literal: [bold]x[/] [/foo] [link=https://evil.example]y[/link]"
    )
    assert msg.attachments == (
        Attachment("report[bold].txt", "application/octet-stream", 16, inline=False),
    )


def test_escapes_inside_encoded_words() -> None:
    msg = parse_fixture("encoded-escapes.eml")
    assert msg.subject == "Invoice OVERDUE \u00bbTXT.exe done"
    assert msg.sender == Address("Mallory Root", "mallory@example.org")


# -- charsets -------------------------------------------------------------------------

def test_unknown_charset_falls_back_to_utf8() -> None:
    msg = parse_fixture("unknown-charset.eml")
    assert msg.subject == "Grüße"
    assert msg.text == "Grüße aus Köln, die Rechnung stimmt nicht."
    assert "unknown charset x-fakescii" in msg.defects


def test_unknown_charset_falls_back_to_cp1252() -> None:
    msg = parse_fixture("bogus-charset-cp1252.eml")
    assert msg.text == "Le café coûte 3 € de trop."
    assert "unknown charset us-askey" in msg.defects


def _text_message(charset: str, body: bytes, subject: bytes = b"s") -> bytes:
    return (b"From: a@example.com\nSubject: " + subject + b"\nMIME-Version: 1.0\n"
            b"Content-Type: text/plain; charset=" + charset.encode() + b"\n"
            b"Content-Transfer-Encoding: 8bit\n\n" + body)


@pytest.mark.parametrize(
    ("charset", "text", "codec"),
    [
        ("ks_c_5601-1987", "안녕하세요", "cp949"),
        ("x-mac-cyrillic", "Привет", "mac_cyrillic"),
        ("iso-8859-8-i", "שלום", "iso-8859-8"),
        ("gb2312", "你好，世界", "gb2312"),
        ("shift_jis", "日本語のテキスト", "shift_jis"),
        ("windows-1250", "Dzień dobry, żółw", "cp1250"),
        ("iso-8859-1", "“smart quotes” from Word", "cp1252"),
        ('"UTF-8"', "quoted label ✓", "utf-8"),
    ],
)
def test_charset_aliases(charset: str, text: str, codec: str) -> None:
    msg = parse_message(_text_message(charset, text.encode(codec)))
    assert msg.text == text
    assert not any("charset" in d for d in msg.defects)


def test_bogus_charset_label_names_the_charset() -> None:
    raw = _text_message("_iso-2022-jp$ESC", b"plain words")
    msg = parse_message(raw)
    assert msg.text == "plain words"
    assert "unknown charset _iso-2022-jp$ESC" in msg.defects


def test_undeclared_8bit_body() -> None:
    utf8 = parse_message(b"Subject: x\n\n" + "naïve café".encode())
    latin = parse_message(b"Subject: x\n\n" + "naïve café".encode("cp1252"))
    assert utf8.text == latin.text == "naïve café"


def _undeclared(subject: bytes, body: bytes, content_type: bytes = b"") -> bytes:
    """Raw 8-bit subject and body with no charset anywhere, as old and careless mailers send."""
    return b"From: a@example.com\nSubject: " + subject + b"\n" + content_type + b"\n" + body


RUSSIAN = (
    "Здравствуйте!\n\nС сегодняшнего утра у нас не работает поиск по каталогу: любой запрос "
    "возвращает пустую страницу. Мы ничего не меняли в настройках.\n\nС уважением,\nИван Петров"
)
JAPANESE = (
    "お世話になっております。\n\n今朝から検索機能が使えなくなりました。どのキーワードで検索しても"
    "結果が表示されません。至急ご確認をお願いいたします。\n\n山田太郎"
)
CHINESE = "您好：\n\n从今天早上开始，我们的搜索功能无法使用，任何关键词都没有结果。请尽快帮忙检查。\n\n谢谢！\n王伟"


@pytest.mark.parametrize(
    ("text", "codec", "guessed"),
    [
        (RUSSIAN, "koi8_r", "koi8-r"),
        (RUSSIAN, "cp1251", "cp1251"),
        (JAPANESE, "shift_jis", "cp932"),
        (CHINESE, "gb2312", "gb18030"),
    ],
    ids=["koi8-r", "windows-1251", "shift_jis", "gb2312"],
)
def test_undeclared_non_latin_text_is_detected_and_the_guess_noted(text: str, codec: str, guessed: str) -> None:
    subject = text.split("\n")[0]
    msg = parse_message(_undeclared(subject.encode(codec), text.encode(codec)))
    assert msg.text == text
    assert msg.subject == subject, "the body's charset reads the subject, too short to guess from"
    assert f"charset guessed: {guessed}" in msg.defects


def test_an_unknown_charset_label_is_detected_like_none() -> None:
    raw = _undeclared(b"x", RUSSIAN.encode("koi8_r"), b"Content-Type: text/plain; charset=x-cyrillic-ish\n")
    msg = parse_message(raw)
    assert msg.text == RUSSIAN
    assert {"unknown charset x-cyrillic-ish", "charset guessed: koi8-r"} <= set(msg.defects)


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("Café crème à bientôt", "latin-1"),
        ("Grüße aus München, Jörg", "latin-1"),
        ("Bonjour, le problème persiste. Cordialement, François", "latin-1"),
        ("¿Puede ayudarme? Gracias, Begoña", "latin-1"),
        ("He said “it’s broken” – again… 50 €", "cp1252"),
    ],
    ids=["french", "german", "french-long", "spanish", "windows-1252"],
)
def test_short_western_text_stays_cp1252_without_a_note(text: str, codec: str) -> None:
    msg = parse_message(_undeclared(text.encode(codec), text.encode(codec)))
    assert (msg.subject, msg.text) == (text, text)
    assert not any("charset" in d for d in msg.defects)


def test_text_too_short_to_tell_falls_back_to_cp1252_and_says_so() -> None:
    msg = parse_message(_undeclared(b"x", "Привет".encode("koi8_r")))
    assert msg.text == "Привет".encode("koi8_r").decode("cp1252")
    assert "charset not recognised: read as cp1252" in msg.defects


def test_the_detector_runs_only_for_undeclared_8bit_text_that_is_not_utf8(monkeypatch) -> None:
    # Parsing speed: nearly all mail is ASCII, UTF-8 or labelled, and must not pay for detection.
    def refuse(*args, **kwargs):
        raise AssertionError("the charset detector was consulted")

    monkeypatch.setattr("charset_normalizer.from_bytes", refuse)
    assert parse_message(_undeclared(b"plain", b"plain ASCII")).text == "plain ASCII"
    assert parse_message(_undeclared("Grüße".encode(), RUSSIAN.encode())).text == RUSSIAN
    declared = _undeclared(b"x", RUSSIAN.encode("koi8_r"), b"Content-Type: text/plain; charset=koi8-r\n")
    assert parse_message(declared).text == RUSSIAN


def test_an_8bit_message_id_reads_the_same_whatever_the_message_charset() -> None:
    # Threading compares ids across messages: they are never read with a message's guess.
    ident = b"<\xe9t\xe9-\xd0\xd2@example.com>"
    question = parse_message(b"Message-ID: " + ident + b"\n" + _undeclared(b"x", RUSSIAN.encode("koi8_r")))
    answer = parse_message(b"In-Reply-To: " + ident + b"\n" + _undeclared(b"x", JAPANESE.encode("shift_jis")))
    assert "charset guessed: koi8-r" in question.defects and "charset guessed: cp932" in answer.defects
    assert question.message_id == answer.in_reply_to


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"=?utf-8?q?caf=C3=A9?=", "café"),
        (b"=?UTF-8?B?w6k=?= =?UTF-8?B?w6k=?=", "éé"),
        # One character split across two encoded words.
        (b"=?utf-8?b?4oKs?= =?utf-8?b?4o?= =?utf-8?b?gqw=?=", "€€"),
        (b"=?iso-2022-jp?b?GyRCRnxLXDhsGyhC?=", "日本語"),
        (b"Re: =?windows-1252?q?=93quoted=94?= and plain", "Re: “quoted” and plain"),
        (b"=?utf-8?q?broken_but_ok", "=?utf-8?q?broken_but_ok"),
        (b"=?utf-8?b?!!!?=", "=?utf-8?b?!!!?="),
        ("Raw UTF-8 Grüße".encode(), "Raw UTF-8 Grüße"),
        (b"  folded\n   across\n\tlines  ", "folded across lines"),
    ],
)
def test_subject_decoding(header: bytes, expected: str) -> None:
    msg = parse_message(b"From: a@example.com\nSubject: " + header + b"\n\nbody\n")
    assert msg.subject == expected


# -- MIME structure -----------------------------------------------------------------------

def test_multipart_without_boundary_is_read_as_text() -> None:
    msg = parse_fixture("multipart-no-boundary.eml")
    assert msg.text == "Your message could not be delivered."
    assert msg.text_source == "plain"
    assert "NoBoundaryInMultipartDefect" in msg.defects


def test_multipart_with_wrong_boundary_is_recovered() -> None:
    msg = parse_fixture("multipart-wrong-boundary.eml")
    assert msg.text == "The printer on floor 3 is broken again."
    assert msg.attachments == (Attachment("log.csv", "text/csv", 7, inline=False),)
    assert "recovered a broken MIME boundary" in msg.defects


def test_plain_is_preferred_in_alternative() -> None:
    msg = parse_fixture("alternative.eml")
    assert msg.text == "Bitte prüfen Sie die Rechnung."
    assert msg.text_source == "plain"
    assert msg.subject == "Prüfung der Rechnung"
    assert msg.sender == Address("Müller, Jörg", "joerg.mueller@example.de")
    assert msg.to == (Address("Support", "support@example.com"), Address("", "ops@example.com"))
    assert msg.date == datetime(2024, 6, 7, 6, 0, tzinfo=timezone.utc)
    assert msg.attachments == ()


def test_empty_plain_part_falls_back_to_html() -> None:
    msg = parse_fixture("empty-plain-alternative.eml")
    assert msg.text == "Only the HTML part has words."
    assert msg.text_source == "html"


def test_html_only() -> None:
    msg = parse_fixture("html-only.eml")
    assert msg.text_source == "html"
    assert msg.text == (
        "Hello José,\n\n"
        "Your order #123 & more shipped.\n\n"
        "Track it here <https://shop.example/t/123>.\n\n"
        "> Earlier message\n\n"
        "- one\n- two"
    )


def test_text_enriched_is_read_as_plain() -> None:
    raw = (b"Subject: e\nContent-Type: text/enriched\n\n"
           b"<bold>Hello</bold>\nworld<<ok>\n\n\n<param>x</param>next")
    msg = parse_message(raw)
    assert msg.text_source == "plain"
    assert msg.text == "Hello world<ok>\n\nnext"


# -- addresses -------------------------------------------------------------------------------

def test_address_headers_that_break_policy_default() -> None:
    msg = parse_fixture("unlisted-recipients.eml")
    assert msg.sender == Address("Bounce Handler", "handler@example.net")
    assert msg.to == ()
    assert msg.reply_to == ()
    assert msg.cc == (Address("Doe, Jane", "jane@example.net"), Address("Smith, Bob", "bob@example.net"))
    assert not any("unparseable" in d for d in msg.defects)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"MAILER-DAEMON", Address("MAILER-DAEMON", "")),
        (b"john@example.com (John Doe)", Address("John Doe", "john@example.com")),
        (b"<>", Address("", "")),
        (b"", Address("", "")),
    ],
)
def test_sender_edge_cases(header: bytes, expected: Address) -> None:
    assert parse_message(b"From: " + header + b"\nSubject: x\n\nx\n").sender == expected


# Address lists that getaddresses reads in its own way: whitespace it drops or
# keeps, quoting, comments, groups, routes, non-ASCII and Unicode spaces; as a
# soup of pieces and as mailboxes built from awkward names and addresses.
ADDRESS_PIECES = [
    "a", "Bob", "x.y", "first.last@example.com", "@", "<", ">", ",", " ", "\t", "\n ", "\r", '"', '""',
    '"Doe, Jane"', "\\", "(", ")", "(c)", ".", ":", ";", "[", "]", "é", "\xa0", "\x85", "\x0b", "'",
]
ADDRESS_ATOMS = ["a", "x.y", "o'n", "", ".", "\xa0", "\x85", "é", '"q"', "[1.2.3.4]", "(c)", "a b", "a@b"]
DISPLAY_NAMES = ["", "Bob", "Bob \t Smith", "J. R.", '"Doe, Jane"', '""', '"a" b', '"a"b', "é\xa0x", "\xa0",
                 "a\\b", "(c)", "x:y", "\n Bob"]
LIST_SEPARATORS = [",", ", ", " , ", ",\n\t", " ", ",,", "", ", "]


def mailbox(name: str, local: str, domain: str, form: int) -> str:
    return (f"{local}@{domain}", f"{name} <{local}@{domain}>", f"{name}<{local}@{domain}>")[form]


mailboxes = st.builds(mailbox, *(st.sampled_from(pieces) for pieces in (DISPLAY_NAMES, ADDRESS_ATOMS, ADDRESS_ATOMS)),
                      st.integers(0, 2))
address_lists = st.lists(st.tuples(mailboxes, st.sampled_from(LIST_SEPARATORS)).map("".join), min_size=1, max_size=3)


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(ADDRESS_PIECES), max_size=14).map("".join) | address_lists.map("".join))
def test_plain_address_fast_path_matches_getaddresses(raw: str) -> None:
    plain = _plain_addresses(raw)
    assert plain is None or plain == getaddresses([raw])


@pytest.mark.parametrize(
    "raw",
    [
        "Kaito Okafor <ben.0@hooli.example>",
        '"Doe, Jane" <jane@example.net>, Bob <bob@example.net>,\n\tc@example.org',
        "John Q. Public<john@example.com> , <x@y>,",
        '"" <a@b>, "a" b <c@d>, José Ñ <j@example.es>',
    ],
)
def test_plain_address_fast_path_reads_common_lists(raw: str) -> None:
    assert _plain_addresses(raw) == getaddresses([raw])


# -- line endings and bytes --------------------------------------------------------------

def test_nul_bytes() -> None:
    msg = parse_fixture("nul-bytes.eml")
    assert msg.subject == "zerobyte"
    assert msg.sender == Address("Null", "nul@example.com")
    assert msg.message_id == "nul-1@example.com"
    assert msg.text == "beforeafter"


def test_bare_cr_line_endings() -> None:
    msg = parse_fixture("bare-cr.eml")
    assert msg.subject == "classic mac"
    assert msg.text == "First line café and a soft break.\nSecond line."


def test_mixed_line_endings() -> None:
    msg = parse_fixture("mixed-endings.eml")
    assert msg.sender == Address("Mixed", "mixed@example.com")
    assert msg.subject == "mixed"
    assert msg.text == "one\ntwo\nthree\nfour"


def test_no_headers_at_all() -> None:
    msg = parse_fixture("no-headers.eml")
    assert msg.text == "Just a line of text, no headers."
    assert (msg.subject, msg.sender, msg.message_id, msg.date) == ("", Address("", ""), None, None)


def test_empty_input() -> None:
    msg = parse_message(b"")
    assert (msg.text, msg.text_source, msg.subject, msg.attachments) == ("", "none", "", ())
    assert msg.sender == Address("", "")


def test_garbage_bytes() -> None:
    raw = random.Random(1234).randbytes(20_000)
    msg = parse_message(raw)
    assert_well_formed(msg)
    assert not any(d.startswith("message unreadable") for d in msg.defects)


# -- attachments -----------------------------------------------------------------------------

def test_dangerous_filenames_are_made_safe() -> None:
    msg = parse_fixture("dangerous-filenames.eml")
    assert msg.text == "See attached."
    assert [a.filename for a in msg.attachments] == [
        "invoicefdp.exe", "passwd", "evil.dll", "hidden", "q" * 116 + ".pdf", "attachment-6",
    ]
    assert [a.content_type for a in msg.attachments] == [
        "application/octet-stream", "text/plain", "application/x-msdownload",
        "application/octet-stream", "application/pdf", "image/png",
    ]
    assert msg.attachments[-1] == Attachment("attachment-6", "image/png", 100, inline=True)
    assert msg.attachments[1].size == len(b"root:x:0:0")   # the last newline belongs to the boundary


def test_large_attachment_is_measured_not_copied() -> None:
    size = 5 * 1024 * 1024
    encoded = base64.encodebytes(os.urandom(size)).replace(b"\n", b"\r\n")
    raw = (b"From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
           b"--b\r\nContent-Type: application/octet-stream; name=big.bin\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"--b--\r\n")
    tracemalloc.start()
    try:
        msg = parse_message(raw)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert msg.text == "see attached"
    assert msg.attachments == (Attachment("big.bin", "application/octet-stream", size, inline=False),)
    # The stdlib parser alone peaks near 8x the raw size; no decoded copies on top.
    assert peak < 10 * len(raw)


# -- identifiers and dates ---------------------------------------------------------------

def test_message_id_junk() -> None:
    msg = parse_fixture("message-id-junk.eml")
    assert msg.message_id == "a@b"
    assert msg.in_reply_to == "orig@example.com"
    assert msg.references == ("root@example.com", "middle@example.com", "orig@example.com")


def test_message_id_without_brackets() -> None:
    msg = parse_fixture("message-id-bare.eml")
    assert msg.message_id == "bare-id@example.com"
    assert msg.in_reply_to == "parent@example.com"
    assert msg.references == ("parent@example.com",)


def test_message_id_that_is_not_one() -> None:
    msg = parse_message(b"Message-ID: just some words\nIn-Reply-To:\n\nx\n")
    assert (msg.message_id, msg.in_reply_to, msg.references) == (None, None, ())


def test_impossible_year() -> None:
    msg = parse_fixture("bad-date.eml")
    assert msg.date is None
    assert any(d.startswith("date out of range") for d in msg.defects)


def test_date_without_zone_is_utc() -> None:
    assert parse_fixture("date-no-zone.eml").date == datetime(2003, 1, 9, 14, 28, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"Thu, 06 Jun 2024 16:45:10 -0700", datetime(2024, 6, 6, 23, 45, 10, tzinfo=timezone.utc)),
        (b"Sun, 22 Dec 1996 23:25:10 +0100 (CET)", datetime(1996, 12, 22, 22, 25, 10, tzinfo=timezone.utc)),
        (b"Mon, 23 Dec 96 00:08 MET", datetime(1996, 12, 23, 0, 8, tzinfo=timezone.utc)),
        (b"2020-07-01T12:00:00+02:00", datetime(2020, 7, 1, 10, 0, tzinfo=timezone.utc)),
        (b"Tue, 5 Jan 2010 24:00:00 +0000", datetime(2010, 1, 6, 0, 0, tzinfo=timezone.utc)),
        (b"Mon, 20 Mar 2017 05:12:54 +9900", datetime(2017, 3, 20, 5, 12, 54, tzinfo=timezone.utc)),
        (b"garbage", None),
        (b"", None),
    ],
)
def test_dates(header: bytes, expected: datetime | None) -> None:
    assert parse_message(b"Date: " + header + b"\n\nx\n").date == expected


# -- automatic mail ------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "auto"),
    [
        ("bounce.eml", "bounce"),                     # beats its Auto-Submitted and List-Id
        ("multipart-no-boundary.eml", "bounce"),      # postmaster sender
        ("auto-reply.eml", "auto-reply"),             # beats its Precedence: bulk
        ("list.eml", "list"),
        ("outlook-normal.eml", None),                 # X-Auto-Response-Suppress is no signal
        ("alternative.eml", None),
    ],
)
def test_auto_detection(name: str, auto: str | None) -> None:
    assert parse_fixture(name).auto == auto


@pytest.mark.parametrize(
    ("headers", "auto"),
    [
        (b"X-Failed-Recipients: gone@example.com\n", "bounce"),
        (b"X-Autoreply: yes\n", "auto-reply"),
        (b"Precedence: auto_reply\n", "auto-reply"),
        (b"Subject: Automatic reply: Your ticket\n", "auto-reply"),
        (b"Subject: Out of Office until Monday\n", "auto-reply"),
        (b"Precedence: junk\n", "list"),
        (b"List-Post: <mailto:l@example.org>\n", "list"),
        (b"Subject: Re: Automatic reply: earlier\n", None),
    ],
)
def test_auto_signals(headers: bytes, auto: str | None) -> None:
    assert parse_message(b"From: a@example.com\n" + headers + b"\nx\n").auto == auto


def test_bounce_details() -> None:
    msg = parse_fixture("bounce.eml")
    assert msg.text == "I'm sorry to have to inform you that your message could not be delivered."
    assert [a.content_type for a in msg.attachments] == ["message/delivery-status", "message/rfc822"]


# -- never raises ----------------------------------------------------------------------------

@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw: bytes) -> None:
    msg = parse_message(raw)
    assert_well_formed(msg)
    assert not any(d.startswith("message unreadable") for d in msg.defects)


SEEDS = [(FIXTURES / name).read_bytes() for name in
         ("ansi-and-markup.eml", "dangerous-filenames.eml", "bounce.eml", "message-id-junk.eml",
          "html-only.eml", "alternative.eml", "unlisted-recipients.eml")]
NOISE = [b"\r", b"\n", b"\x00", b"\x1b[", b"=?", b"?=", b"?q?", b"--", b"--b", b"<", b">", b":",
         b";", b"\"", b"Content-Type: multipart/mixed; boundary=b\n", b"\n\n", b"\xff", b"\xc3",
         b"=\n", b"charset=", b"\\", b"(", b")", b",", b"@"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.lists(
    st.tuples(st.integers(min_value=0), st.integers(0, 8), st.sampled_from(NOISE) | st.binary(max_size=6)),
    min_size=1, max_size=12,
))
def test_mutated_messages(seed: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    raw = seed
    for position, deleted, inserted in edits:
        position %= len(raw) + 1
        raw = raw[:position] + inserted + raw[position + deleted:]
    msg = parse_message(raw)
    assert_well_formed(msg)
    assert not any(d.startswith("message unreadable") for d in msg.defects)


def _stdlib_boundary_pattern(boundary: str) -> str:
    """The pattern email.feedparser compiles for a multipart's boundary."""
    return "(?P<sep>" + re.escape("--" + boundary) + r")(?P<end>--)?(?P<ws>[ \t]*)(?P<linesep>\r\n|\r|\n)?$"


def _boundary_match(matcher, line: str) -> tuple | None:
    found = matcher.match(line)
    return None if found is None else (found.group("end"), found.group("ws"), found.group("linesep"), found.end())


@given(
    boundary=st.text(min_size=1, max_size=30),
    tail=st.sampled_from(["", "--", " \t", "--  ", "x", "-", "\t--"]),
    end=st.sampled_from(["", "\r\n", "\n", "\r", "\n\n", "\r\n "]),
    cut=st.booleans(),
)
@settings(max_examples=400, deadline=None)
def test_a_boundary_line_is_found_as_the_stdlib_pattern_finds_it(boundary, tail, end, cut):
    pattern = _stdlib_boundary_pattern(boundary)
    fast = boundaries._FeedparserRe.compile(pattern)
    assert isinstance(fast, boundaries.BoundaryLine)
    separator = "--" + boundary
    line = (separator[:-1] if cut else separator) + tail + end
    assert _boundary_match(fast, line) == _boundary_match(re.compile(pattern), line)
    assert _boundary_match(fast, "x" + line) is None


def test_the_feedparser_finds_boundaries_without_compiling_them(monkeypatch):
    made: list[str] = []

    class Recorded(boundaries.BoundaryLine):
        def __init__(self, separator: str) -> None:
            made.append(separator)
            super().__init__(separator)

    monkeypatch.setattr(boundaries, "BoundaryLine", Recorded)
    boundary = "=_a+b*c?(d)[e]"
    raw = (
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\nSubject: two parts\r\n\r\n'
        f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n"
        f'--{boundary}\r\nContent-Type: text/plain; name="notes.txt"\r\n\r\nSecond part.\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    parsed = parse_message(raw)
    assert made == [f"--{boundary}"], "this Python's feedparser builds the pattern install() knows"
    assert parsed.text.strip() == "First part." and [a.filename for a in parsed.attachments] == ["notes.txt"]


def test_a_part_reads_its_content_type_again_after_any_header_change() -> None:
    part = _PARSER.parsebytes(b"Content-Type: text/html\n\n<p>hi</p>")
    assert part.get_content_type() == "text/html"
    part.replace_header("Content-Type", "text/plain")
    assert part.get_content_type() == "text/plain"
    del part["Content-Type"]
    assert part.get_content_type() == "text/plain"  # the default
    part.set_default_type("message/rfc822")
    assert part.get_content_type() == "message/rfc822"
    part["Content-Type"] = "multipart/mixed"
    assert part.get_content_type() == "multipart/mixed"
    part.set_boundary("b")
    assert part.get_content_type() == "multipart/mixed"
    part.set_raw("Content-Type", "text/enriched")  # the first of two is the one read
    del part["Content-Type"]
    assert part.get_content_type() == "message/rfc822"
    part.add_header("Content-Type", "image/png", name="a.png")
    assert part.get_content_type() == "image/png"
