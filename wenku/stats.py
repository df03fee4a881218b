"""Figures about the library and how it is used, for `统计` and `wenku stats`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .store import Store
from .texts import LOCAL_TZ

__all__ = ["LibraryStats", "library_stats", "start_of_day"]


def start_of_day(now: datetime) -> datetime:
    """Midnight of ``now``'s day in Asia/Shanghai, where the business is."""
    local = now.astimezone(LOCAL_TZ)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class LibraryStats:
    documents: int
    categories: list[tuple[str, int]]
    searches_today: int
    searches_week: int
    top_terms: list[tuple[str, int]]
    missed_terms: list[tuple[str, int]]


def library_stats(store: Store, now: datetime) -> LibraryStats:
    today = start_of_day(now)
    week = today - timedelta(days=6)
    return LibraryStats(
        documents=store.document_count(),
        categories=store.category_counts(),
        searches_today=store.search_count_since(today),
        searches_week=store.search_count_since(week),
        top_terms=store.top_search_terms(week, 10),
        missed_terms=store.top_missed_terms(week, 10),
    )


#: A member who pulled this many times the median of all receivers (and at least
#: RESALE_MINIMUM full texts) in 7 days is marked as a possible reseller.
RESALE_FACTOR = 3
RESALE_MINIMUM = 10


@dataclass(frozen=True)
class AdminStats:
    library: LibraryStats
    members_active: int
    members_expiring: int
    fulltexts_today: int
    fulltexts_week: int
    top_receivers: list[tuple[str, int, bool]]  # user, deliveries in 7 days, resale signal
    open_reports: int


def admin_stats(store: Store, now: datetime) -> AdminStats:
    today = start_of_day(now)
    week = today - timedelta(days=6)
    receivers = store.top_receivers(week, 10_000)
    counts = sorted(count for _, count in receivers)
    median = counts[len(counts) // 2] if counts else 0
    flagged = [
        (user, count, count >= RESALE_MINIMUM and count >= RESALE_FACTOR * max(median, 1))
        for user, count in receivers[:10]
    ]
    return AdminStats(
        library=library_stats(store, now),
        members_active=len(store.members(active_at=now)),
        members_expiring=len(store.members(active_at=now, expiring_before=now + timedelta(days=7))),
        fulltexts_today=store.delivery_count_since(today),
        fulltexts_week=store.delivery_count_since(week),
        top_receivers=flagged,
        open_reports=store.open_report_count(),
    )
