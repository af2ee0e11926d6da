"""The command line, end to end through main() and, for the installed script, a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.rotation import rotation_summary, to_markdown
from frontdesk.storage.store import Store
from frontdesk.tui.cli import main

from conftest import NOW


@pytest.fixture
def run(tmp_path, config_path, monkeypatch, capsys):
    """Run `frontdesk --db ... --config ... ARGS`; returns (status, stdout, stderr)."""
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "120")
    db = tmp_path / "cli.db"

    def invoke(*args: str) -> tuple[int, str, str]:
        status = main(["--db", str(db), "--config", str(config_path), *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


@pytest.fixture
def inbox(tmp_path, mail) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail(subject="[bold red]URGENT[/] \x1b[31mprod down", message_id="q1@acme.example"))
    (folder / "2.eml").write_bytes(mail(subject="How do I rotate the license key?", sender="Eve <eve@elite.example>"))
    (folder / "README.md").write_text("# not mail\n")
    return folder


def test_import_twice_adds_nothing(run, inbox):
    status, out, _ = run("import", str(inbox))
    assert status == 0
    assert "Read 2 messages: 2 new tickets, 0 added to existing tickets, 0 duplicates skipped" in out
    assert "Skipped 1 files that do not look like mail" in out
    _, out, _ = run("import", str(inbox))
    assert "0 new tickets, 0 added to existing tickets, 2 duplicates skipped" in out


def test_list_json_is_the_contract(run, inbox):
    run("import", str(inbox))
    status, out, _ = run("list", "--json")
    tickets = json.loads(out)
    assert status == 0 and len(tickets) == 2
    assert set(tickets[0]) == {
        "id", "subject", "requester", "customer", "severity", "state", "owner", "created_at",
        "first_response_at", "resolved_at", "response_due_at", "resolution_due_at",
        "response_status", "resolution_status", "message_count",
    }
    elite = next(t for t in tickets if t["customer"] == "Elite Co")
    assert elite["created_at"] == "2026-11-25T15:00:00Z"
    # Untriaged: the strictest response target of the elite policy (4h), no resolution clock.
    assert (elite["response_due_at"], elite["resolution_due_at"]) == ("2026-11-25T19:00:00Z", None)
    assert tickets[0] == elite, "the ticket with the least time left comes first"


def test_list_takes_a_query(run, inbox, tmp_path, mail):
    run("import", str(inbox))
    (inbox / "3.eml").write_bytes(mail(subject="Upgrade loop on the helm chart", sender="Grace <grace@acme.example>"))
    run("import", str(inbox))
    run("triage", "2", "--severity", "2")

    def listed(*query: str) -> list[str]:
        status, out, err = run("list", "--json", *query)
        assert (status, err) == (0, "")
        return [ticket["subject"] for ticket in json.loads(out)]

    acme = ["[bold red]URGENT[/] prod down", "Upgrade loop on the helm chart"]  # most urgent first
    assert listed("customer:acme", "sev:none") == acme == listed("-customer:elite")
    assert listed("-sev:none") == ["How do I rotate the license key?"]  # a negated term is not an option
    assert listed("-has:draft", "from:grace@") == ["Upgrade loop on the helm chart"]  # nor -h
    assert listed("subject:upgrade loop") == ["Upgrade loop on the helm chart"]  # the shell took the quotes
    assert listed('subject:"upgrade loop"') == listed("subject:upgrade loop")
    assert listed("helm", "upgr") == ["Upgrade loop on the helm chart"]
    run("resolve", "3")
    assert listed("from:grace@") == [] and listed("from:grace@", "--all") == ["Upgrade loop on the helm chart"]
    status, out, _ = run("list", "customer:nobody")
    assert (status, out) == (0, "No tickets match customer:nobody\n")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        (("customer:acme", "sevv:1"), 'column 15, "sevv:1": unknown field "sevv:" (did you mean sev:?)'),
        (("is:late",), 'column 1, "is:late": is: takes breached, at-risk, untriaged, automated or mine'),
        (("owner:me",), "owner:me"),
    ],
)
def test_a_wrong_query_is_one_line_and_status_2(run, inbox, query, reason):
    run("import", str(inbox))
    status, out, err = run("list", *query)
    assert (status, out) == (2, "")
    assert err.startswith("frontdesk: ") and err.count("\n") == 1 and reason in err


def test_hostile_subject_prints_literally(run, inbox):
    run("import", str(inbox))
    status, out, _ = run("list")
    assert status == 0
    assert "[bold red]URGENT[/]" in out
    assert "\x1b[31m" not in out


def test_triage_assign_reply_wait_resolve_reopen(run, inbox, tmp_path):
    run("import", str(inbox))
    assert run("triage", "1", "--severity", "1")[1].strip() == "#1 is now severity 1"
    assert "Bob Example" in run("assign", "#1", "bob@example.com", "--note", "prod down")[1]
    body = tmp_path / "reply.txt"
    body.write_text("We are on it.\n")
    assert "queued in the outbox (1 waiting to send)" in run("reply", "1", "--body-file", str(body))[1]
    assert "(2 waiting to send)" in run("reply", "1", "--snippet", "ack")[1]
    assert run("wait", "1")[0] == 0
    assert run("resolve", "1")[0] == 0
    assert run("reopen", "1")[0] == 0
    shown = json.loads(run("show", "1", "--json")[1])
    assert shown["severity"] == 1 and shown["owner"] == "bob@example.com" and shown["state"] == "new"  # nothing sent yet
    assert [e["kind"] for e in shown["events"]][-4:] == ["reply_queued", "state", "state", "state"]
    assert len(shown["outbox"]) == 2


def test_a_ticket_resolved_without_a_reply_shows_how_its_response_clock_ended(run, tmp_path, mail):
    """Not a live breached countdown: resolving stopped the clock, a day after it was due."""
    old = tmp_path / "old"
    old.mkdir()
    (old / "1.eml").write_bytes(mail(subject="Search is down", date=NOW - timedelta(days=3)))
    run("import", str(old))
    run("triage", "1", "--severity", "1")
    run("resolve", "1")
    shown = run("show", "1")[1]
    assert "Response   missed" in shown and "BREACHED" not in shown
    listed = run("list", "--all")[1]
    row = next(line for line in listed.splitlines() if "Search is down" in line)
    assert "missed" in row and "LATE" not in row and "-2d" not in row
    assert json.loads(run("show", "1", "--json")[1])["response_status"] == "missed"


def test_wait_says_a_clock_paused_only_when_one_was_running(run, inbox, tmp_path, mail):
    auto = tmp_path / "auto"
    auto.mkdir()
    (auto / "3.eml").write_bytes(mail(subject="Out of office", Auto_Submitted="auto-replied"))
    run("import", str(inbox))
    run("import", str(auto))
    assert run("wait", "3")[1].strip() == "#3 is waiting on the customer"  # an auto-reply: no clock
    assert run("wait", "1")[1].strip() == "#1 is waiting on the customer"  # untriaged: no resolution clock yet
    run("triage", "2", "--severity", "1")
    assert run("wait", "2")[1].strip() == "#2 is waiting on the customer (resolution clock paused)"


def test_a_reply_is_held_when_the_customer_wrote_since_the_version_read_and_force_sends_it(run, inbox, tmp_path, mail):
    run("import", str(inbox))
    _, shown, _ = run("show", "1")
    assert "Version 0: reply to it as shown here with frontdesk reply 1 --seen 0" in shown
    assert json.loads(run("show", "1", "--json")[1])["version"] == 0
    again = tmp_path / "again"
    again.mkdir()
    (again / "3.eml").write_bytes(mail(body="Still down, now the \x1b[31madmin [b]UI[/b] too.", in_reply_to="q1@acme.example"))
    run("import", str(again))
    body = tmp_path / "reply.txt"
    body.write_text("We are on it.\n")

    status, out, err = run("reply", "1", "--body-file", str(body), "--seen", "0")
    assert (status, out) == (3, "")
    assert err == (
        "frontdesk: #1 reply held: since you began, Alice Customer wrote again at 15:00; nothing was sent "
        "(--force sends it anyway)\n"
    )
    assert json.loads(run("show", "1", "--json")[1])["outbox"] == []
    assert run("reply", "1", "--body-file", str(body), "--seen", "1")[0] == 0, "read again: it goes"
    status, out, _ = run("reply", "1", "--body-file", str(body), "--seen", "1")
    assert status == 3, "a second reply on top of the first is held too"
    status, out, _ = run("reply", "1", "--body-file", str(body), "--seen", "1", "--force")
    assert status == 0 and "queued in the outbox (2 waiting to send)" in out


def test_without_seen_a_reply_file_began_when_it_was_last_written(run, inbox, tmp_path):
    run("import", str(inbox))
    body = tmp_path / "reply.txt"
    body.write_text("We are on it.\n")
    before = (NOW - timedelta(minutes=5)).timestamp()
    os.utime(body, (before, before))  # written at 14:55; at 15:00 someone hands the ticket over
    run("assign", "1", "bob@example.com")
    status, _, err = run("reply", "1", "--body-file", str(body))
    assert status == 3 and "since you began, Dana Rep handed it to bob@example.com at 15:00; nothing was sent" in err
    os.utime(body, None)  # written again, after the hand-off
    assert run("reply", "1", "--body-file", str(body))[0] == 0


def test_seen_must_be_a_version_the_ticket_had(run, inbox):
    run("import", str(inbox))
    assert run("reply", "1", "--snippet", "logs", "--seen", "7") == (
        2, "", "frontdesk: --seen 7: ticket #1 is at version 0\n"
    )
    with pytest.raises(SystemExit) as bad:  # argparse's own refusal, exit status 2
        run("reply", "1", "--snippet", "logs", "--seen", "latest")
    assert bad.value.code == 2


def test_a_second_acknowledgement_says_so_and_queues_nothing(run, inbox):
    run("import", str(inbox))
    assert run("reply", "2", "--snippet", "ack")[1] == "#2 acknowledgement to eve@elite.example queued in the outbox (1 waiting to send)\n"
    status, out, err = run("reply", "2", "--snippet", "ack", "--force")
    assert (status, err) == (0, "")
    assert out == "#2 already has an acknowledgement (queued at 15:00, by Dana Rep); nothing was queued\n"
    assert len(json.loads(run("show", "2", "--json")[1])["outbox"]) == 1


def test_take_assigns_to_me_or_says_how_to(run, inbox, config_path):
    run("import", str(inbox))
    status, _, err = run("take", "1")
    assert status == 1 and err.count("\n") == 1 and "Who are you? Add [me] name and email to" in err
    config_path.write_text(config_path.read_text() + '\n[me]\nname = "Bob Example"\nemail = "bob@example.com"\n')
    status, out, _ = run("take", "#1")
    assert (status, out.strip()) == (0, "#1 is now yours (bob@example.com)")
    assert run("take", "1")[2] == "frontdesk: ticket #1 is already yours\n"
    shown = json.loads(run("show", "1", "--json")[1])
    assert shown["owner"] == "bob@example.com" and shown["events"][-1]["actor"] == "Bob Example"


def test_show_prints_the_thread(run, inbox):
    run("import", str(inbox))
    status, out, _ = run("show", "1")
    assert status == 0
    assert "[bold red]URGENT[/]" in out and "Our search stopped returning results" in out
    assert "History" in out


def test_stats_json(run, inbox):
    run("import", str(inbox))
    run("triage", "1", "--severity", "2")
    stats = json.loads(run("stats", "--json")[1])
    assert stats["tickets"]["total"] == 2
    assert stats["attainment"]["2"]["tickets"] == 1
    assert stats["response_time"] == {"count": 0, "median_seconds": None, "p90_seconds": None}


@pytest.mark.parametrize(
    ("args", "reason", "status"),
    [
        (("show", "42"), "frontdesk: no ticket #42\n", 1),
        (("triage", "1", "--severity", "1"), "frontdesk: no ticket #1\n", 1),
        (("import", "/nonexistent/mail"), "frontdesk: /nonexistent/mail: no such file or folder\n", 1),
        (("assign", "1", "x@y.example"), "frontdesk: no ticket #1\n", 1),
        (("reply", "1", "--snippet", "ack", "--seen", "0"), "frontdesk: no ticket #1\n", 1),
    ],
)
def test_failures_are_one_line(run, args, reason, status):
    code, out, err = run(*args)
    assert (code, err) == (status, reason)


def test_bad_config_is_one_line_and_status_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[business_hours]\ntimezone = "Mars/Olympus"\n')
    assert main(["--config", str(bad), "--db", str(tmp_path / "x.db"), "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "business_hours.timezone" in err and str(bad) in err


def test_bad_frontdesk_now_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRONTDESK_NOW", "yesterday")
    assert main(["--db", str(tmp_path / "x.db"), "list"]) == 2
    assert "FRONTDESK_NOW" in capsys.readouterr().err


def test_installed_script_has_version_and_help_on_every_verb():
    script = shutil.which("frontdesk", path=str(Path(sys.executable).parent))
    assert script, "the frontdesk console script is not installed next to this Python"
    assert subprocess.run([script, "--version"], capture_output=True, text=True, check=True).stdout.startswith("frontdesk ")
    for verb in ("import", "list", "show", "triage", "assign", "take", "reply", "wait", "resolve", "reopen", "stats"):
        result = subprocess.run([script, verb, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "usage: frontdesk" in result.stdout, verb


def test_a_database_that_cannot_be_opened_is_one_line_without_traceback(tmp_path):
    not_a_db = tmp_path / "junk.db"
    not_a_db.write_bytes(b"\0junk" * 1000)
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk.tui.cli", "--db", str(not_a_db), "list"], capture_output=True, text=True
    )
    assert result.returncode == 2, "a database that can't be used is a problem of configuration"
    assert result.stderr.startswith("frontdesk: cannot open the database") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr


def test_a_database_server_that_cannot_be_reached_is_one_line_and_status_2():
    result = subprocess.run(
        [sys.executable, "-m", "frontdesk.tui.cli", "--db", "postgresql://sam@127.0.0.1:1/frontdesk", "list"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr == (
        "frontdesk: cannot use the database postgresql://sam@127.0.0.1:1/frontdesk: nothing answers there: "
        "check the host and port, and that PostgreSQL is running and reachable\n"
    )


def test_assign_takes_a_unique_start_of_a_name_or_email_in_any_case(run, inbox, config_path):
    config_path.write_text(config_path.read_text() + '\n[[owners]]\nname = "Bea Lin"\nemail = "bea@example.com"\n')
    run("import", str(inbox))
    assert run("assign", "1", "BOB")[1].strip() == "#1 is now owned by Bob Example <bob@example.com>"
    assert run("assign", "2", "lin")[1].strip() == "#2 is now owned by Bea Lin <bea@example.com>"
    assert run("assign", "2", "bob example")[1].strip() == "#2 is now owned by Bob Example <bob@example.com>"
    assert run("assign", "1", "b") == (
        2, "", "frontdesk: 'b' matches 2 owners: Bea Lin <bea@example.com>, Bob Example <bob@example.com>; "
        "type more of the name or email\n",
    )
    assert run("assign", "1", "zed") == (
        2, "", "frontdesk: no owner matches 'zed'; add them under [[owners]] in the config "
        "(known: Bea Lin <bea@example.com>, Bob Example <bob@example.com>)\n",
    )


@pytest.mark.parametrize("argv", [("--demo", "list", "--json"), ("list", "--demo", "--json"), ("list", "--json", "--demo")])
def test_demo_is_taken_before_or_after_the_verb(argv, monkeypatch, capsys):
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    assert main(list(argv)) == 0
    assert len(json.loads(capsys.readouterr().out)) == 22


def test_status_is_one_line_that_agrees_with_the_inbox(run, inbox, tmp_path, mail, monkeypatch):
    assert run("status") == (0, "no open tickets\n", "")
    # Two untriaged tickets received at NOW, with the strictest response target of their policy:
    # 24h for Acme, 4h for Elite Co.
    run("import", str(inbox))
    assert run("status") == (0, "ok · next 4h 00m\n", "")
    late = tmp_path / "late.eml"
    late.write_bytes(mail(sender="eve@elite.example", message_id="old@elite.example", date=NOW - timedelta(hours=5)))
    run("import", str(late))
    assert run("status") == (0, "1 LATE · next 4h 00m\n", "")
    monkeypatch.setenv("FRONTDESK_NOW", (NOW + timedelta(hours=3, minutes=20)).isoformat())
    assert run("status") == (0, "1 LATE · 1 RISK · next 40m 00s\n", "")
    assert run("status", "--format", "tmux")[1] == (
        "#[fg=red,bold]1 LATE#[default] · #[fg=yellow,bold]1 RISK#[default] · next 40m 00s\n"
    )
    assert run("status", "--format", "ansi")[1] == "\x1b[1;31m1 LATE\x1b[0m · \x1b[1;33m1 RISK\x1b[0m · next 40m 00s\n"
    listed = run("list")[1]
    assert listed.count("LATE") == 1 and listed.count("RISK") == 1


def test_status_waits_for_nobody_and_never_loads_textual(tmp_path, config_path, inbox):
    """A status bar runs it every few seconds: no Textual import, and a database away is one line."""
    db = tmp_path / "status.db"
    assert main(["--db", str(db), "--config", str(config_path), "import", str(inbox)]) == 0
    probe = (
        "import sys\n"
        "from frontdesk.tui.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "sys.exit(f'textual was imported: {loaded[:3]}' if loaded else status)\n"
    )
    env = {**os.environ, "FRONTDESK_NOW": NOW.isoformat()}
    shown = subprocess.run(
        [sys.executable, "-c", probe, "--db", str(db), "--config", str(config_path), "status"],
        capture_output=True, text=True, env=env,
    )
    assert (shown.returncode, shown.stdout, shown.stderr) == (0, "ok · next 4h 00m\n", "")
    away = subprocess.run(
        [sys.executable, "-c", probe, "--db", "postgresql://sam@127.0.0.1:1/frontdesk", "status"],
        capture_output=True, text=True, env=env,
    )
    assert away.returncode == 2 and away.stdout == ""
    assert away.stderr.startswith("frontdesk: cannot use the database") and away.stderr.count("\n") == 1


def test_stats_for_a_week_as_a_table_and_as_the_stats_screens_markdown(run, inbox, tmp_path, config_path):
    run("import", str(inbox))
    status, out, _ = run("stats", "--week", "2026-W48")
    assert status == 0
    assert out.startswith("Week 2026-W48 · Mon 23 Nov – Sun 29 Nov 2026 (UTC) · so far\n")
    assert "Tickets received" in out and "Still untriaged" in out
    status, note, _ = run("stats", "--week", "2026-w48", "--markdown")
    store = Store.open(tmp_path / "cli.db", load_config(config_path), FrozenClock(NOW))
    try:
        assert (status, note) == (0, to_markdown(rotation_summary(store, date(2026, 11, 23))))
    finally:
        store.close()
    assert run("stats", "--markdown")[1] == note, "without --week: this week"
    assert run("stats", "--week", "this", "--markdown")[1] == note
    assert run("stats", "--week", "last")[1].startswith("Week 2026-W47 · Mon 16 Nov – Sun 22 Nov 2026 (UTC)\n")


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("--week", "49"), "--week: '49' is not an ISO week such as 2026-W49, or this or last"),
        (("--week", "2025-W53"), "--week: 2025 has no week 53, or this or last"),
        (("--week", "2026-W49"), "--week: 2026-W49 has not begun yet (this week is 2026-W48)"),
        (("--week", "2026-W40", "--json"), "--json prints the figures of all tickets; a week's come as a table, or with --markdown"),
    ],
)
def test_a_bad_week_is_one_line_and_status_2(run, args, reason):
    assert run("stats", *args) == (2, "", f"frontdesk: {reason}\n")
