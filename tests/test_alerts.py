"""Telling the rep: toasts and the bell for new tickets and clock turns, and the handbook's call hint."""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.config import load_config
from frontdesk.storage.store import Store
from frontdesk.tui import inbox
from frontdesk.tui.alerts import NotifyCommand
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.detail import call_hint

from conftest import build_mail, notices, run_app, settle, until, wait_until


def test_new_ticket_and_clock_turns_are_announced_with_the_bell(store, clock):
    Ingestor(store).ingest(build_mail(subject="First", message_id="a@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)
    bells = []
    app.bell = lambda: bells.append(True)

    async def script(pilot):
        assert notices(app) == [], "the first load announces nothing"
        Ingestor(store).ingest(build_mail(subject="Second [/oops]", message_id="b@acme.example"), "t")
        app.screen.reload()
        await settle(pilot)
        assert "New ticket #2 from Acme: Second [/oops]" in notices(app)
        for step in (usecases.resolve, usecases.reopen):  # back to new, nobody having answered it
            step(store, 2)
            app.screen.reload()
            await settle(pilot)
        assert store.view(2).state == "new"
        assert notices(app).count("New ticket #2 from Acme: Second [/oops]") == 1, "a ticket coming back is not new"
        # Untriaged: 24h response target, at risk with less than a fifth (4h48m) left.
        clock.advance(timedelta(hours=19, minutes=13))
        app.screen._tick()
        await pilot.pause()
        assert "#1 is at risk: First" in notices(app)
        clock.advance(timedelta(hours=5))
        app.screen._tick()
        await pilot.pause()
        assert "#1 has breached its SLA: First" in notices(app)
        assert len(bells) >= 3

    run_app(app, script)


def test_the_clocks_turns_are_planned_with_the_load_and_a_turn_since_is_not_announced_again(store, clock, monkeypatch):
    """At 100,000 open tickets the plan took the event loop 0.4 s after every load."""
    Ingestor(store).ingest(build_mail(subject="First", message_id="a@acme.example"), "t")
    planned_on = []
    plan = inbox.plan_turns
    monkeypatch.setattr(inbox, "plan_turns", lambda rows, now: (planned_on.append(threading.current_thread()), plan(rows, now))[1])
    app = FrontdeskApp(store, state_file=None)

    async def script(pilot):
        await settle(pilot)
        assert planned_on and threading.main_thread() not in planned_on, "planned in the load's worker"
        clock.advance(timedelta(hours=19, minutes=13))  # at risk (see above)
        app.screen._tick()
        await pilot.pause()
        assert notices(app).count("#1 is at risk: First") == 1
        # A load planned before the turn reaches the screen after it: the turn is not announced twice.
        monkeypatch.setattr(inbox, "plan_turns", lambda rows, now: plan(rows, now - timedelta(minutes=5)))
        app.screen.reload()
        await settle(pilot)
        app.screen._tick()
        await pilot.pause()
        assert notices(app).count("#1 is at risk: First") == 1

    run_app(app, script)


def test_alerts_can_be_switched_off(tmp_path, config_path, clock):
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(config_path.read_text() + "\n[alerts]\nnew_ticket = false\nbell = false\n")
    store = Store.open(tmp_path / "q.db", load_config(quiet), clock)
    Ingestor(store).ingest(build_mail(message_id="a@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)
    bells = []
    app.bell = lambda: bells.append(True)

    async def script(pilot):
        Ingestor(store).ingest(build_mail(subject="Second", message_id="b@acme.example"), "t")
        app.screen.reload()
        await settle(pilot)
        assert notices(app) == [] and bells == []

    run_app(app, script)
    store.close()


def argv_recorder(folder: Path) -> tuple[Path, Path]:
    """A real program that appends the arguments it was given, as JSON, one run a line."""
    script, record = folder / "record-notify", folder / "notified.jsonl"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"with open({str(record)!r}, 'a', encoding='utf-8') as out:\n"
        "    out.write(json.dumps(sys.argv[1:]) + '\\n')\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script, record


def runs(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()] if record.exists() else []


def test_the_notify_command_gets_title_and_text_as_arguments_never_through_a_shell(tmp_path, config_path, clock):
    script, record = argv_recorder(tmp_path)
    pwned = tmp_path / "pwned"
    setup = tmp_path / "notify.toml"
    setup.write_text(config_path.read_text() + f"\n[notify]\ncommand = {json.dumps(shlex.join([str(script), '-a', 'frontdesk']))}\n")
    store = Store.open(tmp_path / "n.db", load_config(setup), clock)
    Ingestor(store).ingest(build_mail(subject="First", message_id="a@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)
    hostile = f"Help; rm -rf ~ $(touch {pwned}) `touch {pwned}` \x1b[31mred"

    async def script_(pilot):
        Ingestor(store).ingest(build_mail(subject=hostile, message_id="b@acme.example"), "t")
        app.screen.reload()
        await settle(pilot)
        assert await until(pilot, lambda: len(runs(record)) == 1)
        clock.advance(timedelta(hours=19, minutes=13))  # #1's response clock turns at risk
        app.screen._tick()
        assert await until(pilot, lambda: len(runs(record)) >= 2)

    run_app(app, script_)
    store.close()
    new_ticket, at_risk = runs(record)[:2]
    assert new_ticket[:3] == ["-a", "frontdesk", "frontdesk: new ticket"]
    assert new_ticket[3] == f"New ticket #2 from Acme: Help; rm -rf ~ $(touch {pwned}) `touch {pwned}` red"
    assert at_risk == ["-a", "frontdesk", "frontdesk: SLA at risk", "#1 is at risk: First"]
    assert not pwned.exists(), "no shell ever saw the subject"


def test_the_notify_command_gets_no_terminal_controls_and_one_line(tmp_path):
    script, record = argv_recorder(tmp_path)
    command = NotifyCommand([str(script)], [].append)
    command.run("frontdesk: new ticket", "New ticket #3 from x: \x1b]8;;https://evil.example\x07click\x1b]8;;\x07\r\nsecond\x00 line")
    assert wait_until(lambda: len(runs(record)) == 1)
    assert runs(record) == [["frontdesk: new ticket", "New ticket #3 from x: click second line"]]


def test_a_notify_program_that_is_missing_is_reported_once_and_not_tried_again(tmp_path):
    said: list[str] = []
    command = NotifyCommand([str(tmp_path / "no-such-notifier"), "-u", "critical"], said.append)
    for n in range(3):
        command.run("frontdesk: new ticket", f"New ticket #{n}")
    assert wait_until(lambda: len(said) == 1)
    time.sleep(0.3)  # the other two would have been reported by now
    assert said == [
        f"[notify] command: cannot run {tmp_path / 'no-such-notifier'}: No such file or directory "
        "(alerts still show here; said only once)"
    ]


def test_a_failing_or_hanging_notify_program_is_reported_once_with_its_stderr(tmp_path):
    failing = tmp_path / "failing"
    failing.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    failing.chmod(0o755)
    said: list[str] = []
    command = NotifyCommand([str(failing)], said.append)
    command.run("title", "one")
    command.run("title", "two")
    assert wait_until(lambda: len(said) == 1)
    assert said[0] == f"[notify] command: {failing} exited with status 3: cannot open display (alerts still show here; said only once)"
    hanging: list[str] = []
    sleeper = tmp_path / "sleeper"
    sleeper.write_text("#!/bin/sh\nexec sleep 30\n")
    sleeper.chmod(0o755)
    slow = NotifyCommand([str(sleeper)], hanging.append, timeout=0.2)
    slow.run("title", "text")
    assert wait_until(lambda: hanging == [f"[notify] command: {sleeper} did not finish within 0.2 s (alerts still show here; said only once)"])


def test_the_theme_is_remembered(demo_store, tmp_path):
    state = tmp_path / "state" / "tui.json"
    first = FrontdeskApp(demo_store, demo=True, state_file=state)

    async def change(pilot):
        first.theme = "nord"
        await pilot.pause()

    run_app(first, change)
    second = FrontdeskApp(demo_store, demo=True, state_file=state)
    assert second.theme == "nord"


def test_three_customer_messages_after_the_hand_off_suggest_a_call(store, clock):
    ingestor = Ingestor(store)
    ingestor.ingest(build_mail(message_id="q0@acme.example"), "t")
    usecases.assign(store, 1, "bob@example.com")
    hints = []
    for n in range(1, 4):
        clock.advance(timedelta(hours=1))
        ingestor.ingest(build_mail(message_id=f"q{n}@acme.example", in_reply_to=f"q{n - 1}@acme.example", date=clock.now()), "t")
        hints.append(call_hint(store.messages(1), store.events(1), store.ticket(1).state))
    assert hints[:2] == [None, None]
    assert "written 3 times since the hand-off" in hints[2].plain and "account executive" in hints[2].plain
