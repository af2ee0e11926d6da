"""Hand-off notifications on their way out: the team channel's webhook.

What a hand-off says, and queuing it with the hand-off, is the store's (storage/handoff.py,
storage/usecases.py); the outbox sends it after the commit, the email by SMTP and the post here.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from frontdesk.storage.config import Config
from frontdesk.storage.handoff import HANDOFF, SLACK

from .credentials import is_loopback, run_command

__all__ = ["HANDOFF", "SLACK", "WebhookError", "check_url", "post_webhook", "webhook_url"]

WEBHOOK_TIMEOUT = 10.0


class WebhookError(Exception):
    """A post that did not land; the message never holds the URL (it is a credential)."""


def webhook_url(config: Config) -> str | None:
    """The configured URL, or what slack_webhook_command prints (the URL is a credential)."""
    if config.notify.slack_webhook_command:
        return run_command(config.notify.slack_webhook_command, "notify slack_webhook_command")
    return config.notify.slack_webhook


def post_webhook(url: str, text: str, timeout: float = WEBHOOK_TIMEOUT) -> None:
    check_url(url)
    request = urllib.request.Request(
        url,
        data=json.dumps({"text": text}).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise WebhookError(f"the webhook answered {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise WebhookError(f"cannot reach the webhook: {error.reason}") from None
    except OSError as error:  # a timeout while reading the answer
        raise WebhookError(f"the webhook did not answer: {error}") from None


def check_url(url: str) -> None:
    """https, or plain http to this machine (a local relay, or a test)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return
    raise WebhookError("the webhook URL must start with https:// (plain http only to this machine)")
