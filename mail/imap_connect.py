"""The one way into the IMAP server. Sync, `doctor`, `init` and the copy of replies into Sent all
log in here, with the same TLS, the same mechanism and the same reading of a refusal, so that a
login `doctor` passes is the login sync makes."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from frontdesk.storage.config import ServerConfig

from .credentials import CredentialError, Secret, check_transport
from .server_errors import MailError, describe_failure, reason

# Login refusals worth retrying (RFC 5530); any other one means the credentials are wrong.
TRANSIENT_LOGIN_CODES = ("[UNAVAILABLE]", "[INUSE]", "[SERVERBUG]", "[LIMIT]")


class ImapError(MailError):
    """Connecting or logging in failed. `retryable`: the network or a busy server, worth another
    try later; otherwise the settings or credentials are wrong, and each try counts toward a lockout."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def check_settings(server: ServerConfig) -> None:
    """What makes every login fail, found before any connection: no username, or a password
    that would travel in clear beyond this machine."""
    try:
        check_transport(server, "imap")
    except CredentialError as error:
        raise ImapError(str(error), retryable=False) from None
    if not server.username:
        raise ImapError("imap: no username: set username under [imap] or address under [support]", retryable=False)


def connect_imap(
    server: ServerConfig, get_secret: Callable[[], Secret], ssl_context: ssl.SSLContext | None = None
) -> IMAPClient:
    """A logged-in session: TLS or STARTTLS with a verified certificate (plain only on loopback).
    The secret is asked for only once the server is reached. Raises ImapError."""
    check_settings(server)
    context = ssl_context or ssl.create_default_context()
    tls = server.security == "tls"
    try:
        client = IMAPClient(server.host, server.port, ssl=tls, ssl_context=context if tls else None, timeout=server.timeout)
        try:
            if server.security == "starttls":
                client.starttls(context)
            _login(client, server, get_secret)
        except BaseException:
            close_quietly(client)  # no polite LOGOUT: the connection may be what failed
            raise
    except (OSError, IMAPClientError) as error:
        # Only a certificate nobody trusts fails the same way every time; the rest may pass later.
        untrusted = isinstance(error, ssl.SSLCertVerificationError)
        raise ImapError(describe_failure(server, "imap", error), retryable=not untrusted) from None
    client.normalise_times = False  # aware INTERNALDATEs, not the machine's local time
    return client


def _login(client: IMAPClient, server: ServerConfig, get_secret: Callable[[], Secret]) -> None:
    try:
        secret = get_secret()
    except CredentialError as error:
        raise ImapError(str(error), retryable=False) from None
    try:
        if secret.kind == "password":
            client.login(server.username, secret.value)
        elif client.has_capability("AUTH=OAUTHBEARER"):  # the standard one (RFC 7628)
            client.oauthbearer_login(server.username, secret.value)
        else:
            client.oauth2_login(server.username, secret.value)
    except LoginError as error:
        text = reason(error)
        if any(code in text for code in TRANSIENT_LOGIN_CODES):
            raise ImapError(f"imap: {server.host}:{server.port} cannot log in now ({text})", retryable=True) from None
        raise ImapError(describe_failure(server, "imap", error), retryable=False) from None


def close_quietly(client: IMAPClient) -> None:
    with contextlib.suppress(OSError):
        client.shutdown()
