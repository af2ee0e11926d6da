"""Configuration loading: the lookup order, the values of a full file, and one-line error messages."""

from __future__ import annotations

import grp
import os
from datetime import date, time
from pathlib import Path
from textwrap import dedent
from zoneinfo import ZoneInfo

import pytest

from frontdesk.storage import config as config_module
from frontdesk.storage.config import (
    ENV_VAR,
    Config,
    ConfigError,
    CustomerConfig,
    DatabaseConfig,
    Person,
    SendCommand,
    default_config,
    default_config_path,
    load_config,
)
from frontdesk.storage.sla import DEFAULT_POLICY, BusinessCalendar, Duration, Targets

FIXTURES = Path(__file__).parent / "fixtures" / "config"

ISSUE_EXAMPLE = FIXTURES / "issue.toml"


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ=environ or {})


def error(tmp_path: Path, text: str) -> str:
    """The error text with the file name taken off, checked to be one line."""
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    message = str(caught.value)
    assert "\n" not in message
    prefix = f"{tmp_path / 'config.toml'}: "
    assert message.startswith(prefix)
    return message.removeprefix(prefix)


@pytest.fixture
def no_default_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default location at a file that does not exist."""
    missing = tmp_path / "nowhere" / "config.toml"
    monkeypatch.setattr(config_module, "default_config_path", lambda: missing)
    return missing


# --- the issue's example ------------------------------------------------------------------------


def test_issue_example_calendar(tmp_path: Path) -> None:
    config = load_config(ISSUE_EXAMPLE, environ={})
    assert config.path == ISSUE_EXAMPLE
    assert config.support.address == "support@example.com"
    assert config.calendar == BusinessCalendar(
        timezone=ZoneInfo("America/Los_Angeles"),
        workdays=frozenset({0, 1, 2, 3, 4}),
        start=time(0, 0),
        end=None,
        holidays=frozenset({date(2026, 12, 25)}),
    )


def test_issue_example_policies_inherit_the_handbook(tmp_path: Path) -> None:
    sla = load_config(ISSUE_EXAMPLE, environ={}).sla
    elite = sla.policies["elite"]
    assert elite.targets_for(1) == Targets(response=Duration(4, "h"), resolution=Duration(24, "h"))
    # sev2 resolution is left out: it keeps the handbook's value, which is "no target".
    assert elite.targets_for(2) == Targets(response=Duration(2, "bd"), resolution=None)
    assert elite.pause_while_waiting is True
    assert sla.policies["standard"] == DEFAULT_POLICY
    assert sla.default_policy == "standard"
    assert sla.at_risk_fraction == 0.2


def test_issue_example_customer_lookup(tmp_path: Path) -> None:
    config = load_config(ISSUE_EXAMPLE, environ={})
    elite = config.customers[0]
    assert elite == CustomerConfig(name="Elite Co", domains=("elite.example",), policy="elite")
    assert config.customer_for_email("ann@elite.example") is elite
    assert config.customer_for_email("Ann <ann@eu.mail.ELITE.example>") is elite
    assert config.customer_for_email("ann@notelite.example") is None
    assert config.customer_for_email("ann@elite.example.org") is None
    assert config.customer_for_email("not an address") is None
    assert config.sla.policy_for(elite).name == "elite"
    assert config.sla.policy_for(None).name == "standard"


def test_issue_example_owners(tmp_path: Path) -> None:
    config = load_config(ISSUE_EXAMPLE, environ={})
    (bob,) = config.owners
    assert (bob.name, bob.email, bob.team) == ("Bob Example", "bob@example.com", "Distribution")
    assert bob.areas == ("kubernetes", "helm", "upgrades")
    assert config.owner_for_email("Bob <BOB@example.com>") is bob
    assert config.owner_for_email("carol@example.com") is None


# --- the full example file ----------------------------------------------------------------------


def test_full_example_loads() -> None:
    config = load_config(FIXTURES / "full.toml", environ={})
    assert config.support.rep_name == "Dana Rep"
    assert config.imap is not None and config.smtp is not None
    assert (config.imap.port, config.imap.folder, config.imap.sent_folder) == (993, "INBOX", "Sent")
    assert (config.smtp.auth, config.smtp.folder, config.smtp.timeout) == ("oauth2", None, 20.5)
    assert config.calendar.start == time(9) and config.calendar.end == time(17)
    assert config.calendar.holidays == {date(2026, 12, 25), date(2027, 1, 1)}
    assert config.sla.at_risk_fraction == 0.25
    assert config.sla.policies["elite"].pause_while_waiting is False
    assert config.customer_for_email("x@acme-corp.example").name == "Acme Corp"
    assert config.sla.policy_for(config.customer_for_email("x@acme.example")).name == "standard"
    assert config.notify.slack_webhook_command == "pass show slack/frontdesk-webhook"
    assert config.notify.command == ("notify-send", "--app-name=frontdesk")
    assert [(view.name, view.key, view.query.text, view.sort) for view in config.views] == [
        ("Acme", "9", "customer:acme -state:waiting", "age")
    ]


def test_full_example_names_every_key() -> None:
    """The example documents every key there is, so a new key must be added to it."""
    text = (FIXTURES / "full.toml").read_text(encoding="utf-8")
    schemas = [
        config_module._SECTIONS, config_module._SUPPORT_KEYS, config_module._IMAP_KEYS, config_module._SMTP_KEYS,
        config_module._CALENDAR_KEYS, config_module._SLA_KEYS, config_module._POLICY_KEYS,
        config_module._TARGET_KEYS, config_module._CUSTOMER_KEYS, config_module._OWNER_KEYS,
        config_module._NOTIFY_KEYS, config_module._ME_KEYS, config_module._DATABASE_KEYS, config_module._MACRO_KEYS,
        config_module._VIEW_KEYS,
    ]
    missing = {key for schema in schemas for key in schema if key not in text}
    assert not missing


# --- defaults and where the file is -------------------------------------------------------------


def test_no_file_at_the_default_location_means_defaults(no_default_file: Path) -> None:
    config = load_config(None, environ={"USER": "dana"})
    assert config == default_config(environ={"USER": "dana"})
    assert config.path is None
    assert config.support.address is None
    assert config.support.display_name == "Support"
    assert config.support.rep_name == "dana"
    assert config.imap is None and config.smtp is None
    assert config.calendar == BusinessCalendar()
    assert dict(config.sla.policies) == {"standard": DEFAULT_POLICY}
    assert config.customers == () and config.owners == ()
    assert config.customer_for_email("a@b.example") is None


def test_rep_name_falls_back_to_frontdesk(no_default_file: Path) -> None:
    assert load_config(None, environ={}).support.rep_name == "frontdesk"


def test_default_location_is_read_when_present(no_default_file: Path) -> None:
    no_default_file.parent.mkdir()
    no_default_file.write_text('[support]\naddress = "help@example.org"\n', encoding="utf-8")
    config = load_config(None, environ={})
    assert config.path == no_default_file
    assert config.support.address == "help@example.org"


def test_default_config_path_is_in_the_user_config_dir() -> None:
    path = default_config_path()
    assert path.name == "config.toml"
    assert path.parent.name == "frontdesk"


def test_environment_variable_names_the_file(tmp_path: Path, no_default_file: Path) -> None:
    path = write(tmp_path, '[support]\ndisplay_name = "From Env"\n', "env.toml")
    config = load_config(None, environ={ENV_VAR: str(path)})
    assert config.path == path
    assert config.support.display_name == "From Env"


def test_explicit_path_wins_over_environment(tmp_path: Path) -> None:
    env = write(tmp_path, '[support]\ndisplay_name = "Env"\n', "env.toml")
    given = write(tmp_path, '[support]\ndisplay_name = "Given"\n', "given.toml")
    assert load_config(given, environ={ENV_VAR: str(env)}).support.display_name == "Given"


def test_explicit_missing_path_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing, environ={})
    assert str(caught.value) == f"{missing}: config file not found"


def test_missing_file_named_by_environment_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(None, environ={ENV_VAR: str(missing)})
    assert str(caught.value) == f"{missing}: config file not found (named by ${ENV_VAR})"


def test_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})


def test_unreadable_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "")

    def refuse(self: Path) -> bytes:  # chmod 0 does not bind when tests run as root
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: cannot read the file: Permission denied"


def test_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[support]\ndisplay_name = "Caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value) == f"{path}: not valid UTF-8 at line 2 (expected a UTF-8 text file)"


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    message = error(tmp_path, '[support]\naddress = "a@b.example\n')
    assert message.startswith("invalid TOML: ")
    assert "line 2" in message and "column" in message


# --- values and their defaults ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "security", "port"),
    [
        ("imap", "tls", 993), ("imap", "starttls", 143), ("imap", "none", 143),
        ("smtp", "tls", 465), ("smtp", "starttls", 587), ("smtp", "none", 25),
    ],
)
def test_port_defaults_by_security(tmp_path: Path, section: str, security: str, port: int) -> None:
    config = load(tmp_path, f'[{section}]\nhost = "mail.example"\nsecurity = "{security}"\n')
    assert getattr(config, section).port == port


def test_server_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, '[support]\naddress = "Help@Example.com"\n[imap]\nhost = "imap.example"\n')
    assert config.imap is not None
    assert (config.imap.security, config.imap.auth, config.imap.timeout) == ("tls", "password", 30.0)
    assert config.imap.username == "help@example.com"  # the support address, lower-cased
    assert config.imap.folder == "INBOX" and config.imap.sent_folder is None


def test_smtp_auth_none_is_a_relay_without_a_login(tmp_path: Path) -> None:
    config = load(tmp_path, '[support]\naddress = "help@example.com"\n[smtp]\nhost = "localhost"\nauth = "none"\n')
    assert config.smtp is not None
    assert (config.smtp.auth, config.smtp.username, config.smtp.port) == ("none", None, 465)


def test_smtp_command_is_split_into_words_without_a_shell(tmp_path: Path) -> None:
    config = load(tmp_path, """
        [smtp]
        command = "msmtp --read-envelope-from -t -a 'support box' ; rm"
        timeout = 90
    """)
    assert config.smtp == SendCommand(("msmtp", "--read-envelope-from", "-t", "-a", "support box", ";", "rm"), 90.0)
    assert str(config.smtp) == "msmtp --read-envelope-from -t -a 'support box' ';' rm"


def test_hours_and_days(tmp_path: Path) -> None:
    config = load(tmp_path, '[business_hours]\nhours = "08:30-24:00"\nworkdays = ["SUN", "Sat"]\n')
    assert (config.calendar.start, config.calendar.end) == (time(8, 30), None)
    assert config.calendar.workdays == {5, 6}


def test_explicit_none_target_and_global_pause(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [sla]
        default_policy = "gold"
        pause_while_waiting = false
        [sla.policies.gold]
        sev1 = { resolution = "none" }
        """,
    )
    gold = config.sla.policies["gold"]
    assert gold.targets_for(1) == Targets(response=Duration(24, "h"), resolution=None)
    assert gold.targets_for(2) == DEFAULT_POLICY.targets_for(2)
    assert gold.pause_while_waiting is False
    assert config.sla.policies["standard"].pause_while_waiting is False
    assert config.sla.policy_for(None) is gold


def test_standard_policy_can_be_overridden(tmp_path: Path) -> None:
    config = load(tmp_path, '[sla.policies.standard]\nsev1 = { response = "8h" }\n')
    assert config.sla.policies["standard"].targets_for(1) == Targets(Duration(8, "h"), Duration(72, "h"))


def test_most_specific_domain_wins(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        """
        [[customers]]
        name = "Parent"
        domains = ["example.com"]
        [[customers]]
        name = "Child"
        domains = ["Eu.Example.com"]
        """,
    )
    assert config.customer_for_email("a@x.eu.example.com").name == "Child"
    assert config.customer_for_email("a@us.example.com").name == "Parent"


# --- errors: one line, naming the key and what is expected --------------------------------------

ERRORS = [
    (
        '[business_hours]\ntimezone = "Mars/Olympus"',
        "business_hours.timezone: unknown time zone 'Mars/Olympus' (expected an IANA name such as Europe/Berlin)",
    ),
    (
        "[support]\naddress = 42",
        "support.address: expected a string, got the number 42",
    ),
    (
        '[support]\naddress = "support at example.com"',
        "support.address: invalid email address 'support at example.com' "
        "(expected an address such as support@example.com)",
    ),
    (
        '[support]\naddres = "a@b.example"',
        "support.addres: unknown key (did you mean 'address'? "
        "allowed keys: address, display_name, rep_name, rep_email, snippets_dir, ticket_url)",
    ),
    (
        '[imapp]\nhost = "x"',
        "imapp: unknown key (did you mean 'imap'? allowed keys: "
        "support, imap, smtp, business_hours, sla, customers, owners, notify, alerts, me, database, views, keys, macros)",
    ),
    ('[imap]\nport = 993', "imap.host: required key is missing"),
    (
        '[imap]\nhost = "x"\nport = 70000',
        "imap.port: out of range: 70000 (expected a port number from 1 to 65535)",
    ),
    ('[imap]\nhost = "x"\nport = true', "imap.port: expected a port number from 1 to 65535, got true"),
    (
        '[smtp]\nhost = "x"\nsecurity = "ssl"',
        'smtp.security: unknown value \'ssl\' (expected one of "tls", "starttls", "none")',
    ),
    (
        '[smtp]\nhost = "x"\nfolder = "INBOX"',
        "smtp.folder: unknown key (allowed keys: host, port, security, username, auth, "
        "password_command, oauth2_token_command, timeout, command)",
    ),
    (
        '[imap]\nhost = "x"\nauth = "oauth2"',
        'imap.oauth2_token_command: required with auth = "oauth2" '
        "(expected a command that prints a fresh access token)",
    ),
    (
        '[imap]\nhost = "x"\nauth = "oauth2"\noauth2_token_command = "t"\npassword_command = "p"',
        'imap.password_command: only used with auth = "password" (remove it or set auth = "password")',
    ),
    (
        '[smtp]\ncommand = "msmtp -t"\nhost = "x"',
        "smtp.host: not used with command (send through a server: host; or a program: command; not both)",
    ),
    (
        '[smtp]\ncommand = "msmtp -t"\npassword_command = "pass smtp"',
        "smtp.password_command: not used with command (send through a server: host; or a program: command; not both)",
    ),
    ("[smtp]\nport = 25", "smtp.host: required key is missing (or command, a program such as sendmail that sends it)"),
    (
        '[smtp]\ncommand = "msmtp -t -a \'support"',
        "smtp.command: cannot be split into words: no closing quotation "
        '(expected a program and its arguments, such as "msmtp -t")',
    ),
    ('[smtp]\ncommand = " "', "smtp.command: empty string (expected a value, or leave the key out)"),
    (
        '[smtp]\nhost = "x"\nauth = "none"\nusername = "support@example.com"',
        'smtp.username: not used with auth = "none" (remove it, or set auth = "password")',
    ),
    (
        '[smtp]\nhost = "x"\nauth = "none"\npassword_command = "pass smtp"',
        'smtp.password_command: only used with auth = "password" (remove it or set auth = "password")',
    ),
    ('[imap]\nhost = "x"\nauth = "none"', 'imap.auth: unknown value \'none\' (expected one of "password", "oauth2")'),
    (
        '[imap]\nhost = "x"\ntimeout = 0',
        "imap.timeout: out of range: 0 (expected a number of seconds greater than 0)",
    ),
    ('[imap]\nhost = "  "', "imap.host: empty string (expected a value, or leave the key out)"),
    (
        '[business_hours]\nworkdays = ["mon", "tues"]',
        "business_hours.workdays[1]: unknown value 'tues' "
        '(expected one of "mon", "tue", "wed", "thu", "fri", "sat", "sun")',
    ),
    (
        '[business_hours]\nworkdays = ["mon", "Mon"]',
        "business_hours.workdays[1]: duplicate day 'mon' (already given at business_hours.workdays[0])",
    ),
    (
        "[business_hours]\nworkdays = []",
        'business_hours.workdays: empty list (expected at least one day, such as ["mon", "tue"])',
    ),
    (
        '[business_hours]\nworkdays = "mon-fri"',
        'business_hours.workdays: expected a list of days such as ["mon", "tue"], got the string \'mon-fri\'',
    ),
    (
        '[business_hours]\nhours = "17:00-09:00"',
        "business_hours.hours: invalid hours '17:00-09:00' (expected \"HH:MM-HH:MM\" with the start "
        'before the end, such as "09:00-17:00"; the end may be "24:00")',
    ),
    (
        '[business_hours]\nholidays = ["2026-02-30"]',
        "business_hours.holidays[0]: invalid date '2026-02-30' (expected YYYY-MM-DD such as 2026-12-25)",
    ),
    (
        "[business_hours]\nholidays = [2026-12-25T00:00:00]",
        "business_hours.holidays[0]: expected a date such as 2026-12-25, got a date-time",
    ),
    (
        "[sla]\nat_risk_fraction = 1.5",
        "sla.at_risk_fraction: out of range: 1.5 (expected a fraction between 0 and 1, such as 0.2)",
    ),
    (
        '[sla]\ndefault_policy = "gold"',
        "sla.default_policy: unknown policy 'gold' (expected one of the defined policies: standard)",
    ),
    (
        '[sla.policies.elite]\nsev1 = { response = "4x" }',
        "sla.policies.elite.sev1.response: expected a duration like 90m, 24h, 3d, 8bh or 5bd, "
        "got '4x' (or \"none\" for no target)",
    ),
    (
        "[sla.policies.elite]\nsev1 = { response = 4 }",
        'sla.policies.elite.sev1.response: expected a duration such as "24h" or "5bd", or "none", '
        "got the number 4",
    ),
    (
        '[sla.policies."gold plus"]\nsev3 = { response = "4h" }',
        'sla.policies."gold plus".sev3: unknown key (did you mean \'sev2\'? '
        "allowed keys: sev1, sev2, pause_while_waiting)",
    ),
    (
        '[sla.policies.elite]\nsev1 = { respond = "4h" }',
        "sla.policies.elite.sev1.respond: unknown key (did you mean 'response'? "
        "allowed keys: response, resolution)",
    ),
    (
        '[[customers]]\nname = "A"\n[[customers]]\nname = "B"\n[[customers]]\nname = "C"\npolicy = "elite"',
        "customers[2].policy: unknown policy 'elite' (expected one of the defined policies: standard)",
    ),
    ('[[customers]]\ndomains = ["a.example"]', "customers[0].name: required key is missing"),
    (
        '[[customers]]\nname = "Acme"\n[[customers]]\nname = "ACME"',
        "customers[1].name: duplicate customer name 'ACME' (already given at customers[0].name)",
    ),
    (
        '[[customers]]\nname = "A"\ndomains = ["a.example"]\n[[customers]]\nname = "B"\n'
        'domains = ["b.example", "A.example"]',
        "customers[1].domains[1]: duplicate domain 'a.example' (already given at customers[0].domains[0])",
    ),
    (
        '[[customers]]\nname = "A"\ndomains = ["@a.example"]',
        "customers[0].domains[0]: invalid domain '@a.example' (expected a domain name such as example.com)",
    ),
    (
        '[[customers]]\nname = "A"\ndeployment = "cloud"',
        'customers[0].deployment: unknown value \'cloud\' (expected one of "self-hosted", "managed", "other")',
    ),
    (
        '[customers]\nname = "A"',
        "customers: expected an array of tables ([[customers]]), got a table",
    ),
    ('[[owners]]\nname = "Bob"', "owners[0].email: required key is missing"),
    (
        '[[owners]]\nname = "Bob"\nemail = "bob@example.com"\n[[owners]]\nname = "Rob"\nemail = "BOB@example.com"',
        "owners[1].email: duplicate owner email 'bob@example.com' (already given at owners[0].email)",
    ),
    (
        '[[owners]]\nname = "Bob"\nemail = "bob@example.com"\nareas = "helm"',
        'owners[0].areas: expected a list of strings such as ["kubernetes", "helm"], got the string \'helm\'',
    ),
    (
        '[notify]\nslack_webhook = "http://hooks.slack.com/x"',
        "notify.slack_webhook: invalid URL (expected an https:// URL such as https://hooks.slack.com/…)",
    ),
    (
        '[notify]\nslack_webhook = "https://hooks.slack.com/x"\nslack_webhook_command = "cat f"',
        "notify: both slack_webhook and slack_webhook_command are set (expected one of them)",
    ),
    (
        "[notify]\ncommand = \"notify-send 'unclosed\"",
        'notify.command: cannot be split into words: no closing quotation (expected a program and its arguments, such as "msmtp -t")',
    ),
    ('support = "yes"', "support: expected a table, got the string 'yes'"),
]


@pytest.mark.parametrize(("text", "expected"), ERRORS, ids=[e[1].split(":")[0] for e in ERRORS])
def test_error_message(tmp_path: Path, text: str, expected: str) -> None:
    assert error(tmp_path, text) == expected


SECRET_MESSAGE = (
    "secrets never go in the config file: use the system keyring, password_command or oauth2_token_command"
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[imap]\nhost = "x"\npassword = "hunter2"', "imap.password"),
        ('[smtp]\nhost = "x"\npass = "hunter2"', "smtp.pass"),
        ('[notify]\ntoken = "xoxb"', "notify.token"),
        ('[imapp]\nsecret = "s"', "imapp.secret"),  # found even inside a misspelt table
        ('[[owners]]\nname = "B"\nemail = "b@example.com"\napi_token = "t"', "owners[0].api_token"),
        ('Password = "x"', "Password"),
    ],
)
def test_secrets_are_refused(tmp_path: Path, text: str, key: str) -> None:
    assert error(tmp_path, text) == f"{key}: {SECRET_MESSAGE}"


def test_a_policy_may_be_called_secret(tmp_path: Path) -> None:
    config = load(tmp_path, '[sla.policies.secret]\nsev1 = { response = "1h" }\n')
    assert config.sla.policies["secret"].targets_for(1).response == Duration(1, "h")


def test_error_text_stays_on_one_line(tmp_path: Path) -> None:
    message = error(tmp_path, '[support]\naddress = "a\\nb@example.com"')
    assert message.startswith("support.address: invalid email address 'a\\nb@example.com'")


# --- layers: the system file, then the user's -------------------------------------------------

SYSTEM_TOML = """
[support]
address = "support@example.com"
display_name = "Team Support"

[imap]
host = "imap.example.com"
security = "starttls"

[database]
path = "/srv/frontdesk/tickets.db"

[[customers]]
name = "Elite Co"
domains = ["elite.example"]

[[owners]]
name = "Sam Ortiz"
email = "sam@example.com"
unix_user = "sam"

[[owners]]
name = "Bob Example"
email = "bob@example.com"
"""


def layered(tmp_path: Path, system: str, user: str, environ: dict[str, str] | None = None) -> Config:
    system_path = write(tmp_path, system, "system.toml")
    user_path = write(tmp_path, user, "user.toml")
    return load_config(user_path, environ={config_module.SYSTEM_ENV_VAR: str(system_path), **(environ or {})})


def test_the_user_file_is_laid_over_the_system_file(tmp_path: Path) -> None:
    config = layered(
        tmp_path,
        SYSTEM_TOML,
        """
        [me]
        name = "Dana Rep"
        [imap]
        port = 1993
        [[customers]]
        name = "Acme"
        """,
    )
    assert config.support.address == "support@example.com"  # from the system file
    assert config.imap is not None and (config.imap.host, config.imap.port) == ("imap.example.com", 1993)
    assert config.imap.security == "starttls"  # the table is merged key by key
    assert [c.name for c in config.customers] == ["Acme"]  # an array is replaced whole
    assert [o.name for o in config.owners] == ["Sam Ortiz", "Bob Example"]
    assert config.database.path == Path("/srv/frontdesk/tickets.db")
    assert config.me is not None and config.me.name == "Dana Rep"
    assert config.path == tmp_path / "user.toml"
    assert [(layer.kind, layer.path.name) for layer in config.layers] == [("system", "system.toml"), ("--config", "user.toml")]


def test_origins_name_the_file_of_each_value(tmp_path: Path) -> None:
    config = layered(tmp_path, SYSTEM_TOML, '[me]\nname = "Dana Rep"\n[imap]\nport = 1993\n')
    system, user = tmp_path / "system.toml", tmp_path / "user.toml"
    assert config.origins["imap.host"] == system and config.origins["imap.port"] == user
    assert config.origins["database.path"] == system and config.origins["me.name"] == user
    assert config.origins["owners"] == system and "owners[0].name" not in config.origins
    assert "imap.folder" not in config.origins  # a default
    assert config.source("imap.host") == f"system file {system}"
    assert config.source("me") == f"--config file {user}"
    assert config.source("imap") == f"--config file {user}"  # the last file to set something in it
    assert config.source("smtp.host") == "default"


def test_the_user_file_found_by_default_is_called_the_user_file(tmp_path: Path, no_default_file: Path) -> None:
    no_default_file.parent.mkdir()
    no_default_file.write_text('[me]\nname = "Dana Rep"\n', encoding="utf-8")
    config = load_config(None, environ={})
    assert config.source("me.name") == f"user file {no_default_file}"


def test_without_a_user_file_the_system_file_alone_is_read(tmp_path: Path, no_default_file: Path) -> None:
    system = write(tmp_path, SYSTEM_TOML, "system.toml")
    config = load_config(None, environ={config_module.SYSTEM_ENV_VAR: str(system)})
    assert config.path is None  # no file of the user's
    assert config.support.display_name == "Team Support"
    assert [layer.kind for layer in config.layers] == ["system"]


def test_the_default_system_file_is_read_when_it_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    system = write(tmp_path, '[support]\ndisplay_name = "From /etc"\n', "system.toml")
    monkeypatch.setattr(config_module, "SYSTEM_CONFIG_PATH", system)
    user = write(tmp_path, "", "user.toml")
    assert load_config(user, environ={}).support.display_name == "From /etc"
    assert load_config(user, environ={}, system=False).support.display_name == "Support"
    assert config_module.default_system_config_path() == system


def test_an_empty_system_variable_means_the_default_location(tmp_path: Path) -> None:
    user = write(tmp_path, "", "user.toml")
    config = load_config(user, environ={config_module.SYSTEM_ENV_VAR: ""})
    assert [layer.kind for layer in config.layers] == ["--config"]  # the default location: absent in tests


def test_a_missing_system_file_named_by_the_variable_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, ""), environ={config_module.SYSTEM_ENV_VAR: str(missing)})
    assert str(caught.value) == f"{missing}: config file not found (named by $FRONTDESK_SYSTEM_CONFIG)"


def test_an_error_names_the_file_its_key_came_from(tmp_path: Path) -> None:
    system = tmp_path / "system.toml"
    with pytest.raises(ConfigError) as caught:
        layered(tmp_path, '[imap]\nhost = "imap.example.com"\ntimeout = 0\n', '[imap]\nport = 1993\n')
    assert str(caught.value) == f"{system}: imap.timeout: out of range: 0 (expected a number of seconds greater than 0)"
    with pytest.raises(ConfigError) as caught:  # a required key missing: the file of its table
        layered(tmp_path, "", "[smtp]\nport = 25\n")
    assert str(caught.value).startswith(f"{tmp_path / 'user.toml'}: smtp.host: required key is missing")
    with pytest.raises(ConfigError) as caught:  # the customer names a policy the user's file lacks
        layered(tmp_path, '[[customers]]\nname = "A"\npolicy = "gold"\n', '[support]\ndisplay_name = "x"\n')
    assert str(caught.value).startswith(f"{system}: customers[0].policy: unknown policy 'gold'")
    with pytest.raises(ConfigError) as caught:
        layered(tmp_path, '[imap]\nhost = "x"\npassword = "hunter2"\n', "")
    assert str(caught.value).startswith(f"{system}: imap.password: secrets never go in the config file")


def test_a_later_database_choice_drops_the_other_backend(tmp_path: Path) -> None:
    group = grp.getgrgid(os.getgid()).gr_name
    system = f'[database]\npath = "/srv/frontdesk/tickets.db"\ngroup = "{group}"\n'
    config = layered(tmp_path, system, '[database]\nurl = "postgresql://dana@db.example.com/frontdesk"\n')
    assert config.database.url == "postgresql://dana@db.example.com/frontdesk"
    assert config.database.path is None and config.database.group is None
    assert "database.path" not in config.origins
    config = layered(tmp_path, '[database]\nurl = "postgresql://db.example.com/fd"\npassword_command = "pass db"\n',
                     '[database]\npath = "/home/dana/fd.db"\n')
    assert config.database == DatabaseConfig(path=Path("/home/dana/fd.db"))


def test_a_later_smtp_choice_drops_the_other_way_of_sending(tmp_path: Path) -> None:
    system = '[smtp]\nhost = "smtp.example.com"\nusername = "team@example.com"\npassword_command = "pass smtp"\n'
    config = layered(tmp_path, system + "timeout = 45\n", '[smtp]\ncommand = "msmtp -t"\n')
    assert config.smtp == SendCommand(("msmtp", "-t"), 45.0)
    assert "smtp.host" not in config.origins
    config = layered(tmp_path, '[smtp]\ncommand = "msmtp -t"\n', '[smtp]\nhost = "localhost"\nauth = "none"\n')
    assert config.smtp is not None and (config.smtp.host, config.smtp.auth) == ("localhost", "none")


# --- who "me" is --------------------------------------------------------------------------------


def test_me_from_its_table(tmp_path: Path) -> None:
    config = load(tmp_path, '[me]\nname = "Dana Rep"\nemail = "Dana@Example.com"\n', {"USER": "dana"})
    assert config.me == Person("Dana Rep", "dana@example.com")
    # what older code reads follows "me"
    assert (config.support.rep_name, config.support.rep_email) == ("Dana Rep", "dana@example.com")


def test_me_from_the_owner_with_my_unix_user(tmp_path: Path) -> None:
    system = SYSTEM_TOML
    assert layered(tmp_path, system, "", {"USER": "sam"}).me == Person("Sam Ortiz", "sam@example.com")
    assert layered(tmp_path, system, "", {"LOGNAME": "sam"}).me == Person("Sam Ortiz", "sam@example.com")
    assert layered(tmp_path, system, "", {"USER": "bob"}).me is None  # Bob's entry names no login
    config = layered(tmp_path, system, '[me]\nname = "Samuel"\n', {"USER": "sam"})
    assert config.me == Person("Samuel", None)  # [me] comes first


def test_me_from_the_login_in_the_password_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_module.getpass, "getuser", lambda: "sam")
    assert layered(tmp_path, SYSTEM_TOML, "", {}).me == Person("Sam Ortiz", "sam@example.com")


def test_me_from_the_old_rep_keys(tmp_path: Path) -> None:
    config = load(tmp_path, '[support]\nrep_name = "Alex Rivera"\nrep_email = "alex@example.com"\n')
    assert config.me == Person("Alex Rivera", "alex@example.com")
    config = load(tmp_path, '[support]\nrep_email = "bob@example.com"\n[[owners]]\nname = "Bob"\nemail = "bob@example.com"\n')
    assert config.me == Person("Bob", "bob@example.com")


def test_nobody_is_me_when_nothing_says_who(tmp_path: Path) -> None:
    config = load(tmp_path, '[support]\naddress = "support@example.com"\n', {"USER": "dana"})
    assert config.me is None
    assert config.support.rep_name == "dana"  # still there for the code that reads it


def test_unix_users_are_unique(tmp_path: Path) -> None:
    text = '[[owners]]\nname = "A"\nemail = "a@example.com"\nunix_user = "sam"\n' \
           '[[owners]]\nname = "B"\nemail = "b@example.com"\nunix_user = "sam"\n'
    assert error(tmp_path, text) == "owners[1].unix_user: duplicate unix_user 'sam' (already given at owners[0].unix_user)"


def test_me_needs_a_name(tmp_path: Path) -> None:
    assert error(tmp_path, '[me]\nemail = "dana@example.com"\n') == "me.name: required key is missing"
    assert error(tmp_path, '[me]\nname = "D"\nmail = "d@example.com"\n') == (
        "me.mail: unknown key (did you mean 'email'? allowed keys: name, email)"
    )


# --- [database] -------------------------------------------------------------------------------


def test_database_section(tmp_path: Path) -> None:
    assert load(tmp_path, "").database == DatabaseConfig()
    config = load(tmp_path, '[database]\nurl = "postgresql://fd@db.example.com:5432/frontdesk"\npassword_command = "pass db"\n')
    assert config.database == DatabaseConfig(url="postgresql://fd@db.example.com:5432/frontdesk", password_command="pass db")
    group = grp.getgrgid(os.getgid()).gr_name
    config = load(tmp_path, f'[database]\npath = "/srv/frontdesk/tickets.db"\ngroup = "{group}"\n')
    assert config.database == DatabaseConfig(path=Path("/srv/frontdesk/tickets.db"), group=group)
    assert load(tmp_path, '[database]\npath = "~/fd.db"\n').database.path == Path("~/fd.db").expanduser()


DATABASE_ERRORS = [
    (
        '[database]\nurl = "postgresql://fd:hunter2@db.example.com/frontdesk"',
        "database.url: a password in the URL is not allowed: secrets never go in the config file; "
        "set [database] password_command, or keep the password in the system keyring",
    ),
    (
        '[database]\nurl = "postgresql://fd@db.example.com/frontdesk?password=hunter2"',
        "database.url: a password in the URL is not allowed: secrets never go in the config file; "
        "set [database] password_command, or keep the password in the system keyring",
    ),
    (
        '[database]\nurl = "mysql://fd@db.example.com/frontdesk"',
        "database.url: not a PostgreSQL URL (expected a URL such as postgresql://frontdesk@db.example.com:5432/frontdesk)",
    ),
    (
        '[database]\nurl = "postgresql://fd@db.example.com"',
        "database.url: no database name in the URL "
        "(expected a URL such as postgresql://frontdesk@db.example.com:5432/frontdesk)",
    ),
    (
        '[database]\npath = "tickets.db"',
        "database.path: not an absolute path: 'tickets.db' (expected one such as /srv/frontdesk/tickets.db)",
    ),
    (
        '[database]\nurl = "postgresql://db.example.com/fd"\npath = "/srv/fd.db"',
        "database: both url and path are set (expected one of them: url for PostgreSQL, path for a SQLite file)",
    ),
    (
        '[database]\npath = "/srv/fd.db"\ngroup = "no-such-group-here"',
        "database.group: unknown group 'no-such-group-here' "
        "(expected a group of this machine: `sudo groupadd no-such-group-here`)",
    ),
    (
        '[database]\nurl = "postgresql://db.example.com/fd"\ngroup = "root"',
        "database.group: only used with path (a SQLite file shared by a group on one host)",
    ),
    (
        '[database]\npath = "/srv/fd.db"\npassword_command = "pass db"',
        "database.password_command: only used with url (a PostgreSQL server): remove it",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DATABASE_ERRORS, ids=[e[1].split(":")[1].strip()[:30] for e in DATABASE_ERRORS])
def test_database_errors(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert message == expected
    assert "hunter2" not in message


def test_url_without_password() -> None:
    assert config_module.url_without_password("postgresql://fd:pw@db.example.com:5432/x") == "postgresql://fd@db.example.com:5432/x"
    assert config_module.url_without_password("postgresql://db.example.com/x") == "postgresql://db.example.com/x"


# --- [[views]] ------------------------------------------------------------------------------------

_VIEW = '[[views]]\nname = "Acme"\nkey = "9"\nquery = "customer:acme"\n'


def test_saved_views_read_their_query_and_sort(tmp_path: Path) -> None:
    views = load(tmp_path, _VIEW + '\n[[views]]\nname = "Old sev 1"\nkey = "a"\nquery = "sev:1 before:7d"\nsort = "AGE"\n').views
    assert [(view.name, view.key, view.query.text, view.sort) for view in views] == [
        ("Acme", "9", "customer:acme", "urgency"),
        ("Old sev 1", "a", "sev:1 before:7d", "age"),
    ]
    assert [term.field for term in views[1].query.terms] == ["sev", "before"]
    assert load(tmp_path, "").views == ()


def test_the_built_in_view_keys_are_the_inbox_ones() -> None:
    from frontdesk.tui.views import VIEWS

    assert {view.hotkey for view in VIEWS} == config_module.BUILT_IN_VIEW_KEYS


VIEW_ERRORS = [
    (
        _VIEW.replace('query = "customer:acme"', 'query = "customer:acme sevv:1"'),
        'views[0].query: column 15, "sevv:1": unknown field "sevv:" (did you mean sev:?)',
    ),
    (
        _VIEW.replace('"9"', '"1"'),
        "views[0].key: '1' is a built-in view's key (1 to 8 are taken: try 9, 0 or a letter)",
    ),
    (
        _VIEW.replace('"9"', '"ab"'),
        "views[0].key: invalid key 'ab' (expected one letter or digit, such as \"9\" or \"a\")",
    ),
    (
        _VIEW.replace('"9"', '"/"'),
        "views[0].key: invalid key '/' (expected one letter or digit, such as \"9\" or \"a\")",
    ),
    (
        _VIEW + 'sort = "due"\n',
        'views[0].sort: unknown value \'due\' (expected one of "urgency", "age", "customer", "severity")',
    ),
    (
        _VIEW.replace('query = "customer:acme"\n', ""),
        "views[0].query: required key is missing",
    ),
    (
        _VIEW + _VIEW.replace('"Acme"', '"Acme again"'),
        "views[1].key: duplicate view key '9' (already given at views[0].key)",
    ),
    (
        _VIEW + _VIEW.replace('"Acme"', '"ACME"').replace('"9"', '"0"'),
        "views[1].name: duplicate view name 'ACME' (already given at views[0].name)",
    ),
    (
        _VIEW + "color = 'red'\n",
        "views[0].color: unknown key (allowed keys: name, key, query, sort)",
    ),
]


@pytest.mark.parametrize(("text", "expected"), VIEW_ERRORS, ids=[e[1].split(":")[0] + str(i) for i, e in enumerate(VIEW_ERRORS)])
def test_saved_view_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert error(tmp_path, text) == expected


# --- [keys] and [[macros]] ----------------------------------------------------------------------


def test_keys_are_one_key_or_a_list_in_textual_s_spelling(tmp_path: Path) -> None:
    config = load(tmp_path, """
        [keys]
        resolve = "X"
        reply = ["r", "Ctrl+R"]
        help = "?"
        search = "/"
        back = ["esc", "q"]
        stats = "F5"
        note = "ctrl++"
    """)
    assert dict(config.keys) == {
        "resolve": ("X",), "reply": ("r", "ctrl+r"), "help": ("question_mark",), "search": ("slash",),
        "back": ("escape", "q"), "stats": ("f5",), "note": ("ctrl+plus",),
    }


def test_macros_tie_a_key_to_a_snippet_and_what_follows(tmp_path: Path) -> None:
    folder = tmp_path / "snippets"
    folder.mkdir()
    (folder / "fixed.md").write_text("Fixed in 4.2.\n", encoding="utf-8")
    config = load(tmp_path, f"""
        [support]
        snippets_dir = "{folder}"
        [[macros]]
        name = "Resolved, and close"
        key = "Z"
        snippet = "resolved"
        then = "resolve"
        [[macros]]
        name = "Fixed in 4.2"
        snippet = "fixed"
        then = "none"
    """)
    assert config.macros == (
        config_module.MacroConfig("Resolved, and close", "resolved", key="Z", then="resolve"),
        config_module.MacroConfig("Fixed in 4.2", "fixed"),
    )


KEY_ERRORS = [
    ('[keys]\nresolve = 3', 'keys.resolve: expected a key such as "x", "X", "ctrl+r", "?", "f5" or "escape", or a list '
     'of them such as ["r", "ctrl+r"], got the number 3'),
    ('[keys]\nresolve = "ctrl+"', 'keys.resolve: invalid key \'ctrl+\' (expected a key such as "x", "X", "ctrl+r", "?", '
     '"f5" or "escape")'),
    ('[keys]\nresolve = "x,y"', 'keys.resolve: invalid key \'x,y\' (expected a key such as "x", "X", "ctrl+r", "?", '
     '"f5" or "escape")'),
    ('[keys]\nresolve = "hyperspace+x"', 'keys.resolve: invalid key \'hyperspace+x\' (expected a key such as "x", "X", '
     '"ctrl+r", "?", "f5" or "escape")'),
    ('[keys]\nreply = []', 'keys.reply: empty list (expected at least one key; a key such as "x", "X", "ctrl+r", "?", '
     '"f5" or "escape")'),
    ('[keys]\nreply = ["r", "R", "r"]', "keys.reply[2]: duplicate key 'r' (already given at keys.reply[0])"),
    ('keys = "x"', "keys: expected a table, got the string 'x'"),
    ('[[macros]]\nname = "close"\nsnippet = "resolvd"', "macros[0].snippet: no snippet 'resolvd' (expected a built-in "
     "one: ack, call, docs, handoff, logs, resolved; or set [support] snippets_dir for your own)"),
    ('[[macros]]\nname = "close"', "macros[0].snippet: required key is missing"),
    ('[[macros]]\nname = "close"\nsnippet = "ack"\nthen = "close"', "macros[0].then: unknown value 'close' (expected "
     'one of "resolve", "waiting", "none")'),
    ('[[macros]]\nname = "a"\nsnippet = "ack"\n[[macros]]\nname = "A"\nsnippet = "call"',
     "macros[1].name: duplicate macro name 'A' (already given at macros[0].name)"),
    ('[[macros]]\nname = "a"\nsnippet = "ack"\nkeys = "x"', "macros[0].keys: unknown key (did you mean 'key'? allowed "
     "keys: name, snippet, key, then)"),
]


@pytest.mark.parametrize(("text", "expected"), KEY_ERRORS, ids=[e[1].split(":")[0] for e in KEY_ERRORS])
def test_keys_and_macros_errors(tmp_path: Path, text: str, expected: str) -> None:
    assert error(tmp_path, text) == expected


def test_a_macro_s_snippet_may_be_a_file_of_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "snippets"
    folder.mkdir()
    text = f'[support]\nsnippets_dir = "{folder}"\n[[macros]]\nname = "x"\nsnippet = "fixed"'
    assert error(tmp_path, text).endswith(f"or a file fixed.md in {folder})")
    (folder / "fixed.md").write_text("Fixed.", encoding="utf-8")
    assert load(tmp_path, text).macros[0].snippet == "fixed"
