"""Opening a database made by an older schema upgrades it with nothing lost."""

from __future__ import annotations

import hashlib
import sqlite3
import zlib
from pathlib import Path

import pytest

from frontdesk.storage import migrations
from frontdesk.storage.store import Store, StoreError

FIXTURES = Path(__file__).parent / "fixtures" / "schema"
TABLES = ("customer", "owner", "ticket", "message", "event", "snippet", "sync_state", "outbox")


def _from_dump(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.db"
    with sqlite3.connect(path) as conn:
        conn.executescript((FIXTURES / f"{name}.sql").read_text(encoding="utf-8"))
    return path


def _counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}


def test_a_first_schema_database_opens_at_the_current_version_with_everything_kept(tmp_path, config, clock):
    path = _from_dump(tmp_path, "v1")
    before = _counts(path)
    store = Store.open(path, config, clock)
    try:
        assert migrations.schema_version(store.db) == migrations.SCHEMA_VERSION
        views = {view.id: view for view in store.views(include_resolved=True)}
        assert views[1].subject == "Helm upgrade fails [bold]"
        assert (views[1].severity, views[1].owner, views[1].state) == (1, "bob@example.com", "open")
        assert views[2].state == "resolved"
        for sha, raw in store.db.execute_sql("SELECT raw_sha256, raw FROM message"):
            assert hashlib.sha256(zlib.decompress(raw)).hexdigest() == sha
        found = store.db.execute_sql("SELECT rowid FROM message_fts WHERE message_fts MATCH 'helm'").fetchall()
        assert len(found) == 2, "messages stored before search existed are searchable after the upgrade"
    finally:
        store.close()
    after = _counts(path)
    assert after["snippet"] >= before["snippet"], "built-in snippets added since v1 are seeded on open"
    assert after | {"snippet": 0} == before | {"snippet": 0}


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path, config, clock, monkeypatch):
    path = _from_dump(tmp_path, "v1")
    before = _counts(path)
    last_good = migrations.SCHEMA_VERSION

    def broken_step(db):
        db.execute_sql("DROP TABLE outbox")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, broken_step))
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", len(migrations.MIGRATIONS))
    with pytest.raises(StoreError, match="disk I/O error"):
        Store.open(path, config, clock)
    assert _counts(path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == last_good
