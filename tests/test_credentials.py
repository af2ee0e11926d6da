"""Secrets from commands and from the system keyring: found, refused when unsafe, bounded in
time, and never repeated in an error message, a repr or a log."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import KeyringLocked

from frontdesk.mail import credentials
from frontdesk.mail.credentials import (
    ALLOW_PLAINTEXT_ENV,
    CredentialError,
    Secret,
    check_transport,
    database_password,
    resolve_secret,
    store_password,
)
from frontdesk.storage.config import DatabaseConfig, ServerConfig

SECRET = "hunter2-do-not-print"
# Prints SECRET without the command line holding it: the command is named in errors, the output never.
PRINTS_SECRET = "sh -c 'printf %s%s hunter2- do-not-print; exit {status}'"
WAYS_OUT = ("pass show support", "dbus-run-session", "gnome-keyring-daemon --unlock", ALLOW_PLAINTEXT_ENV)


class MemoryKeyring(KeyringBackend):
    """A keyring in memory that rates itself like an encrypted one."""

    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.passwords.pop((service, username), None)


class PlaintextKeyring(MemoryKeyring):
    """Stands for keyrings.alt's file backends: keyring itself rates them below 1."""

    priority = 0.5


class HangingKeyring(MemoryKeyring):
    """A locked keyring waiting on a prompt nobody will ever see."""

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(30)
        return None


class LockedKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringLocked("Failed to unlock the collection!")

    def set_password(self, service: str, username: str, password: str) -> None:
        self.get_password(service, username)


@pytest.fixture
def use_keyring(monkeypatch) -> Iterator:
    """Install a backend for one test; the process-wide choice is put back afterwards."""
    previous = keyring.get_keyring()
    monkeypatch.delenv(ALLOW_PLAINTEXT_ENV, raising=False)

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


def server(**changes) -> ServerConfig:
    return ServerConfig(**{"host": "imap.example.com", "port": 993, "username": "support@example.com", **changes})


# --- commands -----------------------------------------------------------------------------------


def test_a_password_command_gives_its_output_less_one_newline():
    assert resolve_secret(server(password_command="printf 'pw with spaces\\n'"), "imap") == Secret("password", "pw with spaces")
    assert resolve_secret(server(password_command="printf 'pw\\n\\n'"), "imap").value == "pw\n"


def test_an_oauth2_token_command_gives_a_token():
    secret = resolve_secret(server(auth="oauth2", oauth2_token_command="echo tok-123"), "smtp")
    assert secret == Secret("oauth2", "tok-123")


def test_a_failing_command_is_named_with_its_status_but_not_its_output():
    with pytest.raises(CredentialError) as caught:
        resolve_secret(server(password_command=PRINTS_SECRET.format(status=3)), "imap")
    message = str(caught.value)
    assert message.startswith("imap password_command `sh -c") and "exit status 3" in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("no-such-command-xyz", "command not found: no-such-command-xyz"),
        ("true", "printed nothing"),
        ("printf 'unterminated", "cannot be split into words"),
    ],
)
def test_command_problems_say_what_to_fix(command, expected):
    with pytest.raises(CredentialError, match=expected):
        resolve_secret(server(password_command=command), "smtp")


def test_a_command_that_hangs_is_stopped(monkeypatch):
    monkeypatch.setattr(credentials, "COMMAND_TIMEOUT", 0.3)
    started = time.monotonic()
    with pytest.raises(CredentialError, match="did not finish within 0.3 s"):
        resolve_secret(server(password_command="sleep 20"), "imap")
    assert time.monotonic() - started < 5


# --- the keyring --------------------------------------------------------------------------------


def test_the_keyring_gives_the_password_stored_by_init(use_keyring):
    memory = use_keyring(MemoryKeyring())
    store_password(server(), SECRET)
    assert memory.passwords == {("frontdesk", "support@example.com"): SECRET}
    assert resolve_secret(server(), "imap") == Secret("password", SECRET)


def test_a_password_missing_from_the_keyring_says_how_to_put_it_there(use_keyring):
    use_keyring(MemoryKeyring())
    with pytest.raises(CredentialError, match=r"no password for support@example.com .* run `frontdesk init`"):
        resolve_secret(server(), "imap")


def test_no_keyring_backend_lists_the_ways_out(use_keyring):
    use_keyring(keyring.backends.fail.Keyring())
    with pytest.raises(CredentialError) as caught:
        resolve_secret(server(), "smtp")
    message = str(caught.value)
    assert message.startswith("smtp: no usable system keyring")
    assert all(way in message for way in WAYS_OUT)


def test_a_plaintext_keyring_is_refused_unless_the_user_opted_in(use_keyring, monkeypatch):
    plaintext = use_keyring(PlaintextKeyring())
    plaintext.set_password("frontdesk", "support@example.com", SECRET)
    with pytest.raises(CredentialError) as caught:
        resolve_secret(server(), "imap")
    assert "unencrypted on disk: refused" in str(caught.value)
    assert all(way in str(caught.value) for way in WAYS_OUT)
    with pytest.raises(CredentialError, match="refused"):
        store_password(server(), "new password")

    monkeypatch.setenv(ALLOW_PLAINTEXT_ENV, "1")
    assert resolve_secret(server(), "imap").value == SECRET


def test_a_hanging_keyring_is_given_up_on_in_time(use_keyring, monkeypatch):
    monkeypatch.setattr(credentials, "KEYRING_TIMEOUT", 0.3)
    use_keyring(HangingKeyring())
    started = time.monotonic()
    with pytest.raises(CredentialError, match="did not answer within 0.3 s") as caught:
        resolve_secret(server(), "imap")
    assert time.monotonic() - started < 2
    assert all(way in str(caught.value) for way in WAYS_OUT)


def test_a_locked_keyring_says_so(use_keyring):
    use_keyring(LockedKeyring())
    with pytest.raises(CredentialError, match=r"KeyringLocked: Failed to unlock the collection!.*ways out"):
        resolve_secret(server(), "imap")


def test_plain_transport_only_to_this_machine():
    check_transport(server(security="none", host="127.0.0.1"), "imap")
    check_transport(server(security="none", host="localhost"), "imap")
    check_transport(server(security="tls"), "imap")
    with pytest.raises(CredentialError, match='security = "none" would send the password in clear to imap.example.com'):
        check_transport(server(security="none"), "imap")


# --- the secret never shows ---------------------------------------------------------------------


def test_the_secret_never_appears_in_a_repr_an_error_or_a_log(use_keyring, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    secret = Secret("password", SECRET)
    shown = [repr(secret), str(secret), repr([secret]), f"{secret}"]

    with pytest.raises(CredentialError) as caught:
        resolve_secret(server(password_command=PRINTS_SECRET.format(status=1)), "imap")
    shown += [str(caught.value), repr(caught.value)]

    for backend in (PlaintextKeyring(), LockedKeyring(), keyring.backends.fail.Keyring()):
        use_keyring(backend)
        with pytest.raises(CredentialError) as caught:
            store_password(server(), SECRET)
        shown += [str(caught.value), repr(caught.value)]

    assert all(SECRET not in text for text in shown)
    assert SECRET not in caplog.text


# --- the database's password --------------------------------------------------------------------

DB_URL = "postgresql://fd@db.example.com:5432/frontdesk"


def test_the_database_password_comes_from_its_command_first(use_keyring):
    memory = use_keyring(MemoryKeyring())
    memory.set_password("frontdesk", f"database:{DB_URL}", "from-the-keyring")
    command = DatabaseConfig(url=DB_URL, password_command=f"printf {SECRET}")
    assert database_password(command, DB_URL) == SECRET
    assert database_password(DatabaseConfig(url=DB_URL), DB_URL) == "from-the-keyring"
    assert credentials.database_keyring_user("postgresql://fd:pw@h/db") == "database:postgresql://fd@h/db"


def test_without_a_keyring_the_database_password_is_left_to_psycopg(use_keyring):
    use_keyring(keyring.backends.fail.Keyring())
    assert database_password(DatabaseConfig(url=DB_URL), DB_URL) is None  # PGPASSWORD, ~/.pgpass
    use_keyring(MemoryKeyring())
    assert database_password(DatabaseConfig(url=DB_URL), DB_URL) is None
    use_keyring(LockedKeyring())
    assert database_password(DatabaseConfig(url=DB_URL), DB_URL) is None


def test_a_failing_database_password_command_is_named_but_not_its_output():
    with pytest.raises(CredentialError) as caught:
        database_password(DatabaseConfig(url=DB_URL, password_command=PRINTS_SECRET.format(status=1)), DB_URL)
    assert str(caught.value).startswith("database password_command `sh -c")
    assert SECRET not in str(caught.value)
