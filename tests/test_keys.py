"""One table of keys (tui/keys.py): the bindings, the footer, the palette and the help all come
from it, and a keymap moves a key everywhere at once."""

from __future__ import annotations

import io
import re

from rich.console import Console
from test_modals import screen_text
from textual.command import CommandList, CommandPalette

from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.help_screen import HelpScreen, help_text
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.keys import ACTIONS, INBOX, TICKET
from frontdesk.tui.modals import SeverityScreen
from frontdesk.tui.ticket_screen import TicketScreen

from conftest import run_app, settle


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


def footer_line(app) -> str:
    return screen_text(app).splitlines()[-1]


def shown_help(app) -> str:
    assert isinstance(app.screen, HelpScreen)
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(help_text(app.screen.keys))
    return console.export_text()


def test_every_key_of_both_screens_is_a_row_of_the_table_with_its_id():
    for screen, where in ((InboxScreen, INBOX), (TicketScreen, TICKET)):
        ids = [binding.id for binding in screen.BINDINGS]
        assert None not in ids, "every binding can be moved by a keymap"
        assert ids == [action.id for action in ACTIONS if action.keys and where in action.where]


def test_note_undo_and_stats_are_in_the_footer_when_there_is_room(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        footer = footer_line(app)
        for key in ("n Note", "u Undo", "S Stats", "? Keys", "q Quit"):
            assert key in footer

    run_app(app, script, size=(120, 40))


def test_a_keymap_moves_a_key_in_the_footer_the_palette_and_the_help(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        app.set_keymap({"severity": "v"})
        await settle(pilot)
        assert "v Severity" in footer_line(app) and "s Severity" not in footer_line(app)
        helps = {command.title: command.help for command in app.screen.palette_commands()}
        assert helps["Set severity (triage, priority)"].endswith("(key v)")
        await pilot.press("question_mark")
        await pilot.pause()
        assert any(line.strip().startswith("v ") and "set severity" in line for line in shown_help(app).splitlines())
        await pilot.press("escape", "v")
        await settle(pilot)
        assert isinstance(app.screen, SeverityScreen)

    run_app(app, script)


def test_the_help_on_a_ticket_shows_its_keys_and_the_inbox_ones_under_it(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        text = shown_help(app)
        assert "esc q" in text and "back to the inbox" in text
        assert "Mine: the tickets you own" in text  # the views' keys, from the inbox under it

    run_app(app, script)


def test_the_help_explains_what_the_columns_can_say(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        rows = {line.split()[0]: line for line in shown_help(app).splitlines() if line.strip()}
        assert "on track" in rows["ok"]
        assert "automatic reply" in rows["auto"]
        assert "not triaged" in rows["?"]
        assert "Columns" in rows

    run_app(app, script)


def test_view_commands_read_as_sentences(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        helps = {command.title: command.help for command in app.screen.palette_commands()}
        assert helps["View: Mine"] == "Mine: the tickets you own (key 3)"
        assert not any(re.search(r"Show \w+ tickets", help) for help in helps.values())  # "Show mine tickets"

    run_app(app, script)


def test_typing_assign_in_the_palette_finds_hand_off(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"assign")
        for _ in range(20):  # the palette searches in the background
            await pilot.pause(0.05)
        results = app.screen.query_one(CommandList)
        titles = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        assert titles and "Hand off (assign to an owner)" in titles[0]

    run_app(app, script)
