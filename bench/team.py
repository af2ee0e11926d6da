"""A team on one database: N reps as separate processes, each triaging, assigning, noting,
replying, parking and resolving tickets at random, while one sync stores new mail, on SQLite and on
PostgreSQL side by side in one run.

    .venv/bin/python bench/team.py [--reps 2,5,10,20] [--seconds 60] [--tickets 10000] [--mail 5000]

Each rep looks at a ticket (reads its version), then changes it against that version, as a rep at
the inbox does. A change refused because someone else changed the ticket in between is a
*conflict* (the rep is told: that is the design working); one refused for a reason of the ticket's
own (resolving a resolved ticket) is *refused*; anything else (a lock timeout, a deadlock, a lost
connection) is an *error*. Afterwards every change a rep was told succeeded is looked up in the
event log: one missing, or a ticket whose severity, owner or state is not what its last event
says, is a *lost update*. Targets: 0 errors and 0 lost updates everywhere; p95 of a change
<= 50 ms at 10 reps on SQLite and at 20 reps on PostgreSQL. Timings are figures, never pass/fail.

PostgreSQL comes from Debian's packages (`apt-get install postgresql`), started in a temporary
folder on a free loopback port, as the tests do.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent / "tests")]
bench_import = importlib.import_module("import")  # bench/import.py: realistic mail and a config

from frontdesk.mail.ingest import Ingestor  # noqa: E402
from frontdesk.storage import usecases  # noqa: E402
from frontdesk.storage.clock import Clock  # noqa: E402
from frontdesk.storage.config import load_config  # noqa: E402
from frontdesk.storage.errors import Conflict, Held, StoreError  # noqa: E402
from frontdesk.storage.models import Event, Message, Ticket  # noqa: E402
from frontdesk.storage.store import Store  # noqa: E402

OWNERS = [("Bob Example", "bob@frontdesk.example"), ("Kim Owner", "kim@frontdesk.example")]
# How often each change comes up at the inbox, roughly: triage and notes most, resolving least.
MIX = {"triage": 30, "assign": 15, "note": 20, "reply": 15, "wait": 10, "resolve": 10}
STATE_OF = {"wait": "waiting", "resolve": "resolved"}


@dataclass(frozen=True)
class Outcome:
    rep: str
    op: str
    ticket: int
    result: str  # ok | unchanged | conflict | refused | error
    ms: float
    version: int | None  # the ticket's version after a change that succeeded
    detail: str = ""


def write_config(folder: Path) -> Path:
    path = bench_import.write_config(folder)
    owners = "".join(f'[[owners]]\nname = "{name}"\nemail = "{email}"\n\n' for name, email in OWNERS)
    path.write_text(path.read_text(encoding="utf-8") + owners, encoding="utf-8")
    return path


def seed_tickets(target: str | Path, config_path: Path, count: int) -> None:
    """`count` open tickets, written in bulk: the benchmark is about changing them, not making them."""
    store = Store.open(target, load_config(config_path), Clock())
    now = store.clock.now()
    rows = [
        dict(
            subject=f"Bench ticket {index}",
            requester_email=f"customer{index}@acme.example",
            requester_name=f"Customer {index}",
            state="new",
            created_at=now - timedelta(minutes=index % 600),
            updated_at=now,
            pauses=[],
            message_count=0,
        )
        for index in range(count)
    ]
    with store.transaction():
        for start in range(0, count, 1000):
            Ticket.insert_many(rows[start : start + 1000]).execute()
    store.close()


def rep(
    target: str | Path, config_path: Path, name: str, seconds: float, pace: float, start_at: float, seed: int, results
) -> None:
    store = Store.open(target, load_config(config_path), Clock())
    store.actor = name
    rng = random.Random(seed)
    ticket_ids = [row[0] for row in Ticket.select(Ticket.id).tuples()]
    ops, weights = list(MIX), list(MIX.values())
    outcomes: list[Outcome] = []
    time.sleep(max(0.0, start_at - time.time()))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        op, ticket_id = rng.choices(ops, weights)[0], rng.choice(ticket_ids)
        seen = Ticket.select(Ticket.version).where(Ticket.id == ticket_id).scalar()  # the rep looks
        began = time.perf_counter()
        try:
            done = _change(store, op, ticket_id, seen, rng)
            # Setting what is already set (a severity) succeeds without a change to log.
            result, version, detail = ("ok" if done.ticket.version != seen else "unchanged"), done.ticket.version, ""
        except (Conflict, Held) as conflict:  # a reply is held, not refused, when the ticket moved
            result, version, detail = "conflict", None, str(conflict)
        except StoreError as refusal:
            result, version, detail = "refused", None, str(refusal)
        except Exception as error:  # what the targets count: anything but a clean refusal
            result, version, detail = "error", None, f"{type(error).__name__}: {error}"
        outcomes.append(Outcome(name, op, ticket_id, result, (time.perf_counter() - began) * 1000, version, detail))
        if pace:
            time.sleep(rng.expovariate(1 / pace))  # the rep reads, thinks, types
    store.close()
    results.put(outcomes)


def _change(store: Store, op: str, ticket_id: int, seen: int, rng: random.Random):
    if op == "triage":
        return usecases.triage(store, ticket_id, rng.choice((1, 2)), version=seen)
    if op == "assign":
        return usecases.assign(store, ticket_id, rng.choice(OWNERS)[1], note="bench hand-off", version=seen)
    if op == "note":
        return usecases.note(store, ticket_id, f"looked at it ({rng.random():.6f})", version=seen)
    if op == "reply":
        return usecases.reply(store, ticket_id, "Thanks, we are on it.\n", version=seen)
    if op == "wait":
        return usecases.wait(store, ticket_id, version=seen)
    return usecases.resolve(store, ticket_id, version=seen)


def sync(target: str | Path, config_path: Path, count: int, start_at: float, results) -> None:
    """What a sync does to the database: parse, thread and store new mail, in its own process."""
    messages = list(bench_import.generate(count, seed=11))
    store = Store.open(target, load_config(config_path), Clock())
    time.sleep(max(0.0, start_at - time.time()))
    began = time.perf_counter()
    errors = 0
    try:
        for _ in Ingestor(store).ingest_all(("bench-sync", raw) for raw in messages):
            pass
    except Exception:  # counted with the errors; the reps go on
        errors += 1
    results.put(("sync", errors, time.perf_counter() - began))
    store.close()


def lost_updates(target: str | Path, config_path: Path, outcomes: list[Outcome]) -> Counter:
    """Changes a rep was told succeeded that the event log does not hold (by operation), and
    tickets whose severity, owner or state differ from what their last event of that kind says."""
    store = Store.open(target, load_config(config_path), Clock())
    try:
        logged = set(Event.select(Event.ticket, Event.version, Event.actor).tuples())
        lost = Counter(
            f"{o.op} not in the log" for o in outcomes if o.result == "ok" and (o.ticket, o.version, o.rep) not in logged
        )
        last: dict[tuple[int, str], object] = {}
        for ticket_id, kind, data in Event.select(Event.ticket, Event.kind, Event.data).order_by(Event.id).tuples():
            if kind in ("severity", "owner", "state"):
                last[(ticket_id, kind)] = data["to"]
        owners = {owner.id: owner.email for owner in store.owners()}
        for ticket in Ticket.select():
            now = {"severity": ticket.severity, "owner": owners.get(ticket.owner_id), "state": ticket.state}
            for kind, value in now.items():
                if (ticket.id, kind) in last and last[(ticket.id, kind)] != value:
                    lost[f"{kind} differs from its last event"] += 1
        return lost
    finally:
        store.close()


def stored_messages(target: str | Path, config_path: Path) -> int:
    store = Store.open(target, load_config(config_path), Clock())
    try:
        return Message.select().count()
    finally:
        store.close()


def run_one(backend: str, target: str | Path, config_path: Path, reps: int, args) -> dict:
    seed_tickets(target, config_path, args.tickets)
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 3.0 + reps * 0.3  # every process opened and waiting before the start
    workers = [
        context.Process(
            target=rep, args=(target, config_path, f"rep-{index}", args.seconds, args.pace, start_at, index, results)
        )
        for index in range(reps)
    ]
    workers.append(context.Process(target=sync, args=(target, config_path, args.mail, start_at, results)))
    for worker in workers:
        worker.start()
    outcomes: list[Outcome] = []
    synced = None
    for _ in workers:
        got = results.get(timeout=args.seconds + 600)
        if isinstance(got, tuple):
            synced = got
        else:
            outcomes.extend(got)
    for worker in workers:
        worker.join()
    return {
        "backend": backend,
        "reps": reps,
        "outcomes": outcomes,
        "sync": synced,
        "lost": lost_updates(target, config_path, outcomes),
        "stored": stored_messages(target, config_path),
        "seconds": args.seconds,
        "paced": f" pausing {args.pace:g} s" if args.pace else "",
    }


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(run: dict) -> None:
    outcomes: list[Outcome] = run["outcomes"]
    counts = Counter(o.result for o in outcomes)
    changes = [o.ms for o in outcomes if o.result != "error"]
    _, sync_errors, sync_seconds = run["sync"] or ("sync", 1, 0.0)
    print(
        f"\n{run['backend']:<10} {run['reps']:>2} reps{run['paced']}: {len(outcomes) / run['seconds']:7.1f} changes/s"
        f"  p50 {_percentile(changes, 0.5):6.1f} ms  p95 {_percentile(changes, 0.95):6.1f} ms"
        f"  p99 {_percentile(changes, 0.99):6.1f} ms   ok {counts['ok']}, conflicts {counts['conflict']},"
        f" refused {counts['refused']}, errors {counts['error'] + sync_errors}, lost updates {sum(run['lost'].values())}"
    )
    print(f"{'':14}sync stored {run['stored']} messages in {sync_seconds:.1f} s alongside")
    for what, count in run["lost"].most_common():
        print(f"{'':14}lost x{count}: {what}")
    by_op: dict[str, list[float]] = defaultdict(list)
    for o in outcomes:
        by_op[o.op].append(o.ms)
    for op in MIX:
        values = by_op.get(op, [])
        print(
            f"{'':14}{op:<8} n={len(values):<6} p50 {_percentile(values, 0.5):6.1f}  p95 {_percentile(values, 0.95):6.1f}"
            f"  p99 {_percentile(values, 0.99):6.1f} ms"
        )
    errors = Counter(o.detail for o in outcomes if o.result == "error")
    for detail, count in errors.most_common(3):
        print(f"{'':14}error x{count}: {detail[:150]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", default="2,5,10,20", help="rep counts to run, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the reps work, per run")
    parser.add_argument("--tickets", type=int, default=10_000, help="open tickets to work on")
    parser.add_argument("--mail", type=int, default=5_000, help="messages the sync stores meanwhile")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pace", type=float, default=0.0,
        help="mean seconds a rep pauses between changes (0: flat out, a stress test; a person takes several)",
    )
    args = parser.parse_args(argv)
    backends = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="frontdesk-team-") as scratch:
        folder = Path(scratch)
        folder.chmod(0o755)  # PostgreSQL, run as its own user when we are root, reads below it
        config_path = write_config(folder)
        server = None
        if "postgresql" in backends:
            pgserver = importlib.import_module("pgserver")  # tests/pgserver.py: the tests' throwaway server
            server = pgserver.PostgresServer(folder / "pg", pgserver._bin_dir())
            (folder / "pg").mkdir()
            server.start()
        try:
            for reps in (int(n) for n in args.reps.split(",")):
                for backend in backends:
                    target = folder / f"team-{reps}.db" if backend == "sqlite" else server.new_database()
                    report(run_one(backend, target, config_path, reps, args))
        finally:
            if server is not None:
                server.stop("immediate")
    return 0


if __name__ == "__main__":
    sys.exit(main())
