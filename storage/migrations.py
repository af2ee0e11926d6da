"""Schema versions. Each step is frozen once released; a database is upgraded step by step on open.

Every step exists in two dialects, SQLite and PostgreSQL, so that both backends hold the same
schema at the same version. Steps are plain SQL so that a later change to the models can never
silently change what an old step does. The version lives in SQLite's `PRAGMA user_version`, and
in a one-row table `schema_version` on PostgreSQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from peewee import Database, PostgresqlDatabase

_SCHEMA_V1_TABLES = """
CREATE TABLE customer (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    domains TEXT NOT NULL DEFAULT '[]',
    deployment TEXT,
    policy TEXT,
    account_executive TEXT
);
CREATE TABLE owner (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    team TEXT,
    areas TEXT NOT NULL DEFAULT '[]',
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE ticket (
    id INTEGER PRIMARY KEY,
    subject TEXT NOT NULL,
    requester_email TEXT NOT NULL,
    requester_name TEXT NOT NULL DEFAULT '',
    customer_id INTEGER REFERENCES customer (id) ON DELETE SET NULL,
    severity INTEGER CHECK (severity IN (1, 2)),
    state TEXT NOT NULL CHECK (state IN ('new', 'open', 'waiting', 'resolved')),
    owner_id INTEGER REFERENCES owner (id) ON DELETE SET NULL,
    automated TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    first_response_at TEXT,
    resolved_at TEXT,
    pauses TEXT NOT NULL DEFAULT '[]',
    message_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ticket_state ON ticket (state);
CREATE INDEX ticket_customer_id ON ticket (customer_id);
CREATE INDEX ticket_owner_id ON ticket (owner_id);
CREATE TABLE message (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES ticket (id) ON DELETE CASCADE,
    direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    message_id TEXT,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '[]',
    from_email TEXT NOT NULL,
    from_name TEXT NOT NULL,
    to_addrs TEXT NOT NULL DEFAULT '[]',
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL,
    sent_at TEXT,
    received_at TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_source TEXT NOT NULL,
    attachments TEXT NOT NULL DEFAULT '[]',
    defects TEXT NOT NULL DEFAULT '[]',
    auto TEXT,
    fingerprint TEXT NOT NULL,
    raw_sha256 TEXT NOT NULL,
    raw BLOB NOT NULL,
    raw_size INTEGER NOT NULL,
    source TEXT NOT NULL,
    parser_version INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX message_ticket_id ON message (ticket_id);
CREATE INDEX message_message_id ON message (message_id);
CREATE INDEX message_raw_sha256 ON message (raw_sha256);
CREATE INDEX message_in_reply_to ON message (in_reply_to);
CREATE TABLE event (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES ticket (id) ON DELETE CASCADE,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX event_ticket_id ON event (ticket_id);
"""
_EVENT_APPEND_ONLY_SQLITE = """
CREATE TRIGGER event_append_only_update BEFORE UPDATE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""
_EVENT_APPEND_ONLY_POSTGRES = """
CREATE FUNCTION event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the event log is append-only' USING ERRCODE = 'integrity_constraint_violation'; END $$;
CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event
FOR EACH ROW EXECUTE FUNCTION event_append_only();
"""
_SCHEMA_V1_REST = """
CREATE TABLE snippet (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,
    uidvalidity INTEGER,
    last_uid INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    UNIQUE (account, folder)
);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES ticket (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    to_addrs TEXT NOT NULL DEFAULT '[]',
    cc_addrs TEXT NOT NULL DEFAULT '[]',
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    in_reply_to TEXT,
    refs TEXT NOT NULL DEFAULT '[]',
    message_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    actor TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_status ON outbox (status);
"""


# Search over every message (subject, sender, text) and drafts that survive a crash.
_DRAFT = """
CREATE TABLE draft (
    ticket_id INTEGER PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""
_SEARCH_SQLITE = """
CREATE VIRTUAL TABLE message_fts USING fts5(
    subject, from_name, from_email, body_text,
    content='message', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO message_fts (message_fts) VALUES ('rebuild');
CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN
    INSERT INTO message_fts (rowid, subject, from_name, from_email, body_text)
    VALUES (new.id, new.subject, new.from_name, new.from_email, new.body_text);
END;
CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN
    INSERT INTO message_fts (message_fts, rowid, subject, from_name, from_email, body_text)
    VALUES ('delete', old.id, old.subject, old.from_name, old.from_email, old.body_text);
END;
"""
# The same words as FTS5's unicode61 tokenizer sees: runs of letters and digits, lower-cased.
_SEARCH_POSTGRES = """
ALTER TABLE message ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple',
    regexp_replace(subject || ' ' || from_name || ' ' || from_email || ' ' || body_text, '[^[:alnum:]]+', ' ', 'g')
)) STORED;
CREATE INDEX message_search ON message USING GIN (search);
"""




# The team: a version on each ticket so that a change is applied against the state its author saw
# (and on each event a person's change logs, to tell what changed since);
# the lease that lets one process at a time work the mailbox; who is on rotation, week by week.
_TEAM = """
ALTER TABLE ticket ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE event ADD COLUMN version INTEGER;
CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    who TEXT NOT NULL,
    pid INTEGER NOT NULL,
    beat INTEGER NOT NULL DEFAULT 0,
    acquired_at TEXT NOT NULL,
    renewed_at TEXT NOT NULL,
    synced_at TEXT
);
CREATE TABLE rotation (
    id INTEGER PRIMARY KEY,
    rep_name TEXT NOT NULL,
    rep_email TEXT,
    started_at TEXT NOT NULL,
    follows INTEGER NOT NULL UNIQUE,
    previous_name TEXT,
    handover TEXT
);
"""
# Each turn names the turn it took over from (0: the first), once: two reps taking over at the
# same moment can't both follow the same turn. Like the event log, the turns are history.
_ROTATION_APPEND_ONLY_SQLITE = """
CREATE TRIGGER rotation_append_only_update BEFORE UPDATE ON rotation
BEGIN SELECT RAISE(ABORT, 'the rotation history is append-only'); END;
CREATE TRIGGER rotation_append_only_delete BEFORE DELETE ON rotation
BEGIN SELECT RAISE(ABORT, 'the rotation history is append-only'); END;
"""
_ROTATION_APPEND_ONLY_POSTGRES = """
CREATE FUNCTION rotation_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the rotation history is append-only' USING ERRCODE = 'integrity_constraint_violation'; END $$;
CREATE TRIGGER rotation_append_only BEFORE UPDATE OR DELETE ON rotation
FOR EACH ROW EXECUTE FUNCTION rotation_append_only();
"""
# PostgreSQL wakes every listening session when anything a screen shows is committed (SQLite
# sessions notice commits through PRAGMA data_version instead). Sent once per statement, merged
# by the server into one per transaction.
_CHANGES_POSTGRES = """
CREATE FUNCTION frontdesk_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('frontdesk_changes', ''); RETURN NULL; END $$;
""" + "".join(
    f"CREATE TRIGGER {table}_changed AFTER INSERT OR UPDATE OR DELETE ON {table} "
    "FOR EACH STATEMENT EXECUTE FUNCTION frontdesk_changed();\n"
    # Not the lease: its holder renews it every few seconds, and the standbys read it on their
    # own timer; a notice per renewal would only make every inbox reload for nothing.
    for table in ("ticket", "message", "event", "outbox", "draft", "rotation")
)
_META = """
ALTER TABLE ticket ADD COLUMN next_due_at TEXT;
CREATE INDEX ticket_state_next_due ON ticket (state, next_due_at);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


# Who else has a ticket open: one heartbeat row per inbox session (storage/presence.py). No
# foreign key (it would lock the ticket row at each beat) and no change notice: others poll it.
_PRESENCE = """
CREATE TABLE presence (
    session TEXT PRIMARY KEY,
    who TEXT NOT NULL,
    ticket_id INTEGER,
    activity TEXT CHECK (activity IN ('viewing', 'replying', 'noting')),
    beat INTEGER NOT NULL DEFAULT 0,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    renewed_at TEXT NOT NULL
);
"""


# What a rep saw when a draft began (the ticket's version and newest event) and the customer message
# it quotes: a send is held when the ticket moved since (storage/usecases.py). NULL: a draft saved
# before, judged as of when it is opened again.
_DRAFT_SEEN = """
ALTER TABLE draft ADD COLUMN seen_version INTEGER;
ALTER TABLE draft ADD COLUMN seen_event INTEGER;
ALTER TABLE draft ADD COLUMN quoted_message INTEGER;
"""


# Internal notes and the notes given with hand-offs are searched like mail. Events are append-only,
# so a note is indexed once, as it is written; a withdrawn (undone) one is left out by the search.
_NOTE_TEXT = "CASE {row}kind WHEN 'note' THEN json_extract({row}data, '$.text') ELSE json_extract({row}data, '$.note') END"
_NOTE_SEARCH_SQLITE = f"""
CREATE VIRTUAL TABLE note_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2');
INSERT INTO note_fts (rowid, text)
    SELECT id, note FROM (SELECT id, {_NOTE_TEXT.format(row="")} AS note FROM event WHERE kind IN ('note', 'owner'))
    WHERE note IS NOT NULL;
CREATE TRIGGER note_fts_insert AFTER INSERT ON event WHEN new.kind IN ('note', 'owner') BEGIN
    INSERT INTO note_fts (rowid, text)
    SELECT new.id, note FROM (SELECT {_NOTE_TEXT.format(row="new.")} AS note) WHERE note IS NOT NULL;
END;
"""
# The same words as the message search (see _SEARCH_POSTGRES).
_NOTE_SEARCH_POSTGRES = """
ALTER TABLE event ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', regexp_replace(
    CASE kind WHEN 'note' THEN coalesce(data::json ->> 'text', '') WHEN 'owner' THEN coalesce(data::json ->> 'note', '') ELSE '' END,
    '[^[:alnum:]]+', ' ', 'g'
))) STORED;
CREATE INDEX event_note_search ON event USING GIN (search) WHERE kind IN ('note', 'owner');
"""


def _postgres(sql: str) -> str:
    """SQLite table definitions in PostgreSQL's words: the two differ only in these types."""
    return sql.replace("INTEGER PRIMARY KEY,", "INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,").replace(
        " BLOB ", " BYTEA "
    )


@dataclass(frozen=True)
class Step:
    sqlite: str
    postgres: str

    def run(self, db: Database) -> None:
        if isinstance(db, PostgresqlDatabase):
            if self.postgres:  # without parameters psycopg sends the whole script at once
                db.execute_sql(self.postgres)
            return
        for statement in _statements(self.sqlite):
            db.execute_sql(statement)


def _statements(sql: str) -> list[str]:
    """One statement at a time; sqlite3 knows where a trigger body really ends."""
    statements, current = [], ""
    for line in sql.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


def _same(sql: str) -> Step:
    return Step(sql, _postgres(sql))


# MIGRATIONS[n] upgrades a database from version n to n + 1.
MIGRATIONS: Sequence[Step] = (
    Step(
        _SCHEMA_V1_TABLES + _EVENT_APPEND_ONLY_SQLITE + _SCHEMA_V1_REST,
        _postgres(_SCHEMA_V1_TABLES) + _EVENT_APPEND_ONLY_POSTGRES + _postgres(_SCHEMA_V1_REST),
    ),
    Step(_SEARCH_SQLITE + _DRAFT, _SEARCH_POSTGRES + _DRAFT),
    # When a failed send may be tried again; NULL: only when the user says so.
    _same("ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;"),
    # The running clock's due time, kept by the store, so the inbox's first screen comes straight
    # from an index; meta remembers which SLA settings those due times were computed with.
    _same(_META),
    Step(_TEAM + _ROTATION_APPEND_ONLY_SQLITE, _postgres(_TEAM) + _ROTATION_APPEND_ONLY_POSTGRES + _CHANGES_POSTGRES),
    # v6: presence heartbeats (storage/presence.py).
    _same(_PRESENCE),
    # v7: what a draft's author saw, for the check at send time (storage/usecases.py).
    _same(_DRAFT_SEEN),
    # v8: notes are searched (Store.search).
    Step(_NOTE_SEARCH_SQLITE, _NOTE_SEARCH_POSTGRES),
    # v9: the store fills the message search a batch at a time (Store.add_messages), cheaper than a
    # trigger per row; PostgreSQL's is a generated column.
    Step("DROP TRIGGER message_fts_insert;", ""),
    # v10: the first screen walks the running clocks in due order (a resolved ticket has none);
    # the (state, next_due_at) index made it sort every open ticket, 22 ms at 100,000.
    _same(
        "DROP INDEX ticket_state_next_due;\n"
        "CREATE INDEX ticket_next_due ON ticket (next_due_at) WHERE next_due_at IS NOT NULL;\n"
    ),
    # v11: PostgreSQL's message search comes from the store (fulltext.search_vector), which also
    # keeps a message with too many words to index from failing its whole batch; rows keep theirs.
    Step("", "ALTER TABLE message ALTER COLUMN search DROP EXPRESSION;"),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    pass


def schema_version(db: Database) -> int:
    if isinstance(db, PostgresqlDatabase):
        if db.execute_sql("SELECT to_regclass('schema_version')").fetchone()[0] is None:
            return 0
        row = db.execute_sql("SELECT version FROM schema_version").fetchone()
        return row[0] if row else 0
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def _set_schema_version(db: Database, version: int) -> None:
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        db.execute_sql("DELETE FROM schema_version")
        db.execute_sql("INSERT INTO schema_version (version) VALUES (%s)", (version,))
    else:
        db.execute_sql(f"PRAGMA user_version = {version}")


def _lock_for_upgrade(db: Database) -> None:
    """SQLite's BEGIN IMMEDIATE already admits one writer; PostgreSQL needs a lock of its own."""
    if isinstance(db, PostgresqlDatabase):
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_UPGRADE_LOCK,))


_UPGRADE_LOCK = 0x66726F6E  # "fron": any constant shared by every frontdesk process


def upgrade(db: Database) -> int:
    """Bring the database to SCHEMA_VERSION; each step commits with its version or not at all.
    Returns the version found. Safe when two processes open a new database at the same moment."""
    found = schema_version(db)
    if found == SCHEMA_VERSION:  # as usual: no lock to take (SQLite's would wait for any writer)
        return found
    while True:
        with db.atomic():
            _lock_for_upgrade(db)
            version = schema_version(db)  # another process may have upgraded in the meantime
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database has schema version {version}, newer than this frontdesk knows "
                    f"({SCHEMA_VERSION}); upgrade frontdesk"
                )
            if version == SCHEMA_VERSION:
                return found
            MIGRATIONS[version].run(db)
            _set_schema_version(db, version + 1)
