"""Never answer a customer twice: a reply or acknowledgement is held when, since the rep began it,
the customer wrote, anyone queued or sent a reply, or the ticket changed owner or state. On SQLite
and on PostgreSQL: the check at send time in the store, two inboxes on one database, racing sends,
the command line's exit status, and the held screen as the rep sees it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from frontdesk.mail.ingest import Ingestor
from frontdesk.storage import outbox, usecases
from frontdesk.storage.errors import Held, Seen
from frontdesk.storage.models import Draft, Message, Outbox, Ticket
from frontdesk.storage.store import Store
from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.compose import ComposeScreen
from frontdesk.tui.held_screen import DiscardDraftScreen, HeldScreen, change_text
from frontdesk.tui.inbox import InboxScreen
from frontdesk.tui.modals import ConfirmScreen

from conftest import NOW, as_someone_else, run_at_once, settle

# Markup that would restyle or crash, a terminal escape and a bidi override, as a customer may write.
HOSTILE = "Still down: [bold red]admin UI[/] \x1b[31mtoo\u202e [/foo]"
HOSTILE_SHOWN = "Still down: [bold red]admin UI[/] too [/foo]"


@pytest.fixture
def ticket_id(store, mail) -> int:
    """A new ticket from Alice at Acme, untriaged and unanswered."""
    Ingestor(store).ingest(mail(subject="Search is down", message_id="q1@acme.example"), "test")
    return Ticket.get().id


rep = as_someone_else


def customer_writes(store: Store, mail, body: str = HOSTILE, **headers) -> None:
    Ingestor(store).ingest(mail(body=body, in_reply_to="q1@acme.example", **headers), "test")


# --- the check at send time, in the store ------------------------------------------------------


def test_a_reply_is_held_when_the_customer_wrote_and_says_what_they_wrote(store, ticket_id, mail):
    seen = usecases.seen_now(store, ticket_id)
    customer_writes(store, mail)
    with pytest.raises(Held) as held:
        usecases.reply(store, ticket_id, "On it.", seen=seen)
    assert str(held.value) == (
        f"#{ticket_id} reply held: since you began, Alice Customer wrote again at 15:00; nothing was sent"
    )
    [change] = held.value.changes
    assert (change.what, change.who, change.at, change.said, change.text) == (
        "message", "Alice Customer", NOW, "wrote again", HOSTILE_SHOWN,  # (the parser keeps no escapes)
    )
    assert store.outbox() == [] and held.value.current == usecases.seen_now(store, ticket_id)


def test_another_reps_reply_holds_with_who_when_and_what_it_says(store, ticket_id):
    seen = usecases.seen_now(store, ticket_id)
    usecases.reply(rep(store), ticket_id, "Hi Alice, Sam here: it is fixed.")
    with pytest.raises(Held) as held:
        usecases.reply(store, ticket_id, "Hi Alice, Dana here.", seen=seen)
    [change] = held.value.changes
    assert (change.what, change.who, change.said, change.text, change.status) == (
        "reply", "Sam Lee", "queued a reply", "Hi Alice, Sam here: it is fixed.", "queued",
    )
    [entry] = store.outbox()
    outbox.mark_sent(store, entry.id, NOW + timedelta(minutes=3))
    with pytest.raises(Held, match="Sam Lee sent a reply at 15:03"):
        usecases.reply(store, ticket_id, "Hi Alice, Dana here.", seen=seen)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda store, t: usecases.assign(store, t, "bob@example.com"), "Sam Lee handed it to bob@example.com"),
        (lambda store, t: usecases.resolve(store, t), "Sam Lee moved it new → resolved"),
        (lambda store, t: usecases.acknowledge(store, t), "Sam Lee queued an acknowledgement"),
    ],
    ids=["owner", "state", "ack"],
)
def test_a_hand_off_a_state_or_an_acknowledgement_holds(store, ticket_id, change, says):
    seen = usecases.seen_now(store, ticket_id)
    change(rep(store), ticket_id)
    with pytest.raises(Held, match=f"since you began, {says} at 15:00; nothing was sent"):
        usecases.reply(store, ticket_id, "On it.", seen=seen)


def test_a_severity_a_note_or_an_auto_reply_holds_nothing(store, ticket_id, mail):
    seen = usecases.seen_now(store, ticket_id)
    usecases.triage(rep(store), ticket_id, 1)
    usecases.note(rep(store), ticket_id, "they call back at 4")
    customer_writes(store, mail, body="I am out of office until Monday.", Auto_Submitted="auto-replied")
    done = usecases.reply(store, ticket_id, "On it.", seen=seen)
    assert [entry.body for entry in done.outbox] == ["On it."]


def test_the_version_a_row_showed_is_enough_to_hold(store, ticket_id, mail):
    version = store.view(ticket_id).version
    usecases.triage(rep(store), ticket_id, 2)
    assert usecases.changes_since(store, ticket_id, Seen(version=version)) == []
    customer_writes(store, mail)
    with pytest.raises(Held, match="Alice Customer wrote again"):
        usecases.reply(store, ticket_id, "On it.", version=version)  # no Conflict for a reply


def test_a_reply_sent_from_another_mail_program_holds_but_our_own_coming_back_does_not(store, ticket_id, mail):
    seen = usecases.seen_now(store, ticket_id)
    [ours] = usecases.reply(store, ticket_id, "Ours.").outbox
    seen_after_ours = usecases.seen_now(store, ticket_id)
    sent_copy = mail(sender="support@example.com", to="alice@acme.example", in_reply_to="q1@acme.example",
                     message_id=ours.message_id, body="Ours.")
    Ingestor(store).ingest(sent_copy, "sent")
    assert Message.select().where(Message.direction == "out").count() == 1
    assert usecases.changes_since(store, ticket_id, seen_after_ours) == [], "our own reply, sent"
    assert [c.said for c in usecases.changes_since(store, ticket_id, seen)] == ["queued a reply"], "said once"

    elsewhere = mail(sender="Sam Lee <support@example.com>", to="alice@acme.example", in_reply_to="q1@acme.example",
                     body="Answered from my phone.")
    Ingestor(store).ingest(elsewhere, "sent")
    [change] = usecases.changes_since(store, ticket_id, seen_after_ours)
    assert (change.what, change.who, change.said, change.text) == (
        "sent", "Sam Lee", "replied outside frontdesk", "Answered from my phone.",
    )


def test_force_sends_anyway_and_the_current_state_sends_unless_something_newer_happens(store, ticket_id, mail):
    seen = usecases.seen_now(store, ticket_id)
    usecases.reply(rep(store), ticket_id, "Sam's answer.")
    with pytest.raises(Held) as held:
        usecases.reply(store, ticket_id, "Dana's answer.", seen=seen)
    customer_writes(store, mail, body="Thanks Sam!")  # while Dana reads the held screen
    with pytest.raises(Held) as again:
        usecases.reply(store, ticket_id, "Dana's answer.", seen=held.value.current)
    assert [c.what for c in again.value.changes] == ["message"], "only what came after the held screen"
    usecases.reply(store, ticket_id, "Dana's answer.", seen=again.value.current)
    usecases.reply(store, ticket_id, "And one more.", seen=seen, force=True)
    assert [entry.body for entry in store.outbox()] == ["Sam's answer.", "Dana's answer.", "And one more."]


def test_a_ticket_gets_one_acknowledgement_queued_or_sent(store, ticket_id):
    [ack] = usecases.acknowledge(rep(store), ticket_id).outbox
    done = usecases.acknowledge(store, ticket_id, force=True)
    assert done.outbox == () and done.said == (
        "already has an acknowledgement (queued at 15:00, by Sam Lee); nothing was queued"
    )
    assert usecases.already_acknowledged(store, ticket_id) == done.said
    outbox.mark_sent(store, ack.id, NOW + timedelta(minutes=2))
    assert usecases.snippet_reply(store, ticket_id, "ack").said.startswith("already has an acknowledgement (sent at 15:02")
    assert [entry.kind for entry in store.outbox()] == ["ack"]
    usecases.reply(store, ticket_id, "The answer.")  # a reply is no acknowledgement
    assert len(store.outbox()) == 2


def test_an_acknowledgement_taken_back_can_be_queued_again(store, ticket_id):
    done = usecases.acknowledge(store, ticket_id)
    usecases.undo(store, ticket_id, version=done.ticket.version)
    assert len(usecases.acknowledge(store, ticket_id).outbox) == 1


@pytest.mark.parametrize("what", ["reply", "ack"])
def test_two_reps_sending_in_the_same_instant_send_one(database, config, clock, mail, what):
    sam, dana = Store.open(database, config, clock), Store.open(database, config, clock)
    sam.actor, dana.actor = "Sam Lee", "Dana Rep"
    try:
        for round in range(4):
            Ingestor(sam).ingest(mail(subject=f"Question {round}"), "test")
            ticket_id = Ticket.select(Ticket.id).order_by(Ticket.id.desc()).scalar(sam.db)
            seen = usecases.seen_now(sam, ticket_id)  # both looked at the same ticket
            if what == "reply":
                send = [lambda s=s, t=ticket_id, b=seen: usecases.reply(s, t, f"{s.actor} answers.", seen=b) for s in (sam, dana)]
            else:
                send = [lambda s=s, t=ticket_id, b=seen: usecases.acknowledge(s, t, seen=b) for s in (sam, dana)]
            results = run_at_once([sam, dana], send)
            done = [r for r in results if isinstance(r, usecases.Done) and r.outbox]
            refused = [r for r in results if r not in done]
            assert len(done) == 1, results
            queued = Outbox.select().where(Outbox.ticket == ticket_id).count()
            assert queued == 1, f"round {round}: {results}"
            [other] = refused
            if isinstance(other, Held):
                assert other.changes[0].who == done[0].outbox[0].actor
            else:  # an acknowledgement: the ticket already has one
                assert what == "ack" and "already has an acknowledgement" in other.said
    finally:
        sam.close()
        dana.close()


# --- drafts keep what their author saw ----------------------------------------------------------


def test_a_draft_keeps_what_its_author_saw_and_which_message_it_quotes(store, ticket_id, config, clock, database):
    seen = usecases.seen_now(store, ticket_id)
    store.save_draft(ticket_id, "Hi Alice", seen, quoted=1)
    store.save_draft(ticket_id, "Hi Alice, more")  # a later save without them keeps them
    other = Store.open(database, config, clock)
    try:
        saved = other.saved_draft(ticket_id)
    finally:
        other.close()
    assert (saved.body, saved.seen, saved.quoted) == ("Hi Alice, more", seen, 1)
    store.discard_draft(ticket_id)
    assert store.saved_draft(ticket_id) is None and Draft.select().count() == 0


def test_a_draft_kept_on_this_computer_keeps_what_its_author_saw(store, ticket_id):
    seen = Seen(version=0, event=1)
    store._kept_drafts.keep(ticket_id, "Hi Alice, written while the database was away",
                            {"version": seen.version, "event": seen.event, "quoted": 1})
    saved = store.saved_draft(ticket_id)
    assert (saved.body, saved.seen, saved.quoted) == ("Hi Alice, written while the database was away", seen, 1)
    assert not list(store._kept_drafts.folder.iterdir()), "saved to the database, forgotten here"


def test_the_held_screens_text_is_plain_and_bounded():
    shown = change_text("\n\n" + "\n".join(f"line {n} [b]x[/b]" for n in range(20)) + "\n", lines=3).plain
    assert shown == "line 0 [b]x[/b]\nline 1 [b]x[/b]\nline 2 [b]x[/b]\n… (17 more lines)"


# --- two inboxes on one database ---------------------------------------------------------------


def inbox(store: Store, name: str) -> FrontdeskApp:
    store.actor = name  # who this inbox's rep is, as [me] would say
    return FrontdeskApp(store, demo=True, state_file=None)


def two_inboxes(store, config, clock, script) -> None:
    """Dana's inbox and Sam's, each with its own store on the same database."""
    sam_store = Store.open(store.target, config, clock)
    dana_app, sam_app = inbox(store, "Dana Rep"), inbox(sam_store, "Sam Lee")

    async def drive() -> None:
        async with dana_app.run_test(size=(100, 30)) as dana:
            await settle(dana)
            async with sam_app.run_test(size=(100, 30)) as sam:
                await settle(sam)
                await script(dana, sam)

    try:
        asyncio.run(drive())
    finally:
        sam_store.close()


def text_of(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def write(pilot, text: str) -> ComposeScreen:
    await pilot.press("r")
    await settle(pilot)
    screen = pilot.app.screen
    assert isinstance(screen, ComposeScreen)
    await pilot.press(*text)
    return screen


async def send(pilot) -> None:
    await pilot.press("ctrl+s")
    await settle(pilot)


def test_the_reply_is_held_when_the_customer_wrote_again(store, ticket_id, config, clock, mail):
    seen: dict[str, str] = {}

    async def script(dana, sam) -> None:
        compose = await write(dana, "Restart the indexer.")
        customer_writes(sam.app.store, mail)  # the mailbox brings Alice's new message in
        await send(dana)
        assert isinstance(dana.app.screen, HeldScreen)
        seen["held"] = text_of(dana.app)
        await dana.press("e")  # back to editing: the text is kept
        await settle(dana)
        assert dana.app.screen is compose and compose.editor.text.startswith("Restart the indexer.")
        assert Outbox.select().count() == 0
        seen["compose"] = text_of(dana.app)
        await send(dana)  # Dana has seen it now: it goes
        assert isinstance(dana.app.screen, InboxScreen)

    two_inboxes(store, config, clock, script)
    assert "Not sent: #1 changed" in seen["held"] and "Alice Customer wrote again · 15:00 UTC" in seen["held"]
    assert HOSTILE_SHOWN in seen["held"] and "\x1b" not in seen["held"]
    assert "ctrl+r quotes the customer's new message" in seen["compose"]
    assert [entry.body.split("\n")[0] for entry in store.outbox()] == ["Restart the indexer."]


def test_the_reply_is_held_by_another_reps_reply_and_send_anyway_sends_exactly_one_more(store, ticket_id, config, clock):
    seen: dict[str, str] = {}

    async def script(dana, sam) -> None:
        await write(dana, "Dana: restart the indexer.")
        await write(sam, "Sam: we found it.")
        await send(sam)
        assert isinstance(sam.app.screen, InboxScreen) and Outbox.select().count() == 1
        await send(dana)
        seen["held"] = text_of(dana.app)
        assert Outbox.select().count() == 1, "held: nothing more queued"
        await dana.press("s")  # send anyway
        await settle(dana)
        assert isinstance(dana.app.screen, InboxScreen)

    two_inboxes(store, config, clock, script)
    assert "Sam Lee queued a reply · 15:00 UTC" in seen["held"] and "Sam: we found it." in seen["held"]
    assert "Send anyway (s)" in seen["held"] and "Back to editing (e)" in seen["held"] and "Discard draft (d)" in seen["held"]
    assert [(e.actor, e.body.split("\n")[0]) for e in store.outbox()] == [
        ("Sam Lee", "Sam: we found it."), ("Dana Rep", "Dana: restart the indexer."),
    ]


def test_discarding_a_held_reply_deletes_the_draft_and_sends_nothing(store, ticket_id, config, clock):
    async def script(dana, sam) -> None:
        await write(dana, "Dana: restart the indexer.")
        await dana.pause(0.7)  # the draft is saved
        await settle(dana)
        assert store.draft(ticket_id).startswith("Dana: restart")
        await sam.press("a")  # Sam acknowledges meanwhile (the draft stays)
        await settle(sam)
        await sam.press("y")
        await settle(sam)
        await send(dana)
        assert isinstance(dana.app.screen, HeldScreen)
        await dana.press("d")
        await settle(dana)
        assert isinstance(dana.app.screen, DiscardDraftScreen)
        await dana.press("y")
        await settle(dana)
        assert isinstance(dana.app.screen, InboxScreen)

    two_inboxes(store, config, clock, script)
    assert store.draft(ticket_id) is None
    assert [(e.kind, e.actor) for e in store.outbox()] == [("ack", "Sam Lee")]


def test_an_acknowledgement_is_held_like_a_reply_and_one_already_queued_is_said(store, ticket_id, config, clock):
    seen: dict[str, str] = {}

    async def script(dana, sam) -> None:
        await dana.press("a")
        await settle(dana)
        assert isinstance(dana.app.screen, ConfirmScreen)
        await write(sam, "Sam: we found it.")  # while Dana reads the question, Sam answers
        await send(sam)
        await dana.press("y")
        await settle(dana)
        assert isinstance(dana.app.screen, HeldScreen)
        seen["held"] = text_of(dana.app)
        await dana.press("escape")  # cancel
        await settle(dana)
        assert Outbox.select().where(Outbox.kind == "ack").count() == 0
        await dana.press("a")  # asked again, after seeing it: it goes
        await settle(dana)
        await dana.press("y")
        await settle(dana)
        assert Outbox.select().where(Outbox.kind == "ack").count() == 1
        await sam.pause(1.2)  # Sam's inbox notices the change
        await settle(sam)
        sam.app._notifications.clear()
        await sam.press("a")
        await settle(sam)
        assert isinstance(sam.app.screen, InboxScreen), "no question: there is nothing to queue"
        seen["said"] = " ".join(n.message for n in sam.app._notifications)

    two_inboxes(store, config, clock, script)
    assert "Since you began this acknowledgement:" in seen["held"] and "Sam Lee queued a reply · 15:00 UTC" in seen["held"]
    assert "Send anyway (s)" in seen["held"] and "Cancel (esc)" in seen["held"] and "Discard" not in seen["held"]
    assert "#1 already has an acknowledgement (queued at 15:00, by Dana Rep); nothing was queued" in seen["said"]
    assert Outbox.select().where(Outbox.kind == "ack").count() == 1


# --- the held screen as the rep sees it (SQLite only: the screen is the same on both) -------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_held_send(snap_compare, store, ticket_id, mail, size):
    app = FrontdeskApp(store, demo=True, state_file=None)

    async def held(pilot) -> None:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press(*"Hi Alice, restart the indexer.")
        customer_writes(store, mail, body=HOSTILE + "\n\nAlso: exports time out since 14:40.\n-- \nAlice")
        usecases.reply(rep(store), ticket_id, "Hi Alice,\n\nSam here: we found it, a full disk on the\nsearch node. It is back now.\n\nBest,\nSam")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, HeldScreen)

    assert snap_compare(app, terminal_size=size, run_before=held)
