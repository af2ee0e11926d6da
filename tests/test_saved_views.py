"""Saved views ([[views]] in the config): tabs after the inbox's own, with their counts and keys,
in the palette and the help, and refused at start-up when their key is another action's."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from frontdesk.mail.demo import build_demo
from frontdesk.storage.config import ConfigError, load_config
from frontdesk.storage.find import find
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.help_screen import HelpScreen, help_text
from frontdesk.tui.keymap import keymap
from frontdesk.tui.ticket_table import URGENCY, Sort, TicketTable

from conftest import run_app, settle

VIEWS = """
[[views]]
name = "Globex"
key = "9"
query = "customer:globex"
sort = "age"

[[views]]
name = "From Grace"
key = "0"
query = "from:grace"
"""


@pytest.fixture
def views_store(tmp_path, clock):
    """The demo mailbox (SQLite), its config with two saved views: one decided on each row, one
    (from:) only by the store."""
    config_file, db_file = build_demo(tmp_path / "demo", clock.now())
    config_file.write_text(config_file.read_text(encoding="utf-8") + VIEWS, encoding="utf-8")
    opened = Store.open(db_file, load_config(config_file), clock)
    yield opened
    opened.close()


def tabs_text(app) -> str:
    return app.screen.query_one("#tabs").render().plain


def test_a_saved_view_is_a_tab_with_its_count_and_key_and_shows_its_tickets(views_store):
    app = FrontdeskApp(views_store, demo=True, state_file=None)
    globex = find(views_store, "customer:globex")
    grace = find(views_store, "from:grace")
    assert len(globex) == 4 and len(grace) == 1

    async def script(pilot):
        assert "9 Globex 4" in tabs_text(app) and "0 From Grace 1" in tabs_text(app)
        assert tabs_text(app).index("8 Out") < tabs_text(app).index("9 Globex"), "after the built-in ones"
        table = app.screen.query_one(TicketTable)
        await pilot.press("9")
        await settle(pilot)
        assert [row.id for row in table.rows] == [row.id for row in sorted(globex, key=lambda row: row.created_at)]
        assert table.sort == Sort("age", descending=True), "the header says how the view is sorted"
        await pilot.press("0")
        await settle(pilot)
        assert [row.id for row in table.rows] == [grace[0].id] and table.sort == URGENCY
        await pilot.press("9", "greater_than_sign", "1")  # the rep's sort in a saved view stays there
        await settle(pilot)
        assert table.sort == URGENCY and [row.id for row in table.rows] == [row.id for row in find(views_store, "")]
        await pilot.press("slash", *"production")  # a search narrows the saved views too
        await settle(pilot)
        assert "9 Globex 1" in tabs_text(app) and "0 From Grace 0" in tabs_text(app)

    run_app(app, script)


def test_a_saved_view_is_in_the_palette_and_the_help(views_store):
    app = FrontdeskApp(views_store, demo=True, state_file=None)

    async def script(pilot):
        helps = {command.title: command.help for command in app.screen.palette_commands()}
        assert helps["View: Globex"] == "Saved view: customer:globex (key 9)"
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(help_text(app.screen.keys, views=views_store.config.views))
        shown = console.export_text()
        assert "9          Globex: customer:globex" in shown and "0          From Grace: from:grace" in shown

    run_app(app, script)


def test_the_narrowest_tabs_count_the_saved_views_that_do_not_fit(views_store):
    app = FrontdeskApp(views_store, demo=True, state_file=None)

    async def script(pilot):
        line = tabs_text(app)
        assert len(line) <= 80 and line.rstrip().endswith("+2") and "8 Out" in line
        await pilot.press("9")
        await settle(pilot)
        line = tabs_text(app)
        assert len(line) <= 80 and "9 Globex 4" in line, "the active one stays"
        assert line.startswith("1 Open 22 2 Triage 7 "), "the first built-in tabs keep their names"
        assert re.search(r"\+\d+$", line.rstrip()), "the tabs left out are counted"

    run_app(app, script, size=(80, 24))


def test_a_saved_view_key_another_action_has_is_refused(tmp_path):
    config_file = tmp_path / "config.toml"
    config_file.write_text('[[views]]\nname = "Replies"\nkey = "r"\nquery = "has:draft"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'\[\[views\]\] name = "Replies", key = "r" clashes with reply \(r\)'):
        keymap(load_config(config_file))
