"""Sending the outbox against a real SMTP server (aiosmtpd) and, for the Sent folder, a real
Dovecot: headers, the response clock, failures, backoff, and never sending twice."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import timedelta

import mailserver
import pytest
import smtpserver
from smtpserver import TOKEN, USER

from frontdesk.mail.credentials import resolve_secret
from frontdesk.mail.imap_sync import MailboxSync
from frontdesk.mail.ingest import Ingestor
from frontdesk.mail.smtp_send import build_message, retry_delay, send_outbox
from frontdesk.storage import outbox
from frontdesk.storage.config import SendCommand
from frontdesk.storage.models import Outbox
from frontdesk.storage.usecases import reply

# The fixtures live in mailserver.py and smtpserver.py; pytest finds them by these names.
dovecot = mailserver.dovecot
smtp_server = smtpserver.smtp_server
smtp_relay = smtpserver.smtp_relay

AMBIGUOUS = "may or may not have been sent before a crash; check your Sent folder, then retry or discard"


@pytest.fixture
def ticket(store, mail):
    """Ticket #1: a customer message that a reply answers, and a reply queued for it."""
    Ingestor(store).ingest(mail(message_id="question@acme.example", body="Search is down.\n"), "test")
    return 1


@pytest.fixture
def settings(store, smtp_server):
    return replace(store.config, smtp=smtp_server.server_config())


def _entry(entry_id: int = 1) -> Outbox:
    return Outbox.get_by_id(entry_id)


def _parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_a_reply_goes_out_whole_and_stops_the_response_clock_when_sent(store, ticket, settings, clock, smtp_server):
    [queued] = reply(store, ticket, "Hallo Jürgen — we are on it.\n\n-- \nDana\n").outbox
    Outbox.update(cc_addrs=["carol@acme.example"]).where(Outbox.id == queued.id).execute()
    clock.advance(timedelta(hours=2))  # queued at 15:00, sent at 17:00
    sent_at = clock.now()

    report = send_outbox(store, settings)

    assert report.sent == [queued.id] and not report.failed
    [received] = smtp_server.received
    assert received.mail_from == "support@example.com"
    assert set(received.rcpt_tos) == {"alice@acme.example", "carol@acme.example"}
    message = _parsed(received.content)
    assert message["From"] == "Example Support <support@example.com>"
    assert (message["To"], message["Cc"]) == ("alice@acme.example", "carol@acme.example")
    assert message["Subject"] == "Re: Search is down [#1]"
    assert message["Message-ID"] == f"<{queued.message_id}>"
    assert message["In-Reply-To"] == "<question@acme.example>"
    assert message["References"] == "<question@acme.example>"
    assert email.utils.parsedate_to_datetime(message["Date"]) == sent_at
    assert message.get_content().replace("\r\n", "\n") == "Hallo Jürgen — we are on it.\n\n-- \nDana\n"
    view = store.view(ticket)
    assert view.first_response_at == sent_at, "the clock stops when the reply leaves, not when it was queued"
    assert (view.state, view.message_count) == ("open", 2)
    assert (_entry().status, _entry().sent_at, _entry().attempts) == ("sent", sent_at, 1)
    assert store.messages(ticket)[-1].direction == "out"


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_starttls_verify_the_certificate(store, ticket, settings, smtp_server, monkeypatch, security):
    port = smtp_server.tls_port if security == "tls" else smtp_server.port
    settings = replace(settings, smtp=smtp_server.server_config(security=security, port=port))
    reply(store, ticket, "over TLS")

    untrusted = send_outbox(store, settings)
    assert "certificate is not trusted" in untrusted.failed[1] and "SSL_CERT_FILE" in untrusted.failed[1]
    assert smtp_server.received == [] and smtp_server.logins == [], "no password is sent to an unverified server"

    monkeypatch.setenv("SSL_CERT_FILE", str(smtp_server.cert))
    outbox.retry(store, 1)
    assert send_outbox(store, settings).sent == [1]
    assert len(smtp_server.received) == 1


def test_server_down_the_reply_waits_with_its_error_then_goes_out_exactly_once(store, ticket, settings, clock, smtp_server):
    reply(store, ticket, "we are on it")
    smtp_server.stop()

    report = send_outbox(store, settings)

    assert "connection refused" in report.failed[1]
    entry = _entry()
    assert (entry.status, entry.attempts, entry.next_attempt_at) == ("failed", 1, clock.now() + timedelta(minutes=1))
    assert store.view(ticket).first_response_at is None

    smtp_server.start()
    assert send_outbox(store, settings).sent == [], "not before its next attempt is due"
    clock.advance(timedelta(minutes=1))
    assert send_outbox(store, settings).sent == [1]
    clock.advance(timedelta(hours=3))
    assert send_outbox(store, settings).sent == []
    assert len(smtp_server.received) == 1
    assert store.view(ticket).first_response_at == clock.now() - timedelta(hours=3)


def test_a_temporary_refusal_is_retried_with_growing_waits(store, ticket, settings, clock, smtp_server):
    reply(store, ticket, "we are on it")
    smtp_server.mode = "tempfail"
    waits = []
    for _ in range(3):
        clock.set(_entry().next_attempt_at or clock.now())
        assert "451" in send_outbox(store, settings).failed[1]
        waits.append(_entry().next_attempt_at - clock.now())
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]

    smtp_server.mode = "ok"
    clock.set(_entry().next_attempt_at)
    assert send_outbox(store, settings).sent == [1]
    assert (len(smtp_server.received), _entry().attempts) == (1, 4)


def test_backoff_doubles_up_to_an_hour():
    minutes = [retry_delay(n) / timedelta(minutes=1) for n in (1, 2, 3, 6, 7, 50)]
    assert minutes == [1, 2, 4, 32, 60, 60]


def test_a_wrong_password_is_said_clearly_and_tried_once_per_backoff_not_per_message(
    store, ticket, settings, clock, smtp_server
):
    for text in ("one", "two", "three"):
        reply(store, ticket, text)
    settings = replace(settings, smtp=smtp_server.server_config(password_command="printf wrong-password"))

    report = send_outbox(store, settings)

    assert len(smtp_server.logins) == 1, "one login for the whole run"
    assert sorted(report.failed) == [1, 2, 3]
    assert "refused the login for support@example.com (535" in report.failed[1]
    assert "check the password" in report.failed[1]
    for _ in range(5):  # e.g. sync --watch calling every few seconds
        clock.advance(timedelta(seconds=10))
        send_outbox(store, settings)
    assert len(smtp_server.logins) == 1
    clock.advance(timedelta(minutes=1))
    send_outbox(store, settings)
    assert len(smtp_server.logins) == 2
    assert smtp_server.received == []


def test_a_row_left_sending_by_a_crash_is_never_sent_again_on_its_own(store, ticket, settings, clock, smtp_server):
    reply(store, ticket, "we are on it")
    assert outbox.claim(store, 1, clock.now())  # ... and the process died here

    clock.advance(timedelta(minutes=1))
    assert send_outbox(store, settings).sent == []
    assert _entry().status == "sending", "young enough to belong to a process still at work"

    clock.advance(outbox.STALE_SENDING)
    report = send_outbox(store, settings)
    assert report.failed == {1: AMBIGUOUS}
    assert (_entry().status, _entry().next_attempt_at) == ("failed", None)
    clock.advance(timedelta(days=1))
    assert send_outbox(store, settings).sent == []
    assert smtp_server.received == []

    outbox.retry(store, 1)  # the user looked: it never left
    assert send_outbox(store, settings).sent == [1]
    assert len(smtp_server.received) == 1


def test_a_connection_lost_while_the_server_takes_the_message_is_not_resent(store, ticket, settings, clock, smtp_server):
    reply(store, ticket, "we are on it")
    smtp_server.mode = "drop"  # the server keeps it, but the client never hears so

    report = send_outbox(store, settings)

    assert "may or may not have been sent when the connection broke" in report.failed[1]
    smtp_server.mode = "ok"
    clock.advance(timedelta(days=1))
    assert send_outbox(store, settings).sent == []
    assert len(smtp_server.received) == 1


def test_two_senders_cannot_both_claim_a_row(store, ticket, clock):
    reply(store, ticket, "we are on it")
    assert outbox.claim(store, 1, clock.now())
    assert not outbox.claim(store, 1, clock.now())
    assert _entry().attempts == 1


def test_xoauth2_answers_the_servers_error_challenge_with_an_empty_line(store, ticket, settings, smtp_server):
    oauth = dict(auth="oauth2", password_command=None)
    reply(store, ticket, "we are on it")
    bad = replace(settings, smtp=smtp_server.server_config(oauth2_token_command="printf expired-token", **oauth))

    report = send_outbox(store, bad)

    assert "535" in report.failed[1]
    assert smtp_server.xoauth2_answers == [b""], "anything else leaves Gmail waiting"
    outbox.retry(store, 1)
    good = replace(settings, smtp=smtp_server.server_config(oauth2_token_command=f"printf {TOKEN}", **oauth))
    assert send_outbox(store, good).sent == [1]
    assert smtp_server.logins == [("XOAUTH2", USER), ("XOAUTH2", USER)]


def test_plain_smtp_is_refused_beyond_this_machine(store, ticket, settings):
    reply(store, ticket, "we are on it")
    remote = replace(settings, smtp=replace(settings.smtp, host="mail.example.com"))

    report = send_outbox(store, remote)

    assert 'security = "none" would send the password in clear to mail.example.com' in report.failed[1]


def test_without_smtp_settings_replies_wait_in_the_queue(store, ticket, settings):
    reply(store, ticket, "we are on it")

    report = send_outbox(store, replace(settings, smtp=None))

    assert report.notes == ["#1 waits: no [smtp] or support address configured"]
    assert (_entry().status, _entry().attempts) == ("queued", 0)


def test_a_subject_that_cannot_be_a_header_fails_without_retries(store, ticket, settings, clock):
    reply(store, ticket, "we are on it")
    Outbox.update(subject="Re: broken\r\nBcc: everyone@example.com").where(Outbox.id == 1).execute()

    report = send_outbox(store, settings)

    assert report.failed[1].startswith("cannot build the message")
    assert _entry().next_attempt_at is None


# --- the Sent folder (a real Dovecot) --------------------------------------------------------------


def _with_sent_folder(settings, imap_server, folder):
    return replace(settings, imap=imap_server.server_config("INBOX", sent_folder=folder))


def test_a_sent_reply_is_copied_to_the_sent_folder(store, ticket, settings, clock, dovecot):
    folder = dovecot.new_folder("Sent")
    reply(store, ticket, "we are on it")

    assert send_outbox(store, _with_sent_folder(settings, dovecot, folder)).sent == [1]

    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        [uid] = client.search(["HEADER", "Message-ID", _entry().message_id])
        assert b"\\Seen" in client.get_flags([uid])[uid]
    assert _entry().last_error is None


def test_a_failed_copy_to_sent_is_noted_but_the_reply_counts_as_sent(store, ticket, settings, smtp_server):
    reply(store, ticket, "we are on it")
    # Nothing listens on the SMTP server's TLS port for IMAP: the connection fails.
    imap = replace(settings.smtp, port=1, sent_folder="Sent", folder="INBOX")

    report = send_outbox(store, replace(settings, imap=imap))

    assert report.sent == [1] and len(smtp_server.received) == 1
    assert _entry().status == "sent"
    assert _entry().last_error.startswith("sent, but not copied to the Sent folder Sent: imap: 127.0.0.1:1")
    assert report.notes == [f"#1 {_entry().last_error}"]


def test_after_a_crash_a_reply_found_in_the_sent_folder_is_marked_sent_at_its_time(
    store, ticket, settings, clock, dovecot, smtp_server
):
    folder = dovecot.new_folder("Sent")
    [entry] = reply(store, ticket, "we are on it").outbox
    assert outbox.claim(store, entry.id, clock.now())
    left_at = clock.now() + timedelta(seconds=3)
    # It did leave, and the provider filed it in Sent (as Gmail does) before we crashed.
    dovecot.append(folder, [build_message(entry, settings, left_at).as_bytes()], when=left_at)

    clock.advance(outbox.STALE_SENDING + timedelta(minutes=1))
    report = send_outbox(store, _with_sent_folder(settings, dovecot, folder))

    assert report.sent == [1] and smtp_server.received == []
    assert (_entry().status, _entry().sent_at) == ("sent", left_at)
    assert store.view(ticket).first_response_at == left_at


def test_the_sent_folder_copy_is_the_same_message_to_the_sync(store, ticket, settings, dovecot):
    sent = dovecot.new_folder("Sent")
    imap = dovecot.server_config(dovecot.new_folder("in"), sent_folder=sent)
    reply(store, ticket, "we are on it")
    send_outbox(store, replace(settings, imap=imap))

    report = MailboxSync(store, imap).sync_once()

    assert (report.folder(sent).counts.read, report.folder(sent).counts.duplicates) == (1, 1)
    assert store.view(ticket).message_count == 2, "fetched from Sent, and known already"


# --- a relay without a login ([smtp] auth = "none") ------------------------------------------------


def _no_secret(*_):
    pytest.fail("a secret was asked for")


def _imap_only(server, label):
    return resolve_secret(server, label) if label == "imap" else _no_secret()


def test_a_relay_without_login_is_refused_until_auth_is_none(store, ticket, settings, smtp_relay):
    reply(store, ticket, "we are on it")
    settings = replace(settings, smtp=smtp_relay.server_config())

    refused = send_outbox(store, settings)

    assert "offers no login (AUTH) but username support@example.com is set" in refused.failed[1]
    assert 'A relay that needs no login: auth = "none"' in refused.failed[1]
    outbox.retry(store, 1)
    relay = replace(settings, smtp=smtp_relay.server_config(auth="none", username=None, password_command=None))
    assert send_outbox(store, relay, get_secret=_no_secret).sent == [1]
    [received] = smtp_relay.received
    assert received.mail_from == "support@example.com" and received.rcpt_tos == ("alice@acme.example",)


def test_auth_none_does_not_log_in_where_a_login_is_offered(store, ticket, settings, smtp_server):
    reply(store, ticket, "we are on it")
    relay = replace(settings, smtp=smtp_server.server_config(auth="none", username=None, password_command=None))

    assert send_outbox(store, relay, get_secret=_no_secret).sent == [1]

    assert smtp_server.logins == [] and len(smtp_server.received) == 1


def test_auth_none_may_speak_plain_smtp_beyond_this_machine(store, ticket, settings):
    """No password travels, so a relay on the network is tried (and here not found), not refused."""
    reply(store, ticket, "we are on it")
    relay = replace(settings, smtp=replace(settings.smtp, host="relay.invalid", auth="none", username=None))

    report = send_outbox(store, relay, get_secret=_no_secret)

    assert report.failed[1].startswith("smtp: relay.invalid:") and "cannot find the host" in report.failed[1]


# --- a sending command ([smtp] command, sendmail-compatible) ---------------------------------------

# Each run keeps what it was given: the message from standard input, its arguments one a line.
KEEPS_THE_MESSAGE = 'cat > "$1/$$.eml" && printf "%s\\n" "$@" > "$1/$$.args"'


def _script(path, body):
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def _runs(folder):
    """What each run of the command was given: (message, arguments)."""
    return [
        (eml.read_bytes(), eml.with_suffix(".args").read_text().splitlines()) for eml in sorted(folder.glob("*.eml"))
    ]


@pytest.fixture
def runs(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    return folder


def _through(store, *command, timeout=10.0):
    return replace(store.config, smtp=SendCommand(tuple(str(word) for word in command), timeout))


def test_a_command_gets_the_message_on_standard_input_once_and_sent_keeps_a_copy(
    store, ticket, clock, tmp_path, runs, dovecot
):
    sendmail = _script(tmp_path / "sendmail", KEEPS_THE_MESSAGE)
    folder = dovecot.new_folder("Sent")
    # Words, never a shell: the semicolon is an argument like any other.
    imap = dovecot.server_config("INBOX", sent_folder=folder)
    settings = replace(_through(store, sendmail, runs, ";", "two words"), imap=imap)
    [queued] = reply(store, ticket, "Hallo Jürgen — we are on it.\n").outbox

    report = send_outbox(store, settings, get_secret=_imap_only)

    assert report.sent == [1] and not report.failed and not report.notes
    [(raw, arguments)] = _runs(runs)
    assert arguments == [str(runs), ";", "two words"], "nothing added: the recipients are in the headers"
    message = _parsed(raw)
    assert (message["To"], message["Subject"]) == ("alice@acme.example", "Re: Search is down [#1]")
    assert message["Message-ID"] == f"<{queued.message_id}>"
    assert (_entry().status, _entry().sent_at) == ("sent", clock.now())
    assert store.view(ticket).first_response_at == clock.now()
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        [uid] = client.search(["HEADER", "Message-ID", queued.message_id])
        copy = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
    assert b"\r" not in raw and copy == raw.replace(b"\n", b"\r\n"), "the same message, in Unix line endings"
    clock.advance(timedelta(days=1))
    assert send_outbox(store, settings).sent == []
    assert len(_runs(runs)) == 1


def test_a_command_that_exits_non_zero_is_a_failed_send_with_its_stderr(store, ticket, clock, tmp_path, runs):
    sendmail = tmp_path / "sendmail"
    _script(sendmail, 'printf "sendmail: \\033[31maccount default not found\\n" >&2; exit 3')
    reply(store, ticket, "we are on it")

    report = send_outbox(store, _through(store, sendmail, runs), get_secret=_no_secret)

    assert report.failed == {1: f"smtp command: {sendmail} exited with status 3: sendmail: account default not found"}
    assert (_entry().status, _entry().next_attempt_at) == ("failed", clock.now() + timedelta(minutes=1))
    _script(sendmail, KEEPS_THE_MESSAGE)  # the account fixed
    clock.advance(timedelta(minutes=1))
    assert send_outbox(store, _through(store, sendmail, runs)).sent == [1]
    assert len(_runs(runs)) == 1


def test_a_command_that_cannot_run_is_one_line_and_the_reply_waits(store, ticket, clock, tmp_path, runs):
    sendmail = tmp_path / "bin" / "sendmail"
    settings = _through(store, sendmail, runs)
    reply(store, ticket, "we are on it")

    missing = send_outbox(store, settings, get_secret=_no_secret)

    assert missing.failed == {1: f"smtp command: cannot run {sendmail}: No such file or directory"}
    sendmail.parent.mkdir()
    _script(sendmail, KEEPS_THE_MESSAGE).chmod(0o644)
    outbox.retry(store, 1)
    assert send_outbox(store, settings).failed == {1: f"smtp command: cannot run {sendmail}: Permission denied"}
    assert (_entry().status, _entry().attempts) == ("failed", 2)

    sendmail.chmod(0o755)
    outbox.retry(store, 1)
    assert send_outbox(store, settings).sent == [1]
    assert len(_runs(runs)) == 1


@pytest.mark.parametrize(
    ("ending", "when"),
    [
        ("exec sleep 30", "did not finish within 0.5 s"),
        ("kill -9 $$", "was killed by signal 9"),
    ],
)
def test_a_command_that_stops_midway_may_have_sent_and_is_not_sent_again(
    store, ticket, clock, tmp_path, runs, ending, when
):
    sendmail = _script(tmp_path / "sendmail", f"{KEEPS_THE_MESSAGE}; {ending}")
    settings = _through(store, sendmail, runs, timeout=0.5)
    reply(store, ticket, "we are on it")

    report = send_outbox(store, settings)

    assert report.failed == {
        1: f"may or may not have been sent when {sendmail} {when}; check your Sent folder, then retry or discard"
    }
    assert (_entry().status, _entry().next_attempt_at) == ("failed", None)
    clock.advance(timedelta(days=1))
    assert send_outbox(store, settings).sent == []
    assert len(_runs(runs)) == 1
