"""Write only the changed part of a line, not the line up to it.

Textual's partial update (`ChopsUpdate.render_segments`) crops a widget's line at the right end
of the dirty region but writes it from the widget's left edge. For the inbox that meant every
countdown tick rewrote each ticking row from its first column: about 200 bytes a countdown a
second, over SSH, all day. This version starts at the first segment that reaches into the
dirty region instead. It moves by whole segments, never through one, so a wide character is
never cut in half on the terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.control import Control
from textual import _compositor
from textual.strip import Strip


def _cells_before(strip: Strip, limit: int) -> int:
    """The width of the leading segments that end at or before `limit` cells."""
    skipped = 0
    for segment in strip:
        width = segment.cell_length
        if skipped + width > limit:
            break
        skipped += width
    return skipped


def render_segments(self: _compositor.ChopsUpdate, console: Console) -> str:
    move_to = Control.move_to
    sequences: list[str] = []
    append = sequences.append
    last_y = self.spans[-1][0]
    for y, x1, x2 in self.spans:
        for end, (x, strip) in zip(self.chop_ends[y], self.chops[y].items(), strict=True):
            if strip is None or x > x2 or end <= x1:
                continue
            if x < x1 and (skip := _cells_before(strip, x1 - x)):
                strip = strip.crop(skip)
                x += skip
            if end > x2:
                strip = strip.crop(0, x2 - x)
            append(move_to(x, y).segment.text)
            append(strip.render(console))
        if y != last_y:
            append("\n")
    return "".join(sequences)


def install() -> None:
    _compositor.ChopsUpdate.render_segments = render_segments
