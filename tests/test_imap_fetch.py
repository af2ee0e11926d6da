"""Body fetches read without imapclient's parser give what imapclient's fetch gives, against a real
Dovecot; shapes the quick reading doesn't know go to imapclient's parser."""

from __future__ import annotations

from datetime import datetime, timezone

import mailserver
import pytest
from imapclient import IMAPClient
from mailserver import Dovecot

from frontdesk.mail import imap_fetch
from frontdesk.mail.imap_fetch import _internaldate, _read_simple, fetch_bodies

from conftest import build_mail

dovecot = mailserver.dovecot

# A body that looks like the response around it: a closing parenthesis, a literal's size, a quote.
TRICKY = build_mail(subject='closing ) and {12} and "quoted"', body='UID 99 INTERNALDATE "x" BODY[] {3}\r\n)\r\n')


def as_utc(items: dict[bytes, object]) -> dict[bytes, object]:
    """imapclient gives INTERNALDATE as local naive time: compare the instants."""
    date = items[b"INTERNALDATE"]
    assert isinstance(date, datetime)
    return {**items, b"INTERNALDATE": date.astimezone(timezone.utc)}


def both(client: IMAPClient, uids: list[int], body: str) -> tuple[dict, dict]:
    ours = fetch_bodies(client, uids, body)
    theirs = client.fetch(uids, [body, "INTERNALDATE"])
    return {uid: as_utc(items) for uid, items in ours.items()}, {
        uid: as_utc({key: value for key, value in items.items() if key != b"SEQ"}) for uid, items in theirs.items()
    }


def test_bodies_and_arrival_times_are_imapclients(dovecot: Dovecot) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, [build_mail(subject=f"plain {i}") for i in range(3)] + [TRICKY])
    dovecot.append(folder, [build_mail(subject="arrived in Tokyo")], when=datetime.fromisoformat("2026-11-20T09:15:00+09:00"))
    with dovecot.client() as client:
        client.select_folder(folder, readonly=True)
        uids = client.search("ALL")
        ours, theirs = both(client, [*uids, 9999], "BODY.PEEK[]")  # 9999: no such message, left out
        assert sorted(ours) == uids
        assert ours == theirs
        assert ours[uids[-1]][b"INTERNALDATE"] == datetime(2026, 11, 20, 0, 15, tzinfo=timezone.utc)
        assert b'BODY[] {3}' in ours[uids[3]][b"BODY[]"]

        heads, their_heads = both(client, uids[:2], "BODY.PEEK[]<0.100>")  # a huge message's head
        assert heads == their_heads
        assert all(len(items[b"BODY[]<0>"]) == 100 for items in heads.values())
        assert fetch_bodies(client, [], "BODY.PEEK[]") == {}


def test_an_unsolicited_flags_update_during_the_fetch_goes_to_imapclients_parser(
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = dovecot.new_folder()
    dovecot.append(folder, [build_mail(subject=f"flagged {i}") for i in range(2)])
    quick_readings: list[object] = []

    def watched(data: list) -> object:
        quick_readings.append(result := _read_simple(data))
        return result

    with dovecot.client() as reader, dovecot.client() as other:
        reader.select_folder(folder)
        other.select_folder(folder)
        uids = reader.search("ALL")
        other.add_flags(uids[:1], [b"\\Flagged"])  # the reader hears of it with its next command
        monkeypatch.setattr(imap_fetch, "_read_simple", watched)
        ours = fetch_bodies(reader, uids, "BODY.PEEK[]")
        clean = fetch_bodies(reader, uids, "BODY.PEEK[]")
    assert quick_readings[0] is None and quick_readings[1] is not None
    assert {uid: items[b"BODY[]"] for uid, items in ours.items()} == {uid: items[b"BODY[]"] for uid, items in clean.items()}
    assert sorted(ours) == uids


def literal(head: bytes, body: bytes) -> tuple[bytes, bytes]:
    return (head + b" {%d}" % len(body), body)


@pytest.mark.parametrize(
    "data",
    [
        [literal(b'1 (UID 7 INTERNALDATE "02-Dec-2026 06:01:06 +0000" BODY[]', b"mail"), b")"],
        [literal(b"1 (BODY[]", b"mail"), b' UID 7 INTERNALDATE "02-Dec-2026 06:01:06 +0000")'],
        [literal(b'1 (INTERNALDATE "02-Dec-2026 06:01:06 +0000" UID 7 BODY[]', b"mail"), b")"],
    ],
    ids=["dovecot", "body first", "date first"],
)
def test_the_items_may_come_in_any_order(data: list) -> None:
    assert _read_simple(data) == {7: {b"BODY[]": b"mail", b"INTERNALDATE": datetime(2026, 12, 2, 6, 1, 6, tzinfo=timezone.utc)}}


@pytest.mark.parametrize(
    "data",
    [
        [b"3 (FLAGS (\\Seen))", literal(b'1 (UID 7 INTERNALDATE "02-Dec-2026 06:01:06 +0000" BODY[]', b"mail"), b")"],
        [b'1 (UID 7 INTERNALDATE "02-Dec-2026 06:01:06 +0000" BODY[] "quoted")', b")"],
        [literal(b'1 (UID 7 FLAGS (\\Seen) INTERNALDATE "02-Dec-2026 06:01:06 +0000" BODY[]', b"mail"), b")"],
        [literal(b"1 (UID 7 BODY[]", b"mail"), b")"],  # no INTERNALDATE
        [literal(b'1 (UID 7 INTERNALDATE "31-Feb-2026 06:01:06 +0000" BODY[]', b"mail"), b")"],
        [(b'1 (UID 7 INTERNALDATE "02-Dec-2026 06:01:06 +0000" BODY[] {9}', b"mail"), b")"],  # size is not the literal's
        [None],
    ],
    ids=["unsolicited", "quoted", "flags", "no date", "bad date", "wrong size", "nothing"],
)
def test_any_other_shape_is_left_to_imapclient(data: list) -> None:
    assert _read_simple(data) is None


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        (b"02-Dec-2026 06:01:06 +0000", "2026-12-02T06:01:06+00:00"),
        (b" 2-Dec-2026 06:01:06 -0530", "2026-12-02T11:31:06+00:00"),
        (b"01-jan-2027 00:30:00 +0100", "2026-12-31T23:30:00+00:00"),
    ],
)
def test_arrival_times_are_read_as_utc_instants(text: bytes, instant: str) -> None:
    assert _internaldate(text) == datetime.fromisoformat(instant)
