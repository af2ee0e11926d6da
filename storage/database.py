"""Where the tickets live: one SQLite file (the embedded default, for one rep or several Unix users
on one support host) or a PostgreSQL server (for teams beyond one host).

Everything above this module speaks Peewee and portable SQL; what differs between the two
backends (opening, errors, search, noticing other sessions' commits) is decided here.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
from peewee import (
    Database,
    ImproperlyConfigured,
    InterfaceError,
    OperationalError,
    PostgresqlDatabase,
    Psycopg3Adapter,
    SqliteDatabase,
)
from playhouse.pool import PooledPostgresqlDatabase
from playhouse.shortcuts import ReconnectMixin

from . import files
from .config import Config, url_without_password
from .errors import StoreError
from .migrations import upgrade
from .models import MODELS

CHANGES_CHANNEL = "frontdesk_changes"


class DatabaseError(StoreError):
    """The database can't be opened or reached; the message is one line meant for the user."""


def default_database_path() -> Path:
    return platformdirs.user_data_path("frontdesk") / "frontdesk.db"


def is_url(target: str | Path) -> bool:
    return isinstance(target, str) and re.match(r"(?i)^postgres(ql)?://", target) is not None


@dataclass(frozen=True)
class ServerAddress:
    """Where a PostgreSQL URL points, for messages: never the password."""

    host: str
    port: int
    user: str | None
    name: str

    @classmethod
    def of(cls, url: str) -> ServerAddress:
        parts = urlsplit(url)
        return cls(parts.hostname or "localhost", parts.port or 5432, parts.username, parts.path.lstrip("/") or "")

    def __str__(self) -> str:
        who = f"{self.user}@" if self.user else ""
        return f"postgresql://{who}{self.host}:{self.port}/{self.name}"


def describe(target: str | Path) -> str:
    """The target as it may be shown: a URL loses its password."""
    return str(ServerAddress.of(target)) if is_url(target) else str(target)


def open_database(
    target: str | Path,
    password: str | None = None,
    *,
    group: str | None = None,
    notices: list[str] | None = None,
) -> Database:
    """Open (creating if needed) and upgrade the schema; the models are bound to the result.

    group: the Unix group sharing a SQLite file (see storage/files.py); notices: receives one line
    per thing done on the way that the user should hear about (a database's mode tightened)."""
    if is_url(target):
        db = _open_postgres(target, password)
    else:
        db = _open_sqlite(Path(target), group, notices if notices is not None else [])
    db.bind(MODELS, bind_refs=False, bind_backrefs=False)
    return db


def database_target(given: str | Path | None, config: Config) -> str | Path:
    """What to open: --db (a path or a URL), else [database] url, else its path, else the default."""
    if given:
        return str(given) if is_url(str(given)) else Path(given).expanduser()
    if config.database.url:
        return config.database.url
    return config.database.path or default_database_path()


def shared_group(target: str | Path, config: Config) -> str | None:
    """[database] group applies to the team's file ([database] path), not to another one given by --db."""
    database = config.database
    if database.group is None or database.path is None or is_url(target):
        return None
    return database.group if Path(target).expanduser() == database.path else None


def _open_sqlite(path: Path, group: str | None, notices: list[str]) -> SqliteDatabase:
    if str(path) == ":memory:":
        sharing = files.PRIVATE
    else:
        path = path.expanduser()
        try:
            sharing = files.sharing_for(path.parent, group)
            own_folder = path.parent == default_database_path().parent
            notices += files.prepare_database(path, sharing, own_folder=own_folder)
        except files.FileAccessError as error:
            raise DatabaseError(str(error)) from None
    db = SqliteDatabase(
        str(path),
        # Writers take the lock when they begin: a deferred transaction that reads and then writes
        # fails at once with "database is locked" if another process committed in between.
        lock_type="IMMEDIATE",
        pragmas={
            "journal_mode": "wal",
            "foreign_keys": 1,
            # Several reps and the mailbox write one file: a writer waits its turn rather than fail.
            "busy_timeout": 30_000,
            "synchronous": "normal",  # safe with WAL; a crash loses at most the last commit
        },
    )
    try:
        # SQLite creates the -wal and -shm files itself: nothing it creates may be wider than wanted.
        with files.umask(sharing.umask):
            db.connect()
            upgrade(db)
    except Exception as error:  # sqlite3.DatabaseError and friends: not a database, locked, read-only
        db.close()
        if "readonly" in str(error) or "unable to open" in str(error):
            raise DatabaseError(files.cannot_write(path, sharing)) from None
        raise DatabaseError(f"cannot open the database {path}: {error}") from None
    if str(path) != ":memory:":
        files.settle(path, sharing)
    return db


def _normalized(url: str) -> str:
    return re.sub(r"(?i)^postgres(ql)?://", "postgresql://", url)


class _Psycopg3(Psycopg3Adapter):
    """Peewee's psycopg 3 adapter, importing psycopg itself: peewee loads with it hidden
    (storage/__init__.py), so that opening SQLite never pays for importing it."""

    def __init__(self) -> None:
        super().__init__()
        try:
            import psycopg
            from psycopg.pq import TransactionStatus
            from psycopg.types.json import Json, Jsonb
        except ImportError:
            self._psycopg = None  # check_driver says so when connecting
            return
        self._psycopg = psycopg
        _copy_search_vectors_as_they_are()
        self._in_transaction = TransactionStatus.INTRANS
        self.txn_idle, self.txn_inerror, self.txn_unknown = (
            TransactionStatus.IDLE, TransactionStatus.INERROR, TransactionStatus.UNKNOWN,
        )
        self.json_type, self.jsonb_type = Json, Jsonb

    def check_driver(self) -> None:
        if self._psycopg is None:
            raise ImproperlyConfigured("psycopg postgres driver not found.")

    def get_binary_type(self):
        return self._psycopg.Binary

    def connect(self, db, **params):
        if db._encoding:
            params.setdefault("client_encoding", db._encoding)
        params.setdefault("conninfo" if db.database.startswith("postgresql://") else "dbname", db.database)
        return self._psycopg.connect(**params)

    def server_side_cursor(self, conn):
        # Inside a transaction a named cursor streams; outside one the server requires withhold.
        in_transaction = self.txn_status(conn) == self._in_transaction
        return conn.cursor(name=str(uuid.uuid1()), withhold=not in_transaction)


@cache
def _copy_search_vectors_as_they_are() -> None:
    """fulltext.search_vector's bytes are tsvector's binary form already: a binary COPY
    (Store._insert_many) sends them as they are. Asked for by the column's type alone, never for
    a Python type: bytes stay bytea everywhere else."""
    import psycopg
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class SearchVectorDumper(Dumper):
        format = Format.BINARY
        oid = psycopg.adapters.types["tsvector"].oid

        def dump(self, obj: bytes) -> bytes:
            return obj

    psycopg.adapters.register_dumper(None, SearchVectorDumper)


class _ServerDatabase(ReconnectMixin, PooledPostgresqlDatabase):
    """Connections are pooled: each worker thread borrows one and gives it back when done
    (Store.release), instead of logging in to the server for every action.

    After the server restarts, a session's connection is dead: outside a transaction, the next
    statement connects again and runs once more; inside one, the error stands (nothing is lost)."""

    reconnect_errors = (
        (OperationalError, "terminating connection"),
        (OperationalError, "the connection is closed"),
        (OperationalError, "server closed the connection"),
        (OperationalError, "consuming input failed"),
        (InterfaceError, "the connection is closed"),
    )

    def init(self, database, isolation_level=None, **kwargs):
        super().init(database, **kwargs)
        # Replaces peewee's own choice, made without psycopg (storage/__init__.py hid it).
        self._adapter = _Psycopg3()
        self._isolation_level = self._adapter.isolation_level_int(isolation_level)


def _open_postgres(url: str, password: str | None) -> PostgresqlDatabase:
    extra = {"password": password} if password else {}
    db = _ServerDatabase(
        _normalized(url), connect_timeout=10, max_connections=None, stale_timeout=300, **extra
    )
    try:
        db.connect()
        upgrade(db)
    except ImproperlyConfigured:  # no driver installed
        raise DatabaseError("PostgreSQL needs psycopg 3: pip install 'frontdesk[postgresql]'") from None
    except Exception as error:
        db.close()
        raise DatabaseError(postgres_problem(url, error)) from None
    return db


def postgres_problem(url: str, error: BaseException) -> str:
    """One line naming the server and what to check, from psycopg's (often multi-line) error."""
    where = ServerAddress.of(url)
    text = " ".join(str(error).split())
    lowered = text.lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = (
            f"the server refused the password for {where.user or 'the user'}: set [database] password_command, "
            f"or store it with `keyring set frontdesk database:{url_without_password(url)}`"
        )
    elif f'database "{where.name}" does not exist' in lowered:
        hint = f"there is no database {where.name!r} on the server: create it with `createdb {where.name}`"
    elif "connection refused" in lowered or "timeout" in lowered or "could not translate host" in lowered:
        hint = "nothing answers there: check the host and port, and that PostgreSQL is running and reachable"
    elif "role" in lowered and "does not exist" in lowered:
        hint = f"the server has no user {where.user!r}: create it, or put the right user in the URL"
    else:
        hint = text
    return f"cannot use the database {where}: {hint}"


def is_unavailable(error: BaseException) -> bool:
    """The database went away (a server restarting, a network gone), as opposed to a bad request."""
    return isinstance(error, OperationalError | InterfaceError)


def is_postgres(db: Database) -> bool:
    return isinstance(db, PostgresqlDatabase)


class ChangeWatch:
    """Tells cheaply whether any session committed since the last look.

    SQLite: `PRAGMA data_version`, which moves when another connection commits anything, the
    mailbox lease's heartbeat included; only then are the newest rows of what screens show looked
    up, so a heartbeat costs one small query and no reload. PostgreSQL: a connection of its own
    LISTENs for the notices the schema's triggers send (the lease sends none); a thread waits on it,
    so nothing polls the server. `token()` changes whenever something a screen shows was committed."""

    # Every change to a ticket logs an event; the outbox and the rotation change on their own. A
    # draft begun or gone marks its row (saving one again as it is typed is not worth a reload).
    _SHOWN = (
        "SELECT (SELECT max(id) FROM event), (SELECT max(updated_at) FROM outbox), (SELECT count(*) FROM outbox), "
        "(SELECT max(id) FROM rotation), (SELECT count(*) FROM draft)"
    )

    def __init__(self, db: Database, url: str | None = None, password: str | None = None) -> None:
        self._db = db
        self._count = 0
        self._data_version: int | None = None
        self._shown: tuple | None = None
        self._listener = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()  # the first attempt to listen is over, well or not
        self._stopped = threading.Event()
        self._connect = lambda: _listen(url, password)

    def start(self, wait: float = 0.0) -> None:
        """Begin listening (PostgreSQL; once): in a thread of its own, which connects and, when the
        server goes away, connects again. Waits up to `wait` seconds for the first connection, so
        that what is committed after start() returns is heard."""
        if not is_postgres(self._db):
            return  # SQLite: data_version hears every commit; nothing to wait for
        if self._thread is None:
            self._thread = threading.Thread(target=self._listen, name="frontdesk-listen", daemon=True)
            self._thread.start()
        self._ready.wait(wait)

    def token(self) -> int:
        if is_postgres(self._db):
            self.start()  # listening starts with the first look: a command that never looks costs nothing
            return self._count
        data_version = self._db.execute_sql("PRAGMA data_version").fetchone()[0]
        if data_version != self._data_version:
            self._data_version = data_version
            shown = tuple(self._db.execute_sql(self._SHOWN).fetchone())
            if shown != self._shown:
                self._shown = shown
                self._count += 1
        return self._count

    def _listen(self) -> None:
        import psycopg

        while not self._stopped.is_set():
            try:
                if self._listener is None:
                    self._listener = self._connect()
                    if self._ready.is_set():
                        self._count += 1  # back after a break: whatever happened meanwhile counts
                    self._ready.set()
                for _ in self._listener.notifies(timeout=1.0):
                    self._count += 1
            except psycopg.Error:
                self._drop()
                self._ready.set()
                self._stopped.wait(2.0)  # the server is restarting: try again shortly

    def _drop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.close()
            except Exception:  # already broken: nothing to close cleanly
                pass

    def close(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=3)
            self._drop()


def _listen(url: str, password: str | None):
    import psycopg

    extra = {"password": password} if password else {}
    connection = psycopg.connect(_normalized(url), autocommit=True, connect_timeout=10, **extra)
    connection.execute(f"LISTEN {CHANGES_CHANNEL}")
    return connection
