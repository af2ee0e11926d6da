"""Every message of the shared real-world corpus parses into clean, displayable data.

The corpus lives next to the repository (../shared/corpus) and is never copied
into it; see its SOURCES.md.
"""

import os
import re
import time
from email.parser import BytesParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path

import pytest

from frontdesk.mail.ingest import Ingestor, fingerprint
from frontdesk.mail.parse import ParsedMessage, _plain_addresses, parse_message
from frontdesk.storage.models import Message, Ticket

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
NOT_MESSAGES = {"licenses", "SOURCES.md", "MANIFEST.tsv", "check_corpus.py"}
ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from", "resent-to"}
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


@pytest.fixture(scope="module")
def corpus() -> Path:
    if not CORPUS.is_dir():
        reason = f"email corpus not found at {CORPUS}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI must provide ../shared/corpus)")
        pytest.skip(reason)
    return CORPUS


def message_files(root: Path) -> list[Path]:
    return sorted(
        path for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] not in NOT_MESSAGES
    )


def problems(msg: ParsedMessage) -> list[str]:
    """What would make this message unsafe or useless to show."""
    found = []
    if not msg.text and msg.text_source != "none":
        found.append(f"empty text from {msg.text_source}")
    if msg.text_source not in ("plain", "html", "none"):
        found.append(f"text_source {msg.text_source!r}")
    addresses = (msg.sender, *msg.to, *msg.cc, *msg.reply_to)
    fields = {
        "subject": msg.subject, "text": msg.text,
        **{f"name {a.name!r}": a.name for a in addresses},
        **{f"email {a.email!r}": a.email for a in addresses},
        **{f"filename {a.filename!r}": a.filename for a in msg.attachments},
    }
    for label, value in fields.items():
        bad = FORBIDDEN.search(value)
        if bad:
            found.append(f"{label} contains {bad[0]!r}")
    for line in (msg.subject, msg.sender.name, *(a.filename for a in msg.attachments)):
        if "\n" in line:
            found.append(f"line break in {line!r}")
    if any(d.startswith("message unreadable") for d in msg.defects):
        found.append(f"defects {msg.defects}")
    return found


def test_corpus_parses_clean(corpus: Path) -> None:
    files = message_files(corpus)
    manifest = (corpus / "MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    listed = [line for line in manifest[1:] if line.strip()]
    assert len(files) == len(listed), "messages on disk and in MANIFEST.tsv differ"

    failures = {}
    start = time.perf_counter()
    for path in files:
        try:
            found = problems(parse_message(path.read_bytes()))
        except Exception as exc:   # noqa: BLE001 - parse_message must never raise
            found = [f"raised {type(exc).__name__}: {exc}"]
        if found:
            failures[str(path.relative_to(corpus))] = found
    elapsed = time.perf_counter() - start

    assert not failures, "\n".join(f"{name}: {'; '.join(found)}" for name, found in failures.items())
    assert elapsed < 20, f"corpus took {elapsed:.1f} s"


def test_corpus_address_fast_path_matches_getaddresses(corpus: Path) -> None:
    """Every address header of the corpus reads the same through the fast path."""
    plain = 0
    values = []
    for path in message_files(corpus):
        headers = BytesParser(policy=compat32).parsebytes(path.read_bytes(), headersonly=True)
        by_name: dict[str, list[str]] = {}
        for name, value in headers.raw_items():
            if name.lower() in ADDRESS_HEADERS:
                by_name.setdefault(name.lower(), []).append(str(value))
        values += [", ".join(found) for found in by_name.values()]
    for value in values:
        fast = _plain_addresses(value)
        if fast is not None:
            plain += 1
            assert fast == getaddresses([value]), value
    assert plain > len(values) // 2, f"fast path read only {plain} of {len(values)} headers"


def test_corpus_threads_are_linked(corpus: Path) -> None:
    """The real ASF list threads: every reply names its parent by Message-ID."""
    threads = sorted((corpus / "apache-ponymail-unit-tests" / "threads").glob("*.eml"))
    messages = [parse_message(path.read_bytes()) for path in threads]
    known = {m.message_id for m in messages}
    replies = [m for m in messages if m.in_reply_to]
    assert len(replies) >= 20
    # The ".htaccess" thread's root is missing from the archive, but its replies
    # still name each other.
    unlinked = [m.subject for m in replies if m.in_reply_to not in known and not set(m.references) & known]
    assert unlinked == []
    assert all(m.date is not None and m.sender.email for m in messages)


def test_corpus_imports_with_nothing_lost(corpus: Path, store) -> None:
    """Every file becomes a stored message, or is a true duplicate of one (same id and content)."""
    files = message_files(corpus)
    ingestor = Ingestor(store)
    summaries = list(ingestor.ingest_all((str(path), path.read_bytes()) for path in files))
    summary = summaries[-1]
    assert summary.read == len(files)
    assert Message.select().count() == len(files) - summary.duplicates
    assert Ticket.select().count() == summary.new_tickets
    for raw_path in files:
        parsed = parse_message(raw_path.read_bytes())
        stored = Message.select().where(Message.fingerprint == fingerprint(parsed))
        assert stored.exists(), f"{raw_path} was not stored"
    shown = Message.select(Message.body_text, Message.body_source)
    assert all(m.body_text.strip() or m.body_source == "none" for m in shown)
