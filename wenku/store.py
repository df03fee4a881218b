"""Every SQL statement of the project, behind one class wrapping sqlite-utils.

The schema is built by ``sqlite_utils.Migrations``; writes that touch more
than one table run inside one transaction (:meth:`Store.write`) so that a crash or a kill leaves
either all of a change or none of it.

Full-text search uses two contentless FTS5 tables filled with the bigram
tokens of :mod:`wenku.textnorm`: ``documents_fts`` (title and body, for
matching) and ``titles_fts`` (titles only, small, so that title hits are
cheap to find however common the word is). Contentless keeps the index at
the size of the tokens' positions instead of a second copy of every text.
"""

from __future__ import annotations

import contextlib
import functools
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


@migrations()
def m002_members(db: sqlite_utils.Database) -> None:
    db["members"].create(
        {
            "user_id": str,
            "started_at": str,
            "valid_until": str,  # NULL with lifetime = 1
            "lifetime": int,
            "source": str,  # admin, code, report
            "updated_at": str,
        },
        pk="user_id",
        not_null={"started_at", "lifetime", "source", "updated_at"},
    )
    db["member_events"].create(
        {
            "id": int,
            "user_id": str,
            "at": str,
            "action": str,  # grant, extend, cancel, redeem, reward, revoke
            "duration": str,
            "before_until": str,
            "after_until": str,
            "actor": str,
            "note": str,
        },
        pk="id",
    )
    db["member_events"].create_index(["user_id", "at"])
    db["codes"].create(
        {
            "id": int,
            "code_hash": str,
            "duration": str,
            "created_at": str,
            "created_by": str,
            "used_at": str,
            "used_by": str,
            "voided_at": str,
            "voided_by": str,
        },
        pk="id",
        not_null={"code_hash", "duration", "created_at"},
    )
    db["codes"].create_index(["code_hash"], unique=True)
    db["redeem_failures"].create({"id": int, "user_id": str, "at": str}, pk="id")
    db["redeem_failures"].create_index(["user_id", "at"])
    db["blacklist"].create(
        {"user_id": str, "reason": str, "at": str, "actor": str}, pk="user_id", not_null={"at"}
    )
    db["deliveries"].create(
        {
            "id": int,
            "user_id": str,
            "document_id": int,
            "at": str,
            "format": str,  # text or file
            "group_id": str,  # where it was asked for; NULL in private chat
            "status": str,  # pending, sent, failed
        },
        pk="id",
        foreign_keys=[("document_id", "documents", "id")],
        not_null={"user_id", "document_id", "at", "format", "status"},
    )
    db["deliveries"].create_index(["user_id", "at"])
    db["deliveries"].create_index(["document_id", "at"])
    # One row per notice or removal already done, so the daily job never repeats one.
    db["member_notices"].create(
        {"user_id": str, "kind": str, "valid_until": str, "at": str},
        pk=("user_id", "kind", "valid_until"),
    )
    db["pending_removals"].create(
        {"id": int, "user_id": str, "group_id": int, "due_at": str, "done_at": str},
        pk="id",
    )


@migrations()
def m003_reports(db: sqlite_utils.Database) -> None:
    db["reports"].create(
        {
            "id": int,
            "reporter": str,
            "reported": str,
            "text": str,
            "status": str,  # open, approved, rejected
            "created_at": str,
            "group_id": str,
            "decided_at": str,
            "decided_by": str,
            "reason": str,
        },
        pk="id",
        not_null={"reporter", "reported", "status", "created_at"},
    )
    db["reports"].create_index(["status"])
    db["reports"].create_index(["reporter", "created_at"])
    db["report_evidence"].create(
        {"id": int, "report_id": int, "url": str, "path": str, "error": str, "bytes": int},
        pk="id",
        foreign_keys=[("report_id", "reports", "id")],
    )
    db["report_evidence"].create_index(["report_id"])
    # Who did what to whom: reports, bans, rewards. 溯源 and 查会员 show it.
    db["audit"].create(
        {"id": int, "at": str, "actor": str, "action": str, "user_id": str, "report_id": int, "detail": str},
        pk="id",
        not_null={"at", "action"},
    )
    db["audit"].create_index(["user_id", "at"])


@migrations()
def m004_sketch_lookup(db: sqlite_utils.Database) -> None:
    # Near-duplicate checks read candidates' whole sketches by document: without
    # this index every import scanned the table, and imports slowed as it grew.
    db.execute("CREATE INDEX IF NOT EXISTS sketches_by_document ON sketches(document_id)")


@migrations()
def m005_sharing(db: sqlite_utils.Database) -> None:
    db["subscriptions"].create(
        {"user_id": str, "term": str, "created_at": str}, pk=("user_id", "term"), not_null={"created_at"}
    )
    db["subscriptions"].create_index(["term"])
    # One row per subscriber and document: a new document reaches each subscriber once.
    db["subscription_notices"].create(
        {"user_id": str, "document_id": int, "term": str, "at": str}, pk=("user_id", "document_id")
    )
    db["subscription_notices"].create_index(["user_id", "at"])
    db["push_log"].create(
        {"id": int, "kind": str, "document_id": int, "at": str, "actor": str},
        pk="id",
        not_null={"kind", "at"},
    )
    db["push_log"].create_index(["kind", "at"])


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


@functools.lru_cache(maxsize=1)
def tokenizer_fingerprint() -> str:
    # Cached: every Store.open checks it, and an upload opens a store for its import.
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

    @contextlib.contextmanager
    def write(self) -> Iterator["Store"]:
        """A transaction that takes the write lock first (BEGIN IMMEDIATE).

        sqlite-utils' ``atomic()`` begins a deferred transaction: one that reads
        and then writes fails at once with "database is locked" when another
        connection (the CLI while the bot runs) wrote in between, instead of
        waiting its turn. Inside an open transaction this is ``atomic()``'s savepoint.
        """
        if self.db.conn.in_transaction:
            with self.db.atomic():
                yield self
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")

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
        with self.write():
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
        with self.write():
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

    def _unindex(self, document_id: int, title: str, body: str) -> None:
        # Contentless FTS5 forgets a row only when given the tokens it was indexed with.
        title_tokens = index_tokens(title)
        self.db.execute(
            "INSERT INTO documents_fts(documents_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            [document_id, title_tokens, index_tokens(body)],
        )
        self.db.execute(
            "INSERT INTO titles_fts(titles_fts, rowid, title) VALUES ('delete', ?, ?)", [document_id, title_tokens]
        )

    def set_deleted(self, document_id: int, now: datetime | None) -> bool:
        """Hide a document from search and pushes (now given), or bring it back (None).

        False if it is unknown or already in that state.
        """
        with self.write():
            row = self.db.execute(
                "SELECT title, body, deleted_at FROM documents WHERE id = ?", [document_id]
            ).fetchone()
            if row is None or (row[2] is None) == (now is None):
                return False
            if now is None:
                self._index(document_id, row[0], row[1])
            else:
                self._unindex(document_id, row[0], row[1])
            self.db.execute(
                "UPDATE documents SET deleted_at = ? WHERE id = ?", [utc_text(now) if now else None, document_id]
            )
        return True

    def set_title(self, document_id: int, title: str) -> bool:
        with self.write():
            row = self.db.execute(
                "SELECT title, body FROM documents WHERE id = ? AND deleted_at IS NULL", [document_id]
            ).fetchone()
            if row is None:
                return False
            self._unindex(document_id, row[0], row[1])
            self._index(document_id, title, row[1])
            self.db.execute("UPDATE documents SET title = ? WHERE id = ?", [title, document_id])
        return True

    def set_category(self, document_id: int, category: str) -> bool:
        return (
            self.db.execute(
                "UPDATE documents SET category = ? WHERE id = ? AND deleted_at IS NULL", [category, document_id]
            ).rowcount
            == 1
        )

    def documents_since(self, since: datetime, limit: int = 50) -> list[StoredDocument]:
        rows = self.db.query(
            "SELECT * FROM documents WHERE deleted_at IS NULL AND imported_at >= ? ORDER BY id DESC LIMIT ?",
            [utc_text(since), limit],
        )
        return [StoredDocument.from_row(row) for row in rows]

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
            # Group first, then check deletion for the few documents left: joining
            # every sketch row to documents read each body's pages (deleted_at sits after it).
            "WITH shared AS ("
            f"  SELECT document_id, count(*) AS n FROM sketches WHERE value IN ({placeholders})"
            "  GROUP BY document_id HAVING count(*) >= ?),"
            " candidates AS ("
            "  SELECT shared.document_id FROM shared JOIN documents d ON d.id = shared.document_id"
            "  WHERE d.deleted_at IS NULL ORDER BY shared.n DESC LIMIT ?)"
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

    def count_matches(self, expression: str, cap: int) -> int:
        """How many documents match, counting at most ``cap`` (newest first, no scoring)."""
        return self.db.execute(
            "SELECT count(*) FROM (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ?"
            " ORDER BY rowid DESC LIMIT ?)",
            [expression, cap],
        ).fetchone()[0]

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

    # -- members ----------------------------------------------------------------

    def get_member(self, user_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM members WHERE user_id = ?", [user_id]))
        return rows[0] if rows else None

    def save_member(self, row: dict) -> None:
        self.db["members"].upsert(row, pk="user_id")

    def add_member_event(self, **event) -> None:
        self.db["member_events"].insert(event)

    def member_events(self, user_id: str, limit: int = 20) -> list[dict]:
        return list(
            self.db.query(
                "SELECT * FROM member_events WHERE user_id = ? ORDER BY id DESC LIMIT ?", [user_id, limit]
            )
        )

    def members(self, *, active_at: datetime | None = None, expiring_before: datetime | None = None) -> list[dict]:
        """Members, optionally only those active at a time and ending before another."""
        where, params = ["1"], []
        if active_at is not None:
            where.append("(lifetime = 1 OR valid_until > ?)")
            params.append(utc_text(active_at))
        if expiring_before is not None:
            where.append("lifetime = 0 AND valid_until <= ?")
            params.append(utc_text(expiring_before))
        return list(
            self.db.query(
                f"SELECT * FROM members WHERE {' AND '.join(where)}"
                " ORDER BY lifetime, valid_until, user_id",
                params,
            )
        )

    def expired_members(self, now: datetime) -> list[dict]:
        return list(
            self.db.query(
                "SELECT * FROM members WHERE lifetime = 0 AND valid_until <= ? ORDER BY valid_until",
                [utc_text(now)],
            )
        )

    # -- blacklist ----------------------------------------------------------------

    def blacklist_entry(self, user_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM blacklist WHERE user_id = ?", [user_id]))
        return rows[0] if rows else None

    def add_to_blacklist(self, user_id: str, reason: str, actor: str, now: datetime) -> None:
        self.db["blacklist"].upsert(
            {"user_id": user_id, "reason": reason, "at": utc_text(now), "actor": actor}, pk="user_id"
        )

    def remove_from_blacklist(self, user_id: str) -> bool:
        return self.db.execute("DELETE FROM blacklist WHERE user_id = ?", [user_id]).rowcount == 1

    def blacklist(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM blacklist ORDER BY at DESC"))

    # -- redeem codes --------------------------------------------------------------

    def add_code(self, code_hash: str, duration: str, now: datetime, actor: str) -> int:
        return self.db["codes"].insert(
            {"code_hash": code_hash, "duration": duration, "created_at": utc_text(now), "created_by": actor}
        ).last_pk

    def claim_code(self, code_hash: str, user_id: str, now: datetime) -> dict | None:
        """Mark a usable code used by ``user_id``; None if it is unknown, used or void.

        One UPDATE guarded by ``used_at IS NULL``: of two simultaneous claims
        SQLite's write lock lets exactly one change the row.
        """
        changed = self.db.execute(
            "UPDATE codes SET used_at = ?, used_by = ? WHERE code_hash = ? AND used_at IS NULL AND voided_at IS NULL",
            [utc_text(now), user_id, code_hash],
        ).rowcount
        if changed != 1:
            return None
        return self.code_by_hash(code_hash)

    def code_by_hash(self, code_hash: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM codes WHERE code_hash = ?", [code_hash]))
        return rows[0] if rows else None

    def code_by_id(self, code_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM codes WHERE id = ?", [code_id]))
        return rows[0] if rows else None

    def void_code(self, code_id: int, now: datetime, actor: str) -> bool:
        return (
            self.db.execute(
                "UPDATE codes SET voided_at = ?, voided_by = ? WHERE id = ? AND used_at IS NULL AND voided_at IS NULL",
                [utc_text(now), actor, code_id],
            ).rowcount
            == 1
        )

    def codes(self, limit: int = 50) -> list[dict]:
        return list(self.db.query("SELECT * FROM codes ORDER BY id DESC LIMIT ?", [limit]))

    def record_redeem_failure(self, user_id: str, now: datetime) -> None:
        self.db["redeem_failures"].insert({"user_id": user_id, "at": utc_text(now)})

    def redeem_failures_since(self, user_id: str, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM redeem_failures WHERE user_id = ? AND at >= ?", [user_id, utc_text(since)]
        ).fetchone()[0]

    # -- deliveries -------------------------------------------------------------------

    def add_delivery(self, *, user_id: str, document_id: int, now: datetime, format: str, group_id: str | None) -> int:
        return self.db["deliveries"].insert(
            {
                "user_id": user_id,
                "document_id": document_id,
                "at": utc_text(now),
                "format": format,
                "group_id": group_id,
                "status": "pending",
            }
        ).last_pk

    def set_delivery_status(self, delivery_id: int, status: str) -> None:
        self.db.execute("UPDATE deliveries SET status = ? WHERE id = ?", [status, delivery_id])

    def delivery(self, delivery_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM deliveries WHERE id = ?", [delivery_id]))
        return rows[0] if rows else None

    def deliveries_counted_since(self, user_id: str, since: datetime) -> int:
        """Deliveries that count against the quota: sent (wholly or partly), or being sent right now."""
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE user_id = ? AND at >= ? AND status IN ('sent', 'partial', 'pending')",
            [user_id, utc_text(since)],
        ).fetchone()[0]

    def deliveries_of_document(self, document_id: int, limit: int = 20) -> list[dict]:
        return list(
            self.db.query(
                "SELECT * FROM deliveries WHERE document_id = ? AND status IN ('sent', 'partial')"
                " ORDER BY at DESC, id DESC LIMIT ?",
                [document_id, limit],
            )
        )

    def delivery_count_since(self, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM deliveries WHERE at >= ? AND status IN ('sent', 'partial')", [utc_text(since)]
        ).fetchone()[0]

    # -- notices and removals ---------------------------------------------------------

    def notice_done(self, user_id: str, kind: str, valid_until: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM member_notices WHERE user_id = ? AND kind = ? AND valid_until = ?",
                [user_id, kind, valid_until],
            ).fetchone()
            is not None
        )

    def record_notice(self, user_id: str, kind: str, valid_until: str, now: datetime) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO member_notices (user_id, kind, valid_until, at) VALUES (?, ?, ?, ?)",
            [user_id, kind, valid_until, utc_text(now)],
        )

    def forget_notice(self, user_id: str, kind: str, valid_until: str) -> None:
        self.db.execute(
            "DELETE FROM member_notices WHERE user_id = ? AND kind = ? AND valid_until = ?", [user_id, kind, valid_until]
        )

    def schedule_removal(self, user_id: str, group_id: int, due: datetime) -> None:
        self.db["pending_removals"].insert({"user_id": user_id, "group_id": group_id, "due_at": utc_text(due)})

    def due_removals(self, now: datetime) -> list[dict]:
        return list(
            self.db.query(
                "SELECT * FROM pending_removals WHERE done_at IS NULL AND due_at <= ? ORDER BY due_at",
                [utc_text(now)],
            )
        )

    def finish_removal(self, removal_id: int, now: datetime) -> None:
        self.db.execute("UPDATE pending_removals SET done_at = ? WHERE id = ?", [utc_text(now), removal_id])

    # -- reports and audit ------------------------------------------------------------

    def add_report(self, *, reporter: str, reported: str, text: str, group_id: str | None, now: datetime) -> int:
        return self.db["reports"].insert(
            {
                "reporter": reporter,
                "reported": reported,
                "text": text,
                "status": "open",
                "created_at": utc_text(now),
                "group_id": group_id,
            }
        ).last_pk

    def add_evidence(self, report_id: int, url: str, path: str | None, error: str | None, size: int | None) -> None:
        self.db["report_evidence"].insert(
            {"report_id": report_id, "url": url, "path": path, "error": error, "bytes": size}
        )

    def evidence(self, report_id: int) -> list[dict]:
        return list(self.db.query("SELECT * FROM report_evidence WHERE report_id = ? ORDER BY id", [report_id]))

    def report(self, report_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM reports WHERE id = ?", [report_id]))
        return rows[0] if rows else None

    def reports(self, status: str | None = "open", limit: int = 20) -> list[dict]:
        if status is None:
            return list(self.db.query("SELECT * FROM reports ORDER BY id DESC LIMIT ?", [limit]))
        return list(
            self.db.query("SELECT * FROM reports WHERE status = ? ORDER BY id LIMIT ?", [status, limit])
        )

    def reports_by_since(self, reporter: str, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM reports WHERE reporter = ? AND created_at >= ?", [reporter, utc_text(since)]
        ).fetchone()[0]

    def decide_report(self, report_id: int, status: str, actor: str, reason: str | None, now: datetime) -> bool:
        """Close an open report; False if it was not open (decided already, or unknown)."""
        return (
            self.db.execute(
                "UPDATE reports SET status = ?, decided_by = ?, decided_at = ?, reason = ?"
                " WHERE id = ? AND status = 'open'",
                [status, actor, utc_text(now), reason, report_id],
            ).rowcount
            == 1
        )

    def open_report_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM reports WHERE status = 'open'").fetchone()[0]

    def add_audit(
        self, *, now: datetime, actor: str, action: str, user_id: str | None, report_id: int | None = None, detail: str = ""
    ) -> None:
        self.db["audit"].insert(
            {
                "at": utc_text(now),
                "actor": actor,
                "action": action,
                "user_id": user_id,
                "report_id": report_id,
                "detail": detail,
            }
        )

    def audit_of(self, user_id: str, limit: int = 20) -> list[dict]:
        return list(
            self.db.query("SELECT * FROM audit WHERE user_id = ? ORDER BY id DESC LIMIT ?", [user_id, limit])
        )

    # -- the web console ---------------------------------------------------------------

    def daily_counts(self, what: str, since: datetime, utc_offset_minutes: int) -> dict[str, int]:
        """Per local day (YYYY-MM-DD) since ``since``: searches, full texts sent, or memberships started.

        A membership "starts" when a grant, code, reward or renewal finds no active
        membership: the event has no previous end, or that end had already passed.
        """
        day = f"substr(datetime(at, '{int(utc_offset_minutes):+d} minutes'), 1, 10)"
        sql = {
            "searches": f"SELECT {day} AS day, count(*) FROM searches WHERE at >= ? GROUP BY day",
            "fulltexts": f"SELECT {day} AS day, count(*) FROM deliveries"
            " WHERE at >= ? AND status IN ('sent', 'partial') GROUP BY day",
            "members": f"SELECT {day} AS day, count(*) FROM member_events WHERE at >= ?"
            " AND action IN ('grant', 'extend', 'redeem', 'reward')"
            " AND (before_until IS NULL OR (before_until LIKE '____-%' AND before_until <= at)) GROUP BY day",
        }[what]
        return dict(self.db.execute(sql, [utc_text(since)]).fetchall())

    def member_listing(
        self, status: str, now: datetime, *, expiring_before: datetime, query: str = "", limit: int = 200
    ) -> list[dict]:
        """Members (and blacklisted numbers) for the console: active, expiring, expired, blacklisted or all.

        Each row has the membership columns (NULL for a number that never had one)
        and ``blacklist_reason`` (NULL unless blacklisted).
        """
        moment, soon = utc_text(now), utc_text(expiring_before)
        where = {
            "active": ("(m.lifetime = 1 OR m.valid_until > ?)", [moment]),
            "expiring": ("m.lifetime = 0 AND m.valid_until > ? AND m.valid_until <= ?", [moment, soon]),
            "expired": ("m.lifetime = 0 AND m.valid_until <= ?", [moment]),
            "blacklisted": ("b.user_id IS NOT NULL", []),
            "all": ("1", []),
        }[status]
        clause, params = where
        # Soonest end first while it matters, the latest lapse or ban first after that.
        order = {
            "expired": "m.valid_until DESC",
            "blacklisted": "b.at DESC",
        }.get(status, "m.lifetime IS NULL, m.lifetime, m.valid_until")
        if query:
            clause += " AND u.user_id LIKE ?"
            params = [*params, f"%{query}%"]
        return list(
            self.db.query(
                "SELECT u.user_id, m.started_at, m.valid_until, m.lifetime, m.source, m.updated_at,"
                " b.reason AS blacklist_reason, b.at AS blacklisted_at"
                " FROM (SELECT user_id FROM members UNION SELECT user_id FROM blacklist) u"
                " LEFT JOIN members m ON m.user_id = u.user_id"
                " LEFT JOIN blacklist b ON b.user_id = u.user_id"
                f" WHERE {clause} ORDER BY {order}, u.user_id LIMIT ?",
                [*params, limit],
            )
        )

    def document_listing(
        self, *, category: str | None = None, deleted: bool = False, offset: int = 0, limit: int = 50
    ) -> tuple[list[StoredDocument], int]:
        """A page of documents, newest first, and how many there are in all (deleted ones only if asked)."""
        where = "deleted_at IS NOT NULL" if deleted else "deleted_at IS NULL"
        params: list = []
        if category:
            where += " AND category = ?"
            params.append(category)
        total = self.db.execute(f"SELECT count(*) FROM documents WHERE {where}", params).fetchone()[0]
        rows = self.db.query(
            f"SELECT * FROM documents WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?", [*params, limit, offset]
        )
        return [StoredDocument.from_row(row) for row in rows], total

    def ids_in_category(self, ids: Iterable[int], category: str) -> set[int]:
        ids = list(ids)
        if not ids:
            return set()
        placeholders = ", ".join("?" for _ in ids)
        rows = self.db.execute(
            f"SELECT id FROM documents WHERE category = ? AND id IN ({placeholders})", [category, *ids]
        )
        return {row[0] for row in rows.fetchall()}

    def deliveries_of_member(self, user_id: str, limit: int = 20) -> list[dict]:
        return list(
            self.db.query(
                "SELECT d.*, doc.title FROM deliveries d LEFT JOIN documents doc ON doc.id = d.document_id"
                " WHERE d.user_id = ? ORDER BY d.id DESC LIMIT ?",
                [user_id, limit],
            )
        )

    # -- statistics for admins ---------------------------------------------------------

    def top_receivers(self, since: datetime, limit: int) -> list[tuple[str, int]]:
        rows = self.db.execute(
            "SELECT user_id, count(*) AS n FROM deliveries WHERE at >= ? AND status IN ('sent', 'partial')"
            " GROUP BY user_id ORDER BY n DESC, user_id LIMIT ?",
            [utc_text(since), limit],
        )
        return [(row[0], row[1]) for row in rows.fetchall()]

    def receivers_count(self, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(DISTINCT user_id) FROM deliveries WHERE at >= ? AND status IN ('sent', 'partial')",
            [utc_text(since)],
        ).fetchone()[0]

    # -- backups --------------------------------------------------------------------------

    def backup_to(self, path: Path) -> None:
        """A consistent copy of the whole database, taken while others read and write it.

        VACUUM INTO writes one read transaction's snapshot: every committed
        document is in it, nothing half-written is.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db.execute("VACUUM INTO ?", [str(path)])

    # -- subscriptions and pushes ----------------------------------------------------------

    def subscriptions_of(self, user_id: str) -> list[str]:
        rows = self.db.execute("SELECT term FROM subscriptions WHERE user_id = ? ORDER BY created_at, term", [user_id])
        return [row[0] for row in rows.fetchall()]

    def add_subscription(self, user_id: str, term: str, now: datetime) -> bool:
        return (
            self.db.execute(
                "INSERT OR IGNORE INTO subscriptions (user_id, term, created_at) VALUES (?, ?, ?)",
                [user_id, term, utc_text(now)],
            ).rowcount
            == 1
        )

    def remove_subscription(self, user_id: str, term: str) -> bool:
        return (
            self.db.execute("DELETE FROM subscriptions WHERE user_id = ? AND term = ?", [user_id, term]).rowcount == 1
        )

    def all_subscriptions(self) -> list[tuple[str, str]]:
        # In subscription order, so a document matching two of a member's words names the first.
        rows = self.db.execute("SELECT user_id, term FROM subscriptions ORDER BY user_id, created_at, term")
        return [(row[0], row[1]) for row in rows.fetchall()]

    def claim_subscription_notice(self, user_id: str, document_id: int, term: str, now: datetime) -> bool:
        """Record that a subscriber is told of a document; False if they were already."""
        return (
            self.db.execute(
                "INSERT OR IGNORE INTO subscription_notices (user_id, document_id, term, at) VALUES (?, ?, ?, ?)",
                [user_id, document_id, term, utc_text(now)],
            ).rowcount
            == 1
        )

    def release_subscription_notice(self, user_id: str, document_id: int) -> None:
        self.db.execute(
            "DELETE FROM subscription_notices WHERE user_id = ? AND document_id = ?", [user_id, document_id]
        )

    def subscription_notices_since(self, user_id: str, since: datetime) -> int:
        return self.db.execute(
            "SELECT count(*) FROM subscription_notices WHERE user_id = ? AND at >= ?", [user_id, utc_text(since)]
        ).fetchone()[0]

    def log_push(self, kind: str, document_id: int | None, now: datetime, actor: str) -> None:
        self.db["push_log"].insert({"kind": kind, "document_id": document_id, "at": utc_text(now), "actor": actor})

    def last_pushed(self, kind: str) -> int | None:
        row = self.db.execute(
            "SELECT document_id FROM push_log WHERE kind = ? ORDER BY id DESC LIMIT 1", [kind]
        ).fetchone()
        return row[0] if row else None

    def last_push_at(self, kind: str) -> datetime | None:
        row = self.db.execute("SELECT at FROM push_log WHERE kind = ? ORDER BY id DESC LIMIT 1", [kind]).fetchone()
        return datetime.fromisoformat(row[0]) if row else None
