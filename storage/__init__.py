"""The ticket store, the SLA clock and configuration. Imports neither mail nor tui."""

import sys


def _import_peewee_without_psycopg() -> None:
    """Peewee imports psycopg (about 0.2 s) whenever it is installed, even for SQLite. Every storage
    import passes here first, so peewee loads with psycopg hidden; storage/database.py's PostgreSQL
    adapter imports psycopg itself when a server database is opened."""
    if "peewee" in sys.modules:
        return
    missing = object()
    loaded = sys.modules.get("psycopg", missing)
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # None makes `import psycopg` fail
    try:
        import peewee  # noqa: F401
    finally:
        if loaded is missing:
            del sys.modules["psycopg"]
        else:
            sys.modules["psycopg"] = loaded


_import_peewee_without_psycopg()
