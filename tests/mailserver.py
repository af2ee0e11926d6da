"""A real Dovecot 2.3 IMAP server for the sync tests: loopback only, throwaway config, one user.

pytest loads only conftest.py by itself: a test module imports the fixtures it uses, e.g.
``from mailserver import dovecot  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from frontdesk.storage.config import ServerConfig

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
USER = "support@example.com"
PASSWORD = "s3cret-for-tests"
INSTALL_HINT = "install it with `apt-get install dovecot-imapd` (Debian/Ubuntu), as .ci/run does"

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_verbose = yes
# A failed login answers at once, so a client's retry storm would show in the log.
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
protocol imap {{
  mail_max_userip_connections = 50
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _accounts() -> dict[str, str]:
    """As root, login processes refuse uid 0: Dovecot's own users and `nobody` for the mail."""
    if os.geteuid() != 0:
        me, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
        return dict(internal_user=me, internal_group=group, login_user=me, mail_user=me, mail_group=group)
    return dict(
        internal_user="dovecot", internal_group="dovecot", login_user="dovenull", mail_user="nobody", mail_group="nogroup"
    )


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, ValueError, IndexError):
            # /proc/PID/stat: "pid (name) state ppid ..."; the name may hold spaces
            if entry.name.isdigit() and int((entry / "stat").read_text().rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _self_signed_certificate(folder: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem")],
        check=True, capture_output=True,
    )


class Dovecot:
    """One server on free loopback ports: IMAP (plain, STARTTLS) and IMAPS with a throwaway certificate."""

    host = "127.0.0.1"

    def __init__(self, root: Path, mechanisms: str = "plain login") -> None:
        self.root = root
        self.mechanisms = mechanisms
        self.imap_port, self.imaps_port = _free_port(), _free_port()
        self.cert = root / "cert.pem"
        self.log = root / "dovecot.log"
        self._process: subprocess.Popen | None = None
        self._folders = itertools.count(1)
        self._write_files()

    def _write_files(self) -> None:
        accounts = _accounts()
        self.root.chmod(0o755)  # login processes run as other users and must traverse it
        _self_signed_certificate(self.root)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        home = self.root / "home"
        home.mkdir()
        mail = pwd.getpwnam(accounts["mail_user"])
        os.chown(home, mail.pw_uid, mail.pw_gid)
        self.config = self.root / "dovecot.conf"
        self.config.write_text(
            _CONFIG.format(
                root=self.root, imap_port=self.imap_port, imaps_port=self.imaps_port, mechanisms=self.mechanisms, **accounts
            )
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(f"Dovecot exited at start (status {self._process.returncode}):\n{self.log_text()[-2000:]}")
            if self._listening():
                return
            time.sleep(0.02)
        self.stop()
        pytest.fail(f"Dovecot did not listen on {self.imap_port} within 10 s:\n{self.log_text()[-2000:]}")

    def _listening(self) -> bool:
        try:
            socket.create_connection((self.host, self.imap_port), timeout=1).close()
            socket.create_connection((self.host, self.imaps_port), timeout=1).close()
        except OSError:
            return False
        return True

    def stop(self) -> None:
        """Down like a crashed server: every client connection drops. A SIGTERM'd master leaves
        logged-in imap processes running, so they are killed too."""
        if self._process is None or self._process.poll() is not None:
            return
        children = _children(self._process.pid)
        self._process.send_signal(signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def failed_logins(self) -> int:
        return self.log_text().count("Password mismatch")

    def login_methods(self) -> list[str]:
        """The SASL mechanism of each successful login so far, e.g. ["PLAIN", "OAUTHBEARER"]."""
        return re.findall(r"imap-login: Info: Login: .*?, method=([A-Z0-9-]+),", self.log_text())

    # --- what a test does to the mailbox -------------------------------------------------------

    def client(self) -> IMAPClient:
        client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=30)
        client.login(USER, PASSWORD)
        return client

    def new_folder(self, prefix: str = "box") -> str:
        """A folder of the test's own, so tests sharing the server never see each other's mail."""
        name = f"{prefix}{next(self._folders)}"
        with self.client() as client:
            client.create_folder(name)
        return name

    def append(self, folder: str, messages: Iterable[bytes], when: datetime | None = None, batch: int = 500) -> None:
        """MULTIAPPEND in batches; `when` sets every message's INTERNALDATE."""
        pending = [{"msg": raw, "date": when} if when else raw for raw in messages]
        with self.client() as client:
            for start in range(0, len(pending), batch):
                client.multiappend(folder, pending[start : start + batch])

    def expunge_last(self, folder: str) -> None:
        with self.client() as client:
            client.select_folder(folder)
            client.delete_messages(max(client.search("ALL")))
            client.expunge()

    def uids(self, folder: str) -> list[int]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return sorted(client.search("ALL"))

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            return client.get_flags(client.search("ALL"))

    def uidvalidity(self, folder: str) -> int:
        with self.client() as client:
            return client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"]

    def recreate(self, folder: str, messages: Sequence[bytes]) -> int:
        """Delete the folder and make it again with `messages`: new UIDs under a new UIDVALIDITY,
        as after a server migration. Returns the new UIDVALIDITY."""
        old = self.uidvalidity(folder)
        with self.client() as client:
            client.delete_folder(folder)
            client.create_folder(folder)
        # Dovecot takes the clock for a new UIDVALIDITY: within the same second it would repeat.
        doveadm = [DOVEADM, "-c", str(self.config), "mailbox", "update", "-u", USER, "--uid-validity", str(old + 1), folder]
        subprocess.run(doveadm, check=True, capture_output=True)
        self.append(folder, messages)
        return self.uidvalidity(folder)

    def server_config(self, folder: str, **changes: object) -> ServerConfig:
        """Plain IMAP on loopback (allowed only there) with a password command, unless told otherwise."""
        base = ServerConfig(
            host=self.host, port=self.imap_port, security="none", username=USER, folder=folder,
            password_command=f"printf {PASSWORD}", timeout=10,
        )
        return replace(base, **changes)

    def trusting_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def _require_dovecot() -> None:
    if not os.access(DOVECOT, os.X_OK):
        where = "CI" if os.environ.get("CI") == "true" else "this machine"
        pytest.fail(f"the sync tests need a real Dovecot, and {where} has none at {DOVECOT}: {INSTALL_HINT}")


def running_dovecot(mechanisms: str = "plain login") -> Iterator[Dovecot]:
    """`mechanisms`: Dovecot's auth_mechanisms. With "oauthbearer" or "xoauth2", the password
    passes as the bearer token: Dovecot checks the token against the same passdb."""
    _require_dovecot()
    with tempfile.TemporaryDirectory(prefix="frontdesk-dovecot-") as name:
        server = Dovecot(Path(name), mechanisms)
        server.start()
        try:
            yield server
        finally:
            server.stop()
            shutil.rmtree(name, ignore_errors=True)  # maildirs belong to the mail user


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    """One server for a test module; each test works in a folder of its own (new_folder)."""
    yield from running_dovecot()


@pytest.fixture
def own_dovecot() -> Iterator[Dovecot]:
    """A server for one test: for tests that stop it, or count its logins."""
    yield from running_dovecot()
