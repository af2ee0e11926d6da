"""How far each mailbox folder has been copied: (UIDVALIDITY, last UID stored) per account and folder.

Callers move the position inside the same transaction that stores the messages it covers, so the
position never runs ahead of what is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .models import SyncState


@dataclass(frozen=True)
class FolderPosition:
    uidvalidity: int | None  # None: never synced
    last_uid: int

    def covers(self, uidvalidity: int, uid: int) -> bool:
        """Whether the message with this identity is already stored."""
        return self.uidvalidity == uidvalidity and uid <= self.last_uid


def folder_position(account: str, folder: str) -> FolderPosition:
    row = SyncState.get_or_none((SyncState.account == account) & (SyncState.folder == folder))
    return FolderPosition(None, 0) if row is None else FolderPosition(row.uidvalidity, row.last_uid)


def save_position(account: str, folder: str, position: FolderPosition, at: datetime) -> None:
    values = dict(uidvalidity=position.uidvalidity, last_uid=position.last_uid, updated_at=at)
    (
        SyncState.insert(account=account, folder=folder, **values)
        .on_conflict(conflict_target=[SyncState.account, SyncState.folder], update=values)
        .execute()
    )
