"""Peewee models. The schema itself is created and upgraded by migrations.py, not by these classes."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from peewee import (
    AutoField,
    BlobField,
    CharField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


class UtcDateTimeField(TextField):
    """Aware UTC datetimes stored as fixed-width text, so text order is time order."""

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; every time must be aware")
        if value.tzinfo is not timezone.utc:
            value = value.astimezone(timezone.utc)
        # "2026-12-01 15:00:00.000000", always with microseconds (isoformat: strftime cost more),
        # its "+00:00" cut off (cheaper than a copy without the zone)
        return value.isoformat(" ", "microseconds")[:-6]

    def python_value(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=timezone.utc)  # much faster than strptime


# Made once: json.dumps with options builds an encoder per call, several per stored message.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class JsonField(TextField):
    """Small lists and mappings kept as JSON text."""

    def db_value(self, value: object) -> str:
        if not value and type(value) in (list, tuple):  # most lists a message carries are empty
            return "[]"
        return _COMPACT_JSON.encode(value)

    def python_value(self, value: str | None) -> object:
        return None if value is None else json.loads(value)


class BaseModel(Model):
    class Meta:
        legacy_table_names = False


class Customer(BaseModel):
    id = AutoField()
    name = TextField(unique=True)
    domains = JsonField(default=list)
    deployment = TextField(null=True)
    policy = TextField(null=True)
    account_executive = TextField(null=True)


class Owner(BaseModel):
    id = AutoField()
    name = TextField()
    email = TextField(unique=True)
    team = TextField(null=True)
    areas = JsonField(default=list)
    active = IntegerField(default=1)


class Ticket(BaseModel):
    id = AutoField()
    subject = TextField()
    requester_email = TextField()
    requester_name = TextField(default="")
    customer = ForeignKeyField(Customer, null=True, on_delete="SET NULL", backref="tickets")
    severity = IntegerField(null=True)
    state = CharField()
    owner = ForeignKeyField(Owner, null=True, on_delete="SET NULL", backref="tickets")
    automated = TextField(null=True)  # "auto-reply" | "bounce" | "list": kept, but starts no SLA clock
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    first_response_at = UtcDateTimeField(null=True)
    resolved_at = UtcDateTimeField(null=True)
    pauses = JsonField(default=list)  # [[start, end|null], ...] as stored-format strings
    message_count = IntegerField(default=0)
    next_due_at = UtcDateTimeField(null=True)  # the running clock's due time; NULL: none runs (or paused)
    version = IntegerField(default=0)  # bumped by every change a person makes: see storage/usecases.py


class Message(BaseModel):
    id = AutoField()
    ticket = ForeignKeyField(Ticket, on_delete="CASCADE", backref="messages")
    direction = CharField()  # "in" from the customer, "out" from support
    message_id = TextField(null=True)
    in_reply_to = TextField(null=True)
    refs = JsonField(default=list)
    from_email = TextField()
    from_name = TextField()
    to_addrs = JsonField(default=list)
    cc_addrs = JsonField(default=list)
    subject = TextField()
    sent_at = UtcDateTimeField(null=True)  # the Date header
    received_at = UtcDateTimeField()
    body_text = TextField()
    body_source = CharField()  # "plain" | "html" | "none"
    attachments = JsonField(default=list)
    defects = JsonField(default=list)
    auto = TextField(null=True)
    fingerprint = TextField()
    raw_sha256 = TextField()
    raw = BlobField()  # zlib-compressed original bytes, so a better parser can re-read them
    raw_size = IntegerField()
    source = TextField()
    parser_version = IntegerField()
    created_at = UtcDateTimeField()


class Event(BaseModel):
    """Append-only history: triggers in the schema refuse UPDATE and DELETE."""

    id = AutoField()
    ticket = ForeignKeyField(Ticket, on_delete="CASCADE", backref="events")
    at = UtcDateTimeField()
    actor = TextField()
    kind = CharField()
    data = JsonField(default=dict)
    version = IntegerField(null=True)  # the ticket's version this change made; NULL: not a person's change


class Snippet(BaseModel):
    id = AutoField()
    name = TextField(unique=True)
    title = TextField()
    body = TextField()
    updated_at = UtcDateTimeField()


class SyncState(BaseModel):
    id = AutoField()
    account = TextField()
    folder = TextField()
    uidvalidity = IntegerField(null=True)
    last_uid = IntegerField(default=0)
    updated_at = UtcDateTimeField()


class Outbox(BaseModel):
    id = AutoField()
    ticket = ForeignKeyField(Ticket, on_delete="CASCADE", backref="outbox")
    kind = CharField()  # "reply" | "ack"
    to_addrs = JsonField(default=list)
    cc_addrs = JsonField(default=list)
    subject = TextField()
    body = TextField()
    in_reply_to = TextField(null=True)
    refs = JsonField(default=list)
    message_id = TextField()
    status = CharField(default="queued")  # queued | sending | sent | failed
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)
    actor = TextField()
    created_at = UtcDateTimeField()
    updated_at = UtcDateTimeField()
    sent_at = UtcDateTimeField(null=True)
    next_attempt_at = UtcDateTimeField(null=True)  # a failed row is retried from then; NULL: by hand only


class Draft(BaseModel):
    """A reply being written, saved as it is typed so quitting or a crash loses nothing."""

    ticket = ForeignKeyField(Ticket, primary_key=True, on_delete="CASCADE", backref="draft")
    body = TextField()
    updated_at = UtcDateTimeField()
    # What its author saw when it began (storage/errors.py Seen), and the customer message it quotes.
    seen_version = IntegerField(null=True)
    seen_event = IntegerField(null=True)
    quoted_message = IntegerField(null=True)  # a Message id; NULL: none quoted (or an older draft)


class StoreFact(BaseModel):
    """Small facts about the store itself, such as which SLA settings the due times came from."""

    key = TextField(primary_key=True)
    value = TextField()

    class Meta:
        table_name = "meta"


class Lease(BaseModel):
    """Work only one process of the team may do at a time (the mailbox): who holds it, and a beat
    its holder bumps while alive."""

    name = TextField(primary_key=True)
    holder = TextField()  # unique to the holding process
    who = TextField()  # "sam@support-box", for people
    pid = IntegerField()
    beat = IntegerField(default=0)
    acquired_at = UtcDateTimeField()
    renewed_at = UtcDateTimeField()
    synced_at = UtcDateTimeField(null=True)


class Rotation(BaseModel):
    """Who took the front-line rotation, when, and the note the previous rep left."""

    id = AutoField()
    rep_name = TextField()
    rep_email = TextField(null=True)
    started_at = UtcDateTimeField()
    follows = IntegerField()  # the turn this one took over from; 0 for the first (unique)
    previous_name = TextField(null=True)
    handover = TextField(null=True)  # the previous rep's hand-over note, Markdown


class Presence(BaseModel):
    """One inbox session's heartbeat: the ticket it has open and what the rep does there. Judged
    stale by each observer on its own clock (storage/presence.py), never by `renewed_at`."""

    session = TextField(primary_key=True)  # random, unique to the session
    who = TextField()  # the rep's name, for people
    ticket_id = IntegerField(null=True)  # the ticket open in this session; NULL: none
    activity = TextField(null=True)  # "viewing" | "replying" | "noting"; NULL with no ticket
    beat = IntegerField(default=0)
    host = TextField()
    pid = IntegerField()
    renewed_at = UtcDateTimeField()


MODELS = (Customer, Owner, Ticket, Message, Event, Snippet, SyncState, Outbox, Draft, StoreFact, Lease, Rotation, Presence)
