"""Turn raw bytes into stored messages: parse, dedupe, thread, and keep the original."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from frontdesk.storage.store import MessageRecord, Store, Stored

from .parse import ParsedMessage, parse_message

Outcome = Stored  # what became of a message: the store decides it

# Stored with each message; bump it when parse_message's output changes, so that old messages
# can be found and re-read from their raw bytes.
PARSER_VERSION = 1

# A Date header further ahead than this is a broken clock, not a message from the future.
_FUTURE_SLACK = timedelta(hours=12)


@dataclass
class IngestSummary:
    read: int = 0
    new_tickets: int = 0
    threaded: int = 0
    duplicates: int = 0
    with_defects: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def count(self, outcome: Outcome, record: MessageRecord) -> None:
        self.read += 1
        if outcome == "new":
            self.new_tickets += 1
        elif outcome == "threaded":
            self.threaded += 1
        else:
            self.duplicates += 1
        if record.defects:
            self.with_defects += 1


class Ingestor:
    def __init__(self, store: Store) -> None:
        self.store = store
        address = store.config.support.address
        self.support_address = address.lower() if address else None

    def ingest(
        self, raw: bytes, source: str, received_at: datetime | None = None, outbound: bool | None = None
    ) -> tuple[Outcome, MessageRecord]:
        """received_at: when the mailbox got it (IMAP INTERNALDATE); files fall back to the Date header.
        outbound: known to be ours (found in the Sent folder); None decides by the sender."""
        record = prepare(raw, source, received_at, self.store.clock.now())
        return self.store_prepared([(record, outbound)])[0], record

    def store_prepared(self, prepared: Sequence[tuple[MessageRecord, bool | None]]) -> list[Outcome]:
        """Store prepared messages in their order, in the caller's transaction: dedupe, then thread
        each into a ticket or open one."""
        return self.store.add_messages(
            [(record, self._sent_by_us(record) if outbound is None else outbound) for record, outbound in prepared]
        )

    def _sent_by_us(self, record: MessageRecord) -> bool:
        return bool(self.support_address) and record.from_email == self.support_address

    def ingest_all(self, messages: Iterable[tuple[str, bytes]], batch: int = 500) -> Iterator[IngestSummary]:
        """Ingest (source, raw) pairs in transactions of `batch`; yields the running summary after each."""
        summary = IngestSummary()
        pending = iter(messages)
        while True:
            now = self.store.clock.now()
            records = [prepare(raw, source, None, now) for source, raw in islice(pending, batch)]
            if not records:
                return
            with self.store.transaction():
                outcomes = self.store_prepared([(record, None) for record in records])
            for outcome, record in zip(outcomes, records, strict=True):
                summary.count(outcome, record)
            yield summary
            if len(records) < batch:
                return


def prepare(raw: bytes, source: str, received_at: datetime | None, now: datetime) -> MessageRecord:
    """Parse one message into what the store keeps. Pure (no store, no clock of its own), so it
    can run in another process."""
    parsed = parse_message(raw)
    if received_at is None:
        plausible = parsed.date is not None and parsed.date <= now + _FUTURE_SLACK
        received_at = parsed.date if plausible else now
    thread_ids = ([parsed.in_reply_to] if parsed.in_reply_to else []) + list(reversed(parsed.references))
    return MessageRecord(
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        refs=list(parsed.references),
        from_email=parsed.sender.email,
        from_name=parsed.sender.name,
        to_addrs=[address.email for address in parsed.to if address.email],
        cc_addrs=[address.email for address in parsed.cc if address.email],
        subject=parsed.subject,
        sent_at=parsed.date,
        received_at=received_at,
        body_text=parsed.text,
        body_source=parsed.text_source,
        attachments=[
            {"filename": a.filename, "content_type": a.content_type, "size": a.size, "inline": a.inline}
            for a in parsed.attachments
        ],
        defects=list(parsed.defects),
        auto=parsed.auto,
        fingerprint=fingerprint(parsed),
        raw_zlib=zlib.compress(raw, 1),
        raw_size=len(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        source=source,
        parser_version=PARSER_VERSION,
        thread_ids=list(dict.fromkeys(thread_ids)),
    )


def fingerprint(parsed: ParsedMessage) -> str:
    """What makes two deliveries the same message, whatever Received headers they picked up."""
    digest = hashlib.sha256()
    date = parsed.date.isoformat() if parsed.date else ""
    for part in (parsed.sender.email, date, parsed.subject, parsed.text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    for attachment in parsed.attachments:
        digest.update(f"{attachment.filename}\0{attachment.size}\0".encode("utf-8", "surrogatepass"))
    return digest.hexdigest()
