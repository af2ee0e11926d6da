"""Ticket text for the screen, built as rich Text so nothing from a message is read as markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.console import Group
from rich.table import Table
from rich.text import Text

from frontdesk.storage.config import Config
from frontdesk.storage.history import describe
from frontdesk.storage.models import Event, Message, Outbox
from frontdesk.storage.pending import Pending
from frontdesk.storage.sla import TargetState, format_span, severity
from frontdesk.storage.views import TicketView

from .looks import STATUS_STYLE

STATUS_WORDS = {
    "ok": "on track",
    "at_risk": "AT RISK",
    "breached": "BREACHED",
    "paused": "paused",  # the state says why (waiting); longer words wrap the line at 80 columns
    "met": "met",
    "missed": "missed",
}
# The handbook's advice once a customer has written this often since the hand-off.
CALL_HINT_AFTER = 3


def when(moment: datetime | None, tz, named: bool = True) -> str:
    """In the business time zone, named (quoted mail shows other zones' offsets) unless a line
    nearby names it already."""
    return moment.astimezone(tz).strftime("%a %d %b %H:%M %Z" if named else "%a %d %b %H:%M") if moment else "-"


def target_line(name: str, target: TargetState | None, now: datetime, tz) -> Text:
    line = Text(f"{name:<11}", style="bold")
    if target is None:
        return line.append("no target", style="muted")
    status = target.status_at(now)
    word = STATUS_WORDS[status]
    line.append(word, style=STATUS_STYLE[status]).append(" " * (9 - len(word)))  # a reversed look stops at the word
    line.append(f"  due {when(target.due_at, tz)} ({target.target})")
    if not target.stopped:
        line.append("  ").append(format_span(target.remaining_at(now)), style=STATUS_STYLE[status])
    return line


def ticket_summary(ticket: TicketView, now: datetime, tz) -> Text:
    """The preview under the inbox table: who, what, and both clocks."""
    text = Text()
    text.append(f"#{ticket.id} ", style="bold").append(ticket.subject or "(no subject)", style="bold")
    text.append("\n")
    text.append(ticket.requester_name or f"<{ticket.requester}>", style="muted")
    text.append(f" · {ticket.customer or 'no agreement on file'} · owner {ticket.owner_name or 'none'} · {ticket.state}")
    if ticket.requester_name:  # the address last: a narrow preview cuts it, not the owner or the state
        text.append(f" · <{ticket.requester}>", style="muted")
    text.append("\n")
    if ticket.automated:
        return text.append(f"{ticket.automated}: kept for the record, no SLA clock", style="dim")
    text.append_text(target_line("Response", ticket.sla.response, now, tz)).append("\n")
    return text.append_text(target_line("Resolution", ticket.sla.resolution, now, tz))


def ticket_head(ticket: TicketView, config: Config, hints: bool) -> Group:
    """The subject, then labelled lines whose long values wrap under the value, not the label (a
    customer with an account executive is wider than 80 columns). `hints`: the keys that fill a gap."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", width=10, no_wrap=True)
    grid.add_column()
    # Text, never str: a Table reads str cells as markup, and names and subjects come from mail.
    sender = f"{ticket.requester_name} <{ticket.requester}>" if ticket.requester_name else ticket.requester
    grid.add_row(Text("From"), Text(sender))
    grid.add_row(Text("Customer"), Text(_customer(ticket, config)))
    level = severity(ticket.severity).name if ticket.severity else "not set" + (" (press s)" if hints else "")
    owner = ticket.owner_name or "none" + (" (press o)" if hints else "")
    opened = when(ticket.created_at, config.calendar.timezone, named=False)  # the clock lines under it name the zone
    grid.add_row(Text("Severity"), Text(f"{level} · state {ticket.state} · owner {owner} · opened {opened}"))
    title = Text(f"#{ticket.id} ", style="bold").append(ticket.subject or "(no subject)", style="bold")
    return Group(title, grid)


def _customer(ticket: TicketView, config: Config) -> str:
    customer = next((c for c in config.customers if c.name == ticket.customer), None)
    if customer is None:
        return f"{ticket.customer or 'none on file'}: the standard policy applies"
    policy = customer.policy or config.sla.default_policy
    text = f"{customer.name} · {customer.deployment or 'deployment unknown'} · policy {policy}"
    return text + (f" · account executive {customer.account_executive}" if customer.account_executive else "")


def call_hint(messages: Sequence[Message], events: Sequence[Event], state: str) -> Text | None:
    """Three customer messages since the hand-off and still open: time for a call (handbook)."""
    handoffs = [e.at for e in events if e.kind == "owner"]
    if not handoffs or state == "resolved":
        return None
    since = sum(1 for m in messages if m.direction == "in" and m.auto is None and m.received_at > handoffs[-1])
    if since < CALL_HINT_AFTER:
        return None
    return Text(
        f"The customer has written {since} times since the hand-off and this is still open: "
        "offer a call or a screen share, and let the account executive know.",
        style="bold yellow",
    )


def message_block(message: Message, tz) -> Text:
    arrow = "→ support replied" if message.direction == "out" else "← customer wrote"
    sender = f"{message.from_name} <{message.from_email}>" if message.from_name else f"<{message.from_email}>"
    text = Text()
    text.append(f"{arrow}  {when(message.received_at, tz)}  {sender}", style="bold")
    if message.auto:
        text.append(f"  ({message.auto})", style="dim")
    for attachment in message.attachments:
        text.append(f"\n  attachment: {attachment['filename']} ({attachment['content_type']}, {attachment['size']:,} bytes)", style="dim")
    if message.defects:
        text.append(f"\n  mail problems: {', '.join(message.defects[:4])}", style="dim")
    body = message.body_text.strip() or "(this message has no text)"
    return text.append("\n\n").append(body)


def history_lines(events: Sequence[Event], outbox: Sequence[Outbox], tz) -> Text:
    text = Text("History\n", style="bold")
    for event in events:
        style = "yellow" if event.kind == "note" else ""
        text.append(f"  {when(event.at, tz)}  {event.actor}: {describe(event)}\n", style=style)
    for entry in outbox:
        text.append(f"  outbox: {entry.kind} to {', '.join(entry.to_addrs) or '-'}: {entry.status}", style="cyan")
        if entry.last_error:
            text.append(f" ({entry.last_error})", style="red")
        text.append("\n")
    return text


def pending_block(pending: Pending, ticket_id: int, now: datetime, tz) -> Text | None:
    """The ticket view's lines for mail not sent yet (queued, sending, failed: why, and when it is
    tried again) and a saved draft; None when there is neither."""
    from .outbox_view import pending_lines  # here: outbox_view draws with the table's markers

    lines = pending_lines(pending.by_ticket().get(ticket_id, ()), pending.drafts.get(ticket_id), now, tz)
    if not lines:
        return None
    text = Text("Unsent     ", style="bold")
    return text.append_text(Text("\n           ").join(lines))
