"""Human-readable output of the command line. Text from mail only ever enters as rich.text.Text,
so a subject like "[bold]" or "[/]" prints literally instead of being read as markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table
from rich.text import Text

from frontdesk.mail.ingest import IngestSummary
from frontdesk.storage.models import Event, Message, Outbox
from frontdesk.storage.sla import TargetState, format_remaining
from frontdesk.storage.views import TicketView, iso

from .detail import describe

STATUS_STYLE = {
    "breached": "bold red",
    "at_risk": "yellow",
    "ok": "green",
    "paused": "dim",
    "met": "green",
    "missed": "red",
}
STATUS_WORD = {
    "breached": "breached",
    "at_risk": "at risk",
    "ok": "on track",
    "paused": "paused",
    "met": "met",
    "missed": "missed",
}


def local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%a %d %b %Y %H:%M") if moment else "-"


def countdown(target: TargetState | None) -> Text:
    if target is None:
        return Text("-", style="dim")
    return Text(format_remaining(target.remaining), style=STATUS_STYLE[target.status])


def severity_text(severity: int | None) -> Text:
    if severity is None:
        return Text("?", style="bold magenta")  # untriaged
    return Text(f"S{severity}", style="bold red" if severity == 1 else "cyan")


def ticket_table(console: Console, views: Sequence[TicketView]) -> None:
    if not views:
        console.print(Text("No open tickets. Import mail with `frontdesk import PATH`.", style="dim"))
        return
    wide = console.width >= 110
    table = Table(box=None, header_style="bold", pad_edge=False, expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Sev", no_wrap=True)
    table.add_column("Due", justify="right", no_wrap=True)
    table.add_column("SLA", no_wrap=True)
    table.add_column("Customer", max_width=24 if wide else 14, no_wrap=True, overflow="ellipsis")
    table.add_column("Subject", ratio=1, no_wrap=True, overflow="ellipsis")
    if wide:
        table.add_column("Owner", max_width=18, no_wrap=True, overflow="ellipsis")
    table.add_column("State", no_wrap=True)
    for view in views:
        target = view.running_target
        cells = [
            Text(str(view.id)),
            severity_text(view.severity) if view.automated is None else Text("auto", style="dim"),
            countdown(target),
            Text(STATUS_WORD[target.status], style=STATUS_STYLE[target.status]) if target else Text("-", style="dim"),
            Text(view.customer or view.requester or "(unknown sender)"),
            Text(view.subject or "(no subject)"),
        ]
        if wide:
            cells.append(Text(view.owner_name or "-"))
        cells.append(Text(view.state))
        table.add_row(*cells)
    console.print(table)


def _target_line(name: str, target: TargetState | None) -> Text:
    line = Text(f"{name:<11}")
    if target is None:
        return line.append("no target", style="dim")
    line.append(f"{STATUS_WORD[target.status]:<9}", style=STATUS_STYLE[target.status])
    line.append(f" due {local(target.due_at)} ({target.target})  ")
    if target.status in ("met", "missed"):
        return line
    return line.append(format_remaining(target.remaining), style=STATUS_STYLE[target.status])


def ticket_detail(
    console: Console,
    view: TicketView,
    messages: Sequence[Message],
    events: Sequence[Event],
    outbox: Sequence[Outbox],
) -> None:
    console.print(Text(f"#{view.id} ", style="bold").append(view.subject or "(no subject)"))
    who = Text("From       ").append(view.requester_name + " " if view.requester_name else "")
    console.print(who.append(f"<{view.requester}>" if view.requester else "(unknown sender)"))
    console.print(Text("Customer   ").append(view.customer or "no agreement on file: standard policy"))
    console.print(Text("Severity   ").append_text(severity_text(view.severity)).append(f"   state {view.state}   owner {view.owner_name or '-'}"))
    if view.automated:
        console.print(Text(f"Automated  {view.automated}: kept for the record, no SLA clock", style="dim"))
    else:
        console.print(_target_line("Response", view.sla.response))
        console.print(_target_line("Resolution", view.sla.resolution))
    for message in messages:
        console.print()
        arrow = "→ support replied" if message.direction == "out" else "← customer wrote"
        head = Text(f"{arrow}  {local(message.received_at)}  ", style="bold")
        console.print(head.append(f"{message.from_name} <{message.from_email}>".strip(), style="bold"))
        for attachment in message.attachments:
            console.print(Text(f"  📎 {attachment['filename']} ({attachment['content_type']}, {_size(attachment['size'])})", style="dim"))
        if message.defects:
            console.print(Text(f"  mail problems: {', '.join(message.defects[:5])}", style="dim yellow"))
        body = message.body_text.strip() if message.body_text.strip() else "(no text in this message)"
        console.print(Text(body), soft_wrap=True)
    if outbox:
        console.print()
        for entry in outbox:
            console.print(Text(f"Outbox: {entry.kind} to {', '.join(entry.to_addrs)}: {entry.status}", style="cyan"))
    console.print()
    console.print(Text("History", style="bold"))
    for event in events:
        console.print(Text(f"  {local(event.at)}  {event.actor}: {describe(event)}"))


def _size(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024:
            return f"{size:.0f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def ticket_json(view: TicketView, messages: Sequence[Message], events: Sequence[Event], outbox: Sequence[Outbox]) -> dict:
    data = view.as_json()
    data["messages"] = [
        {
            "direction": m.direction,
            "message_id": m.message_id,
            "from": m.from_email,
            "from_name": m.from_name,
            "to": m.to_addrs,
            "subject": m.subject,
            "received_at": iso(m.received_at),
            "text": m.body_text,
            "text_source": m.body_source,
            "attachments": m.attachments,
            "defects": m.defects,
            "auto": m.auto,
        }
        for m in messages
    ]
    data["events"] = [{"at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": e.data} for e in events]
    data["outbox"] = [{"kind": o.kind, "to": o.to_addrs, "status": o.status, "created_at": iso(o.created_at)} for o in outbox]
    return data


def confirmation(console: Console, ticket_id: int, said: str) -> None:
    console.print(Text(f"#{ticket_id} ", style="bold").append(said))


def import_summary(console: Console, summary: IngestSummary, skipped: Sequence[str]) -> None:
    console.print(
        Text(
            f"Read {summary.read} messages: {summary.new_tickets} new tickets, "
            f"{summary.threaded} added to existing tickets, {summary.duplicates} duplicates skipped. "
            f"{summary.with_defects} had defects (kept; the problems are noted on each message)."
        )
    )
    if skipped:
        names = ", ".join(skipped[:3]) + (f" and {len(skipped) - 3} more" if len(skipped) > 3 else "")
        console.print(Text(f"Skipped {len(skipped)} files that do not look like mail: {names}", style="yellow"))


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return format_remaining(timedelta(seconds=seconds))


def stats(console: Console, data: dict) -> None:
    tickets = data["tickets"]
    console.print(Text(f"{tickets['total']} tickets ({tickets['automated']} automated), {tickets['untriaged_open']} open and untriaged"))
    for name in ("response_time", "resolution_time"):
        spread = data[name]
        label = name.replace("_", " ").capitalize()
        console.print(Text(f"{label:<16} median {_duration(spread['median_seconds']):>8}   90th percentile {_duration(spread['p90_seconds']):>8}   ({spread['count']} tickets)"))
    table = Table(box=None, header_style="bold", title="SLA attainment", title_justify="left")
    for column in ("Severity", "Tickets", "Response met", "Resolution met"):
        table.add_column(column)
    for key, row in data["attainment"].items():
        table.add_row(
            Text(key if key == "untriaged" else f"S{key}"),
            Text(str(row["tickets"])),
            _rate(row["response"]),
            _rate(row["resolution"]),
        )
    console.print(table)


def _rate(attainment: dict) -> Text:
    if attainment["rate"] is None:
        return Text("-", style="dim")
    percent = attainment["rate"] * 100
    style = "green" if percent >= 90 else "yellow" if percent >= 75 else "red"
    return Text(f"{percent:.0f}% ({attainment['met']}/{attainment['met'] + attainment['missed']})", style=style)
