"""Moving fast: a ticket by its number (`:12`, `#12`), J and K through the view, sorting by a key or
a click on a column's title, and copying a ticket's number, subject or link (OSC 52)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import replace
from pathlib import Path

import pytest
from test_presence import inbox

from frontdesk.storage.config import ConfigError, load_config
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.marks import Someone
from frontdesk.tui.moving import JumpPrompt, copy_line, ticket_link
from frontdesk.tui.ticket_screen import TicketScreen
from frontdesk.tui.ticket_table import SORT_KEYS, TicketTable

from conftest import notices, run_app, settle, until


def inbox_app(store) -> FrontdeskApp:
    return FrontdeskApp(store, demo=True, state_file=None)


def header(app) -> str:
    return app.screen.query_one(TicketTable).render_line(0).text


def title_x(table: TicketTable, key: str) -> int:
    """Where a column's title begins in the header."""
    x = 0
    for column, width in table._widths().items():
        if column == key:
            return x
        x += width + 1
    raise KeyError(key)


# --- a ticket by its number ---------------------------------------------------------------------


def test_colon_then_a_number_and_enter_opens_that_ticket(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("colon")
        assert isinstance(app.screen, JumpPrompt)
        assert str(app.screen.query_one("#jump-sign").render()) == ":"
        await pilot.press("1", "2", "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen)
        assert app.screen.ticket_id == 12 and app.screen.data.view.id == 12

    run_app(app, script)


def test_hash_then_a_number_opens_a_ticket_the_view_does_not_show(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("7")  # Resolved: none of the open tickets
        shown = {row.id for row in app.screen.query_one(TicketTable).rows}
        open_ticket = next(row.id for row in demo_store.views() if row.id not in shown)
        await pilot.press("number_sign", *str(open_ticket), "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.data.view.id == open_ticket

    run_app(app, script)


def test_an_unknown_number_says_so_in_one_line(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("colon", *"#99999", "enter")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)
        assert notices(app)[-1] == "No ticket #99999."

    run_app(app, script)


def test_the_prompt_takes_digits_only_and_escape_cancels(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("colon", *"1x2")
        assert app.screen.query_one("#jump-number").value == "12"
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, InboxScreen)

    run_app(app, script)


# --- J and K ------------------------------------------------------------------------------------


def test_j_and_k_walk_the_view_in_its_order_and_stop_at_the_ends(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("2")  # Untriaged
        order = [row.id for row in app.screen.query_one(TicketTable).rows]
        assert len(order) >= 3
        await pilot.press("enter")
        await settle(pilot)
        ticket = app.screen
        assert ticket.ticket_id == order[0]
        await pilot.press("K")
        assert ticket.ticket_id == order[0]
        assert notices(app)[-1] == f"#{order[0]} is the first ticket of the Untriaged view."
        await pilot.press("J")
        await settle(pilot)
        assert ticket.ticket_id == order[1] and ticket.data.view.id == order[1]
        shown = ticket.query_one("#messages").render().plain
        assert demo_store.messages(order[1])[0].body_text.strip() in shown
        await pilot.press("J", "K")
        await settle(pilot)
        assert ticket.data.view.id == order[1]
        await pilot.press(*["J"] * len(order))
        await settle(pilot)
        assert ticket.data.view.id == order[-1]
        assert notices(app)[-1] == f"#{order[-1]} is the last ticket of the Untriaged view."
        assert app.screen is ticket  # moved in place: escape goes straight back to the inbox
        await pilot.press("escape")
        assert isinstance(app.screen, InboxScreen)

    run_app(app, script)


def test_the_others_see_the_ticket_j_moved_to(demo_store, clock):
    dana_store = Store.open(demo_store.target, demo_store.config, clock)
    sam_app, dana_app = inbox(demo_store, "Sam"), inbox(dana_store, "Dana")

    async def drive() -> None:
        async with dana_app.run_test(size=(120, 40)) as dana, sam_app.run_test(size=(120, 40)) as sam:
            await settle(dana)
            await settle(sam)
            order = [row.id for row in sam_app.screen.query_one(TicketTable).rows]
            await sam.press("enter")
            await settle(sam)
            assert await until(dana, lambda: dana_app.present == {order[0]: (Someone("Sam", "viewing"),)})
            await sam.press("J")
            await settle(sam)
            assert await until(dana, lambda: dana_app.present == {order[1]: (Someone("Sam", "viewing"),)})

    try:
        asyncio.run(drive())
    finally:
        dana_store.close()


def test_j_walks_the_list_as_sorted(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        table.sort_by("id")
        await pilot.press("home", "enter")
        await settle(pilot)
        await pilot.press("J")
        await settle(pilot)
        assert app.screen.ticket_id == sorted(row.id for row in table.rows)[1]

    run_app(app, script)


def test_j_on_a_ticket_jumped_to_outside_the_list_says_so(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("7", "enter")
        await settle(pilot)
        outside = next(row.id for row in demo_store.views())
        await pilot.press("colon", *str(outside), "enter")
        await settle(pilot)
        assert isinstance(app.screen, TicketScreen) and app.screen.data.view.id == outside
        await pilot.press("J")
        assert notices(app)[-1] == f"#{outside} is not in the Resolved view: J and K walk that list's tickets."

    run_app(app, script)


# --- sorting ------------------------------------------------------------------------------------


def test_sorting_by_key_shows_in_the_header_and_keeps_the_cursor_on_its_ticket(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        urgency = [row.id for row in table.rows]
        assert "Due▲" in header(app)
        await pilot.press("down", "down")
        chosen = table.ticket_id
        await pilot.press("greater_than_sign")  # the next column after Due: Sev
        assert "Sev▲" in header(app) and "Due▲" not in header(app)
        severities = [SORT_KEYS["sev"](row) for row in table.rows]
        assert severities == sorted(severities) and table.ticket_id == chosen
        await pilot.press("I")
        assert "Sev▼" in header(app)
        assert [SORT_KEYS["sev"](row) for row in table.rows] == sorted(severities, reverse=True)
        await pilot.press("less_than_sign")  # back to Due, ascending: urgency as before
        assert "Due▲" in header(app) and [row.id for row in table.rows] == urgency

    run_app(app, script)


def test_a_click_on_a_column_title_sorts_by_it_and_again_reverses(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        at = title_x(table, "customer")
        await pilot.click(TicketTable, offset=(at + 1, 0))
        customers = [(row.customer or row.requester).casefold() for row in table.rows]
        assert "Customer▲" in header(app) and customers == sorted(customers)
        await pilot.click(TicketTable, offset=(at + 1, 0))
        assert "Customer▼" in header(app)
        assert [(row.customer or row.requester).casefold() for row in table.rows] == sorted(customers, reverse=True)
        await pilot.click(TicketTable, offset=(title_x(table, "marks"), 0))  # no order of its own
        assert "Customer▼" in header(app)

    run_app(app, script)


# --- copying ------------------------------------------------------------------------------------


def test_y_copies_the_number_and_subject_in_the_inbox_and_on_the_ticket(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        row = app.screen.query_one(TicketTable).rows[0]
        await pilot.press("y")
        assert app.clipboard == f"#{row.id} {row.subject}"
        assert notices(app)[-1] == f"Copied #{row.id} {row.subject}"
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("y")
        assert app.clipboard.startswith(f"#{app.screen.ticket_id} ")

    run_app(app, script)


def test_Y_without_a_ticket_url_says_how_to_set_it(demo_store):
    app = inbox_app(demo_store)

    async def script(pilot):
        await pilot.press("Y")
        assert app.clipboard == ""
        assert notices(app)[-1] == (
            'No link to copy: set it in the config, under [support]: ticket_url = "https://tracker.example/frontdesk/{id}"'
        )

    run_app(app, script)


def test_Y_copies_the_link_made_from_ticket_url(demo_store):
    support = replace(demo_store.config.support, ticket_url="https://tracker.example/frontdesk/{id}")
    demo_store.config = replace(demo_store.config, support=support)
    app = inbox_app(demo_store)

    async def script(pilot):
        row = app.screen.query_one(TicketTable).rows[0]
        await pilot.press("Y")
        assert app.clipboard == f"https://tracker.example/frontdesk/{row.id}"
        assert notices(app)[-1] == f"Copied https://tracker.example/frontdesk/{row.id}"

    run_app(app, script)


def test_a_subject_with_escape_or_bell_is_copied_without_them(demo_store):
    """The OSC 52 sequence stays one sequence, and nothing from the mail acts where it is pasted."""
    ticket = replace(demo_store.views()[0], subject="Refund\x07 now\x1b]52;c;ZXZpbA==\x07\x1b[31m please\x9b2J")
    line = copy_line(ticket)
    assert line == f"#{ticket.id} Refund now please"
    sequence = f"\x1b]52;c;{base64.b64encode(line.encode()).decode()}\a"  # what Textual writes
    assert sequence.count("\x1b") == 1 and sequence.count("\a") == 1 and sequence.endswith("\a")


def test_ticket_link_puts_the_number_where_id_is():
    assert (
        ticket_link("https://tracker.example/t/{id}?from=frontdesk", 42)
        == "https://tracker.example/t/42?from=frontdesk"
    )


def test_ticket_url_in_the_config(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text('[support]\nticket_url = "https://tracker.example/frontdesk/{id}"\n', encoding="utf-8")
    assert load_config(path, environ={}).support.ticket_url == "https://tracker.example/frontdesk/{id}"


@pytest.mark.parametrize(
    "url", ["https://tracker.example/frontdesk/", "ftp://tracker.example/{id}", "{id}", "https://t.example/a b/{id}"]
)
def test_a_ticket_url_without_id_or_not_a_web_link_is_one_clear_line(tmp_path: Path, url: str):
    path = tmp_path / "config.toml"
    path.write_text(f'[support]\nticket_url = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert message == (
        f"{path}: support.ticket_url: invalid link '{url}' (expected an http(s) URL with {{id}} where the ticket "
        'number goes, such as "https://tracker.example/frontdesk/{id}")'
    )
