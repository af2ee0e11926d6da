"""Toasts, the terminal bell and the [notify] command when a ticket arrives or its clock turns at
risk or breached.

Clocks turn at times known in advance (TargetState.at_risk_at and due_at), so the turns wait in a
heap and are announced on the tick they happen, without evaluating any ticket again.

Only the inbox announces: each rep's inbox runs the command on that rep's desktop, and `sync
--watch`, which serves the whole team, never does.
"""

from __future__ import annotations

import heapq
import queue
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from functools import partial

from frontdesk.storage.safe_text import display_line
from frontdesk.storage.views import TicketView

MESSAGES = {"at_risk": "#{id} is at risk: {subject}", "breached": "#{id} has breached its SLA: {subject}"}
# The command's title argument; its text is the toast's, which starts with "New ticket" or "#",
# never with "-": mail can't turn into an option of the program.
TITLES = {
    "new_ticket": "frontdesk: new ticket",
    "at_risk": "frontdesk: SLA at risk",
    "breached": "frontdesk: SLA breached",
}
NOTIFY_TIMEOUT = 10.0
ClockTurn = tuple[datetime, int, str, str]  # when, the ticket, "at_risk" or "breached", its subject


class Alerts:
    def __init__(self, app) -> None:
        self.app = app
        self.settings = app.config.alerts
        self._known: frozenset[int] | None = None  # None until the first load: nothing is new then
        self._turns: list[ClockTurn] = []
        self._rang = False
        command = app.config.notify.command
        report = partial(app.notify, severity="warning", markup=False, timeout=15)  # thread-safe
        self._command = NotifyCommand(command, report) if command else None

    def loaded(self, rows: Sequence[TicketView], ids: frozenset[int], turns: list[ClockTurn], now: datetime) -> None:
        """After each load: announce tickets new since the last one; wait for the clocks' `turns`.
        `ids` (of the rows) and `turns` (plan_turns) were worked out with the load: at 100,000 open
        tickets, on the event loop, they took 0.05 and 0.4 s."""
        if self._known is None:
            self._known, arrived = ids, frozenset()
        else:
            arrived = ids - self._known
            if arrived:  # every ticket shown since the start: one coming back (a resolve undone) is not new
                self._known |= arrived
        if arrived and self.settings.new_ticket:
            for row in rows:
                if row.id in arrived and row.automated is None and row.state == "new":
                    self._announce(
                        "new_ticket", f"New ticket #{row.id} from {row.customer or row.requester}: {row.subject}"
                    )
        while turns and turns[0][0] <= now:  # turned since the load: the last plan's to announce
            heapq.heappop(turns)
        self._turns = turns
        self._ring()

    def tick(self, now: datetime) -> None:
        while self._turns and self._turns[0][0] <= now:
            _, ticket_id, status, subject = heapq.heappop(self._turns)
            if getattr(self.settings, status):
                self._announce(status, MESSAGES[status].format(id=ticket_id, subject=subject))
        self._ring()

    def _announce(self, kind: str, message: str) -> None:
        self.app.notify(message, severity="warning", markup=False, timeout=10)
        if self._command is not None:
            self._command.run(TITLES[kind], message)
        self._rang = True

    def _ring(self) -> None:
        if self._rang and self.settings.bell:
            self.app.bell()
        self._rang = False


def plan_turns(rows: Sequence[TicketView], now: datetime) -> list[ClockTurn]:
    """When each ticket's clock turns at risk or breached after `now`, soonest first (a heap)."""
    turns = [turn for row in rows for turn in _turns(row, now)]
    heapq.heapify(turns)
    return turns


def _turns(row: TicketView, now: datetime) -> Iterator[ClockTurn]:
    target = row.clock
    if target is None or target.status not in ("ok", "at_risk"):  # only these can still turn
        return
    if target.at_risk_at is not None and target.at_risk_at > now:
        yield target.at_risk_at, row.id, "at_risk", row.subject
    if target.due_at > now:
        yield target.due_at, row.id, "breached", row.subject


class NotifyCommand:
    """[notify] command: the program and its arguments, then a title and a text, never through a
    shell. Runs one at a time on a thread of its own, so the event loop never waits for it. Only the
    first failure is reported; a program that can't be started is not tried again."""

    def __init__(self, argv: Sequence[str], report: Callable[[str], object], timeout: float = NOTIFY_TIMEOUT) -> None:
        self.argv = tuple(argv)
        self._report = report
        self._timeout = timeout
        self._waiting: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._reported = False
        self._cannot_start = False

    def run(self, title: str, text: str) -> None:
        if self._cannot_start:
            return
        self._waiting.put((display_line(title), display_line(text)))  # no controls, one line
        if self._thread is None:
            # A daemon: quitting the inbox never waits for a desktop notification.
            self._thread = threading.Thread(target=self._work, name="notify-command", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        while True:
            title, text = self._waiting.get()
            if not self._cannot_start:
                self._run_one(title, text)

    def _run_one(self, title: str, text: str) -> None:
        program = self.argv[0]
        try:
            done = subprocess.run(
                [*self.argv, title, text],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=self._timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self._failed(f"{program} did not finish within {self._timeout:g} s")
        except OSError as error:  # not found, not executable
            self._cannot_start = True
            self._failed(f"cannot run {program}: {error.strerror or type(error).__name__}")
        else:
            if done.returncode != 0:
                said = display_line(done.stderr.decode("utf-8", "replace"))[:200] or "nothing on stderr"
                self._failed(f"{program} exited with status {done.returncode}: {said}")

    def _failed(self, reason: str) -> None:
        if not self._reported:
            self._reported = True
            self._report(f"[notify] command: {reason} (alerts still show here; said only once)")
