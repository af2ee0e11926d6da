"""What only a server database does: sessions on several hosts noticing each other's commits,
a server that restarts or can't be reached, a password, and search that answers like SQLite's."""

from __future__ import annotations

import pytest

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage.errors import DraftKeptHere
from frontdesk.storage.models import Draft
from frontdesk.storage.store import Store, StoreError
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.ticket_table import TicketTable

from conftest import notices, run_app, settle, wait_until


def test_a_commit_in_one_session_wakes_the_others_without_polling(postgres_url, config, clock, mail):
    first, second = Store.open(postgres_url, config, clock), Store.open(postgres_url, config, clock)
    try:
        second.watch_changes()
        seen = second.data_version()
        assert second.data_version() == seen, "nothing happened, nothing changes"
        Ingestor(first).ingest(mail(subject="Cluster down"), "test")
        assert wait_until(lambda: second.data_version() != seen)
        assert [view.subject for view in second.views()] == ["Cluster down"]
    finally:
        first.close()
        second.close()


def test_a_server_restart_under_a_running_session_is_survived(postgres_server, postgres_url, config, clock, mail):
    watching, writing = Store.open(postgres_url, config, clock), Store.open(postgres_url, config, clock)
    try:
        Ingestor(writing).ingest(mail(subject="Before the restart"), "test")
        assert len(watching.views()) == 1
        watching.watch_changes()
        postgres_server.restart()
        seen = watching.data_version()
        Ingestor(writing).ingest(mail(subject="After the restart"), "test")
        assert len(watching.views()) == 2, "the dead connection is replaced on the next read"
        assert wait_until(lambda: watching.data_version() != seen), "the listener connects again"
    finally:
        watching.close()
        writing.close()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://frontdesk@127.0.0.1:1/frontdesk", "postgresql://frontdesk@127.0.0.1:1/frontdesk: nothing answers"),
        ("PORT/missing_db", "there is no database 'missing_db' on the server: create it with `createdb missing_db`"),
        ("PORT/postgres?user=nobody_here", "the server has no user"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_naming_the_server(postgres_server, config, clock, url, expected):
    url = url.replace("PORT", f"postgresql://frontdesk@127.0.0.1:{postgres_server.port}")
    with pytest.raises(StoreError) as raised:
        Store.open(url, config, clock)
    message = str(raised.value)
    assert expected in message and "\n" not in message


def test_a_password_is_given_apart_from_the_url_and_a_wrong_one_is_named(postgres_server, config, clock):
    postgres_server.add_password_user("sam", "right-password")
    url = f"postgresql://sam@127.0.0.1:{postgres_server.port}/postgres"
    with pytest.raises(StoreError, match="refused the password for sam") as raised:
        Store.open(url, config, clock, password="wrong-password")
    assert "wrong-password" not in str(raised.value)
    with pytest.raises(StoreError, match="refused the password for sam"):
        Store.open(url, config, clock)
    with postgres_server.admin() as conn:
        conn.execute("CREATE DATABASE sams OWNER sam")
    store = Store.open(url.replace("/postgres", "/sams"), config, clock, password="right-password")
    store.close()


SEARCHES = [
    "helm",
    "HELM upgrade",
    "upg",
    "alice@acme",
    "eve@elite.example",
    "elite",
    "pre-upgrade hook",
    "seats licence",
    "nothing-like-this",
    "Doe",
    "x",
    "zürich",
    "grüße aus",
    "日本語",
]


def _search_results(target, config, clock, mail) -> dict[str, list[int]]:
    store = Store.open(target, config, clock)
    try:
        ingestor = Ingestor(store)
        ingestor.ingest(mail(subject="Helm upgrade hangs", body="The pre-upgrade hook never finishes.", message_id="a1@x"), "t")
        ingestor.ingest(mail(subject="Licence question", sender="Eve <eve@elite.example>", body="How many seats?", message_id="a2@x"), "t")
        ingestor.ingest(mail(subject="Export to CSV", sender="Jo Doe <jo@other.example>", body="x marks the spot", message_id="a3@x"), "t")
        ingestor.ingest(mail(subject="Grüße aus Zürich", body="日本語 のメール", message_id="a4@x"), "t")
        return {query: sorted(store.search(query)) for query in SEARCHES}
    finally:
        store.close()


def test_search_answers_the_same_on_both_backends(tmp_path, postgres_url, config, clock, mail):
    # One store at a time: the models follow the database opened last in a process.
    on_sqlite = _search_results(tmp_path / "tickets.db", config, clock, mail)
    on_postgres = _search_results(postgres_url, config, clock, mail)
    assert on_postgres == on_sqlite
    assert on_sqlite["helm"] == [1] and on_sqlite["seats licence"] == [2] and on_sqlite["nothing-like-this"] == []
    assert on_sqlite["grüße aus"] == on_sqlite["日本語"] == [4]


def test_a_draft_written_while_the_server_is_down_is_kept_here_then_saved(postgres_server, postgres_url, config, clock, mail):
    store = Store.open(postgres_url, config, clock)
    try:
        Ingestor(store).ingest(mail(subject="Export fails"), "test")
        ticket_id = store.views()[0].id
        postgres_server.stop()
        try:
            with pytest.raises(DraftKeptHere):
                store.save_draft(ticket_id, "Hi Alice, we found the cause")
            kept = next(store._kept_drafts.folder.iterdir())
            assert kept.stat().st_mode & 0o777 == 0o600, "customer text stays private on disk"
        finally:
            postgres_server.resume()
        assert store.draft(ticket_id) == "Hi Alice, we found the cause"
        assert Draft.get_by_id(ticket_id).body == "Hi Alice, we found the cause", "saved once the server is back"
        assert not list(store._kept_drafts.folder.iterdir())
    finally:
        store.close()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_the_inbox_says_the_database_is_away_keeps_the_screen_and_carries_on(postgres_server, demo_store):
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def script(pilot):
        table = app.screen.query_one(TicketTable)
        ticket_id = table.ticket_id
        postgres_server.stop()
        try:
            await pilot.press("n")
            await pilot.press(*"called them")
            await pilot.press("ctrl+s")
            await settle(pilot)
            said = notices(app)
            assert any("is unavailable; nothing was changed" in line for line in said), said
            assert not any("Traceback" in line or "Something went wrong" in line for line in said)
        finally:
            postgres_server.resume()
        await pilot.press("escape")
        await pilot.press("n")
        await pilot.press(*"called them")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert [e.data.get("text") for e in demo_store.events(ticket_id)][-1] == "called them"

    run_app(app, script)


def test_the_search_words_sent_in_binary_are_those_the_server_reads_from_text(postgres_url, config, clock, mail):
    """The message search goes to the server in tsvector's binary form, checked less than its text
    form: the same words, positions and cuts as the server's own reading of them as text."""
    words = ["ping"] * 300 + [f"w{index % 997}" for index in range(17_000)] + ["Zürich", "ping", "日本語"]
    store = Store.open(postgres_url, config, clock)
    try:
        Ingestor(store).ingest(mail(subject="Log", sender="ops@acme.example", body=" ".join(words)), "t")
        stored, made_of_text = store.db.execute_sql(
            "SELECT search::text, %s::tsvector::text FROM message",
            (" ".join(f"'{word}':{position}" for position, word in enumerate(["log", "ops", "acme", "example", *words], 1)).lower(),),
        ).fetchone()
    finally:
        store.close()
    assert stored == made_of_text
