"""How fast frontdesk imports mail and lists tickets, next to stdlib baselines measured in the same run.

    /work/venv/bin/python bench/import.py [--sizes 10000,100000] [--tickets 100000] [--profile 2000]

For each size N it generates N realistic support messages (about 4 KB: Received and DKIM headers,
text/plain or multipart/alternative with HTML, some small attachments, a quarter of them replies
threading into earlier ones, half of those from the support address), then times:

- bare parse: ``email.message_from_bytes(raw, policy=email.policy.default)`` over the same bytes,
  the baseline: nothing frontdesk does can be cheaper than reading the mail once;
- frontdesk's parse_message alone, to split the import cost into parsing and storing;
- ``Ingestor.ingest_all`` into a fresh database;
- ``frontdesk import`` end to end (``tui.cli.main``) on an mbox file, into another fresh database.

Then it fills a database with --tickets tickets and times ``frontdesk list --json`` (open tickets)
and ``list --all --json`` against a bare ``SELECT * FROM ticket`` plus ``json.dumps`` of the rows.
Timings are figures to compare, never pass/fail. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import compileall
import contextlib
import cProfile
import email
import email.policy
import json
import os
import pstats
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from functools import partial
from pathlib import Path

from frontdesk.mail.ingest import Ingestor
from frontdesk.mail.parse import parse_message
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.models import UtcDateTimeField
from frontdesk.storage.store import Store
from frontdesk.tui.cli import main as frontdesk

NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)
SUPPORT = "support@frontdesk.example"
SEED = 7

COMPANIES = (
    ("Northwind Traders", "northwind.example"), ("Globex", "globex.example"), ("Initech", "initech.example"),
    ("Umbrella Health", "umbrella-health.example"), ("Tanaka Systems", "tanaka-sys.example"),
    ("VolgaSoft", "volgasoft.example"), ("Hooli", "hooli.example"), ("Stark Logistics", "stark-logistics.example"),
    ("Wayne Analytics", "wayne-analytics.example"), ("Acme Robotics", "acme-robotics.example"),
    ("Soylent Foods", "soylent.example"), ("Cyberdyne", "cyberdyne.example"),
)
FIRST = ("Ana", "Ben", "Chen", "Dara", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jonas", "Kaito", "Lena", "Mateo", "Noor")
LAST = ("Okafor", "Nilsson", "Romero", "Sato", "Kowalski", "Patel", "Fischer", "Haddad", "Ibarra", "Kim", "Menon")
SUBJECTS = (
    "Upgrade to 5.{v} fails on the migrator job", "SSO login loop after enabling SAML",
    "Search index rebuild is very slow", "Code navigation missing for {repo}", "License seat count is wrong",
    "Feature request: {feature}", "helm upgrade error: values key renamed?", "gitserver OOMKilled on large clones",
    "Batch change cannot publish to GitHub Enterprise", "Question about data retention on the managed instance",
    "Permissions sync takes hours", "502 errors after node pool rotation", "Audit log export to S3",
    "Regex search times out on {repo}",
)
FEATURES = ("CSV export of saved searches", "dark mode for admin pages", "per-team search contexts", "SCIM groups")
REPOS = ("payments-core", "web-platform", "monorepo", "infra-terraform", "mobile-app", "data-pipelines")
SENTENCES = (
    "We upgraded the instance over the weekend and since then the frontend logs show repeated errors.",
    "This affects roughly two hundred developers, mostly in the platform and payments teams.",
    "Nothing changed in our infrastructure apart from the version bump, as far as we can tell.",
    "I have attached the relevant part of the logs; let me know if you need the full bundle.",
    "Restarting the pods helps for about an hour, then the problem comes back.",
    "Our Kubernetes cluster runs on EKS with three nodes of 16 vCPU and 64 GB each.",
    "The external PostgreSQL database is version 14 and has plenty of free space.",
    "We followed the upgrade notes step by step, including the database backup.",
    "Could you tell us whether this is a known issue, and if there is a workaround?",
    "Search for literal strings is fine, but regular expressions across all repositories are slow.",
    "The code host connection shows a green check mark and the last sync finished without errors.",
    "Users who sign in through the identity provider are sent back to the login page.",
    "It would help us a lot to have this before our quarterly planning at the end of the month.",
    "We tried clearing the browser cache and using a private window, with the same result.",
    "Our security team also asked whether the instance can be restricted to the VPN ranges.",
    "Thanks for looking into this; happy to jump on a call if that is faster.",
)
_ATTACHMENTS = tuple(
    (name, kind, base64.encodebytes(random.Random(size).randbytes(size)).decode())
    for name, kind, size in (("frontend.log.gz", "application/gzip", 1500), ("screenshot.png", "image/png", 2400))
)
_stored = UtcDateTimeField()


# --- generating mail -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sent:
    """What a reply needs of the message it answers."""

    message_id: str
    subject: str
    customer: str  # "Name <address>" of the thread's customer
    references: tuple[str, ...]


def generate(count: int, seed: int = SEED) -> Iterator[bytes]:
    """`count` messages in date order over the 60 days before NOW; a quarter answer earlier ones."""
    rng = random.Random(seed)
    sent: list[_Sent] = []
    start, step = NOW - timedelta(days=60), timedelta(days=60) / max(count, 1)
    for index in range(count):
        at = start + step * index
        message_id = f"{rng.getrandbits(72):018x}.{index}@"
        if sent and rng.random() < 0.25:
            parent = sent[rng.randrange(max(0, len(sent) - 2000), len(sent))]  # threads stay recent
            sender = f"Frontdesk Support <{SUPPORT}>" if rng.random() < 0.5 else parent.customer
            subject = parent.subject if parent.subject.startswith("Re: ") else f"Re: {parent.subject}"
            sent.append(_Sent(message_id + _domain(sender), subject, parent.customer,
                              (*parent.references[-9:], parent.message_id)))
        else:
            company = rng.choice(COMPANIES)[1]
            sender = f"{rng.choice(FIRST)} {rng.choice(LAST)} <{rng.choice(FIRST).lower()}.{index}@{company}>"
            subject = rng.choice(SUBJECTS).format(v=rng.randrange(2, 11), repo=rng.choice(REPOS), feature=rng.choice(FEATURES))
            sent.append(_Sent(message_id + company, subject, sender, ()))
        yield _message(rng, sent[-1], sender, at)


def _domain(address: str) -> str:
    return address.rpartition("@")[2].rstrip(">")


def _message(rng: random.Random, this: _Sent, sender: str, at: datetime) -> bytes:
    date = format_datetime(at)
    domain = _domain(sender)
    to = this.customer if domain == SUPPORT.partition("@")[2] else f"Frontdesk Support <{SUPPORT}>"
    head = [
        f"Received: from mail-{rng.randrange(1, 9)}.{domain} (mail.{domain} [203.0.113.{rng.randrange(1, 255)}])\n"
        f"\tby mx.frontdesk.example (Postfix) with ESMTPS id {rng.getrandbits(48):012X}\n\tfor <{SUPPORT}>; {date}",
        f"Received: from build-{rng.randrange(100)}.internal (10.{rng.randrange(255)}.{rng.randrange(255)}.7)\n"
        f"\tby mail-1.{domain} with ESMTP id {rng.getrandbits(40):010x}; {date}",
        f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s2026;\n"
        f"\th=from:to:subject:date:message-id; bh={base64.b64encode(rng.randbytes(32)).decode()};\n"
        f"\tb={_folded(base64.b64encode(rng.randbytes(256)).decode())}",
        f"Authentication-Results: mx.frontdesk.example; dkim=pass header.d={domain}; spf=pass smtp.mailfrom={domain}",
        f"From: {sender}", f"To: {to}", f"Subject: {this.subject}", f"Date: {date}", f"Message-ID: <{this.message_id}>",
    ]
    if this.references:
        head += [f"In-Reply-To: <{this.references[-1]}>", "References: " + "\n\t".join(f"<{r}>" for r in this.references)]
    paragraphs = [" ".join(rng.sample(SENTENCES, 3)) for _ in range(rng.randrange(4, 8))]
    text = "Hi,\n\n" + "\n\n".join(paragraphs) + f"\n\nBest regards,\n{sender.partition(' <')[0]}\n"
    boundary = f"=_bench_{rng.getrandbits(48):012x}"
    body = _body(rng, text, paragraphs, boundary)
    return ("\n".join(head) + "\nMIME-Version: 1.0\nX-Mailer: Bench Mail 3.1\n" + body).encode()


def _folded(value: str, width: int = 72) -> str:
    return "\n\t".join(value[i : i + width] for i in range(0, len(value), width))


def _body(rng: random.Random, text: str, paragraphs: list[str], boundary: str) -> str:
    """text/plain half the time, else multipart/alternative with HTML; one in ten gets an attachment."""
    plain = f"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n{text}"
    if rng.random() < 0.5:
        content = plain
    else:
        html = "".join(f"<p style=\"margin:0 0 12px\">{p}</p>\n" for p in paragraphs)
        alternative = f"alt{boundary}"
        content = (
            f'Content-Type: multipart/alternative; boundary="{alternative}"\n\n--{alternative}\n{plain}\n'
            f"--{alternative}\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"<html><head><meta charset=\"utf-8\"></head><body><div>\n{html}</div></body></html>\n--{alternative}--\n"
        )
    if rng.random() >= 0.1:
        return content
    name, kind, data = rng.choice(_ATTACHMENTS)
    return (
        f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n--{boundary}\n{content}\n--{boundary}\n'
        f'Content-Type: {kind}; name="{name}"\nContent-Disposition: attachment; filename="{name}"\n'
        f"Content-Transfer-Encoding: base64\n\n{data}--{boundary}--\n"
    )


def compile_frontdesk() -> None:
    """Bytecode caches for frontdesk's own modules, as an installed copy has them: a program
    measured as a new process (with PYTHONDONTWRITEBYTECODE unset) then never compiles them."""
    import frontdesk.mail
    import frontdesk.storage
    import frontdesk.tui

    for package in (frontdesk.mail, frontdesk.storage, frontdesk.tui):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


PG_USER, PG_PASSWORD = "bench", "bench-password"  # in the URL: frontdesk looks for no keyring entry


def start_postgres(folder: Path) -> object:
    """The tests' throwaway server (tests/pgserver.py: Debian's postgresql, a free loopback port),
    with a user who logs in with a password. Stop it with .stop("immediate")."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    import pgserver

    (folder / "pg").mkdir()
    folder.chmod(0o755)  # PostgreSQL, run as its own user when we are root, reads below it
    server = pgserver.PostgresServer(folder / "pg", pgserver._bin_dir())
    server.start()
    server.add_password_user(PG_USER, PG_PASSWORD)
    return server


def new_postgres_database(server, name: str) -> str:
    """An empty database of that name, owned by the bench user; returns its URL."""
    with server.admin() as admin:
        admin.execute(f"CREATE DATABASE {name} OWNER {PG_USER}")
    return f"postgresql://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{server.port}/{name}"


def write_mbox(path: Path, messages: list[bytes]) -> None:
    with path.open("wb") as out:
        for raw in messages:
            out.write(b"From bench@frontdesk.example Thu Nov 26 09:00:00 2026\n" + raw + b"\n")


def write_config(folder: Path) -> Path:
    customers = "".join(
        f'[[customers]]\nname = "{name}"\ndomains = ["{domain}"]\n\n' for name, domain in COMPANIES[:8]
    )
    path = folder / "config.toml"
    path.write_text(f'[support]\naddress = "{SUPPORT}"\nrep_name = "Bench"\n\n{customers}', encoding="utf-8")
    return path


# --- measuring -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    what: str
    items: int
    seconds: float
    baseline: Figure | None = None

    def row(self) -> str:
        rate = self.items / self.seconds if self.seconds else float("inf")
        ratio = f"{self.seconds / self.baseline.seconds:6.2f}x" if self.baseline else "  base "
        return f"{self.what:<44} {self.items:>8,} {self.seconds:>9.2f} {rate:>12,.0f} {ratio:>9}"


def timed(what: str, items: int, work: Callable[[], object], baseline: Figure | None = None) -> Figure:
    started = time.perf_counter()
    work()
    figure = Figure(what, items, time.perf_counter() - started, baseline)
    print(figure.row(), flush=True)
    return figure


def quietly(argv: list[str]) -> None:
    """Run the frontdesk command line with its output thrown away, as a script reading it would."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        status = frontdesk(argv)
    if status != 0:
        raise SystemExit(f"frontdesk {' '.join(argv)} failed with status {status}")


def ingest(db: Path, config_path: Path, messages: list[bytes]) -> None:
    store = Store.open(db, load_config(config_path), FrozenClock(NOW))
    try:
        for _ in Ingestor(store).ingest_all(("bench", raw) for raw in messages):
            pass
    finally:
        store.close()


def bench_import(count: int, folder: Path, config_path: Path) -> None:
    messages = list(generate(count))
    mbox = folder / f"bench-{count}.mbox"
    write_mbox(mbox, messages)
    size = sum(map(len, messages)) / count
    print(f"\n{count:,} messages, {size / 1024:.1f} KB on average", flush=True)
    bare = timed("bare parse (email, policy.default)", count,
                 lambda: [email.message_from_bytes(raw, policy=email.policy.default) for raw in messages])
    timed("frontdesk parse_message only", count, lambda: [parse_message(raw) for raw in messages], bare)
    timed("Ingestor.ingest_all (parse, thread, store)", count,
          lambda: ingest(folder / f"ingest-{count}.db", config_path, messages), bare)
    _tally(folder / f"ingest-{count}.db")
    timed("frontdesk import FILE.mbox (end to end)", count,
          lambda: quietly(["--db", str(folder / f"cli-{count}.db"), "--config", str(config_path), "import", str(mbox)]),
          bare)
    mbox.unlink()


def _tally(db: Path) -> None:
    """What the import made of the mail: a check that threading worked, not a timing."""
    with contextlib.closing(sqlite3.connect(db)) as connection:
        tickets, messages = connection.execute(
            "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM message)"
        ).fetchone()
    print(f"{'':<4}-> {messages:,} messages stored in {tickets:,} tickets", flush=True)


def fill_tickets(db: Path, config_path: Path, count: int) -> None:
    """`count` tickets with a year's realistic mix of severities, states, owners and clocks.

    Written straight into the ticket table: this measures listing, and importing that many
    threads would only repeat what bench_import measures."""
    Store.open(db, load_config(config_path), FrozenClock(NOW)).close()
    rng = random.Random(SEED)
    rows = [_ticket_row(rng, index) for index in range(count)]
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        connection.executemany(
            "INSERT INTO ticket (subject, requester_email, requester_name, customer_id, severity, state,"
            " created_at, updated_at, first_response_at, resolved_at, pauses, message_count)"
            " VALUES (?, ?, ?, (SELECT id FROM customer WHERE name = ?), ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    # Rows written past the store have no due times yet: opening the store once computes them,
    # as it would have kept them up to date for tickets that arrived as mail.
    with contextlib.closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("DELETE FROM meta")
    Store.open(db, load_config(config_path), FrozenClock(NOW)).close()


def _ticket_row(rng: random.Random, index: int) -> tuple:
    created = NOW - timedelta(hours=rng.expovariate(1 / 2000))  # most recent, a tail over the year
    severity = rng.choice((None, 1, 2, 2, 2)) if created > NOW - timedelta(days=2) else rng.choice((1, 2, 2, 2))
    responded = created + timedelta(hours=rng.expovariate(1 / 6))
    first_response = responded if responded < NOW and severity is not None else None
    recent = created > NOW - timedelta(days=14)
    state = rng.choice(("new", "open", "waiting", "resolved")) if recent else ("resolved" if rng.random() < 0.97 else "open")
    if first_response is None:
        state = "new"
    elif state == "new":
        state = "open"
    resolved = min(NOW, responded + timedelta(hours=rng.expovariate(1 / 30))) if state == "resolved" else None
    pauses = json.dumps([[_stored.db_value(responded), None]]) if state == "waiting" else "[]"
    name, domain = rng.choice(COMPANIES)
    return (
        rng.choice(SUBJECTS).format(v=5, repo=rng.choice(REPOS), feature=rng.choice(FEATURES)),
        f"user{index}@{domain}", rng.choice(FIRST), name, severity, state, _stored.db_value(created),
        _stored.db_value(resolved or first_response or created), _stored.db_value(first_response),
        _stored.db_value(resolved), pauses, rng.randrange(1, 9),
    )


def bench_list(count: int, folder: Path, config_path: Path) -> None:
    db = folder / "tickets.db"
    fill_tickets(db, config_path, count)
    with contextlib.closing(sqlite3.connect(db)) as connection:
        open_count = connection.execute("SELECT count(*) FROM ticket WHERE state != 'resolved'").fetchone()[0]
    print(f"\n{count:,} tickets, {open_count:,} of them not resolved", flush=True)
    base = ["--db", str(db), "--config", str(config_path), "list"]
    for label, where, items, flags in (
        ("open", " WHERE state != 'resolved'", open_count, ["--json"]),
        ("all", "", count, ["--all", "--json"]),
    ):
        baseline = timed(f"SELECT * FROM ticket ({label}) + json.dumps", items, partial(_dump_rows, db, where))
        timed(f"frontdesk list {' '.join(flags)}", items, partial(quietly, base + flags), baseline)


def _dump_rows(db: Path, where: str) -> None:
    with contextlib.closing(sqlite3.connect(db)) as connection, open(os.devnull, "w") as sink:
        cursor = connection.execute("SELECT * FROM ticket" + where)
        names = [column[0] for column in cursor.description]
        sink.write(json.dumps([dict(zip(names, row, strict=True)) for row in cursor], indent=2))


def profile_import(count: int, folder: Path, config_path: Path) -> None:
    """Where an import's time goes: the top functions by own time."""
    messages = list(generate(count, seed=SEED + 1))
    profiler = cProfile.Profile()
    profiler.runcall(ingest, folder / "profile.db", config_path, messages)
    print(f"\nprofile of Ingestor.ingest_all over {count:,} messages (top by cumulative time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="message counts to import, comma-separated")
    parser.add_argument("--tickets", type=int, default=100_000, help="tickets in the database for the list timings")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also profile importing N messages")
    args = parser.parse_args(argv)
    os.environ["FRONTDESK_NOW"] = NOW.isoformat()  # the CLI's clock, so every run lists the same clocks
    print(f"{'measurement':<44} {'items':>8} {'seconds':>9} {'items/s':>12} {'vs base':>9}")
    with tempfile.TemporaryDirectory(prefix="frontdesk-bench-") as name:
        folder = Path(name)
        config_path = write_config(folder)
        for count in (int(size) for size in args.sizes.split(",")):
            bench_import(count, folder, config_path)
        if args.tickets:
            bench_list(args.tickets, folder, config_path)
        if args.profile:
            profile_import(args.profile, folder, config_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
