"""Drafts kept on this computer while the database is away (a PostgreSQL server restarting, a
network gone), so that nothing a rep typed is lost; the store saves them when it can."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import platformdirs

from .files import write_private


class KeptDrafts:
    """One private file per ticket, in a folder of this database's own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def for_database(cls, name: str) -> KeptDrafts:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        return cls(platformdirs.user_state_path("frontdesk") / "drafts" / digest)

    def _file(self, ticket_id: int) -> Path:
        return self.folder / f"{ticket_id}.txt"

    def _about(self, ticket_id: int) -> Path:
        return self.folder / f"{ticket_id}.json"

    def keep(self, ticket_id: int, body: str, about: dict | None = None) -> None:
        """`about`: what the draft's author saw when it began (kept beside it, as JSON)."""
        if about is not None:
            write_private(self._about(ticket_id), json.dumps(about))
        write_private(self._file(ticket_id), body)

    def get(self, ticket_id: int) -> str | None:
        try:
            return self._file(ticket_id).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def about(self, ticket_id: int) -> dict | None:
        try:
            about = json.loads(self._about(ticket_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return about if isinstance(about, dict) else None

    def forget(self, ticket_id: int) -> None:
        self._file(ticket_id).unlink(missing_ok=True)
        self._about(ticket_id).unlink(missing_ok=True)
