"""`?`: every key, grouped the way a rep on rotation thinks about them."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .ticket_table import MARKERS
from .views import VIEWS

KEYS = (
    ("Triage", (
        ("s", "set severity: 1 when production is badly hurt, 2 for everything else"),
        ("a", "acknowledge: queue a first response now, even before you know the answer (one per ticket)"),
        ("r", "reply, with snippets (ctrl+t in the editor) and the thread quoted"),
        ("o", "hand off to a support owner who sees the ticket through"),
        ("t", "take: the ticket is yours (you are its owner)"),
        ("w", "waiting on the customer (pauses the resolution clock); again to reopen"),
        ("x", "resolve"),
        ("u", "undo your last change, unless someone changed the ticket since"),
        ("n", "internal note for the team, never sent"),
    )),
    ("Writing a reply", (
        ("ctrl+s", "send; held if, since you began, the customer wrote, someone answered, or owner or state changed"),
        ("", "   then: s send anyway, e back to editing, d discard (esc cancels an acknowledgement)"),
        ("ctrl+t", "insert a snippet at the cursor"),
        ("ctrl+r", "quote the customer's newest message instead (a draft brought back under a newer one)"),
        ("ctrl+d", "discard the draft, after you confirm"),
        ("esc", "leave: the draft is kept"),
    )),
    ("Moving around", (
        ("↑ ↓ j k", "move; PgUp PgDn, Home End (g G) jump"),
        ("enter", "open the ticket: thread, clocks, history"),
        ("/", "search subjects, people, customers and message text; esc clears"),
        ("p", "show or hide the preview under the list"),
        ("esc q", "back from a ticket; q in the inbox quits"),
    )),
    ("The Outbox view (8)", (
        ("R", "retry a failed message: it is queued again and sent at once"),
        ("d", "discard a queued or failed message, after you confirm: it is never sent"),
        ("enter", "open its ticket"),
    )),
    ("Everything else", (
        ("S", "stats: response and resolution times, SLA attainment, the week's hand-over"),
        ("ctrl+p", "command palette: every action and view by name, and the theme"),
        ("?", "this help"),
        ("ctrl+q", "quit"),
    )),
)


VIEW_KEYS = (
    (" ".join(view.hotkey for view in VIEWS), ", ".join(view.title for view in VIEWS)),
)
CLOCK_WORDS = (
    ("LATE", "past due: the countdown shows how far over"),
    ("RISK", "less than a fifth of the target left"),
    ("wait", "paused while waiting on the customer"),
    ("?", "in the Sev column: not triaged yet; the strictest response target applies"),
)


def _group(title: str, rows) -> Group:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=9)
    table.add_column()
    for key, meaning in rows:
        table.add_row(key, meaning)
    return Group(Text(title, style="bold underline"), table, Text(""))


def help_text() -> Group:
    groups = [_group(title, rows) for title, rows in KEYS]
    return Group(*groups, _group("Views", VIEW_KEYS), _group("Clocks", CLOCK_WORDS), _group("Markers, after the ticket number", MARKERS))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield Static(help_text())
