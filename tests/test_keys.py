"""One table of keys (tui/keys.py): the bindings, the footer, the palette and the help all come
from it, and a keymap moves a key everywhere at once."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console
from test_modals import screen_text
from textual.command import CommandList, CommandPalette

from frontdesk.storage import usecases
from frontdesk.storage.config import ConfigError, load_config
from frontdesk.storage.errors import Held, Seen
from frontdesk.storage.store import StoreError
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.cli import main
from frontdesk.tui.help_screen import HelpScreen, help_text
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.keymap import keymap
from frontdesk.tui.keys import ACTIONS, INBOX, TICKET, KeysFooter
from frontdesk.tui.modals import SeverityScreen
from frontdesk.tui.ticket_screen import TicketScreen

from conftest import notices, run_app, settle


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


def footer_line(app) -> str:
    return screen_text(app).splitlines()[-1]


def shown_help(app) -> str:
    assert isinstance(app.screen, HelpScreen)
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(help_text(app.screen.keys, app.config.macros))
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


def test_the_footer_is_rebuilt_only_when_its_keys_would_change(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        footer = app.screen.query_one(KeysFooter)
        keys = list(footer.children)
        await footer.recompose()  # what a focus change or a resize to the same width asks for
        assert list(footer.children) == keys, "the same key widgets, not new ones"
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert list(footer.children) != keys and "? Keys" in footer_line(app)

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


def test_the_help_tells_how_to_write_in_your_own_editor(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("question_mark")
        await pilot.pause()
        lines = shown_help(app).splitlines()
        assert any(line.split()[:1] == ["R"] and "reply in your own editor ($VISUAL" in line for line in lines)
        assert any(line.split()[:1] == ["ctrl+e"] and "write it in your own editor" in line for line in lines)

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


# --- [keys] and [[macros]] from the config ------------------------------------------------------


def configured(store, tmp_path, text: str):
    """`store`, its config (the demo's, the demo_store fixture writes it under tmp_path/demo) with `text` added."""
    path = tmp_path / "demo" / "config.toml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
    store.config = load_config(path, system=False)
    return store


def keymap_error(tmp_path, text: str) -> str:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        keymap(load_config(path, system=False))
    return str(caught.value).removeprefix(f"{path}: ")


def test_a_keys_config_moves_keys_in_the_footer_the_help_and_for_the_fingers(demo_store, tmp_path):
    store = configured(demo_store, tmp_path, '[keys]\nseverity = "v"\nmark-range = "V"\nhelp = ["?", "f1"]\n')
    app = inbox_app(store)

    async def script(pilot):
        assert "v Severity" in footer_line(app) and "s Severity" not in footer_line(app)
        await pilot.press("f1")
        await pilot.pause()
        assert any(line.strip().startswith("v ") and "set severity" in line for line in shown_help(app).splitlines())
        await pilot.press("escape", "s")
        await settle(pilot)
        assert not isinstance(app.screen, SeverityScreen)  # s no longer sets the severity
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, SeverityScreen)

    run_app(app, script)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('[keys]\nresolv = "X"', "[keys] resolv: no such action (did you mean resolve?)"),
        ('[keys]\nresolve = "r"', '[keys] resolve = "r" clashes with reply (r)'),
        ('[keys]\nreply = ["r", "x"]', '[keys] reply = ["r", "x"] clashes with resolve (x)'),
        ('[keys]\nresolve = "j"', "[keys] resolve = \"j\" clashes with the list's Down (j)"),
        ('[keys]\nresolve = "ctrl+p"', "[keys] resolve = \"ctrl+p\" clashes with the app's command palette (ctrl+p)"),
        ('[keys]\nback = "x"', '[keys] back = "x" clashes with resolve (x)'),
        ('[[macros]]\nname = "close"\nkey = "n"\nsnippet = "resolved"',
         '[[macros]] name = "close", key = "n" clashes with note (n)'),
        ('[keys]\nresolve = "Z"\n[[macros]]\nname = "close"\nkey = "Z"\nsnippet = "resolved"',
         '[keys] resolve = "Z" clashes with the macro "close" (Z)'),
    ],
)
def test_an_unknown_action_or_a_clash_is_one_line_naming_both(tmp_path, text, line):
    assert keymap_error(tmp_path, text) == line


def test_keys_clash_only_on_the_screen_where_both_apply(tmp_path):
    path = tmp_path / "keys.toml"
    # J is the next ticket on the ticket screen only; search is the inbox's; the composer's own
    # ctrl+r (quote the newest) is on its own screen.
    path.write_text('[keys]\nsearch = "J"\nreply = ["r", "ctrl+r"]\nresolve = "X"\n', encoding="utf-8")
    assert keymap(load_config(path, system=False)) == {"search": "J", "reply": "r,ctrl+r", "resolve": "X"}


def test_a_clashing_keys_config_stops_the_inbox_with_one_line_and_status_2(tmp_path, capsys):
    path = tmp_path / "config.toml"
    path.write_text('[keys]\nresolve = "r"\n', encoding="utf-8")
    assert main(["--config", str(path), "--db", str(tmp_path / "x.db")]) == 2
    assert capsys.readouterr().err == f'frontdesk: {path}: [keys] resolve = "r" clashes with reply (r)\n'


MACRO = '[[macros]]\nname = "Resolved, and close"\nkey = "Z"\nsnippet = "resolved"\nthen = "resolve"\n'


def test_a_macro_queues_its_snippet_then_resolves_and_one_u_undoes_both(demo_store, tmp_path):
    """In the demo nothing is sent, so the reply is still in the outbox when u takes it back (once
    sent, mail can't be unsent: undo then says so and puts back the state alone)."""
    store = configured(demo_store, tmp_path, MACRO)
    app = inbox_app(store)

    async def script(pilot):
        ticket = app.screen.current_ticket()
        store.discard_draft(ticket.id)  # a draft in progress holds a macro back (its own test below)
        expected = store.render_snippet(ticket.id, "resolved")
        await pilot.press("Z")
        await settle(pilot)
        assert [(entry.kind, entry.body) for entry in store.outbox(ticket.id)] == [("reply", expected)]
        assert store.view(ticket.id).state == "resolved"
        assert f"#{ticket.id} " in notices(app)[-1] and "is resolved" in notices(app)[-1]
        await pilot.press("u")
        await settle(pilot)
        assert store.outbox(ticket.id) == []
        assert store.view(ticket.id).state == ticket.state
        assert app.undo_steps == []

    run_app(app, script)


def test_a_macro_is_in_the_help_and_the_palette(demo_store, tmp_path):
    store = configured(demo_store, tmp_path, MACRO + '[[macros]]\nname = "Logs, please"\nsnippet = "logs"\nthen = "waiting"\n')
    app = inbox_app(store)

    async def script(pilot):
        helps = {command.title: command.help for command in app.screen.palette_commands()}
        assert helps["Macro: Resolved, and close"] == 'Resolved, and close: reply with the snippet "resolved", then resolve (key Z)'
        assert helps["Macro: Logs, please"] == 'Logs, please: reply with the snippet "logs", then waiting on the customer'
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Macros" in screen_text(app)  # the help screen itself shows them
        lines = [line.strip() for line in shown_help(app).splitlines()]
        section = lines[lines.index("Macros") + 1:]
        assert section[0].startswith("Z") and "Resolved, and close" in section[0]
        assert section[1].startswith("ctrl+p") and "Logs, please" in section[1]

    run_app(app, script)


def test_a_macro_leaves_a_draft_in_progress_alone(demo_store, tmp_path):
    store = configured(demo_store, tmp_path, MACRO)
    ticket = store.views()[0]
    store.save_draft(ticket.id, "Half a sentence")
    with pytest.raises(StoreError, match="has a draft in progress"):
        usecases.reply_then(store, ticket.id, "resolved", "resolve")
    assert store.draft(ticket.id) == "Half a sentence" and store.outbox(ticket.id) == []


def test_the_readme_names_every_action_id_and_its_example_keys_are_valid():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    ids = readme.split("Your own keys:", 1)[1].split("An unknown id", 1)[0]
    named = set(re.findall(r"`([a-z-]+)`", ids))
    views = {action.id for action in ACTIONS if action.id.startswith("view-")}
    assert {action.id for action in ACTIONS if action.keys} - views <= named
    full = Path(__file__).parent / "fixtures" / "config" / "full.toml"
    assert keymap(load_config(full, environ={})) == {"resolve": "X", "reply": "r,ctrl+r"}


def test_a_macro_is_held_like_any_reply_when_the_ticket_moved_since_it_was_seen(demo_store):
    ticket = next(view for view in demo_store.views() if view.state not in ("waiting", "resolved"))
    demo_store.discard_draft(ticket.id)
    seen = Seen(version=ticket.version)
    usecases.wait(demo_store, ticket.id)  # someone else set it waiting meanwhile
    with pytest.raises(Held):
        usecases.reply_then(demo_store, ticket.id, "resolved", "resolve", seen=seen)
    assert demo_store.outbox(ticket.id) == [] and demo_store.view(ticket.id).state == "waiting"
