"""Keyword search: ranking, paging and snippets.

Ranking has two tiers. Documents whose title holds every word come first,
then the other matches; each tier is ordered by bm25. FTS5 computes bm25 one
row at a time (about a microsecond and a half each), so a word found in every
one of 50,000 documents would cost tens of milliseconds to rank completely.
Each tier therefore ranks its newest ``window`` matches only: for any word
with fewer matches than that the order is exact, and for a very common word the
newest documents are the ones a reader of speech drafts wants anyway. The
total shown is then "window+" rather than a count nobody reads.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .errors import EmptyQuery, QueryTooLong
from .store import Store, StoredDocument
from .textnorm import folded_occurrences, query_terms, term_match_expression

__all__ = [
    "MAX_TERMS",
    "MAX_TERM_LENGTH",
    "RANK_WINDOW",
    "Ranking",
    "Hit",
    "ResultPage",
    "SearchSessions",
    "match_expression",
    "rank",
    "result_page",
    "search",
    "snippet",
    "suggestions",
]

MAX_TERMS = 6
MAX_TERM_LENGTH = 30
RANK_WINDOW = 2000
PAGE_SIZE = 5
SNIPPET_WIDTH = 80
SNIPPET_HITS = 50  # occurrences of each word considered when choosing the window


def match_expression(terms: list[str], *, column: str | None = None) -> str:
    expression = " AND ".join(term_match_expression(term) for term in terms)
    if column:
        return f"{{{column}}} : ({expression})"
    return expression


def parse_query(query: str) -> list[str]:
    """Terms of a query, or a domain error saying why there is nothing to search."""
    terms = query_terms(query or "")
    if not terms:
        raise EmptyQuery()
    if any(len(term) > MAX_TERM_LENGTH for term in terms):
        raise QueryTooLong(MAX_TERM_LENGTH)
    return terms[:MAX_TERMS]


@dataclass(frozen=True)
class Ranking:
    """The ordered ids of one search; pages are cut from it without searching again."""

    query: str
    terms: tuple[str, ...]
    ids: tuple[int, ...]
    capped: bool  # True when a tier stopped at the window: there are more matches
    scores: tuple[float, ...] = ()  # relevance of each id (negated bm25: higher is better)

    @property
    def total(self) -> int:
        return len(self.ids)


def rank(store: Store, terms: list[str], *, window: int = RANK_WINDOW, query: str = "") -> Ranking:
    # One row past the window tells "exactly window matches" from "more than that".
    title_rows = store.ranked_window(match_expression(terms), titles_only=True, window=window + 1)
    body_rows = store.ranked_window(match_expression(terms), titles_only=False, window=window + 1)
    capped = len(title_rows) > window or len(body_rows) > window
    title_rows, body_rows = title_rows[:window], body_rows[:window]
    # Within a tier, better bm25 first, then the newer document.
    title_ranked = sorted(title_rows, key=lambda row: (row[1], -row[0]))
    in_title = {doc_id for doc_id, _ in title_ranked}
    body_ranked = [row for row in sorted(body_rows, key=lambda row: (row[1], -row[0])) if row[0] not in in_title]
    ranked = title_ranked + body_ranked
    return Ranking(
        query=query,
        terms=tuple(terms),
        ids=tuple(doc_id for doc_id, _ in ranked),
        capped=capped,
        scores=tuple(round(-score, 4) for _, score in ranked),
    )


def search(store: Store, query: str, *, window: int = RANK_WINDOW) -> Ranking:
    """Rank the documents containing every word of ``query``; raises on input with nothing to search."""
    return rank(store, parse_query(query), window=window, query=query)


@dataclass(frozen=True)
class Hit:
    document: StoredDocument
    snippet: str


@dataclass(frozen=True)
class ResultPage:
    ranking: Ranking
    page: int  # 1-based
    pages: int
    hits: list[Hit] = field(default_factory=list)


def result_page(store: Store, ranking: Ranking, page: int, page_size: int = PAGE_SIZE) -> ResultPage:
    pages = max(1, -(-ranking.total // page_size))
    page = min(max(page, 1), pages)
    ids = ranking.ids[(page - 1) * page_size : page * page_size]
    documents = store.get_documents(ids)
    hits = [
        Hit(documents[doc_id], snippet(documents[doc_id].body, list(ranking.terms)))
        for doc_id in ids
        if doc_id in documents  # deleted since the search ran
    ]
    return ResultPage(ranking=ranking, page=page, pages=pages, hits=hits)


_WHITESPACE = re.compile(r"\s+")
_CLAUSE_END = re.compile(r"[。！？；，、：\n]")


def snippet(text: str, terms: list[str], width: int = SNIPPET_WIDTH) -> str:
    """About ``width`` characters of ``text`` around the hits, words marked 【】.

    The window is the one that shows the most different words; the marked
    characters are the original ones (traditional or full-width stay as written).
    """
    from .texts import marked_hit  # here, not at the top: wenku.texts imports this module

    spans = [(start, start + len(term), term) for term in terms for start in folded_occurrences(text, term, SNIPPET_HITS)]
    if not spans:
        start = 0
    else:
        best_start, best_cover = spans[0][0], -1
        for candidate, _, _ in spans:
            window_start = max(0, candidate - width // 4)
            cover = len({term for s, e, term in spans if s >= window_start and e <= window_start + width})
            if cover > best_cover:
                best_start, best_cover = window_start, cover
        start = best_start
        # Begin at a clause boundary before the hit rather than mid-word.
        first_hit = min((s for s, _, _ in spans if s >= start), default=start)
        boundary = _CLAUSE_END.search(text, start, first_hit)
        if start > 0 and boundary:
            start = boundary.end()
    end = min(len(text), start + width)
    start = max(0, min(start, end - width))
    marks = sorted((s, e) for s, e, _ in spans if s >= start and e <= end)
    merged: list[list[int]] = []
    for s, e in marks:
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    pieces, cursor = [], start
    for s, e in merged:
        pieces.append(text[cursor:s])
        pieces.append(marked_hit(text[s:e]))
        cursor = e
    pieces.append(text[cursor:end])
    body = _WHITESPACE.sub(" ", "".join(pieces)).strip()
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def suggestions(store: Store, terms: list[str], limit: int = 3) -> tuple[list[tuple[int, str]], dict[str, int]]:
    """For a search without hits: titles sharing parts of the words, and each word's own hit count."""
    pairs = {term[i : i + 2] for term in terms for i in range(max(1, len(term) - 1))}
    expression = " OR ".join(term_match_expression(pair) for pair in sorted(pairs))
    titles = store.similar_titles(expression, limit) if expression else []
    per_term: dict[str, int] = {}
    if len(terms) > 1:
        for term in terms:
            # A count only: bm25 would also count each phrase across the whole index.
            per_term[term] = store.count_matches(term_match_expression(term), RANK_WINDOW)
    return titles, per_term


class SearchSessions:
    """Each user's last search per chat, for 下一页/上一页, forgotten after ``ttl``."""

    def __init__(self, ttl: timedelta = timedelta(minutes=10), capacity: int = 5000):
        self.ttl = ttl
        self.capacity = capacity
        self._items: OrderedDict[tuple, tuple[datetime, Ranking, int]] = OrderedDict()

    def remember(self, key: tuple, ranking: Ranking, page: int, now: datetime) -> None:
        self._items[key] = (now, ranking, page)
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def forget(self, key: tuple) -> None:
        self._items.pop(key, None)

    def recall(self, key: tuple, now: datetime) -> tuple[Ranking, int] | None:
        item = self._items.get(key)
        if item is None:
            return None
        stamp, ranking, page = item
        if now - stamp > self.ttl:
            del self._items[key]
            return None
        return ranking, page
