"""Resale reports (打击倒卖): filing with evidence, review, reward and ban, the blacklist, the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from . import texts
from .durations import Duration
from .errors import ReportNotOpen, ReportRefused
from .members import Membership, ban, extend
from .store import Store

__all__ = [
    "MAX_REPORTS_PER_HOUR",
    "MAX_EVIDENCE_BYTES",
    "Evidence",
    "file_report",
    "fetch_evidence",
    "approve",
    "reject",
    "blacklist",
    "unblacklist",
]

log = logging.getLogger(__name__)

MAX_REPORTS_PER_HOUR = 3
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
EVIDENCE_TIMEOUT = 15.0
_IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": ".jpg",
    b"\x89PNG\r\n\x1a\n": ".png",
    b"GIF87a": ".gif",
    b"GIF89a": ".gif",
    b"RIFF": ".webp",  # checked further below
    b"BM": ".bmp",
}


def file_report(
    store: Store,
    *,
    reporter: str,
    reported: str,
    text: str,
    group_id: str | None,
    now: datetime,
    admins: Collection[str],
) -> int:
    if reported == reporter:
        raise ReportRefused("self")
    if reported in admins:
        raise ReportRefused("admin")
    if store.reports_by_since(reporter, now - timedelta(hours=1)) >= MAX_REPORTS_PER_HOUR:
        raise ReportRefused("throttled")
    with store.write():
        report_id = store.add_report(reporter=reporter, reported=reported, text=text, group_id=group_id, now=now)
        store.add_audit(now=now, actor=reporter, action="report", user_id=reported, report_id=report_id, detail=text[:200])
    return report_id


@dataclass(frozen=True)
class Evidence:
    url: str
    path: Path | None
    error: str | None
    size: int | None


def _web_address(url: str) -> bool:
    """An http(s) address with a host and a usable port; httpx would crash on a port like 99999, not fail."""
    if not url.startswith(("http://", "https://")):
        return False
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    return bool(parsed.host) and (parsed.port is None or 0 < parsed.port < 65536)


def _image_suffix(head: bytes) -> str | None:
    for signature, suffix in _IMAGE_SIGNATURES.items():
        if head.startswith(signature):
            if suffix == ".webp" and head[8:12] != b"WEBP":
                return None
            return suffix
    return None


async def fetch_evidence(
    client: httpx.AsyncClient, url: str, folder: Path, stem: str, *, timeout: float = EVIDENCE_TIMEOUT
) -> Evidence:
    """Download one screenshot; a failure is described, never raised (the report stands without it).

    ``timeout`` bounds the whole download, not only each read: a server that
    trickles bytes must not hold up the admins' alert for minutes.
    """
    if not _web_address(url):
        return Evidence(url, None, texts.evidence_not_web_address(), None)
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    return Evidence(url, None, texts.download_refused_status(response.status_code), None)
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > MAX_EVIDENCE_BYTES:
                    return Evidence(url, None, texts.evidence_too_large(), int(declared))
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data.extend(chunk)
                    if len(data) > MAX_EVIDENCE_BYTES:
                        return Evidence(url, None, texts.evidence_too_large(), len(data))
    except (httpx.TimeoutException, TimeoutError):
        return Evidence(url, None, texts.download_timed_out(), None)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        # InvalidURL is not an HTTPError.
        return Evidence(url, None, texts.download_failed(type(error).__name__), None)
    except Exception as error:  # noqa: BLE001 - e.g. a redirect to port 99999 fails inside the socket layer
        log.warning("evidence %s failed: %r", url, error)
        return Evidence(url, None, texts.download_failed(), None)
    suffix = _image_suffix(bytes(data[:16]))
    if suffix is None:
        return Evidence(url, None, texts.evidence_not_image(), len(data))
    # The name is ours (report number and content hash), never taken from the sender.
    path = folder / f"{stem}_{hashlib.sha256(data).hexdigest()[:12]}{suffix}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(data))
    except OSError as error:
        return Evidence(url, None, texts.evidence_not_saved(type(error).__name__), len(data))
    return Evidence(url, path, None, len(data))


@dataclass(frozen=True)
class Decision:
    report: dict
    reporter_membership: Membership | None = None


def approve(store: Store, report_id: int, *, actor: str, now: datetime, reward: Duration) -> Decision:
    """Reward the reporter and ban the reseller, exactly once however often it is sent."""
    with store.write():
        if not store.decide_report(report_id, "approved", actor, None, now):
            current = store.report(report_id)
            raise ReportNotOpen(report_id, current["status"] if current else None)
        report = store.report(report_id)
        rewarded = extend(
            store,
            report["reporter"],
            reward,
            now=now,
            actor=actor,
            action="reward",
            source="report",
            note=texts.report_note(report_id),
        )
        ban(store, report["reported"], texts.resale_ban_reason(report_id), now=now, actor=actor)
        store.add_audit(now=now, actor=actor, action="report_approved", user_id=report["reported"], report_id=report_id)
        store.add_audit(
            now=now, actor=actor, action="reward", user_id=report["reporter"], report_id=report_id, detail=str(reward)
        )
        store.add_audit(now=now, actor=actor, action="ban", user_id=report["reported"], report_id=report_id)
    return Decision(report=report, reporter_membership=rewarded)


def reject(store: Store, report_id: int, reason: str, *, actor: str, now: datetime) -> Decision:
    with store.write():
        if not store.decide_report(report_id, "rejected", actor, reason, now):
            current = store.report(report_id)
            raise ReportNotOpen(report_id, current["status"] if current else None)
        report = store.report(report_id)
        store.add_audit(now=now, actor=actor, action="report_rejected", user_id=report["reported"], report_id=report_id, detail=reason)
    return Decision(report=report)


def blacklist(store: Store, user_id: str, reason: str, *, actor: str, now: datetime) -> Membership | None:
    with store.write():
        ended = ban(store, user_id, reason, now=now, actor=actor)
        store.add_audit(now=now, actor=actor, action="ban", user_id=user_id, detail=reason)
    return ended


def unblacklist(store: Store, user_id: str, *, actor: str, now: datetime) -> bool:
    with store.write():
        removed = store.remove_from_blacklist(user_id)
        if removed:
            store.add_audit(now=now, actor=actor, action="unban", user_id=user_id)
    return removed
