"""The inbox syncs the real mailbox in the background and says how it is going."""

from __future__ import annotations

import re
import threading
import time

import mailserver
import smtpserver
from mailserver import Dovecot

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.lease import Lease, Timing, serve
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.mailbox import MailboxState, MailboxWorker
from frontdesk.tui.ticket_table import TicketTable

from conftest import CONFIG_TOML, NOW, build_mail, run_app, settle

dovecot = mailserver.dovecot
smtp_server = smtpserver.smtp_server


async def wait_until(pilot, condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.2)


def test_new_mail_appears_while_the_inbox_is_open(dovecot: Dovecot, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    folder = dovecot.new_folder()
    config_file = tmp_path / "config.toml"
    config_file.write_text(mailserver_config(dovecot, folder), encoding="utf-8")
    store = Store.open(tmp_path / "t.db", load_config(config_file), FrozenClock(NOW))
    app = FrontdeskApp(store, state_file=None, tick_seconds=0.2)

    async def script(pilot):
        banner = app.screen.query_one("#banner")
        await wait_until(pilot, lambda: "mail: up to date" in banner.render().plain, "the first sync")
        dovecot.append(folder, [build_mail(subject="Webhooks stopped firing [JIRA-123]", message_id="live@acme.example")])
        table = app.screen.query_one(TicketTable)
        await wait_until(pilot, lambda: any("[JIRA-123]" in row.subject for row in table.rows), "the new ticket")
        await settle(pilot)

    run_app(app, script)
    store.close()


def test_a_refused_login_stops_and_says_so(dovecot: Dovecot, tmp_path, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    config_file = tmp_path / "config.toml"
    config_file.write_text(mailserver_config(dovecot, dovecot.new_folder(), password="wrong"), encoding="utf-8")
    store = Store.open(tmp_path / "t.db", load_config(config_file), FrozenClock(NOW))
    app = FrontdeskApp(store, state_file=None)

    async def script(pilot):
        banner = app.screen.query_one("#banner")
        await wait_until(pilot, lambda: "mail: stopped" in banner.render().plain, "the refusal")

    run_app(app, script)
    store.close()


def mailserver_config(server: Dovecot, folder: str, password: str = mailserver.PASSWORD) -> str:
    return CONFIG_TOML + (
        f'[imap]\nhost = "{server.host}"\nport = {server.imaps_port}\nsecurity = "tls"\n'
        f'username = "support@example.com"\nfolder = "{folder}"\npassword_command = "printf {password}"\ntimeout = 10\n'
    )


def test_an_acknowledgement_goes_out_right_away(smtp_server, tmp_path):
    smtp = (
        f'\n[smtp]\nhost = "{smtp_server.host}"\nport = {smtp_server.port}\nsecurity = "none"\n'
        f'username = "support@example.com"\npassword_command = "printf {smtp_server.password}"\ntimeout = 10\n'
    )
    config_file = tmp_path / "config.toml"
    config_file.write_text(CONFIG_TOML + smtp, encoding="utf-8")
    store = Store.open(tmp_path / "t.db", load_config(config_file), FrozenClock(NOW))
    Ingestor(store).ingest(build_mail(message_id="q@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)

    async def script(pilot):
        await pilot.press("a")
        await settle(pilot)  # (whether the ticket has an acknowledgement already is looked up first)
        await pilot.press("y")
        await wait_until(pilot, lambda: len(smtp_server.received) == 1, "the acknowledgement to be sent")
        await settle(pilot)
        assert store.ticket(1).first_response_at == NOW, "sent: the response clock stopped"

    run_app(app, script)
    store.close()


SHORT = Timing(renew_every=0.2, check_every=0.1, expires_after=2.0)


def test_an_inbox_without_the_mailbox_lease_does_not_sync_and_shows_who_does(
    dovecot: Dovecot, database, tmp_path, monkeypatch
):
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.cert))
    monkeypatch.setattr(MailboxWorker, "timing", SHORT)
    folder = dovecot.new_folder()
    dovecot.append(folder, [build_mail(subject="Export times out", message_id="held@acme.example")])
    config_file = tmp_path / "config.toml"
    config_file.write_text(mailserver_config(dovecot, folder), encoding="utf-8")
    store = Store.open(database, load_config(config_file), FrozenClock(NOW))
    # Another process of the team (sam's daemon) holds the mailbox and has just synced.
    sam = Lease(store, timing=SHORT, who="sam@support-box")
    stop_sam, sam_holds = threading.Event(), threading.Event()

    def sam_works(quit: threading.Event) -> None:
        sam.synced()
        sam_holds.set()
        quit.wait()

    sam_thread = threading.Thread(target=serve, args=(sam, stop_sam, sam_works))
    sam_thread.start()
    assert sam_holds.wait(10)
    app = FrontdeskApp(store, state_file=None, tick_seconds=0.2)

    async def script(pilot):
        banner = app.screen.query_one("#banner")
        table = app.screen.query_one(TicketTable)
        await wait_until(pilot, lambda: "mail: synced by" in banner.render().plain, "the holder to be shown")
        assert re.search(r"mail: synced by sam@support-box, \d+ s ago", banner.render().plain)
        await pilot.pause(3 * SHORT.expires_after)  # sam's beat keeps moving: this inbox never syncs
        assert not app.mailbox.holding
        assert store.views() == [] and not table.rows, "a standby fetched mail"
        stop_sam.set()  # sam quits cleanly and hands over
        await wait_until(pilot, lambda: "mail: up to date" in banner.render().plain, "the takeover")
        assert app.mailbox.holding
        await wait_until(pilot, lambda: any(row.subject == "Export times out" for row in table.rows), "the mail")
        await settle(pilot)

    try:
        run_app(app, script)
    finally:
        stop_sam.set()
        sam_thread.join(10)
    assert Lease(store).observe().free, "quitting the inbox handed the mailbox over"
    store.close()


def test_the_holder_is_shown_as_text_never_markup():
    state = MailboxState("standby", "", synced_by="[/bold]sam\x1b[31m@box", synced_ago=12.4)
    assert state.line(None) == "mail: synced by [/bold]sam@box, 12 s ago"
    assert MailboxState("standby", "", synced_by="sam@box").line(None) == "mail: synced by sam@box, first sync under way"
    quiet = MailboxState("standby", "", synced_by="sam@box", synced_ago=20, silent_for=14)
    assert quiet.line(None) == "mail: synced by sam@box, not heard from for 14 s"
