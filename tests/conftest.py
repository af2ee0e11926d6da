"""Shared fixtures: a frozen clock, a configuration written as TOML, a throwaway store, and a
builder for raw messages."""

from __future__ import annotations

import asyncio
import email.utils
import itertools
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest

from frontdesk.mail.demo import build_demo
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import Config, load_config
from frontdesk.storage.store import Store

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


@pytest.fixture
def store(tmp_path: Path, config: Config, clock: FrozenClock) -> Store:
    opened = Store.open(tmp_path / "tickets.db", config, clock)
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
def demo_store(tmp_path: Path, clock: FrozenClock) -> Store:
    """The demo mailbox as of NOW, on a frozen clock."""
    config_file, db_file = build_demo(tmp_path / "demo", clock.now())
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


async def settle(pilot) -> None:
    """Let background store work finish and its results reach the screen."""
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
