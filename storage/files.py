"""Files frontdesk writes hold customer mail, or what it says about it: none may be readable by
users outside the rep or, on a shared support host, the team's Unix group, whatever the umask.

- A single rep: files 0600, folders 0700.
- A shared host (``[database] group``, or a database folder that already belongs to a group with
  the setgid bit): files 0660 and folders 2770, owned by that group, so that every rep in it can
  write the database, its -wal and -shm files, and nobody else can read them.

Folders frontdesk did not create (the current directory, /tmp, a home) are left as they are: the
modes of the files in them are what keep the mail private. Messages here are one line each, and
say the exact command that fixes what frontdesk may not fix itself.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import StoreError

try:
    import grp
    import pwd
except ImportError:  # not a Unix system: no groups to share with
    grp = pwd = None  # type: ignore[assignment]

PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
GROUP_FILE = 0o660
GROUP_FOLDER = 0o2770

COMPANIONS = ("-wal", "-shm", "-journal")  # what SQLite keeps beside a database


class FileAccessError(StoreError):
    """A file or folder frontdesk can't use or can't make private; the message says what to run."""


@dataclass(frozen=True)
class Sharing:
    """Who may use a database: the rep alone (group None), or the members of one Unix group."""

    group: str | None = None
    gid: int | None = None

    @property
    def file_mode(self) -> int:
        return PRIVATE_FILE if self.gid is None else GROUP_FILE

    @property
    def folder_mode(self) -> int:
        return PRIVATE_FOLDER if self.gid is None else GROUP_FOLDER

    @property
    def umask(self) -> int:
        return 0o077 if self.gid is None else 0o007

    @property
    def who(self) -> str:
        return "you" if self.group is None else f"the group '{self.group}'"


PRIVATE = Sharing()


def mode_text(mode: int) -> str:
    """0o100644 -> "0644"; a setgid folder keeps its leading 2: "2770"."""
    return f"{stat.S_IMODE(mode) & 0o7777:04o}"


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name if grp is not None else str(gid)
    except KeyError:
        return str(gid)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name if pwd is not None else str(uid)
    except KeyError:
        return str(uid)


def sharing_for(folder: Path, group: str | None) -> Sharing:
    """The group named in the config, else the group of a setgid folder, else the rep alone."""
    if group is not None:
        if grp is None:
            raise FileAccessError(f"cannot share {folder} with the group '{group}': no Unix groups on this system")
        try:
            return Sharing(group, grp.getgrnam(group).gr_gid)
        except KeyError:
            raise FileAccessError(f"there is no Unix group '{group}' on this machine: `sudo groupadd {group}`") from None
    try:
        found = folder.stat()
    except OSError:
        return PRIVATE
    if found.st_mode & stat.S_ISGID:
        return Sharing(group_name(found.st_gid), found.st_gid)
    return PRIVATE


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """The process umask, for code that creates files frontdesk can't give a mode to (SQLite)."""
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def make_folder(folder: Path, sharing: Sharing = PRIVATE) -> Path:
    """Create the folder and any missing parent with the sharing's mode; existing ones are left alone."""
    missing: list[Path] = []
    at = folder
    while not at.exists() and at.parent != at:
        missing.append(at)
        at = at.parent
    for created in reversed(missing):
        try:
            created.mkdir(mode=sharing.folder_mode & 0o777)  # the umask can only narrow it
        except FileExistsError:
            continue  # made by someone else meanwhile: theirs to decide
        if sharing.gid is not None:
            os.chown(created, -1, sharing.gid)
        os.chmod(created, sharing.folder_mode)  # chmod after chown: chown may clear the setgid bit
    return folder


def write_private(path: Path, data: str | bytes) -> Path:
    """Write a whole file readable by its owner only (0600), replacing what was there atomically;
    missing folders are created 0700."""
    make_folder(path.parent)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    content = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), PRIVATE_FILE)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, PRIVATE_FILE)  # O_CREAT's mode does not apply to a file left by a crash
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return path


# --- a database and its companions --------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A file or folder whose mode or group is not what the sharing wants."""

    path: Path
    mode: int
    gid: int
    uid: int
    wanted_mode: int
    wanted_gid: int | None

    @property
    def wrong_group(self) -> bool:
        return self.wanted_gid is not None and self.gid != self.wanted_gid

    @property
    def wider(self) -> bool:
        """Readable by someone it should not be."""
        allowed = self.wanted_mode if self.wanted_gid is not None else self.wanted_mode & 0o700
        return bool(stat.S_IMODE(self.mode) & 0o777 & ~allowed) or (self.wrong_group and bool(self.mode & 0o070))

    def command(self) -> str:
        steps = [f"chgrp {group_name(self.wanted_gid)} {self.path}"] if self.wrong_group else []  # type: ignore[arg-type]
        return " && ".join([*steps, f"chmod {mode_text(self.wanted_mode)} {self.path}"])

    def describe(self) -> str:
        group = f", group '{group_name(self.gid)}'" if self.wanted_gid is not None else ""
        wanted_group = f", group '{group_name(self.wanted_gid)}'" if self.wanted_gid is not None else ""
        return f"{self.path} is {mode_text(self.mode)}{group} (expected {mode_text(self.wanted_mode)}{wanted_group})"


def problem(path: Path, sharing: Sharing, folder: bool = False) -> Problem | None:
    """What is wrong with an existing file or folder for this sharing; None when all is well (or absent).

    A private file may be narrower than 0600 (0400 is fine); a shared one must be exactly 0660 in
    the group, or the others in it can't write. A shared folder must be 2770 in the group."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return None
    mode = stat.S_IMODE(found.st_mode)
    if sharing.gid is None:
        wanted = PRIVATE_FOLDER if folder else PRIVATE_FILE
        wrong = bool(mode & 0o077)
    else:
        wanted = GROUP_FOLDER if folder else GROUP_FILE
        wrong = (mode & 0o2777) != wanted or found.st_gid != sharing.gid
    if not wrong:
        return None
    return Problem(path, mode, found.st_gid, found.st_uid, wanted, sharing.gid)


def fix(found: Problem) -> str:
    """Set the wanted mode and group; the one-line notice saying so. Refused when not the owner."""
    if found.uid != os.geteuid() and os.geteuid() != 0:
        owner = user_name(found.uid)
        who = "root" if found.uid == 0 else f"{owner} (or root)"
        raise FileAccessError(f"{found.describe()}: only its owner {who} can fix that: `{found.command()}`")
    try:
        if found.wrong_group:
            os.chown(found.path, -1, found.wanted_gid)  # type: ignore[arg-type]
        os.chmod(found.path, found.wanted_mode)
    except OSError as error:
        raise FileAccessError(f"{found.describe()}, and it can't be fixed ({error.strerror}): `{found.command()}`") from None
    was = mode_text(found.mode) + (f", group '{group_name(found.gid)}'" if found.wrong_group else "")
    now = mode_text(found.wanted_mode) + (f", group '{group_name(found.wanted_gid)}'" if found.wanted_gid is not None else "")  # type: ignore[arg-type]
    if found.wider:
        why = "customer mail must not be readable by other users"
        return f"tightened {found.path} from {was} to {now}: {why}"
    return f"set {found.path} to {now} (was {was}) so that everyone in the group can use it"


def companions(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in COMPANIONS]


def cannot_write(database: Path, sharing: Sharing, culprit: Path | None = None) -> str:
    """One line for a user who may not write the database (or its folder): what to ask for."""
    culprit = culprit or database
    group = sharing.group
    if group is None:
        try:
            found = culprit.stat()
        except OSError:
            found = None
        if found is not None and found.st_mode & stat.S_IWGRP:
            group = group_name(found.st_gid)
    if group is not None:
        return (
            f"cannot write {database}: ask to be added to the group '{group}' "
            f"(sudo usermod -aG {group} $USER), then log in again"
        )
    try:
        owner = user_name(culprit.stat().st_uid)
    except OSError:
        owner = "its owner"
    return (
        f"cannot write {database}: only {owner} can; to share one database, give it a group "
        "([database] group, see \"Team set-up\" in the README)"
    )


def prepare_database(path: Path, sharing: Sharing, *, own_folder: bool = False) -> list[str]:
    """Make the database's folder and file what the sharing wants before SQLite opens them.

    Creates a missing folder and an empty database file with the right modes and group (SQLite
    then gives its -wal and -shm files the database's own mode), tightens or shares existing ones
    with a notice each, and refuses with the command to run when that is not ours to do. own_folder:
    the folder is frontdesk's own (the user data folder), so a private one is tightened too."""
    notices: list[str] = []
    folder = path.parent
    if not folder.exists():
        try:
            make_folder(folder, sharing)
        except OSError as error:
            if isinstance(error, PermissionError):
                raise FileAccessError(cannot_write(path, sharing, _nearest_existing(folder))) from None
            raise FileAccessError(f"cannot create the folder for the database {path}: {error.strerror}") from None
    # Whether this user may write at all comes first: fixing modes is no help to someone who can't.
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileAccessError(cannot_write(path, sharing, folder))
    if sharing.gid is not None or own_folder:
        if (found := problem(folder, sharing, folder=True)) is not None:
            notices.append(fix(found))
    if not path.exists():
        _create(path, sharing)
    for file in (path, *companions(path)):
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            raise FileAccessError(cannot_write(path, sharing, file))
        if (found := problem(file, sharing)) is not None:
            notices.append(fix(found))
    return notices


def settle(path: Path, sharing: Sharing) -> None:
    """After SQLite created its -wal and -shm files: make sure of their modes (quietly: ours, new)."""
    for file in companions(path):
        found = problem(file, sharing)
        if found is not None and found.uid == os.geteuid():
            try:
                fix(found)
            except FileAccessError:
                pass  # prepare_database reported it, or the next open will


def _create(path: Path, sharing: Sharing) -> None:
    """An empty file is an empty SQLite database: created here, it gets the mode SQLite would not."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), sharing.file_mode)
    except FileExistsError:
        return  # another process made it meanwhile; checked like any existing file
    except OSError as error:
        if isinstance(error, PermissionError):
            raise FileAccessError(cannot_write(path, sharing, path.parent)) from None
        raise FileAccessError(f"cannot create the database {path}: {error.strerror}") from None
    try:
        if sharing.gid is not None:
            os.fchown(fd, -1, sharing.gid)
        os.fchmod(fd, sharing.file_mode)
    finally:
        os.close(fd)


def _nearest_existing(folder: Path) -> Path:
    while not folder.exists() and folder.parent != folder:
        folder = folder.parent
    return folder
