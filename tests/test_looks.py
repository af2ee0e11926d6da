"""Every status stands out from the row around it, readable, in every theme, selected or not, with
and without colour: as the terminal finally draws it (after Textual's colour filters)."""

from __future__ import annotations

import io

import pytest
from rich.color import Color as RichColor
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.color import Color

from frontdesk.tui.app import FrontdeskApp
from frontdesk.tui.looks import LOOKS, command_line_looks
from frontdesk.tui.printing import severity_text
from frontdesk.tui.ticket_table import TicketTable

from conftest import run_app

URGENT = ("status.breached", "status.missed", "status.at_risk", "severity.untriaged", "severity.critical")
READABLE = 3.0  # WCAG contrast for bold text


@pytest.fixture
def database(tmp_path):
    return tmp_path / "tickets.db"


def drawn(app: FrontdeskApp, style: Style, background: Color) -> tuple[Color, Color, bool, bool, bool]:
    """What the terminal shows for a style: text colour, background, bold, underline, dim (an ANSI
    colour's fading is left to the terminal)."""
    segments = [Segment("x", style)]
    for line_filter in app.get_line_filters():
        segments = line_filter.apply(segments, background)
    shown = segments[0].style
    text, paper = (_colour(app, shown.color, True), _colour(app, shown.bgcolor, False))
    if shown.reverse:
        text, paper = paper, text
    return text, paper, bool(shown.bold), bool(shown.underline), bool(shown.dim)


def _colour(app: FrontdeskApp, colour: RichColor | None, foreground: bool) -> Color:
    """ANSI colours as the terminal's palette (app.ansi_theme) paints them."""
    return Color(*(colour or RichColor.default()).get_truecolor(app.ansi_theme, foreground=foreground))


def contrast(a: Color, b: Color) -> float:
    """WCAG 2 contrast ratio."""

    def luminance(colour: Color) -> float:
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in colour.normalized]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(a) + 0.05, luminance(b) + 0.05), reverse=True)
    return light / dark


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_every_status_stands_out_from_its_row_in_every_theme(demo_store, monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    app = FrontdeskApp(demo_store, demo=True, state_file=None)
    problems = []

    async def walk(pilot) -> None:
        table = app.query_one(TicketTable)
        for theme in sorted(app.available_themes):
            app.theme = theme
            await pilot.pause()
            normal = table.rich_style
            background = Color.from_rich_color(normal.bgcolor, app.ansi_theme)
            selected = normal + table.get_component_rich_style("ticket-table--cursor")
            for row, on_cursor in ((normal, False), (selected, True)):
                plain = drawn(app, row, background)
                for name in LOOKS:
                    if name == "muted" and on_cursor:
                        continue  # the selected row is not faded
                    look = drawn(app, table.look(name, row, on_cursor), background)
                    where = f"{theme} {'selected' if on_cursor else 'normal'} row: {name}"
                    if look == plain:
                        problems.append(f"{where} looks like the row")
                    if name in URGENT and contrast(look[0], look[1]) < READABLE:
                        problems.append(f"{where}: contrast {contrast(look[0], look[1]):.1f}")

    run_app(app, walk)
    assert not problems, "\n".join(problems)


def test_without_colour_urgency_is_drawn_reversed_or_underlined(demo_store, monkeypatch):
    """NO_COLOR turns colours grey by their luminance: a dark red would be the dimmest text."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def check(pilot) -> None:
        for name in ("status.breached", "status.missed", "status.at_risk", "severity.untriaged"):
            style = app.console.get_style(name)
            assert style.bold and (style.reverse or style.underline), name

    run_app(app, check)


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
def test_the_command_line_draws_the_same_looks(monkeypatch, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, color_system="standard", width=40)
    console.push_theme(command_line_looks(console))
    console.print(Text("LATE", style="status.breached"), severity_text(None))
    late, untriaged = ("\x1b[1;7mLATE", "\x1b[1;7m?") if no_color else ("\x1b[1;7;31mLATE", "\x1b[1;36m?")
    assert late in terminal.getvalue() and untriaged in terminal.getvalue()


def test_an_empty_cell_on_the_selected_row_takes_the_cursors_colours(demo_store):
    """A resolved ticket has no SLA word: its blank cell must not cut a hole in the cursor's bar."""
    app = FrontdeskApp(demo_store, demo=True, state_file=None)

    async def check(pilot) -> None:
        await pilot.press("7")  # Resolved
        await pilot.pause()
        table = app.query_one(TicketTable)
        assert table.rows and table.rows[table.cursor].state == "resolved"
        line = table.render_line(1 + table.cursor - table.scroll_offset.y)  # under the header
        cursor = table.rich_style + table.get_component_rich_style("ticket-table--cursor")
        blanks = [segment for segment in line if segment.text.strip() == "" and segment.text]
        assert blanks and all(segment.style.bgcolor == cursor.bgcolor for segment in blanks)

    run_app(app, check)
