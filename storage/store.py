"""The ticket store: the database behind Peewee, mail threaded into tickets, and what the screens
read. Every change a person makes to a ticket is a use case: storage/usecases.py."""

from __future__ import annotations

import hashlib
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from peewee import Database, PeeweeException, fn

from .clock import Clock
from .config import Config
from .database import ChangeWatch, describe, is_postgres, is_unavailable, open_database, shared_group
from .drafts import KeptDrafts
from .errors import DraftKeptHere, Seen, StoreError
from .fulltext import SEARCH_WORD, tickets_with_text
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
from .views import TicketView, first_screen, next_due, recently_resolved, ticket_view, ticket_views

_TICKET_TOKEN = re.compile(r"\[#(\d{1,9})\]")
Filling = TypeVar("Filling")  # a filled snippet: its text, or a Filled with the cursor's place
_stored = UtcDateTimeField()


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
    raw: bytes
    raw_sha256: str
    source: str
    parser_version: int
    thread_ids: Sequence[str] = field(default=())  # ids this message answers, nearest first


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

    @classmethod
    def open(cls, target: str | Path, config: Config, clock: Clock, password: str | None = None) -> Store:
        """target: a SQLite file, or a postgresql:// URL (its password given apart, never in it)."""
        notices: list[str] = []  # e.g. a database file's mode tightened; the CLI prints them
        db = open_database(target, password, group=shared_group(target, config), notices=notices)
        store = cls(target, db, config, clock, ChangeWatch(db, str(target), password))
        store.notices = notices
        with store.db.atomic():
            store._sync_directory()
            store._seed_snippets()
            store._refresh_due_times_if_settings_changed()
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

    def _seed_snippets(self) -> None:
        """Built-ins once; the team's folder on every open, and again when its files change (`snippets`)."""
        now = self.clock.now()
        for name, (title, body) in BUILT_IN_SNIPPETS.items():
            Snippet.get_or_create(name=name, defaults=dict(title=title, body=body, updated_at=now))
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
        settings = repr((self.config.sla, self.config.calendar, customers))
        return hashlib.sha256(settings.encode()).hexdigest()

    def _refresh_due_times_if_settings_changed(self) -> None:
        settings = self._sla_settings()
        stored = StoreFact.get_or_none(StoreFact.key == "sla_settings")
        if stored is not None and stored.value == settings:
            return
        due = [(_stored.db_value(next_due(view.sla)), view.id) for view in self.views()]
        self.db.execute_sql("UPDATE ticket SET next_due_at = NULL")
        self.db.cursor().executemany(self._portable("UPDATE ticket SET next_due_at = ? WHERE id = ?"), due)
        StoreFact.insert(key="sla_settings", value=settings).on_conflict(
            conflict_target=[StoreFact.key], update={StoreFact.value: settings}
        ).execute()

    def _refresh_due(self, ticket_id: int) -> None:
        view = ticket_view(self.config, self.clock.now(), ticket_id)
        due = None if view is None or view.state == "resolved" else next_due(view.sla)
        self._execute("UPDATE ticket SET next_due_at = ? WHERE id = ?", (_stored.db_value(due), ticket_id))

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

    def is_duplicate(self, record: MessageRecord) -> bool:
        """Same Message-ID and same content; without a Message-ID, the same raw bytes."""
        if record.message_id:
            found = self._first(
                "SELECT 1 FROM message WHERE message_id = ? AND fingerprint = ? LIMIT 1",
                (record.message_id, record.fingerprint),
            )
        else:
            found = self._first("SELECT 1 FROM message WHERE raw_sha256 = ? LIMIT 1", (record.raw_sha256,))
        return found is not None

    def find_thread(self, record: MessageRecord, sender_is_support: bool) -> Ticket | None:
        """The messages it answers; a stored reply to it (when mail arrives out of order); then a
        [#id] token in the subject if the sender belongs to that ticket."""
        ids = list(record.thread_ids)
        if ids:
            marks = ",".join("?" * len(ids))
            row = self._first(f"SELECT ticket_id FROM message WHERE message_id IN ({marks}) ORDER BY id DESC LIMIT 1", ids)
            if row:
                return self._ticket_row(row[0])
        if record.message_id:
            row = self._first("SELECT ticket_id FROM message WHERE in_reply_to = ? ORDER BY id DESC LIMIT 1", (record.message_id,))
            if row:
                return self._ticket_row(row[0])
        token = _TICKET_TOKEN.search(record.subject)
        if token is None:
            return None
        ticket = self._ticket_row(int(token.group(1)))
        if ticket is not None and (sender_is_support or self._sender_belongs(ticket, record.from_email)):
            return ticket
        return None

    def _sender_belongs(self, ticket: Ticket, sender: str) -> bool:
        if sender and sender == ticket.requester_email:
            return True
        customer_id = self.customer_id_for_email(sender)
        return customer_id is not None and customer_id == ticket.customer_id

    def add_message(self, record: MessageRecord, outbound: bool) -> tuple[Ticket, bool]:
        """Store a message, threading it into a ticket or opening one. Returns (ticket, created)."""
        ticket = self.find_thread(record, outbound)
        created = ticket is None
        if created:
            ticket = self._open_ticket(record, outbound)
        copied = {f.name: getattr(record, f.name) for f in fields(record) if f.name not in ("raw", "thread_ids")}
        message_id = self._insert(
            Message,
            ticket=ticket.id,
            direction="out" if outbound else "in",
            raw=zlib.compress(record.raw, 1),
            raw_size=len(record.raw),
            created_at=self.clock.now(),
            **copied,
        )
        if not created:
            self._after_reply(ticket, record, outbound, message_id)
        return ticket, created

    def _open_ticket(self, record: MessageRecord, outbound: bool) -> Ticket:
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
        ticket = Ticket(id=self._insert(Ticket, **values), **values)
        data = {"source": record.source, "message_id": record.message_id}
        self._log(ticket, "created", data, at=record.received_at, actor="mail")
        self._refresh_due(ticket.id)
        return ticket

    def _after_reply(self, ticket: Ticket, record: MessageRecord, outbound: bool, stored_id: int) -> None:
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
        version = self._count_message(ticket.id, changes, new_version=not outbound)
        if outbound:
            version = None
        if moved is not None:
            self._log(ticket, "state", moved, at=at, actor="mail", version=version)
        # "id": the stored message, which a held send shows (storage/usecases.py).
        data = {"direction": "out" if outbound else "in", "message_id": record.message_id, "id": stored_id}
        self._log(ticket, "message", data, at=at, actor="mail", version=version)

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
        meta = model._meta
        key = ("insert", model, tuple(values))
        sql = self._sql.get(key)
        if sql is None:
            columns = ", ".join(meta.fields[name].column_name for name in values)
            marks = ", ".join([self.db.param] * len(values))
            returning = " RETURNING id" if self.on_postgres else ""
            sql = self._sql[key] = f"INSERT INTO {meta.table_name} ({columns}) VALUES ({marks}){returning}"
        params = [meta.fields[name].db_value(value) for name, value in values.items()]
        cursor = self.db.execute_sql(sql, params)
        return cursor.fetchone()[0] if self.on_postgres else cursor.lastrowid

    def _count_message(self, ticket_id: int, changes: dict, new_version: bool) -> int:
        """Apply a message's changes to its ticket; returns the ticket's version after them."""
        key = ("message", tuple(changes), new_version)
        sql = self._sql.get(key)
        if sql is None:
            assignments = [f"{Ticket._meta.fields[name].column_name} = {self.db.param}" for name in changes]
            assignments.append("message_count = message_count + 1")
            if new_version:
                assignments.append("version = version + 1")
            sql = self._sql[key] = (
                f"UPDATE ticket SET {', '.join(assignments)} WHERE id = {self.db.param} RETURNING version"
            )
        ticket_fields = Ticket._meta.fields
        params = [ticket_fields[name].db_value(value) for name, value in changes.items()]
        version = self.db.execute_sql(sql, [*params, ticket_id]).fetchone()[0]
        self._refresh_due(ticket_id)
        return version

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
