"""Human-readable output of the command line. Text from mail only ever enters as rich.text.Text,
so a subject like "[bold]" or "[/]" prints literally instead of being read as markup."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from frontdesk.storage.config import Config
from frontdesk.storage.models import Event, Message, Outbox
from frontdesk.storage.sla import TargetState, format_span, severity
from frontdesk.storage.status import DeskStatus
from frontdesk.storage.views import TicketView, iso

from .countdown import STATUS_LABEL
from .detail import call_hint, history_lines, message_block, target_line, ticket_head
from .looks import STATUS_STYLE

if TYPE_CHECKING:  # the mail parser loads for `frontdesk import` only, the week's figures for `stats --week`, turns for `rotation`
    from frontdesk.mail.ingest import IngestSummary
    from frontdesk.storage.rotation import RotationSummary
    from frontdesk.storage.team import Taken, Turn


def countdown(target: TargetState | None, now: datetime) -> Text:
    """Time left on a running or paused clock; a stopped one's final met or missed."""
    if target is None:
        return Text("-", style="dim")
    status = target.status_at(now)
    return Text(status if target.stopped else format_span(target.remaining_at(now)), style=STATUS_STYLE[status])


def severity_text(level: int | None) -> Text:
    if level is None:
        return Text("?", style="severity.untriaged")
    shown = severity(level)
    return Text(shown.name, style="severity.critical" if shown.critical else "")


def ticket_table(console: Console, views: Sequence[TicketView], now: datetime, empty: str | None = None) -> None:
    """`empty`: what to say when there are no tickets (default: that none are open)."""
    if not views:
        console.print(Text(empty or "No open tickets. Import mail with `frontdesk import PATH`.", style="dim"))
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
        target = view.clock
        cells = [
            Text(str(view.id)),
            severity_text(view.severity) if view.automated is None else Text("auto", style="dim"),
            countdown(target, now),
            _status_label(target, now),
            Text(view.customer or view.requester or "(unknown sender)"),
            Text(view.subject or "(no subject)"),
        ]
        if wide:
            cells.append(Text(view.owner_name or "-"))
        cells.append(Text(view.state))
        table.add_row(*cells)
    console.print(table)


def _status_label(target: TargetState | None, now: datetime) -> Text:
    if target is None:
        return Text("-", style="dim")
    status = target.status_at(now)
    return Text(STATUS_LABEL[status], style=STATUS_STYLE[status])


def ticket_detail(
    console: Console,
    view: TicketView,
    messages: Sequence[Message],
    events: Sequence[Event],
    outbox: Sequence[Outbox],
    config: Config,
    now: datetime,
) -> None:
    """What the ticket screen shows, as plain scrolling output."""
    tz = config.calendar.timezone
    console.print(ticket_head(view, config, hints=False))
    if view.automated:
        console.print(Text(f"{view.automated}: kept for the record; it starts no SLA clock", style="dim"))
    else:
        console.print(target_line("Response", view.sla.response, now, tz))
        console.print(target_line("Resolution", view.sla.resolution, now, tz))
    hint = call_hint(messages, events, view.state)
    if hint is not None:
        console.print(hint)
    for message in messages:
        console.print()
        console.print(message_block(message, tz), soft_wrap=True)
    console.print()
    console.print(history_lines(events, outbox, tz))


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


# `frontdesk status --format`: how LATE and RISK stand out; the words read without colour anyway.
STATUS_FORMATS = {
    "plain": {},
    "tmux": {"breached": ("#[fg=red,bold]", "#[default]"), "at_risk": ("#[fg=yellow,bold]", "#[default]")},
    "ansi": {"breached": ("\x1b[1;31m", "\x1b[0m"), "at_risk": ("\x1b[1;33m", "\x1b[0m")},
}


def status_line(status: DeskStatus, style: str = "plain") -> str:
    """One short line, e.g. '2 LATE · 1 RISK · next 3h 12m', 'ok · next 3h 12m', 'no open tickets'."""
    if not status.open_tickets:
        return "no open tickets"
    marks = STATUS_FORMATS[style]
    parts = []
    for name, count in (("breached", status.late), ("at_risk", status.at_risk)):
        if count:
            before, after = marks.get(name, ("", ""))
            parts.append(f"{before}{count} {STATUS_LABEL[name]}{after}")
    if not parts:
        parts.append("ok")
    if status.next_due is not None:
        parts.append(f"next {format_span(status.next_due)}")
    return " · ".join(parts)


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
    return format_span(timedelta(seconds=seconds))


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
            Text(key if key == "untriaged" else severity(int(key)).name),
            Text(str(row["tickets"])),
            _rate(row["response"]),
            _rate(row["resolution"]),
        )
    console.print(table)


def week_figures(console: Console, summary: RotationSummary) -> None:
    """A week of the rotation as the Stats screen shows it; the lists are in the Markdown note."""
    from frontdesk.storage.rotation import figures

    week = summary.week
    console.print(Text(f"Week {week.label} · {week.days}" + ("" if summary.complete else " · so far"), style="bold"))
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("Figure")
    table.add_column("Value", justify="right")
    for label, value in figures(summary):
        table.add_row(label, value)
    console.print(table)
    console.print(Text(f"Hand-offs, breaches and customers by name: frontdesk stats --week {week.label} --markdown", style="dim"))


def _rate(attainment: dict) -> Text:
    if attainment["rate"] is None:
        return Text("-", style="dim")
    percent = attainment["rate"] * 100
    style = "green" if percent >= 90 else "yellow" if percent >= 75 else "red"
    return Text(f"{percent:.0f}% ({attainment['met']}/{attainment['met'] + attainment['missed']})", style=style)


# --- the rotation ------------------------------------------------------------------------------


def turn_json(turn: Turn) -> dict:
    return {
        "rep": {"name": turn.rep_name, "email": turn.rep_email},
        "started_at": iso(turn.started_at),
        "previous": turn.previous_name,
        "handover": turn.handover,
    }


def _local(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %d %b %Y %H:%M}"


def _person(name: str, email: str | None) -> str:
    return f"{name} <{email}>" if email else name


def rotation(console: Console, turns: Sequence[Turn], tz: ZoneInfo) -> None:
    """Who is on rotation since when (business time zone), then the turns before."""
    if not turns:
        console.print(Text("Nobody has taken the rotation yet: frontdesk rotation take"))
        return
    current, *earlier = turns
    line = Text("On rotation: ").append(_person(current.rep_name, current.rep_email), style="bold")
    line.append(f", since {_local(current.started_at, tz)} ({tz.key})")
    if current.previous_name:
        line.append(f", after {current.previous_name}. Their hand-over note: frontdesk rotation note")
    console.print(line)
    for turn in earlier:
        console.print(Text(f"  before: {_local(turn.started_at, tz)}  {_person(turn.rep_name, turn.rep_email)}", style="dim"))


def rotation_taken(console: Console, taken: Taken, tz: ZoneInfo) -> None:
    turn = taken.turn
    if not taken.took:
        console.print(Text(f"You are on rotation already, since {_local(turn.started_at, tz)}; nothing changed."))
        return
    line = Text(turn.rep_name, style="bold").append(" is on rotation now")
    if turn.previous_name:
        line.append(f", after {turn.previous_name}. Their hand-over note: frontdesk rotation note")
    console.print(line)
