"""The `frontdesk` command line: every verb that needs no network."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from frontdesk.storage import usecases
from frontdesk.storage.clock import Clock, clock_from_environment
from frontdesk.storage.config import Config, ConfigError, load_config, who_are_you
from frontdesk.storage.database import DatabaseError, database_target, default_database_path, describe, is_url
from frontdesk.storage.errors import Held, Seen
from frontdesk.storage.find import find
from frontdesk.storage.owners import UnknownOwner
from frontdesk.storage.query import QueryError
from frontdesk.storage.sla import SEVERITY_LEVELS, severity_guide
from frontdesk.storage.store import Store, StoreError

from . import launch, printing
from .looks import command_line_looks

# The mail modules (keyring, imapclient, the parser) and the week's figures (rotation, stats) load
# in the verbs that use them, not with the inbox.
if TYPE_CHECKING:
    from frontdesk.storage.rotation import Week


class UsageError(Exception):
    """Bad arguments: exit status 2, like argparse's own."""


class _VersionAction(argparse.Action):
    """--version: the installed version is looked up when asked for (importlib.metadata takes
    tens of milliseconds), not on every start."""

    def __init__(self, option_strings: Sequence[str], dest: str, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            number = version("frontdesk")
        except PackageNotFoundError:
            number = "unknown"
        sys.stdout.write(f"frontdesk {number}\n")
        parser.exit()


class Context:
    """What every verb needs: the parsed arguments, the configuration, the clock and the store."""

    def __init__(self, args: argparse.Namespace, out: Console, err: Console, clock: Clock) -> None:
        self.args = args
        self.out = out
        self.err = err
        self.clock = clock
        self._config: Config | None = None
        self._store: Store | None = None

    @property
    def config(self) -> Config:
        # Read on first use: `init` writes a file that may not exist yet, `doctor` reports a broken one.
        if self._config is None:
            # The demo is self-contained: a team's system-wide settings must not leak into it.
            self._config = load_config(self.args.config, system=not self.args.demo)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            target = database_target(self.args.db, self.config)
            password = self._database_password(target) if is_url(target) else None
            self._store = Store.open(target, self.config, self.clock, password=password)
            for notice in self._store.notices:  # e.g. a database readable by others, tightened
                self.err.print(Text(f"frontdesk: {notice}"), soft_wrap=True)
        return self._store

    def check_keys(self) -> None:
        from .keymap import keymap  # Textual loads only for the verbs that need it

        keymap(self.config)

    def _database_password(self, url: str) -> str | None:
        from frontdesk.mail.credentials import CredentialError, database_password

        try:
            return database_password(self.config.database, url)
        except CredentialError as error:
            raise DatabaseError(f"cannot use the database {describe(url)}: {error}") from None

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def cmd_import(ctx: Context) -> int:
    from frontdesk.mail.ingest import Ingestor, IngestSummary
    from frontdesk.mail.sources import SourceError, read_messages

    paths = [Path(p) for p in ctx.args.paths]
    ingestor = Ingestor(ctx.store)
    skipped: list[str] = []

    def messages():
        for found in read_messages(paths):
            if found.raw is None:
                skipped.append(found.locator)
            else:
                yield found.locator, found.raw

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    summary = IngestSummary()
    try:
        with Progress(
            SpinnerColumn(),
            TextColumn("importing: {task.completed} messages"),
            TimeElapsedColumn(),
            console=ctx.err,
            transient=True,
            disable=not ctx.err.is_terminal,
        ) as progress:
            task = progress.add_task("import", total=None)
            for summary in ingestor.ingest_all(messages()):
                progress.update(task, completed=summary.read)
    except SourceError as error:  # what came before it is imported
        return _fail(str(error), 1)
    printing.import_summary(ctx.out, summary, skipped)
    return 0


def cmd_inbox(ctx: Context) -> int:
    import shutil

    from .app import FrontdeskApp  # Textual loads only for the full screen, not for scripted verbs

    # Read before the app starts (a few milliseconds from the due-time index), so the first frame has
    # its rows: read in the screen's worker, they came a frame later, slowed by that first paint.
    # A screenful: no terminal shows more rows than it has lines.
    first_rows = ctx.store.first_screen(shutil.get_terminal_size().lines)
    FrontdeskApp(ctx.store, demo=ctx.args.demo, first_rows=first_rows, after_first_frame=launch.started).run()
    return 0


def cmd_list(ctx: Context) -> int:
    query = _query_text(ctx.args.query)
    views = find(ctx.store, query, include_resolved=ctx.args.all)
    if ctx.args.json:
        _print_json(ctx, [view.as_json() for view in views])
    else:
        printing.ticket_table(ctx.out, views, ctx.clock.now(), f"No tickets match {query}" if query.strip() else None)
    return 0


_TERM_PARTS = re.compile(r"(-?)([A-Za-z][A-Za-z_-]*:)?(.*)", re.DOTALL)


def _query_text(words: Sequence[str]) -> str:
    """`frontdesk list`'s words as one query: a word that holds spaces had its quotes taken by
    the shell (`subject:"upgrade loop"` arrives as subject:upgrade loop), so they are put back."""
    terms = []
    for word in words:
        if any(character.isspace() for character in word) and '"' not in word:
            sign, field, value = _TERM_PARTS.fullmatch(word).groups()
            word = f'{sign}{field or ""}"{value}"'
        terms.append(word)
    return " ".join(terms)


def _negated_terms(words: Sequence[str]) -> bool:
    """Whether words argparse took for options are query terms negated with `-`."""
    return all(word.startswith("-") and not word.startswith("--") for word in words)


def cmd_show(ctx: Context) -> int:
    store = ctx.store
    view = store.view(ctx.args.id)
    messages, events, outbox = store.messages(view.id), store.events(view.id), store.outbox(view.id)
    if ctx.args.json:
        _print_json(ctx, printing.ticket_json(view, messages, events, outbox) | {"version": view.version})
    else:
        printing.ticket_detail(ctx.out, view, messages, events, outbox, ctx.config, ctx.clock.now())
        # What `reply --seen` takes: a reply is held if the ticket moves after what is shown here.
        ctx.out.print(Text(f"\nVersion {view.version}: reply to it as shown here with frontdesk reply {view.id} --seen {view.version}", style="dim"))
    return 0


# Every change to a ticket is a use case (storage/usecases.py), applied to the ticket as it is now.


def cmd_triage(ctx: Context) -> int:
    return _confirm(ctx, usecases.triage(ctx.store, ctx.args.id, ctx.args.severity))


def cmd_assign(ctx: Context) -> int:
    return _confirm(ctx, usecases.assign(ctx.store, ctx.args.id, ctx.args.owner, ctx.args.note))


def cmd_take(ctx: Context) -> int:
    return _confirm(ctx, usecases.take(ctx.store, ctx.args.id))


def cmd_reply(ctx: Context) -> int:
    """Held (exit status 3, nothing queued) when the ticket moved since the reply began: since
    --seen VERSION, else since the --body-file was last written; --force sends regardless."""
    store, args = ctx.store, ctx.args
    seen = _reply_began(ctx)
    if args.snippet:
        done = usecases.snippet_reply(store, args.id, args.snippet, seen=seen, force=args.force)
    else:
        done = usecases.reply(store, args.id, _read_body(args.body_file), seen=seen, force=args.force)
    if not done.outbox:  # an acknowledgement the ticket already has: nothing was queued
        return _confirm(ctx, done)
    waiting = sum(1 for e in store.outbox() if e.status in ("queued", "failed"))
    return _confirm(ctx, done, f" ({waiting} waiting to send)")


def _reply_began(ctx: Context) -> Seen | None:
    """When the reply began: the version given with --seen (`frontdesk show` prints it), else when
    the reply file was last written; a snippet or standard input begins now (nothing to compare)."""
    args = ctx.args
    if args.seen is not None:
        current = ctx.store.view(args.id).version
        if args.seen > current:
            raise UsageError(f"--seen {args.seen}: ticket #{args.id} is at version {current}")
        return Seen(version=args.seen)
    if args.body_file and args.body_file != "-":
        try:
            written = Path(args.body_file).stat().st_mtime
        except OSError:
            return None  # reading it says why
        return Seen(at=datetime.fromtimestamp(written, timezone.utc))
    return None


def _read_body(name: str) -> str:
    if name == "-":
        return sys.stdin.read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read {name}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{name} is not UTF-8 text") from None


def _change_command(change: Callable[[Store, int], usecases.Done]) -> Callable[[Context], int]:
    def command(ctx: Context) -> int:
        return _confirm(ctx, change(ctx.store, ctx.args.id))

    return command


def cmd_status(ctx: Context) -> int:
    ctx.out.file.write(printing.status_line(ctx.store.desk_status(), ctx.args.format) + "\n")
    return 0


def cmd_stats(ctx: Context) -> int:
    if ctx.args.week is not None or ctx.args.markdown:
        return _week_stats(ctx)
    from frontdesk.storage.stats import compute_stats

    stats = compute_stats(ctx.store.views(include_resolved=True))
    if ctx.args.json:
        _print_json(ctx, stats)
    else:
        printing.stats(ctx.out, stats)
    return 0


def _week_stats(ctx: Context) -> int:
    """The Stats screen's week: its figures, or with --markdown the hand-over note `e` exports there."""
    if ctx.args.json:
        raise UsageError("--json prints the figures of all tickets; a week's come as a table, or with --markdown")
    from frontdesk.storage.rotation import rotation_summary, to_markdown

    summary = rotation_summary(ctx.store, _chosen_week(ctx).monday)
    if ctx.args.markdown:
        ctx.out.file.write(to_markdown(summary))
    else:
        printing.week_figures(ctx.out, summary)
    return 0


def _chosen_week(ctx: Context) -> Week:
    """--week: an ISO week such as 2026-W49, `this` (also without --week) or `last`, in the business time zone."""
    from frontdesk.storage.rotation import Week

    chosen = (ctx.args.week or "this").strip().lower()
    now = ctx.clock.now()
    this = Week.containing(now, ctx.config.calendar.timezone)
    if chosen in ("this", "last"):
        return this if chosen == "this" else this.shifted(-1)
    try:
        week = Week.from_label(chosen, this.tz)
    except ValueError as error:
        raise UsageError(f"--week: {error}, or this or last") from None
    if week.start > now:
        raise UsageError(f"--week: {week.label} has not begun yet (this week is {this.label})")
    return week


def cmd_rotation(ctx: Context) -> int:
    from frontdesk.storage.team import rotation_history  # with the rotation verb, as in the inbox

    if ctx.args.what == "take":
        return _take_rotation(ctx)
    turns = rotation_history(ctx.store, limit=6)
    if ctx.args.what == "note":
        if not turns or not turns[0].handover:
            raise StoreError("no hand-over note: nobody has taken the rotation yet (frontdesk rotation take)")
        ctx.out.file.write(turns[0].handover)
        return 0
    if ctx.args.json:
        _print_json(ctx, [printing.turn_json(turn) for turn in turns])
    else:
        printing.rotation(ctx.out, turns, ctx.config.calendar.timezone)
    return 0


def _take_rotation(ctx: Context) -> int:
    person = ctx.config.me
    if person is None:
        raise UsageError(who_are_you(ctx.config))
    from frontdesk.storage.team import take_rotation

    taken = take_rotation(ctx.store, person, ctx.clock.now())
    printing.rotation_taken(ctx.out, taken, ctx.config.calendar.timezone)
    return 0


def _confirm(ctx: Context, done: usecases.Done, more: str = "") -> int:
    printing.confirmation(ctx.out, done.ticket.id, done.said + more)
    return 0


def cmd_sync(ctx: Context) -> int:
    from frontdesk.mail.sync_cli import cmd_sync as sync  # IMAP and SMTP load for this verb only

    return sync(ctx)


def _print_json(ctx: Context, data: object) -> None:
    ctx.out.file.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def _version_number(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a version number (frontdesk show prints it)")
    return int(text)


def _ticket_id(text: str) -> int:
    digits = text.lstrip("#")
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a ticket number")
    return int(digits)


def _add_shared_options(parser: argparse.ArgumentParser, after_verb: bool = False) -> None:
    """--db, --config and --demo, taken before the verb and after it (`frontdesk list --demo`).
    After the verb they default to SUPPRESS, so that one not given there keeps what was given before."""

    def default(value: object) -> object:
        return argparse.SUPPRESS if after_verb else value

    parser.add_argument(
        "--db", metavar="PATH|URL", default=default(None),
        help=f"ticket database: a SQLite file or a postgresql:// URL (default: [database] in the config, else {default_database_path()})",
    )
    parser.add_argument(
        "--config", type=Path, metavar="PATH", default=default(None),
        help="configuration file (default: $FRONTDESK_CONFIG, then the user config folder)",
    )
    parser.add_argument(
        "--demo", action="store_true", default=default(False),
        help="run on a throwaway demo mailbox: no configuration, no network",
    )


def build_parser(with_verbs: bool = True) -> argparse.ArgumentParser:
    """The command line's parser; without its verbs (nor -h, which lists them) it reads what
    starts the inbox, without building the verbs' twenty parsers first (a few milliseconds)."""
    parser = argparse.ArgumentParser(
        prog="frontdesk",
        description="A keyboard-driven support inbox: email in, tickets with live SLA clocks out.",
        epilog="Run 'frontdesk COMMAND --help' for the options of one command.",
        add_help=with_verbs,
        exit_on_error=with_verbs,
    )
    parser.add_argument("--version", action=_VersionAction, help="show the version number and exit")
    _add_shared_options(parser)
    if not with_verbs:
        return parser
    verbs = parser.add_subparsers(dest="command", metavar="COMMAND")

    def verb(name: str, handler: Callable[[Context], int], help_text: str, **options) -> argparse.ArgumentParser:
        sub = verbs.add_parser(name, help=help_text, description=help_text, **options)
        _add_shared_options(sub, after_verb=True)
        sub.set_defaults(handler=handler)
        return sub

    def with_id(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("id", type=_ticket_id, metavar="ID", help="ticket number, e.g. 42 or #42")
        return sub

    imp = verb("import", cmd_import, "Import .eml files, mbox files and Maildir folders; importing twice adds nothing.")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a message file, an mbox file, a Maildir or a folder of messages")

    # No -h: a negated term such as -has:draft would be read as it (--help is there).
    lst = verb("list", cmd_list, "List open tickets, most urgent first, or those a query selects.", add_help=False)
    lst.add_argument("--help", action="help", help="show this help message and exit")
    lst.add_argument(
        "query", nargs="*", metavar="QUERY",
        help='terms that must all hold, e.g. customer:acme is:breached -owner:none sev:1,2 from:grace@ '
        'subject:"upgrade loop" after:7d, and words searched in the text (see the README)',
    )
    lst.add_argument("--all", action="store_true", help="include resolved tickets")
    lst.add_argument("--json", action="store_true", help="print JSON for scripts")

    show = with_id(verb("show", cmd_show, "Show one ticket: its SLA clocks, thread and history."))
    show.add_argument("--json", action="store_true", help="print JSON for scripts")

    triage = with_id(verb("triage", cmd_triage, f"Set a ticket's severity: {severity_guide()}."))
    triage.add_argument("--severity", type=int, choices=SEVERITY_LEVELS, required=True)

    assign = with_id(verb("assign", cmd_assign, "Hand a ticket to a support owner who sees it through."))
    assign.add_argument(
        "owner", metavar="OWNER",
        help="an owner from the [[owners]] section of the config: their email, or a unique start of their name or email (any case)",
    )
    assign.add_argument("--note", help="a note for the owner, kept in the ticket's history")

    with_id(verb("take", cmd_take, "Make a ticket yours: assign it to the [[owners]] entry with your [me] email."))

    reply = with_id(verb(
        "reply", cmd_reply,
        "Queue a reply to the customer in the outbox. It is held (nothing queued, exit status 3, one line saying "
        "what changed) when, since the reply began, the customer wrote again, anyone queued or sent a reply or "
        "acknowledgement, or the ticket changed owner or state; --force sends it anyway. A ticket gets one "
        "acknowledgement (--snippet ack): asked for a second one, it says so, queues nothing and exits 0.",
    ))
    body = reply.add_mutually_exclusive_group(required=True)
    body.add_argument("--snippet", metavar="NAME", help="a saved reply, e.g. ack, logs, handoff, resolved")
    body.add_argument("--body-file", metavar="FILE", help="the reply text in a UTF-8 file ('-' reads standard input)")
    reply.add_argument(
        "--seen", type=_version_number, metavar="VERSION",
        help="when the reply began: the ticket's version as you read it (frontdesk show prints it). "
        "Without it, when FILE was last written for --body-file FILE; a snippet or standard input begins as "
        "the command runs (so it is never held)",
    )
    reply.add_argument("--force", action="store_true", help="send even when the ticket moved since the reply began")

    with_id(verb("wait", _change_command(usecases.wait), "Mark a ticket as waiting on the customer."))
    with_id(verb("resolve", _change_command(usecases.resolve), "Mark a ticket resolved."))
    with_id(verb("reopen", _change_command(usecases.reopen), "Reopen a waiting or resolved ticket."))

    sync = verb(
        "sync",
        cmd_sync,
        "Fetch new mail from the IMAP mailbox into tickets (the mailbox is never changed), and send the outbox. "
        "One process of the team does this at a time: when another one does, this says who and exits 0.",
    )
    sync.add_argument(
        "--watch",
        action="store_true",
        help="keep running, fetching mail as it arrives (IDLE), until Ctrl-C or SIGTERM; "
        "while another process syncs, stand by and take over when it stops",
    )

    status = verb(
        "status", cmd_status,
        "One short line for a tmux status bar or a shell prompt: how many clocks are LATE and at RISK, and the "
        "time to the next due one (e.g. '2 LATE · 1 RISK · next 3h 12m'; 'ok · next …'; 'no open tickets').",
    )
    status.add_argument(
        "--format", choices=tuple(printing.STATUS_FORMATS), default="plain",
        help="plain words (default); tmux: #[fg=…] styles around LATE and RISK, for status-right; ansi: terminal colours, for a prompt",
    )

    stats = verb(
        "stats", cmd_stats,
        "Response and resolution times, and SLA attainment by severity; with --week, one week of the rotation "
        "as the Stats screen shows it.",
    )
    stats.add_argument("--json", action="store_true", help="print JSON for scripts")
    stats.add_argument(
        "--week", metavar="WEEK",
        help="an ISO week such as 2026-W49, or this or last (Monday to Sunday in the business time zone)",
    )
    stats.add_argument(
        "--markdown", action="store_true",
        help="print the week's hand-over note in Markdown, as the Stats screen exports it (this week unless --week)",
    )

    rotation = verb("rotation", cmd_rotation, "Who is on the front-line rotation, and since when; take it over.")
    rotation.add_argument(
        "what", nargs="?", choices=("take", "note"), metavar="take|note",
        help="take: put yourself ([me] in the config) on rotation; note: print the hand-over note you were left",
    )
    rotation.add_argument("--json", action="store_true", help="print the latest turns as JSON for scripts")

    from frontdesk.mail.account_cli import add_account_verbs  # with the verbs only: not for the inbox

    add_account_verbs(verb)  # init, doctor, outbox
    return parser


def _inbox_arguments(argv: Sequence[str] | None) -> argparse.Namespace | None:
    """The options, when they are all there is: the inbox starts without the verbs' parsers. None
    for a verb, -h or a mistake, which the whole parser reads (and explains) again."""
    try:
        args, rest = build_parser(with_verbs=False).parse_known_args(argv)
    except argparse.ArgumentError:
        return None
    return None if rest else args


def main(argv: Sequence[str] | None = None) -> int:
    args = _inbox_arguments(argv)
    if args is None:
        parser = build_parser()
        args, unknown = parser.parse_known_args(argv)
        if unknown:  # `frontdesk list -owner:none`: a negated term looks like an option
            if getattr(args, "query", None) is None or not _negated_terms(unknown):
                parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            args.query += unknown
    if getattr(args, "command", None) is None:
        args.handler = cmd_inbox
    out = Console(highlight=False, soft_wrap=True)
    out.push_theme(command_line_looks(out))  # "status.breached" and the other looks, in 16 colours
    err = Console(stderr=True, highlight=False)
    try:
        clock = _clock()
        with _demo_folder(args) as folder:
            if folder is not None:
                from frontdesk.mail.demo import build_demo

                args.config, args.db = build_demo(folder, clock.now())
            ctx = Context(args, out, err, clock)
            if args.handler is not cmd_inbox:
                launch.started()  # the inbox's start-up ends with its first frame
            try:
                return args.handler(ctx)
            finally:
                ctx.close()
    # DatabaseError: one that can't be reached or used; UnknownOwner: a typed owner that is nobody or several;
    # QueryError (a StoreError, so caught first): a query that can't be read
    except (ConfigError, UsageError, DatabaseError, UnknownOwner, QueryError) as error:
        return _fail(str(error), 2)
    except Held as held:  # the ticket moved since the reply began: nothing was queued
        return _fail(f"{held} (--force sends it anyway)", 3)
    except StoreError as error:
        return _fail(str(error), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return 0  # the reader (e.g. `head`) has all it wanted
    except Exception as error:  # the promise is one line, never a traceback
        detail = str(error).splitlines()[0] if str(error) else ""
        return _fail(f"unexpected {type(error).__name__}: {detail} (please report this)", 1)


@contextmanager
def _demo_folder(args: argparse.Namespace) -> Iterator[Path | None]:
    """A fresh demo mailbox for this run only; nothing of the user's is touched."""
    if not args.demo:
        yield None
        return
    if args.db or args.config:
        raise UsageError("--demo brings its own database and configuration; leave out --db and --config")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="frontdesk-demo-") as folder:
        yield Path(folder)


def _clock() -> Clock:
    try:
        return clock_from_environment()
    except ValueError as error:
        raise UsageError(str(error)) from None


def _fail(reason: str, status: int) -> int:
    sys.stderr.write(f"frontdesk: {reason}\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
