"""What a failed talk with a mail server says: one line naming the server, what happened and
what to check. IMAP (imap_connect.py) and SMTP (smtp_send.py) word their failures alike."""

from __future__ import annotations

import smtplib
import socket
import ssl

from imapclient.exceptions import LoginError

from frontdesk.storage.config import ServerConfig

from .credentials import describe_source


class MailError(Exception):
    """A server could not be reached, refused the login or the message; one line for the user."""


def describe_failure(server: ServerConfig, label: str, error: Exception) -> str:
    where = f"{label}: {server.host}:{server.port}"
    match error:
        case ssl.SSLCertVerificationError():
            return (
                f"{where}: the server's certificate is not trusted ({error.verify_message}); "
                "if a private CA signed it, point SSL_CERT_FILE at that CA"
            )
        case ssl.SSLError():
            return f'{where}: TLS failed ({error.reason}): check security = "{server.security}" and the port'
        case smtplib.SMTPAuthenticationError() | LoginError():
            return f"{where} refused the login for {server.username} ({reason(error)}): check the {describe_source(server)}"
        case smtplib.SMTPResponseException():
            return f"{where} answered {reason(error)}"
        case ConnectionRefusedError():
            return f"{where}: connection refused (is the server up, and is {server.port} its port?)"
        case socket.gaierror():
            return f"{where}: cannot find the host ({error.strerror})"
        case TimeoutError():
            return f"{where}: no answer within {server.timeout:g} s"
        case OSError() if error.strerror:
            return f"{where}: {error.strerror}"
    return f"{where}: {reason(error)}"


def reason(error: Exception) -> str:
    """The server's words in one line: an SMTP code and text; imaplib's "b'...'" unwrapped; the
    error's type when it says nothing."""
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return one_line(f"{error.smtp_code} {text}")
    text = one_line(str(error))
    if len(text) > 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text or type(error).__name__


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]
