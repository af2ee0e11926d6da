"""Every key of the inbox and the ticket screen, in one table: the screens' bindings, the footer,
the command palette and the help are all drawn from it. Each binding carries its row's id, so a
keymap (App.set_keymap, e.g. from a `[keys]` config) can move a key and every place follows."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.app import SystemCommand
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

from frontdesk.storage.sla import severity_guide

from .views import VIEWS

INBOX, TICKET = "inbox", "ticket"
BOTH = (INBOX, TICKET)
# What the help says severity means: the one place for these words.
SEVERITY_HELP = f"set severity: {severity_guide()}"

# The help's sections.
TRIAGE = "Triage"
MOVING = "Moving around"
VIEWS_GROUP = "Views"
OTHER = "Everything else"


@dataclass(frozen=True)
class KeyAction:
    id: str  # the binding id, which a keymap names
    keys: str  # the default keys, comma-separated; "" for a palette-only action
    action: str  # run on the screen
    help: str  # in the help, and under the palette title
    group: str = OTHER  # the help's section
    label: str = ""  # in the footer
    footer: int = 0  # 0: never in the footer; else kept as the width allows, lowest first
    title: str = ""  # in the palette, with the words a rep may search for; "" keeps it out
    where: tuple[str, ...] = BOTH
    each: bool = False  # with tickets marked, applies to each of them (tui/actions.py)


ACTIONS: tuple[KeyAction, ...] = (
    KeyAction("severity", "s", "severity", SEVERITY_HELP, TRIAGE,
              label="Severity", footer=2, title="Set severity (triage, priority)", each=True),
    KeyAction("acknowledge", "a", "acknowledge",
              "acknowledge: queue a first response now, even before you know the answer (one per ticket)", TRIAGE,
              label="Ack", footer=2, title="Acknowledge (first response)"),
    KeyAction("reply", "r", "reply", "reply, with snippets (ctrl+t in the editor) and the thread quoted", TRIAGE,
              label="Reply", footer=2, title="Reply to the customer (answer)"),
    KeyAction("reply-in-editor", "R", "reply_in_editor",
              "reply in your own editor ($VISUAL, else $EDITOR, else vi); the text comes back to the composer, "
              "sent only when you press ctrl+s", TRIAGE, title="Reply in my editor ($EDITOR, vim)"),
    KeyAction("handoff", "o", "handoff", "hand off to a support owner who sees the ticket through", TRIAGE,
              label="Hand off", footer=2, title="Hand off (assign to an owner)", each=True),
    KeyAction("take", "t", "take", "take: the ticket is yours (you are its owner)", TRIAGE,
              label="Take", footer=5, title="Take (assign to me)"),
    KeyAction("waiting", "w", "waiting", "waiting on the customer (pauses the resolution clock); again to reopen",
              TRIAGE, label="Wait", footer=2, title="Waiting on customer (pause; again reopens)", each=True),
    KeyAction("resolve", "x", "resolve", "resolve; again to reopen", TRIAGE,
              label="Resolve", footer=2, title="Resolve (close; again reopens)", each=True),
    KeyAction("undo", "u", "undo", "undo your latest change, several steps deep; a ticket someone changed since stays as it is", TRIAGE,
              label="Undo", footer=4, title="Undo my last change"),
    KeyAction("note", "n", "note", "internal note for the team, never sent", TRIAGE,
              label="Note", footer=4, title="Internal note (comment for the team)", each=True),
    KeyAction("mark", "space", "mark",
              "mark or unmark the ticket, then go to the next; severity, hand off, waiting, resolve and note "
              "apply to every marked ticket in one step", TRIAGE, title="Mark the ticket (select for a bulk change)", where=(INBOX,)),
    KeyAction("mark-range", "v", "mark_range", "mark every ticket from the one last marked to this one", TRIAGE,
              title="Mark a range (select from the last marked to here)", where=(INBOX,)),
    KeyAction("mark-all", "ctrl+a", "mark_all", "mark every ticket in the view", TRIAGE,
              title="Mark all in the view (select all)", where=(INBOX,)),
    KeyAction("search", "slash", "search", "search subjects, people, customers, message text and notes; ↓ goes to the results, enter opens the highlighted one, esc clears", MOVING,
              label="Search", footer=3, title="Search tickets (find)", where=(INBOX,)),
    KeyAction("clear", "escape", "clear", "clear the marks, else the search", MOVING,
              title="Clear the marks (unselect all)", where=(INBOX,)),
    KeyAction("preview", "p", "toggle_preview", "show or hide the preview under the list", MOVING,
              label="Preview", footer=6, title="Show or hide the preview", where=(INBOX,)),
    KeyAction("stats", "S", "stats", "stats: response and resolution times, SLA attainment, the week's hand-over",
              label="Stats", footer=5, title="Stats (SLA attainment, rotation summary)"),
    KeyAction("help", "question_mark", "help", "this help: every key, and what the columns say",
              label="Keys", footer=1, title="Keys and columns (help)"),
    KeyAction("quit", "q", "app.quit", "quit (from the inbox)", label="Quit", footer=1, where=(INBOX,)),
    KeyAction("back", "escape,q", "app.pop_screen", "back to the inbox", MOVING,
              label="Back", footer=1, title="Back to the inbox", where=(TICKET,)),
    KeyAction("jump", "colon", "jump(':')", ": then a ticket number and enter: open that ticket, in the view or not",
              MOVING, title="Go to ticket by number (jump)"),
    KeyAction("jump-number", "number_sign", "jump('#')", "# then a ticket number and enter: the same", MOVING),
    KeyAction("next-ticket", "J", "next_ticket(1)", "the next ticket of the list you opened this one from", MOVING,
              title="Next ticket in the list", where=(TICKET,)),
    KeyAction("previous-ticket", "K", "next_ticket(-1)", "the previous ticket of that list", MOVING,
              title="Previous ticket in the list", where=(TICKET,)),
    KeyAction("sort-next", "greater_than_sign", "sort_step(1)",
              "sort by the next column (▲ or ▼ after its title); a click on a title sorts by it, again reverses",
              MOVING, title="Sort by the next column (order)", where=(INBOX,)),
    KeyAction("sort-previous", "less_than_sign", "sort_step(-1)", "sort by the previous column", MOVING,
              title="Sort by the previous column (order)", where=(INBOX,)),
    KeyAction("sort-invert", "I", "invert_sort", "reverse the sort: ▲ smallest first (Due: most urgent), ▼ largest",
              MOVING, title="Reverse the sort order", where=(INBOX,)),
    KeyAction("copy", "y", "copy_ticket",
              "copy the ticket's number and subject (through the terminal: over SSH and in tmux too)",
              title="Copy ticket number and subject (yank, clipboard)"),
    KeyAction("copy-link", "Y", "copy_link", "copy the ticket's link ([support] ticket_url in the config)",
              title="Copy ticket link (URL, clipboard)"),
    *(
        KeyAction(f"view-{view.key}", view.hotkey, f"view('{view.key}')", f"{view.title}: {view.describe}", VIEWS_GROUP,
                  title=f"View: {view.title}", where=(INBOX,))
        for view in VIEWS
    ),
    KeyAction("retry-send", "", "retry_send", "Queue the failed message again (key R in the Outbox view)",
              title="Outbox: retry a failed send", where=(INBOX,)),
    KeyAction("discard-send", "", "discard_send",
              "Drop a queued or failed message so it is never sent (key d in the Outbox view)",
              title="Outbox: discard", where=(INBOX,)),
    KeyAction("take-rotation", "", "take_rotation", "Put yourself on front-line rotation and read the hand-over note",
              title="Take over the rotation", where=(INBOX,)),
    KeyAction("handover-note", "", "handover_note",
              "The note the previous rep left when the rotation changed hands",
              title="Hand-over note", where=(INBOX,)),
)
BY_ACTION = {action.action: action for action in ACTIONS}


def bindings(where: str) -> list[Binding]:
    """A screen's BINDINGS: the table's keyed actions that apply there, in the table's order."""
    return [
        Binding(a.keys, a.action, a.label or a.help, show=a.footer > 0, id=a.id)
        for a in ACTIONS
        if a.keys and where in a.where
    ]


def keys_in_force(screens: Iterable[Screen]) -> dict[str, list[str]]:
    """Binding id -> the keys that run it now (after any keymap), as the footer writes them; the
    first screen that binds an id says its keys (the top one first)."""
    found: dict[str, list[str]] = {}
    for screen in screens:
        here: dict[str, list[str]] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if binding.id is not None and binding.id not in found:
                here.setdefault(binding.id, []).append(screen.app.get_key_display(binding))
        found |= here
    return found


def palette(screen: Screen, where: str) -> Iterator[SystemCommand]:
    """The table's actions that apply on `screen`, by name, each with its key in force."""
    keys = keys_in_force([screen])
    for action in ACTIONS:
        if action.title and where in action.where:
            help_text = palette_help(action.help, keys.get(action.id, ()))
            yield SystemCommand(action.title, help_text, lambda name=action.action: screen.run_action(name))


def palette_help(meaning: str, keys: Iterable[str]) -> str:
    """The line under a palette command: what it does, as a sentence, and its keys in force."""
    shown = " ".join(keys)
    return meaning[0].upper() + meaning[1:] + (f" (key {shown})" if shown else "")


def help_rows(keys: dict[str, list[str]], group: str) -> list[tuple[str, str]]:
    """(keys, meaning) for the help's section `group`, with the keys in force."""
    return [(" ".join(keys[a.id]), a.help) for a in ACTIONS if a.group == group and a.id in keys]


class KeysFooter(Footer):
    """The footer with as many of the screen's keys as fit whole: the table's `footer` order says
    which go first, so help and quit (or back) never drop off a narrow terminal. A `marked` count
    comes first and always stays; the triage keys shown with it are those that apply to each
    marked ticket."""

    marked = reactive(0, recompose=True)
    _shown_for: tuple | None = None  # what the keys on show were composed for (_shows)

    def compose(self):
        shown = list(super().compose())
        if self.marked:
            shown = [widget for widget in shown if _applies_to_marked(widget)]
            shown.insert(0, FooterLabel(Text(f" {self.marked} marked ", style="bold reverse")))
        width = self.app.size.width
        for compact in (False, True):
            if sum(_width(key, compact) for key in shown) <= width:
                self.compact = compact
                yield from shown
                return
        self.compact = True
        kept: set[int] = set()
        for index in sorted(range(len(shown)), key=lambda i: _rank(shown[i])):
            if sum(_width(shown[i], True) for i in kept) + _width(shown[index], True) <= width:
                kept.add(index)
        yield from (widget for index, widget in enumerate(shown) if index in kept)

    def on_resize(self) -> None:
        self.call_after_refresh(self.recompose)

    async def recompose(self) -> None:
        """Only when the keys shown would change. Bindings are "updated" on every focus change and
        resizes come in bursts: at start-up that was seven recomposes of some twenty keys each."""
        if not self.is_attached:
            return
        shown_for = self._shows()
        if shown_for == self._shown_for:
            return
        self._shown_for = shown_for
        await super().recompose()

    def _shows(self) -> tuple:
        bindings = self.screen.active_bindings.values() if self._bindings_ready else ()
        keys = tuple((binding.key, binding.action, binding.description, enabled) for _, binding, enabled, _ in bindings)
        return self.app.size.width, self.marked, keys


def _applies_to_marked(widget) -> bool:
    action = BY_ACTION.get(widget.action) if isinstance(widget, FooterKey) else None
    return action is None or action.group != TRIAGE or action.each


def _rank(widget) -> int:
    """The command palette's key comes first; then the table's order."""
    if not isinstance(widget, FooterKey) or widget.has_class("-command-palette"):
        return 0
    action = BY_ACTION.get(widget.action)
    return action.footer if action is not None else len(ACTIONS)


def _width(widget, compact: bool) -> int:
    """The cells a key takes in the footer: its key and label with Footer's padding (or margin)."""
    if isinstance(widget, FooterLabel):
        return cell_len(str(widget.content)) + (0 if compact else 1)
    if not isinstance(widget, FooterKey):
        return 0
    return cell_len(widget.key_display) + cell_len(widget.description) + (2 if compact else 3)
