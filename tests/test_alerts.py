"""Telling the rep: toasts and the bell for new tickets and clock turns, and the handbook's call hint."""

from __future__ import annotations

from datetime import timedelta

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import usecases
from frontdesk.storage.config import load_config
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.detail import call_hint

from conftest import build_mail, notices, run_app, settle


def test_new_ticket_and_clock_turns_are_announced_with_the_bell(store, clock):
    Ingestor(store).ingest(build_mail(subject="First", message_id="a@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)
    bells = []
    app.bell = lambda: bells.append(True)

    async def script(pilot):
        assert notices(app) == [], "the first load announces nothing"
        Ingestor(store).ingest(build_mail(subject="Second [/oops]", message_id="b@acme.example"), "t")
        app.screen.reload()
        await settle(pilot)
        assert "New ticket #2 from Acme: Second [/oops]" in notices(app)
        # Untriaged: 24h response target, at risk with less than a fifth (4h48m) left.
        clock.advance(timedelta(hours=19, minutes=13))
        app.screen._tick()
        await pilot.pause()
        assert "#1 is at risk: First" in notices(app)
        clock.advance(timedelta(hours=5))
        app.screen._tick()
        await pilot.pause()
        assert "#1 has breached its SLA: First" in notices(app)
        assert len(bells) >= 3

    run_app(app, script)


def test_alerts_can_be_switched_off(tmp_path, config_path, clock):
    quiet = tmp_path / "quiet.toml"
    quiet.write_text(config_path.read_text() + "\n[alerts]\nnew_ticket = false\nbell = false\n")
    store = Store.open(tmp_path / "q.db", load_config(quiet), clock)
    Ingestor(store).ingest(build_mail(message_id="a@acme.example"), "t")
    app = FrontdeskApp(store, state_file=None)
    bells = []
    app.bell = lambda: bells.append(True)

    async def script(pilot):
        Ingestor(store).ingest(build_mail(subject="Second", message_id="b@acme.example"), "t")
        app.screen.reload()
        await settle(pilot)
        assert notices(app) == [] and bells == []

    run_app(app, script)
    store.close()


def test_the_theme_is_remembered(demo_store, tmp_path):
    state = tmp_path / "state" / "tui.json"
    first = FrontdeskApp(demo_store, demo=True, state_file=state)

    async def change(pilot):
        first.theme = "nord"
        await pilot.pause()

    run_app(first, change)
    second = FrontdeskApp(demo_store, demo=True, state_file=state)
    assert second.theme == "nord"


def test_three_customer_messages_after_the_hand_off_suggest_a_call(store, clock):
    ingestor = Ingestor(store)
    ingestor.ingest(build_mail(message_id="q0@acme.example"), "t")
    usecases.assign(store, 1, "bob@example.com")
    hints = []
    for n in range(1, 4):
        clock.advance(timedelta(hours=1))
        ingestor.ingest(build_mail(message_id=f"q{n}@acme.example", in_reply_to=f"q{n - 1}@acme.example", date=clock.now()), "t")
        hints.append(call_hint(store.messages(1), store.events(1), store.ticket(1).state))
    assert hints[:2] == [None, None]
    assert "written 3 times since the hand-off" in hints[2].plain and "account executive" in hints[2].plain
