"""Configuration loading: the lookup order, the values of a full file, and one-line error messages."""

from __future__ import annotations

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
    assert elite.sev1 == Targets(response=Duration(4, "h"), resolution=Duration(24, "h"))
    # sev2 resolution is left out: it keeps the handbook's value, which is "no target".
    assert elite.sev2 == Targets(response=Duration(2, "bd"), resolution=None)
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


def test_full_example_names_every_key() -> None:
    """The example documents every key there is, so a new key must be added to it."""
    text = (FIXTURES / "full.toml").read_text(encoding="utf-8")
    schemas = [
        config_module._SECTIONS, config_module._SUPPORT_KEYS, config_module._IMAP_KEYS,
        config_module._CALENDAR_KEYS, config_module._SLA_KEYS, config_module._POLICY_KEYS,
        config_module._TARGET_KEYS, config_module._CUSTOMER_KEYS, config_module._OWNER_KEYS,
        config_module._NOTIFY_KEYS,
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
    assert gold.sev1 == Targets(response=Duration(24, "h"), resolution=None)
    assert gold.sev2 == DEFAULT_POLICY.sev2
    assert gold.pause_while_waiting is False
    assert config.sla.policies["standard"].pause_while_waiting is False
    assert config.sla.policy_for(None) is gold


def test_standard_policy_can_be_overridden(tmp_path: Path) -> None:
    config = load(tmp_path, '[sla.policies.standard]\nsev1 = { response = "8h" }\n')
    assert config.sla.policies["standard"].sev1 == Targets(Duration(8, "h"), Duration(72, "h"))


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
        "allowed keys: address, display_name, rep_name, rep_email, snippets_dir)",
    ),
    (
        '[imapp]\nhost = "x"',
        "imapp: unknown key (did you mean 'imap'? allowed keys: "
        "support, imap, smtp, business_hours, sla, customers, owners, notify, alerts)",
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
        "password_command, oauth2_token_command, timeout)",
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
    assert config.sla.policies["secret"].sev1.response == Duration(1, "h")


def test_error_text_stays_on_one_line(tmp_path: Path) -> None:
    message = error(tmp_path, '[support]\naddress = "a\\nb@example.com"')
    assert message.startswith("support.address: invalid email address 'a\\nb@example.com'")
