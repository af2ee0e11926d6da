"""Shared fixtures: a frozen clock, a configuration written as TOML, a throwaway store, and a
builder for raw messages."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.utils
import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pgserver import postgres_server, postgres_url  # noqa: F401
from textual.drivers.headless_driver import HeadlessDriver
from textual.worker import WorkerCancelled

from frontdesk.mail.demo import build_demo
from frontdesk.storage import config as config_module
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import Config, load_config
from frontdesk.storage.store import Store, StoreError
from frontdesk.tui import inbox as inbox_module

# Wednesday 25 November 2026, 15:00 UTC: a working day with a weekend and a holiday (Dec 25) ahead.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)

CONFIG_TOML = """
[support]
address = "support@example.com"
display_name = "Example Support"
rep_name = "Dana Rep"

[business_hours]
timezone = "UTC"
workdays = ["mon", "tue", "wed", "thu", "fri"]
holidays = ["2026-12-25"]

[sla.policies.elite]
sev1 = { response = "4h", resolution = "24h" }
sev2 = { response = "2bd" }

[[customers]]
name = "Elite Co"
domains = ["elite.example"]
policy = "elite"

[[customers]]
name = "Acme"
domains = ["acme.example"]

[[owners]]
name = "Bob Example"
email = "bob@example.com"
team = "Distribution"
areas = ["kubernetes", "helm", "upgrades"]
"""


@pytest.fixture(autouse=True)
def no_system_config(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read this machine's /etc/frontdesk: the system layer is an empty file (also for
    the frontdesk processes tests start) unless a test names another."""
    empty = tmp_path_factory.getbasetemp() / "system-config.toml"
    empty.touch()
    empty.chmod(0o644)
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG_PATH", empty.parent / "no-system-config.toml")
    monkeypatch.setenv(config_module.SYSTEM_ENV_VAR, str(empty))


@pytest.fixture(autouse=True)
def truecolor_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The terminal running the tests does not choose the app's colours (16 of them pick the ANSI
    theme): a truecolor one, and no NO_COLOR, unless a test says otherwise."""
    monkeypatch.setenv("COLORTERM", "truecolor")
    monkeypatch.delenv("NO_COLOR", raising=False)


@pytest.fixture(autouse=True)
def own_state_folder(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """What frontdesk keeps between runs (drafts kept while the database is away) stays in the test's folders."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


KEEP_LONG_LIVED = inbox_module.keep_long_lived


class CollectorLeftAlone(inbox_module.LongLived):
    """The inbox's loads leave the garbage collector as it is."""

    def __call__(self) -> None:
        pass

    def loading(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


@pytest.fixture(autouse=True)
def no_collection_per_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbox freezes what each load built and runs a full garbage collection now and then
    (inbox.keep_long_lived): in the app's own process a fraction of a second, here a walk over
    every object the whole test session holds, and frozen objects never freed. The tests of it
    use the real one (test_inbox.py)."""
    monkeypatch.setattr(inbox_module, "keep_long_lived", CollectorLeftAlone())


@pytest.fixture
def suspendable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pilot's headless driver handing the terminal over, as a real terminal's driver does (Textual's
    own refuses: App.suspend raises SuspendNotSupported). An editor run meanwhile runs for real."""
    monkeypatch.setattr(HeadlessDriver, "can_suspend", property(lambda driver: True))


class Monotonic:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def mono() -> Monotonic:
    return Monotonic()


def as_someone_else(store: Store, name: str = "Sam Lee") -> Store:
    """Another rep's session on the same database and connection: only who acts differs."""
    other = copy.copy(store)
    other.actor = name
    return other


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML, encoding="utf-8")
    return path


@pytest.fixture
def config(config_path: Path) -> Config:
    return load_config(config_path)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path: Path) -> Path | str:
    """Where a test's store lives: a SQLite file, and again a database on a real PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "tickets.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database: Path | str, config: Config, clock: FrozenClock) -> Store:
    opened = Store.open(database, config, clock)
    yield opened
    opened.close()


_ids = itertools.count(1)


def build_mail(
    subject: str = "Search is down",
    sender: str = "Alice Customer <alice@acme.example>",
    to: str = "support@example.com",
    body: str = "Our search stopped returning results this morning.",
    date: datetime = NOW,
    message_id: str | None = None,
    in_reply_to: str | None = None,
    **extra: str,
) -> bytes:
    """Raw RFC 5322 bytes for a plain message; other headers as keyword arguments (Auto_Submitted=...)."""
    headers = {
        "From": sender,
        "To": to,
        "Subject": subject,
        "Date": email.utils.format_datetime(date),
        "Message-ID": f"<{message_id or f'm{next(_ids)}@acme.example'}>",
    }
    if in_reply_to:
        headers["In-Reply-To"] = f"<{in_reply_to}>"
        headers["References"] = f"<{in_reply_to}>"
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (head + "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture
def mail() -> Callable[..., bytes]:
    return build_mail


@pytest.fixture
def demo_store(tmp_path: Path, database: Path | str, clock: FrozenClock) -> Store:
    """The demo mailbox as of NOW, on a frozen clock, on each backend."""
    config_file, db_file = build_demo(tmp_path / "demo", clock.now(), None if isinstance(database, Path) else database)
    opened = Store.open(db_file, load_config(config_file), clock)
    yield opened
    opened.close()


def run_app(app, script, size: tuple[int, int] = (120, 40)) -> None:
    """Drive a Textual app headless: `script(pilot)` is an async function of the pilot."""

    async def drive() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await script(pilot)

    asyncio.run(drive())


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """For what another process or thread does: True as soon as it holds, False after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


async def until(pilot, condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """wait_until for a Pilot script: the app's loop keeps running meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await pilot.pause(0.05)
    return condition()


def run_at_once(stores: list[Store], attempts: list[Callable[[], object]]) -> list[object]:
    """Each attempt in its own thread (its own database connection), released together."""
    results: list[object] = [None] * len(attempts)
    start = threading.Barrier(len(attempts))

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = attempts[index]()
        except StoreError as error:
            results[index] = error
        finally:
            for store in stores:
                store.release()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def notices(app) -> list[str]:
    """What the app has told the rep in notifications, oldest first."""
    return [str(notification.message) for notification in app._notifications]


async def settle(pilot) -> None:
    """Let background store work finish and its results reach the screen. Work of a screen that
    closed meanwhile is cancelled with it (even the work whose result closed it)."""
    for _ in range(3):
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.fixture
def snippet_folder(tmp_path: Path, config_path: Path) -> tuple[Path, Path]:
    """(a config file naming a snippets folder, that folder), the folder holding restart.md."""
    folder = tmp_path / "snippets"
    folder.mkdir()
    (folder / "restart.md").write_text("# Restart the indexer\n\nHi {first_name},\n\nPlease restart the indexer.\n")
    with_folder = tmp_path / "with-folder.toml"
    with_folder.write_text(config_path.read_text().replace("[support]\n", f'[support]\nsnippets_dir = "{folder}"\n'))
    return with_folder, folder
