"""The inbox syncs the real mailbox in the background and says how it is going."""

from __future__ import annotations

import time

import mailserver
import smtpserver
from mailserver import Dovecot

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
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
        await pilot.press("a", "y")
        await wait_until(pilot, lambda: len(smtp_server.received) == 1, "the acknowledgement to be sent")
        await settle(pilot)
        assert store.ticket(1).first_response_at == NOW, "sent: the response clock stopped"

    run_app(app, script)
    store.close()
