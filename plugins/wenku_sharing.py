"""Real-time sharing: import from chat, document management, 推送, subscriptions, scheduled pushes."""

import base64
import binascii
from pathlib import PurePath
from urllib.parse import unquote

from nonebot import get_driver, on_message, on_notice, require
from nonebot.adapters.onebot.v11 import Bot, GroupUploadNoticeEvent, MessageEvent, PrivateMessageEvent
from nonebot.adapters.onebot.v11.exception import ActionFailed, NetworkError
from nonebot.log import logger
from nonebot.plugin import PluginMetadata
from nonebot.rule import Rule
from nonebot.typing import T_State

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from wenku import sharing, texts  # noqa: E402
from wenku.errors import DocumentNotFound, DownloadFailed  # noqa: E402
from wenku.readers import SUPPORTED_SUFFIXES  # noqa: E402
from wenku_bot.chat import ARGS, parse_number, replying, require_admin, served_command  # noqa: E402
from wenku_bot.config import Config  # noqa: E402
from wenku_bot.runtime import get_runtime, now  # noqa: E402
from wenku_bot.sharing_jobs import (  # noqa: E402
    announce,
    import_bytes,
    import_from_url,
    push_digest,
    push_recommendation,
)

__plugin_meta__ = PluginMetadata(
    name="文库实时分享",
    description="群文件/私聊文件导入、文档管理、推送、关键词订阅、定时推送",
    usage="订阅 词 / 退订 词 / 我的订阅；管理员：上传文件、导入 URL、删除、恢复、改标题、改分类、推送",
    type="application",
    config=Config,
)

# -- files sent in chat ----------------------------------------------------------------------------


async def _admin_upload(event: GroupUploadNoticeEvent) -> bool:
    """An admin's upload of a document type to a served group (photos and videos they share are left alone)."""
    runtime = get_runtime()
    return (
        runtime.chat_kind(event.group_id) is not None
        and runtime.is_admin(event.user_id)
        and PurePath(event.file.name).suffix.lower() in SUPPORTED_SUFFIXES
    )


group_uploads = on_notice(rule=Rule(_admin_upload), priority=10, block=False)


@group_uploads.handle()
async def handle_group_upload(bot: Bot, event: GroupUploadNoticeEvent) -> None:
    """An admin dropped a file into a configured group: fetch its URL from the OneBot side and import it."""
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        limit = runtime.config.wenku_max_upload_mb
        if event.file.size > limit * 1024 * 1024:  # known from the event: no need to download it
            raise DownloadFailed(event.file.name, texts.file_too_large(limit))
        try:
            found = await bot.get_group_file_url(group_id=event.group_id, file_id=event.file.id, busid=event.file.busid)
        except (ActionFailed, NetworkError) as error:
            raise DownloadFailed(event.file.name, texts.file_address_unavailable(type(error).__name__)) from None
        outcome = await import_from_url(
            runtime, bot.self_id, found.get("url", ""), event.file.name, actor=str(event.user_id), now=now()
        )
        await reply(texts.import_outcome(outcome))


def _file_segments(event: MessageEvent) -> list:
    return [segment for segment in event.message if segment.type == "file"]


async def _admin_private_file(event: PrivateMessageEvent) -> bool:
    return bool(_file_segments(event)) and get_runtime().is_admin(event.user_id)


private_files = on_message(rule=Rule(_admin_private_file), priority=5, block=True)


@private_files.handle()
async def handle_private_file(bot: Bot, event: PrivateMessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        for segment in _file_segments(event):
            data = segment.data
            name = str(data.get("name") or data.get("file") or texts.UNNAMED_FILE)
            url = data.get("url") or ""
            if not url and data.get("file_id"):
                try:
                    found = await bot.call_api("get_file", file_id=data["file_id"])
                except (ActionFailed, NetworkError) as error:
                    raise DownloadFailed(name, texts.file_unavailable(type(error).__name__)) from None
                url = found.get("url") or ""
                # NapCat's get_file puts the path of its local copy in "url" and the
                # content in "base64": only a web address is worth downloading.
                if not url.startswith(("http://", "https://")) and found.get("base64"):
                    try:
                        content = base64.b64decode(found["base64"], validate=True)
                    except (binascii.Error, ValueError):
                        raise DownloadFailed(name, texts.file_content_damaged()) from None
                    outcome = await import_bytes(runtime, bot.self_id, name, content, actor=str(event.user_id), now=now())
                    await reply(texts.import_outcome(outcome))
                    continue
            outcome = await import_from_url(runtime, bot.self_id, url, name, actor=str(event.user_id), now=now())
            await reply(texts.import_outcome(outcome))


import_command = on_message(rule=served_command("导入"), priority=9, block=True)


@import_command.handle()
async def handle_import_url(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        url = state[ARGS].strip()
        if not url.startswith(("http://", "https://")) or " " in url:
            await reply(texts.import_usage())
            return
        # Copied addresses carry Chinese file names percent-encoded: the name is the decoded one.
        name = unquote(url.split("?", 1)[0].split("#", 1)[0].rstrip("/").rsplit("/", 1)[-1]) or "导入.txt"
        outcome = await import_from_url(runtime, bot.self_id, url, name, actor=str(event.user_id), now=now())
        await reply(texts.import_outcome(outcome))


# -- document management ----------------------------------------------------------------------------


def _document_number(args: str) -> int:
    number = parse_number(args.split()[0]) if args.split() else None
    if number is None:
        raise DocumentNotFound(args.strip() or texts.EMPTY_ARGUMENT)
    return number


delete_command = on_message(rule=served_command("删除"), priority=9, block=True)


@delete_command.handle()
async def handle_delete(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        document = sharing.delete_document(runtime.store, _document_number(state[ARGS]), now())
        await reply(texts.document_deleted(document))


restore_command = on_message(rule=served_command("恢复"), priority=9, block=True)


@restore_command.handle()
async def handle_restore(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        document = sharing.restore_document(runtime.store, _document_number(state[ARGS]))
        await reply(texts.document_restored(document))


edit_command = on_message(rule=served_command("改标题", "改分类"), priority=9, block=True)


@edit_command.handle()
async def handle_edit(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        which = "改标题" if "改标题" in event.get_plaintext()[:5] else "改分类"
        words = state[ARGS].split(maxsplit=1)
        number = parse_number(words[0]) if words else None
        if number is None or len(words) < 2:
            await reply(texts.edit_usage(which))
            return
        if which == "改标题":
            await reply(texts.document_retitled(sharing.retitle(runtime.store, number, words[1])))
        else:
            await reply(texts.document_recategorized(sharing.recategorize(runtime.store, number, words[1])))


push_command = on_message(rule=served_command("推送"), priority=9, block=True)


@push_command.handle()
async def handle_push(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        number = _document_number(state[ARGS])
        document = runtime.store.get_document(number)
        if document is None:
            raise DocumentNotFound(number)
        groups = len(runtime.config.wenku_free_groups) + len(runtime.config.wenku_member_groups)
        if not groups:
            await reply(texts.no_groups_to_push())
            return
        runtime.spawn(announce(runtime, bot.self_id, document, actor=str(event.user_id), now=now()))
        await reply(texts.push_done(document, groups))


# -- subscriptions -------------------------------------------------------------------------------------

subscription_command = on_message(rule=served_command("订阅", "退订", "我的订阅"), priority=10, block=True)


@subscription_command.handle()
async def handle_subscription(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        if runtime.role_of(event.user_id) not in ("member", "admin"):
            await reply(texts.subscriptions_members_only(runtime.config.wenku_contact))
            return
        user = str(event.user_id)
        said = event.get_plaintext().lstrip("/ \u3000")
        if said.startswith("我的订阅"):
            await reply(texts.my_subscriptions(runtime.store.subscriptions_of(user)))
        elif said.startswith("退订"):
            await reply(texts.unsubscribed(sharing.unsubscribe(runtime.store, user, state[ARGS])))
        else:
            term, new = sharing.subscribe(runtime.store, user, state[ARGS], now())
            await reply(texts.subscribed(term, new))


# -- scheduled pushes -------------------------------------------------------------------------------------


async def _recommend_job() -> None:
    try:
        await push_recommendation(get_runtime(), now())
    except Exception:
        logger.exception("daily recommendation failed")


async def _digest_job() -> None:
    try:
        await push_digest(get_runtime(), now())
    except Exception:
        logger.exception("weekly digest failed")


def _time_of_day(text: str) -> tuple[int, int]:
    hour, _, minute = text.strip().partition(":")
    return int(hour), int(minute or 0)


@get_driver().on_startup
async def _schedule_pushes() -> None:
    config = get_runtime().config
    if config.wenku_recommend_at.strip():
        hour, minute = _time_of_day(config.wenku_recommend_at)
        scheduler.add_job(
            _recommend_job, "cron", hour=hour, minute=minute, timezone="Asia/Shanghai",
            id="wenku_recommend", replace_existing=True,
        )
    if config.wenku_digest_at.strip():
        day, _, clock = config.wenku_digest_at.strip().partition(" ")
        hour, minute = _time_of_day(clock or "09:30")
        scheduler.add_job(
            _digest_job, "cron", day_of_week=day, hour=hour, minute=minute, timezone="Asia/Shanghai",
            id="wenku_digest", replace_existing=True,
        )
