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

from .views import VIEWS

KEYS = (
    ("Triage", (
        ("s", "set severity: 1 when production is badly hurt, 2 for everything else"),
        ("a", "acknowledge: queue a first response now, even before you know the answer"),
        ("r", "reply, with snippets (ctrl+t in the editor) and the thread quoted"),
        ("o", "hand off to a support owner who sees the ticket through"),
        ("t", "take: the ticket is yours (you are its owner)"),
        ("w", "waiting on the customer (pauses the resolution clock); again to reopen"),
        ("x", "resolve"),
        ("u", "undo your last change, unless someone changed the ticket since"),
        ("n", "internal note for the team, never sent"),
    )),
    ("Moving around", (
        ("↑ ↓ j k", "move; PgUp PgDn, Home End (g G) jump"),
        ("enter", "open the ticket: thread, clocks, history"),
        ("/", "search subjects, people, customers and message text; esc clears"),
        ("p", "show or hide the preview under the list"),
        ("esc q", "back from a ticket; q in the inbox quits"),
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
    return Group(*groups, _group("Views", VIEW_KEYS), _group("Clocks", CLOCK_WORDS))


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield Static(help_text())
