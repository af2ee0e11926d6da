"""Loading and validating frontdesk's TOML configuration: the user's file, laid over the system one.

Where the user's file is: the path given (``--config``), else ``$FRONTDESK_CONFIG`` (empty counts as
unset), else ``config.toml`` in the user config directory (platformdirs). The system file (see
"Layers" below) is read first. A missing file at a default location means "nothing from there"
(frontdesk works unconfigured); a missing file that was named explicitly is an error. Every problem raises ConfigError, whose text is one line:
``FILE: KEY: problem (expected …)``.

Decisions users can rely on:

- Unknown keys are errors everywhere (a typo must not silently mean "default").
- Secrets never go in the file: a key named ``password``, ``pass``, ``passwd``, ``secret``,
  ``token`` or ending in ``_password``/``_pass``/``_secret``/``_token`` is rejected wherever it is.
- Strings are stripped; an empty string is an error, not "unset" (leave the key out instead).
  Email addresses, domains, choices, day names and areas are case-insensitive and stored lower-cased.
- ``[imap]``/``[smtp]``: ``port`` defaults by ``security`` (IMAP 993 tls, 143 otherwise; SMTP 465
  tls, 587 starttls, 25 none). ``username`` defaults to ``[support].address``. ``auth = "oauth2"``
  requires ``oauth2_token_command`` (access tokens expire within the hour, so a stored one would go
  stale); a command belonging to the other auth method is an error rather than silently ignored.
  Without a command, the password is looked up in the system keyring by the mail layer.
  ``[smtp] auth = "none"``: a relay that takes mail without a login (no username, no secret; plain
  SMTP is then allowed beyond loopback, as nothing secret travels). ``[smtp] command`` (split with
  shlex, never run through a shell; only ``timeout`` may go with it) sends through a
  sendmail-compatible program instead of a server: it and ``host`` are alternatives, and a later
  layer setting one drops the other's keys from an earlier one.
- ``[sla.policies.NAME]``: every policy is the built-in handbook policy (DEFAULT_POLICY) plus what
  its own table says. A missing ``sev1``/``sev2`` table, or a missing ``response``/``resolution``
  key, keeps the handbook value; ``"none"`` means "no target". Policies never inherit from each
  other, so editing one customer's contract cannot shift another's. ``standard`` always exists and
  may be overridden the same way. ``pause_while_waiting`` per policy defaults to
  ``[sla].pause_while_waiting`` (default true).
- ``[[customers]]``: ``deployment`` is ``"self-hosted"``, ``"managed"`` (the handbook's two kinds)
  or ``"other"``. A customer without ``policy`` uses ``[sla].default_policy``. Names are unique
  (ignoring case) and so are domains across all customers. An address matches a customer by its
  domain or any subdomain of it; the most specific domain wins.
- ``[support] ticket_url``: a ticket's link elsewhere (an issue tracker), an http(s) URL with
  ``{id}`` where the number goes; ``Y`` in the inbox copies it.
- ``[alerts]``: ``new_ticket``, ``at_risk``, ``breached`` (toasts in the inbox) and ``bell``; all
  default true.
- ``[notify]``: ``slack_webhook`` (an https URL; the URL itself is a credential, so prefer
  ``slack_webhook_command``, which prints the URL) — one or the other, not both. ``command``
  (e.g. ``"notify-send -a frontdesk"``; split with shlex, never run through a shell): the inbox runs
  it with a title and a body as two more arguments for each alert ``[alerts]`` turns on.
- ``[me]`` (``name`` required, ``email``): who is using frontdesk. Without it, the ``[[owners]]``
  entry whose ``unix_user`` is the current Unix user ($USER, else $LOGNAME, else the password
  database); else ``[support] rep_name``/``rep_email`` when a file sets them; else nobody
  (``Config.me`` is None, and the inbox says how to set it).
- ``[[views]]``: saved views, tabs after the inbox's own: ``name``, ``key`` (one letter or digit;
  1 to 8 are the built-in views'), ``query`` (storage/query.py's grammar, read here so a wrong one
  is a configuration error) and ``sort`` (``urgency``, the default, ``age``, ``customer`` or
  ``severity``). Names (ignoring case) and keys are unique.
- ``[keys]``: ``action_id = "key"`` or a list of keys, rebinding the inbox's and the ticket screen's
  actions (tui/keys.py's table). Key names are Textual's (``x``, ``X``, ``ctrl+r``, ``f5``,
  ``escape``, ``question_mark``); a typed character such as ``"?"`` or ``"/"`` is stored under its
  name. Which ids exist and whether two actions share a key is checked where the table is known
  (tui/keymap.py), at start-up and by ``frontdesk doctor``.
- ``[[macros]]``: ``name``, ``snippet`` (a built-in one or a file of ``snippets_dir``), optional
  ``key`` and ``then`` (``"resolve"``, ``"waiting"`` or ``"none"``, the default): one key queues the
  snippet as a reply, then moves the ticket. Names are unique (ignoring case).
- ``[database]``: ``url`` (``postgresql://user@host:port/db``; a password in it is refused: use
  ``password_command`` or the keyring) or ``path`` (an absolute path to a SQLite file), not both;
  ``group`` (with ``path``: the Unix group of a support host shared by several reps; it must
  exist); ``password_command`` (with ``url``).

Layers. Two files may be read: the system one (``$FRONTDESK_SYSTEM_CONFIG``, else
``/etc/frontdesk/config.toml`` when it exists: the team's mailbox, SLA, customers, owners and
database), then the user's one found as above (what is personal: ``[me]``, theme, keys). Tables are
merged key by key and the later layer wins; an array (``[[customers]]``, ``[[owners]]``,
``workdays``…) set by the later layer replaces the earlier one whole. In ``[database]``, a later
``url`` also drops an earlier ``path`` and ``group``, and a later ``path`` an earlier ``url`` and
``password_command``. ``Config.origins`` names the file each value came from, by dotted key
(``imap.host``, ``customers``); an error names the file its key came from.
"""

from __future__ import annotations

import contextlib
import difflib
import getpass
import json
import math
import os
import re
import shlex
import tomllib
import unicodedata
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from email.utils import parseaddr
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar, get_args
from urllib.parse import parse_qsl, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import platformdirs

from .query import Query, QueryError, parse_query
from .sla import DEFAULT_POLICY, SEVERITIES, BusinessCalendar, Duration, Policy, parse_duration
from .snippets import BUILT_IN_SNIPPETS

ENV_VAR = "FRONTDESK_CONFIG"
SYSTEM_ENV_VAR = "FRONTDESK_SYSTEM_CONFIG"
SYSTEM_CONFIG_PATH = Path("/etc/frontdesk/config.toml")  # tests point it elsewhere

Security = Literal["tls", "starttls", "none"]
Auth = Literal["password", "oauth2", "none"]  # "none": SMTP only
Deployment = Literal["self-hosted", "managed", "other"]


# --- the result ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SupportConfig:
    address: str | None = None  # the support mailbox; None: not configured yet
    display_name: str = "Support"
    rep_name: str = "frontdesk"  # the person on rotation; load_config defaults it to $USER
    rep_email: str | None = None
    snippets_dir: Path | None = None  # the team's own snippets, one Markdown file each
    ticket_url: str | None = None  # a ticket's link elsewhere (an issue tracker), {id} its number: Y copies it


@dataclass(frozen=True)
class AlertsConfig:
    """What the inbox announces with a toast, and whether it also rings the terminal bell."""

    new_ticket: bool = True
    at_risk: bool = True
    breached: bool = True
    bell: bool = True


@dataclass(frozen=True)
class ServerConfig:
    """An IMAP or SMTP server. `folder`/`sent_folder` are IMAP-only (None for SMTP)."""

    host: str
    port: int
    security: Security = "tls"
    username: str | None = None
    folder: str | None = None
    sent_folder: str | None = None
    auth: Auth = "password"
    password_command: str | None = None
    oauth2_token_command: str | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class SendCommand:
    """[smtp] command: a sendmail-compatible program that takes the message on standard input."""

    command: tuple[str, ...]  # the program and its arguments
    timeout: float = 30.0

    def __str__(self) -> str:
        return shlex.join(self.command)


@dataclass(frozen=True)
class CustomerConfig:
    name: str
    domains: tuple[str, ...] = ()
    deployment: Deployment | None = None
    policy: str | None = None  # None: the default policy
    account_executive: str | None = None


@dataclass(frozen=True)
class OwnerConfig:
    name: str
    email: str
    team: str | None = None
    areas: tuple[str, ...] = ()
    unix_user: str | None = None  # the login of this owner on the support host: then they are "me"


@dataclass(frozen=True)
class Person:
    """Who is using frontdesk: the actor of what they do, "me" in the Mine view."""

    name: str
    email: str | None = None

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name


@dataclass(frozen=True)
class DatabaseConfig:
    """[database]: at most one of url (PostgreSQL) and path (SQLite); None of both: the default file."""

    url: str | None = None
    path: Path | None = None
    group: str | None = None  # with path: the Unix group sharing the file on one host
    password_command: str | None = None  # with url


@dataclass(frozen=True)
class ConfigLayer:
    """One file read: kind is "system", "user" or "--config" (a user file named on the command line)."""

    path: Path
    kind: str

    def __str__(self) -> str:
        return f"{self.kind} file {self.path}"


@dataclass(frozen=True)
class NotifyConfig:
    slack_webhook: str | None = None
    slack_webhook_command: str | None = None
    # The inbox runs it for what [alerts] announces, with a title and a body as two more arguments.
    command: tuple[str, ...] | None = None


ViewSort = Literal["urgency", "age", "customer", "severity"]
VIEW_SORTS: tuple[ViewSort, ...] = get_args(ViewSort)
BUILT_IN_VIEW_KEYS = frozenset("12345678")  # the inbox's own views (tui/views.py; a test keeps them equal)


@dataclass(frozen=True)
class SavedView:
    """A `[[views]]` entry: a tab after the inbox's own, showing the tickets its query selects."""

    name: str
    key: str  # one letter or digit
    query: Query
    sort: ViewSort = "urgency"


@dataclass(frozen=True)
class MacroConfig:
    """A `[[macros]]` entry: its key queues the snippet as a reply, then moves the ticket (`then`)."""

    name: str
    snippet: str
    key: str | None = None  # None: from the palette only
    then: Literal["resolve", "waiting"] | None = None


@dataclass(frozen=True)
class SlaConfig:
    at_risk_fraction: float = 0.2
    default_policy: str = DEFAULT_POLICY.name
    policies: Mapping[str, Policy] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_POLICY.name: DEFAULT_POLICY})
    )

    def policy_for(self, customer: CustomerConfig | None) -> Policy:
        """The customer's own policy, else the default one (also for unknown senders)."""
        name = customer.policy if customer is not None and customer.policy else self.default_policy
        return self.policies[name]


@dataclass(frozen=True)
class Config:
    path: Path | None  # the user's file read (--config, $FRONTDESK_CONFIG or the default); None: none
    support: SupportConfig
    imap: ServerConfig | None
    smtp: ServerConfig | SendCommand | None
    calendar: BusinessCalendar
    sla: SlaConfig
    customers: tuple[CustomerConfig, ...]
    owners: tuple[OwnerConfig, ...]
    notify: NotifyConfig
    alerts: AlertsConfig = AlertsConfig()
    me: Person | None = None
    database: DatabaseConfig = DatabaseConfig()
    views: tuple[SavedView, ...] = ()
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))  # [keys]: id -> keys
    macros: tuple[MacroConfig, ...] = ()
    layers: tuple[ConfigLayer, ...] = ()  # the files read, system first
    origins: Mapping[str, Path] = field(default_factory=lambda: MappingProxyType({}))

    def source(self, key: str) -> str:
        """Where the value at a dotted key (or the table it names) came from, in words for doctor:
        "system file /etc/frontdesk/config.toml", "user file …", "--config file …" or "default"."""
        found = self.origins.get(key)
        if found is None:
            inside = [path for name, path in self.origins.items() if name.startswith((f"{key}.", f"{key}["))]
            order = [layer.path for layer in self.layers]
            found = max(inside, key=order.index, default=None)
        layer = next((layer for layer in self.layers if layer.path == found), None)
        return "default" if layer is None else str(layer)

    def customer_for_email(self, email: str) -> CustomerConfig | None:
        """The customer whose domain is the address's domain or a parent of it (most specific)."""
        labels = _domain_of(email).split(".")
        for i in range(len(labels)):
            if (customer := self._customers_by_domain.get(".".join(labels[i:]))) is not None:
                return customer
        return None

    def owner_for_email(self, email: str) -> OwnerConfig | None:
        address = parseaddr(email)[1].strip().lower()
        return next((owner for owner in self.owners if owner.email == address), None)

    @cached_property
    def _customers_by_domain(self) -> dict[str, CustomerConfig]:
        return {domain: c for c in self.customers for domain in c.domains}


class ConfigError(Exception):
    """A configuration problem, told in one line: ``FILE: KEY: problem (expected …)``."""

    def __init__(self, path: Path | None, message: str, key: str = "") -> None:
        self.path, self.key, self.message = path, key, message
        parts = (str(path) if path is not None else "configuration", key, message)
        # One line whatever the parts hold: the CLI prints it as the reason on stderr.
        super().__init__(" ".join(": ".join(p for p in parts if p).splitlines()))


# --- finding and reading the file ---------------------------------------------------------------


def default_config_path() -> Path:
    return platformdirs.user_config_path("frontdesk", appauthor=False) / "config.toml"


def who_are_you(config: Config | None = None) -> str:
    """What to do when config.me is None, in one line: naming the user's own config file."""
    personal = [layer.path for layer in getattr(config, "layers", ()) if layer.kind != "system"]
    path = personal[-1] if personal else default_config_path()
    try:
        shown = "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        shown = str(path)
    return f"Who are you? Add [me] name and email to {shown}"


def default_config(*, environ: Mapping[str, str] = os.environ) -> Config:
    """The configuration frontdesk runs on when there is no file."""
    return _build({}, None, environ)


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] = os.environ,
    system: bool = True,
) -> Config:
    """Read, merge and validate the system and user files; ConfigError tells what to fix.

    system=False reads the user file alone (the demo, which must not pick up a team's settings)."""
    wanted: list[tuple[Path, str, str | None]] = []  # (file, kind, how it was named; None: by default)
    if system:
        wanted += _locate_system(environ)
    chosen, origin = _locate(path, environ)
    wanted.append((chosen, "--config" if path is not None else "user", origin))
    read: list[tuple[ConfigLayer, dict[str, Any]]] = []
    for file, kind, named in wanted:
        try:
            raw = _read_toml(file)
        except FileNotFoundError:
            if named is None:  # nobody asked for this file: it is simply not there
                continue
            raise ConfigError(file, f"config file not found{named}") from None
        try:
            _reject_secrets(raw)
        except _Invalid as err:
            raise ConfigError(file, err.message, err.key) from None
        read.append((ConfigLayer(file, kind), raw))
    if not read:
        return default_config(environ=environ)
    merged, origins, touched = _merge_layers(read)
    layers = tuple(layer for layer, _ in read)
    try:
        user = next((layer.path for layer in layers if layer.kind != "system"), None)
        return _build(merged, user, environ, layers=layers, origins=origins)
    except _Invalid as err:
        raise ConfigError(_file_of(err.key, origins, touched, layers[-1].path), err.message, err.key) from None


def default_system_config_path() -> Path:
    return SYSTEM_CONFIG_PATH


def _locate_system(environ: Mapping[str, str]) -> list[tuple[Path, str, str | None]]:
    if environ.get(SYSTEM_ENV_VAR):
        return [(Path(environ[SYSTEM_ENV_VAR]).expanduser(), "system", f" (named by ${SYSTEM_ENV_VAR})")]
    default = default_system_config_path()
    return [(default, "system", None)] if default.exists() else []


def _locate(path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> tuple[Path, str | None]:
    """The file to read and how it was named (None: the default location)."""
    if path is not None:
        return Path(path).expanduser(), ""
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]).expanduser(), f" (named by ${ENV_VAR})"
    return default_config_path(), None


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse the file; FileNotFoundError passes through so the caller can decide what it means."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise ConfigError(path, "is a directory (expected a TOML file)") from None
    except OSError as err:
        raise ConfigError(path, f"cannot read the file: {err.strerror or err}") from None
    try:
        text = data.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ConfigError(path, f"not valid UTF-8 at line {line} (expected a UTF-8 text file)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(path, f"invalid TOML: {err}") from None


# --- merging the layers -------------------------------------------------------------------------

# In [database] and [smtp], a later layer choosing a way drops what only the other way uses.
_SMTP_SERVER_ONLY = ("host", "port", "security", "username", "auth", "password_command", "oauth2_token_command")
_DROPPED_BY = {
    "database": {"url": ("path", "group"), "path": ("url", "password_command")},
    "smtp": {"command": _SMTP_SERVER_ONLY, "host": ("command",)},
}


def _merge_layers(
    read: Iterable[tuple[ConfigLayer, Mapping[str, Any]]],
) -> tuple[dict[str, Any], dict[str, Path], dict[str, Path]]:
    """(merged document, file of each value by dotted key, last file to touch each table)."""
    merged: dict[str, Any] = {}
    origins: dict[str, Path] = {}
    touched: dict[str, Path] = {}
    for layer, raw in read:
        _merge(merged, raw, "", layer.path, origins, touched)
    return merged, origins, touched


def _merge(
    into: dict[str, Any], layer: Mapping[str, Any], key: str, file: Path,
    origins: dict[str, Path], touched: dict[str, Path],
) -> None:
    for name in layer:
        for dropped in _DROPPED_BY.get(key, {}).get(name, ()):
            if dropped not in layer and dropped in into:
                del into[dropped]
                _forget(_join(key, dropped), origins)
    for name, value in layer.items():
        at = _join(key, name)
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            into[name] = dict(into[name])  # never change a layer's own table
            touched[at] = file
            _merge(into[name], value, at, file, origins, touched)
            continue
        _forget(at, origins)
        into[name] = value
        _record(value, at, file, origins, touched)


def _record(value: Any, key: str, file: Path, origins: dict[str, Path], touched: dict[str, Path]) -> None:
    """Leaves and arrays get an origin; tables are walked (and remembered as touched)."""
    if isinstance(value, dict):
        touched[key] = file
        for name, child in value.items():
            _record(child, _join(key, name), file, origins, touched)
    else:
        origins[key] = file


def _forget(key: str, origins: dict[str, Path]) -> None:
    for name in [n for n in origins if n == key or n.startswith((f"{key}.", f"{key}["))]:
        del origins[name]


def _file_of(key: str, origins: Mapping[str, Path], touched: Mapping[str, Path], last: Path) -> Path:
    """The file an error at `key` belongs to: the one that set the key, or its nearest table."""
    while key:
        found = origins.get(key) or touched.get(key)
        if found is not None:
            return found
        key = _parent_key(key)
    return last


def _parent_key(key: str) -> str:
    """`a.b."c.d"[2]` -> `a.b."c.d"` -> `a.b` -> `a` -> ``: cut at the last separator outside quotes."""
    cut, quoted, i = 0, False, 0
    while i < len(key):
        char = key[i]
        if quoted and char == "\\":
            i += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted and char in ".[":
            cut = i
        i += 1
    return key[:cut]


# --- validation machinery -----------------------------------------------------------------------

# A converter checks one value found at `key` (a dotted path) and returns it in its final form.
Convert = Callable[[Any, str], Any]
T = TypeVar("T")


class _Invalid(Exception):
    """A problem at one key; load_config adds the file name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key, self.message = key, message


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _join(key: str, name: str) -> str:
    """`key.name`, quoting `name` the way TOML would if it is not a bare key."""
    part = name if _BARE_KEY.fullmatch(name) else json.dumps(name)
    return f"{key}.{part}" if key else part


def _short(text: str, limit: int = 40) -> str:
    shown = repr(text)
    return shown if len(shown) <= limit else shown[: limit - 4] + "...'"


# datetime before date: a TOML date-time is a Python date too.
_TOML_KINDS = (
    (datetime, "a date-time"), (date, "a date"), (time, "a time"), (list, "an array"), (dict, "a table")
)


def _describe(value: Any) -> str:
    """The TOML type of a value, for "expected X, got Y"."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
    return next((name for kind, name in _TOML_KINDS if isinstance(value, kind)), type(value).__name__)


def _expect(value: Any, kinds: type | tuple[type, ...], what: str, key: str) -> Any:
    allowed = kinds if isinstance(kinds, tuple) else (kinds,)
    # bool is an int in Python but not in TOML: `port = true` must not pass as 1.
    if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
        raise _Invalid(key, f"expected {what}, got {_describe(value)}")
    return value


def _read_table(
    value: Any, key: str, schema: Mapping[str, Convert], required: Collection[str] = ()
) -> dict[str, Any]:
    """The converted values of the keys present; leaving a key out means "use the default"."""
    table = _table(value, key)
    for name in table:
        if name not in schema:
            raise _Invalid(_join(key, name), f"unknown key ({_suggest(name, schema)})")
    for name in required:
        if name not in table:
            raise _Invalid(_join(key, name), "required key is missing")
    return {name: schema[name](item, _join(key, name)) for name, item in table.items()}


def _suggest(name: str, allowed: Iterable[str]) -> str:
    allowed = list(allowed)
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}allowed keys: {', '.join(allowed)}"


def _require_unique(
    entries: Iterable[tuple[str, str]], what: str, normalize: Callable[[str], Hashable] = str
) -> None:
    """Each entry is (key, value); a value seen before is an error at its second key."""
    seen: dict[Hashable, str] = {}
    for key, value in entries:
        first = seen.setdefault(normalize(value), key)
        if first != key:
            raise _Invalid(key, f"duplicate {what} {_short(value)} (already given at {first})")


def _indexed(key: str, values: Iterable[T]) -> Iterable[tuple[str, T]]:
    return ((f"{key}[{i}]", value) for i, value in enumerate(values))


# --- converters for single values ---------------------------------------------------------------


def _table(value: Any, key: str) -> dict[str, Any]:
    return _expect(value, dict, "a table", key)


def _bool(value: Any, key: str) -> bool:
    return _expect(value, bool, "true or false", key)


def _text(value: Any, key: str) -> str:
    text = _expect(value, str, "a string", key).strip()
    if not text:
        raise _Invalid(key, "empty string (expected a value, or leave the key out)")
    return text


def _lower(value: Any, key: str) -> str:
    return _text(value, key).lower()


def _one_of(*choices: str) -> Convert:
    def convert(value: Any, key: str) -> str:
        text = _lower(value, key)
        if text not in choices:
            listed = ", ".join(f'"{c}"' for c in choices)
            raise _Invalid(key, f"unknown value {_short(text)} (expected one of {listed})")
        return text

    return convert


def _matching(pattern: re.Pattern[str], noun: str, example: str) -> Convert:
    def convert(value: Any, key: str) -> str:
        text = _lower(value, key)
        if not pattern.fullmatch(text):
            raise _Invalid(key, f"invalid {noun} {_short(text)} (expected {example})")
        return text

    return convert


def _list_of(item: Convert, what: str) -> Convert:
    def convert(value: Any, key: str) -> tuple[Any, ...]:
        return tuple(item(v, k) for k, v in _indexed(key, _expect(value, list, what, key)))

    return convert


def _number_in(low: float, high: float | None, what: str) -> Convert:
    """A number strictly between `low` and `high` (no upper bound when None)."""

    def convert(value: Any, key: str) -> float:
        number = _expect(value, (int, float), what, key)
        if not (math.isfinite(number) and low < number and (high is None or number < high)):
            raise _Invalid(key, f"out of range: {number} (expected {what})")
        return float(number)

    return convert


def _port(value: Any, key: str) -> int:
    port = _expect(value, int, "a port number from 1 to 65535", key)
    if not 1 <= port <= 65535:
        raise _Invalid(key, f"out of range: {port} (expected a port number from 1 to 65535)")
    return port


def _ticket_url(value: Any, key: str) -> str:
    """A link template: an http(s) URL with {id} where the ticket's number goes."""
    url = _text(value, key)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "{id}" not in url or not url.isprintable() or " " in url:
        raise _Invalid(
            key,
            f"invalid link {_short(url)} (expected an http(s) URL with {{id}} where the ticket number goes, "
            'such as "https://tracker.example/frontdesk/{id}")',
        )
    return url


def _https_url(value: Any, key: str) -> str:
    url = _text(value, key)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        # Not echoed: a webhook URL is a credential.
        raise _Invalid(key, "invalid URL (expected an https:// URL such as https://hooks.slack.com/…)")
    return url


def _timezone(value: Any, key: str) -> ZoneInfo:
    name = _text(value, key)
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # unknown key, malformed key, a directory like "America"
        expected = "expected an IANA name such as Europe/Berlin"
        raise _Invalid(key, f"unknown time zone {name!r} ({expected})") from None


_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_day_names = _list_of(_one_of(*_DAYS), 'a list of days such as ["mon", "tue"]')


def _workdays(value: Any, key: str) -> frozenset[int]:
    names = _day_names(value, key)
    if not names:
        raise _Invalid(key, 'empty list (expected at least one day, such as ["mon", "tue"])')
    _require_unique(_indexed(key, names), "day")
    return frozenset(_DAYS.index(name) for name in names)


_HOURS = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_DAY_MINUTES = 24 * 60


def _minutes(hours: str, minutes: str) -> int | None:
    """Minutes since midnight for HH:MM, 24:00 included; None when not a clock time."""
    h, m = int(hours), int(minutes)
    total = h * 60 + m
    return total if m < 60 and total <= _DAY_MINUTES else None


def _hours(value: Any, key: str) -> tuple[time, time | None]:
    """'09:00-17:00' -> (start, end); an end of 24:00 is None, as BusinessCalendar wants."""
    text = _text(value, key)
    if match := _HOURS.fullmatch(text):
        start, end = _minutes(match[1], match[2]), _minutes(match[3], match[4])
        if start is not None and end is not None and start < end:
            return time(*divmod(start, 60)), None if end == _DAY_MINUTES else time(*divmod(end, 60))
    raise _Invalid(
        key,
        f'invalid hours {_short(text)} (expected "HH:MM-HH:MM" with the start before the end, '
        'such as "09:00-17:00"; the end may be "24:00")',
    )


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _date(value: Any, key: str) -> date:
    """A TOML local date, or the same written as a string."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = _expect(value, str, "a date such as 2026-12-25", key).strip()
    if _ISO_DATE.fullmatch(text):
        with contextlib.suppress(ValueError):  # e.g. 2026-02-30
            return date.fromisoformat(text)
    raise _Invalid(key, f"invalid date {_short(text)} (expected YYYY-MM-DD such as 2026-12-25)")


def _holidays(value: Any, key: str) -> frozenset[date]:
    return frozenset(_list_of(_date, "a list of dates such as [2026-12-25]")(value, key))


def _target(value: Any, key: str) -> Duration | None:
    """A target duration or "none". The one place that calls parse_duration."""
    text = _expect(value, str, 'a duration such as "24h" or "5bd", or "none"', key).strip()
    if text.lower() == "none":
        return None
    try:
        return parse_duration(text)
    except ValueError as err:
        raise _Invalid(key, f'{err} (or "none" for no target)') from None


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+{_LABEL}")
_EMAIL = re.compile(rf"[^@\s<>()\[\],;:\"]+@{_DOMAIN.pattern}")
_domain = _matching(_DOMAIN, "domain", "a domain name such as example.com")
_email = _matching(_EMAIL, "email address", "an address such as support@example.com")


_BARE_ADDRESS = re.compile(r"[^\s<>()\",;:]+@[^\s<>()\",;:]+")


def _domain_of(email: str) -> str:
    # A bare address (what the store passes, once per new ticket) needs no parsing.
    address = email if _BARE_ADDRESS.fullmatch(email) else parseaddr(email)[1]
    address = address.strip().lower()
    return address.rpartition("@")[2].rstrip(".") if "@" in address else ""


# --- sections -----------------------------------------------------------------------------------


def _table_record(cls: Callable[..., T], schema: Mapping[str, Convert], required: Collection[str] = ()) -> Convert:
    """A table read straight into a dataclass whose defaults fill what the table leaves out."""
    return lambda value, key: cls(**_read_table(value, key, schema, required))


_SUPPORT_KEYS: dict[str, Convert] = {
    "address": _email,
    "display_name": _text,
    "rep_name": _text,
    "rep_email": _email,
    "snippets_dir": lambda value, key: Path(_text(value, key)).expanduser(),
    "ticket_url": _ticket_url,
}


def _support(value: Any, key: str, environ: Mapping[str, str], me: Person | None) -> SupportConfig:
    given = _read_table(value, key, _SUPPORT_KEYS)
    if me is not None:  # the rep signing replies and owning "Mine" is whoever "me" is
        given.setdefault("rep_name", me.name)
        if me.email:
            given.setdefault("rep_email", me.email)
    given.setdefault("rep_name", environ.get("USER") or environ.get("USERNAME") or "frontdesk")
    return SupportConfig(**given)


def unix_user(environ: Mapping[str, str]) -> str | None:
    """The current login: $USER, else $LOGNAME, else the password database."""
    if name := environ.get("USER") or environ.get("LOGNAME"):
        return name
    try:
        return getpass.getuser()
    except Exception:  # no name for this uid (a container's arbitrary uid)
        return None


def _whoami(given: Mapping[str, Any], owners: tuple[OwnerConfig, ...], environ: Mapping[str, str]) -> Person | None:
    """[me]; else the owner whose unix_user is the current login; else [support] rep_name/rep_email."""
    if "me" in given:
        return given["me"]
    if any(owner.unix_user for owner in owners):
        login = unix_user(environ)
        for owner in owners:
            if owner.unix_user is not None and owner.unix_user == login:
                return Person(owner.name, owner.email)
    support = given.get("support", {})
    name, email = support.get("rep_name"), support.get("rep_email")
    if name is None and email is not None:
        owner = next((o for o in owners if o.email == email), None)
        name = owner.name if owner is not None else email
    return Person(name, email) if name is not None else None


_SERVER_KEYS: dict[str, Convert] = {
    "host": _text,
    "port": _port,
    "security": _one_of("tls", "starttls", "none"),
    "username": _text,
    "auth": _one_of("password", "oauth2"),
    "password_command": _text,
    "oauth2_token_command": _text,
    "timeout": _number_in(0, None, "a number of seconds greater than 0"),
}
_IMAP_KEYS: dict[str, Convert] = {**_SERVER_KEYS, "folder": _text, "sent_folder": _text}


def _words(value: Any, key: str) -> tuple[str, ...]:
    text = _text(value, key)
    try:
        return tuple(shlex.split(text))
    except ValueError as error:  # an unclosed quote or a trailing backslash
        expected = 'expected a program and its arguments, such as "msmtp -t"'
        raise _Invalid(key, f"cannot be split into words: {str(error).lower()} ({expected})") from None


_SMTP_KEYS: dict[str, Convert] = {**_SERVER_KEYS, "auth": _one_of("password", "oauth2", "none"), "command": _words}
_PROTOCOLS: dict[str, tuple[dict[str, Convert], dict[str, Any], dict[str, int]]] = {
    # protocol: (keys, defaults beyond ServerConfig's, port by security)
    "imap": (_IMAP_KEYS, {"folder": "INBOX"}, {"tls": 993, "starttls": 143, "none": 143}),
    "smtp": (_SMTP_KEYS, {}, {"tls": 465, "starttls": 587, "none": 25}),
}
_AUTH_COMMANDS = {"password": "password_command", "oauth2": "oauth2_token_command"}


def _check_auth(given: Mapping[str, Any], key: str) -> None:
    auth = given.get("auth", "password")
    for method, command in _AUTH_COMMANDS.items():
        if method != auth and command in given:
            fix = f'remove it or set auth = "{method}"'
            raise _Invalid(f"{key}.{command}", f'only used with auth = "{method}" ({fix})')
    if auth == "oauth2" and "oauth2_token_command" not in given:
        raise _Invalid(
            f"{key}.oauth2_token_command",
            'required with auth = "oauth2" (expected a command that prints a fresh access token)',
        )
    if auth == "none" and "username" in given:
        raise _Invalid(f"{key}.username", 'not used with auth = "none" (remove it, or set auth = "password")')


def _send_command(given: Mapping[str, Any], key: str) -> SendCommand:
    for name in given:
        if name in _SMTP_SERVER_ONLY:
            raise _Invalid(
                _join(key, name), "not used with command (send through a server: host; or a program: command; not both)"
            )
    return SendCommand(**given)


def _server(protocol: str) -> Convert:
    keys, defaults, ports = _PROTOCOLS[protocol]

    def convert(value: Any, key: str) -> ServerConfig | SendCommand:
        given = _read_table(value, key, keys)
        if "command" in given:
            return _send_command(given, key)
        if "host" not in given:
            alternative = " (or command, a program such as sendmail that sends it)" if "command" in keys else ""
            raise _Invalid(_join(key, "host"), "required key is missing" + alternative)
        _check_auth(given, key)
        given.setdefault("port", ports[given.get("security", "tls")])
        return ServerConfig(**{**defaults, **given})

    return convert


_CALENDAR_KEYS: dict[str, Convert] = {
    "timezone": _timezone,
    "workdays": _workdays,
    "hours": _hours,
    "holidays": _holidays,
}


def _calendar(value: Any, key: str) -> BusinessCalendar:
    given = _read_table(value, key, _CALENDAR_KEYS)
    if "hours" in given:
        given["start"], given["end"] = given.pop("hours")
    return BusinessCalendar(**given)


_TARGET_KEYS: dict[str, Convert] = {"response": _target, "resolution": _target}


def _targets(value: Any, key: str) -> dict[str, Duration | None]:
    return _read_table(value, key, _TARGET_KEYS)


_POLICY_KEYS: dict[str, Convert] = {
    **{severity.config_key: _targets for severity in SEVERITIES},
    "pause_while_waiting": _bool,
}


def _policy(value: Any, key: str, name: str, pause_while_waiting: bool) -> Policy:
    """The handbook policy with this table's targets laid over it (see the module docstring)."""
    given = _read_table(value, key, _POLICY_KEYS)
    targets = {
        severity.level: replace(DEFAULT_POLICY.targets_for(severity.level), **given.get(severity.config_key, {}))
        for severity in SEVERITIES
    }
    pause = given.get("pause_while_waiting", pause_while_waiting)
    return Policy(name=name, targets=targets, pause_while_waiting=pause)


def _known_policy(name: str, key: str, policies: Mapping[str, Policy]) -> None:
    if name not in policies:
        known = ", ".join(sorted(policies))
        raise _Invalid(key, f"unknown policy {_short(name)} (expected one of the defined policies: {known})")


_SLA_KEYS: dict[str, Convert] = {
    "at_risk_fraction": _number_in(0, 1, "a fraction between 0 and 1, such as 0.2"),
    "default_policy": _text,
    "pause_while_waiting": _bool,
    "policies": _table,
}


def _sla(value: Any, key: str) -> SlaConfig:
    given = _read_table(value, key, _SLA_KEYS)
    pause = given.pop("pause_while_waiting", True)
    policies = {DEFAULT_POLICY.name: replace(DEFAULT_POLICY, pause_while_waiting=pause)}
    for name, table in given.pop("policies", {}).items():
        policies[name] = _policy(table, _join(f"{key}.policies", name), name, pause)
    sla = SlaConfig(**given, policies=MappingProxyType(policies))
    _known_policy(sla.default_policy, f"{key}.default_policy", policies)
    return sla


_CUSTOMER_KEYS: dict[str, Convert] = {
    "name": _text,
    "domains": _list_of(_domain, 'a list of domains such as ["example.com"]'),
    "deployment": _one_of("self-hosted", "managed", "other"),
    "policy": _text,
    "account_executive": _text,
}
_customer_list = _list_of(
    _table_record(CustomerConfig, _CUSTOMER_KEYS, required=("name",)), "an array of tables ([[customers]])"
)


def _customers(value: Any, key: str) -> tuple[CustomerConfig, ...]:
    customers = _customer_list(value, key)
    items = list(_indexed(key, customers))
    _require_unique(((f"{k}.name", c.name) for k, c in items), "customer name", str.casefold)
    _require_unique((d for k, c in items for d in _indexed(f"{k}.domains", c.domains)), "domain")
    return customers


_OWNER_KEYS: dict[str, Convert] = {
    "name": _text,
    "email": _email,
    "team": _text,
    "areas": _list_of(_lower, 'a list of strings such as ["kubernetes", "helm"]'),
    "unix_user": _text,
}
_owner_list = _list_of(
    _table_record(OwnerConfig, _OWNER_KEYS, required=("name", "email")), "an array of tables ([[owners]])"
)


def _owners(value: Any, key: str) -> tuple[OwnerConfig, ...]:
    owners = _owner_list(value, key)
    items = list(_indexed(key, owners))
    _require_unique(((f"{k}.email", o.email) for k, o in items), "owner email")
    _require_unique(((f"{k}.unix_user", o.unix_user) for k, o in items if o.unix_user), "unix_user")
    return owners


_ME_KEYS: dict[str, Convert] = {"name": _text, "email": _email}


def _me(value: Any, key: str) -> Person:
    return Person(**_read_table(value, key, _ME_KEYS, required=("name",)))


_POSTGRES_URL = re.compile(r"(?i)^postgres(ql)?://")
_URL_EXAMPLE = "a URL such as postgresql://frontdesk@db.example.com:5432/frontdesk"


def url_without_password(url: str) -> str:
    """The URL as it may be shown or used as a keyring name: any password taken out."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


def _database_url(value: Any, key: str) -> str:
    url = _text(value, key)
    # Never echoed: the URL may hold the very password that must not be in the file.
    if not _POSTGRES_URL.match(url):
        raise _Invalid(key, f"not a PostgreSQL URL (expected {_URL_EXAMPLE})")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise _Invalid(key, f"invalid URL (expected {_URL_EXAMPLE})") from None
    if parts.password is not None or any(name.lower() == "password" for name, _ in parse_qsl(parts.query)):
        raise _Invalid(
            key,
            "a password in the URL is not allowed: secrets never go in the config file; "
            "set [database] password_command, or keep the password in the system keyring",
        )
    if not parts.path.strip("/"):
        raise _Invalid(key, f"no database name in the URL (expected {_URL_EXAMPLE})")
    return url


def _absolute_path(value: Any, key: str) -> Path:
    path = Path(_text(value, key)).expanduser()
    if not path.is_absolute():
        raise _Invalid(key, f"not an absolute path: {_short(str(path))} (expected one such as /srv/frontdesk/tickets.db)")
    return path


def _unix_group(value: Any, key: str) -> str:
    name = _text(value, key)
    try:
        import grp

        grp.getgrnam(name)
    except ImportError:  # no Unix groups on this system
        raise _Invalid(key, "Unix groups are not available on this system (leave the key out)") from None
    except KeyError:
        raise _Invalid(key, f"unknown group {_short(name)} (expected a group of this machine: `sudo groupadd {name}`)") from None
    return name


_DATABASE_KEYS: dict[str, Convert] = {
    "url": _database_url,
    "path": _absolute_path,
    "group": _unix_group,
    "password_command": _text,
}


def _database(value: Any, key: str) -> DatabaseConfig:
    given = _read_table(value, key, _DATABASE_KEYS)
    if "url" in given and "path" in given:
        raise _Invalid(key, "both url and path are set (expected one of them: url for PostgreSQL, path for a SQLite file)")
    if "group" in given and "path" not in given:
        raise _Invalid(f"{key}.group", "only used with path (a SQLite file shared by a group on one host)")
    if "password_command" in given and "path" in given:
        raise _Invalid(f"{key}.password_command", "only used with url (a PostgreSQL server): remove it")
    return DatabaseConfig(**given)


_NOTIFY_KEYS: dict[str, Convert] = {"slack_webhook": _https_url, "slack_webhook_command": _text, "command": _words}


def _notify(value: Any, key: str) -> NotifyConfig:
    given = _read_table(value, key, _NOTIFY_KEYS)
    if "slack_webhook" in given and "slack_webhook_command" in given:
        raise _Invalid(key, "both slack_webhook and slack_webhook_command are set (expected one of them)")
    return NotifyConfig(**given)


def _view_key(value: Any, key: str) -> str:
    typed = _expect(value, str, "one letter or digit", key)
    if len(typed) != 1 or not typed.isascii() or not typed.isalnum():
        raise _Invalid(key, f"invalid key {_short(typed)} (expected one letter or digit, such as \"9\" or \"a\")")
    if typed in BUILT_IN_VIEW_KEYS:
        raise _Invalid(key, f"{typed!r} is a built-in view's key (1 to 8 are taken: try 9, 0 or a letter)")
    return typed


def _view_query(value: Any, key: str) -> Query:
    try:
        return parse_query(_text(value, key))
    except QueryError as error:
        raise _Invalid(key, str(error)) from None


_VIEW_KEYS: dict[str, Convert] = {
    "name": _text,
    "key": _view_key,
    "query": _view_query,
    "sort": _one_of(*VIEW_SORTS),
}
_view_list = _list_of(
    _table_record(SavedView, _VIEW_KEYS, required=("name", "key", "query")), "an array of tables ([[views]])"
)


def _views(value: Any, key: str) -> tuple[SavedView, ...]:
    views = _view_list(value, key)
    items = list(_indexed(key, views))
    _require_unique(((f"{k}.name", v.name) for k, v in items), "view name", str.casefold)
    _require_unique(((f"{k}.key", v.key) for k, v in items), "view key")
    return views


_ALERT_KEYS: dict[str, Convert] = {name: _bool for name in ("new_ticket", "at_risk", "breached", "bell")}

# Key names as Textual writes them (textual/keys.py): a typed character is named after its Unicode
# name, these few shortened; "?" is question_mark, "/" slash.
_SHORT_CHARACTER_NAMES = {
    "solidus": "slash", "reverse_solidus": "backslash", "commercial_at": "at",
    "hyphen_minus": "minus", "plus_sign": "plus", "low_line": "underscore",
}
_MODIFIERS = ("ctrl", "alt", "shift", "meta", "super", "hyper")
_SPECIAL_KEYS = frozenset({
    "escape", "enter", "tab", "space", "backspace", "delete", "insert", "home", "end", "pageup", "pagedown",
    "up", "down", "left", "right", *(f"f{number}" for number in range(1, 25)),
})
_KEY_SPELLINGS = {"esc": "escape", "return": "enter", "del": "delete", "pgup": "pageup", "pgdn": "pagedown"}
_KEY_EXAMPLE = 'a key such as "x", "X", "ctrl+r", "?", "f5" or "escape"'


def _character_key(character: str) -> str | None:
    """Textual's name for the key that types `character`; None for one without a name."""
    if character.isalnum():
        return character
    name = unicodedata.name(character, "").lower().replace("-", "_").replace(" ", "_")
    return _SHORT_CHARACTER_NAMES.get(name, name) or None


_CHARACTER_KEYS = frozenset(filter(None, map(_character_key, map(chr, range(33, 127)))))


def _key_name(value: Any, key: str) -> str:
    """One key in Textual's spelling: "?" -> "question_mark", "Ctrl+R" -> "ctrl+r"."""
    typed = _expect(value, str, _KEY_EXAMPLE, key)
    if typed.endswith("+"):  # the plus key itself, alone ("+") or after modifiers ("ctrl++")
        head, last = typed[:-1], "+"
        head = head[:-1] if head.endswith("+") else head
        dangling = typed != "+" and not typed.endswith("++")  # "ctrl+": a modifier and no key
    else:
        head, _, last = typed.rpartition("+")
        dangling = False
    modifiers = [part.lower() for part in head.split("+")] if head else []
    base = _character_key(last) if len(last) == 1 else _KEY_SPELLINGS.get(last.lower(), last.lower())
    if (
        dangling or base is None or (len(last) != 1 and base not in _SPECIAL_KEYS | _CHARACTER_KEYS)
        or any(m not in _MODIFIERS for m in modifiers) or len(set(modifiers)) < len(modifiers)
    ):
        raise _Invalid(key, f"invalid key {_short(typed)} (expected {_KEY_EXAMPLE})")
    if modifiers and len(base) == 1:
        base = base.lower()  # ctrl+R is typed as ctrl+r
    return "+".join([*modifiers, base])


def _key_names(value: Any, key: str) -> tuple[str, ...]:
    """[keys]: one key, or a list of keys, for one action."""
    names = (_key_name(value, key),) if isinstance(value, str) else _key_list(value, key)
    if not names:
        raise _Invalid(key, f"empty list (expected at least one key; {_KEY_EXAMPLE})")
    _require_unique(_indexed(key, names), "key")
    return names


_key_list = _list_of(_key_name, f'{_KEY_EXAMPLE}, or a list of them such as ["r", "ctrl+r"]')


def _keys(value: Any, key: str) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({name: _key_names(keys, _join(key, name)) for name, keys in _table(value, key).items()})


_MACRO_KEYS: dict[str, Convert] = {
    "name": _text,
    "snippet": _text,
    "key": _key_name,
    "then": _one_of("resolve", "waiting", "none"),
}


def _macro(value: Any, key: str) -> MacroConfig:
    given = _read_table(value, key, _MACRO_KEYS, required=("name", "snippet"))
    if given.get("then") == "none":
        del given["then"]
    return MacroConfig(**given)


def _macros(value: Any, key: str) -> tuple[MacroConfig, ...]:
    macros = _list_of(_macro, "an array of tables ([[macros]])")(value, key)
    _require_unique(((f"{k}.name", m.name) for k, m in _indexed(key, macros)), "macro name", str.casefold)
    return macros


def _check_macro_snippets(macros: tuple[MacroConfig, ...], folder: Path | None) -> None:
    """A macro's snippet is a built-in one or a file of snippets_dir: a typo is found at load."""
    for key, macro in _indexed("macros", macros):
        if macro.snippet in BUILT_IN_SNIPPETS or (folder is not None and (folder / f"{macro.snippet}.md").is_file()):
            continue
        where = f"a file {macro.snippet}.md in {folder}" if folder is not None else "set [support] snippets_dir for your own"
        known = ", ".join(sorted(BUILT_IN_SNIPPETS))
        raise _Invalid(f"{key}.snippet", f"no snippet {_short(macro.snippet)} (expected a built-in one: {known}; or {where})")


# Top-level tables; `support` is read apart because its defaults come from the environment.
_SECTIONS: dict[str, Convert] = {
    "support": _table,
    "imap": _server("imap"),
    "smtp": _server("smtp"),
    "business_hours": _calendar,
    "sla": _sla,
    "customers": _customers,
    "owners": _owners,
    "notify": _notify,
    "alerts": _table_record(AlertsConfig, _ALERT_KEYS),
    "me": _me,
    "database": _database,
    "views": _views,
    "keys": _keys,
    "macros": _macros,
}

_SECRET_NAMES = frozenset({"password", "pass", "passwd", "secret", "token"})
_SECRET_SUFFIXES = ("_password", "_pass", "_secret", "_token")
_SECRET_MESSAGE = (
    "secrets never go in the config file: use the system keyring, password_command or oauth2_token_command"
)


def _is_secret(name: str, value: Any) -> bool:
    # Only values: a table called [sla.policies.secret] is a name, not a secret.
    lowered = name.lower()
    return not isinstance(value, dict) and (lowered in _SECRET_NAMES or lowered.endswith(_SECRET_SUFFIXES))


def _reject_secrets(value: Any, key: str = "") -> None:
    """Walk the whole document first, so a secret is refused even inside a misspelt table."""
    if isinstance(value, list):
        for item_key, item in _indexed(key, value):
            _reject_secrets(item, item_key)
    elif isinstance(value, dict):
        for name, child in value.items():
            if _is_secret(name, child):
                raise _Invalid(_join(key, name), _SECRET_MESSAGE)
            _reject_secrets(child, _join(key, name))


def _with_username(server: T, address: str | None) -> T:
    """The login defaults to the support address: the usual case for a shared mailbox."""
    if not isinstance(server, ServerConfig) or server.username is not None or server.auth == "none":
        return server
    return replace(server, username=address)


def _build(
    raw: Mapping[str, Any],
    path: Path | None,
    environ: Mapping[str, str],
    *,
    layers: tuple[ConfigLayer, ...] = (),
    origins: Mapping[str, Path] | None = None,
) -> Config:
    _reject_secrets(raw)
    given = _read_table(raw, "", _SECTIONS)
    owners: tuple[OwnerConfig, ...] = given.get("owners", ())
    support_table = _read_table(given.get("support", {}), "support", _SUPPORT_KEYS)
    me = _whoami({**given, "support": support_table}, owners, environ)
    support = _support(given.get("support", {}), "support", environ, me)
    sla: SlaConfig = given.get("sla", SlaConfig())
    customers: tuple[CustomerConfig, ...] = given.get("customers", ())
    for key, customer in _indexed("customers", customers):
        if customer.policy is not None:
            _known_policy(customer.policy, f"{key}.policy", sla.policies)
    macros: tuple[MacroConfig, ...] = given.get("macros", ())
    _check_macro_snippets(macros, support.snippets_dir)
    return Config(
        path=path,
        support=support,
        imap=_with_username(given.get("imap"), support.address),
        smtp=_with_username(given.get("smtp"), support.address),
        calendar=given.get("business_hours", BusinessCalendar()),
        sla=sla,
        customers=customers,
        owners=owners,
        notify=given.get("notify", NotifyConfig()),
        alerts=given.get("alerts", AlertsConfig()),
        me=me,
        database=given.get("database", DatabaseConfig()),
        views=given.get("views", ()),
        keys=given.get("keys", MappingProxyType({})),
        macros=macros,
        layers=layers,
        origins=MappingProxyType(dict(origins or {})),
    )
