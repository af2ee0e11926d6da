"""The ticket store: the database behind Peewee, mail threaded into tickets, and what the screens
read. Every change a person makes to a ticket is a use case: storage/usecases.py."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Literal, TypeVar

from peewee import Database, IntegerField, PeeweeException, TextField, fn

from .clock import Clock
from .config import Config
from .database import ChangeWatch, describe, is_postgres, is_unavailable, open_database, shared_group
from .drafts import KeptDrafts
from .errors import DraftKeptHere, Seen, StoreError
from .fulltext import SEARCH_WORD, search_vector, tickets_with_text
from .models import (
    BaseModel,
    Customer,
    Draft,
    Event,
    Message,
    Outbox,
    Owner,
    Snippet,
    StoreFact,
    Ticket,
    UtcDateTimeField,
)
from .snippets import BUILT_IN_SNIPPETS, Filled, SnippetError, fill, fill_for_editing, load_snippet_dir, snippet_files
from .status import DeskStatus, desk_status
from .views import (
    TicketView,
    first_screen,
    next_due,
    recently_resolved,
    ticket_due_time,
    ticket_view,
    ticket_views,
)

_TICKET_TOKEN = re.compile(r"\[#(\d{1,9})\]")
_IN_LIST = 900  # values per IN (...): within even an old SQLite's limit of 999 parameters
Stored = Literal["duplicate", "new", "threaded"]  # what became of a message given to the store
Filling = TypeVar("Filling")  # a filled snippet: its text, or a Filled with the cursor's place
_stored = UtcDateTimeField()
# PostgreSQL: ticket numbers come from this sequence, taken by one batch at a time (Store._next_ticket_id)
_TICKET_SEQUENCE = "pg_get_serial_sequence('ticket', 'id')"
_OPENING_TICKETS = int.from_bytes(b"tickets")  # the advisory lock a batch holds meanwhile
# What storing mail changes of a ticket it already had (Store._after_reply), and its due time
_CHANGED_BY_MAIL = (
    "updated_at", "created_at", "first_response_at", "state", "resolved_at", "pauses", "message_count", "version",
    "next_due_at",
)


@dataclass(frozen=True)
class MessageRecord:
    """A parsed message as the store keeps it (built by mail/, which the store never imports)."""

    message_id: str | None
    in_reply_to: str | None
    refs: Sequence[str]
    from_email: str
    from_name: str
    to_addrs: Sequence[str]
    cc_addrs: Sequence[str]
    subject: str
    sent_at: datetime | None
    received_at: datetime
    body_text: str
    body_source: str
    attachments: Sequence[dict]
    defects: Sequence[str]
    auto: str | None
    fingerprint: str
    # The original, compressed (zlib) where it was parsed: in a sync, in the parsing processes.
    raw_zlib: bytes
    raw_size: int
    raw_sha256: str
    source: str
    parser_version: int
    thread_ids: Sequence[str] = field(default=())  # ids this message answers, nearest first
    # Its words for PostgreSQL's search (fulltext.search_vector), where a parsing process made them
    search_vector: bytes | None = None

    def searched_text(self) -> str:
        """What a search looks in: the columns of SQLite's message_fts."""
        return f"{self.subject} {self.from_name} {self.from_email} {self.body_text}"


_NOT_COPIED = ("raw_zlib", "thread_ids", "search_vector")
_COPIED_FROM_RECORD = tuple(f.name for f in fields(MessageRecord) if f.name not in _NOT_COPIED)


@dataclass
class _Batch:
    """What storing a batch of messages looks up, read at once and kept current as the batch is stored."""

    fingerprints: set[tuple[str, str]] = field(default_factory=set)  # (Message-ID, fingerprint) of stored messages
    raw_digests: set[str] = field(default_factory=set)  # raw_sha256 of stored messages
    newest_with_id: dict[str, tuple[int, int]] = field(default_factory=dict)  # Message-ID: (message, its ticket)
    newest_reply_to: dict[str, tuple[int, int]] = field(default_factory=dict)  # In-Reply-To: (message, its ticket)
    tickets: dict[int, Ticket] = field(default_factory=dict)  # those the batch may thread into, as they stand now
    # Tickets the batch opened, written together at the end, their ids taken as INSERTs would give them
    opened: dict[int, Ticket] = field(default_factory=dict)
    next_ticket_id: int | None = None
    messages: list[dict] = field(default_factory=list)  # written together at the end, in order
    events: list[dict] = field(default_factory=list)  # likewise
    searchable: list[tuple] = field(default_factory=list)  # SQLite's message_fts rows, filled together at the end
    touched: set[int] = field(default_factory=set)  # tickets whose due times to refresh at the end

    def is_new(self, record: MessageRecord) -> bool:
        """False for a duplicate; a new message counts as stored from here on."""
        if record.message_id:
            duplicate = (record.message_id, record.fingerprint) in self.fingerprints
        else:
            duplicate = record.raw_sha256 in self.raw_digests
        if not duplicate:
            if record.message_id is not None:
                self.fingerprints.add((record.message_id, record.fingerprint))
            self.raw_digests.add(record.raw_sha256)
        return not duplicate

    def stored(self, record: MessageRecord, stored_id: int, ticket_id: int) -> None:
        if record.message_id is not None:
            _keep_newest(self.newest_with_id, record.message_id, stored_id, ticket_id)
        if record.in_reply_to is not None:
            _keep_newest(self.newest_reply_to, record.in_reply_to, stored_id, ticket_id)
        self.touched.add(ticket_id)

    def log(self, ticket_id: int, kind: str, data: dict, at: datetime, version: int | None = None) -> None:
        self.events.append(dict(ticket=ticket_id, at=at, actor="mail", kind=kind, data=data, version=version))


def _keep_newest(newest: dict[str, tuple[int, int]], key: str, message: int, ticket: int) -> None:
    if key not in newest or newest[key][0] < message:
        newest[key] = (message, ticket)


def _in_lists(values: Iterable) -> Iterator[tuple[str, list]]:
    """The values a chunk at a time, each with the `?` marks of its IN (...) list."""
    values = list(values)
    for start in range(0, len(values), _IN_LIST):
        chunk = values[start : start + _IN_LIST]
        yield ",".join("?" * len(chunk)), chunk


def _db_values(model: type[BaseModel], values: dict) -> list:
    return _db_rows(model, [values])[0]


def _db_rows(model: type[BaseModel], rows: Sequence[dict]) -> list[list]:
    """Rows with the same columns, in their order, as the database takes them: only the columns
    whose field converts are touched (a message has 7 of 25)."""
    if not rows:
        return []
    convert = _converters(model)
    converting = [(index, to_db) for index, name in enumerate(rows[0]) if (to_db := convert.get(name)) is not None]
    converted = []
    for row in rows:
        values = list(row.values())
        for index, to_db in converting:
            values[index] = to_db(values[index])
        converted.append(values)
    return converted


def _column(model: type[BaseModel], name: str) -> str:
    """A field's column; a column the model leaves out (PostgreSQL's message search, which
    SQLite's table lacks) by its own name, its value written as it is."""
    field = model._meta.fields.get(name)
    return name if field is None else field.column_name


@cache
def _converters(model: type[BaseModel]) -> dict[str, Callable[[object], object] | None]:
    """Each field's db_value; None where the value goes in as it is (text and integers, which the
    store hands over as such): the ingest converts some twenty values per message."""
    plain = (TextField, IntegerField)
    return {name: None if type(field) in plain else field.db_value for name, field in model._meta.fields.items()}


def _due_time(view: TicketView | None) -> datetime | None:
    return None if view is None or view.state == "resolved" else next_due(view.sla)


class Store:
    def __init__(self, target: str | Path, db: Database, config: Config, clock: Clock, changes: ChangeWatch) -> None:
        self.target = target
        self.db = db
        self._kept_drafts = KeptDrafts.for_database(describe(target))
        self.config = config
        self.clock = clock
        self.actor = config.me.name if config.me is not None else config.support.rep_name  # who every change is by
        self._changes = changes
        self.notices: list[str] = []  # what opening did that the user should hear about
        self.snippet_problems: list[str] = []  # the team's snippet files skipped, with why
        self._snippet_files: frozenset[tuple[str, int, int]] | None = None  # the folder as last read
        self._from_folder: set[str] = set()  # the snippets the folder gave
        self._snippet_lock = threading.Lock()  # the composer reads snippets off the event loop
        self._customer_ids: dict[str, int] | None = None
        self._sql: dict[tuple, str] = {}
        self._copy_types: dict[tuple, list[int]] = {}  # a binary COPY's columns (_column_types)

    @classmethod
    def open(cls, target: str | Path, config: Config, clock: Clock, password: str | None = None) -> Store:
        """target: a SQLite file, or a postgresql:// URL (its password given apart, never in it)."""
        notices: list[str] = []  # e.g. a database file's mode tightened; the CLI prints them
        db = open_database(target, password, group=shared_group(target, config), notices=notices)
        store = cls(target, db, config, clock, ChangeWatch(db, str(target), password))
        store.notices = notices
        expected = store._facts_expected()
        # Read first, without the write lock (SQLite's IMMEDIATE transaction would wait for a sync's
        # batch): only a new config or version has anything to write.
        if store._facts(expected) != expected:
            with store.db.atomic():
                store._sync_directory_if_changed(expected["directory"])
                store._seed_built_in_snippets(expected["built-in snippets"])
                store._refresh_due_times_if_settings_changed(expected["sla_settings"])
        store._read_team_snippets()
        return store

    @property
    def on_postgres(self) -> bool:
        return is_postgres(self.db)

    def close(self) -> None:
        self._changes.close()
        self.db.close()

    def release(self) -> None:
        """A worker thread is done with the database: its connection is closed, or on PostgreSQL
        goes back to the pool for the next worker."""
        if not self.db.is_closed() and not self.db.in_transaction():
            self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.db.atomic():
            yield

    # --- people and snippets from the configuration ---------------------------------------

    def _facts_expected(self) -> dict[str, str]:
        """What the stored facts say once this config and version have been opened."""
        return {
            "directory": _digest((self.config.customers, self.config.owners)),
            "built-in snippets": _digest(sorted(BUILT_IN_SNIPPETS)),
            "sla_settings": self._sla_settings(),
        }

    def _sync_directory_if_changed(self, directory: str) -> None:
        """Its UPDATEs scan the tickets (a tenth of a second at 100,000): only when the config's
        customers or owners differ from those of the last open."""
        if self._fact("directory") != directory:
            self._sync_directory()
            self._keep_fact("directory", directory)

    def _sync_directory(self) -> None:
        """Customers and owners come from the config; old rows stay for the history."""
        for customer in self.config.customers:
            values = dict(
                domains=list(customer.domains),
                deployment=customer.deployment,
                policy=customer.policy,
                account_executive=customer.account_executive,
            )
            row, created = Customer.get_or_create(name=customer.name, defaults=values)
            if not created:
                Customer.update(values).where(Customer.id == row.id).execute()
            self._attach_unmatched_tickets(row.id, customer.domains)
        configured = [owner.email for owner in self.config.owners]
        for owner in self.config.owners:
            values = dict(name=owner.name, team=owner.team, areas=list(owner.areas), active=1)
            row, created = Owner.get_or_create(email=owner.email, defaults=values)
            if not created:
                Owner.update(values).where(Owner.id == row.id).execute()
        Owner.update(active=0).where(Owner.email.not_in(configured)).execute()

    def _attach_unmatched_tickets(self, customer_id: int, domains: Iterable[str]) -> None:
        for domain in domains:
            (
                Ticket.update(customer=customer_id)
                .where(
                    Ticket.customer.is_null()
                    & (Ticket.requester_email.endswith("@" + domain) | Ticket.requester_email.endswith("." + domain))
                )
                .execute()
            )

    def _seed_built_in_snippets(self, built_in: str) -> None:
        """Once (a query each, so only when this version brings new ones)."""
        if self._fact("built-in snippets") != built_in:
            now = self.clock.now()
            for name, (title, body) in BUILT_IN_SNIPPETS.items():
                Snippet.get_or_create(name=name, defaults=dict(title=title, body=body, updated_at=now))
            self._keep_fact("built-in snippets", built_in)

    def _read_team_snippets(self) -> None:
        """The team's folder on every open, and again when its files change (`snippets`)."""
        folder = self.config.support.snippets_dir
        if folder is None:
            return
        if not folder.is_dir():
            self.snippet_problems = [f"{folder}: snippets_dir is not a folder"]
            return
        self._read_snippet_folder(folder)

    def _read_snippet_folder(self, folder: Path) -> None:
        """The team's snippets as the folder's files say now: a file that went away gives its name
        back to the built-in snippet, or to nobody; one that can't be read keeps its last text
        and is named in snippet_problems."""
        self._snippet_files = snippet_files(folder)  # before reading: a change meanwhile is read next time
        snippets, self.snippet_problems = load_snippet_dir(folder)
        now = self.clock.now()
        with self.db.atomic():
            for snippet in snippets:
                values = dict(title=snippet.title, body=snippet.body, updated_at=now)
                Snippet.insert(name=snippet.name, **values).on_conflict(
                    conflict_target=[Snippet.name], update=values
                ).execute()
            for name in self._from_folder - {snippet.name for snippet in snippets}:
                if (folder / f"{name}.md").exists():
                    continue
                if name in BUILT_IN_SNIPPETS:
                    title, body = BUILT_IN_SNIPPETS[name]
                    Snippet.update(title=title, body=body, updated_at=now).where(Snippet.name == name).execute()
                else:
                    Snippet.delete().where(Snippet.name == name).execute()
        given = self._from_folder | {snippet.name for snippet in snippets}
        self._from_folder = {name for name in given if (folder / f"{name}.md").exists()}

    # --- due times kept for the inbox's first screen -------------------------------------

    def _sla_settings(self) -> str:
        """What the due times depend on besides the tickets: a change means computing them again."""
        customers = sorted((c.name, c.policy or "", tuple(c.domains)) for c in self.config.customers)
        return _digest((self.config.sla, self.config.calendar, customers))

    def _refresh_due_times_if_settings_changed(self, settings: str) -> None:
        if self._fact("sla_settings") == settings:
            return
        due = [(_stored.db_value(next_due(view.sla)), view.id) for view in self.views()]
        self.db.execute_sql("UPDATE ticket SET next_due_at = NULL")
        self.db.cursor().executemany(self._portable("UPDATE ticket SET next_due_at = ? WHERE id = ?"), due)
        self._keep_fact("sla_settings", settings)

    def _fact(self, key: str) -> str | None:
        stored = StoreFact.get_or_none(StoreFact.key == key)
        return None if stored is None else stored.value

    def _facts(self, keys: Iterable[str]) -> dict[str, str]:
        return dict(StoreFact.select(StoreFact.key, StoreFact.value).where(StoreFact.key.in_(list(keys))).tuples())

    def _keep_fact(self, key: str, value: str) -> None:
        StoreFact.insert(key=key, value=value).on_conflict(
            conflict_target=[StoreFact.key], update={StoreFact.value: value}
        ).execute()

    def _refresh_due(self, ticket_id: int) -> None:
        due = _due_time(ticket_view(self.config, self.clock.now(), ticket_id))
        self._execute("UPDATE ticket SET next_due_at = ? WHERE id = ?", (_stored.db_value(due), ticket_id))

    def _update_earlier_tickets(self, batch: _Batch, policies: dict[int, str | None], now: datetime) -> None:
        """Tickets from before the batch that it stored mail to, as it holds them, with their due
        times: an UPDATE each, together. Nobody else changed them meanwhile: on SQLite the batch's
        transaction admits no other writer; on PostgreSQL _lookups locked their rows."""
        earlier = [batch.tickets[ticket_id] for ticket_id in batch.touched if ticket_id not in batch.opened]
        for ticket in earlier:
            ticket.next_due_at = self._due_in_memory(ticket, policies, now)
        assignments = ", ".join(f"{Ticket._meta.fields[name].column_name} = ?" for name in _CHANGED_BY_MAIL)
        changed = [{name: getattr(ticket, name) for name in (*_CHANGED_BY_MAIL, "id")} for ticket in earlier]
        rows = _db_rows(Ticket, changed)
        self.db.cursor().executemany(self._portable(f"UPDATE ticket SET {assignments} WHERE id = ?"), rows)

    def _due_in_memory(self, ticket: Ticket, policies: dict[int, str | None], now: datetime) -> datetime | None:
        return ticket_due_time(self.config, now, ticket, policies.get(ticket.customer_id))

    def first_screen(self, limit: int = 200) -> list[TicketView]:
        return first_screen(self.config, self.clock.now(), limit)

    def desk_status(self) -> DeskStatus:
        return desk_status(self.config, self.clock.now())

    def customer_id_for_email(self, email: str) -> int | None:
        configured = self.config.customer_for_email(email)
        if configured is None:
            return None
        if self._customer_ids is None:
            self._customer_ids = dict(Customer.select(Customer.name, Customer.id).tuples())
        return self._customer_ids.get(configured.name)

    def owners(self) -> list[Owner]:
        return list(Owner.select().where(Owner.active == 1).order_by(Owner.team, Owner.name).execute(self.db))

    def open_tickets_by_owner(self) -> dict[int, int]:
        """How many unresolved tickets each owner carries: the hand-off picker shows the load."""
        query = (
            Ticket.select(Ticket.owner, fn.COUNT(Ticket.id))
            .where((Ticket.state != "resolved") & Ticket.owner.is_null(False))
            .group_by(Ticket.owner)
        )
        return dict(query.tuples())

    def snippets(self) -> list[Snippet]:
        self._refresh_snippets()
        return list(Snippet.select().order_by(Snippet.name))

    def _refresh_snippets(self) -> None:
        """The team's folder read again if one of its files changed: a listing of the folder costs
        little, so each use of the snippets looks (no watching thread)."""
        folder = self.config.support.snippets_dir
        if folder is not None and folder.is_dir():
            with self._snippet_lock:
                if snippet_files(folder) != self._snippet_files:
                    self._read_snippet_folder(folder)

    # --- ingest --------------------------------------------------------------------------

    # Ingest is the hot path of an import: its statements are written once and reused, because
    # building them through the ORM cost more than parsing the mail.

    def add_messages(self, items: Sequence[tuple[MessageRecord, bool]]) -> list[Stored]:
        """Store (message, outbound) pairs in their order, as one at a time would: a duplicate is
        skipped, the rest threaded into a ticket or opening one. What threading and deduplication
        look up is read for the whole batch at once and kept current as it stores; the messages (their
        ids taken beforehand), events, search index and due times are written together at the end."""
        records = [record for record, _ in items]
        with self.db.atomic():
            if self.on_postgres:  # see _next_ticket_id; first, before any row lock: no deadlock with another batch
                self.db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_OPENING_TICKETS,))
            batch = self._lookups(records)
            new = [batch.is_new(record) for record in records]
            message_ids = iter(self._next_message_ids(sum(new)))
            outcomes = [
                self._add_message(batch, record, outbound, next(message_ids)) if is_new else "duplicate"
                for (record, outbound), is_new in zip(items, new, strict=True)
            ]
            policies, now = dict(Customer.select(Customer.id, Customer.policy).tuples()), self.clock.now()
            for ticket in batch.opened.values():  # nobody else has seen them: their due times as they stand
                ticket.next_due_at = self._due_in_memory(ticket, policies, now)
            # Every column, so every row has the same ones (__data__: a customer's id, not a query for it)
            opened = [{name: ticket.__data__.get(name) for name in Ticket._meta.fields} for ticket in batch.opened.values()]
            self._insert_many(Ticket, opened)
            if self.on_postgres and opened:
                self._execute(f"SELECT setval({_TICKET_SEQUENCE}, ?)", (batch.next_ticket_id - 1,))
            self._insert_many(Message, batch.messages)
            self._insert_many(Event, batch.events)
            if not self.on_postgres:
                self.db.cursor().executemany(
                    "INSERT INTO message_fts (rowid, subject, from_name, from_email, body_text) VALUES (?, ?, ?, ?, ?)",
                    batch.searchable,
                )
            self._update_earlier_tickets(batch, policies, now)
        return outcomes

    def _lookups(self, records: Sequence[MessageRecord]) -> _Batch:
        """Duplicates: same Message-ID and same content; without a Message-ID, the same raw bytes.
        Threads: the newest stored message with an id a message answers; the newest stored reply to it."""
        message_ids = {record.message_id for record in records if record.message_id}
        thread_ids = {thread_id for record in records for thread_id in record.thread_ids}
        batch = _Batch()
        sql = "SELECT id, message_id, ticket_id, fingerprint FROM message WHERE message_id IN ({})"
        for stored_id, message_id, ticket_id, fingerprint in self._rows_in(sql, message_ids | thread_ids):
            batch.fingerprints.add((message_id, fingerprint))
            _keep_newest(batch.newest_with_id, message_id, stored_id, ticket_id)
        sql = "SELECT id, in_reply_to, ticket_id FROM message WHERE in_reply_to IN ({})"
        for stored_id, in_reply_to, ticket_id in self._rows_in(sql, message_ids):
            _keep_newest(batch.newest_reply_to, in_reply_to, stored_id, ticket_id)
        digests = {record.raw_sha256 for record in records if not record.message_id}
        sql = "SELECT raw_sha256 FROM message WHERE raw_sha256 IN ({})"
        batch.raw_digests.update(digest for (digest,) in self._rows_in(sql, digests))
        ticket_ids = {ticket_id for _, ticket_id in [*batch.newest_with_id.values(), *batch.newest_reply_to.values()]}
        ticket_ids.update(int(token.group(1)) for record in records if (token := _TICKET_TOKEN.search(record.subject)))
        # On PostgreSQL locked until the batch ends: it changes them in memory (_update_earlier_tickets)
        lock = " ORDER BY id FOR UPDATE" if self.on_postgres else ""
        for marks, chunk in _in_lists(sorted(ticket_ids)):
            found = Ticket.raw(self._portable(f"SELECT * FROM ticket WHERE id IN ({marks}){lock}"), *chunk)
            batch.tickets.update((ticket.id, ticket) for ticket in found)
        return batch

    def _next_ticket_id(self, batch: _Batch) -> int:
        """The id an INSERT would have given, with nobody else taking one meanwhile: SQLite's next
        rowid, one past the largest (the transaction began IMMEDIATE); on PostgreSQL the sequence's
        next ones, set past them at the end, while the batch holds the lock every batch takes."""
        if batch.next_ticket_id is None:
            sql = f"SELECT nextval({_TICKET_SEQUENCE})" if self.on_postgres else "SELECT coalesce(max(id), 0) + 1 FROM ticket"
            batch.next_ticket_id = self.db.execute_sql(sql).fetchone()[0]
        batch.next_ticket_id += 1
        return batch.next_ticket_id - 1

    def _next_message_ids(self, count: int) -> list[int]:
        """The ids the next `count` messages would get one INSERT at a time."""
        if self.on_postgres:
            sql = "SELECT nextval(pg_get_serial_sequence('message', 'id')) FROM generate_series(1, %s)"
            return sorted(stored_id for (stored_id,) in self.db.execute_sql(sql, (count,)))
        last = self.db.execute_sql("SELECT coalesce(max(id), 0) FROM message").fetchone()[0]
        return list(range(last + 1, last + 1 + count))  # SQLite's next rowid: one past the largest

    def _rows_in(self, sql: str, values: Iterable) -> Iterator[tuple]:
        """The rows of `sql` for every value in its `IN ({})`, read a chunk of values at a time."""
        for marks, chunk in _in_lists(values):
            yield from self._execute(sql.format(marks), chunk)

    def _add_message(self, batch: _Batch, record: MessageRecord, outbound: bool, stored_id: int) -> Stored:
        ticket = self._thread(batch, record, outbound)
        created = ticket is None
        if created:
            ticket = self._open_ticket(batch, record, outbound)
        copied = {name: getattr(record, name) for name in _COPIED_FROM_RECORD}
        message = dict(
            id=stored_id,
            ticket=ticket.id,
            direction="out" if outbound else "in",
            raw=record.raw_zlib,
            created_at=self.clock.now(),
            **copied,
        )
        if self.on_postgres:
            message["search"] = record.search_vector or search_vector(record.searched_text())
        else:
            batch.searchable.append((stored_id, record.subject, record.from_name, record.from_email, record.body_text))
        batch.messages.append(message)
        batch.stored(record, stored_id, ticket.id)
        if not created:
            self._after_reply(batch, ticket, record, outbound, stored_id)
        return "new" if created else "threaded"

    def _thread(self, batch: _Batch, record: MessageRecord, sender_is_support: bool) -> Ticket | None:
        """The messages it answers; a stored reply to it (when mail arrives out of order); then a
        [#id] token in the subject if the sender belongs to that ticket."""
        answered = [batch.newest_with_id[i] for i in record.thread_ids if i in batch.newest_with_id]
        if answered:
            return batch.tickets.get(max(answered)[1])
        if record.message_id and record.message_id in batch.newest_reply_to:
            return batch.tickets.get(batch.newest_reply_to[record.message_id][1])
        token = _TICKET_TOKEN.search(record.subject)
        if token is None:
            return None
        ticket = batch.tickets.get(int(token.group(1)))
        if ticket is not None and (sender_is_support or self._sender_belongs(ticket, record.from_email)):
            return ticket
        return None

    def _sender_belongs(self, ticket: Ticket, sender: str) -> bool:
        if sender and sender == ticket.requester_email:
            return True
        customer_id = self.customer_id_for_email(sender)
        return customer_id is not None and customer_id == ticket.customer_id

    def _open_ticket(self, batch: _Batch, record: MessageRecord, outbound: bool) -> Ticket:
        # Mail we sent first (outreach) is a ticket with whoever we wrote to.
        requester = record.to_addrs[0] if outbound and record.to_addrs else record.from_email
        values = dict(
            subject=record.subject,
            requester_email=requester,
            requester_name="" if outbound else record.from_name,
            customer=self.customer_id_for_email(requester),
            state="open" if outbound else "new",
            automated=None if outbound else record.auto,
            created_at=record.received_at,
            updated_at=record.received_at,
            first_response_at=record.received_at if outbound else None,
            pauses=[],
            message_count=1,
        )
        ticket = Ticket(id=self._next_ticket_id(batch), version=0, **values)
        batch.opened[ticket.id] = ticket
        batch.tickets[ticket.id] = ticket
        batch.log(ticket.id, "created", {"source": record.source, "message_id": record.message_id}, record.received_at)
        return ticket

    def _after_reply(
        self, batch: _Batch, ticket: Ticket, record: MessageRecord, outbound: bool, stored_id: int
    ) -> None:
        """A further message on a ticket: counts, times, and the state it moves the ticket to.
        A customer's message is a change a rep must not overlook: it takes the ticket to its next
        version, like a person's change (storage/usecases.py). Our own replies coming back are not."""
        at = record.received_at
        changes: dict = {"updated_at": max(at, ticket.updated_at)}
        moved: dict | None = None
        if not outbound and at < ticket.created_at:
            changes["created_at"] = at  # an earlier message arrived late
        if outbound:
            if ticket.first_response_at is None or at < ticket.first_response_at:
                changes["first_response_at"] = at
            if ticket.state == "new":
                changes["state"] = "open"
                moved = {"from": "new", "to": "open"}
        elif record.auto is None and ticket.state in ("waiting", "resolved"):
            changes.update(self._state_changes(ticket, "open", at))
            moved = {"from": ticket.state, "to": "open"}
        version = self._count_message(ticket, changes, new_version=not outbound)
        if outbound:
            version = None
        if moved is not None:
            batch.log(ticket.id, "state", moved, at, version)
        # "id": the stored message, which a held send shows (storage/usecases.py).
        data = {"direction": "out" if outbound else "in", "message_id": record.message_id, "id": stored_id}
        batch.log(ticket.id, "message", data, at, version)

    def _portable(self, sql: str) -> str:
        """Statements are written with SQLite's `?`; PostgreSQL's driver wants `%s`."""
        return sql.replace("?", self.db.param) if self.db.param != "?" else sql

    def _execute(self, sql: str, params: Sequence = ()):
        return self.db.execute_sql(self._portable(sql), params)

    def _first(self, sql: str, params: Sequence) -> tuple | None:
        return self._execute(sql, params).fetchone()

    def _ticket_row(self, ticket_id: int) -> Ticket | None:
        return next(iter(Ticket.raw(self._portable("SELECT * FROM ticket WHERE id = ?"), ticket_id)), None)

    def _insert(self, model: type[BaseModel], **values: object) -> int:
        cursor = self.db.execute_sql(self._insert_statement(model, tuple(values), True), _db_values(model, values))
        return cursor.fetchone()[0] if self.on_postgres else cursor.lastrowid

    def _insert_many(self, model: type[BaseModel], rows: Sequence[dict]) -> None:
        """Rows with the same columns, in their order, their ids not wanted. On PostgreSQL by COPY:
        the rows stream in one statement, where an INSERT each cost a third more."""
        if not rows:
            return
        if self.on_postgres:
            names = tuple(rows[0])
            columns = ", ".join(_column(model, name) for name in names)
            types = self._column_types(model, names)  # not during the COPY: it has the connection
            # Binary: no text for the server to parse (bytea in hex, the search words). Its CPU for
            # storing 10,000 messages went from 3.2 to 1.8 s, ours from 1.5 to 1.0 s.
            with self.db.cursor().copy(f"COPY {model._meta.table_name} ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for values in _db_rows(model, rows):
                    copy.write_row(values)
        else:
            sql = self._insert_statement(model, tuple(rows[0]), False)
            self.db.cursor().executemany(sql, _db_rows(model, rows))

    def _column_types(self, model: type[BaseModel], names: tuple[str, ...]) -> list[int]:
        """The PostgreSQL types of these columns (a binary COPY needs them), as the schema has them."""
        key = (model, names)
        types = self._copy_types.get(key)
        if types is None:
            table = model._meta.table_name
            found = dict(self._execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped",
                (table,),
            ).fetchall())
            types = self._copy_types[key] = [found[_column(model, name)] for name in names]
        return types

    def _insert_statement(self, model: type[BaseModel], names: tuple[str, ...], returning: bool) -> str:
        key = ("insert", model, names, returning)
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(_column(model, name) for name in names)
            marks = ", ".join([self.db.param] * len(names))
            returning_id = " RETURNING id" if returning and self.on_postgres else ""
            sql = self._sql[key] = f"INSERT INTO {model._meta.table_name} ({columns}) VALUES ({marks}){returning_id}"
        return sql

    def _count_message(self, ticket: Ticket, changes: dict, new_version: bool) -> int:
        """Apply a message's changes to its ticket as the batch holds it, written when the batch
        ends; returns the ticket's version after them."""
        ticket.message_count += 1
        ticket.version += new_version
        for name, value in changes.items():
            setattr(ticket, name, value)
        return ticket.version

    # --- tickets: every change a person makes is a use case (storage/usecases.py) ---------

    def ticket(self, ticket_id: int) -> Ticket:
        ticket = Ticket.get_or_none(Ticket.id == ticket_id)
        if ticket is None:
            raise StoreError(f"no ticket #{ticket_id}")
        return ticket

    def _state_changes(self, ticket: Ticket, state: str, at: datetime) -> dict:
        """Moving out of waiting closes its pause; reopening a resolved ticket pauses over the gap."""
        pauses = [list(p) for p in ticket.pauses]
        changes: dict = {"state": state, "updated_at": max(at, ticket.updated_at)}
        if ticket.state == "waiting" and pauses and pauses[-1][1] is None:
            pauses[-1][1] = _stored.db_value(at)
        if ticket.state == "resolved" and ticket.resolved_at is not None:
            pauses.append([_stored.db_value(ticket.resolved_at), _stored.db_value(at)])
            changes["resolved_at"] = None
        if state == "waiting":
            pauses.append([_stored.db_value(at), None])
        if state == "resolved":
            changes["resolved_at"] = at
        changes["pauses"] = pauses
        return changes

    def render_snippet(self, ticket_id: int, name: str, editable: bool = False) -> str:
        """The snippet filled for this ticket. `editable`: the rep will edit it before sending, so
        placeholders only a person can fill (a documentation link) may stay in."""
        return self._fill_snippet(ticket_id, name, partial(fill, editable=editable))

    def snippet_for_editing(self, ticket_id: int, name: str) -> Filled:
        """The snippet filled for the reply screen, with where the rep's cursor goes in it."""
        return self._fill_snippet(ticket_id, name, fill_for_editing)

    def _fill_snippet(self, ticket_id: int, name: str, filler: Callable[[str, dict[str, str | None]], Filling]) -> Filling:
        self._refresh_snippets()
        snippet = Snippet.get_or_none(Snippet.name == name)
        if snippet is None:
            known = ", ".join(s.name for s in self.snippets())
            raise StoreError(f"no snippet {name!r} (known: {known})")
        ticket = self.ticket(ticket_id)
        owner = Owner.get_or_none(Owner.id == ticket.owner_id) if ticket.owner_id else None
        values = {
            "first_name": first_name(ticket.requester_name) or "there",
            "ticket_id": str(ticket.id),
            "rep_name": self.actor,
            "owner_name": owner.name if owner else None,
            "owner_team": owner.team if owner else None,
            "support_name": self.config.support.display_name,
        }
        try:
            return filler(snippet.body, values)
        except SnippetError as error:
            raise StoreError(f"snippet {name!r}: {error}") from None

    def views(self, include_resolved: bool = False) -> list[TicketView]:
        """Tickets with their SLA clocks as of now, most urgent first."""
        return ticket_views(self.config, self.clock.now(), include_resolved=include_resolved)

    def views_of(self, ticket_ids: Sequence[int]) -> list[TicketView]:
        return ticket_views(self.config, self.clock.now(), ticket_ids=ticket_ids)

    def watch_changes(self, wait: float = 5.0) -> None:
        """Start noticing other sessions' commits now (a PostgreSQL connection that listens), so
        that data_version() moves for everything committed from here on. Call it off the event loop."""
        self._changes.start(wait)

    def data_version(self) -> int:
        """Changes whenever another session commits: a cheap way to notice new mail or edits."""
        return self._changes.token()

    def recently_resolved(self, limit: int = 500) -> tuple[list[TicketView], int]:
        return recently_resolved(self.config, self.clock.now(), limit)

    def view(self, ticket_id: int) -> TicketView:
        view = ticket_view(self.config, self.clock.now(), ticket_id)
        if view is None:
            raise StoreError(f"no ticket #{ticket_id}")
        return view

    def search(self, text: str, limit: int = 500) -> list[int]:
        """Tickets whose messages, requester or customer, or one of whose notes (internal, or given
        with a hand-off, and not undone), match every word typed (prefixes too)."""
        if not SEARCH_WORD.search(text):
            return []
        sql, params = tickets_with_text(text, self.on_postgres)
        rows = self._execute(f"{sql} LIMIT ?", (*params, limit))
        return [row[0] for row in rows]

    def draft(self, ticket_id: int) -> str | None:
        """The saved draft's text (see saved_draft)."""
        saved = self.saved_draft(ticket_id)
        return saved.body if saved else None

    def saved_draft(self, ticket_id: int) -> SavedDraft | None:
        """The saved draft, with what its author saw when it began; one kept on this computer while
        the database was away wins, and is saved to the database now."""
        kept = self._kept_drafts.get(ticket_id)
        if kept is not None:
            about = self._kept_drafts.about(ticket_id) or {}
            seen = Seen(about["version"], about.get("event")) if isinstance(about.get("version"), int) else None
            self.save_draft(ticket_id, kept, seen, about.get("quoted"))
        row = Draft.get_or_none(Draft.ticket == ticket_id)
        if row is None:
            return None
        seen = Seen(row.seen_version, row.seen_event) if row.seen_version is not None else None
        return SavedDraft(row.body, seen, row.quoted_message)

    def save_draft(self, ticket_id: int, body: str, seen: Seen | None = None, quoted: int | None = None) -> None:
        """`seen`: what the author saw when the draft began, and `quoted` the customer message it
        quotes (kept as they were when not given). Raises DraftKeptHere when the database is
        unavailable: the text is then kept in a private file on this computer, and saved on the next
        draft save or read that reaches the database."""
        try:
            if not body.strip():
                Draft.delete().where(Draft.ticket == ticket_id).execute()
            else:
                now = self.clock.now()
                values = {Draft.body: body, Draft.updated_at: now}
                if seen is not None:
                    values |= {Draft.seen_version: seen.version, Draft.seen_event: seen.event, Draft.quoted_message: quoted}
                Draft.insert({Draft.ticket: ticket_id, **values}).on_conflict(
                    conflict_target=[Draft.ticket], update=values
                ).execute()
        except PeeweeException as error:
            if not is_unavailable(error):
                raise
            about = None if seen is None else {"version": seen.version, "event": seen.event, "quoted": quoted}
            self._kept_drafts.keep(ticket_id, body, about)
            raise DraftKeptHere(
                "the database is unavailable: the draft is kept on this computer and saved when it is back"
            ) from None
        self._kept_drafts.forget(ticket_id)

    def discard_draft(self, ticket_id: int) -> None:
        """The draft is deleted, here and in the database (StoreError when that is unavailable)."""
        try:
            Draft.delete().where(Draft.ticket == ticket_id).execute()
        except PeeweeException as error:
            if not is_unavailable(error):
                raise
            raise StoreError("the database is unavailable: the draft could not be discarded; try again shortly") from None
        self._kept_drafts.forget(ticket_id)

    def events(self, ticket_id: int) -> list[Event]:
        return list(Event.select().where(Event.ticket == ticket_id).order_by(Event.at, Event.id))

    def messages(self, ticket_id: int) -> list[Message]:
        return list(Message.select().where(Message.ticket == ticket_id).order_by(Message.received_at, Message.id))

    def outbox(self, ticket_id: int | None = None) -> list[Outbox]:
        query = Outbox.select().order_by(Outbox.id)
        if ticket_id is not None:
            query = query.where(Outbox.ticket == ticket_id)
        return list(query)

    def _log(
        self, ticket: Ticket, kind: str, data: dict, at: datetime | None = None, actor: str | None = None,
        version: int | None = None,
    ) -> None:
        self._insert(
            Event, ticket=ticket.id, at=at or self.clock.now(), actor=actor or self.actor, kind=kind, data=data,
            version=version,
        )


@dataclass(frozen=True)
class SavedDraft:
    body: str
    seen: Seen | None  # what its author saw when it began; None: a draft saved before that was kept
    quoted: int | None  # the customer message it quotes (a Message id)


def _digest(settings: object) -> str:
    """A short fingerprint of settings (dataclasses, tuples: their repr is stable) kept in StoreFact."""
    return hashlib.sha256(repr(settings).encode()).hexdigest()


def first_name(display_name: str) -> str:
    """'Doe, Jane' and 'Jane Doe' both greet Jane."""
    name = display_name.strip().strip('"')
    if "," in name:
        name = name.partition(",")[2].strip()
    return name.split()[0] if name else ""


def reply_subject(ticket_id: int, subject: str) -> str:
    """'Re: <subject> [#id]': the token threads the customer's answer back even if headers are lost."""
    base = _TICKET_TOKEN.sub("", subject).strip()
    if not re.match(r"(?i)^re\s*:", base):
        base = f"Re: {base}" if base else "Re: your request"
    return f"{base} [#{ticket_id}]"
