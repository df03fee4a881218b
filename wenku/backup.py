"""Consistent backups of the database, taken while the bot serves, with a retention count."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from .store import Store
from .texts import LOCAL_TZ

__all__ = ["DEFAULT_KEEP", "make_backup", "backups"]

DEFAULT_KEEP = 14
PREFIX = "wenku-"
#: wenku-YYYYmmdd-HHMMSS.db, or wenku-YYYYmmdd-HHMMSS-N.db for the N-th more in the same second.
_NAME = re.compile(re.escape(PREFIX) + r"(\d{8}-\d{6})(?:-(\d+))?\.db")


def _age(path: Path) -> tuple[str, int]:
    match = _NAME.fullmatch(path.name)
    assert match is not None
    return match.group(1), int(match.group(2) or 0)


def _name(stamp: str, number: int) -> str:
    return f"{PREFIX}{stamp}.db" if number == 0 else f"{PREFIX}{stamp}-{number}.db"


def backups(folder: Path) -> list[Path]:
    """Existing backups, oldest first.

    Ordered by time and then by the number of a second backup in the same
    second: plain name order would put wenku-…-120000-1.db ("-" sorts before
    ".") before wenku-…-120000.db, and -10 before -2. Files that are not
    named as backups are never listed, so retention never deletes them.
    """
    return sorted((path for path in folder.glob(f"{PREFIX}*.db") if _NAME.fullmatch(path.name)), key=_age)


def make_backup(store: Store, folder: Path, *, now: datetime, keep: int = DEFAULT_KEEP) -> Path:
    """Write a snapshot to ``folder`` and delete the oldest beyond ``keep``; the new one is always kept."""
    stamp = now.astimezone(LOCAL_TZ).strftime("%Y%m%d-%H%M%S")
    # Two backups in one second: number the later one past every number used in
    # that second, never a name retention has freed (it would sort as older).
    number = max((n for when, n in map(_age, backups(folder)) if when == stamp), default=-1) + 1
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        path = folder / _name(stamp, number)
        try:
            # Claim the name atomically: the bot and the CLI may back up in the same second.
            # VACUUM INTO accepts the empty file it finds there.
            path.open("x").close()
            break
        except FileExistsError:
            number += 1
    try:
        store.backup_to(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    others = [old for old in backups(folder) if old != path]
    for old in others[: max(0, len(others) - (max(keep, 1) - 1))]:
        old.unlink()
    return path
