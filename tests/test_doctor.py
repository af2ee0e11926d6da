"""`frontdesk doctor`, `init` and `outbox` end to end through main(), against a real Dovecot and a
real SMTP server."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import keyring
import mailserver
import pytest
import smtpserver
from mailserver import PASSWORD as IMAP_PASSWORD
from mailserver import _free_port
from test_credentials import MemoryKeyring

from frontdesk.storage.config import SendCommand, load_config
from frontdesk.tui.cli import main

from conftest import CONFIG_TOML, NOW

# The fixtures live in mailserver.py and smtpserver.py; pytest finds them by these names.
dovecot = mailserver.dovecot
smtp_server = smtpserver.smtp_server
smtp_relay = smtpserver.smtp_relay

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(tmp_path, monkeypatch, capsys) -> Run:
    """`frontdesk --db … --config CONFIG ARGS` → (status, stdout, stderr)."""
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "200")

    def invoke(config: Path, *args: str) -> tuple[int, str, str]:
        status = main(["--db", str(tmp_path / "t.db"), "--config", str(config), *args])
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def _config(tmp_path: Path, *sections: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML + "\n".join(sections), encoding="utf-8")
    return path


def _imap(server, folder: str = "INBOX", **values: object) -> str:
    table = {"host": server.host, "port": server.imap_port, "security": "none", "folder": folder,
             "password_command": f"printf {IMAP_PASSWORD}", **values}  # a value None leaves the key out
    return "[imap]\n" + "".join(
        f"{key} = {value!r}\n".replace("'", '"') for key, value in table.items() if value is not None
    )


def _smtp(server, **values: object) -> str:
    table = {"host": server.host, "port": server.port, "security": "none",
             "password_command": f"printf {server.password}", **values}  # a value None leaves the key out
    return "[smtp]\n" + "".join(
        f"{key} = {value!r}\n".replace("'", '"') for key, value in table.items() if value is not None
    )


def _lines(out: str) -> dict[str, str]:
    """check name -> its whole line, from doctor's `STATUS NAME DETAIL` lines."""
    return {line[5:23].strip(): line for line in out.splitlines() if line.strip()}


# --- doctor -------------------------------------------------------------------------------------


def test_doctor_passes_against_real_servers(tmp_path, run, dovecot, smtp_server):
    sent = dovecot.new_folder("Sent")
    config = _config(tmp_path, _imap(dovecot, sent_folder=sent), _smtp(smtp_server))

    status, out, _ = run(config, "doctor")

    lines = _lines(out)
    assert status == 0, out
    assert lines["config"].startswith("ok") and str(config) in lines["config"]
    assert lines["database"].startswith("skip") and lines["outbox"].startswith("skip")  # no database yet
    assert lines["time zone"].startswith("ok") and "business hours in UTC" in lines["time zone"]
    assert lines["imap credentials"].startswith(f"ok   imap credentials  password from `printf {IMAP_PASSWORD}`")
    assert lines["imap login"].startswith("ok")
    assert "IDLE UIDPLUS CONDSTORE" in lines["imap capabilities"]
    assert lines["imap folders"].startswith("ok") and f"INBOX, {sent}" in lines["imap folders"]
    assert lines["smtp login"].startswith("ok")
    assert lines["hand-off webhook"].startswith("skip")


def test_doctor_skips_what_is_not_configured(tmp_path, run):
    status, out, _ = run(_config(tmp_path), "doctor")

    lines = _lines(out)
    assert status == 0
    assert lines["imap credentials"].startswith("skip") and "run `frontdesk init`" in lines["imap credentials"]
    assert lines["imap login"].startswith("skip") and lines["smtp login"].startswith("skip")


def test_doctor_says_what_to_fix_when_servers_fail(tmp_path, run, dovecot, smtp_server):
    closed = _free_port()
    config = _config(
        tmp_path,
        _imap(dovecot, port=closed),
        _smtp(smtp_server, password_command="printf wrong"),
    )
    smtp_server.logins.clear()

    status, out, _ = run(config, "doctor")

    lines = _lines(out)
    assert status == 1
    assert lines["imap login"].startswith("FAIL") and f"127.0.0.1:{closed}: connection refused" in lines["imap login"]
    assert "is the server up" in lines["imap login"]
    assert lines["smtp login"].startswith("FAIL") and "refused the login for support@example.com (535" in lines["smtp login"]
    assert len(smtp_server.logins) == 1


def test_doctor_names_missing_folders_and_failing_credentials(tmp_path, run, dovecot, smtp_server):
    config = _config(
        tmp_path,
        _imap(dovecot, sent_folder="No Such Folder"),
        _smtp(smtp_server, password_command="false"),
    )

    status, out, _ = run(config, "doctor")

    lines = _lines(out)
    assert status == 1
    assert lines["imap folders"].startswith("FAIL") and "not on the server: No Such Folder (it has: " in lines["imap folders"]
    assert lines["smtp credentials"].startswith("FAIL") and "`false` failed with exit status 1" in lines["smtp credentials"]
    assert lines["smtp login"].startswith("skip")


def test_doctor_without_a_config_file_says_to_run_init(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "nowhere"))
    monkeypatch.delenv("FRONTDESK_CONFIG", raising=False)
    monkeypatch.delenv("FRONTDESK_SYSTEM_CONFIG", raising=False)  # and no system file either

    status = main(["--db", str(tmp_path / "t.db"), "doctor"])

    lines = _lines(capsys.readouterr().out)
    assert status == 1
    assert lines["config"].startswith("FAIL") and lines["config"].endswith("run `frontdesk init`")


def test_doctor_reports_a_broken_config_file(tmp_path, run):
    config = tmp_path / "config.toml"
    config.write_text("[smtp]\nhost = 25\n")

    status, out, _ = run(config, "doctor")

    assert status == 1
    assert out.strip() == (
        f"FAIL config            {config}: smtp.host: expected a string, got the number 25: "
        "fix it, or write a new one with `frontdesk init --force`"
    )


def test_doctor_reports_failed_outbox_messages(tmp_path, run, mail, smtp_server):
    config = _config(tmp_path, _smtp(smtp_server))
    (tmp_path / "1.eml").write_bytes(mail())
    run(config, "import", str(tmp_path / "1.eml"))
    (tmp_path / "reply.txt").write_text("on it")
    run(config, "reply", "1", "--body-file", str(tmp_path / "reply.txt"))
    smtp_server.stop()
    assert run(config, "outbox", "send")[0] == 1

    lines = _lines(run(config, "doctor")[1])

    assert lines["database"].startswith("ok") and "WAL" in lines["database"]
    assert lines["outbox"].startswith("FAIL") and "1 message(s) failed: see `frontdesk outbox`" in lines["outbox"]


def test_doctor_shows_where_each_value_came_from(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FRONTDESK_NOW", NOW.isoformat())
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("USER", "sam")
    db = tmp_path / "srv" / "tickets.db"
    system = tmp_path / "system.toml"
    system.write_text(
        '[support]\naddress = "support@example.com"\n'
        f'[database]\npath = "{db}"\n'
        '[[owners]]\nname = "Sam Ortiz"\nemail = "sam@example.com"\nunix_user = "sam"\n'
    )
    user = tmp_path / "user.toml"
    user.write_text('[business_hours]\ntimezone = "Europe/Berlin"\n')
    monkeypatch.setenv("FRONTDESK_SYSTEM_CONFIG", str(system))

    status = main(["--config", str(user), "doctor"])

    lines = _lines(capsys.readouterr().out)
    assert status == 0
    assert lines["config"] == (
        f"ok   config            system file {system}; --config file {user} (support address support@example.com)"
    )
    assert lines["support.address"] == f"from support.address   support@example.com (system file {system})"
    assert lines["database.path"] == f"from database.path     {db} (system file {system})"
    assert lines["owners"] == f"from owners            1 (system file {system})"
    assert lines["me"] == (
        f"from me                Sam Ortiz <sam@example.com> ([[owners]] entry with unix_user = 'sam', system file {system})"
    )
    assert lines["db permissions"].startswith("skip") and "made 0600 for you" in lines["db permissions"]
    assert lines["database"] == f"skip database          none yet at {db} (the first import or sync makes it)"

    user.write_text('[me]\nname = "Samuel Ortiz"\n')
    main(["--config", str(user), "doctor"])
    assert _lines(capsys.readouterr().out)["me"] == f"from me                Samuel Ortiz (--config file {user})"


def test_doctor_says_how_to_say_who_you_are(tmp_path, run):
    config = tmp_path / "config.toml"
    config.write_text('[support]\naddress = "support@example.com"\n')

    status, out, _ = run(config, "doctor")

    assert status == 1
    assert _lines(out)["me"].startswith(f'FAIL me                nobody: add [me] with name = "Your Name" and email = "you@example.com" to {config}')


def test_doctor_reports_a_database_others_can_read(tmp_path, run):
    config = _config(tmp_path)
    db = tmp_path / "t.db"
    run(config, "list")  # makes the database, 0600
    assert _lines(run(config, "doctor")[1])["db permissions"] == "ok   db permissions    0600: readable by you only"
    db.chmod(0o644)

    status, out, err = run(config, "doctor")

    assert status == 1
    assert _lines(out)["db permissions"] == (
        f"FAIL db permissions    {db} is 0644 (expected 0600): other users can read customer mail; "
        f"fix: `chmod 0600 {db}` (frontdesk does it itself when the owner opens it)"
    )
    assert err == f"frontdesk: tightened {db} from 0644 to 0600: customer mail must not be readable by other users\n"
    assert run(config, "doctor")[0] == 0


def test_doctor_reaches_a_postgresql_database(tmp_path, monkeypatch, capsys, postgres_server):
    monkeypatch.setenv("COLUMNS", "300")
    url = postgres_server.new_database()
    name = url.rsplit("/", 1)[1]
    user = f"rep_{name}"
    postgres_server.add_password_user(user, "s3cret-pw")
    with postgres_server.admin() as admin:
        admin.execute(f"ALTER DATABASE {name} OWNER TO {user}")
    rep_url = url.replace("frontdesk@", f"{user}@")

    def doctor(password_command: str) -> tuple[int, dict[str, str], str]:
        config = _config(tmp_path, f'[database]\nurl = "{rep_url}"\npassword_command = "{password_command}"\n')
        status = main(["--config", str(config), "doctor"])
        out, err = capsys.readouterr()
        return status, _lines(out), out + err

    status, lines, _ = doctor("printf s3cret-pw")
    assert lines["database.url"].startswith(f"from database.url      {rep_url} (--config file ")
    assert lines["database"].startswith(f"ok   database          {rep_url} ")
    assert "(PostgreSQL, schema " in lines["database"]
    assert "db permissions" not in lines
    assert status == 0

    status, lines, everything = doctor("printf wrong-pw")
    assert status == 1
    assert lines["database"].startswith(f"FAIL database          cannot use the database postgresql://{user}@127.0.0.1:")
    assert "refused the password" in lines["database"]
    assert "wrong-pw" not in everything and "s3cret-pw" not in everything


def test_doctor_names_an_unreachable_postgresql_server(tmp_path, run):
    closed = _free_port()

    status, out, _ = run(_config(tmp_path), "--db", f"postgresql://fd@127.0.0.1:{closed}/frontdesk", "doctor")

    assert status == 1
    assert _lines(out)["database"] == (
        f"FAIL database          cannot use the database postgresql://fd@127.0.0.1:{closed}/frontdesk: nothing answers "
        "there: check the host and port, and that PostgreSQL is running and reachable"
    )


# --- init ---------------------------------------------------------------------------------------


@pytest.fixture
def oauth_dovecot(request):
    """A Dovecot of the test's own offering the OAuth mechanisms in request.param."""
    yield from mailserver.running_dovecot(f"plain login {request.param}")


@pytest.mark.parametrize(
    ("oauth_dovecot", "mechanism"),
    [("oauthbearer", "OAUTHBEARER"), ("oauthbearer xoauth2", "OAUTHBEARER"), ("xoauth2", "XOAUTH2")],
    indirect=["oauth_dovecot"],
)
def test_doctor_logs_in_with_the_oauth_mechanism_sync_uses(tmp_path, run, mail, oauth_dovecot, mechanism):
    folder = oauth_dovecot.new_folder()
    oauth_dovecot.append(folder, [mail()])
    token = f"printf {IMAP_PASSWORD}"  # this Dovecot takes the password as the bearer token
    imap = _imap(oauth_dovecot, folder, auth="oauth2", oauth2_token_command=token, password_command=None)
    config = _config(tmp_path, imap)
    before = len(oauth_dovecot.login_methods())  # the fixture's own PLAIN logins

    doctor_status, out, _ = run(config, "doctor")
    sync_status, synced, err = run(config, "sync")

    assert _lines(out)["imap login"].startswith("ok"), out
    assert (doctor_status, sync_status) == (0, 0), err
    assert "1 fetched" in synced
    assert oauth_dovecot.login_methods()[before:] == [mechanism, mechanism]


def test_a_refused_imap_login_reads_the_same_in_doctor_sync_and_the_sent_copy(tmp_path, run, mail, dovecot, smtp_server):
    sent = dovecot.new_folder("Sent")
    config = _config(tmp_path, _imap(dovecot, sent_folder=sent, password_command="printf wrong"), _smtp(smtp_server))
    refusals = dovecot.failed_logins()

    doctor = _lines(run(config, "doctor")[1])["imap login"]
    (tmp_path / "1.eml").write_bytes(mail())
    run(config, "import", str(tmp_path / "1.eml"))
    (tmp_path / "reply.txt").write_text("on it")
    run(config, "reply", "1", "--body-file", str(tmp_path / "reply.txt"))
    send_status, _, send_err = run(config, "outbox", "send")
    sync_status, _, sync_err = run(config, "sync")

    assert doctor.startswith("FAIL")
    said = doctor[23:]
    assert said.startswith(f"imap: 127.0.0.1:{dovecot.imap_port} refused the login for support@example.com (")
    assert "[AUTHENTICATIONFAILED]" in said and said.endswith("check the password from `printf wrong`")
    assert send_status == 0 and f"outbox #1 sent, but not copied to the Sent folder {sent}: {said}\n" in send_err
    assert (sync_status, sync_err) == (1, f"frontdesk: {said}\n")
    assert dovecot.failed_logins() == refusals + 3, "one try each: a refusal is not retried"


def _init_flags(imap, smtp, source: str) -> list[str]:
    smtp_flags = ["--smtp-host", smtp.host, "--smtp-port", str(smtp.port), "--smtp-security", "none"]
    return _init_imap_flags(imap, source) + smtp_flags


def _init_imap_flags(imap, source: str) -> list[str]:
    return [
        "init", "--address", "support@example.com", "--display-name", "Example Support",
        "--imap-host", imap.host, "--imap-port", str(imap.imap_port), "--imap-security", "none",
        "--secret-source", source,
    ]


def test_init_tries_both_logins_then_writes_a_config_without_secrets(tmp_path, run, dovecot, smtp_server):
    target = tmp_path / "new" / "config.toml"
    flags = _init_flags(dovecot, smtp_server, f"password-command:printf {IMAP_PASSWORD}")

    status, out, err = run(target, *flags)

    assert status == 1 and not target.exists(), "the SMTP server wants another password: nothing written"
    assert "smtp login: smtp: 127.0.0.1" in err and "refused the login" in err and "nothing written" in err

    smtp_server.password = IMAP_PASSWORD  # one mailbox, one password
    status, out, err = run(target, *flags)
    assert status == 0, err
    assert f"Wrote {target}" in out
    config = load_config(target)
    assert (config.support.address, config.support.display_name) == ("support@example.com", "Example Support")
    assert (config.imap.port, config.imap.security, config.imap.folder) == (dovecot.imap_port, "none", "INBOX")
    assert config.smtp.password_command == f"printf {IMAP_PASSWORD}"
    assert "username" not in target.read_text(), "it defaults to the address"

    status, _, err = run(target, *flags)
    assert status == 1 and "exists: use --force" in err
    assert run(target, *flags, "--force")[0] == 0


def test_init_keeps_a_typed_password_in_the_keyring_not_the_file(tmp_path, run, dovecot, smtp_server, monkeypatch):
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        smtp_server.password = IMAP_PASSWORD
        monkeypatch.setattr("sys.stdin", io.StringIO(IMAP_PASSWORD + "\n"))
        target = tmp_path / "config.toml"

        status, out, err = run(target, *_init_flags(dovecot, smtp_server, "keyring"), "--sent-folder", "Sent")

        assert status == 0, err
        assert memory.passwords == {("frontdesk", "support@example.com"): IMAP_PASSWORD}
        text = target.read_text()
        assert IMAP_PASSWORD not in text and "password_command =" not in text
        assert load_config(target).imap.sent_folder == "Sent"
    finally:
        keyring.set_keyring(previous)


def test_init_asks_when_no_flags_are_given(tmp_path, run, monkeypatch):
    answers = iter(["support@acme.example", "", "", "starttls", "", "mail.acme.example", "", "", "", "",
                    "password-command:pass show support"])
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda question: asked.append(question) or next(answers))
    target = tmp_path / "config.toml"

    status, _, err = run(target, "init", "--no-check")

    assert status == 0, err
    config = load_config(target)
    assert asked[0] == "Support address (e.g. support@example.com): "
    assert (config.imap.host, config.imap.security, config.imap.port) == ("imap.acme.example", "starttls", 143)
    assert (config.smtp.host, config.smtp.security, config.smtp.port) == ("mail.acme.example", "tls", 465)
    assert config.imap.sent_folder == "Sent" and config.support.display_name == "Support"
    assert config.imap.password_command == "pass show support"


def test_init_with_flags_needs_them_all(tmp_path, run):
    status, _, err = run(tmp_path / "c.toml", "init", "--address", "support@example.com", "--imap-host", "x")
    assert status == 2 and "with --address, also give --smtp-host --secret-source" in err


# --- outbox -------------------------------------------------------------------------------------


def test_outbox_lists_sends_retries_and_discards(tmp_path, run, mail, smtp_server):
    config = _config(tmp_path, _smtp(smtp_server))
    (tmp_path / "1.eml").write_bytes(mail())
    run(config, "import", str(tmp_path / "1.eml"))
    (tmp_path / "reply.txt").write_text("on it")
    for _ in range(2):
        run(config, "reply", "1", "--body-file", str(tmp_path / "reply.txt"))
    assert "The outbox is empty" not in run(config, "outbox")[1]

    smtp_server.stop()
    status, _, err = run(config, "outbox", "send")
    assert status == 1 and "outbox #1 not sent: smtp: 127.0.0.1" in err and "connection refused" in err
    status, out, _ = run(config, "outbox")
    assert out.count("failed") == 2 and "connection refused" in out

    smtp_server.start()
    assert run(config, "outbox", "discard", "2")[0] == 0
    assert run(config, "outbox", "retry", "1")[1].startswith("Outbox #1 is queued again")
    status, out, _ = run(config, "outbox", "send")
    assert (status, out.strip()) == (0, "Sent 1: #1")
    assert len(smtp_server.received) == 1

    status, _, err = run(config, "outbox", "retry", "1")
    assert status == 1 and "outbox #1 is sent; only a failed one can be retried" in err
    status, out, _ = run(config, "show", "1")
    assert "an unsent message was discarded from the outbox" in out


# --- a relay without a login, a sending command --------------------------------------------------


def test_doctor_checks_that_a_relay_without_login_answers(tmp_path, run, smtp_relay):
    config = _config(tmp_path, _smtp(smtp_relay, auth="none", password_command=None))

    status, out, _ = run(config, "doctor")

    lines = _lines(out)
    assert status == 0, out
    assert lines["smtp credentials"] == 'skip smtp credentials  none needed: auth = "none"'
    assert lines["smtp relay"] == (
        f'ok   smtp relay        127.0.0.1:{smtp_relay.port} (none) answers EHLO; no login (auth = "none")'
    )
    smtp_relay.stop()
    status, out, _ = run(config, "doctor")
    assert status == 1 and "connection refused" in _lines(out)["smtp relay"]


def _sendmail(path: Path, mode: int = 0o755) -> Path:
    """A sendmail that keeps each message it is given next to itself."""
    path.write_text('#!/bin/sh\ncat >> "$0.sent"\n', encoding="utf-8")
    path.chmod(mode)
    return path


def test_doctor_finds_the_sending_command_without_running_it_and_sync_sends_through_it(tmp_path, run, mail):
    sendmail = _sendmail(tmp_path / "sendmail")
    config = _config(tmp_path, f'[smtp]\ncommand = "{sendmail} -t -i"\n')

    status, out, _ = run(config, "doctor")

    lines = _lines(out)
    assert status == 0, out
    assert lines["smtp.command"] == f"from smtp.command      {sendmail} -t -i (--config file {config})"
    assert lines["smtp credentials"] == f"skip smtp credentials  none needed: `{sendmail} -t -i` sends the mail"
    assert lines["smtp command"] == f"ok   smtp command      {sendmail} is there and executable (not run: it would send mail)"
    assert not Path(f"{sendmail}.sent").exists()

    (tmp_path / "1.eml").write_bytes(mail())
    (tmp_path / "reply.txt").write_text("on it")
    run(config, "import", str(tmp_path / "1.eml"))
    run(config, "reply", "1", "--body-file", str(tmp_path / "reply.txt"))
    assert run(config, "outbox", "send")[1].strip() == "Sent 1: #1"
    assert Path(f"{sendmail}.sent").read_bytes().count(b"\nSubject: Re: ") == 1


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("{tmp}/sendmail -t", "{tmp}/sendmail is not executable: `chmod +x {tmp}/sendmail`, or fix [smtp] command"),
        ("{tmp}/bin/msmtp -t", "{tmp}/bin/msmtp not found: install it, or fix [smtp] command"),
        ("no-such-msmtp -t", "no-such-msmtp not found on PATH: install it, or fix [smtp] command"),
    ],
)
def test_doctor_says_what_is_wrong_with_the_sending_command(tmp_path, run, command, said):
    _sendmail(tmp_path / "sendmail", mode=0o644)
    config = _config(tmp_path, f'[smtp]\ncommand = "{command.format(tmp=tmp_path)}"\n')

    status, out, _ = run(config, "doctor")

    assert status == 1
    assert _lines(out)["smtp command"] == f"FAIL smtp command      {said.format(tmp=tmp_path)}"


def test_init_writes_a_sending_command_after_finding_it(tmp_path, run, dovecot):
    target = tmp_path / "new.toml"
    flags = _init_imap_flags(dovecot, f"password-command:printf {IMAP_PASSWORD}")

    status, _, err = run(target, *flags, "--smtp-command", f"{tmp_path}/sendmail -t")

    assert status == 1 and not target.exists()
    assert f"smtp command: {tmp_path}/sendmail not found: install it, or fix [smtp] command" in err
    _sendmail(tmp_path / "sendmail")
    assert run(target, *flags, "--smtp-command", f"{tmp_path}/sendmail -t")[0] == 0
    assert load_config(target).smtp == SendCommand((f"{tmp_path}/sendmail", "-t"))
    assert "[smtp]\ncommand = " in target.read_text()
    status, _, err = run(target, *flags, "--force", "--smtp-command", "sendmail -t", "--smtp-host", "x")
    assert status == 2 and "--smtp-command sends without an SMTP server: leave out --smtp-host" in err


def test_init_writes_a_relay_without_login(tmp_path, run, dovecot, smtp_relay):
    target = tmp_path / "new.toml"

    status, _, err = run(target, *_init_flags(dovecot, smtp_relay, f"password-command:printf {IMAP_PASSWORD}"),
                         "--smtp-no-login")

    assert status == 0, err
    smtp = load_config(target).smtp
    assert (smtp.host, smtp.port, smtp.auth, smtp.username, smtp.password_command) == (
        "127.0.0.1", smtp_relay.port, "none", None, None
    )


def test_doctor_names_a_key_clash_and_a_snippet_file_it_cannot_read(tmp_path, run):
    folder = tmp_path / "snippets"
    folder.mkdir()
    (folder / "fixed.md").write_text("# Fixed\n\nFixed in 4.2.\n", encoding="utf-8")
    (folder / "merci.md").write_bytes("Merci, caf\xe9.\n".encode("latin-1"))
    config = _config(tmp_path, '[keys]\nresolve = "r"\n')
    config.write_text(config.read_text().replace("[support]\n", f'[support]\nsnippets_dir = "{folder}"\n'))
    status, out, _ = run(config, "doctor")
    lines = {line.split()[1]: line for line in out.splitlines() if line.split()[:1] == ["FAIL"]}
    assert status == 1
    assert lines["keys"].endswith(f'{config}: [keys] resolve = "r" clashes with reply (r)')
    assert lines["snippets"].endswith(f"{folder}: merci.md: not UTF-8 text at line 1: skipped (save it as UTF-8)")
