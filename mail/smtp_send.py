"""Sending the outbox: replies to customers over SMTP (or through a sendmail-compatible command),
hand-off emails, and webhook posts.

Exactly once: a row is marked `sending` and committed before anything leaves; only after the
server took it is it marked `sent`, in the same transaction that stores the reply in its ticket
(which stops the response clock at the moment it was sent). A row that may have left without
being marked (a crash, a connection lost while the server was taking the message, a command that
hung or was killed) is never sent again on its own: it is looked for in the Sent folder, or left
for the user to decide.
"""

from __future__ import annotations

import smtplib
import ssl
import subprocess
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Generic, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from frontdesk.storage import outbox
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import Config, SendCommand, ServerConfig
from frontdesk.storage.models import Outbox
from frontdesk.storage.safe_text import display_line
from frontdesk.storage.store import Store

from .credentials import CredentialError, Secret, check_transport, resolve_secret
from .imap_connect import connect_imap
from .ingest import Ingestor
from .notify import HANDOFF, SLACK, WebhookError, post_webhook, webhook_url
from .server_errors import MailError, describe_failure, one_line, reason

GetSecret = Callable[[ServerConfig, str], Secret]
T = TypeVar("T")

FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=1)  # the backoff stops doubling here: a wrong password costs one login an hour


class Uncertain(Exception):
    """The message may or may not have left."""


# What a failed delivery can raise: the message did not leave, and may be tried again later.
_FAILURES = (MailError, CredentialError, WebhookError)


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what went wrong but lost nothing


def send_outbox(
    store: Store, config: Config | None = None, get_secret: GetSecret = resolve_secret, clock: Clock | None = None
) -> SendReport:
    """Settle rows a crash left in `sending`, then send every row that is due. Never call it
    inside a transaction: each row's `sending` mark must be committed before it goes out."""
    run = _Run(store, config or store.config, get_secret, clock or store.clock)
    try:
        for entry in outbox.stale_sending(store, run.clock.now()):
            run.settle(entry, "before a crash")
        for entry in outbox.due(store, run.clock.now()):
            run.send(entry)
    finally:
        run.close()
    return run.report


def retry_delay(attempts: int) -> timedelta:
    """1 minute after the first failure, doubling, at most LAST_RETRY."""
    doublings = min(max(attempts - 1, 0), 20)  # long past the cap, and no overflow
    return min(FIRST_RETRY * 2**doublings, LAST_RETRY)


def build_message(entry: Outbox, config: Config, date: datetime) -> EmailMessage:
    """The complete message for an email row: a reply to a customer or a hand-off to an owner."""
    message = EmailMessage()
    message["From"] = Address(config.support.display_name, addr_spec=config.support.address or "")
    message["To"] = ", ".join(entry.to_addrs)
    if entry.cc_addrs:
        message["Cc"] = ", ".join(entry.cc_addrs)
    message["Subject"] = entry.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = f"<{entry.message_id}>"
    if entry.in_reply_to:
        message["In-Reply-To"] = f"<{entry.in_reply_to}>"
    if entry.refs:
        message["References"] = " ".join(f"<{ref}>" for ref in entry.refs)
    if entry.kind == HANDOFF:
        message["Auto-Submitted"] = "auto-generated"  # no vacation reply back to the support mailbox
        if config.support.rep_email:
            message["Reply-To"] = config.support.rep_email  # the owner's answer goes to the rep
    message.set_content(entry.body, cte="quoted-printable")  # UTF-8, safe for any server
    return message


# --- connections ----------------------------------------------------------------------------


def connect_smtp(server: ServerConfig, get_secret: GetSecret) -> smtplib.SMTP:
    """A logged-in SMTP session: TLS or STARTTLS with a verified certificate; plain only on loopback,
    unless there is no login (auth = "none") whose password could be read on the way."""
    if server.auth != "none":
        check_transport(server, "smtp")
    context = ssl.create_default_context()
    try:
        if server.security == "tls":
            client = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout, context=context)
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
        try:
            if server.security == "starttls":
                client.starttls(context=context)
            _smtp_login(client, server, get_secret)
        except BaseException:
            client.close()
            raise
    except OSError as error:  # network, TLS and login failures (SMTPException is an OSError)
        raise MailError(describe_failure(server, "smtp", error)) from None
    return client


def _smtp_login(client: smtplib.SMTP, server: ServerConfig, get_secret: GetSecret) -> None:
    client.ehlo_or_helo_if_needed()
    if server.auth == "none":
        return  # a relay that takes mail from this host without a login
    if not client.has_extn("auth"):
        if server.username:
            raise MailError(
                f"smtp: {server.host}:{server.port} offers no login (AUTH) but username {server.username} is set: "
                "is this the submission port (587 with starttls, 465 with tls)? "
                'A relay that needs no login: auth = "none"'
            )
        return
    secret = get_secret(server, "smtp")  # asked only now: a server without AUTH needs none
    if secret.kind == "oauth2":
        client.auth("XOAUTH2", _xoauth2(server.username or "", secret.value))
    else:
        _password_login(client, server, secret.value)


def _password_login(client: smtplib.SMTP, server: ServerConfig, password: str) -> None:
    """One mechanism, one attempt: smtplib's login() would try the same wrong password again with
    every mechanism offered, and each failure counts toward the provider's lockout."""
    offered = client.esmtp_features.get("auth", "").upper().split()
    mechanism = next((m for m in ("PLAIN", "LOGIN") if m in offered), None)
    if mechanism is None:
        raise MailError(f"smtp: {server.host}:{server.port} offers no password login (only {' '.join(offered)})")
    client.user, client.password = server.username or "", password
    client.auth(mechanism, client.auth_plain if mechanism == "PLAIN" else client.auth_login)


def pipe_to_command(command: SendCommand, message: bytes) -> None:
    """sendmail's contract: the whole message on standard input; exit status 0 means it was taken.
    Run without a shell; nothing is added to the arguments (the recipients are in the headers)."""
    program = command.command[0]
    local = message.replace(b"\r\n", b"\n")  # sendmail reads Unix line endings and writes CRLF to the wire
    try:
        done = subprocess.run(command.command, input=local, capture_output=True, timeout=command.timeout, check=False)
    except subprocess.TimeoutExpired as error:  # killed: it may have handed the message on already
        raise Uncertain(f"when {program} did not finish within {command.timeout:g} s") from error
    except OSError as error:  # missing, not executable, not a program
        raise MailError(f"smtp command: cannot run {program}: {error.strerror or type(error).__name__}") from None
    if done.returncode < 0:
        raise Uncertain(f"when {program} was killed by signal {-done.returncode}")
    if done.returncode != 0:
        said = one_line(display_line(done.stderr.decode("utf-8", "replace"))) or "nothing on standard error"
        raise MailError(f"smtp command: {program} exited with status {done.returncode}: {said}")


def _xoauth2(user: str, token: str) -> Callable[..., str]:
    # smtplib calls this again with the server's error challenge (334); the answer must be empty.
    first = f"user={user}\x01auth=Bearer {token}\x01\x01"
    return lambda challenge=None: first if challenge is None else ""


class _Session(Generic[T]):
    """A connection opened on first use and kept for the run. A failure to open is kept too,
    so a wrong password costs one login per run, not one per message."""

    def __init__(self, opener: Callable[[], T], closer: Callable[[T], object], alive: Callable[[T], bool]) -> None:
        self._opener, self._closer, self._alive = opener, closer, alive
        self._value: T | None = None
        self._error: Exception | None = None

    def get(self) -> T:
        if self._error is not None:
            raise self._error
        if self._value is not None and not self._alive(self._value):
            self.drop()
        if self._value is None:
            try:
                self._value = self._opener()
            except _FAILURES as error:
                self._error = error
                raise
        return self._value

    def drop(self) -> None:
        if self._value is not None:
            with suppress(Exception):
                self._closer(self._value)
        self._value = None


def _smtp_alive(client: smtplib.SMTP) -> bool:
    try:
        return client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def _imap_alive(client: IMAPClient) -> bool:
    try:
        client.noop()
        return True
    except (OSError, IMAPClientError):
        return False


# --- one run over the outbox ----------------------------------------------------------------


class _Run:
    def __init__(self, store: Store, config: Config, get_secret: GetSecret, clock: Clock) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.report = SendReport()
        self.smtp = _Session(lambda: connect_smtp(self._server("smtp"), get_secret), smtplib.SMTP.quit, _smtp_alive)

        def open_imap() -> IMAPClient:
            server = self._server("imap")
            return connect_imap(server, lambda: get_secret(server, "imap"))

        self.imap = _Session(open_imap, IMAPClient.logout, _imap_alive)
        self.webhook = _Session(lambda: webhook_url(config) or "", lambda _: None, lambda _: True)

    def close(self) -> None:
        self.smtp.drop()
        self.imap.drop()

    def send(self, entry: Outbox) -> None:
        if (missing := self._missing_channel(entry)) is not None:
            self.report.notes.append(f"#{entry.id} waits: {missing}")
            return
        now = self.clock.now()
        try:
            payload = self._payload(entry, now)
        except ValueError as error:  # a header that cannot be written: sending again cannot help
            self._fail(entry, f"cannot build the message: {one_line(str(error))}", now, retry=False)
            return
        if not outbox.claim(self.store, entry.id, now):
            return  # another frontdesk process is sending it
        try:
            self._deliver(entry, payload)
        except _FAILURES as error:
            self._fail(entry, one_line(str(error)), now, retry=True)
        except Uncertain as error:
            self.settle(entry, str(error))
        else:
            self._finish(entry, payload, now)

    def settle(self, entry: Outbox, when: str) -> None:
        """A row that may have left: found in the Sent folder it is sent, else the user decides."""
        found = self._find_in_sent(entry)
        if found is not None:
            raw, at = found
            self._finish(entry, raw, at, append=False)
            return
        where = "the Slack channel" if entry.kind == SLACK else "your Sent folder"
        error = f"may or may not have been sent {when}; check {where}, then retry or discard"
        self._fail(entry, error, self.clock.now(), retry=False)

    def _missing_channel(self, entry: Outbox) -> str | None:
        if entry.kind == SLACK:
            notify = self.config.notify
            return None if notify.slack_webhook or notify.slack_webhook_command else "no webhook under [notify]"
        return None if self.config.smtp and self.config.support.address else "no [smtp] or support address configured"

    def _payload(self, entry: Outbox, now: datetime) -> bytes:
        if entry.kind == SLACK:
            return entry.body.encode("utf-8")
        return build_message(entry, self.config, now).as_bytes(policy=SMTP)

    def _deliver(self, entry: Outbox, payload: bytes) -> None:
        if entry.kind == SLACK:
            post_webhook(self.webhook.get(), payload.decode("utf-8"))
            return
        if isinstance(self.config.smtp, SendCommand):
            pipe_to_command(self.config.smtp, payload)
            return
        client = self.smtp.get()
        recipients = [*entry.to_addrs, *entry.cc_addrs]
        # Non-ASCII addresses need the server's SMTPUTF8; smtplib refuses clearly without it.
        options = [] if all(a.isascii() for a in recipients) else ["SMTPUTF8"]
        try:
            client.sendmail(self.config.support.address or "", recipients, payload, mail_options=options)
        except smtplib.SMTPServerDisconnected as error:
            self.smtp.drop()
            raise Uncertain("when the connection broke") from error
        except smtplib.SMTPException as error:  # the server answered: it did not take the message
            raise MailError(f"smtp: {reason(error)}") from None
        except OSError as error:  # timeout or reset: perhaps after the server took it
            self.smtp.drop()
            raise Uncertain(f"when the connection failed ({error.strerror or type(error).__name__})") from error

    def _finish(self, entry: Outbox, raw: bytes, at: datetime, append: bool = True) -> None:
        """Sent: marked so together with the reply's copy in its ticket, which stops the response clock."""
        customer = entry.kind not in (HANDOFF, SLACK)
        with self.store.transaction():
            outbox.mark_sent(self.store, entry.id, at)
            if customer:
                Ingestor(self.store).ingest(raw, f"outbox:{entry.id}", received_at=at)
        self.report.sent.append(entry.id)
        if customer and append:
            self._append_to_sent(entry, raw, at)

    def _fail(self, entry: Outbox, error: str, now: datetime, retry: bool) -> None:
        retry_at = now + retry_delay(entry.attempts + 1) if retry else None
        outbox.mark_failed(self.store, entry.id, error, now, retry_at)
        self.report.failed[entry.id] = error

    def _append_to_sent(self, entry: Outbox, raw: bytes, at: datetime) -> None:
        """Best effort: the reply is out; a missing copy in Sent is noted, not retried."""
        folder = self.config.imap.sent_folder if self.config.imap else None
        if folder is None:
            return
        try:
            self.imap.get().append(folder, raw, flags=(b"\\Seen",), msg_time=at)
        except (*_FAILURES, OSError, IMAPClientError) as error:
            note = f"sent, but not copied to the Sent folder {folder}: {one_line(str(error))}"
            outbox.note_error(self.store, entry.id, note)
            self.report.notes.append(f"#{entry.id} {note}")

    def _find_in_sent(self, entry: Outbox) -> tuple[bytes, datetime] | None:
        """The copy of an email row in the Sent folder and when it got there, if IMAP can tell."""
        folder = self.config.imap.sent_folder if self.config.imap else None
        if folder is None or entry.kind == SLACK:
            return None
        try:
            return find_in_folder(self.imap.get(), folder, entry.message_id)
        except (*_FAILURES, OSError, IMAPClientError) as error:
            self.report.notes.append(f"#{entry.id}: could not look in the Sent folder: {one_line(str(error))}")
            return None

    def _server(self, name: str) -> ServerConfig:
        server = getattr(self.config, name)
        if server is None:
            raise MailError(f"no [{name}] in the config")
        return server


def find_in_folder(client: IMAPClient, folder: str, message_id: str) -> tuple[bytes, datetime] | None:
    """The message with this Message-ID in a folder (raw bytes, INTERNALDATE), or None."""
    client.select_folder(folder, readonly=True)
    uids = client.search(["HEADER", "Message-ID", message_id])
    if not uids:
        return None
    data = client.fetch(uids[:1], ["BODY.PEEK[]", "INTERNALDATE"])[uids[0]]
    return data[b"BODY[]"], data[b"INTERNALDATE"]
