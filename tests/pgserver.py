"""A real, throwaway PostgreSQL server for the tests: Debian's `initdb` and `pg_ctl` in a temporary
folder, listening on a free loopback port, trusted logins, one database per test.

As root (CI), PostgreSQL refuses to run, so the server runs as the `postgres` user that Debian's
package creates, in a folder that user owns. A test that needs the server and can't start it fails.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

INSTALL_HINT = "install it with `apt-get install postgresql` (Debian/Ubuntu), as tests/run does"
SUPERUSER = "frontdesk"


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self, root: Path, bin_dir: Path) -> None:
        self.root = root
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.data = root / "data"
        self._as_user: pwd.struct_passwd | None = pwd.getpwnam("postgres") if os.getuid() == 0 else None
        self._names = itertools.count(1)

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        def drop_root() -> None:
            if self._as_user is not None:
                os.setgid(self._as_user.pw_gid)
                os.setuid(self._as_user.pw_uid)

        return subprocess.run(
            command, preexec_fn=drop_root, capture_output=True, text=True, timeout=120, cwd=self.root,
            env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
        )

    def start(self) -> None:
        self.root.chmod(0o755)
        if self._as_user is not None:
            os.chown(self.root, self._as_user.pw_uid, self._as_user.pw_gid)
        init = self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "--auth=trust", "-U", SUPERUSER,
            "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync",
        )
        if init.returncode:
            pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
        self.resume()

    def resume(self) -> None:
        """Start the server on its data and port (again, after stop())."""
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        started = self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )
        if started.returncode:
            log = (self.root / "server.log").read_text(errors="replace")[-2000:]
            pytest.fail(f"PostgreSQL did not start:\n{started.stdout}\n{started.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        """Stop and start again on the same port: what a server restart looks like to clients."""
        self.stop()
        self.resume()

    def add_password_user(self, name: str, password: str) -> None:
        """A user who must log in with a password over TCP (everyone else is trusted)."""
        with self.admin() as conn:
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
            conn.execute(f"GRANT ALL ON DATABASE postgres TO {name}")
        hba = self.data / "pg_hba.conf"
        hba.write_text(f"host all {name} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
        self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "reload")

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url("postgres"), autocommit=True)

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        where = "CI" if os.environ.get("CI") == "true" else "this machine"
        pytest.fail(f"the PostgreSQL tests need a real server, and {where} has no initdb/pg_ctl: {INSTALL_HINT}")
    root = Path(tempfile.mkdtemp(prefix="frontdesk-pg-"))
    server = PostgresServer(root, bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        with contextlib.suppress(OSError):
            shutil.rmtree(root)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()
