"""The demo mailbox: a week with every state a rep meets, built the same way every time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from frontdesk.mail.demo import build_demo
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import load_config
from frontdesk.storage.models import Event
from frontdesk.storage.store import Store
from frontdesk.storage.views import TicketView, ticket_views

from conftest import NOW  # a Wednesday


def _open(folder: Path) -> Store:
    """Build the demo and open it; opening binds the models to this database, not a stale one."""
    config_path, db_path = build_demo(folder, NOW)
    return Store.open(db_path, load_config(config_path), FrozenClock(NOW))


def _views(store: Store) -> list[TicketView]:
    return ticket_views(store.config, NOW, include_resolved=True)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[Store, list[TicketView]]]:
    store = _open(tmp_path)
    yield store, _views(store)
    store.close()


def _built(folder: Path) -> list[TicketView]:
    store = _open(folder)
    try:
        return _views(store)
    finally:
        store.close()


def test_config_is_complete(demo):
    config = demo[0].config
    assert config.support.address == "support@frontdesk.example"
    assert {"standard", "elite", "enterprise-plus"} <= set(config.sla.policies)
    assert 5 <= len(config.customers) <= 7 and 6 <= len(config.owners) <= 8
    assert {c.deployment for c in config.customers} == {"self-hosted", "managed", "other"}
    assert len({o.team for o in config.owners}) >= 5
    assert config.calendar.holidays


def test_a_week_of_tickets_in_every_clock_state(demo):
    _, views = demo
    assert 25 <= len(views) <= 40
    assert all(NOW - timedelta(days=7) <= view.created_at <= NOW for view in views)
    response = Counter(view.sla.response.status for view in views if view.sla.response)
    resolution = Counter(view.sla.resolution.status for view in views if view.sla.resolution)
    assert set(response) == {"ok", "at_risk", "breached", "met", "missed"}
    assert {"paused", "met", "missed", "ok"} <= set(resolution)


def test_untriaged_tickets_cover_new_at_risk_and_breached(demo):
    _, views = demo
    untriaged = [view for view in views if view.severity is None and not view.automated and view.state == "new"]
    statuses = {view.sla.response.status for view in untriaged}
    assert statuses == {"ok", "at_risk", "breached"}
    assert min(NOW - view.created_at for view in untriaged).total_seconds() < 600  # one just arrived


def test_severity_one_at_risk_and_breached_severity_two_on_track(demo):
    _, views = demo
    by_severity = {(view.severity, view.sla.response.status) for view in views if view.sla.response}
    assert {(1, "at_risk"), (1, "breached"), (2, "ok"), (1, "missed")} <= by_severity


def test_waiting_resolved_and_reopened(demo):
    store, views = demo
    states = Counter(view.state for view in views)
    assert states["waiting"] >= 1 and states["resolved"] >= 3
    changes = [event.data for event in Event.select().where(Event.kind == "state")]
    assert {"from": "resolved", "to": "open"} in changes  # a customer wrote back after the fix


def test_automated_mail_starts_no_clock(demo):
    _, views = demo
    automated = {view.automated: view for view in views if view.automated}
    assert set(automated) == {"auto-reply", "bounce"}
    assert all(view.sla.response is None and view.sla.resolution is None for view in automated.values())


def test_hand_offs_outbox_and_threads(demo):
    store, views = demo
    assert len({view.owner for view in views if view.owner}) >= 5
    notes = [event.data["note"] for event in Event.select().where(Event.kind == "owner") if event.data["note"]]
    assert len(notes) >= 5
    outbox = store.outbox()
    assert outbox and {entry.kind for entry in outbox} == {"ack", "reply"}
    assert max(view.message_count for view in views) >= 5


def test_awkward_mail_is_stored_safely(demo):
    store, views = demo
    hostile = next(view for view in views if "[bold red]" in view.subject)
    # Markup stays literal text; the escape sequence that was between the two is gone.
    assert hostile.subject == "[bold red]URGENT[/] everyone logged out after the SSO certificate change [/]"
    assert all("\x1b" not in view.subject for view in views)
    assert any(len(view.subject) > 200 for view in views)
    assert any("検索" in view.subject for view in views) and any("Навигация" in view.subject for view in views)
    assert any("🚀" in view.subject for view in views)
    messages = [message for view in views for message in store.messages(view.id)]
    assert any(message.body_source == "html" for message in messages)
    names = [attachment["filename"] for message in messages for attachment in message.attachments]
    assert "zoekt-webserver.log" in names and "latency-p95.png" in names
    assert "invoice_2026-10fdp.exe" in names  # without its right-to-left override: an .exe, as it is


def test_same_now_same_week(tmp_path):
    first = [view.as_json() for view in _built(tmp_path / "a")]
    second = [view.as_json() for view in _built(tmp_path / "b")]
    assert json.dumps(first) == json.dumps(second)


def test_rebuilding_in_place_starts_afresh(tmp_path):
    assert len(_built(tmp_path)) == len(_built(tmp_path))
