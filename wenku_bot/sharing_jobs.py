"""Announcements, subscription notices, scheduled pushes, and imports of files sent in chat.

Announcements run in background tasks through the outbox, which paces each
group on its own: thirty imports at once queue thirty announcements per
group at WENKU_SEND_INTERVAL, and none is lost.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import PurePath

from nonebot.adapters.onebot.v11 import Bot
from nonebot.log import logger

from wenku import sharing, texts
from wenku.downloads import download_client, fetch_bytes
from wenku.importer import ImportOutcome
from wenku.store import StoredDocument
from wenku.textnorm import scrub_surrogates

from .outbox import REFUSED, Target, connected_bots
from .runtime import Runtime

__all__ = ["announce", "notify_subscribers", "import_bytes", "import_from_url", "push_recommendation", "push_digest"]


async def announce(runtime: Runtime, self_id: str, document: StoredDocument, *, actor: str, now: datetime) -> int:
    """Free groups get a teaser and the call to subscribe, member groups a summary; never the full text."""
    contact = runtime.config.wenku_contact
    jobs = [
        runtime.outbox.send_text(Target(self_id, "group", group_id), texts.free_announcement(document, contact))
        for group_id in runtime.config.wenku_free_groups
    ] + [
        runtime.outbox.send_text(Target(self_id, "group", group_id), texts.member_announcement(document))
        for group_id in runtime.config.wenku_member_groups
    ]
    runtime.store.log_push("announce", document.id, now, actor)
    results = await asyncio.gather(*jobs)
    return sum(results)


async def notify_subscribers(runtime: Runtime, self_id: str, document: StoredDocument, now: datetime) -> int:
    sent = 0
    for notice in sharing.claim_notices(
        runtime.store, document, now=now, daily_cap=runtime.config.wenku_subscription_daily_cap, admins=runtime.admins
    ):
        target = Target(self_id, "private", int(notice.user_id))
        if await runtime.outbox.deliver_text(target, texts.subscription_notice(notice)) != REFUSED:
            sent += 1
        else:
            # Surely not delivered: the claim goes, so the notice is not counted as sent.
            # (A timeout keeps it: the notice may have arrived, and counts against the cap.)
            runtime.store.release_subscription_notice(notice.user_id, document.id)
    return sent


async def import_bytes(
    runtime: Runtime, self_id: str | None, name: str, data: bytes, *, actor: str, now: datetime
) -> ImportOutcome:
    """Import one file's bytes as `wenku import` does, then share it (subscribers, pushes).

    ``self_id`` is the account that shares it; None (the web console with no
    account connected) imports without sharing, which the log says.
    """
    name = PurePath(scrub_surrogates(name).replace("\\", "/")).name or f"{texts.UNNAMED_FILE}.txt"  # a name, never a path
    limit = runtime.config.wenku_max_upload_mb * 1024 * 1024
    if len(data) > limit:  # bytes that came without a download (NapCat's base64), checked here for every path
        return ImportOutcome(name=name, status="failed", reason=texts.file_too_large(runtime.config.wenku_max_upload_mb))
    outcome = await runtime.imports.run(name, data, now)
    if outcome.imported and self_id is None:
        logger.warning(f"#{outcome.document_id} imported with no QQ account connected: not announced")
    elif outcome.imported:
        document = runtime.store.get_document(outcome.document_id)
        if document is not None:
            runtime.spawn(notify_subscribers(runtime, self_id, document, now))
            if runtime.config.wenku_push_on_import:
                runtime.spawn(announce(runtime, self_id, document, actor=actor, now=now))
    return outcome


async def import_from_url(runtime: Runtime, self_id: str, url: str, name: str, *, actor: str, now: datetime) -> ImportOutcome:
    limit = runtime.config.wenku_max_upload_mb * 1024 * 1024
    async with download_client() as client:
        data = await fetch_bytes(client, url, name, max_bytes=limit)
    return await import_bytes(runtime, self_id, name, data, actor=actor, now=now)


def _first_bot() -> Bot | None:
    bots = connected_bots()
    return bots[0] if bots else None


async def push_recommendation(runtime: Runtime, now: datetime) -> bool:
    bot = _first_bot()
    document = sharing.pick_recommendation(runtime.store, now)
    if bot is None or document is None or not runtime.config.wenku_free_groups:
        logger.info("daily recommendation skipped (no account, document or free group)")
        return False
    runtime.store.log_push("recommend", document.id, now, "schedule")
    text = texts.recommendation(document, runtime.config.wenku_contact)
    await asyncio.gather(
        *(runtime.outbox.send_text(Target(bot.self_id, "group", group), text) for group in runtime.config.wenku_free_groups)
    )
    return True


async def push_digest(runtime: Runtime, now: datetime) -> bool:
    bot = _first_bot()
    documents = sharing.digest_documents(runtime.store, now)
    if bot is None or not documents or not runtime.config.wenku_member_groups:
        logger.info("weekly digest skipped (no account, new document or member group)")
        return False
    runtime.store.log_push("digest", None, now, "schedule")
    text = texts.weekly_digest(documents)
    await asyncio.gather(
        *(runtime.outbox.send_text(Target(bot.self_id, "group", group), text) for group in runtime.config.wenku_member_groups)
    )
    return True
