"""Opening a database made by an older schema upgrades it with nothing lost, on both backends."""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from pathlib import Path

import psycopg
import pytest

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import migrations, usecases
from frontdesk.storage.database import is_url
from frontdesk.storage.store import Store, StoreError

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
TABLES = ("customer", "owner", "ticket", "message", "event", "snippet", "sync_state", "outbox")


def _sqlite_v1(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / "v1.sql").read_text(encoding="utf-8"))
    return path


def _postgres_v1(url: str, tmp_path: Path) -> str:
    """The same v1 rows in a PostgreSQL database made by the PostgreSQL v1 step."""
    rows = sqlite3.connect(_sqlite_v1(tmp_path / "source.db"))
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(migrations.MIGRATIONS[0].postgres)
        for table in TABLES:
            cursor = rows.execute(f"SELECT * FROM {table}")
            names = [column[0] for column in cursor.description]
            insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})"
            for row in cursor:
                conn.execute(insert, row)
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        conn.execute("INSERT INTO schema_version VALUES (1)")
    return url


@pytest.fixture
def v1_database(database, tmp_path) -> Path | str:
    return _postgres_v1(database, tmp_path) if is_url(database) else _sqlite_v1(database)


def _counts(target: Path | str) -> dict[str, int]:
    connect = psycopg.connect if is_url(target) else sqlite3.connect
    with connect(target) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def test_a_first_schema_database_opens_at_the_current_version_with_everything_kept(v1_database, config, clock):
    before = _counts(v1_database)
    store = Store.open(v1_database, config, clock)
    try:
        assert migrations.schema_version(store.db) == migrations.SCHEMA_VERSION
        views = {view.id: view for view in store.views(include_resolved=True)}
        assert views[1].subject == "Helm upgrade fails [bold]"
        assert (views[1].severity, views[1].owner, views[1].state) == (1, "bob@example.com", "open")
        assert views[2].state == "resolved"
        for sha, raw in store.db.execute_sql("SELECT raw_sha256, raw FROM message"):
            assert hashlib.sha256(zlib.decompress(raw)).hexdigest() == sha
        assert store.search("helm") == [1], "messages stored before search existed are searchable after the upgrade"
    finally:
        store.close()
    after = _counts(v1_database)
    assert after["snippet"] >= before["snippet"], "built-in snippets added since v1 are seeded on open"
    assert after | {"snippet": 0} == before | {"snippet": 0}


def test_notes_written_before_notes_were_searched_are_found_after_the_upgrade(v1_database, config, clock):
    connect, mark = (psycopg.connect, "%s") if is_url(v1_database) else (sqlite3.connect, "?")
    with connect(v1_database) as conn:
        for kind, data in (
            ("note", '{"text":"Zoekt shards rebuilding"}'),
            ("owner", '{"from":"bob@example.com","to":"bob@example.com","note":"Okta renewal pending"}'),
            ("owner", '{"from":null,"to":"bob@example.com","note":null}'),
        ):
            conn.execute(
                f"INSERT INTO event (ticket_id, at, actor, kind, data) VALUES (2, '2026-11-23 19:00:00.000000', 'Dana Rep', {mark}, {mark})",
                (kind, data),
            )
    store = Store.open(v1_database, config, clock)
    try:
        assert store.search("zoekt") == [2] and store.search("okta renewal") == [2]
        usecases.note(store, 1, "Zoekt again")
        assert sorted(store.search("zoekt")) == [1, 2], "and a note written after it too"
    finally:
        store.close()


def test_mail_stored_after_the_upgrade_is_found_by_search(v1_database, config, clock, mail):
    store = Store.open(v1_database, config, clock)
    try:
        Ingestor(store).ingest(mail(subject="Zanzibar outage"), "after")
        assert len(store.search("zanzibar")) == 1
        if not store.on_postgres:  # the store fills the index itself, a batch at a time: no trigger per row
            triggers = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'message'"
            assert [name for (name,) in store.db.execute_sql(triggers)] == ["message_fts_delete"]
        else:  # nor a column the server computes: the store writes the words (fulltext.search_vector)
            computed = "SELECT is_generated FROM information_schema.columns WHERE table_name = 'message' AND column_name = 'search'"
            assert store.db.execute_sql(computed).fetchone() == ("NEVER",)
    finally:
        store.close()


class _BrokenStep(migrations.Step):
    def run(self, db) -> None:
        db.execute_sql("DROP TABLE outbox")
        raise sqlite3.OperationalError("disk I/O error")


def test_a_failing_step_leaves_the_database_as_it_was(v1_database, config, clock, monkeypatch):
    before = _counts(v1_database)
    last_good = migrations.SCHEMA_VERSION
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, _BrokenStep("", "")))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(migrations.MIGRATIONS))
    with pytest.raises(StoreError, match="disk I/O error"):
        Store.open(v1_database, config, clock)
    assert _counts(v1_database) == before
    monkeypatch.undo()
    store = Store.open(v1_database, config, clock)
    try:
        assert migrations.schema_version(store.db) == last_good
    finally:
        store.close()
