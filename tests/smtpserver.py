"""A real SMTP server (aiosmtpd) for the sending tests: loopback only, a throwaway certificate,
one test user, and every message it accepted kept for the test to read.

Two listeners: `port` speaks plain SMTP and offers STARTTLS, `tls_port` is implicit TLS (SMTPS).
AUTH PLAIN/LOGIN (and XOAUTH2) are offered on the plain port too, which is allowed only
because it is loopback. `mode` turns it unhelpful: "tempfail" answers 451 to DATA, "drop"
takes the message and then hangs up before saying so. `stop()` refuses connections. The
`smtp_relay` fixture is the same server offering no login at all, like a local MTA on port 25.

pytest loads only conftest.py by itself: import the fixture, e.g.
``from smtpserver import smtp_server  # noqa: F401``.
"""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from mailserver import _free_port, _self_signed_certificate

from frontdesk.storage.config import ServerConfig

USER = "support@example.com"
PASSWORD = "smtp-pass-for-tests"
TOKEN = "oauth-token-for-tests"
Mode = Literal["ok", "tempfail", "drop"]


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.mode == "tempfail":
            return "451 4.3.0 Mail server temporarily unavailable, try again later"
        self.server.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.content))
        if self.server.mode == "drop":
            smtp.transport.close()  # taken, but the client never hears "250"
        return "250 2.0.0 OK"

    async def auth_XOAUTH2(self, smtp: SMTP, args: list[str]) -> AuthResult:
        """Like Gmail: a bad token gets a 334 error challenge, which the client must answer empty."""
        initial = base64.b64decode(args[1]).decode() if len(args) > 1 else ""
        fields = dict(part.split("=", 1) for part in initial.split("\x01") if "=" in part)
        self.server.logins.append(("XOAUTH2", fields.get("user", "")))
        if fields.get("auth") == f"Bearer {TOKEN}" and fields.get("user") == USER:
            return AuthResult(success=True, auth_data=fields["user"])
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.google.com/"})
        self.server.xoauth2_answers.append(await smtp.challenge_auth(error))
        return AuthResult(success=False, handled=False, message="535 5.7.8 Username and Password not accepted")


class SmtpServer:
    host = "127.0.0.1"

    def __init__(self, root: Path, offers_login: bool = True) -> None:
        self.offers_login = offers_login
        _self_signed_certificate(root)
        self.cert = root / "cert.pem"
        self.port, self.tls_port = _free_port(), _free_port()
        self.mode: Mode = "ok"
        self.password = PASSWORD
        self.received: list[Received] = []
        self.logins: list[tuple[str, str]] = []  # (mechanism, user) of every attempt
        self.xoauth2_answers: list[bytes] = []  # what clients said to the error challenge
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(root / "cert.pem", root / "key.pem")
        self._controllers: list[Controller] = []

    def start(self) -> None:
        handler = _Handler(self)
        # Without an authenticator aiosmtpd offers AUTH only after STARTTLS: none on the plain port.
        login = dict(authenticator=self._authenticate, auth_require_tls=False) if self.offers_login else {}
        common = dict(hostname=self.host, **login)
        self._controllers = [
            Controller(handler, port=self.port, tls_context=self._context, **common),
            Controller(handler, port=self.tls_port, ssl_context=self._context, **common),
        ]
        for controller in self._controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self._controllers:
            controller.stop()
        self._controllers = []

    def _authenticate(self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((mechanism, data.login.decode()))
        ok = data.login.decode() == USER and data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself

    def server_config(self, **changes: object) -> ServerConfig:
        """Plain SMTP on loopback with a password command, unless told otherwise."""
        base = ServerConfig(
            host=self.host, port=self.port, security="none", username=USER,
            password_command=f"printf {self.password}", timeout=10,
        )
        return replace(base, **changes)


def _serve(root: Path, offers_login: bool) -> Iterator[SmtpServer]:
    root.mkdir()
    server = SmtpServer(root, offers_login)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from _serve(tmp_path / "smtp-server", offers_login=True)


@pytest.fixture
def smtp_relay(tmp_path: Path) -> Iterator[SmtpServer]:
    yield from _serve(tmp_path / "smtp-relay", offers_login=False)
