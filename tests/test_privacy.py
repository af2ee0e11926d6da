"""Customer mail is private: whatever the umask, nothing frontdesk writes is readable by users
outside the rep (0600 files, 0700 folders) or, on a shared support host, the team's group (0660
files and 2770 folders in that group). Existing files that are wider are tightened on open, with a
notice; what frontdesk may not fix is refused in one line that says the command to run."""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from frontdesk.mail.demo import build_demo
from frontdesk.storage.clock import FrozenClock
from frontdesk.storage.config import Config, load_config
from frontdesk.storage.database import DatabaseError
from frontdesk.storage.files import write_private
from frontdesk.storage.store import Store
from frontdesk.tui.cli import main
from frontdesk.tui.stats_screen import write_text

from conftest import CONFIG_TOML, NOW

GROUP = grp.getgrgid(os.getgid()).gr_name  # a group this process belongs to
AS_ROOT = os.geteuid() == 0


def mode(path: Path) -> str:
    return f"{stat.S_IMODE(path.stat().st_mode):04o}"


def files_of(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


@pytest.fixture(autouse=True)
def loose_umask() -> Iterator[None]:
    """The usual default umask, under which files are created readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def shared_config(tmp_path: Path, db: Path, group: str = GROUP) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML + f'\n[database]\npath = "{db}"\ngroup = "{group}"\n', encoding="utf-8")
    return load_config(path)


# --- a single rep ---------------------------------------------------------------------------------


def test_a_new_database_is_the_reps_alone(tmp_path: Path, config: Config, clock: FrozenClock) -> None:
    db = tmp_path / "data" / "tickets.db"
    store = Store.open(db, config, clock)
    try:
        store.db.execute_sql("CREATE TABLE probe (x)")  # a write: the -wal and -shm files exist
        assert all(path.exists() for path in files_of(db))
        assert mode(db.parent) == "0700"
        assert [mode(path) for path in files_of(db)] == ["0600", "0600", "0600"]
        assert store.notices == []
    finally:
        store.close()


def test_a_database_readable_by_others_is_tightened_with_a_notice(
    tmp_path: Path, config: Config, clock: FrozenClock
) -> None:
    db = tmp_path / "tickets.db"
    Store.open(db, config, clock).close()
    db.chmod(0o644)  # as an older frontdesk made it

    store = Store.open(db, config, clock)
    store.close()

    assert mode(db) == "0600"
    assert store.notices == [
        f"tightened {db} from 0644 to 0600: customer mail must not be readable by other users"
    ]
    assert Store.open(db, config, clock).notices == []  # once is enough


def test_the_command_line_says_so_on_stderr(tmp_path: Path, config_path: Path, config: Config, clock, capsys) -> None:
    db = tmp_path / "tickets.db"
    Store.open(db, config, clock).close()
    db.chmod(0o664)

    status = main(["--db", str(db), "--config", str(config_path), "list"])

    err = capsys.readouterr().err
    assert status == 0
    assert err == f"frontdesk: tightened {db} from 0664 to 0600: customer mail must not be readable by other users\n"


# --- a shared host --------------------------------------------------------------------------------


def test_a_shared_database_belongs_to_the_group(tmp_path: Path, clock: FrozenClock) -> None:
    db = tmp_path / "srv" / "frontdesk" / "tickets.db"
    config = shared_config(tmp_path, db)
    store = Store.open(db, config, clock)
    try:
        store.db.execute_sql("CREATE TABLE probe (x)")
        gid = grp.getgrnam(GROUP).gr_gid
        assert mode(db.parent) == "2770" and db.parent.stat().st_gid == gid
        assert [mode(path) for path in files_of(db)] == ["0660", "0660", "0660"]
        assert {path.stat().st_gid for path in files_of(db)} == {gid}
    finally:
        store.close()


def test_a_setgid_folder_shares_the_database_without_configuration(
    tmp_path: Path, config: Config, clock: FrozenClock
) -> None:
    folder = tmp_path / "team"
    folder.mkdir()
    folder.chmod(0o2770)
    store = Store.open(folder / "tickets.db", config, clock)
    try:
        store.db.execute_sql("CREATE TABLE probe (x)")
        assert [mode(path) for path in files_of(folder / "tickets.db")] == ["0660", "0660", "0660"]
    finally:
        store.close()


def test_a_shared_database_readable_by_others_is_tightened(tmp_path: Path, clock: FrozenClock) -> None:
    db = tmp_path / "shared" / "tickets.db"
    config = shared_config(tmp_path, db)
    Store.open(db, config, clock).close()
    db.chmod(0o644)

    store = Store.open(db, config, clock)
    store.close()

    assert mode(db) == "0660"
    assert store.notices == [
        f"tightened {db} from 0644 to 0660, group '{GROUP}': customer mail must not be readable by other users"
    ]


def test_a_database_given_with_db_is_not_shared_by_the_configured_group(tmp_path: Path, clock: FrozenClock) -> None:
    config = shared_config(tmp_path, tmp_path / "srv" / "tickets.db")
    elsewhere = tmp_path / "mine" / "tickets.db"
    Store.open(elsewhere, config, clock).close()
    assert mode(elsewhere) == "0600" and mode(elsewhere.parent) == "0700"


# --- someone else's database ----------------------------------------------------------------------

NOBODY = pwd.getpwnam("nobody")


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder other users can reach (pytest's own temporary folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="frontdesk-privacy-", dir="/tmp"))
    folder.chmod(0o755)  # like /srv: anyone may look in; the team's folder inside is the gate
    (folder / "system.toml").write_text("")
    (folder / "system.toml").chmod(0o644)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def as_nobody(*args: str, system_config: Path) -> tuple[int, str]:
    """`frontdesk ARGS` run by the user nobody, who is in no group but its own: (status, stderr).

    A forked child that drops root before it runs: unlike a new interpreter, it needs nothing that
    only root may read (this Python may live under /root)."""
    main(["--db", str(system_config.parent / "warm-up.db"), "list"])  # every import done, as root
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 70
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(NOBODY.pw_gid)
            os.setuid(NOBODY.pw_uid)
            os.environ.update(USER="nobody", HOME="/nonexistent", FRONTDESK_SYSTEM_CONFIG=str(system_config))
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
            sys.stderr = os.fdopen(write, "w")
            status = main(list(args))
            sys.stderr.flush()
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as child:
        err = child.read()
    _, wait_status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(wait_status), err


def _team_database(folder: Path, config: Config, clock: FrozenClock, gid: int, file_mode: int) -> Path:
    team = folder / "team"
    team.mkdir()
    os.chown(team, -1, gid)
    team.chmod(0o2770)
    db = team / "tickets.db"
    Store.open(db, config, clock).close()
    os.chown(db, -1, gid)
    db.chmod(file_mode)
    return db


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as another user")
def test_someone_outside_the_group_is_told_which_group_to_join(
    shared_folder: Path, config: Config, clock: FrozenClock
) -> None:
    db = _team_database(shared_folder, config, clock, 0, 0o660)  # the group root: nobody isn't in it

    status, err = as_nobody("--db", str(db), "list", system_config=shared_folder / "system.toml")

    group = grp.getgrgid(0).gr_name
    assert status == 2, err  # a database this user may not use: set-up, like a bad config
    assert err == (
        f"frontdesk: cannot write {db}: ask to be added to the group '{group}' "
        f"(sudo usermod -aG {group} $USER), then log in again\n"
    )


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as another user")
def test_someone_elses_private_database_is_refused_in_one_line(
    shared_folder: Path, config: Config, clock: FrozenClock
) -> None:
    db = shared_folder / "tickets.db"
    Store.open(db, config, clock).close()
    shared_folder.chmod(0o1777)  # like /tmp: anyone may make files here
    db.chmod(0o644)  # even readable: root's, and not for nobody to write

    status, err = as_nobody("--db", str(db), "list", system_config=shared_folder / "system.toml")

    assert status == 2, err  # a database this user may not use: set-up, like a bad config
    assert err == (
        f"frontdesk: cannot write {db}: only root can; to share one database, give it a group "
        '([database] group, see "Team set-up" in the README)\n'
    )
    assert mode(db) == "0644"  # not nobody's to change


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as another user")
def test_a_member_who_does_not_own_a_wide_database_is_given_the_command(
    shared_folder: Path, config: Config, clock: FrozenClock
) -> None:
    db = _team_database(shared_folder, config, clock, NOBODY.pw_gid, 0o664)  # nobody's group; root's file

    status, err = as_nobody("--db", str(db), "list", system_config=shared_folder / "system.toml")

    group = grp.getgrgid(NOBODY.pw_gid).gr_name
    assert status == 2, err  # a database this user may not use: set-up, like a bad config
    assert err == (
        f"frontdesk: {db} is 0664, group '{group}' (expected 0660, group '{group}'): "
        f"only its owner root can fix that: `chmod 0660 {db}`\n"
    )
    assert mode(db) == "0664"  # untouched


@pytest.mark.skipif(not AS_ROOT, reason="needs root to act as another user")
def test_a_member_of_the_group_shares_the_database(shared_folder: Path, config: Config, clock: FrozenClock) -> None:
    db = _team_database(shared_folder, config, clock, NOBODY.pw_gid, 0o660)

    status, err = as_nobody("--db", str(db), "list", system_config=shared_folder / "system.toml")

    assert (status, err) == (0, "")
    # nobody's session made the -wal and -shm files, readable by the group alone
    for path in files_of(db)[1:]:
        if path.exists():
            assert mode(path) == "0660" and path.stat().st_gid == NOBODY.pw_gid


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path, config: Config, clock: FrozenClock) -> None:
    db = tmp_path / "tickets.db"
    db.write_bytes(b"this is not a database at all" * 100)
    db.chmod(0o600)
    with pytest.raises(DatabaseError) as caught:
        Store.open(db, config, clock)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"cannot open the database {db}: ")


# --- everything else frontdesk writes -------------------------------------------------------------


def test_written_files_are_private(tmp_path: Path) -> None:
    note = write_text(tmp_path / "exports" / "handover.md", "# Week 48\n")  # the stats screen's export
    assert (mode(note), mode(note.parent), note.read_text()) == ("0600", "0700", "# Week 48\n")

    existing = tmp_path / "state.json"
    existing.write_text("{}")
    existing.chmod(0o644)
    write_private(existing, '{"theme": "nord"}')
    assert (mode(existing), existing.read_text()) == ("0600", '{"theme": "nord"}')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "state.json"]  # nothing staged left


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_the_remembered_theme_is_private(tmp_path: Path, demo_store: Store) -> None:
    from frontdesk.tui.app import FrontdeskApp

    state = tmp_path / "state" / "frontdesk" / "tui.json"
    FrontdeskApp(demo_store, demo=True, state_file=state)._save_state(theme="nord")
    assert mode(state) == "0600" and mode(state.parent) == "0700"


def test_the_demo_folder_is_private(tmp_path: Path) -> None:
    config_path, db = build_demo(tmp_path / "demo", NOW)
    assert mode(tmp_path / "demo") == "0700"
    assert mode(config_path) == "0600" and mode(Path(db)) == "0600"


def test_init_writes_a_private_config(tmp_path: Path, capsys) -> None:
    target = tmp_path / "config" / "frontdesk" / "config.toml"
    status = main([
        "--config", str(target), "init", "--address", "support@example.com", "--imap-host", "imap.example.com",
        "--smtp-host", "smtp.example.com", "--secret-source", "password-command:pass show support", "--no-check",
    ])
    assert status == 0, capsys.readouterr().err
    assert mode(target) == "0600" and mode(target.parent) == "0700"
