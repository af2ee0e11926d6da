"""Where the mailbox secrets come from: a command the user names, or the system keyring.

A secret lives only in memory, inside a Secret whose repr hides it. Errors say what failed and
what to do, never what a command printed (that output may be the secret itself).
"""

from __future__ import annotations

import ipaddress
import os
import shlex
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

import keyring
import keyring.backends.fail
import keyring.backends.null
from keyring.backend import KeyringBackend
from keyring.backends.chainer import ChainerBackend
from keyring.errors import KeyringError

from frontdesk.storage.config import DatabaseConfig, ServerConfig, url_without_password

SERVICE = "frontdesk"
KEYRING_TIMEOUT = 5.0  # a locked keyring may wait forever on a prompt nobody sees
COMMAND_TIMEOUT = 60.0  # long enough for a passphrase prompt from gpg-agent
ALLOW_PLAINTEXT_ENV = "FRONTDESK_ALLOW_PLAINTEXT_KEYRING"

WAYS_OUT = (
    "ways out: set password_command (e.g. `pass show support`) in the config, "
    "or run frontdesk inside `dbus-run-session` after `gnome-keyring-daemon --unlock`, "
    f"or allow a plaintext keyring with {ALLOW_PLAINTEXT_ENV}=1"
)

T = TypeVar("T")


class CredentialError(Exception):
    """A secret could not be had; the one-line message says what to do."""


@dataclass(frozen=True)
class Secret:
    kind: Literal["password", "oauth2"]
    value: str

    def __repr__(self) -> str:
        return f"Secret(kind={self.kind!r}, value=<hidden>)"

    __str__ = __repr__


def resolve_secret(server: ServerConfig, account_label: str) -> Secret:
    """The secret for one account (account_label: "imap" or "smtp", used in messages)."""
    if server.auth == "oauth2":
        return Secret("oauth2", run_command(server.oauth2_token_command or "", f"{account_label} oauth2_token_command"))
    if server.password_command:
        return Secret("password", run_command(server.password_command, f"{account_label} password_command"))
    username = _username(server, account_label)
    password = _with_keyring(account_label, lambda backend: backend.get_password(SERVICE, username))
    if password is None:
        raise CredentialError(
            f"{account_label}: no password for {username} in the system keyring: "
            f"run `frontdesk init`, or `keyring set {SERVICE} {username}`"
        )
    return Secret("password", password)


def database_password(database: DatabaseConfig, url: str) -> str | None:
    """The PostgreSQL password: from [database] password_command, else the keyring entry (service
    "frontdesk", user "database:" + the URL without password), else None: psycopg then reads
    PGPASSWORD or ~/.pgpass itself. A keyring that is missing, locked or plaintext-only counts as
    none. Never printed, never logged."""
    if url_without_password(url) != url:
        return None  # given in a --db URL: psycopg uses that one
    if database.password_command:
        return run_command(database.password_command, "database password_command")
    try:
        return _bounded(lambda: _usable_backend().get_password(SERVICE, database_keyring_user(url)))
    except CredentialError:
        return None


def database_keyring_user(url: str) -> str:
    """The keyring user name under which the password of a database URL is kept."""
    return "database:" + url_without_password(url)


def store_password(server: ServerConfig, password: str) -> None:
    """Keep the password in the system keyring, where resolve_secret will find it."""
    username = _username(server, "the account")
    _with_keyring("keyring", lambda backend: backend.set_password(SERVICE, username, password))


def describe_source(server: ServerConfig) -> str:
    """Where the secret comes from, in words safe to print."""
    if server.auth == "oauth2":
        return f"oauth2 token from `{server.oauth2_token_command}`"
    if server.password_command:
        return f"password from `{server.password_command}`"
    return f"password from the system keyring (service {SERVICE}, user {server.username})"


def run_command(command: str, what: str, timeout: float | None = None) -> str:
    """Run a configured command without a shell; its output, less one trailing newline."""
    try:
        argv = shlex.split(command)
    except ValueError as error:
        raise CredentialError(f"{what} `{command}` cannot be split into words: {error}") from None
    if not argv:
        raise CredentialError(f"{what} is empty: name a command that prints the secret")
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout or COMMAND_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise CredentialError(f"{what}: command not found: {argv[0]}") from None
    except PermissionError:
        raise CredentialError(f"{what}: not allowed to run {argv[0]}") from None
    except subprocess.TimeoutExpired as error:
        raise CredentialError(f"{what} `{command}` did not finish within {error.timeout:g} s") from None
    if done.returncode != 0:
        raise CredentialError(
            f"{what} `{command}` failed with exit status {done.returncode}: run it yourself to see why"
        )
    output = done.stdout.decode("utf-8", "replace").removesuffix("\n").removesuffix("\r")
    if not output:
        raise CredentialError(f"{what} `{command}` printed nothing (expected the secret on standard output)")
    return output


def check_transport(server: ServerConfig, account_label: str) -> None:
    """A login may travel unencrypted only to this machine (security = "none")."""
    if server.security == "none" and not is_loopback(server.host):
        raise CredentialError(
            f'{account_label}: security = "none" would send the password in clear to {server.host}: '
            'use "tls" or "starttls" (plain is allowed only for 127.0.0.1, ::1 or localhost)'
        )


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _username(server: ServerConfig, label: str) -> str:
    if not server.username:
        raise CredentialError(f"{label}: no username to look up in the keyring: set username under [{label}]")
    return server.username


# --- the keyring ------------------------------------------------------------------------------


def _with_keyring(label: str, call: Callable[[KeyringBackend], T]) -> T:
    """Run `call` on a usable backend, in a thread, within KEYRING_TIMEOUT."""
    try:
        return _bounded(lambda: call(_usable_backend()))
    except CredentialError as error:
        raise CredentialError(f"{label}: {error}; {WAYS_OUT}") from None


def _bounded(work: Callable[[], T]) -> T:
    # A daemon thread, not an executor: a D-Bus call stuck forever must not block exit either.
    result: dict[str, object] = {}

    def run() -> None:
        try:
            result["value"] = work()
        except BaseException as error:  # handed to the caller's thread
            result["error"] = error

    thread = threading.Thread(target=run, name="frontdesk-keyring", daemon=True)
    thread.start()
    thread.join(KEYRING_TIMEOUT)
    if thread.is_alive():
        raise CredentialError(
            f"the system keyring did not answer within {KEYRING_TIMEOUT:g} s (locked, or waiting on a prompt)"
        )
    if "error" in result:
        error = result["error"]
        if isinstance(error, CredentialError):
            raise error
        raise CredentialError(f"the system keyring failed ({_describe(error)})") from None
    return result["value"]  # type: ignore[return-value]


def _usable_backend() -> KeyringBackend:
    """The best encrypted backend; a plaintext one only when the user opted in."""
    secure, plaintext = _backends()
    if secure:
        return secure[0]
    if not plaintext:
        raise CredentialError("no usable system keyring (headless, or no D-Bus session?)")
    if os.environ.get(ALLOW_PLAINTEXT_ENV) == "1":
        return plaintext[0]
    raise CredentialError(
        f"the only keyring available ({_name(plaintext[0])}) keeps passwords unencrypted on disk: refused"
    )


def _backends() -> tuple[list[KeyringBackend], list[KeyringBackend]]:
    """The chosen backend(s), split into (encrypted, plaintext); a backend with priority < 1 is
    one keyring itself does not recommend: the plaintext files of keyrings.alt and the like."""
    chosen = keyring.get_keyring()
    candidates = list(chosen.backends) if isinstance(chosen, ChainerBackend) else [chosen]
    usable = [b for b in candidates if not isinstance(b, keyring.backends.fail.Keyring | keyring.backends.null.Keyring)]
    secure = [b for b in usable if _priority(b) >= 1]
    return secure, [b for b in usable if b not in secure]


def _priority(backend: KeyringBackend) -> float:
    try:
        return float(backend.priority)
    except Exception:  # a backend that cannot even rate itself is not one to trust
        return 0.0


def _name(backend: KeyringBackend) -> str:
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _describe(error: BaseException) -> str:
    """Keyring's own errors say useful things ("Prompt dismissed"); others only their type."""
    detail = str(error).strip().splitlines()[0] if isinstance(error, KeyringError) and str(error).strip() else ""
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
