"""Consistent backups of the database, taken while the bot serves, with a retention count."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .store import Store
from .texts import LOCAL_TZ

__all__ = ["DEFAULT_KEEP", "make_backup", "backups"]

DEFAULT_KEEP = 14
PREFIX = "wenku-"


def backups(folder: Path) -> list[Path]:
    """Existing backups, oldest first (names sort by time)."""
    return sorted(folder.glob(f"{PREFIX}*.db"))


def make_backup(store: Store, folder: Path, *, now: datetime, keep: int = DEFAULT_KEEP) -> Path:
    """Write a snapshot to ``folder`` and delete the oldest beyond ``keep``."""
    stamp = now.astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{PREFIX}{stamp}.db"
    suffix = 1
    while path.exists():  # two backups in one second
        path = folder / f"{PREFIX}{stamp}-{suffix}.db"
        suffix += 1
    store.backup_to(path)
    for old in backups(folder)[: max(0, len(backups(folder)) - max(keep, 1))]:
        old.unlink()
    return path
