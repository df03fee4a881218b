"""Real-time sharing: document management, keyword subscriptions and what gets pushed when.

The functions decide; the bot sends. A subscriber's notice is claimed in the
database before it is sent, so a document reaches each subscriber once even
if it is imported while another notice run is still going.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import BadEdit, DocumentNotFound, SubscriptionRefused
from .members import Membership
from .stats import start_of_day
from .store import Store, StoredDocument
from .textnorm import normalize, query_terms

__all__ = [
    "MAX_SUBSCRIPTIONS",
    "SubscriptionRefused",
    "delete_document",
    "restore_document",
    "retitle",
    "recategorize",
    "subscribe",
    "unsubscribe",
    "Notice",
    "claim_notices",
    "pick_recommendation",
    "digest_documents",
]

MAX_SUBSCRIPTIONS = 20
TERM_LENGTH = (2, 20)
TITLE_MAX = 60


def delete_document(store: Store, document_id: int, now: datetime) -> StoredDocument:
    document = store.get_document(document_id, include_deleted=True)
    if document is None or document.deleted or not store.set_deleted(document_id, now):
        raise DocumentNotFound(document_id)
    return document


def restore_document(store: Store, document_id: int) -> StoredDocument:
    document = store.get_document(document_id, include_deleted=True)
    if document is None or not document.deleted or not store.set_deleted(document_id, None):
        raise DocumentNotFound(document_id)
    return store.get_document(document_id)


def _clean_label(text: str, limit: int) -> str:
    label = " ".join(text.split())
    if not label:
        raise BadEdit("empty")
    if len(label) > limit:
        raise BadEdit("too_long")
    return label


def retitle(store: Store, document_id: int, title: str) -> StoredDocument:
    if not store.set_title(document_id, _clean_label(title, TITLE_MAX)):
        raise DocumentNotFound(document_id)
    return store.get_document(document_id)


def recategorize(store: Store, document_id: int, category: str) -> StoredDocument:
    if not store.set_category(document_id, _clean_label(category, 12)):
        raise DocumentNotFound(document_id)
    return store.get_document(document_id)


def _term(text: str) -> str:
    terms = query_terms(text)
    if len(terms) != 1 or not TERM_LENGTH[0] <= len(terms[0]) <= TERM_LENGTH[1]:
        raise SubscriptionRefused("bad_term")
    return terms[0]


def subscribe(store: Store, user_id: str, text: str, now: datetime) -> tuple[str, bool]:
    """Add a keyword; returns it (normalized) and whether it is new."""
    term = _term(text)
    current = store.subscriptions_of(user_id)
    if term not in current and len(current) >= MAX_SUBSCRIPTIONS:
        raise SubscriptionRefused("too_many")
    return term, store.add_subscription(user_id, term, now)


def unsubscribe(store: Store, user_id: str, text: str) -> str:
    term = _term(text)
    if not store.remove_subscription(user_id, term):
        raise SubscriptionRefused("unknown")
    return term


@dataclass(frozen=True)
class Notice:
    user_id: str
    term: str
    document: StoredDocument


def claim_notices(
    store: Store, document: StoredDocument, *, now: datetime, daily_cap: int, admins: Collection[str] = ()
) -> list[Notice]:
    """The subscribers to tell about a new document, each claimed once.

    Only active members (and admins, who may subscribe too), never over ``daily_cap`` notices a day each. The
    caller releases a claim (store.release_subscription_notice) if its send fails.
    """
    text = normalize(document.title) + "\n" + normalize(document.body)
    today = start_of_day(now)
    notices: list[Notice] = []
    by_user: dict[str, str] = {}
    for user_id, term in store.all_subscriptions():
        if user_id not in by_user and term in text:
            by_user[user_id] = term
    for user_id, term in sorted(by_user.items()):
        row = store.get_member(user_id)
        member = row is not None and Membership.from_row(row).active(now) and not store.blacklist_entry(user_id)
        if not (member or user_id in admins):
            continue
        if store.subscription_notices_since(user_id, today) >= daily_cap:
            continue
        if store.claim_subscription_notice(user_id, document.id, term, now):
            notices.append(Notice(user_id, term, document))
    return notices


RECOMMEND_POOL = 30


def pick_recommendation(store: Store, now: datetime) -> StoredDocument | None:
    """Today's document for the free groups: one of the newest, never yesterday's again."""
    last = store.last_pushed("recommend")
    last_at = store.last_push_at("recommend")
    if last is not None and last_at is not None and last_at >= start_of_day(now):
        # Already recommended today: a re-run picks it again rather than a second document.
        today = store.get_document(last)
        if today is not None:
            return today
    pool = store.latest_documents(RECOMMEND_POOL)
    candidates = [document for document in pool if document.id != last] or pool
    if not candidates:
        return None
    # Stable for a given day (a re-run picks the same), varied across days.
    day = start_of_day(now).strftime("%Y-%m-%d").encode()
    index = int.from_bytes(hashlib.sha256(day).digest()[:4], "big") % len(candidates)
    return candidates[index]


def digest_documents(store: Store, now: datetime, limit: int = 20) -> list[StoredDocument]:
    """New documents for the weekly digest: imported since the last digest (at most a week back)."""
    since = max(store.last_push_at("digest") or now - timedelta(days=7), now - timedelta(days=7))
    return store.documents_since(since, limit)
