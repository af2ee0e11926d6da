"""Raw RFC 5322 bytes to a clean, display-safe ParsedMessage.

Real mail is often broken: unknown charsets, multiparts whose boundary never
appears, address headers the modern ``email`` policy chokes on, junk around
Message-IDs, bare CR line endings.  ``parse_message`` copes with all of that
and never raises.

Speed matters (every imported message passes through here), so the MIME
structure comes from the stdlib parser with the cheap ``compat32`` policy and
the few headers we need are decoded here, instead of through
``policy.default``'s header objects (slower, and they raise on real mail).
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message
from email.parser import BytesParser, Parser
from email.policy import Compat32
from email.utils import getaddresses, parsedate_tz

from . import boundaries
from .html_text import html_to_text
from .safe_text import display_line, display_safe

boundaries.install()

__all__ = ["Address", "Attachment", "ParsedMessage", "parse_message"]


@dataclass(frozen=True)
class Address:
    name: str    # display-safe, may be ""
    email: str   # lower-cased addr-spec, display-safe, "" when unparseable


@dataclass(frozen=True)
class Attachment:
    filename: str       # safe: no path parts, controls or bidi; capped; "attachment-N" if none
    content_type: str
    size: int           # decoded bytes, best effort
    inline: bool


@dataclass(frozen=True)
class ParsedMessage:
    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    reply_to: tuple[Address, ...]
    subject: str
    date: datetime | None             # aware, UTC
    text: str
    text_source: str                  # "plain" | "html" | "none"
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    auto: str | None                  # None | "auto-reply" | "bounce" | "list"


NO_ADDRESS = Address("", "")

# Text parts larger than this (encoded) are cut before decoding: nobody reads
# more in a terminal, and HTML conversion time grows with size.
MAX_TEXT_PART = 4 * 1024 * 1024
MAX_ATTACHMENTS = 500
MAX_DEFECTS = 50
MAX_ID_LENGTH = 250
MAX_FILENAME = 120
MAX_RECOVERIES = 20

_BODY_SUBTYPES = ("plain", "html", "enriched", "richtext")
# Which body part wins, and the text_source it is reported as.
_TEXT_PREFERENCE = (("plain", "plain"), ("html", "html"), ("enriched", "plain"), ("richtext", "plain"))


class _RawHeaderPolicy(Compat32):
    """compat32, but header values come back as parsed, 8-bit bytes included.

    compat32 turns a value with 8-bit bytes into a Header object whose str()
    replaces every such byte with U+FFFD; this module decodes them itself.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


def _forgetting_content_type(change: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(change)
    def changed(part: _Part, *args: object) -> None:
        part._content_type = None
        change(part, *args)

    return changed


class _Part(Message):
    """A part that keeps its content type once read: the stdlib parser asks for it about fifteen
    times a message, each time a scan of every header (5% of the parsing)."""

    _content_type: tuple[int, str] | None = None  # with the number of headers it was read from

    def get_content_type(self) -> str:
        known = self._content_type
        if known is None or known[0] != len(self._headers):  # set_raw (the parser's) only appends
            known = self._content_type = (len(self._headers), super().get_content_type())
        return known[1]

    # The changes that may leave as many headers as before, and the default type, forget it.
    __delitem__ = _forgetting_content_type(Message.__delitem__)
    replace_header = _forgetting_content_type(Message.replace_header)
    set_boundary = _forgetting_content_type(Message.set_boundary)
    set_default_type = _forgetting_content_type(Message.set_default_type)


_POLICY = _RawHeaderPolicy(message_factory=_Part)
_PARSER = BytesParser(policy=_POLICY)
_RECOVERED_BOUNDARY = "=_frontdesk-recovered-boundary_="
_WANTED_HEADERS = frozenset({
    "from", "to", "cc", "reply-to", "subject", "date", "message-id",
    "in-reply-to", "references", "auto-submitted", "x-autoreply",
    "x-autorespond", "precedence", "list-id", "list-unsubscribe", "list-post",
    "x-failed-recipients",
})


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one raw message; never raises, whatever the input."""
    try:
        return _parse(raw)
    except Exception as exc:   # noqa: BLE001 - the contract is "never raises"
        return _unreadable(f"message unreadable: {type(exc).__name__}")


def _unreadable(defect: str) -> ParsedMessage:
    return ParsedMessage(
        message_id=None, in_reply_to=None, references=(), sender=NO_ADDRESS,
        to=(), cc=(), reply_to=(), subject="", date=None, text="",
        text_source="none", attachments=(), defects=(defect,), auto=None,
    )


class _Defects:
    """Short, de-duplicated, display-safe problem descriptions."""

    def __init__(self) -> None:
        self._seen: dict[str, None] = {}
        # How this message's undeclared 8-bit text is read, decided once, on
        # the first such text (the body: a header alone is too short to guess from).
        self.undeclared_charset: str | None = None

    def add(self, text: str) -> None:
        if len(self._seen) < MAX_DEFECTS:
            self._seen.setdefault(display_line(text)[:200], None)

    def result(self) -> tuple[str, ...]:
        return tuple(self._seen)


def _parse(raw: bytes) -> ParsedMessage:
    defects = _Defects()
    msg = _parse_mime(bytes(raw), defects)
    head = _header_values(msg)
    body = _Body(msg, defects)   # first: a charset guessed from the body also reads the headers
    sender = (_address_header(head, "from", defects) or (NO_ADDRESS,))[0]
    subject = _text_header(_first(head, "subject"), defects)
    message_id = _message_id(_first(head, "message-id"))
    reply_ids = _ids(_joined(head, "in-reply-to"))
    for part in _walk(msg):
        for defect in part.defects:
            defects.add(type(defect).__name__)
    return ParsedMessage(
        message_id=message_id,
        in_reply_to=reply_ids[0] if reply_ids else None,
        references=_dedupe(_ids(_joined(head, "references")) + reply_ids),
        sender=sender,
        to=_address_header(head, "to", defects),
        cc=_address_header(head, "cc", defects),
        reply_to=_address_header(head, "reply-to", defects),
        subject=subject,
        date=_date(_first(head, "date"), defects),
        text=body.text,
        text_source=body.source,
        attachments=body.attachments,
        defects=defects.result(),
        auto=_auto(msg, head, sender, subject),
    )


# -- MIME structure -----------------------------------------------------------

def _parse_mime(raw: bytes, defects: _Defects) -> Message:
    raw = _normalise(raw)
    try:
        msg = _PARSER.parsebytes(raw)
        if any(type(d).__name__ == "MissingHeaderBodySeparatorDefect" for d in msg.defects):
            repaired = _repair_header_block(raw)
            if repaired is not None:
                defects.add("repaired malformed header lines")
                msg = _PARSER.parsebytes(repaired)
        return msg
    except RecursionError:
        # Nesting deep enough to exhaust the stack is hostile: keep the headers.
        defects.add("MIME nesting too deep, body not read")
        msg = _PARSER.parsebytes(raw, headersonly=True)
        msg.set_payload("")
        return msg


def _normalise(raw: bytes) -> bytes:
    """Plain \n line ends, no byte-order mark or blank lines before the headers.

    The parser splits lines on bare CR too, but quoted-printable soft breaks
    and the rest of this module expect \n.
    """
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if raw.startswith(b"\n"):
        raw = raw.lstrip(b"\n")
    return raw


_HEADER_LINE = re.compile(rb"([!-9;-~]+)([ \t]*):")


def _repair_header_block(raw: bytes) -> bytes | None:
    """Fix what ends the headers early: stray lines between header lines
    (broken folding, as in some Exchange output) get indented, and obsolete
    "Name :" loses its space.  Lines after the last header-like line are left
    alone: they may really be the body."""
    end = raw.find(b"\n\n")
    lines = (raw if end < 0 else raw[:end]).split(b"\n")
    headers = [i for i, line in enumerate(lines) if _HEADER_LINE.match(line)]
    if not headers:
        return None
    for i in range(headers[-1] + 1):
        match = _HEADER_LINE.match(lines[i])
        if match and match[2]:
            lines[i] = match[1] + b":" + lines[i][match.end():]
        elif not match and i and lines[i][:1] not in (b" ", b"\t"):
            lines[i] = b" " + lines[i]
    repaired = b"\n".join(lines) + (b"" if end < 0 else raw[end:])
    return None if repaired == raw else repaired


def _raw_payload(part: Message) -> str | list[Message] | None:
    """The payload as parsed: sub-parts, or text with 8-bit bytes surrogate-escaped.

    get_payload() would re-decode 8-bit text with the declared charset on every
    call (lossy, and a full copy of big parts); decoding is done here, once.
    """
    return part._payload   # noqa: SLF001


def _walk(root: Message) -> Iterator[Message]:
    """Every part, depth first in document order, without recursion."""
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        payload = _raw_payload(part)
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))


def _children(part: Message) -> list[Message]:
    payload = _raw_payload(part)
    if not isinstance(payload, list):
        return []
    return [p for p in payload if isinstance(p, Message)]


def _recover_multipart(part: Message, defects: _Defects) -> bool:
    """Re-split a multipart whose declared boundary never appears.

    Broken mailers quote or fold the boundary parameter, or lose it: if the
    body has a "--token" line followed by a Content-* header, that token is the
    real boundary.  Returns whether the part now has sub-parts.
    """
    payload = _raw_payload(part)
    if not isinstance(payload, str):
        return False
    found = _DELIMITER_GUESS.search(payload)
    if not found:
        return False
    token = re.compile("^--" + re.escape(found[1]) + r"(--)?[ \t]*$", re.M)
    body = token.sub(lambda m: "--" + _RECOVERED_BOUNDARY + (m[1] or ""), payload)
    header = f'Content-Type: multipart/mixed; boundary="{_RECOVERED_BOUNDARY}"\n\n'
    try:
        rebuilt = Parser(policy=_POLICY).parsestr(header + body)
    except RecursionError:
        return False
    if not rebuilt.is_multipart():
        return False
    part.set_payload(rebuilt.get_payload())
    defects.add("recovered a broken MIME boundary")
    return True


_DELIMITER_GUESS = re.compile(r"^--(\S+)[ \t]*\n(?i:content-[\w-]+[ \t]*:)", re.M)


# -- body and attachments -----------------------------------------------------

class _Body:
    """Chooses the readable text and lists the attachments of a message."""

    def __init__(self, msg: Message, defects: _Defects) -> None:
        self._defects = defects
        self.text = ""
        self.source = "none"
        self._used: set[int] = set()
        self._repair(msg)
        self._facts = _FactsByPart()   # after _repair: it changes which parts are body text
        self._choose_text(msg)
        self.attachments = self._collect_attachments(msg)

    def _repair(self, msg: Message) -> None:
        # _walk reads a part's children after yielding it, so parts recovered
        # here are walked (and repaired) in turn.
        attempts = 0
        for part in _walk(msg):
            if part.get_content_maintype() == "multipart" and not part.is_multipart():
                attempts += 1
                if attempts > MAX_RECOVERIES:
                    break
                _recover_multipart(part, self._defects)

    def _choose_text(self, msg: Message) -> None:
        # Like get_body(), the first part of each kind is the one that counts;
        # unlike it, an empty plain part gives way to the HTML one.
        first: dict[str, Message] = {}
        for part, subtype in _body_candidates(msg, self._facts):
            first.setdefault(subtype, part)
        for subtype, source in _TEXT_PREFERENCE:
            part = first.get(subtype)
            if part is None:
                continue
            text = self._read_text(part, subtype)
            if text.strip():
                self._use(part, text, source)
                return
        self._use_delivery_status(msg)

    def _use(self, part: Message, text: str, source: str) -> None:
        self.text, self.source = text.strip("\n"), source
        self._used.add(id(part))

    def _use_delivery_status(self, msg: Message) -> None:
        """A bounce with no human-readable part: its status fields are the text."""
        for part in _leaves(msg, self._facts):
            if self._facts[part].content_type == "message/delivery-status":
                blocks = [p for p in _raw_payload(part) or () if isinstance(p, Message)]
                text = "\n\n".join(
                    "\n".join(f"{name}: {_text_header(str(value), self._defects)}"
                              for name, value in block.raw_items())
                    for block in blocks
                )
                if text.strip():
                    self._use(part, display_safe(text), "plain")
                return

    def _read_text(self, part: Message, subtype: str) -> str:
        try:
            payload = _raw_payload(part)
            if not isinstance(payload, str):
                return ""
            if len(payload) > MAX_TEXT_PART:
                payload = payload[:MAX_TEXT_PART]
                self._defects.add("text body truncated")
            data = _decode_transfer(payload, _transfer_encoding(part), part)
            text = _decode_bytes(data, _param(part, "charset"), self._defects)
        except Exception as exc:   # noqa: BLE001 - one bad part must not lose the message
            self._defects.add(f"text part unreadable: {type(exc).__name__}")
            return ""
        if subtype == "html":
            text = html_to_text(text)
        elif subtype in ("enriched", "richtext"):
            text = _enriched_to_text(text, subtype)
        return display_safe(text)

    def _collect_attachments(self, msg: Message) -> tuple[Attachment, ...]:
        found: list[Attachment] = []
        for part in _leaves(msg, self._facts):
            facts = self._facts[part]
            if id(part) in self._used or (facts.disposition != "attachment" and facts.body_subtype):
                continue   # a text rendering that is not a file: another view of the body
            if len(found) == MAX_ATTACHMENTS:
                self._defects.add(f"more than {MAX_ATTACHMENTS} attachments, rest not listed")
                break
            try:
                found.append(_attachment(part, facts, len(found) + 1, self._defects))
            except Exception as exc:   # noqa: BLE001
                self._defects.add(f"attachment unreadable: {type(exc).__name__}")
        return tuple(found)


def _body_candidates(root: Message, facts: _FactsByPart) -> Iterator[tuple[Message, str]]:
    """(part, body subtype) in the order get_body() considers them, without recursion.

    Attachments are skipped; of a multipart/related only the start part is
    looked at; message/* parts are not entered.
    """
    stack = [root]
    while stack:
        part = stack.pop()
        part_facts = facts[part]
        if part_facts.disposition == "attachment":
            continue
        if part_facts.body_subtype:
            yield part, part_facts.body_subtype
            continue
        children = _children(part)
        if part_facts.content_type == "multipart/related" and children:
            children = [_related_start(part, children, facts)]
        if part_facts.maintype == "multipart":
            stack.extend(reversed(children))


@dataclass(frozen=True, slots=True)
class _PartFacts:
    """What the body and attachment walks ask of a part, read from its headers
    once: they ask every part the same questions several times."""

    content_type: str
    maintype: str
    disposition: str | None
    body_subtype: str | None


class _FactsByPart(dict[Message, _PartFacts]):
    """Each part's facts, read on first use (parts hash by identity)."""

    def __missing__(self, part: Message) -> _PartFacts:
        content_type = part.get_content_type()
        maintype, _, subtype = content_type.partition("/")
        facts = self[part] = _PartFacts(
            content_type, maintype, _disposition(part), _body_subtype(part, maintype, subtype),
        )
        return facts


def _body_subtype(part: Message, maintype: str, subtype: str) -> str | None:
    """"plain", "html", "enriched" or "richtext" for a part that may be body text."""
    if maintype == "text" and subtype in _BODY_SUBTYPES and not _has_filename(part):
        return subtype
    if maintype == "multipart" and isinstance(_raw_payload(part), str):
        return "plain"   # a multipart we could not split: its raw text is all there is
    return None


def _related_start(part: Message, children: list[Message], facts: _FactsByPart) -> Message:
    """The root of a multipart/related: named by "start", else the first part.

    Some mailers put the root elsewhere without a "start" but with a "type":
    then the first part of that type is taken.
    """
    start = _param(part, "start")
    if start:
        wanted = _strip_id(start)
        for child in children:
            if _strip_id(str(child.get("content-id", ""))) == wanted:
                return child
    root_type = (_param(part, "type") or "").lower()
    for child in children:
        if facts[child].content_type == root_type:
            return child
    return children[0]


def _strip_id(value: str) -> str:
    return "".join(value.split()).strip("<>")


def _leaves(root: Message, facts: _FactsByPart) -> Iterator[Message]:
    """Non-multipart parts; message/* parts count as one leaf each."""
    stack = [root]
    while stack:
        part = stack.pop()
        if facts[part].maintype != "multipart" or not part.is_multipart():
            yield part
        else:
            stack.extend(reversed(_children(part)))


def _attachment(part: Message, facts: _PartFacts, number: int, defects: _Defects) -> Attachment:
    disposition = facts.disposition
    return Attachment(
        filename=_safe_filename(_raw_filename(part, defects), number),
        content_type=display_line(facts.content_type)[:100],
        size=_decoded_size(part),
        inline=disposition == "inline" or (disposition is None and "content-id" in part),
    )


def _disposition(part: Message) -> str | None:
    value = part.get("content-disposition")
    if value is None:
        return None
    return str(value).split(";", 1)[0].strip().lower() or None


def _has_filename(part: Message) -> bool:
    # Reading parameters is slow, and a "filename" or "name" one needs "name" in
    # the value (no other character lower-cases to n, a, m or e).
    if not any("name" in str(part.get(header, "")).lower() for header in ("content-disposition", "content-type")):
        return False
    return bool(part.get_param("filename", header="content-disposition") or part.get_param("name"))


def _raw_filename(part: Message, defects: _Defects) -> str:
    """The declared file name, decoded (RFC 2231, RFC 2047 or raw 8-bit).

    Message.get_filename() raises on 8-bit bytes inside an RFC 2231 value.
    """
    value = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if isinstance(value, tuple):   # RFC 2231: (charset, language, %-decoded text)
        charset, _, text = value
        try:
            name = _decode_bytes(text.encode("latin-1", "surrogateescape"), charset or None, defects)
        except UnicodeEncodeError:
            name = _fix_8bit(text, defects)
    else:
        name = _fix_8bit(value or "", defects)
    if "=?" in name:
        name = _decode_words(name, defects)
    return name


_UNSAFE_FILENAME_CHARS = re.compile(r'[<>:"|?*]')


def _safe_filename(name: str, number: int) -> str:
    """A name that can be shown and saved: last path part, no controls, capped."""
    name = re.split(r"[/\\]", display_line(name))[-1]
    name = _UNSAFE_FILENAME_CHARS.sub("_", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            name = stem[: MAX_FILENAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name or f"attachment-{number}"


def _decoded_size(part: Message) -> int:
    """Decoded size without materialising big payloads."""
    payload = _raw_payload(part)
    if isinstance(payload, list):
        return sum(_encoded_size(p) for p in payload if isinstance(p, Message))
    if not isinstance(payload, str):
        return 0
    encoding = _transfer_encoding(part)
    if encoding == "base64":
        return _base64_size(payload)
    if encoding == "identity":
        return len(payload)   # one char per byte after surrogateescape decoding
    return len(_decode_transfer(payload, encoding, part))


def _base64_size(payload: str) -> int:
    letters = len(payload) - sum(payload.count(c) for c in " \t\n\r")
    padding = payload.rstrip()[-2:].count("=")
    return max(0, letters * 3 // 4 - padding)


def _encoded_size(msg: Message) -> int:
    """Rough size of an embedded message: its headers and raw part bodies."""
    total = 0
    for part in _walk(msg):
        total += sum(len(k) + len(str(v)) + 3 for k, v in part.raw_items())
        payload = _raw_payload(part)
        if isinstance(payload, str):
            total += len(payload)
    return total


# -- transfer encodings and charsets -------------------------------------------

def _transfer_encoding(part: Message) -> str:
    """"base64", "quoted-printable", "uuencode" or "identity"; tolerates junk like "base64;"."""
    value = str(part.get("content-transfer-encoding", "")).strip().lower()
    if value.startswith("base64"):
        return "base64"
    if value.startswith("quoted"):
        return "quoted-printable"
    if value in ("x-uuencode", "uuencode", "uue", "x-uue"):
        return "uuencode"
    return "identity"


def _decode_transfer(payload: str, encoding: str, part: Message) -> bytes:
    if encoding == "uuencode":
        return part.get_payload(decode=True) or b""
    data = payload.encode("ascii", "surrogateescape")
    if encoding == "base64" and _is_base64(data):
        return _base64_decode(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BASE64_TEXT = _BASE64_ALPHABET + b"=\n"
_NOT_BASE64 = bytes(sorted(set(range(256)) - set(_BASE64_ALPHABET)))


def _is_base64(data: bytes) -> bool:
    """False for text merely labelled base64 (it happens): more than 1% other bytes."""
    return len(data.translate(None, _BASE64_TEXT)) <= len(data) // 100


def _base64_decode(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        # Bad padding or junk: keep the alphabet, fix the length, try again.
        clean = data.translate(None, _NOT_BASE64)
        if len(clean) % 4 == 1:
            clean = clean[:-1]
        try:
            return binascii.a2b_base64(clean + b"=" * (-len(clean) % 4))
        except binascii.Error:
            return b""


def _decode_bytes(data: bytes, charset: str | None, defects: _Defects) -> str:
    """Declared charset first, then UTF-8, then a detected charset or cp1252; never raises."""
    codec, known = _codec(charset) if charset else (None, True)
    if not known:
        defects.add(f"unknown charset {charset}")
    if not codec:
        return _decode_unlabelled(data, defects)
    try:
        return data.decode(codec)
    except (UnicodeError, LookupError):
        pass
    if codec != "utf-8":
        try:
            return data.decode("utf-8")
        except UnicodeError:
            pass
    try:
        return data.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return _decode_unlabelled(data, defects)


def _decode_unlabelled(data: bytes, defects: _Defects | None) -> str:
    """UTF-8 if it is UTF-8; else the charset detected for this message, and
    cp1252 (what unlabelled 8-bit mail mostly is) when the detector is unsure.
    Without `defects` nothing is guessed: identifiers must read the same in
    every message that quotes them."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut off at the very end (a truncated header or body)
        # after valid non-ASCII UTF-8 is still UTF-8.
        if exc.end == len(data) and not data[:exc.start].isascii():
            return data.decode("utf-8", "replace")
    if defects is None:
        return data.decode("cp1252", "replace")
    if defects.undeclared_charset is None:
        defects.undeclared_charset = _guess_charset(data, defects)
    return data.decode(defects.undeclared_charset, "replace")


# The charsets undeclared mail is written in. The detector's other candidates
# (UTF-16, DOS and Mac code pages, rare CJK variants) win only by accident.
_GUESSABLE = (
    "cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp1258",
    "koi8_r", "koi8_u", "iso8859_2", "iso8859_5", "iso8859_7", "cp874",
    "cp932", "euc_jp", "gb18030", "big5", "cp949",
)


def _guess_charset(data: bytes, defects: _Defects) -> str:
    """The charset of undeclared 8-bit text: the one a detector is sure of.

    cp1252 when it reads as well as anything (Western text, whose single-byte
    charsets the detector cannot tell apart), or when the best readings tie:
    short text fits several charsets.
    """
    from charset_normalizer import from_bytes  # here: most mail never needs it

    matches = from_bytes(data, cp_isolation=list(_GUESSABLE))
    best = matches.best()
    top = [m for m in matches if best and (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if any("cp1252" in m.could_be_from_charset for m in top):
        return "cp1252"
    if len(top) != 1:
        defects.add("charset not recognised: read as cp1252")
        return "cp1252"
    name = codecs.lookup(top[0].encoding).name
    defects.add(f"charset guessed: {name}")
    return name


# Labels Python does not know, or knows as a stricter subset of what mailers send.
_CHARSET_ALIASES = {
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "x-windows-949": "cp949",
    "iso-8859-8-i": "iso-8859-8", "iso-8859-8-e": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "x-mac-cyrillic": "mac_cyrillic", "x-mac-roman": "mac_roman", "x-mac-greek": "mac_greek",
    "x-mac-ce": "mac_latin2", "x-mac-turkish": "mac_turkish", "x-mac-icelandic": "mac_iceland",
    "windows-874": "cp874", "x-sjis": "cp932", "windows-31j": "cp932",
    "x-gbk": "gb18030", "x-euc-jp": "euc_jp", "unicode-1-1-utf-7": "utf-7",
}
# Canonical codec names replaced by the superset that real mail actually uses.
_SUPERSETS = {
    "iso8859-1": "cp1252", "shift_jis": "cp932", "euc_kr": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "iso2022_jp": "iso2022_jp_2",
}
_NOT_CHARSETS = frozenset({
    "undefined", "unicode_escape", "raw_unicode_escape", "idna", "punycode",
    "mbcs", "oem",
})


@functools.lru_cache(maxsize=256)
def _codec(charset: str) -> tuple[str | None, bool]:
    """(Python codec, label known) for a MIME charset label.

    us-ascii gives (None, True): 8-bit text labelled ASCII is then read like
    undeclared text, without a defect.
    """
    name = charset.strip().strip("\"'").lower()
    name = name.removeprefix("charset=").strip("\"'")
    name = _CHARSET_ALIASES.get(name, name)
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None, False
    if info.name == "ascii":
        return None, True
    if not info._is_text_encoding or info.name in _NOT_CHARSETS:   # type: ignore[attr-defined]
        return None, False
    return _SUPERSETS.get(info.name, info.name), True


def _fix_8bit(value: str, defects: _Defects | None) -> str:
    """Decode raw 8-bit header bytes (kept as surrogates by the parser)."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return _decode_unlabelled(value.encode("utf-8", "surrogateescape"), defects)


def _enriched_to_text(text: str, subtype: str) -> str:
    """text/enriched (RFC 1896) and text/richtext: drop the markup."""
    text = _ENRICHED_PARAM.sub("", text)
    if subtype == "richtext":
        text = re.sub(r"(?i)<nl>", "\n", text)
        text = re.sub(r"(?i)<lt>", "\x00", text)
    else:
        # One newline is a space; n newlines are n-1 line breaks.
        text = re.sub(r"\n+", lambda m: " " if len(m[0]) == 1 else m[0][1:], text)
        text = text.replace("<<", "\x00")
    return _ENRICHED_TAG.sub("", text).replace("\x00", "<")


_ENRICHED_PARAM = re.compile(r"(?is)<param>.*?</param>")
_ENRICHED_TAG = re.compile(r"<[^<>]*>")


# -- headers --------------------------------------------------------------------

def _header_values(msg: Message) -> dict[str, list[str]]:
    """Raw values of the headers we use, by lower-cased name, in order."""
    values: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        key = name.lower()
        if key in _WANTED_HEADERS:
            values.setdefault(key, []).append(str(value))
    return values


def _first(head: dict[str, list[str]], name: str) -> str:
    values = head.get(name)
    return values[0] if values else ""


def _joined(head: dict[str, list[str]], name: str) -> str:
    return " ".join(head.get(name, ()))


def _text_header(value: str, defects: _Defects) -> str:
    value = _fix_8bit(value, defects)
    if "=?" in value:
        value = _decode_words(value, defects)
    return display_line(value)


_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*)\?=")


def _decode_words(value: str, defects: _Defects) -> str:
    """Lenient RFC 2047: adjacent words are joined before decoding, so that a
    character split across two words survives; unknown charsets fall back."""
    pieces: list[tuple[str | bytes, str | None]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position:match.start()]
        previous_encoded = bool(pieces) and pieces[-1][1] is not None
        if between and not (previous_encoded and between.isspace()):
            pieces.append((between, None))
        position = match.end()
        data = _decode_word(match[2], match[3])
        if data is None:
            pieces.append((match[0], None))
            continue
        charset = match[1].split("*", 1)[0].lower()
        if pieces and pieces[-1][1] == charset:
            pieces[-1] = (pieces[-1][0] + data, charset)   # type: ignore[operator]
        else:
            pieces.append((data, charset))
    pieces.append((value[position:], None))
    return "".join(
        _decode_bytes(chunk, charset, defects) if isinstance(chunk, bytes) else chunk
        for chunk, charset in pieces
    )


def _decode_word(encoding: str, text: str) -> bytes | None:
    data = text.encode("utf-8", "surrogateescape")
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    data = b"".join(data.split())
    if data.translate(None, _BASE64_ALPHABET + b"="):
        return None   # not base64 at all: show the word as it is
    try:
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except binascii.Error:
        return None


# -- addresses ---------------------------------------------------------------------

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
# "undisclosed-recipients:;" and the null address "<>" list nobody, validly.
_NOBODY = re.compile(r"\s*(?:[^:<>]*:\s*;?|<\s*>)?\s*")
_ENCODED_RUN = re.compile(r"=\?[^?\s]*\?[bBqQ]\?[^?]*\?=(?:\s*=\?[^?\s]*\?[bBqQ]\?[^?]*\?=)*")


def _address_header(head: dict[str, list[str]], name: str, defects: _Defects) -> tuple[Address, ...]:
    values = head.get(name)
    if not values:
        return ()
    raw = _fix_8bit(", ".join(values), defects)
    try:
        found = _addresses(raw, defects)
    except Exception:   # noqa: BLE001 - getaddresses on hostile input
        found = ()
    if not found and not _NOBODY.fullmatch(_COMMENT.sub("", raw)):
        defects.add(f"header {name.title()} unparseable")
        text = _text_header(raw, defects)[:200]
        found = (Address(text, ""),) if text else ()
    return found


def _addresses(raw: str, defects: _Defects) -> tuple[Address, ...]:
    # Encoded words are swapped for plain atoms before splitting, so that a
    # comma or "<" inside a decoded name cannot split or confuse the list.
    words: list[str] = []
    if "=?" in raw:
        def hide(match: re.Match[str]) -> str:
            words.append(match[0])
            return f"fdencodedword{len(words) - 1}x"
        raw = _ENCODED_RUN.sub(hide, raw)
    result = []
    for name, addr in _split_addresses(raw):
        name = name or _phrase_before(raw, addr)
        for index, word in enumerate(words):
            name = name.replace(f"fdencodedword{index}x", _decode_words(word, defects))
            addr = addr.replace(f"fdencodedword{index}x", word)
        email = display_line(addr).lower()
        if len(email) > 320 or not _EMAIL.fullmatch(email):
            if not email:
                continue
            name, email = (name or addr), ""
        result.append(Address(display_line(name)[:200], email))
    return tuple(a for a in result if a.email) or tuple(result)


def _split_addresses(raw: str) -> list[tuple[str, str]]:
    """getaddresses([raw]); plain mailbox lists, the bulk of real mail, skip its slow
    character-by-character reading."""
    return _plain_addresses(raw) or getaddresses([raw])


def _plain_addresses(raw: str) -> list[tuple[str, str]] | None:
    """What getaddresses([raw]) gives, for a list of plain mailboxes; None for
    anything else (comments, groups, routes, escapes, an empty list)."""
    found = []
    position = 0
    while position < len(raw):
        match = _PLAIN_MAILBOX.match(raw, position)
        if match is None:
            return None
        phrase, route_addr, bare_addr = match.groups()
        if bare_addr is not None:
            found.append(("", bare_addr))
        else:
            words = _PHRASE_WORD.findall(phrase or "")
            found.append((" ".join(word.strip('"') for word in words), route_addr))
        position = match.end()
    return found or None


# The shapes _plain_addresses reads, in the terms of email._parseaddr:
# its whitespace, atoms (phrase atoms may hold "."), unescaped quoted strings.
# Address atoms are ASCII: it drops an atom that str.strip() empties, e.g. "\xa0".
_FWS = r"[ \t\r\n]"
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PHRASE_WORD = re.compile(r'[^\x00-\x20\x7f()<>@,:;"\[\]\\]+|"[^"\\\r\n]*"')
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_PLAIN_MAILBOX = re.compile(
    rf"{_FWS}*(?:(?:((?:{_PHRASE_WORD.pattern})(?:{_FWS}+(?:{_PHRASE_WORD.pattern}))*){_FWS}*)?"
    rf"<({_ADDR_SPEC})>|({_ADDR_SPEC})){_FWS}*(?:,|\Z)"
)


def _phrase_before(raw: str, addr: str) -> str:
    """The display name getaddresses dropped, e.g. one with "[" or "]" in it."""
    end = raw.find("<" + addr + ">") if addr else -1
    if end < 0:
        return ""
    start = max(raw.rfind(",", 0, end), raw.rfind("<", 0, end), raw.rfind(">", 0, end)) + 1
    return raw[start:end].strip().strip('"')


# -- identifiers and dates -------------------------------------------------------

_BRACKETED = re.compile(r"<([^<>]*)>")
_BARE_ID = re.compile(r"[^\s<>@]+@[^\s<>@]+")


def _ids(value: str) -> list[str]:
    found = []
    value = _COMMENT.sub(" ", _fix_8bit(value, None))   # "(John <john@example.com>)" is no id
    for match in _BRACKETED.finditer(value):
        ident = display_line("".join(match[1].split()))
        if 0 < len(ident) <= MAX_ID_LENGTH:
            found.append(ident)
    if not found:
        bare = display_line(value)
        if _BARE_ID.fullmatch(bare) and len(bare) <= MAX_ID_LENGTH:
            found.append(bare)
    return found


def _message_id(value: str) -> str | None:
    found = _ids(value)
    return found[0] if found else None


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


_COMMENT = re.compile(r"\([^()]*\)")
_EARLIEST_YEAR, _LATEST_YEAR = 1970, 2200


def _date(value: str, defects: _Defects) -> datetime | None:
    value = display_line(_fix_8bit(value, defects))
    if not value:
        return None
    fields = parsedate_tz(value) or parsedate_tz(_COMMENT.sub(" ", value).replace(" at ", " "))
    if fields is None:
        return _iso_date(value, defects)
    year, month, day, hour, minute, second = fields[:6]
    if not _EARLIEST_YEAR <= year < _LATEST_YEAR:
        defects.add(f"date out of range: {value[:60]}")
        return None
    try:
        # Lenient about 24:00 and 61 seconds: add the time instead of validating it.
        moment = datetime(year, month, day, tzinfo=timezone.utc)
        moment += timedelta(hours=hour, minutes=minute, seconds=second)
    except (ValueError, OverflowError):
        defects.add(f"date unparseable: {value[:60]}")
        return None
    offset = fields[9] or 0
    if abs(offset) >= 24 * 3600:
        defects.add(f"date has an impossible time zone: {value[:60]}")
        offset = 0
    return moment - timedelta(seconds=offset)


def _iso_date(value: str, defects: _Defects) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        defects.add(f"date unparseable: {value[:60]}")
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if not _EARLIEST_YEAR <= moment.year < _LATEST_YEAR:
        defects.add(f"date out of range: {value[:60]}")
        return None
    return moment.astimezone(timezone.utc)


# -- automatic mail ------------------------------------------------------------------

_AUTO_SUBJECT = re.compile(
    r"(?:auto:|automatic reply|auto[- ]?reply|auto[- ]?response|autosvar|out of (?:the )?office)",
    re.IGNORECASE,
)
_DAEMONS = ("mailer-daemon", "postmaster")


def _auto(msg: Message, head: dict[str, list[str]], sender: Address, subject: str) -> str | None:
    """Bounce before auto-reply before list, as the design asks.

    X-Auto-Response-Suppress is not a signal: Outlook puts it on normal mail.
    """
    precedence = _first(head, "precedence").strip().lower()
    content_type = msg.get_content_type()
    if _is_bounce(msg, content_type, head, sender):
        return "bounce"
    if _is_auto_reply(content_type, head, subject) or precedence == "auto_reply":
        return "auto-reply"
    if head.keys() & {"list-id", "list-unsubscribe", "list-post"} \
            or precedence in ("bulk", "list", "junk"):
        return "list"
    return None


def _is_bounce(msg: Message, content_type: str, head: dict[str, list[str]], sender: Address) -> bool:
    if content_type == "message/delivery-status" or "x-failed-recipients" in head:
        return True
    if content_type == "multipart/report" \
            and (_param(msg, "report-type") or "").lower() == "delivery-status":
        return True
    local_part = sender.email.split("@")[0]
    return local_part in _DAEMONS or "mailer-daemon" in sender.name.lower()


def _is_auto_reply(content_type: str, head: dict[str, list[str]], subject: str) -> bool:
    # Other reports (read receipts, abuse feedback) are machine-made too.
    submitted = _first(head, "auto-submitted").split(";")[0].strip().lower()
    return (submitted not in ("", "no")
            or "x-autoreply" in head or "x-autorespond" in head
            or content_type == "multipart/report"
            or bool(_AUTO_SUBJECT.match(subject)))


def _param(part: Message, name: str) -> str | None:
    """A Content-Type parameter as text (RFC 2231 values come as a tuple)."""
    value = part.get_param(name)
    if isinstance(value, tuple):
        value = value[2]
    return str(value) if value else None
