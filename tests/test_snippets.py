"""Snippets: safe placeholder filling, the built-ins the issue asks for, and the team's folder."""

import pytest

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import snippets as snippets_module
from frontdesk.storage import store as store_module
from frontdesk.storage.config import load_config
from frontdesk.storage.snippets import (
    BUILT_IN_SNIPPETS,
    Filled,
    SnippetError,
    fill,
    fill_for_editing,
    load_snippet_dir,
    placeholders,
)
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.modals import SnippetPickerScreen

from conftest import notices, run_app, settle

VALUES = {"first_name": "Alice", "ticket_id": "12", "rep_name": "Dana", "owner_name": None}


def test_the_issue_s_built_ins_exist():
    assert {"ack", "docs", "handoff", "logs", "call"} <= set(BUILT_IN_SNIPPETS)


def test_fill_substitutes_names_only():
    assert fill("Hi {first_name}, ticket #{ticket_id}.", VALUES) == "Hi Alice, ticket #12."


def test_a_value_is_inserted_as_it_is_never_filled_again():
    assert fill("Hi {first_name}", {"first_name": "{rep_name}", "rep_name": "x"}) == "Hi {rep_name}"


@pytest.mark.parametrize(
    "body",
    [
        "{ticket_id.__class__}",
        "{ticket_id.__class__.__init__.__globals__}",
        "{first_name[0]}",
        "{First_Name}",
        "{ first_name }",
        "{unknown}",
    ],
)
def test_anything_that_looks_like_a_placeholder_but_is_not_one_we_fill_is_refused(body):
    with pytest.raises(SnippetError, match="does not fill"):
        fill(f"Hi {body}", VALUES)


@pytest.mark.parametrize("body", ['{"replicas": 3}', "if (x) { return; }", "{}", "{0}", "a } b {", "{{ .Values.image }}"])
def test_other_braces_are_ordinary_text(body):
    assert fill(body, VALUES) == body
    assert placeholders(body) == []


def test_a_placeholder_without_a_value_refuses():
    with pytest.raises(SnippetError, match="needs owner_name, which this ticket does not have"):
        fill("I've brought in {owner_name}.", VALUES)


def test_the_docs_link_is_written_by_hand_in_the_editor_only():
    body = BUILT_IN_SNIPPETS["docs"][1]
    values = {**VALUES, "owner_team": None, "support_name": "Support"}
    with pytest.raises(SnippetError, match=r"needs \{link\} written by hand"):
        fill(body, values)
    filled = fill(body, values, editable=True)
    assert filled.startswith("Hi Alice,") and "{link}" in filled and placeholders(filled) == ["{link}"]


def test_the_cursor_marker_is_never_sent_and_places_the_cursor_in_the_editor():
    body = "Hi {first_name},\n\nCould you {cursor}?\n\nBest,\n{rep_name}"
    assert fill(body, VALUES) == "Hi Alice,\n\nCould you ?\n\nBest,\nDana"
    assert fill_for_editing(body, VALUES) == Filled("Hi Alice,\n\nCould you ?\n\nBest,\nDana", len("Hi Alice,\n\nCould you "))


def test_a_value_that_says_cursor_does_not_move_the_cursor():
    filled = fill_for_editing("Hi {first_name}, {cursor}thanks.", {"first_name": "{cursor}x"})
    assert filled == Filled("Hi {cursor}x, thanks.", len("Hi {cursor}x, "))


def test_without_the_marker_the_cursor_goes_below_a_greeting_else_to_the_start():
    assert fill_for_editing(BUILT_IN_SNIPPETS["call"][1], VALUES).cursor == len("Hi Alice,\n\n")
    assert fill_for_editing("Thanks.\nBest,\n{rep_name}", VALUES).cursor == 0
    assert fill_for_editing("Thanks, {rep_name}", VALUES).cursor == 0


def test_placeholders_lists_each_once_in_order():
    assert placeholders("{b} {a} {b} {x.y}") == ["{b}", "{a}", "{x.y}"]


def test_every_built_in_fills_with_the_store_s_values():
    values = {
        "first_name": "Alice", "ticket_id": "1", "rep_name": "Dana", "owner_name": "Bob",
        "owner_team": "Distribution", "support_name": "Support",
    }
    for name, (title, body) in BUILT_IN_SNIPPETS.items():
        filled = fill(body, values, editable=True)
        assert title and set(placeholders(filled)) <= {"{link}"}, name


def test_load_snippet_dir(tmp_path):
    (tmp_path / "renew.md").write_text("# Licence renewal\n\nHi {first_name},\n\nHere is how to renew.\n", encoding="utf-8")
    (tmp_path / "plain.md").write_bytes("\ufeffNo heading here.\r\nSecond line.".encode())
    (tmp_path / "latin.md").write_bytes("caf\xe9".encode("latin-1"))
    (tmp_path / "empty.md").write_text("# Only a title\n\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a snippet", encoding="utf-8")
    (tmp_path / ".hidden.md").write_text("editor swap file", encoding="utf-8")
    (tmp_path / "folder.md").mkdir()
    snippets, problems = load_snippet_dir(tmp_path)
    assert snippets == [
        ("plain", "plain", "No heading here.\nSecond line."),
        ("renew", "Licence renewal", "Hi {first_name},\n\nHere is how to renew."),
    ]
    assert sorted(p.split(":")[0] for p in problems) == ["empty.md", "folder.md", "latin.md"]
    assert "latin.md: not UTF-8 text at line 1: skipped (save it as UTF-8)" in problems
    assert "empty.md: has no text" in problems


def test_load_snippet_dir_without_the_folder(tmp_path):
    assert load_snippet_dir(tmp_path / "missing") == ([], [f"{tmp_path / 'missing'}: no such folder"])


def test_a_huge_file_is_skipped(tmp_path):
    (tmp_path / "huge.md").write_text("x" * 300_000, encoding="utf-8")
    assert load_snippet_dir(tmp_path) == ([], ["huge.md: larger than 256 KB"])


# --- the team's folder, read again when it changes ----------------------------------------------


@pytest.fixture
def folder_store(tmp_path, snippet_folder, clock, mail):
    """A store whose config names a snippets folder, with one ticket (#1, from Alice)."""
    with_folder, folder = snippet_folder
    store = Store.open(tmp_path / "s.db", load_config(with_folder), clock)
    Ingestor(store).ingest(mail(), "t")
    yield store, folder
    store.close()


def _shown(store) -> dict[str, str]:
    return {snippet.name: snippet.title for snippet in store.snippets()}


def test_a_changed_added_or_removed_file_is_read_again_when_the_snippets_are_listed(folder_store):
    store, folder = folder_store
    (folder / "restart.md").write_text("# Restart it now\n\nHi {first_name}, restart it please.\n")
    (folder / "upgrade.md").write_text("# Upgrade first\n\nPlease upgrade to 4.2.\n")
    (folder / "ack.md").write_text("# Our own acknowledgement\n\nGot it, {first_name}.\n")
    shown = _shown(store)
    assert (shown["restart"], shown["upgrade"], shown["ack"]) == ("Restart it now", "Upgrade first", "Our own acknowledgement")
    assert store.render_snippet(1, "restart") == "Hi Alice, restart it please."
    (folder / "upgrade.md").unlink()
    (folder / "ack.md").unlink()
    shown = _shown(store)
    assert "upgrade" not in shown
    assert shown["ack"] == BUILT_IN_SNIPPETS["ack"][0]  # the built-in one is back


def test_a_file_that_is_not_utf8_is_one_line_and_the_others_still_load(folder_store):
    store, folder = folder_store
    (folder / "bonjour.md").write_bytes("# Bonjour\n\nMerci, caf\xe9 compris.\n".encode("latin-1"))
    (folder / "upgrade.md").write_text("# Upgrade first\n\nPlease upgrade to 4.2.\n")
    shown = _shown(store)
    assert "upgrade" in shown and "restart" in shown and "bonjour" not in shown
    assert store.snippet_problems == ["bonjour.md: not UTF-8 text at line 3: skipped (save it as UTF-8)"]


def test_a_file_broken_by_an_edit_keeps_its_last_good_text(folder_store):
    store, folder = folder_store
    (folder / "restart.md").write_bytes("# Restart\n\nRed\xe9marrez-le.\n".encode("latin-1"))
    assert "restart" in _shown(store)
    assert store.render_snippet(1, "restart") == "Hi Alice,\n\nPlease restart the indexer."
    assert store.snippet_problems and store.snippet_problems[0].startswith("restart.md: not UTF-8 text")


def test_listing_the_snippets_reads_no_file_while_the_folder_is_unchanged(folder_store, monkeypatch):
    store, _ = folder_store
    store.snippets()
    monkeypatch.setattr(snippets_module, "load_snippet_dir", None)  # a read would fail
    monkeypatch.setattr(store_module, "load_snippet_dir", None)
    assert "restart" in _shown(store)


def test_the_picker_lists_a_file_added_since_start_and_names_one_it_skipped(folder_store):
    store, folder = folder_store
    app = FrontdeskApp(store, demo=True, state_file=None)

    async def script(pilot):
        (folder / "upgrade.md").write_text("# Upgrade first\n\nPlease upgrade to 4.2.\n")
        (folder / "bonjour.md").write_bytes("Merci, caf\xe9.\n".encode("latin-1"))
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("ctrl+t")
        await settle(pilot)
        assert isinstance(app.screen, SnippetPickerScreen)
        assert {choice.name for choice in app.screen.snippets} >= {"upgrade", "restart"}
        assert "Snippet skipped: bonjour.md: not UTF-8 text at line 1: skipped (save it as UTF-8)" in notices(app)

    run_app(app, script)


def test_a_snippet_is_filled_from_its_file_as_it_is_now(folder_store):
    """A macro or `frontdesk reply --snippet` uses the file's newest text, picker or not."""
    store, folder = folder_store
    (folder / "restart.md").write_text("# Restart\n\nHi {first_name}, a restart fixes it.\n")
    assert store.render_snippet(1, "restart") == "Hi Alice, a restart fixes it."
