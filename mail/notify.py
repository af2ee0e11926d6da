"""Hand-off notifications: the new owner gets an email, and the team channel a post.

Both are outbox rows, so a failed notification is retried and shown like a failed reply,
never lost. They are internal: no ticket token in the subject, never stored as a reply to the
customer, and they stop no SLA clock.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import datetime
from email.utils import make_msgid
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from frontdesk.storage.config import Config
from frontdesk.storage.models import Message, Outbox
from frontdesk.storage.sla import TargetState
from frontdesk.storage.store import Store, StoreError
from frontdesk.storage.views import TicketView

from .credentials import is_loopback, run_command
from .safe_text import display_line, display_safe

HANDOFF = "handoff"  # an email to the new owner
SLACK = "slack"  # a post to the team's incoming webhook
EXCERPT_LINES = 40
WEBHOOK_TIMEOUT = 10.0
_STATUS_WORDS = {"ok": "on track", "at_risk": "at risk", "breached": "breached", "paused": "paused"}


class WebhookError(Exception):
    """A post that did not land; the message never holds the URL (it is a credential)."""


def queue_handoff(store: Store, ticket_id: int, note: str | None) -> list[Outbox]:
    """Queue the notifications for a ticket just assigned (Store.assign) to its owner: one per
    channel configured now ([smtp], a webhook), so none waits for a channel that may never come."""
    view = store.view(ticket_id)
    if view.owner is None:
        raise StoreError(f"ticket #{ticket_id} has no owner to notify")
    config = store.config
    subject = handoff_subject(view, config.calendar.timezone)
    text = handoff_text(store, view, note)
    kinds = []
    if config.smtp and config.support.address:
        kinds.append((HANDOFF, [view.owner], text))
    if config.notify.slack_webhook or config.notify.slack_webhook_command:
        kinds.append((SLACK, [], f"*{_slack_escape(subject)}*\n{_slack_escape(text)}"))
    with store.transaction():
        return [_queue(store, view.id, kind, to, subject, body) for kind, to, body in kinds]


def handoff_subject(view: TicketView, zone: ZoneInfo) -> str:
    """'Hand-off: #12 <subject> (Sev 1, response due …)': no [#12] token, which would thread
    the owner's answer into the customer's ticket."""
    severity = f"Sev {view.severity}" if view.severity else "untriaged"
    due = _next_due(view)
    when = f", {due[0]} due {_when(due[1].due_at, zone)}" if due else ""
    return f"Hand-off: #{view.id} {display_line(view.subject)} ({severity}{when})"


def handoff_text(store: Store, view: TicketView, note: str | None) -> str:
    zone = store.config.calendar.timezone
    customer = f"{view.customer} ({view.requester})" if view.customer else view.requester
    lines = [
        f"Ticket #{view.id} is yours now, handed over by {store.actor}.",
        "",
        f"Subject:     {display_line(view.subject)}",
        f"Customer:    {display_line(customer)}",
        f"Severity:    {view.severity or 'not set yet (untriaged)'}",
        f"Response:    {_target_line(view.sla.response, zone)}",
        f"Resolution:  {_target_line(view.sla.resolution, zone)}",
    ]
    if note:
        lines += ["", f"Note from {store.actor}:", *_indented(note.splitlines())]
    lines += ["", *_latest_message(view.id, zone), "", f"Open it with: frontdesk show {view.id}"]
    return "\n".join(lines) + "\n"


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


def _queue(store: Store, ticket_id: int, kind: str, to: list[str], subject: str, body: str) -> Outbox:
    now = store.clock.now()
    domain = (store.config.support.address or "").rpartition("@")[2] or "frontdesk.invalid"
    return Outbox.create(
        ticket=ticket_id,
        kind=kind,
        to_addrs=to,
        subject=subject,
        body=body,
        message_id=make_msgid("frontdesk.handoff", domain)[1:-1],
        actor=store.actor,
        created_at=now,
        updated_at=now,
    )


def _next_due(view: TicketView) -> tuple[str, TargetState] | None:
    """The clock the owner must beat: response until answered, then resolution."""
    for name, target in (("response", view.sla.response), ("resolution", view.sla.resolution)):
        if target is not None and target.status in _STATUS_WORDS:
            return name, target
    return None


def _target_line(target: TargetState | None, zone: ZoneInfo) -> str:
    if target is None:
        return "no target"
    if target.status in _STATUS_WORDS:
        return f"due {_when(target.due_at, zone)} ({_STATUS_WORDS[target.status]})"
    return f"{target.status} (was due {_when(target.due_at, zone)})"


def _latest_message(ticket_id: int, zone: ZoneInfo) -> list[str]:
    latest = (
        Message.select()
        .where((Message.ticket == ticket_id) & (Message.direction == "in"))
        .order_by(Message.received_at.desc(), Message.id.desc())
        .first()
    )
    if latest is None:
        return ["No message from the customer yet."]
    sender = display_line(latest.from_name or latest.from_email)
    text = latest.body_text.strip().splitlines() or ["(no text in this message)"]
    shown = _indented(text[:EXCERPT_LINES], "> ")
    if len(text) > EXCERPT_LINES:
        shown.append(f"[{len(text) - EXCERPT_LINES} more lines in frontdesk show {ticket_id}]")
    return [f"Latest message from {sender}, {_when(latest.received_at, zone)}:", *shown]


def _indented(lines: list[str], prefix: str = "    ") -> list[str]:
    return [f"{prefix}{display_safe(line)}".rstrip() for line in lines]


def _when(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")


def _slack_escape(text: str) -> str:
    """Slack reads <…> as links and mentions (<!channel>): customer text must not ping anyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
