"""The mailbox verbs of the command line: `init` writes the config, `doctor` checks the setup,
`outbox` shows, sends, retries and discards what waits to go out.

tui/cli.py wires them in with add_account_verbs; the handlers take its Context, described here
by a Protocol so that mail/ never imports tui/.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from rich.console import Console
from rich.table import Table
from rich.text import Text

from frontdesk.storage import files, outbox
from frontdesk.storage.clock import Clock
from frontdesk.storage.config import (
    ENV_VAR,
    Config,
    ConfigError,
    SendCommand,
    ServerConfig,
    default_config_path,
    load_config,
    unix_user,
)
from frontdesk.storage.database import database_target, default_database_path, describe, is_url, shared_group
from frontdesk.storage.files import make_folder, write_private
from frontdesk.storage.lease import Lease, keeping
from frontdesk.storage.migrations import SCHEMA_VERSION, schema_version
from frontdesk.storage.snippets import load_snippet_dir
from frontdesk.storage.store import Store, StoreError
from frontdesk.storage.views import iso

# The mail modules (keyring, imapclient, ...) load inside the verbs that use them: tui/cli.py
# imports this module for every start of the inbox.
if TYPE_CHECKING:
    from imapclient import IMAPClient

    from .credentials import Secret
    from .smtp_send import SendReport

Handler = Callable[["CliContext"], int]
CAPABILITIES = ("IDLE", "UIDPLUS", "CONDSTORE")


class CliContext(Protocol):
    args: argparse.Namespace
    out: Console
    err: Console
    clock: Clock
    config: Config

    @property
    def store(self) -> Store: ...

    def check_keys(self) -> None:
        """[keys] and [[macros]] against the inbox's actions; ConfigError says what is wrong."""


def add_account_verbs(verb: Callable[[str, Handler, str], argparse.ArgumentParser]) -> None:
    """Add `init`, `doctor` and `outbox` through tui/cli.py's verb(name, handler, help)."""
    init = verb("init", cmd_init, "Set up the mailbox: asks, tries both logins, writes the config file.")
    init.add_argument("--address", help="the support address (given: no questions asked)")
    init.add_argument("--display-name", default="Support", help="the name replies come from")
    for protocol in ("imap", "smtp"):
        init.add_argument(f"--{protocol}-host", metavar="HOST")
        init.add_argument(f"--{protocol}-port", type=int, metavar="PORT", help="default: by security")
        init.add_argument(f"--{protocol}-security", choices=("tls", "starttls", "none"), default="tls")
    init.add_argument(
        "--smtp-no-login", action="store_true", help='the SMTP server is a relay that needs no login (auth = "none")'
    )
    init.add_argument(
        "--smtp-command", metavar="CMD",
        help="instead of an SMTP server: a sendmail-compatible program given the message on standard input, "
        "e.g. 'msmtp --read-envelope-from -t'",
    )
    init.add_argument("--username", help="the login for both servers (default: the support address)")
    init.add_argument("--sent-folder", help="IMAP folder that keeps a copy of each reply, e.g. Sent")
    init.add_argument(
        "--secret-source", metavar="SOURCE", type=_secret_source,
        help="keyring (the password is read from standard input), password-command:CMD or oauth2-command:CMD",
    )
    init.add_argument("--no-check", action="store_true", help="write the config without trying the logins")
    init.add_argument("--force", action="store_true", help="overwrite an existing config file")

    verb("doctor", cmd_doctor, "Check the config, credentials, servers, database and time zone; says what to fix.")

    box = verb("outbox", cmd_outbox_list, "Show what waits to be sent; send, retry or discard it.")
    actions = box.add_subparsers(dest="outbox_action", metavar="ACTION")
    actions.add_parser("send", help="send what is due now").set_defaults(handler=cmd_outbox_send)
    for name, handler, help_text in (
        ("retry", cmd_outbox_retry, "send a failed message again"),
        ("discard", cmd_outbox_discard, "drop a queued or failed message for good"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.add_argument("entry", type=int, metavar="ID", help="the outbox number (first column of `frontdesk outbox`)")
        action.set_defaults(handler=handler)


# --- outbox -------------------------------------------------------------------------------------


def cmd_outbox_list(ctx: CliContext) -> int:
    entries = ctx.store.outbox()
    if not entries:
        ctx.out.print(Text("The outbox is empty.", style="dim"))
        return 0
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("#", "ticket", "kind", "to", "status", "tries", "when", "last error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        when = entry.sent_at or entry.next_attempt_at
        table.add_row(
            str(entry.id), f"#{entry.ticket_id}", Text(entry.kind), Text(", ".join(entry.to_addrs) or "-"),
            Text(entry.status), str(entry.attempts), iso(when) or "-", Text(entry.last_error or ""),
        )
    ctx.out.print(table)
    return 0


def cmd_outbox_send(ctx: CliContext) -> int:
    """Only the process holding the mailbox lease sends: when another one does, say so instead."""
    from .smtp_send import send_outbox
    from .worker import describe_holder, wait_for_lease

    lease = Lease(ctx.store)
    holder = wait_for_lease(lease)
    if holder is not None:
        ctx.out.print(Text(f"The outbox is sent by {describe_holder(holder)}; what is due goes out from there."))
        return 0
    with keeping(lease):
        return print_report(ctx, send_outbox(ctx.store))


def print_report(ctx: CliContext, report: SendReport) -> int:
    """Sent ones on stdout; failures and notes on stderr; status 1 if anything failed."""
    if report.sent:
        ctx.out.print(Text(f"Sent {len(report.sent)}: " + ", ".join(f"#{i}" for i in report.sent)))
    for entry_id, error in report.failed.items():
        _warn(ctx, f"outbox #{entry_id} not sent: {error}")
    for note in report.notes:
        _warn(ctx, f"outbox {note}")
    if not (report.sent or report.failed or report.notes):
        ctx.out.print(Text("Nothing due to send.", style="dim"))
    return 1 if report.failed else 0


def cmd_outbox_retry(ctx: CliContext) -> int:
    entry = outbox.retry(ctx.store, ctx.args.entry)
    ctx.out.print(Text(f"Outbox #{entry.id} is queued again: `frontdesk outbox send` (or sync) sends it."))
    return 0


def cmd_outbox_discard(ctx: CliContext) -> int:
    entry = outbox.discard(ctx.store, ctx.args.entry)
    ctx.out.print(Text(f"Outbox #{entry.id} ({entry.kind} to {', '.join(entry.to_addrs) or 'the webhook'}) discarded."))
    return 0


# --- doctor -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    status: str  # "ok" | "FAIL" | "skip"
    name: str
    detail: str


def cmd_doctor(ctx: CliContext) -> int:
    failed = False
    for check in doctor_checks(ctx):
        failed |= check.status == "FAIL"
        style = {"ok": "green", "FAIL": "bold red", "skip": "dim", "from": "cyan"}[check.status]
        ctx.out.print(Text.assemble((f"{check.status:<5}", style), f"{check.name:<18}", check.detail))
    return 1 if failed else 0


def doctor_checks(ctx: CliContext) -> Iterator[Check]:
    try:
        config = ctx.config
    except ConfigError as error:
        yield Check("FAIL", "config", f"{error}: fix it, or write a new one with `frontdesk init --force`")
        return  # everything else depends on it
    yield _config_check(config)
    yield _keys_check(ctx)
    yield _snippets_check(config.support.snippets_dir)
    yield from _origin_checks(config)
    target = database_target(ctx.args.db, config)
    if not is_url(target):
        yield _permissions_check(Path(target), shared_group(target, config))
    database = _database_check(ctx, target)
    yield database
    yield _outbox_check(ctx, database)
    yield _timezone_check(config, ctx.clock)
    secrets: dict[str, Secret | None] = {}
    for label in ("imap", "smtp"):
        check, secrets[label] = _credential_check(label, getattr(config, label))
        yield check
    yield from _imap_checks(config.imap, secrets["imap"])
    yield _smtp_check(config.smtp, secrets["smtp"])
    yield _webhook_check(config)


def _config_check(config: Config) -> Check:
    if not config.layers:
        return Check("FAIL", "config", f"no config file at {default_config_path()}: run `frontdesk init`")
    files = "; ".join(str(layer) for layer in config.layers)
    if not config.support.address:
        return Check("FAIL", "config", f"{files}: no address under [support]")
    return Check("ok", "config", f"{files} (support address {config.support.address})")


def _origin_checks(config: Config) -> Iterator[Check]:
    """The main settings and the file each came from ("from" lines: information, never a failure)."""
    for key, value in (
        ("support.address", config.support.address),
        ("imap.host", config.imap and config.imap.host),
        ("smtp.host", isinstance(config.smtp, ServerConfig) and config.smtp.host),
        ("smtp.command", isinstance(config.smtp, SendCommand) and str(config.smtp)),
        ("database.url", config.database.url),
        ("database.path", config.database.path),
        ("database.group", config.database.group),
    ):
        if value:
            yield Check("from", key, f"{value} ({config.source(key)})")
    for key, entries in (("customers", config.customers), ("owners", config.owners)):
        if entries:
            yield Check("from", key, f"{len(entries)} ({config.source(key)})")
    yield _me_check(config)


def _me_check(config: Config) -> Check:
    me = config.me
    if me is None:
        where = config.path or default_config_path()
        login = unix_user(os.environ) or "LOGIN"
        return Check(
            "FAIL", "me",
            f'nobody: add [me] with name = "Your Name" and email = "you@example.com" to {where}, '
            f'or unix_user = "{login}" to your [[owners]] entry',
        )
    if "me.name" in config.origins:
        how = config.source("me")
    elif any(owner.unix_user and owner.name == me.name for owner in config.owners):
        how = f"[[owners]] entry with unix_user = {unix_user(os.environ)!r}, {config.source('owners')}"
    else:
        how = f"[support] rep_name, {config.source('support.rep_name')}"
    return Check("from", "me", f"{me} ({how})")


def _permissions_check(path: Path, group: str | None) -> Check:
    """Who may read the SQLite file and its companions: the rep alone, or the team's group."""
    name = "db permissions"
    try:
        sharing = files.sharing_for(path.parent, group)
    except files.FileAccessError as error:
        return Check("FAIL", name, str(error))
    if not path.exists():
        return Check("skip", name, f"no database yet: it will be made {files.mode_text(sharing.file_mode)} for {sharing.who}")
    folder_checked = sharing.gid is not None or path.parent == default_database_path().parent
    found = [files.problem(f, sharing) for f in (path, *files.companions(path))]
    if folder_checked:
        found.append(files.problem(path.parent, sharing, folder=True))
    problems = [p for p in found if p is not None]
    if problems:
        first = problems[0]
        why = "other users can read customer mail" if first.wider else "the others in the group can't use it"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Check(
            "FAIL", name,
            f"{first.describe()}{more}: {why}; fix: `{first.command()}` (frontdesk does it itself when the owner opens it)",
        )
    if not os.access(path, os.R_OK | os.W_OK):
        return Check("FAIL", name, files.cannot_write(path, sharing))
    return Check("ok", name, f"{files.mode_text(path.stat().st_mode)}: readable by {sharing.who} only")


def _database_check(ctx: CliContext, target: str | Path) -> Check:
    if is_url(target):
        try:
            db = ctx.store.db
        except StoreError as error:  # one line: the server, and what to check
            return Check("FAIL", "database", str(error))
        return Check("ok", "database", f"{describe(target)} (PostgreSQL, schema {schema_version(db)} of {SCHEMA_VERSION})")
    path = Path(target)
    if not path.exists():
        return Check("skip", "database", f"none yet at {path} (the first import or sync makes it)")
    try:
        db = ctx.store.db
    except StoreError as error:
        return Check("FAIL", "database", str(error))
    version, journal = schema_version(db), db.execute_sql("PRAGMA journal_mode").fetchone()[0]
    if journal != "wal":
        return Check("FAIL", "database", f"{path}: journal mode {journal}, not WAL: keep the database on a local disk")
    return Check("ok", "database", f"{path} (schema {version} of {SCHEMA_VERSION}, WAL)")


def _outbox_check(ctx: CliContext, database: Check) -> Check:
    if database.status != "ok":
        return Check("skip", "outbox", "no database to look in")
    entries = ctx.store.outbox()
    failed = sum(1 for e in entries if e.status == "failed")
    if failed:
        return Check("FAIL", "outbox", f"{failed} message(s) failed: see `frontdesk outbox`, then retry or discard")
    waiting = sum(1 for e in entries if e.status in ("queued", "sending"))
    return Check("ok", "outbox", f"nothing failed; {waiting} waiting to be sent")


def _timezone_check(config: Config, clock: Clock) -> Check:
    zone = config.calendar.timezone
    here = clock.now().astimezone(zone).strftime("%a %H:%M %Z")
    machine = clock.now().astimezone().tzname()
    return Check("ok", "time zone", f"business hours in {zone.key} (now {here}); this machine's zone: {machine}")


def _credential_check(label: str, server: ServerConfig | SendCommand | None) -> tuple[Check, Secret | None]:
    from .credentials import CredentialError, describe_source, resolve_secret

    name = f"{label} credentials"
    if server is None:
        return Check("skip", name, f"no [{label}] in the config: run `frontdesk init`"), None
    if isinstance(server, SendCommand):
        return Check("skip", name, f"none needed: `{server}` sends the mail"), None
    if server.auth == "none":
        return Check("skip", name, 'none needed: auth = "none"'), None
    try:
        secret = resolve_secret(server, label)
    except CredentialError as error:
        return Check("FAIL", name, str(error)), None
    return Check("ok", name, describe_source(server)), secret


def _imap_checks(server: ServerConfig | None, secret: Secret | None) -> Iterator[Check]:
    from .imap_connect import connect_imap
    from .server_errors import MailError

    if server is None or secret is None:
        yield Check("skip", "imap login", "no IMAP server or no credentials (see above)")
        return
    try:
        client = connect_imap(server, lambda: secret)  # as sync logs in: the same mechanism, the same errors
    except MailError as error:
        yield Check("FAIL", "imap login", str(error))
        return
    try:
        yield Check("ok", "imap login", f"{server.host}:{server.port} ({server.security}) as {server.username}")
        yield _capabilities_check(client.capabilities())
        yield _folders_check(client, server)
    finally:
        client.logout()


def _capabilities_check(capabilities: tuple[bytes, ...]) -> Check:
    have = {c.decode("ascii", "replace").upper() for c in capabilities}
    missing = [c for c in CAPABILITIES if c not in have]
    present = " ".join(c for c in CAPABILITIES if c in have) or "none of " + " ".join(CAPABILITIES)
    if "IDLE" in missing:
        return Check("FAIL", "imap capabilities", f"{present}; no IDLE: `sync --watch` cannot hear new mail arrive")
    extra = f"; missing {' '.join(missing)} (sync works, with less to go on)" if missing else ""
    return Check("ok", "imap capabilities", present + extra)


def _folders_check(client: IMAPClient, server: ServerConfig) -> Check:
    wanted = [f for f in (server.folder, server.sent_folder) if f]
    absent = [f for f in wanted if not client.folder_exists(f)]
    if absent:
        names = ", ".join(str(flags_name[2]) for flags_name in client.list_folders())
        return Check("FAIL", "imap folders", f"not on the server: {', '.join(absent)} (it has: {names}); fix folder/sent_folder")
    return Check("ok", "imap folders", ", ".join(wanted))


def _smtp_check(server: ServerConfig | SendCommand | None, secret: Secret | None) -> Check:
    if isinstance(server, SendCommand):
        return _command_check(server)
    if server is not None and server.auth == "none":
        return _smtp_session_check("smtp relay", server, None, 'answers EHLO; no login (auth = "none")')
    if server is None or secret is None:
        return Check("skip", "smtp login", "no SMTP server or no credentials (see above)")
    return _smtp_session_check("smtp login", server, secret, f"as {server.username}")


def _smtp_session_check(name: str, server: ServerConfig, secret: Secret | None, what: str) -> Check:
    from .credentials import CredentialError
    from .server_errors import MailError
    from .smtp_send import connect_smtp

    try:
        connect_smtp(server, lambda *_: secret).quit()  # asks for the secret only when it logs in
    except (MailError, CredentialError) as error:
        return Check("FAIL", name, str(error))
    return Check("ok", name, f"{server.host}:{server.port} ({server.security}) {what}")


def _command_check(command: SendCommand) -> Check:
    """The program is there and may be run; it is not run, since that would send mail."""
    program = command.command[0]
    found = shutil.which(program)
    if found is not None:
        return Check("ok", "smtp command", f"{found} is there and executable (not run: it would send mail)")
    if os.sep in program and os.path.isfile(program):
        fix = f"`chmod +x {shlex.quote(program)}`, or fix [smtp] command"
        return Check("FAIL", "smtp command", f"{program} is not executable: {fix}")
    where = "" if os.sep in program else " on PATH"
    return Check("FAIL", "smtp command", f"{program} not found{where}: install it, or fix [smtp] command")


def _keys_check(ctx: CliContext) -> Check:
    try:
        ctx.check_keys()
    except ConfigError as error:
        return Check("FAIL", "keys", str(error))
    moved, macros = len(ctx.config.keys), len(ctx.config.macros)
    if not moved and not macros:
        return Check("skip", "keys", "the default keys (none under [keys], no [[macros]])")
    return Check("ok", "keys", f"{moved} moved under [keys], {macros} [[macros]]; no clashes")


def _snippets_check(folder: Path | None) -> Check:
    if folder is None:
        return Check("skip", "snippets", "the built-in ones (no [support] snippets_dir)")
    if not folder.is_dir():
        return Check("FAIL", "snippets", f"{folder}: snippets_dir is not a folder")
    snippets, problems = load_snippet_dir(folder)
    if problems:
        return Check("FAIL", "snippets", f"{folder}: " + "; ".join(problems))
    return Check("ok", "snippets", f"{len(snippets)} in {folder}")


def _webhook_check(config: Config) -> Check:
    from .credentials import CredentialError
    from .notify import WebhookError, check_url, webhook_url

    if not (config.notify.slack_webhook or config.notify.slack_webhook_command):
        return Check("skip", "hand-off webhook", "none under [notify] (hand-offs go by email only)")
    try:
        check_url(webhook_url(config) or "")
    except (CredentialError, WebhookError) as error:
        return Check("FAIL", "hand-off webhook", str(error))
    return Check("ok", "hand-off webhook", "URL found (not posted to, so the channel stays quiet)")


# --- init ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """What `init` asked; the config loader fills in the rest (ports by security, folder, username)."""

    address: str
    display_name: str
    servers: dict[str, dict[str, str | int]]  # "imap"/"smtp" -> host, security and perhaps port
    username: str | None
    sent_folder: str | None
    source: tuple[str, str]  # ("keyring", "") | ("password-command", CMD) | ("oauth2-command", CMD)


def cmd_init(ctx: CliContext) -> int:
    target = Path(ctx.args.config or os.environ.get(ENV_VAR) or default_config_path()).expanduser()
    if target.exists() and not ctx.args.force:
        return _fail(ctx, f"{target} exists: use --force to overwrite it")
    try:
        answers = _answers_from_flags(ctx.args) if ctx.args.address else _answers_from_prompts()
    except ValueError as error:
        return _fail(ctx, str(error), 2)
    # Staged beside the target and read back by the real loader: what gets written is valid.
    staged = target.with_name(target.name + ".new")
    try:
        make_folder(target.parent)  # 0700 when it has to be made
        write_private(staged, render_config(answers))
        config = load_config(staged)
        status = _try_and_keep(ctx, config, answers)
        if status == 0:
            staged.replace(target)
            ctx.out.print(Text(f"Wrote {target}. Next: `frontdesk doctor`, then `frontdesk sync`."))
        return status
    except (ConfigError, OSError) as error:
        return _fail(ctx, str(error))
    finally:
        staged.unlink(missing_ok=True)


def _try_and_keep(ctx: CliContext, config: Config, answers: Answers) -> int:
    """Try both logins (or find the sending command), then keep a typed password in the keyring; 0
    when all went well."""
    from .credentials import CredentialError, Secret, resolve_secret, store_password

    assert config.imap is not None and config.smtp is not None
    password = _ask_password(config.imap) if answers.source[0] == "keyring" else None
    get_secret = resolve_secret if password is None else (lambda *_: Secret("password", password))
    if not ctx.args.no_check:
        failures = [check for check in _login_checks(config, get_secret) if check.status == "FAIL"]
        for check in failures:
            _warn(ctx, f"{check.name}: {check.detail}")
        if failures:
            return _fail(ctx, "nothing written; fix the above, or write it anyway with --no-check")
    if password is not None:
        try:
            store_password(config.imap, password)
        except CredentialError as error:
            return _fail(ctx, f"{error} (nothing written)")
    return 0


def _login_checks(config: Config, get_secret: Callable[[ServerConfig, str], Secret]) -> Iterator[Check]:
    from .credentials import CredentialError
    from .imap_connect import connect_imap
    from .server_errors import MailError
    from .smtp_send import connect_smtp

    imap, smtp = config.imap, config.smtp
    if isinstance(smtp, SendCommand):
        yield _command_check(smtp)
    logins = [("imap", imap, lambda: connect_imap(imap, lambda: get_secret(imap, "imap")).logout())]
    if isinstance(smtp, ServerConfig):
        logins.append(("smtp", smtp, lambda: connect_smtp(smtp, get_secret).quit()))
    for label, server, log_in in logins:
        try:
            log_in()
        except (MailError, CredentialError) as error:
            yield Check("FAIL", f"{label} login", str(error))
        else:
            yield Check("ok", f"{label} login", f"{server.host}:{server.port}")


def _secret_source(text: str) -> tuple[str, str]:
    kind, _, command = text.partition(":")
    if kind == "keyring" and not command:
        return kind, ""
    if kind in ("password-command", "oauth2-command") and command.strip():
        return kind, command.strip()
    raise argparse.ArgumentTypeError("expected keyring, password-command:CMD or oauth2-command:CMD")


def _answers_from_flags(args: argparse.Namespace) -> Answers:
    if args.smtp_command and (args.smtp_host or args.smtp_no_login):
        raise ValueError("--smtp-command sends without an SMTP server: leave out --smtp-host and --smtp-no-login")
    needed = ("imap_host", "secret_source") if args.smtp_command else ("imap_host", "smtp_host", "secret_source")
    missing = [f"--{name.replace('_', '-')}" for name in needed if not getattr(args, name)]
    if missing:
        raise ValueError(f"with --address, also give {' '.join(missing)}")
    servers = {}
    for protocol in ("imap", "smtp"):
        given = {key: getattr(args, f"{protocol}_{key}") for key in ("host", "port", "security")}
        servers[protocol] = {key: value for key, value in given.items() if value is not None}
    if args.smtp_command:
        servers["smtp"] = {"command": args.smtp_command}
    elif args.smtp_no_login:
        servers["smtp"]["auth"] = "none"
    return Answers(args.address, args.display_name, servers, args.username, args.sent_folder, args.secret_source)


def _answers_from_prompts() -> Answers:
    address = _ask("Support address (e.g. support@example.com)")
    domain = address.rpartition("@")[2]
    display_name = _ask("Name replies come from", "Support")
    servers: dict[str, dict[str, str | int]] = {}
    for protocol in ("imap", "smtp"):
        name = protocol.upper()
        server: dict[str, str | int] = {"host": _ask(f"{name} server", f"{protocol}.{domain}")}
        server["security"] = _ask(f"{name} security: tls, starttls or none", "tls")
        port = _ask(f"{name} port (empty: the usual one for that security)", "")
        if port:
            server["port"] = _number(port)
        servers[protocol] = server
    username = _ask("Login name", address)
    sent_folder = _ask("Folder that keeps copies of sent replies (empty: none)", "Sent") or None
    source = _ask("Where the password comes from: keyring, password-command:CMD or oauth2-command:CMD", "keyring")
    try:
        parsed = _secret_source(source)
    except argparse.ArgumentTypeError as error:
        raise ValueError(str(error)) from None
    return Answers(address, display_name, servers, username, sent_folder, parsed)


def _ask(question: str, default: str | None = None) -> str:
    """default None: an answer is required; "" lets it be empty."""
    shown = f"{question} [{default}]: " if default else f"{question}: "
    while True:
        answer = input(shown).strip()
        if answer or default is not None:
            return answer or default or ""


def _number(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"{text!r} is not a port number")
    return int(text)


def _ask_password(server: ServerConfig) -> str:
    """Typed at a terminal; read from standard input otherwise (scripts, tests)."""
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {server.username} (kept in the system keyring): ")
    return sys.stdin.readline().rstrip("\r\n")


def render_config(answers: Answers) -> str:
    kind, command = answers.source
    secret = {"password-command": {"password_command": command}, "oauth2-command": {"auth": "oauth2", "oauth2_token_command": command}}
    common = {"username": answers.username, **secret.get(kind, {})}
    smtp = answers.servers["smtp"]
    logs_in = "command" not in smtp and smtp.get("auth") != "none"
    tables = {
        "support": {"address": answers.address, "display_name": answers.display_name},
        "imap": {**answers.servers["imap"], **common, "sent_folder": answers.sent_folder},
        "smtp": {**smtp, **common} if logs_in else smtp,
    }
    lines = [
        "# Written by `frontdesk init`. No secret is kept here: the password lives in the system keyring",
        "# or comes from a command (password_command, oauth2_token_command).",
    ]
    for name, values in tables.items():
        lines += ["", f"[{name}]", *(f"{key} = {_toml(value)}" for key, value in values.items() if value is not None)]
    return "\n".join(lines) + "\n"


def _toml(value: str | int) -> str:
    # A JSON string or number is valid TOML: the same quotes and escapes.
    return json.dumps(value, ensure_ascii=False)


def _warn(ctx: CliContext, text: str) -> None:
    ctx.err.print(Text(f"frontdesk: {text}"), soft_wrap=True)


def _fail(ctx: CliContext, reason: str, status: int = 1) -> int:
    _warn(ctx, reason)
    return status
