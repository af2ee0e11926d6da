"""Starting the inbox does only what its first screen needs: no mail servers' or PostgreSQL's
modules, and no table scans when the store opens with the configuration it had last time."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
from pathlib import Path

from frontdesk.storage.config import load_config
from frontdesk.storage.models import Owner
from frontdesk.storage.store import Store
from frontdesk.tui import cli
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.ticket_table import TicketTable

from conftest import NOW, run_app, settle

# Each loads when a verb, a screen or a PostgreSQL database needs it; none of them shows the inbox.
NOT_FOR_THE_INBOX = (
    "psycopg",
    "keyring",
    "imapclient",
    "frontdesk.mail.parse",
    "frontdesk.mail.imap_sync",
    "frontdesk.mail.smtp_send",
    "markdown_it",
    "frontdesk.tui.compose",  # the reply composer (and Textual's TextArea)
    "frontdesk.storage.rotation",  # the week's figures, for hand-overs and Stats
    "frontdesk.storage.team",  # the rotation, read once the first rows are up
    "frontdesk.storage.presence",  # its heartbeat starts after the first frame
    "frontdesk.storage.lease",  # for sending from the inbox
)


def test_the_inbox_shows_its_first_screen_without_mail_or_server_modules(tmp_path, config_path):
    """What was loaded when the first frame was painted: what came after it did not delay it."""
    probe = (
        "import asyncio, sys\n"
        "from rich.console import Console\n"
        "from frontdesk.tui.cli import Context, build_parser\n"
        "from frontdesk.tui.app import FrontdeskApp\n"
        "from frontdesk.storage.clock import clock_from_environment\n"
        "args = build_parser(with_verbs=False).parse_args(sys.argv[1:])  # as the inbox reads its options\n"
        "ctx = Context(args, Console(), Console(stderr=True), clock_from_environment())\n"
        "at_first_frame = set()\n"
        "async def first_screen():\n"
        "    app = FrontdeskApp(ctx.store, state_file=None, after_first_frame=lambda: at_first_frame.update(sys.modules))\n"
        "    async with app.run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "        assert pilot.app.screen.query('TicketTable'), 'no inbox shown'\n"
        "asyncio.run(first_screen())\n"
        "ctx.close()\n"
        "assert at_first_frame, 'no first frame'\n"
        f"loaded = [name for name in {NOT_FOR_THE_INBOX!r} if name in at_first_frame]\n"
        "sys.exit(f'loaded for the inbox: {loaded}' if loaded else 0)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", probe, "--db", str(tmp_path / "tickets.db"), "--config", str(config_path)],
        capture_output=True, text=True, env={**os.environ, "FRONTDESK_NOW": NOW.isoformat()},
    )
    assert (shown.returncode, shown.stderr) == (0, "")


def _updates(caplog) -> list[str]:
    return [record.msg[0] for record in caplog.records if record.msg[0].lstrip().upper().startswith("UPDATE")]


def test_opening_the_store_again_leaves_the_directory_alone_until_the_config_changes(tmp_path, database, config, clock, caplog):
    Store.open(database, config, clock).close()  # the first open fills the customers and owners in
    caplog.set_level(logging.DEBUG, logger="peewee")
    Store.open(database, config, clock).close()
    assert _updates(caplog) == []
    assert not [record for record in caplog.records if '"snippet"' in record.msg[0]], "built-in snippets looked up again"

    without_bob = tmp_path / "without-bob.toml"
    without_bob.write_text((tmp_path / "config.toml").read_text().split("[[owners]]")[0], encoding="utf-8")
    reopened = Store.open(database, load_config(without_bob), clock)
    try:
        assert _updates(caplog), "the changed owners were not looked at"
        assert Owner.get(Owner.email == "bob@example.com").active == 0
    finally:
        reopened.close()


def _launched(tmp_path, config_path, *verb: str) -> str:
    """`frontdesk` as its console script starts it (launch.main), then the collector's state."""
    probe = (
        "import gc, sys\n"
        "from frontdesk.tui import launch\n"
        "status = launch.main()\n"
        "print(status, gc.isenabled(), gc.get_freeze_count() > 0)\n"
    )
    argv = ["frontdesk", "--db", str(tmp_path / "tickets.db"), "--config", str(config_path), *verb]
    ran = subprocess.run(
        [sys.executable, "-c", probe, *argv[1:]],
        capture_output=True, text=True, env={**os.environ, "FRONTDESK_NOW": NOW.isoformat()},
    )
    assert ran.stderr == ""
    return ran.stdout.splitlines()[-1]


def test_a_verb_runs_with_the_collector_on_and_what_start_up_loaded_frozen(tmp_path, config_path):
    assert _launched(tmp_path, config_path, "list") == "0 True True"


def test_the_inbox_ends_start_up_once_its_first_frame_is_painted(demo_store):
    rows_at_the_end = []
    app = FrontdeskApp(
        demo_store, demo=True, state_file=None, first_rows=demo_store.first_screen(40),
        after_first_frame=lambda: rows_at_the_end.append(len(app.screen.query_one(TicketTable).rows)),
    )

    async def script(pilot):
        await settle(pilot)
        assert len(rows_at_the_end) == 1 and rows_at_the_end[0] > 0, "once, with the first rows on screen"

    run_app(app, script)


def test_the_command_line_called_directly_leaves_the_collector_alone(tmp_path, config_path, capsys):
    frozen = gc.get_freeze_count()
    assert cli.main(["--db", str(tmp_path / "tickets.db"), "--config", str(config_path), "list"]) == 0
    assert gc.isenabled() and gc.get_freeze_count() == frozen


def test_the_dialogs_style_sheets_are_read_when_the_first_dialog_opens(demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    def sheets() -> set[str]:
        return {Path(path).name for path, _ in app.stylesheet.source if str(path).endswith(".tcss")}

    async def script(pilot):
        await settle(pilot)
        assert sheets() == {"frontdesk.tcss"}
        await pilot.press("s")
        await settle(pilot)
        assert sheets() == {"frontdesk.tcss", "modals.tcss"}
        assert app.screen.query_one(".dialog").styles.border_top[0] == "round", "the dialog has its looks"

    run_app(app, script)
