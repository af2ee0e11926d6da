"""How urgency and faded text look, defined once for the inbox table, the preview, the ticket
screen and the command line. Text carries a look's name ("status.breached"); the console that
draws it holds the looks resolved for its colours: the Textual theme in the inbox, the terminal's
16 colours on the command line. Without colour (NO_COLOR) the attributes alone keep urgency the
most visible thing on screen: colours turn grey there, and a dark red turns the dimmest grey."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.style import Style
from rich.theme import Theme


@dataclass(frozen=True)
class Look:
    colour: str  # a Textual theme variable: the $text-* ones stay readable on the theme's background
    attributes: str = ""
    without_colour: str = ""  # added under NO_COLOR


LOOKS = {
    "status.breached": Look("text-error", "bold reverse"),  # the most visible thing, in any colours
    "status.missed": Look("text-error", "bold", "underline"),
    "status.at_risk": Look("text-warning", "bold", "underline"),
    "status.ok": Look("text-success"),
    "status.met": Look("text-success"),
    "status.paused": Look("foreground-muted"),
    "severity.untriaged": Look("text-secondary", "bold", "reverse"),
    "severity.critical": Look("text-error", "bold"),
    "muted": Look("foreground-muted"),  # the columns and lines meant to be faded
    "marked": Look("text-accent", "bold reverse"),  # a marked ticket's number, for a change to each
}
# A clock's status (storage/sla.py) -> its look.
STATUS_STYLE = {name.removeprefix("status."): name for name in LOOKS if name.startswith("status.")}
# The command line draws in the terminal's own 16 colours, as Textual's ansi-dark theme does
# (imported, Textual would add 0.4 s to every command).
COMMAND_LINE_COLOURS = {
    "text-error": "red",
    "text-warning": "yellow",
    "text-success": "green",
    "text-secondary": "cyan",
    "foreground-muted": "dim",
    "text-accent": "blue",
}


def looks_theme(variables: Mapping[str, str], no_color: bool) -> Theme:
    """The looks in a Textual theme's colours (App.get_css_variables), as named Rich styles."""
    from textual.color import Color  # here: the command line never needs Textual

    background = Color.parse(variables["background"])
    styles = {}
    for name, look in LOOKS.items():
        value, _, percent = variables[look.colour].partition(" ")  # "#E0E0E099", "ansi_default 50%"
        colour = Color.parse(value)
        alpha = colour.a * (float(percent.rstrip("%")) / 100 if percent else 1.0)
        if colour.ansi is not None:  # the terminal's own colour: the terminal fades it
            style = Style(color=colour.rich_color, dim=alpha < 1 or None)
        else:  # faded, it is drawn on the theme's background, as Textual draws $foreground-muted
            style = Style(color=(background + colour.with_alpha(alpha)).rich_color)
        styles[name] = style + _attributes(look, no_color)
    return Theme(styles)


def command_line_looks(console: Console) -> Theme:
    return Theme(
        {
            name: Style.parse(COMMAND_LINE_COLOURS[look.colour]) + _attributes(look, console.no_color)
            for name, look in LOOKS.items()
        }
    )


def _attributes(look: Look, no_color: bool) -> Style:
    return Style.parse(f"{look.attributes} {look.without_colour if no_color else ''}")
