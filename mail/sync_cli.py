"""`frontdesk sync [--watch]`: fetch new mail once, or keep fetching as it arrives (IDLE).

Only the process holding the team's mailbox lease syncs and sends (storage/lease.py). `sync` when
another process holds it waits to see that holder's heartbeat (a few seconds), says who syncs and
exits 0 without syncing; a holder that shows no sign of life is taken over. `sync --watch` stands
by and takes over when the holder stops.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from frontdesk.storage.lease import DEFAULT_TIMING, Lease, LeaseInfo, keeping, serve

from .account_cli import CliContext, print_report
from .imap_sync import FolderReport, MailboxSync, Status, SyncError, SyncReport
from .ingest import IngestSummary
from .smtp_send import SendReport, send_outbox
from .worker import MailboxWork, describe_holder, wait_for_lease

ATTEMPTS = 4  # a single sync rides out a server restart (about 1 + 2 + 4 s of backoff)
TIMING = DEFAULT_TIMING  # the mailbox lease's; tests shorten it


def cmd_sync(ctx: CliContext) -> int:
    server = ctx.config.imap
    if server is None:
        return _fail("no [imap] section in the configuration: run `frontdesk init`, or add host and username under [imap]")
    try:
        sync = MailboxSync(ctx.store, server, clock=ctx.clock)  # checks the settings before any waiting
        if ctx.args.watch:
            return _watch(ctx, sync)
        lease = Lease(ctx.store, timing=TIMING)
        holder = wait_for_lease(lease)
        if holder is not None:
            _say(ctx, f"mail is synced by {describe_holder(holder)}; not syncing here")
            return 0
        with keeping(lease) as hold:
            report = sync.sync_once(attempts=ATTEMPTS, stop=hold.quit)
            if not report.errors and not hold.quit.is_set():
                lease.synced()
            for folder in report.folders.values():
                _say(ctx, describe_folder(folder))
            sent = print_report(ctx, send_outbox(ctx.store)) if ctx.config.smtp and not hold.quit.is_set() else 0
    except SyncError as error:
        return _fail(str(error))
    return _fail("; ".join(report.errors)) if report.errors else sent


def _watch(ctx: CliContext, sync: MailboxSync) -> int:
    """Runs until Ctrl-C or SIGTERM (how systemd stops it): exit status 0, and the lease is handed
    over at once. The first signal lets the current batch finish (a KeyboardInterrupt could land
    anywhere, even inside a print); a second Ctrl-C stops at once."""
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

    def sent(report: SendReport) -> None:
        if report.sent or report.failed or report.notes:  # after each catch-up: only news
            print_report(ctx, report)

    lease = Lease(ctx.store, timing=TIMING)
    work = MailboxWork(ctx.store, lease, on_status=status, on_report=errors, on_sent=sent, on_batch=batch)
    said: list[object] = [None]

    def standby(info: LeaseInfo | None, problem: str | None) -> None:
        news = problem or (info.holder if info is not None and not info.free else None)
        if news is None or news == said[0]:
            return
        said[0] = news
        if problem:
            sys.stderr.write(f"frontdesk: {problem}; retrying\n")
        else:
            _say(ctx, f"standing by: mail is synced by {describe_holder(info)}; taking over if it stops")

    def watch(quit: threading.Event) -> None:
        said[0] = None
        _say(ctx, f"watching {', '.join(sync.folders)} on {sync.where}; Ctrl-C stops")
        work(quit)
        if not stop.is_set():
            sys.stderr.write("frontdesk: another process took the mailbox over; standing by\n")

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        serve(lease, stop, watch, on_standby=standby)
    except KeyboardInterrupt:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        if lease.held:  # a second Ctrl-C: still hand over
            with contextlib.suppress(Exception):  # the database is away: the beat stops instead
                lease.release()
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
