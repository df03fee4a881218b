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
