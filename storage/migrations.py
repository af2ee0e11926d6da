"""Schema versions. Each step is frozen once released; a database is upgraded step by step on open.

The version lives in SQLite's `PRAGMA user_version`. Steps are plain SQL so that a later change to
the models can never silently change what an old step does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from peewee import SqliteDatabase

SCHEMA_V1 = """
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
CREATE TRIGGER event_append_only_update BEFORE UPDATE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER event_append_only_delete BEFORE DELETE ON event
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
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
SCHEMA_V2 = """
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
CREATE TABLE draft (
    ticket_id INTEGER PRIMARY KEY REFERENCES ticket (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


def _run_script(sql: str) -> Callable[[SqliteDatabase], None]:
    def step(db: SqliteDatabase) -> None:
        for statement in _statements(sql):
            db.execute_sql(statement)

    return step


def _statements(sql: str) -> list[str]:
    """One statement at a time; sqlite3 knows where a trigger body really ends."""
    statements, current = [], ""
    for line in sql.strip().splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


# MIGRATIONS[n] upgrades a database from version n to n + 1.
MIGRATIONS: Sequence[Callable[[SqliteDatabase], None]] = (
    _run_script(SCHEMA_V1),
    _run_script(SCHEMA_V2),
    # When a failed send may be tried again; NULL: only when the user says so.
    _run_script("ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;"),
    # The running clock's due time, kept by the store, so the inbox's first screen comes straight
    # from an index; meta remembers which SLA settings those due times were computed with.
    _run_script(
        """
        ALTER TABLE ticket ADD COLUMN next_due_at TEXT;
        CREATE INDEX ticket_state_next_due ON ticket (state, next_due_at);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        """
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaTooNew(Exception):
    pass


def schema_version(db: SqliteDatabase) -> int:
    return db.execute_sql("PRAGMA user_version").fetchone()[0]


def upgrade(db: SqliteDatabase) -> int:
    """Bring the database to SCHEMA_VERSION; each step commits with its version or not at all.
    Returns the version found. Safe when two processes open a new database at the same moment."""
    found = schema_version(db)
    while True:
        with db.atomic():  # BEGIN IMMEDIATE: one upgrader at a time
            version = schema_version(db)  # another process may have upgraded in the meantime
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database has schema version {version}, newer than this frontdesk knows "
                    f"({SCHEMA_VERSION}); upgrade frontdesk"
                )
            if version == SCHEMA_VERSION:
                return found
            MIGRATIONS[version](db)
            db.execute_sql(f"PRAGMA user_version = {version + 1}")
