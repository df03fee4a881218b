"""Import files into the library: the one function behind `wenku import` and chat uploads.

A file becomes a document in four steps: read (by type and encoding),
clean (boilerplate out, title found), describe (category, keywords,
fingerprints) and store (one transaction). An exact duplicate of a stored
document is refused; near-duplicates (a second version of a draft) are
imported and reported with their numbers.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import re
import sqlite3
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from . import texts
from .classify import categorize, extract_keywords, merge_rules
from .cleaning import DEFAULT_BOILERPLATE, clean, compile_patterns, recurring_lines
from .errors import UnreadableFile
from .readers import SUPPORTED_SUFFIXES, read_text
from .store import NewDocument, Store
from .textnorm import normalize, word_runs

__all__ = [
    "ImportRules",
    "ImportOutcome",
    "NearDuplicate",
    "import_document",
    "import_paths",
    "collect_files",
    "sketch",
    "estimated_similarity",
]

log = logging.getLogger(__name__)

SKETCH_SIZE = 32
SHINGLE = 4
NEAR_DUPLICATE_SIMILARITY = 0.5
#: How many files of a batch are read first to find lines recurring across it.
RECURRING_SAMPLE = 300


@dataclass(frozen=True)
class ImportRules:
    """What the importer treats as boilerplate and how it assigns categories."""

    boilerplate: tuple[re.Pattern[str], ...] = compile_patterns(DEFAULT_BOILERPLATE)
    categories: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: merge_rules(None))

    @classmethod
    def from_settings(
        cls,
        extra_patterns: Sequence[str] | None = None,
        category_rules: Mapping[str, Sequence[str]] | None = None,
    ) -> "ImportRules":
        """Defaults plus WENKU_BOILERPLATE (regexes) and WENKU_CATEGORY_RULES ({"分类": ["词", ...]})."""
        patterns = [*DEFAULT_BOILERPLATE, *(extra_patterns or [])]
        try:
            compiled = compile_patterns(patterns)
        except re.error as error:
            raise ValueError(f"WENKU_BOILERPLATE has an invalid pattern: {error}") from None
        return cls(boilerplate=compiled, categories=merge_rules(category_rules))


@dataclass(frozen=True)
class NearDuplicate:
    document_id: int
    title: str
    similarity: float


@dataclass(frozen=True)
class ImportOutcome:
    name: str
    status: str  # "imported", "duplicate" or "failed"
    document_id: int | None = None
    title: str = ""
    category: str = ""
    keywords: tuple[str, ...] = ()
    near_duplicates: tuple[NearDuplicate, ...] = ()
    reason: str = ""
    duplicate_of_deleted: bool = False  # the same text was imported and later deleted

    @property
    def imported(self) -> bool:
        return self.status == "imported"


def content_hash(body: str) -> str:
    """Equal for texts that differ only in spacing, punctuation, width or script."""
    return hashlib.sha256("".join(word_runs(normalize(body))).encode()).hexdigest()


def sketch(body: str) -> tuple[int, ...]:
    """Bottom-k MinHash of the document's 4-character shingles."""
    text = "".join(word_runs(normalize(body)))
    shingles = {text[i : i + SHINGLE] for i in range(max(1, len(text) - SHINGLE + 1))}
    hashes = {zlib.crc32(shingle.encode()) for shingle in shingles}
    return tuple(sorted(heapq.nsmallest(SKETCH_SIZE, hashes)))


def estimated_similarity(first: tuple[int, ...], second: tuple[int, ...]) -> float:
    """Jaccard similarity of two documents' shingle sets, estimated from their sketches."""
    union_bottom = heapq.nsmallest(SKETCH_SIZE, set(first) | set(second))
    if not union_bottom:
        return 0.0
    both = set(first) & set(second)
    return sum(1 for value in union_bottom if value in both) / len(union_bottom)


def _near_duplicates(store: Store, signature: tuple[int, ...]) -> tuple[NearDuplicate, ...]:
    candidates = store.sketches_sharing(signature, min_shared=max(2, SKETCH_SIZE // 4))
    found = [
        (similarity, document_id)
        for document_id, other in candidates.items()
        if (similarity := estimated_similarity(signature, other)) >= NEAR_DUPLICATE_SIMILARITY
    ]
    found.sort(reverse=True)
    titles = store.titles(document_id for _, document_id in found[:5])
    return tuple(NearDuplicate(document_id, titles.get(document_id, ""), round(similarity, 2)) for similarity, document_id in found[:5])


def import_document(
    store: Store,
    name: str,
    data: bytes,
    *,
    now: datetime,
    rules: ImportRules | None = None,
    batch_lines: frozenset[str] = frozenset(),
) -> ImportOutcome:
    """Import one file's bytes. Never raises for a bad file: the outcome says why it failed."""
    rules = rules or ImportRules()
    try:
        text = read_text(name, data)
    except UnreadableFile as error:
        return ImportOutcome(name=name, status="failed", reason=error.reason)
    cleaned = clean(text, name, rules.boilerplate, batch_lines)
    if len("".join(word_runs(cleaned.body))) < 20:
        return ImportOutcome(name=name, status="failed", title=cleaned.title, reason=texts.body_too_short())
    digest = content_hash(cleaned.body)
    existing = store.document_id_by_hash(digest)
    if existing is not None:
        return _duplicate(store, name, existing)
    signature = sketch(cleaned.body)
    near = _near_duplicates(store, signature)
    category = categorize(cleaned.title, cleaned.body, rules.categories)
    keywords = extract_keywords(cleaned.title, cleaned.body)
    document = NewDocument(
        title=cleaned.title,
        category=category,
        keywords=keywords,
        body=cleaned.body,
        content_hash=digest,
        sketch=signature,
        source=Path(name).name,
    )
    try:
        document_id = store.add_document(document, now)
    except sqlite3.IntegrityError:
        # Another process imported the same text between our check and our insert.
        existing = store.document_id_by_hash(digest)
        if existing is None:
            raise
        return _duplicate(store, name, existing)
    except sqlite3.OperationalError as error:
        # A full disk (or database) is the operator's to fix, and the write rolled back
        # whole: say so plainly, and the same file imports once there is room again.
        if getattr(error, "sqlite_errorcode", None) != sqlite3.SQLITE_FULL:
            raise
        return ImportOutcome(name=name, status="failed", title=cleaned.title, reason=texts.database_full())
    return ImportOutcome(
        name=name,
        status="imported",
        document_id=document_id,
        title=cleaned.title,
        category=category,
        keywords=keywords,
        near_duplicates=near,
    )


def _duplicate(store: Store, name: str, existing: int) -> ImportOutcome:
    document = store.get_document(existing, include_deleted=True)
    return ImportOutcome(
        name=name,
        status="duplicate",
        document_id=existing,
        title=document.title if document else "",
        reason=texts.same_as_existing(bool(document and document.deleted)),
        duplicate_of_deleted=bool(document and document.deleted),
    )


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and supported files inside folders named, in a stable order."""
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES)
            )
        else:
            files.append(path)
    return files


def _read_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _batch_recurring_lines(files: list[Path]) -> frozenset[str]:
    texts = []
    for path in files[:RECURRING_SAMPLE]:
        try:
            texts.append(read_text(path.name, _read_bytes(path)))
        except (OSError, UnreadableFile):
            continue
    if len(texts) < 3:
        return frozenset()
    return recurring_lines(texts)


def import_paths(
    store: Store,
    paths: Iterable[str | Path],
    *,
    now: datetime,
    rules: ImportRules | None = None,
    on_progress: Callable[[ImportOutcome], None] | None = None,
) -> list[ImportOutcome]:
    """Import files and folders; each file is its own transaction, so a kill loses at most the file in hand."""
    rules = rules or ImportRules()
    files = collect_files(paths)
    batch_lines = _batch_recurring_lines(files)
    outcomes = []
    for path in files:
        try:
            data = _read_bytes(path)
        except OSError as error:
            reason = texts.file_not_readable(str(error.strerror or error))
            outcome = ImportOutcome(name=str(path), status="failed", reason=reason)
        else:
            try:
                outcome = import_document(store, str(path), data, now=now, rules=rules, batch_lines=batch_lines)
            except Exception as error:  # a bug must not cost the rest of the batch
                log.exception("import of %s failed", path)
                reason = texts.import_crashed(type(error).__name__)
                outcome = ImportOutcome(name=str(path), status="failed", reason=reason)
        outcomes.append(outcome)
        if on_progress:
            on_progress(outcome)
    return outcomes
