"""Every SQL statement of the project, behind one class wrapping sqlite-utils.

The schema is built by ``sqlite_utils.Migrations``; writes that touch more
than one table run inside ``db.atomic()`` so that a crash or a kill leaves
either all of a change or none of it.

Full-text search uses two contentless FTS5 tables filled with the bigram
tokens of :mod:`wenku.textnorm`: ``documents_fts`` (title and body, for
matching) and ``titles_fts`` (titles only, small, so that title hits are
cheap to find however common the word is). Contentless keeps the index at
the size of the tokens' positions instead of a second copy of every text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils
from sqlite_utils import Migrations

from .textnorm import _fold_table, index_tokens

__all__ = ["Store", "StoredDocument", "NewDocument", "utc_text", "migrations"]

migrations = Migrations("wenku")

#: Changes whenever the way text becomes tokens changes; a mismatch rebuilds the index.
TOKENIZER_VERSION = "bigram-1"



def utc_text(moment: datetime) -> str:
    """The stored form of a time: ISO 8601 in UTC, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


@migrations()
def m001_library(db: sqlite_utils.Database) -> None:
    db["documents"].create(
        {
            "id": int,
            "title": str,
            "category": str,
            "keywords": str,  # JSON list
            "body": str,
            "chars": int,
            "content_hash": str,
            "source": str,
            "imported_at": str,
            "deleted_at": str,
        },
        pk="id",
        not_null={"title", "category", "keywords", "body", "chars", "content_hash", "imported_at"},
    )
    db["documents"].create_index(["content_hash"], unique=True)
    db["documents"].create_index(["category"])
    db.execute(
        "CREATE VIRTUAL TABLE documents_fts USING fts5("
        "title, body, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    db.execute(
        "CREATE VIRTUAL TABLE titles_fts USING fts5("
        "title, content='', tokenize='unicode61 remove_diacritics 0')"
    )
    # Bottom-k MinHash sketches of each document's shingles, one row per value,
    # so that near-duplicates are found by the values they share.
    db.execute(
        "CREATE TABLE sketches (value INTEGER NOT NULL, document_id INTEGER NOT NULL"
        " REFERENCES documents(id), PRIMARY KEY (value, document_id)) WITHOUT ROWID"
    )
    db["searches"].create(
        {
            "id": int,
            "at": str,
            "user_id": str,
            "group_id": str,
            "origin": str,
            "query": str,
            "terms": str,  # JSON list
            "hits": int,
        },
        pk="id",
    )
    db["searches"].create_index(["at"])
    db["meta"].create({"key": str, "value": str}, pk="key")


@dataclass(frozen=True)
class NewDocument:
    title: str
    category: str
    keywords: tuple[str, ...]
    body: str
    content_hash: str
    sketch: tuple[int, ...]
    source: str


@dataclass(frozen=True)
class StoredDocument:
    id: int
    title: str
    category: str
    keywords: tuple[str, ...]
    body: str
    chars: int
    source: str
    imported_at: datetime
    deleted: bool

    @classmethod
    def from_row(cls, row: dict) -> "StoredDocument":
        return cls(
            id=row["id"],
            title=row["title"],
            category=row["category"],
            keywords=tuple(json.loads(row["keywords"])),
            body=row["body"],
            chars=row["chars"],
            source=row["source"] or "",
            imported_at=datetime.fromisoformat(row["imported_at"]),
            deleted=row["deleted_at"] is not None,
        )


def tokenizer_fingerprint() -> str:
    table = sorted(_fold_table().items())
    digest = hashlib.sha256(json.dumps(table).encode()).hexdigest()[:16]
    return f"{TOKENIZER_VERSION}:{digest}"


class Store:
    """The library's database. Open with :meth:`open` (a file) or :meth:`memory`."""

    def __init__(self, db: sqlite_utils.Database):
        self.db = db
        migrations.apply(db)
        self._ensure_index_current()

    @classmethod
    def open(cls, path: str | Path) -> "Store":
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: sqlite-utils' atomic() issues BEGIN/COMMIT itself,
        # and single statements commit at once, so readers in other processes
        # (the CLI while the bot runs) never wait on a forgotten transaction.
        conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(sqlite_utils.Database(conn))

    @classmethod
    def memory(cls) -> "Store":
        conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA foreign_keys=ON")
        return cls(sqlite_utils.Database(conn))

    def close(self) -> None:
        self.db.close()

    # -- meta ---------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db["meta"].upsert({"key": key, "value": value}, pk="key")

    def _ensure_index_current(self) -> None:
        fingerprint = tokenizer_fingerprint()
        stored = self.get_meta("tokenizer")
        if stored == fingerprint:
            return
        if stored is not None:
            self.rebuild_index()
        self.set_meta("tokenizer", fingerprint)

    def rebuild_index(self) -> None:
        """Re-tokenize every live document (after a change of normalization)."""
        with self.db.atomic():
            self.db.execute("INSERT INTO documents_fts(documents_fts) VALUES('delete-all')")
            self.db.execute("INSERT INTO titles_fts(titles_fts) VALUES('delete-all')")
            for row in self.db.query("SELECT id, title, body FROM documents WHERE deleted_at IS NULL"):
                self._index(row["id"], row["title"], row["body"])

    # -- documents ------------------------------------------------------------

    def _index(self, document_id: int, title: str, body: str) -> None:
        title_tokens = index_tokens(title)
        self.db.execute(
            "INSERT INTO documents_fts(rowid, title, body) VALUES (?, ?, ?)",
            [document_id, title_tokens, index_tokens(body)],
        )
        self.db.execute("INSERT INTO titles_fts(rowid, title) VALUES (?, ?)", [document_id, title_tokens])

    def add_document(self, document: NewDocument, now: datetime) -> int:
        """Insert a document with its index entries, all or nothing."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO documents (title, category, keywords, body, chars, content_hash,"
                " source, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    document.title,
                    document.category,
                    json.dumps(list(document.keywords), ensure_ascii=False),
                    document.body,
                    len(document.body),
                    document.content_hash,
                    document.source,
                    utc_text(now),
                ],
            )
            document_id = cursor.lastrowid
            self._index(document_id, document.title, document.body)
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO sketches (value, document_id) VALUES (?, ?)",
                [(value, document_id) for value in document.sketch],
            )
        return document_id

    def document_id_by_hash(self, content_hash: str) -> int | None:
        row = self.db.execute("SELECT id FROM documents WHERE content_hash = ?", [content_hash]).fetchone()
        return row[0] if row else None

    def sketches_sharing(
        self, values: Iterable[int], min_shared: int, limit: int = 20
    ) -> dict[int, tuple[int, ...]]:
        """Sketches of the (at most ``limit``) live documents sharing most values with ``values``."""
        values = list(values)
        if not values:
            return {}
        placeholders = ", ".join("?" for _ in values)
        rows = self.db.execute(
            "WITH candidates AS ("
            "  SELECT s.document_id FROM sketches s JOIN documents d ON d.id = s.document_id"
            f"  WHERE s.value IN ({placeholders}) AND d.deleted_at IS NULL"
            "  GROUP BY s.document_id HAVING count(*) >= ? ORDER BY count(*) DESC LIMIT ?)"
            " SELECT document_id, value FROM sketches WHERE document_id IN (SELECT document_id FROM candidates)",
            [*values, min_shared, limit],
        ).fetchall()
        found: dict[int, list[int]] = {}
        for document_id, value in rows:
            found.setdefault(document_id, []).append(value)
        return {document_id: tuple(sorted(found_values)) for document_id, found_values in found.items()}

    def get_document(self, document_id: int, *, include_deleted: bool = False) -> StoredDocument | None:
        sql = "SELECT * FROM documents WHERE id = ?"
        if not include_deleted:
            sql += " AND deleted_at IS NULL"
        rows = list(self.db.query(sql, [document_id]))
        return StoredDocument.from_row(rows[0]) if rows else None

    def get_documents(self, ids: Iterable[int]) -> dict[int, StoredDocument]:
        ids = list(ids)
        if not ids:
            return {}
        placeholders = ", ".join("?" for _ in ids)
        rows = self.db.query(
            f"SELECT * FROM documents WHERE id IN ({placeholders}) AND deleted_at IS NULL", ids
        )
        return {row["id"]: StoredDocument.from_row(row) for row in rows}

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        ids = list(ids)
        if not ids:
            return {}
        placeholders = ", ".join("?" for _ in ids)
        rows = self.db.execute(f"SELECT id, title FROM documents WHERE id IN ({placeholders})", ids)
        return dict(rows.fetchall())

    def latest_documents(self, limit: int, category: str | None = None) -> list[StoredDocument]:
        where = "deleted_at IS NULL"
        params: list = []
        if category is not None:
            where += " AND category = ?"
            params.append(category)
        rows = self.db.query(
            f"SELECT * FROM documents WHERE {where} ORDER BY id DESC LIMIT ?", [*params, limit]
        )
        return [StoredDocument.from_row(row) for row in rows]

    def category_counts(self) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT category, count(*) FROM documents WHERE deleted_at IS NULL"
            " GROUP BY category ORDER BY count(*) DESC, category"
        )
        return [(row[0], row[1]) for row in rows.fetchall()]

    def document_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM documents WHERE deleted_at IS NULL").fetchone()[0]

    def iter_documents(self) -> Iterator[StoredDocument]:
        for row in self.db.query("SELECT * FROM documents WHERE deleted_at IS NULL ORDER BY id"):
            yield StoredDocument.from_row(row)

    # -- search ---------------------------------------------------------------

    def ranked_window(self, expression: str, *, titles_only: bool, window: int) -> list[tuple[int, float]]:
        """The newest ``window`` matches of an FTS5 expression with their bm25 scores.

        Lower scores are better (FTS5's convention). Scanning newest-first and
        stopping at ``window`` bounds the work of a word found in every document.
        """
        if titles_only:
            sql = (
                "SELECT rowid, bm25(titles_fts) FROM titles_fts WHERE titles_fts MATCH ?"
                " ORDER BY rowid DESC LIMIT ?"
            )
        else:
            sql = (
                "SELECT rowid, bm25(documents_fts, 10.0, 1.0) FROM documents_fts"
                " WHERE documents_fts MATCH ? ORDER BY rowid DESC LIMIT ?"
            )
        return [(row[0], row[1]) for row in self.db.execute(sql, [expression, window]).fetchall()]

    def matching_ids(self, expression: str) -> list[int]:
        """Every document matching an FTS5 expression (no ranking, no window)."""
        rows = self.db.execute("SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?", [expression])
        return [row[0] for row in rows.fetchall()]

    def similar_titles(self, expression: str, limit: int) -> list[tuple[int, str]]:
        rows = self.db.execute(
            "SELECT d.id, d.title FROM titles_fts JOIN documents d ON d.id = titles_fts.rowid"
            " WHERE titles_fts MATCH ? ORDER BY bm25(titles_fts) LIMIT ?",
            [expression, limit],
        )
        return [(row[0], row[1]) for row in rows.fetchall()]

    def log_search(
        self,
        *,
        now: datetime,
        origin: str,
        user_id: str | None,
        group_id: str | None,
        query: str,
        terms: list[str],
        hits: int,
    ) -> None:
        self.db["searches"].insert(
            {
                "at": utc_text(now),
                "user_id": user_id,
                "group_id": group_id,
                "origin": origin,
                "query": query,
                "terms": json.dumps(terms, ensure_ascii=False),
                "hits": hits,
            }
        )

    # -- statistics -----------------------------------------------------------

    def search_count_since(self, since: datetime) -> int:
        return self.db.execute("SELECT count(*) FROM searches WHERE at >= ?", [utc_text(since)]).fetchone()[0]

    def top_search_terms(self, since: datetime, limit: int) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT j.value AS term, count(*) AS n FROM searches s, json_each(s.terms) j"
            " WHERE s.at >= ? GROUP BY j.value ORDER BY n DESC, term LIMIT ?",
            [utc_text(since), limit],
        )
        return [(row[0], row[1]) for row in rows.fetchall()]

    def top_missed_terms(self, since: datetime, limit: int) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT j.value AS term, count(*) AS n FROM searches s, json_each(s.terms) j"
            " WHERE s.at >= ? AND s.hits = 0 GROUP BY j.value ORDER BY n DESC, term LIMIT ?",
            [utc_text(since), limit],
        )
        return [(row[0], row[1]) for row in rows.fetchall()]
