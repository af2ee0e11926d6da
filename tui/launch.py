"""The `frontdesk` command: the command line (cli.py), started with the garbage collector off.

Starting loads a few hundred thousand objects that live as long as the process (modules, classes,
Textual, the first screen), and the collector walked them again and again while they were made:
about 30 ms before the inbox's first frame. Off until start-up is over (`started`), then what it
loaded is frozen out of the collector's passes for good.
"""

from __future__ import annotations

import gc

_starting = False  # started by main(): cli.main, called by tests or `python -m`, leaves the collector alone


def main() -> int:
    global _starting
    _starting = True
    gc.disable()
    from frontdesk.tui.cli import main as command_line

    return command_line()


def started() -> None:
    """Start-up is over: the verb's work begins, or the inbox's first frame is painted."""
    global _starting
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()
