"""Hand-off notifications: an email to the owner (through a real SMTP server) and a post to a
webhook (a real local HTTP server), retried when they fail and never taken for a reply."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import smtpserver

from frontdesk.mail.ingest import Ingestor
from frontdesk.mail.notify import HANDOFF, SLACK
from frontdesk.mail.smtp_send import send_outbox
from frontdesk.storage import usecases
from frontdesk.storage.config import NotifyConfig
from frontdesk.storage.handoff import EXCERPT_LINES
from frontdesk.storage.models import Outbox
from frontdesk.tui.cli import main

from conftest import CONFIG_TOML, NOW

smtp_server = smtpserver.smtp_server  # the fixture, found by pytest under this name

HOOK_PATH = "/services/T000/B000/secret-part"


@dataclass
class Webhook:
    """What the local HTTP server saw, and what it answers next."""

    url: str
    status: int = 200
    posts: list[dict] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if hook.status == 200:
                hook.posts.append({"path": self.path, "type": self.headers["Content-Type"], "json": json.loads(body)})
            self.send_response(hook.status)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}{HOOK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def ticket(store, mail, clock):
    """Ticket #1 from Acme, severity 1, an hour after it arrived."""
    body = "\n".join(f"log line {n} <b>&</b>" for n in range(1, 61))
    Ingestor(store).ingest(mail(subject="Search is down", body=f"Everything fails.\n{body}"), "test")
    usecases.triage(store, 1, 1)
    clock.advance(timedelta(hours=1))
    return 1


def hand_off(store, ticket_id: int, note: str | None = "prod down, <!channel> please look") -> tuple[Outbox, ...]:
    """Hand the ticket to Bob: what the hand-off queued for him."""
    return usecases.assign(store, ticket_id, "bob@example.com", note).outbox


def _with_servers(store, smtp, webhook=None):
    """The store's config with the test servers: the hand-off reads it to choose the channels."""
    notify = NotifyConfig(slack_webhook_command=f"printf {webhook.url}") if webhook else NotifyConfig()
    store.config = replace(store.config, smtp=smtp.server_config(), notify=notify)
    return store.config


def test_a_hand_off_emails_the_owner_a_summary_that_is_not_a_reply(store, ticket, smtp_server):
    config = _with_servers(store, smtp_server)
    [entry] = hand_off(store, ticket)
    assert (entry.kind, entry.to_addrs) == (HANDOFF, ["bob@example.com"])
    assert entry.subject == "Hand-off: #1 Search is down (Sev 1, response due Thu 26 Nov 2026 15:00 UTC)"
    assert "[#1]" not in entry.subject, "the owner's answer must not thread into the customer's ticket"

    report = send_outbox(store, config)

    assert report.sent == [entry.id]
    [received] = smtp_server.received
    assert received.rcpt_tos == ("bob@example.com",)
    message = email.message_from_bytes(received.content, policy=email.policy.default)
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_content().replace("\r\n", "\n")
    for expected in (
        "Ticket #1 is yours now, handed over by Dana Rep.",
        "Customer:    Acme (alice@acme.example)",
        "Severity:    1",
        "Response:    due Thu 26 Nov 2026 15:00 UTC (on track)",
        "Resolution:  due Sat 28 Nov 2026 15:00 UTC (on track)",
        "Note from Dana Rep:\n    prod down, <!channel> please look",
        "Latest message from Alice Customer, Wed 25 Nov 2026 15:00 UTC:\n> Everything fails.\n> log line 1 <b>&</b>",
        f"> log line {EXCERPT_LINES - 1} <b>&</b>\n[21 more lines in frontdesk show 1]",
    ):
        assert expected in text
    assert f"log line {EXCERPT_LINES} " not in text
    view = store.view(ticket)
    assert (view.first_response_at, view.state, view.message_count) == (None, "new", 1), "internal: no reply"


def test_a_hand_off_posts_to_the_webhook_escaped(store, ticket, smtp_server, webhook):
    config = _with_servers(store, smtp_server, webhook)
    entries = hand_off(store, ticket)
    assert [e.kind for e in entries] == [HANDOFF, SLACK]
    assert entries[1].to_addrs == []

    report = send_outbox(store, config)

    assert sorted(report.sent) == [e.id for e in entries]
    [post] = webhook.posts
    assert (post["path"], post["type"]) == (HOOK_PATH, "application/json")
    text = post["json"]["text"]
    assert text.startswith("*Hand-off: #1 Search is down (Sev 1, response due Thu 26 Nov 2026 15:00 UTC)*\n")
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text, "customer text must not ping the channel"
    assert "&lt;b&gt;&amp;&lt;/b&gt;" in text


def test_a_failing_webhook_is_retried_never_lost_and_its_url_never_shown(store, ticket, smtp_server, webhook, clock):
    config = _with_servers(store, smtp_server, webhook)
    slack = hand_off(store, ticket, None)[1]
    webhook.status = 500

    report = send_outbox(store, config)

    assert report.failed == {slack.id: "the webhook answered 500 Internal Server Error"}
    assert "secret-part" not in Outbox.get_by_id(slack.id).last_error
    webhook.status = 200
    clock.advance(timedelta(minutes=1))
    assert send_outbox(store, config).sent == [slack.id]
    assert len(webhook.posts) == 1 and len(smtp_server.received) == 1


def test_a_webhook_over_plain_http_to_another_machine_is_refused(store, ticket):
    notify = NotifyConfig(slack_webhook_command="printf http://hooks.example.com/x")
    store.config = replace(store.config, notify=notify)
    [slack] = hand_off(store, ticket, None)

    report = send_outbox(store)

    assert report.failed == {slack.id: "the webhook URL must start with https:// (plain http only to this machine)"}


def test_without_a_channel_nothing_is_queued(store, ticket):
    assert hand_off(store, ticket, "yours") == ()
    assert store.ticket(ticket).owner.email == "bob@example.com"


def test_assign_on_the_command_line_queues_the_hand_off(tmp_path, mail, monkeypatch, capsys):
    config = tmp_path / "config.toml"
    config.write_text(CONFIG_TOML + '[smtp]\nhost = "smtp.example.com"\n', encoding="utf-8")
    (tmp_path / "1.eml").write_bytes(mail())
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    common = ["--db", str(tmp_path / "t.db"), "--config", str(config)]
    assert main([*common, "import", str(tmp_path / "1.eml")]) == 0

    assert main([*common, "assign", "1", "bob@example.com", "--note", "yours"]) == 0
    assert main([*common, "outbox"]) == 0

    out = capsys.readouterr().out
    assert "(notified through the outbox)" in out
    assert "handoff" in out and "bob@example.com" in out and "queued" in out
