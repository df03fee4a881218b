"""Full texts for members: quota, the delivery log, watermarks, and tracing a leaked copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from . import texts
from .docx_export import fulltext_docx
from .errors import DocumentNotFound, QuotaExhausted
from .search import match_expression
from .stats import start_of_day
from .store import Store, StoredDocument
from .textnorm import drop_invisible, normalize, term_match_expression, word_runs
from .watermark import find_marks, mark_text, mask_qq

__all__ = ["Delivery", "quota_left", "prepare_delivery", "finish_delivery", "TraceResult", "trace"]


@dataclass(frozen=True)
class Delivery:
    id: int
    document: StoredDocument
    format: str  # text or file
    text: str  # visible line, then the marked title and body
    docx: bytes | None = None

    @property
    def filename(self) -> str:
        safe = "".join(char for char in self.document.title if char not in '\\/:*?"<>|').strip() or texts.DOCUMENT_FILE_STEM
        return f"{safe[:40]}_{self.id}.docx"


def quota_left(store: Store, user_id: str, now: datetime, daily_limit: int) -> int:
    return max(0, daily_limit - store.deliveries_counted_since(user_id, start_of_day(now)))


def prepare_delivery(
    store: Store,
    *,
    user_id: str,
    document_id: int,
    format: str,
    now: datetime,
    secret: str,
    daily_limit: int,
    group_id: str | None = None,
) -> Delivery:
    """Log a pending delivery and build its watermarked text (and .docx); raises when not allowed."""
    document = store.get_document(document_id)
    if document is None:
        raise DocumentNotFound(document_id)
    # Check and claim the quota in one write transaction: two requests at once cannot both pass.
    with store.write():
        if quota_left(store, user_id, now, daily_limit) <= 0:
            raise QuotaExhausted(daily_limit)
        delivery_id = store.add_delivery(
            user_id=user_id, document_id=document_id, now=now, format=format, group_id=group_id
        )
    visible = texts.watermark_line(mask_qq(user_id), delivery_id)
    marked = mark_text(f"{document.title}\n{document.body}", delivery_id=delivery_id, secret=secret)
    text = f"{visible}\n{marked}\n{visible}"
    docx = None
    if format == "file":
        title, _, body = marked.partition("\n")
        docx = fulltext_docx(title, body, visible, moment=now)
    return Delivery(id=delivery_id, document=document, format=format, text=text, docx=docx)


def finish_delivery(store: Store, delivery_id: int, sent: bool, *, partial: bool = False) -> None:
    """Record the outcome. Nothing delivered does not count against the quota; a partial
    delivery does (the member holds part of the text) and is kept in the log for tracing."""
    store.set_delivery_status(delivery_id, "sent" if sent else "partial" if partial else "failed")


@dataclass(frozen=True)
class TraceResult:
    deliveries: list[dict] = field(default_factory=list)  # deliveries named by marks in the text
    unknown_marks: list[int] = field(default_factory=list)  # valid marks with no delivery on record
    document: StoredDocument | None = None  # the document the text comes from
    recipients: list[dict] = field(default_factory=list)  # who received that document, newest first


def _document_by_content(store: Store, text: str) -> StoredDocument | None:
    """The document a pasted fragment comes from, found by its longest runs of text."""
    runs = sorted((run for run in word_runs(normalize(drop_invisible(text))) if len(run) >= 4), key=len, reverse=True)
    if not runs:
        return None
    pieces = [run[:16] for run in runs[:4]]
    for chosen in (pieces, pieces[:2], pieces[:1]):
        ids = store.matching_ids(match_expression(chosen))
        live = store.get_documents(ids[:5])
        if live:
            return live[min(live)]
    votes: dict[int, int] = {}
    for piece in pieces:
        for document_id in store.matching_ids(term_match_expression(piece))[:50]:
            votes[document_id] = votes.get(document_id, 0) + 1
    if not votes:
        return None
    best = max(votes, key=lambda document_id: (votes[document_id], -document_id))
    return store.get_document(best, include_deleted=True)


def trace(store: Store, text: str, secret: str) -> TraceResult:
    """Who a leaked text was sent to: by its watermark, or else by its content."""
    marks = find_marks(text, secret)
    deliveries = [row for delivery_id in marks if (row := store.delivery(delivery_id))]
    unknown = [delivery_id for delivery_id in marks if not any(row["id"] == delivery_id for row in deliveries)]
    if deliveries:
        document = store.get_document(deliveries[0]["document_id"], include_deleted=True)
        return TraceResult(deliveries=deliveries, unknown_marks=unknown, document=document)
    if unknown:
        return TraceResult(unknown_marks=unknown)
    document = _document_by_content(store, text)
    if document is None:
        return TraceResult()
    return TraceResult(document=document, recipients=store.deliveries_of_document(document.id))
