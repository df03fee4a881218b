"""Small domain errors raised by the core; the front ends turn them into replies."""

from __future__ import annotations

__all__ = [
    "WenkuError",
    "EmptyQuery",
    "QueryTooLong",
    "DocumentNotFound",
    "UnreadableFile",
    "DuplicateDocument",
]


class WenkuError(Exception):
    """Base class: a refusal the user should be told about, never a crash."""


class EmptyQuery(WenkuError):
    """The search input holds no letter or digit to search for."""


class QueryTooLong(WenkuError):
    def __init__(self, limit: int):
        super().__init__(f"search term longer than {limit} characters")
        self.limit = limit


class DocumentNotFound(WenkuError):
    def __init__(self, document_id: int | str):
        super().__init__(f"no document {document_id}")
        self.document_id = document_id


class UnreadableFile(WenkuError):
    """A file that cannot be turned into a document; ``reason`` is shown to users."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class DuplicateDocument(WenkuError):
    def __init__(self, existing_id: int, existing_title: str):
        super().__init__(f"exact duplicate of document {existing_id}")
        self.existing_id = existing_id
        self.existing_title = existing_title


class BadDuration(WenkuError):
    def __init__(self, text: str):
        super().__init__(f"not a duration: {text!r}")
        self.text = text


class BadQQ(WenkuError):
    def __init__(self, text: str):
        super().__init__(f"not a QQ number: {text!r}")
        self.text = text


class NotAMember(WenkuError):
    def __init__(self, user_id: str):
        super().__init__(f"{user_id} has no membership")
        self.user_id = user_id


class CodeRefused(WenkuError):
    """A redeem code that cannot be used; ``reason`` is unknown, used or void."""

    def __init__(self, reason: str):
        super().__init__(f"code refused: {reason}")
        self.reason = reason


class TooManyAttempts(WenkuError):
    def __init__(self, minutes: int):
        super().__init__(f"too many wrong codes, wait {minutes} minutes")
        self.minutes = minutes


class QuotaExhausted(WenkuError):
    def __init__(self, limit: int):
        super().__init__(f"daily full-text quota of {limit} used up")
        self.limit = limit


class Blacklisted(WenkuError):
    pass


class TooManyCodes(WenkuError):
    def __init__(self, limit: int):
        super().__init__(f"at most {limit} codes at once")
        self.limit = limit


class PermissionDenied(WenkuError):
    """An admin command from someone who is not an admin."""


class ReportRefused(WenkuError):
    """A report that is not filed: ``reason`` is self, admin or throttled."""

    def __init__(self, reason: str):
        super().__init__(f"report refused: {reason}")
        self.reason = reason


class ReportNotOpen(WenkuError):
    def __init__(self, report_id: int, status: str | None):
        super().__init__(f"report {report_id} is {status or 'unknown'}")
        self.report_id = report_id
        self.status = status


class SubscriptionRefused(WenkuError):
    """``reason``: too_many, bad_term or unknown."""

    def __init__(self, reason: str):
        super().__init__(f"subscription refused: {reason}")
        self.reason = reason


class BadEdit(WenkuError):
    """A title or category that cannot be used; ``reason``: empty or too_long."""

    def __init__(self, reason: str):
        super().__init__(f"bad edit: {reason}")
        self.reason = reason


class DownloadFailed(WenkuError):
    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason
