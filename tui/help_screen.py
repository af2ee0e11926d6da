"""`?`: every key, grouped the way a rep on rotation thinks about them."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from frontdesk.storage.config import MacroConfig, SavedView
from frontdesk.storage.sla import SEVERITIES

from .countdown import STATUS_LABEL
from .keymap import MACROS, macro_rows
from .keys import MOVING, OTHER, TRIAGE, VIEWS_GROUP, help_rows
from .ticket_table import MARKERS
from .views import saved_help_rows

# Keys of the editor and of the lists themselves, which the key table (tui/keys.py) does not hold.
WRITING = (
    ("ctrl+s", "send; held if, since you began, the customer wrote, someone answered, or owner or state changed"),
    ("", "   then: s send anyway, e back to editing, d discard (esc cancels an acknowledgement)"),
    ("ctrl+t", "insert a snippet at the cursor"),
    ("ctrl+r", "quote the customer's newest message instead (a draft brought back under a newer one)"),
    ("ctrl+d", "discard the draft, after you confirm"),
    ("ctrl+e", "write it in your own editor ($VISUAL, else $EDITOR, else vi): the text comes back here, unsent (in a note too)"),
    ("esc", "leave: the draft is kept"),
)
IN_THE_LIST = (
    ("↑ ↓ j k", "move; PgUp PgDn, Home End (g G) jump"),
    ("enter", "open the ticket: thread, clocks, history"),
)
OUTBOX_VIEW = (
    ("R", "retry a failed message: it is queued again and sent at once"),
    ("d", "discard a queued or failed message, after you confirm: it is never sent"),
    ("enter", "open its ticket"),
)
ANYWHERE = (
    ("ctrl+p", "command palette: every action and view by name, and the theme"),
    ("ctrl+q", "quit, from any screen"),
)
# What the table's columns can say beyond plain words.
COLUMNS = (
    ("▲ ▼", "after a column's title: the list is sorted by it, smallest first or largest first"),
    ("Due", "time left on the running clock: the response target until the first reply, then resolution"),
    ("-3h", "in Due, a minus: past due by that much"),
    ("-", "in Due: no clock running"),
    ("met missed", "in Due: the clock has stopped, on time or late"),
    (STATUS_LABEL["breached"], "in SLA: past due"),
    (STATUS_LABEL["at_risk"], "in SLA: less than a fifth of the target left"),
    (STATUS_LABEL["ok"], "in SLA: on track"),
    (STATUS_LABEL["paused"], "in SLA: paused while waiting on the customer"),
    (" ".join(severity.name for severity in SEVERITIES), "in Sev: the severity (s sets it)"),
    ("?", "in Sev: not triaged yet; the strictest response target applies"),
    ("auto", "in Sev: an automatic reply or a bounce, kept for the record: no SLA clock"),
)


def _group(title: str, rows) -> Group:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True, min_width=9)
    table.add_column()
    for key, meaning in rows:
        table.add_row(Text(key), Text(meaning))  # Text: a key such as "[" is not markup
    return Group(Text(title, style="bold underline"), table, Text(""))


def help_text(
    keys: dict[str, list[str]], macros: Sequence[MacroConfig] = (), views: Sequence[SavedView] = ()
) -> Group:
    """Every key, with the keys in force (`keys`: binding id -> keys, tui/keys.py), and the
    [[macros]] and saved [[views]] of the config when it has some."""
    return Group(
        _group(TRIAGE, help_rows(keys, TRIAGE)),
        *([_group(MACROS, macro_rows(keys, macros))] if macros else []),
        _group("Writing a reply", WRITING),
        _group(MOVING, IN_THE_LIST + tuple(help_rows(keys, MOVING))),
        _group(VIEWS_GROUP, help_rows(keys, VIEWS_GROUP) + saved_help_rows(keys, views)),
        _group("The Outbox view (8)", OUTBOX_VIEW),
        _group(OTHER, tuple(help_rows(keys, OTHER)) + ANYWHERE),
        _group("Columns", COLUMNS),
        _group("Markers, after the ticket number", MARKERS),
    )


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark", "app.pop_screen", "Close")]

    def __init__(self, keys: dict[str, list[str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(Text("Keys", style="bold"), id="help-title")
            yield Static(help_text(self.keys, self.app.config.macros, self.app.config.views))
