"""Memberships of QQ numbers, their history, roles and the blacklist."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from collections.abc import Collection

from . import texts
from .durations import Duration
from .errors import BadQQ, NotAMember
from .store import Store, utc_text
from .textnorm import normalize

__all__ = [
    "Membership",
    "parse_qq",
    "membership",
    "extend",
    "cancel",
    "role_of",
    "ban",
    "unban",
]


def parse_qq(text: str) -> str:
    """A QQ number as typed (digits, maybe full-width, maybe @-mention text); raises BadQQ."""
    cleaned = normalize(str(text)).strip().lstrip("@")
    if not re.fullmatch(r"[1-9][0-9]{4,11}", cleaned):
        raise BadQQ(str(text))
    return cleaned


@dataclass(frozen=True)
class Membership:
    user_id: str
    started_at: datetime
    valid_until: datetime | None
    lifetime: bool
    source: str

    def active(self, now: datetime) -> bool:
        return self.lifetime or (self.valid_until is not None and self.valid_until > now)

    def days_left(self, now: datetime) -> int | None:
        if self.lifetime or self.valid_until is None:
            return None
        return max(0, (self.valid_until - now + timedelta(hours=23, minutes=59)).days)

    @classmethod
    def from_row(cls, row: dict) -> "Membership":
        return cls(
            user_id=row["user_id"],
            started_at=datetime.fromisoformat(row["started_at"]),
            valid_until=datetime.fromisoformat(row["valid_until"]) if row["valid_until"] else None,
            lifetime=bool(row["lifetime"]),
            source=row["source"],
        )


def membership(store: Store, user_id: str) -> Membership | None:
    row = store.get_member(user_id)
    return Membership.from_row(row) if row else None


def extend(
    store: Store,
    user_id: str,
    duration: Duration,
    *,
    now: datetime,
    actor: str,
    action: str = "extend",
    source: str = "admin",
    note: str = "",
) -> Membership:
    """Start or lengthen a membership from the later of now and its current end."""
    with store.write():
        current = membership(store, user_id)
        active = current is not None and current.active(now)
        if active and current.lifetime:
            new_until, lifetime = None, True
        else:
            base = current.valid_until if active and current.valid_until else now
            new_until, lifetime = duration.after(base), duration.lifetime
        started = current.started_at if active else now
        store.save_member(
            {
                "user_id": user_id,
                "started_at": utc_text(started),
                "valid_until": utc_text(new_until) if new_until else None,
                "lifetime": int(lifetime),
                "source": source if not active else current.source,
                "updated_at": utc_text(now),
            }
        )
        store.add_member_event(
            user_id=user_id,
            at=utc_text(now),
            action=action,
            duration=str(duration),
            before_until=_until_text(current),
            after_until=texts.FOREVER if lifetime else utc_text(new_until),
            actor=actor,
            note=note,
        )
    return membership(store, user_id)


def _until_text(current: Membership | None) -> str | None:
    if current is None:
        return None
    return texts.FOREVER if current.lifetime else utc_text(current.valid_until)


def cancel(store: Store, user_id: str, *, now: datetime, actor: str, action: str = "cancel", note: str = "") -> Membership:
    """End a membership now (it stays in the history); raises NotAMember if there is none active."""
    with store.write():
        current = membership(store, user_id)
        if current is None or not current.active(now):
            raise NotAMember(user_id)
        store.save_member(
            {
                "user_id": user_id,
                "started_at": utc_text(current.started_at),
                "valid_until": utc_text(now),
                "lifetime": 0,
                "source": current.source,
                "updated_at": utc_text(now),
            }
        )
        store.add_member_event(
            user_id=user_id,
            at=utc_text(now),
            action=action,
            duration=None,
            before_until=_until_text(current),
            after_until=utc_text(now),
            actor=actor,
            note=note,
        )
    return membership(store, user_id)


def role_of(store: Store, user_id: str, now: datetime, admins: Collection[str]) -> str:
    """admin, blacklisted, member or visitor; an admin is never locked out."""
    if user_id in admins:
        return "admin"
    if store.blacklist_entry(user_id) is not None:
        return "blacklisted"
    current = membership(store, user_id)
    if current is not None and current.active(now):
        return "member"
    return "visitor"


def ban(store: Store, user_id: str, reason: str, *, now: datetime, actor: str) -> Membership | None:
    """Blacklist a number and end its membership; returns the membership as it ended, if any."""
    with store.write():
        store.add_to_blacklist(user_id, reason, actor, now)
        current = membership(store, user_id)
        if current is not None and current.active(now):
            return cancel(store, user_id, now=now, actor=actor, action="revoke", note=reason)
    return None


def unban(store: Store, user_id: str) -> bool:
    return store.remove_from_blacklist(user_id)
