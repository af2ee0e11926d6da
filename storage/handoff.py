"""What a hand-off tells the new owner: an email, and a post for the team's channel.

Only text, made from the ticket: queuing it is part of the hand-off's own transaction
(storage/usecases.py), and sending it is the outbox's job (mail/smtp_send.py, mail/notify.py), after
the commit. Both are internal: no ticket token in the subject, never stored as a reply to the
customer, and they stop no SLA clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from .config import Config
from .errors import StoreError
from .models import Message
from .safe_text import display_line, display_safe
from .sla import TargetState
from .views import TicketView

HANDOFF = "handoff"  # an email to the new owner
SLACK = "slack"  # a post to the team's incoming webhook
EXCERPT_LINES = 40
_STATUS_WORDS = {"ok": "on track", "at_risk": "at risk", "breached": "breached", "paused": "paused"}


@dataclass(frozen=True)
class Notification:
    kind: str  # HANDOFF or SLACK
    to: list[str]
    subject: str
    body: str


def handoff_notifications(
    config: Config, view: TicketView, owner_email: str, actor: str, note: str | None, latest: Message | None
) -> list[Notification]:
    """One per channel configured now ([smtp], a webhook), so none waits for a channel that may
    never come. `latest`: the customer's latest message, quoted for the owner."""
    subject = handoff_subject(view, config.calendar.timezone)
    text = handoff_text(config, view, actor, note, latest)
    found = []
    if config.smtp:
        if not config.support.address:
            raise StoreError(
                "no support address configured to email the owner from: set address under [support] in the config"
            )
        found.append(Notification(HANDOFF, [owner_email], subject, text))
    if config.notify.slack_webhook or config.notify.slack_webhook_command:
        found.append(Notification(SLACK, [], subject, f"*{_slack_escape(subject)}*\n{_slack_escape(text)}"))
    return found


def handoff_subject(view: TicketView, zone: ZoneInfo) -> str:
    """'Hand-off: #12 <subject> (Sev 1, response due …)': no [#12] token, which would thread
    the owner's answer into the customer's ticket."""
    severity = f"Sev {view.severity}" if view.severity else "untriaged"
    due = view.clock
    when = f", {due.name} due {_when(due.due_at, zone)}" if due is not None and not due.stopped else ""
    return f"Hand-off: #{view.id} {display_line(view.subject)} ({severity}{when})"


def handoff_text(config: Config, view: TicketView, actor: str, note: str | None, latest: Message | None) -> str:
    zone = config.calendar.timezone
    customer = f"{view.customer} ({view.requester})" if view.customer else view.requester
    lines = [
        f"Ticket #{view.id} is yours now, handed over by {actor}.",
        "",
        f"Subject:     {display_line(view.subject)}",
        f"Customer:    {display_line(customer)}",
        f"Severity:    {view.severity or 'not set yet (untriaged)'}",
        f"Response:    {_target_line(view.sla.response, zone)}",
        f"Resolution:  {_target_line(view.sla.resolution, zone)}",
    ]
    if note:
        lines += ["", f"Note from {actor}:", *_indented(note.splitlines())]
    lines += ["", *_latest_message(view.id, latest, zone), "", f"Open it with: frontdesk show {view.id}"]
    return "\n".join(lines) + "\n"


def _target_line(target: TargetState | None, zone: ZoneInfo) -> str:
    if target is None:
        return "no target"
    if target.status in _STATUS_WORDS:
        return f"due {_when(target.due_at, zone)} ({_STATUS_WORDS[target.status]})"
    return f"{target.status} (was due {_when(target.due_at, zone)})"


def _latest_message(ticket_id: int, latest: Message | None, zone: ZoneInfo) -> list[str]:
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
