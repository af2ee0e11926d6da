"""The stats screen, driven by the pilot on the demo mailbox with a frozen clock."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from importlib.resources import files
from pathlib import Path

import pytest
from peewee import OperationalError
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static
from textual.worker import WorkerFailed

from frontdesk.mail.demo import build_demo
from frontdesk.mail.ingest import Ingestor
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.rotation import rotation_summary, to_markdown
from frontdesk.storage.sla import format_span
from frontdesk.storage.stats import compute_stats
from frontdesk.storage.store import Store
from frontdesk.tui.stats_screen import StatsScreen

from conftest import NOW  # Wednesday 25 November 2026, 15:00 UTC: 10:00 at the demo's desk in New York

HOSTILE = "[bold red]x[/] and [/foo] [JIRA-123]"


class Host(App):
    """Just enough app to push the screen, the way the inbox does with `S`."""

    CSS_PATH = str(files("frontdesk.styles") / "stats.tcss")

    def __init__(self, store: Store, export_dir: Path | None = None) -> None:
        super().__init__()
        self.store, self.export_dir = store, export_dir

    def on_mount(self) -> None:
        self.title = "frontdesk"
        self.push_screen(StatsScreen(self.store, export_dir=self.export_dir))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Store]:
    config_path, db_path = build_demo(tmp_path / "demo", NOW)
    store = Store.open(db_path, load_config(config_path), FrozenClock(NOW))
    yield store
    store.close()


async def settle(pilot: Pilot) -> None:
    """Until the worker's figures are on screen."""
    with contextlib.suppress(WorkerFailed):  # the screen shows a failed load; tests look there
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def drive(app: Host, script: Callable[[Pilot, StatsScreen], Awaitable[None]], size: tuple[int, int] = (100, 30)) -> None:
    """Run the app headless through script (there is no asyncio plugin for pytest here)."""

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StatsScreen)
            await script(pilot, screen)

    asyncio.run(main())


def shown(screen: StatsScreen, name: str) -> str:
    return str(screen.query_one(f"#{name}", Static).content)


def test_figures_match_compute_stats(demo):
    stats = compute_stats(demo.views(include_resolved=True))

    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        tickets = stats["tickets"]
        assert shown(screen, "stats-title") == (
            f"Stats · Wed 25 Nov 10:00 · {tickets['total']} tickets, {tickets['automated']} automated · "
            f"{tickets['untriaged_open']} untriaged and open"
        )
        times = shown(screen, "stats-times").splitlines()
        for line, (label, key) in zip(times[1:], (("Response", "response_time"), ("Resolution", "resolution_time")), strict=True):
            spread = stats[key]
            median, p90 = (format_span(timedelta(seconds=spread[name])) for name in ("median_seconds", "p90_seconds"))
            assert line.split() == [label, *median.split(), *p90.split(), str(spread["count"])]
        rows = [line.split() for line in shown(screen, "stats-attainment").splitlines()[1:]]
        s1 = stats["attainment"]["1"]
        assert rows[0][:5] == ["S1", str(s1["tickets"]), "response", str(s1["response"]["met"]), str(s1["response"]["missed"])]
        assert rows[0][-1] == f"{s1['response']['rate'] * 100:.0f}%"
        untriaged = stats["attainment"]["untriaged"]["response"]
        assert rows[-1][:1] + rows[-1][2:5] == ["Untriaged", "response", str(untriaged["met"]), str(untriaged["missed"])]
        assert len(rows) == 5  # S1 and S2 with both targets, untriaged with a response target only

    drive(Host(demo), script)


def test_the_meter_reads_without_colour(demo):
    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        s1_response = shown(screen, "stats-attainment").splitlines()[1]
        assert "████████████████████ 100%" in s1_response or "░" in s1_response

    drive(Host(demo), script)


def test_week_navigation_changes_the_summary(demo):
    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        assert shown(screen, "stats-week") == "Week 2026-W48 · Mon 23 Nov – Sun 29 Nov 2026 (America/New_York) · so far"
        assert re.search(r"Tickets received +18 ", shown(screen, "stats-figures"))
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert shown(screen, "stats-week") == "Week 2026-W47 · Mon 16 Nov – Sun 22 Nov 2026 (America/New_York)"
        assert re.search(r"Tickets received +10 ", shown(screen, "stats-figures"))
        assert "Tanaka Systems" in shown(screen, "stats-breaches")
        await pilot.press("right")
        await settle(pilot)
        assert screen.week.label == "2026-W48"
        await pilot.press("right_square_bracket")  # no later week than the current one
        await settle(pilot)
        assert screen.week.label == "2026-W48"

    drive(Host(demo), script)


def test_export_writes_the_hand_over_note(demo, tmp_path):
    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        await pilot.press("[")
        await settle(pilot)
        await pilot.press("e")
        await pilot.pause()

    drive(Host(demo, export_dir=tmp_path), script)
    written = tmp_path / "frontdesk-rotation-2026-W47.md"
    assert written.read_text(encoding="utf-8") == to_markdown(rotation_summary(demo, NOW.date() - timedelta(days=7)))


@pytest.mark.parametrize("has_documents", [True, False])
def test_export_goes_to_the_documents_folder_else_the_data_folder_and_says_where(demo, tmp_path, monkeypatch, has_documents):
    home, started_in = tmp_path / "home", tmp_path / "started-here"
    started_in.mkdir()
    monkeypatch.chdir(started_in)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    if has_documents:
        (home / "Documents").mkdir(parents=True)
    notes: list[str] = []

    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        await pilot.press("e")
        await pilot.pause()
        notes.extend(str(n.message) for n in pilot.app._notifications)

    drive(Host(demo), script)
    folder = home / "Documents" if has_documents else home / ".local/share/frontdesk"
    path = folder / "frontdesk-rotation-2026-W48.md"
    assert path.read_text(encoding="utf-8").startswith("# Front-line hand-over, week 2026-W48\n")
    assert notes == [f"Hand-over note written to {path}"] and path.is_absolute()
    assert list(started_in.iterdir()) == []


def test_hostile_subjects_show_literally(demo, mail):
    Ingestor(demo).ingest(mail(subject=HOSTILE, sender="Mallory <m@hooli.example>", date=NOW), "test", received_at=NOW)

    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        assert f"Hooli · {HOSTILE}" in shown(screen, "stats-untriaged")
        assert "Hooli · [bold red]URGENT[/] everyone logged out" in shown(screen, "stats-untriaged")

    drive(Host(demo), script, size=(160, 40))


def test_the_palette_offers_the_keys(demo):
    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        commands = {command.title: command.help for command in screen.palette_commands()}
        assert commands["Prev week"] == "Prev week (key [)" and "Export note" in commands

    drive(Host(demo), script)


def test_a_failed_load_is_told_not_fatal(demo, monkeypatch):
    def locked(include_resolved: bool = False):
        raise OperationalError("database is locked")

    monkeypatch.setattr(demo, "views", locked)

    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        assert shown(screen, "stats-week") == "Could not load the stats: database is locked"
        assert pilot.app.is_running

    drive(Host(demo), script)


def test_escape_goes_back(demo):
    async def script(pilot: Pilot, screen: StatsScreen) -> None:
        await pilot.press("escape")
        assert not isinstance(pilot.app.screen, StatsScreen)

    drive(Host(demo), script)


def test_snapshot_80x24(demo, snap_compare):
    assert snap_compare(Host(demo), terminal_size=(80, 24), run_before=settle)
