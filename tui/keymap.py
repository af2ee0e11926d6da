"""`[keys]` and `[[macros]]` checked against the key table (tui/keys.py) and made into what the
app binds: a keymap for App.set_keymap, and a binding for each macro's key. The config file holds
only names (storage/config.py checks their shape); which actions exist, and which keys each screen
already gives away, are known here. A wrong entry is one line, a ConfigError: start-up stops with
it (exit status 2) and `frontdesk doctor` shows it."""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.screen import Screen

from frontdesk.storage.config import Config, ConfigError, MacroConfig, SavedView

from .keys import ACTIONS, BOTH, INBOX, TICKET, keys_in_force, palette_help
from .outbox_view import OutboxList
from .ticket_table import TicketTable


@dataclass(frozen=True)
class _Claim:
    """Keys someone holds on some screens."""

    who: str  # how a clash names it: "reply", 'the macro "close"', "the list's Down"
    keys: tuple[str, ...]
    where: tuple[str, ...]
    said: str = ""  # how the config file set these keys, for the one line; "": not set there
    origin: str = ""  # the dotted key it came from, for the file's name


def macro_id(index: int) -> str:
    """The binding id of the index-th [[macros]] entry."""
    return f"macro-{index}"


def macro_bindings(macros: Sequence[MacroConfig]) -> list[Binding]:
    return [
        Binding(macro.key, f"macro({index})", macro.name, show=False, id=macro_id(index))
        for index, macro in enumerate(macros)
        if macro.key
    ]


def bind_macros(screen: Screen, macros: Sequence[MacroConfig]) -> None:
    """Give `screen` a binding for each macro's key (the screens' BINDINGS come from the table)."""
    keys = screen._bindings.key_to_bindings  # a copy of the class's map: its lists are shared, so never appended to
    for binding in macro_bindings(macros):
        keys[binding.key] = [*keys.get(binding.key, ()), binding]


def keymap(config: Config) -> dict[str, str]:
    """What `[keys]` asks for, as App.set_keymap takes it (binding id -> keys); ConfigError when it
    names no action, or when it or a macro takes a key another action has on the same screen."""
    keyed = {action.id: action for action in ACTIONS if action.keys}
    for name in config.keys:
        if name not in keyed:
            close = difflib.get_close_matches(name, keyed, n=1)
            hint = f"did you mean {close[0]}?" if close else f"expected one of: {', '.join(keyed)}"
            _fail(config, f"keys.{name}", f"[keys] {name}: no such action ({hint})")
    claims = [*_table_claims(config), *_macro_claims(config.macros), *_view_claims(config.views), *_taken()]
    for claim in claims:
        if claim.said:
            _check(config, claim, claims)
    return {name: ",".join(keys) for name, keys in config.keys.items()}


def _table_claims(config: Config) -> Iterable[_Claim]:
    for action in ACTIONS:
        if not action.keys:
            continue
        if action.id in config.keys:
            keys = config.keys[action.id]
            shown = json.dumps(keys[0]) if len(keys) == 1 else json.dumps(list(keys))
            yield _Claim(action.id, keys, action.where, f"[keys] {action.id} = {shown}", f"keys.{action.id}")
        else:
            yield _Claim(action.id, tuple(action.keys.split(",")), action.where)


def _macro_claims(macros: Sequence[MacroConfig]) -> Iterable[_Claim]:
    for index, macro in enumerate(macros):
        if macro.key:
            said = f"[[macros]] name = {json.dumps(macro.name)}, key = {json.dumps(macro.key)}"
            yield _Claim(f"the macro {json.dumps(macro.name)}", (macro.key,), BOTH, said, f"macros[{index}]")


def _view_claims(views: Sequence[SavedView]) -> Iterable[_Claim]:
    for index, view in enumerate(views):
        said = f"[[views]] name = {json.dumps(view.name)}, key = {json.dumps(view.key)}"
        yield _Claim(f"the view {json.dumps(view.name)}", (view.key,), (INBOX,), said, f"views[{index}]")


# What takes a key before the table's actions: the focused list or thread, the screen, the app.
_TAKEN_BY: tuple[tuple[str, Sequence[BindingType], tuple[str, ...]], ...] = (
    ("the list's", TicketTable.BINDINGS, (INBOX,)),
    ("the Outbox view's", OutboxList.BINDINGS, (INBOX,)),
    ("the thread's", ScrollableContainer.BINDINGS, (TICKET,)),
    ("the screen's", Screen.BINDINGS, BOTH),
    ("the app's", [*App.BINDINGS, Binding(App.COMMAND_PALETTE_BINDING, "command_palette", "command palette")], BOTH),
)


def _taken() -> Iterable[_Claim]:
    for owner, bindings, where in _TAKEN_BY:
        for binding in Binding.make_bindings(bindings):
            yield _Claim(f"{owner} {binding.description or binding.action}", (binding.key,), where)


def _check(config: Config, claim: _Claim, claims: Sequence[_Claim]) -> None:
    for other in claims:
        if other is claim or not set(other.where) & set(claim.where):
            continue
        if shared := [key for key in claim.keys if key in other.keys]:
            _fail(config, claim.origin, f"{claim.said} clashes with {other.who} ({' '.join(shared)})")


def _fail(config: Config, origin: str, line: str) -> None:
    file = config.origins.get(origin) or config.origins.get(origin.partition("[")[0]) or config.path
    raise ConfigError(file, line)


# --- macros in the palette and the help ---------------------------------------------------------

MACROS = "Macros"  # the help's section


def macro_meaning(macro: MacroConfig) -> str:
    then = {"resolve": ", then resolve", "waiting": ", then waiting on the customer", None: ""}[macro.then]
    return f"{macro.name}: reply with the snippet {json.dumps(macro.snippet)}{then}"


def macro_commands(screen: Screen) -> Iterator[SystemCommand]:
    keys = keys_in_force([screen])
    for index, macro in enumerate(screen.app.config.macros):
        help_text = palette_help(macro_meaning(macro), keys.get(macro_id(index), ()))
        yield SystemCommand(f"Macro: {macro.name}", help_text, lambda i=index: screen.run_action(f"macro({i})"))


def macro_rows(keys: dict[str, list[str]], macros: Sequence[MacroConfig]) -> list[tuple[str, str]]:
    """(keys, meaning) for the help's Macros section: one without a key is in the palette only."""
    return [(" ".join(keys.get(macro_id(i), ["ctrl+p"])), macro_meaning(macro)) for i, macro in enumerate(macros)]
