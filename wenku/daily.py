"""The daily membership job: who is reminded, who is told their membership ended.

The job's memory is the member_notices table: a notice is recorded just
before it goes out, keyed by the membership end it was about, so running the
job twice, or again after a kill mid-send, sends nothing twice. A notice that
surely failed is forgotten again and tried next time; one whose send timed out
is kept, since it may have arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .members import Membership
from .store import Store, utc_text

__all__ = ["Notice", "due_notices", "record_notice", "forget_notice", "REMIND_DAYS", "EXPIRED_NOTICE_WINDOW"]

REMIND_DAYS = (7, 1)
#: Memberships that ended longer ago than this get no "expired" notice (e.g. on first deployment).
EXPIRED_NOTICE_WINDOW = timedelta(days=30)


@dataclass(frozen=True)
class Notice:
    user_id: str
    kind: str  # "7d", "1d" or "expired"
    valid_until: datetime


def due_notices(store: Store, now: datetime) -> list[Notice]:
    notices: list[Notice] = []
    for row in store.members(active_at=now, expiring_before=now + timedelta(days=max(REMIND_DAYS))):
        member = Membership.from_row(row)
        left = member.valid_until - now
        kind = next(f"{days}d" for days in sorted(REMIND_DAYS) if left <= timedelta(days=days))
        if not store.notice_done(member.user_id, kind, row["valid_until"]):
            notices.append(Notice(member.user_id, kind, member.valid_until))
    for row in store.expired_members(now):
        member = Membership.from_row(row)
        if now - member.valid_until > EXPIRED_NOTICE_WINDOW or store.blacklist_entry(member.user_id):
            continue
        if not store.notice_done(member.user_id, "expired", row["valid_until"]):
            notices.append(Notice(member.user_id, "expired", member.valid_until))
    return notices


def record_notice(store: Store, notice: Notice, now: datetime) -> None:
    store.record_notice(notice.user_id, notice.kind, utc_text(notice.valid_until), now)


def forget_notice(store: Store, notice: Notice) -> None:
    store.forget_notice(notice.user_id, notice.kind, utc_text(notice.valid_until))
