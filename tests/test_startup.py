"""Starting the inbox does only what its first screen needs: no mail servers' or PostgreSQL's
modules, and no table scans when the store opens with the configuration it had last time."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

from frontdesk.storage.config import load_config
from frontdesk.storage.models import Owner
from frontdesk.storage.store import Store

from conftest import NOW

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
)


def test_the_inbox_shows_its_first_screen_without_mail_or_server_modules(tmp_path, config_path):
    probe = (
        "import asyncio, sys\n"
        "from rich.console import Console\n"
        "from frontdesk.tui.cli import Context, build_parser\n"
        "from frontdesk.tui.app import FrontdeskApp\n"
        "from frontdesk.storage.clock import clock_from_environment\n"
        "args = build_parser().parse_args(sys.argv[1:])\n"
        "ctx = Context(args, Console(), Console(stderr=True), clock_from_environment())\n"
        "async def first_screen():\n"
        "    async with FrontdeskApp(ctx.store, state_file=None).run_test() as pilot:\n"
        "        await pilot.pause()\n"
        "        assert pilot.app.screen.query('TicketTable'), 'no inbox shown'\n"
        "asyncio.run(first_screen())\n"
        "ctx.close()\n"
        f"loaded = [name for name in {NOT_FOR_THE_INBOX!r} if name in sys.modules]\n"
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
