"""The compose screen on a real store: quoting, drafts, snippets, and the checks before sending."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Awaitable, Callable
from dataclasses import replace

import pytest
from test_external_editor import editor_script
from test_modals import HOSTILE, HOSTILE_SHOWN, Host, no_blink, screen_text, settle

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.config import Person
from frontdesk.storage.models import Message, Snippet, Ticket
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.compose import SAVE_DELAY, ComposeScreen, own_text, send_problem
from frontdesk.tui.held_screen import HeldScreen

from conftest import NOW, run_app

BODY = "Search returns nothing since 9:00.\n\nOur config: {\"replicas\": 3} and {cluster_name}."
Scenario = Callable[[object, ComposeScreen], Awaitable[None]]


@pytest.fixture
def ticket_id(store, mail) -> int:
    Ingestor(store).ingest(mail(subject=HOSTILE, sender="Alice Doe <alice@acme.example>", body=BODY), "test")
    return Ticket.get().id


def as_someone_else(store, name: str = "Sam Lee", email: str | None = None):
    """Another rep's session on the same database: only who acts differs."""
    other = copy.copy(store)
    other.actor = name
    if email is not None:
        other.config = replace(store.config, me=Person(name, email))
    return other


def compose(store, ticket_id: int, scenario: Scenario, size: tuple[int, int] = (80, 24)) -> Host:
    screen = ComposeScreen(store, ticket_id)
    app = Host(screen)

    async def run() -> None:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await scenario(pilot, screen)
            await settle(pilot)

    asyncio.run(run())
    return app


async def type_text(pilot, text: str) -> None:
    await pilot.press(*text)


async def insert_snippet(pilot, name: str) -> str:
    """Pick the snippet by typing its name, and insert it; returns the picker as it was shown."""
    await pilot.press("ctrl+t")
    await settle(pilot)
    await type_text(pilot, name)
    await settle(pilot)
    shown = screen_text(pilot.app)
    await pilot.press("enter")
    await settle(pilot)
    return shown


async def send(pilot) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


def test_opens_with_the_header_and_the_customer_quoted_below_an_empty_line(store, ticket_id):
    seen: dict[str, object] = {}

    async def look(pilot, screen: ComposeScreen) -> None:
        seen["text"], seen["cursor"], seen["screen"] = screen.editor.text, screen.editor.cursor_location, screen_text(pilot.app)

    compose(store, ticket_id, look)
    assert seen["cursor"] == (0, 0)
    assert seen["text"] == (
        "\n\nOn Wed, 25 Nov 2026 at 15:00, Alice Doe wrote:\n"
        "> Search returns nothing since 9:00.\n>\n"
        '> Our config: {"replicas": 3} and {cluster_name}.'
    )
    assert "To        Alice Doe <alice@acme.example>" in seen["screen"]
    assert f"Subject   {HOSTILE_SHOWN} [#{ticket_id}]" in seen["screen"]


def test_a_saved_draft_comes_back(store, ticket_id):
    store.save_draft(ticket_id, "Hi Alice,\n\nstill checking")
    seen: dict[str, str] = {}

    async def look(pilot, screen: ComposeScreen) -> None:
        seen["text"], seen["screen"] = screen.editor.text, screen_text(pilot.app)

    compose(store, ticket_id, look)
    assert seen["text"] == "Hi Alice,\n\nstill checking"
    assert "Your saved draft is back." in seen["screen"]


def test_the_draft_is_saved_while_typing(store, ticket_id):
    async def write(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Hi Alice")
        assert store.draft(ticket_id) is None  # not on every key
        await pilot.pause(0.7)
        await settle(pilot)
        assert store.draft(ticket_id).startswith("Hi Alice\n\nOn Wed")
        assert "Draft saved." in screen_text(pilot.app)
        await type_text(pilot, "!")

    compose(store, ticket_id, write)
    # Quitting within the half second still keeps the last keys: the screen writes them on its way out.
    for thread in threading.enumerate():
        if thread.name == "frontdesk-draft":
            thread.join()
    assert store.draft(ticket_id).startswith("Hi Alice!\n")


def test_escape_keeps_the_draft_and_says_so(store, ticket_id):
    notices: list[str] = []

    async def leave(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "half a thought")
        await pilot.press("escape")
        await settle(pilot)
        notices.extend(n.message for n in pilot.app._notifications)

    app = compose(store, ticket_id, leave)
    assert app.results == [False]
    assert store.draft(ticket_id).startswith("half a thought\n")
    assert any("Draft kept" in notice for notice in notices)


def test_leaving_without_writing_keeps_no_draft(store, ticket_id):
    store.save_draft(ticket_id, "old words")

    async def erase_and_leave(pilot, screen: ComposeScreen) -> None:
        screen.editor.clear()
        await pilot.press("escape")

    app = compose(store, ticket_id, erase_and_leave)
    assert app.results == [False] and store.draft(ticket_id) is None


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("", "Nothing to send yet: write your reply above the quoted message."),
        ("Hi {first_name}, see {link}", "Replace {first_name}, {link} before sending"),
    ],
)
def test_an_empty_reply_or_a_placeholder_is_refused_on_screen(store, ticket_id, typed, reason):
    seen: dict[str, str] = {}

    async def try_send(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, typed)
        await send(pilot)
        seen["screen"] = screen_text(pilot.app)

    app = compose(store, ticket_id, try_send)
    assert app.results == [] and store.outbox() == []
    assert reason in seen["screen"]


def test_sending_queues_the_reply_with_the_quote_and_clears_the_draft(store, ticket_id):
    async def write_and_send(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Thanks, on it.")
        await pilot.pause(0.7)  # a draft exists
        await settle(pilot)
        await send(pilot)

    app = compose(store, ticket_id, write_and_send)
    assert app.results == [True]
    [entry] = store.outbox()
    # The customer's own braces are quoted text: they never block a send.
    assert entry.body.startswith("Thanks, on it.\n\nOn Wed") and "> Our config:" in entry.body
    assert entry.subject == f"{HOSTILE_SHOWN} [#{ticket_id}]"
    assert store.draft(ticket_id) is None


def test_a_change_of_state_made_while_writing_holds_the_reply_until_the_rep_says_send(store, ticket_id):
    seen: dict[str, str] = {}

    async def write_while_someone_resolves(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Thanks, on it.")
        usecases.resolve(as_someone_else(store), ticket_id)  # meanwhile, someone else resolves the ticket
        await send(pilot)
        seen["screen"] = screen_text(pilot.app)
        assert isinstance(pilot.app.screen, HeldScreen)
        assert store.outbox() == [] and "Thanks, on it." in screen.editor.text
        await pilot.press("s")  # send anyway
        await settle(pilot)

    app = compose(store, ticket_id, write_while_someone_resolves, size=(100, 30))
    assert "Not sent: #1 changed" in seen["screen"] and "Since you began this reply:" in seen["screen"]
    assert "Sam Lee moved it new → resolved · 15:00" in seen["screen"]
    assert app.results == [True] and [entry.body.split("\n")[0] for entry in store.outbox()] == ["Thanks, on it."]


def test_back_to_editing_keeps_the_text_and_the_next_send_goes(store, ticket_id):
    seen: dict[str, str] = {}

    async def write(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Thanks, on it.")
        usecases.take(as_someone_else(store, "Bob Example", "bob@example.com"), ticket_id)
        await send(pilot)
        await pilot.press("e")
        await settle(pilot)
        seen["screen"] = screen_text(pilot.app)
        assert pilot.app.screen is screen and not screen.editor.read_only
        await type_text(pilot, " Bob has it.")
        await send(pilot)  # what was shown on the held screen holds it no more

    app = compose(store, ticket_id, write, size=(100, 30))
    assert "Not sent: edit, then ctrl+s to send it, or ctrl+d to discard it." in seen["screen"]
    assert app.results == [True] and store.outbox()[0].body.startswith("Thanks, on it. Bob has it.\n")


def test_a_severity_or_a_note_made_while_writing_holds_nothing(store, ticket_id):
    async def write(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Thanks, on it.")
        usecases.triage(as_someone_else(store), ticket_id, 1)
        usecases.note(as_someone_else(store), ticket_id, "they call back at 4")
        await send(pilot)

    app = compose(store, ticket_id, write)
    assert app.results == [True] and len(store.outbox()) == 1


def test_discarding_asks_first_and_then_deletes_the_draft(store, ticket_id):
    seen: dict[str, str] = {}

    async def discard(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "half a thought")
        await pilot.pause(0.7)
        await settle(pilot)
        assert store.draft(ticket_id).startswith("half a thought")
        await pilot.press("ctrl+d")
        await settle(pilot)
        seen["dialog"] = screen_text(pilot.app)
        await pilot.press("enter")  # enter keeps it: a key meant for the text never throws it away
        await settle(pilot)
        assert pilot.app.screen is screen and store.draft(ticket_id).startswith("half a thought")
        await pilot.press("ctrl+d", "y")
        await settle(pilot)

    app = compose(store, ticket_id, discard)
    assert "Discard the draft to #1?" in seen["dialog"] and "nothing is sent" in seen["dialog"]
    assert app.results == [False] and store.draft(ticket_id) is None and store.outbox() == []


def test_the_footer_offers_discard(store, ticket_id):
    seen: dict[str, str] = {}

    async def look(pilot, screen: ComposeScreen) -> None:
        seen["screen"] = screen_text(pilot.app)

    compose(store, ticket_id, look, size=(120, 24))
    assert "^d Discard" in seen["screen"] and "Quote newest" not in seen["screen"]


async def begin_a_draft(pilot, screen: ComposeScreen) -> None:
    await type_text(pilot, "Hi Alice, restart the indexer")
    await pilot.press("escape")
    await settle(pilot)


def test_a_draft_quoting_an_older_message_says_so_and_ctrl_r_quotes_the_newest(store, ticket_id, mail):
    seen: dict[str, str] = {}

    compose(store, ticket_id, begin_a_draft)
    first = Ticket.get().messages.order_by(Message.id).first().message_id
    Ingestor(store).ingest(
        mail(subject="Re: search", body="Update: it came back, then broke again.", in_reply_to=first), "test"
    )

    async def come_back(pilot, screen: ComposeScreen) -> None:
        seen["back"] = screen_text(pilot.app)
        await pilot.press("ctrl+r")
        await settle(pilot)
        seen["after"] = screen_text(pilot.app)
        seen["text"] = screen.editor.text
        await type_text(pilot, ".")
        await pilot.press("escape")

    compose(store, ticket_id, come_back, size=(100, 30))
    assert "Draft back; the customer wrote again since: ctrl+r quotes the new message." in seen["back"]
    assert "^r Quote newest" in seen["back"] and "^r Quote newest" not in seen["after"]
    assert seen["text"] == (
        "Hi Alice, restart the indexer\n\nOn Wed, 25 Nov 2026 at 15:00, Alice Customer wrote:\n"
        "> Update: it came back, then broke again."
    )
    assert "The customer's newest message is quoted now" in seen["after"]
    saved = store.saved_draft(ticket_id)
    assert saved.body.startswith("Hi Alice, restart the indexer.\n") and saved.quoted == Message.select().count()

    async def once_more(pilot, screen: ComposeScreen) -> None:
        seen["again"] = screen_text(pilot.app)

    compose(store, ticket_id, once_more, size=(100, 30))
    assert "Your saved draft is back." in seen["again"], "the quote is the newest now"


def test_a_restored_draft_is_held_by_what_happened_since_it_began(store, ticket_id):
    seen: dict[str, str] = {}

    compose(store, ticket_id, begin_a_draft)
    usecases.acknowledge(as_someone_else(store), ticket_id)  # (an acknowledgement leaves the draft alone)

    async def come_back_and_send(pilot, screen: ComposeScreen) -> None:
        await send(pilot)
        seen["held"] = screen_text(pilot.app)
        await pilot.press("escape")  # back to editing
        await settle(pilot)

    app = compose(store, ticket_id, come_back_and_send, size=(100, 30))
    assert "Sam Lee queued an acknowledgement · 15:00" in seen["held"] and "Thanks for getting in touch" in seen["held"]
    assert app.results == [] and len(store.outbox()) == 1


def test_a_snippet_goes_in_at_the_cursor_and_is_recorded(store, ticket_id):
    async def insert(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "PS")
        await pilot.press("left", "left", "ctrl+t")
        await settle(pilot)
        await type_text(pilot, "ack")
        await settle(pilot)
        assert "Thanks for getting in touch" in screen_text(pilot.app)  # the filled preview
        await pilot.press("enter")
        await settle(pilot)
        assert screen.editor.text.startswith(f"Hi Alice,\n\nThanks for getting in touch. Your request is logged as ticket #{ticket_id}")
        assert screen.editor.text.split("\n\nOn Wed")[0].endswith("Best,\nDana RepPS")
        await send(pilot)

    app = compose(store, ticket_id, insert, size=(100, 30))
    assert app.results == [True]
    assert store.events(ticket_id)[-1].data["snippet"] == "ack"


@pytest.mark.parametrize(
    ("body", "typed", "expected"),
    [
        ("Hi {first_name},\n\nCould you {cursor}?\n\nBest,\n{rep_name}", "send logs", "Hi Alice,\n\nCould you send logs?\n\nBest,\nDana Rep\n"),
        ("Hi {first_name},\n\nThanks for the logs.\n\nBest,\n{rep_name}", "Found it. ", "Hi Alice,\n\nFound it. Thanks for the logs."),
        ("Thanks for the logs.\nBest,\n{rep_name}", "Found it. ", "Found it. Thanks for the logs.\nBest,\nDana Rep\n"),
    ],
    ids=["at-the-marker", "below-the-greeting", "at-the-start"],
)
def test_after_a_snippet_the_cursor_is_where_the_rep_types_not_after_the_signature(store, ticket_id, body, typed, expected):
    Snippet.create(name="mine", title="Mine", body=body, updated_at=NOW)
    seen: dict[str, str] = {}

    async def insert(pilot, screen: ComposeScreen) -> None:
        seen["preview"] = await insert_snippet(pilot, "mine")
        await type_text(pilot, typed)
        seen["text"] = screen.editor.text

    compose(store, ticket_id, insert, size=(100, 30))
    assert seen["text"].startswith(expected)
    assert "{cursor}" not in seen["text"] and "{cursor}" not in seen["preview"]


def test_a_hostile_user_snippet_is_shown_and_inserted_as_plain_text(store, ticket_id):
    Snippet.create(name="evil", title="[bold red]Evil [/foo]", body="Hi {first_name} \x1b[31mred\u202e [b]x[/b]", updated_at=NOW)
    seen: dict[str, str] = {}

    async def insert(pilot, screen: ComposeScreen) -> None:
        seen["picker"] = await insert_snippet(pilot, "evil")
        seen["text"] = screen.editor.text

    compose(store, ticket_id, insert, size=(100, 30))
    assert "[bold red]Evil [/foo]" in seen["picker"] and "Hi Alice red [b]x[/b]" in seen["picker"]
    assert seen["text"].startswith("Hi Alice red [b]x[/b]\n")


def test_a_snippet_that_needs_an_owner_is_not_inserted(store, ticket_id):
    seen: dict[str, str] = {}

    async def insert(pilot, screen: ComposeScreen) -> None:
        await pilot.press("ctrl+t")
        await settle(pilot)
        await type_text(pilot, "handoff")
        await pilot.press("enter", "escape")
        await settle(pilot)
        seen["text"] = screen.editor.text

    compose(store, ticket_id, insert, size=(100, 30))
    assert seen["text"].startswith("\n\nOn Wed")


# --- the rep's own editor (ctrl+e; R on a ticket) ---------------------------------------------


def test_ctrl_e_brings_the_editors_text_back_saves_it_as_the_draft_and_sends_nothing(
    store, ticket_id, suspendable, tmp_path, monkeypatch
):
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", 'sed -i "1s/^/Hi Alice, fixed in 2.4./" "$1"')))
    seen: dict[str, str] = {}

    async def edit(pilot, screen: ComposeScreen) -> None:
        await pilot.press("ctrl+e")
        await settle(pilot)
        seen["text"], seen["screen"] = screen.editor.text, screen_text(pilot.app)

    app = compose(store, ticket_id, edit)
    assert seen["text"].startswith("Hi Alice, fixed in 2.4.\n\nOn Wed, 25 Nov 2026 at 15:00, Alice Doe wrote:\n> Search")
    assert "Back from your editor: read it over, then ctrl+s sends the reply." in seen["screen"]
    assert store.draft(ticket_id) == seen["text"]
    assert app.results == [] and store.outbox() == []


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('echo "half" >> "$1"; exit 3', "The editor exited with status 3: your draft is as it was."),
        (': > "$1"', "The editor left the file empty: your draft is as it was."),
    ],
)
def test_an_editor_that_fails_or_empties_the_file_keeps_the_draft_and_says_so(
    store, ticket_id, suspendable, tmp_path, monkeypatch, body, said
):
    store.save_draft(ticket_id, "Hi Alice,\n\nstill checking")
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", body)))
    seen: dict[str, str] = {}

    async def edit(pilot, screen: ComposeScreen) -> None:
        await pilot.press("ctrl+e")
        await settle(pilot)
        seen["text"], seen["screen"] = screen.editor.text, screen_text(pilot.app)

    compose(store, ticket_id, edit)
    assert seen["text"] == "Hi Alice,\n\nstill checking" == store.draft(ticket_id)
    assert said in seen["screen"]


@pytest.mark.parametrize(
    ("can_suspend", "said"),
    [
        (True, "The editor no-such-editor-anywhere was not found; set $VISUAL or $EDITOR: your draft is as it was."),
        (False, "This terminal can't be handed over to an editor (Textual can't suspend here): your draft is as it was."),
    ],
    ids=["missing-editor", "cannot-suspend"],
)
def test_an_editor_that_cannot_run_is_named_and_the_draft_stays(store, ticket_id, can_suspend, said, request, monkeypatch):
    monkeypatch.setenv("VISUAL", "no-such-editor-anywhere")
    if can_suspend:
        request.getfixturevalue("suspendable")
    seen: dict[str, str] = {}

    async def edit(pilot, screen: ComposeScreen) -> None:
        await type_text(pilot, "Hi")
        await pilot.press("ctrl+e")
        await pilot.pause(SAVE_DELAY * 2)  # the typing's autosave, had it waited, would be due by now
        await settle(pilot)
        seen["text"], seen["screen"] = screen.editor.text, screen_text(pilot.app)

    compose(store, ticket_id, edit, size=(140, 24))
    assert seen["text"].startswith("Hi\n\nOn Wed")
    assert said in seen["screen"], "the problem stays on the status line"
    assert store.draft(ticket_id) == seen["text"], "what was typed before is saved all the same"


def test_capital_r_on_a_ticket_opens_the_reply_straight_in_the_editor(demo_store, suspendable, tmp_path, monkeypatch):
    monkeypatch.setenv("VISUAL", str(editor_script(tmp_path, "editor", 'sed -i "1s/^/Looking into it./" "$1"')))
    app = FrontdeskApp(demo_store, demo=True, state_file=None)
    seen: dict[str, object] = {}

    async def script(pilot) -> None:
        await pilot.press("R")
        await settle(pilot)
        seen["screen"] = app.screen
        seen["text"] = app.screen.editor.text if isinstance(app.screen, ComposeScreen) else None

    run_app(app, script)
    assert isinstance(seen["screen"], ComposeScreen)
    assert str(seen["text"]).startswith("Looking into it.\n\nOn ")
    assert demo_store.draft(seen["screen"].ticket_id) == seen["text"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Nothing to send yet"),
        ("\n\nOn Mon, Alice wrote:\n> {first_name}", "Nothing to send yet"),
        ("Hi {First_Name}", "Replace {First_Name}"),
        ("Thanks!\n\nOn Mon, Alice wrote:\n> see {x}", None),
        ('Set {"replicas": 3} and retry.', None),
    ],
)
def test_send_problem(text, problem):
    found = send_problem(text)
    assert (found is None) if problem is None else found.startswith(problem)


def test_own_text_keeps_a_line_ending_in_wrote_that_is_not_an_attribution():
    assert own_text("She wrote:\nhello\n\nOn Mon, A wrote:\n> x") == "She wrote:\nhello\n"


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)  # the screen is the same on both backends
def test_snapshot_compose(snap_compare, store, ticket_id):
    async def write(pilot) -> None:
        await no_blink(pilot)
        await type_text(pilot, "Hi Alice,")

    assert snap_compare(Host(ComposeScreen(store, ticket_id)), terminal_size=(80, 24), run_before=write)
