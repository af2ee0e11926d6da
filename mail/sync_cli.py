"""`frontdesk sync [--watch]`: fetch new mail once, or keep fetching as it arrives (IDLE)."""

from __future__ import annotations

import signal
import sys
import threading

from frontdesk.storage.config import ServerConfig

from .account_cli import CliContext, print_report
from .imap_sync import FolderReport, MailboxSync, Status, SyncError, SyncReport
from .ingest import IngestSummary
from .smtp_send import send_outbox

ATTEMPTS = 4  # a single sync rides out a server restart (about 1 + 2 + 4 s of backoff)


def cmd_sync(ctx: CliContext) -> int:
    server = ctx.config.imap
    if server is None:
        return _fail("no [imap] section in the configuration: run `frontdesk init`, or add host and username under [imap]")
    try:
        if ctx.args.watch:
            return _watch(ctx, server)
        report = MailboxSync(ctx.store, server, clock=ctx.clock).sync_once(attempts=ATTEMPTS)
    except SyncError as error:
        return _fail(str(error))
    for folder in report.folders.values():
        _say(ctx, describe_folder(folder))
    sent = print_report(ctx, send_outbox(ctx.store)) if ctx.config.smtp else 0
    return _fail("; ".join(report.errors)) if report.errors else sent


def _send_due(ctx: CliContext) -> None:
    """While watching: send what the outbox holds after each catch-up, and say so only if
    something happened."""
    if ctx.config.smtp is None:
        return
    report = send_outbox(ctx.store)
    if report.sent or report.failed or report.notes:
        print_report(ctx, report)


def _watch(ctx: CliContext, server: ServerConfig) -> int:
    """Runs until Ctrl-C, which is how the user ends it: exit status 0. The first Ctrl-C lets the
    current batch finish (a KeyboardInterrupt could land anywhere, even inside a print); a second
    one stops at once."""
    stop = threading.Event()

    def interrupt(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def batch(folder: str, counts: IngestSummary) -> None:
        _say(ctx, f"{ctx.clock.now():%H:%M:%S} {folder}: {describe_counts(counts)}")

    def status(state: Status, detail: str) -> None:
        if state == "waiting":  # the other states change every few seconds and say nothing new
            sys.stderr.write(f"frontdesk: {detail}\n")

    def errors(report: SyncReport) -> None:
        for error in report.errors:
            sys.stderr.write(f"frontdesk: {error}\n")

    sync = MailboxSync(
        ctx.store, server, clock=ctx.clock, on_batch=batch, on_status=status, after_fetch=lambda: _send_due(ctx)
    )
    _say(ctx, f"watching {', '.join(sync.folders)} on {sync.where}; Ctrl-C stops")
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        sync.watch(stop, errors)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGINT, previous)
    _say(ctx, "stopped")
    return 0


def describe_folder(report: FolderReport) -> str:
    if report.error:
        return f"{report.folder}: not synced: {report.error}"
    notes = [describe_counts(report.counts)]
    if report.truncated:
        notes.append(f"{report.truncated} too big, kept the head only")
    if report.rescanned:
        notes.append("UIDVALIDITY changed: read again from the start")
    return f"{report.folder}: " + "; ".join(notes)


def describe_counts(counts: IngestSummary) -> str:
    if not counts.read:
        return "no new mail"
    return (
        f"{counts.read} fetched: {_count(counts.new_tickets, 'new ticket')}, "
        f"{counts.threaded} added to tickets, {counts.duplicates} already stored"
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _say(ctx: CliContext, line: str) -> None:
    ctx.out.print(line, markup=False, highlight=False)


def _fail(reason: str) -> int:
    sys.stderr.write(f"frontdesk: {reason}\n")
    return 1
