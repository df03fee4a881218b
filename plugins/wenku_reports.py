"""Anti-resale and operations: 举报 with screenshots, report review, blacklist, 统计, 备份."""

import asyncio

from nonebot import on_message
from nonebot.adapters.onebot.v11 import Bot, MessageEvent
from nonebot.plugin import PluginMetadata
from nonebot.typing import T_State

from wenku import reports, texts
from wenku.backup import backups, make_backup
from wenku.downloads import download_client
from wenku.durations import parse_duration
from wenku.errors import BadQQ
from wenku.members import parse_qq
from wenku.stats import admin_stats
from wenku.store import Store
from wenku_bot.chat import ARGS, group_id_of, parse_number, replying, require_admin, served_command
from wenku_bot.config import Config
from wenku_bot.membership_jobs import remove_from_member_groups
from wenku_bot.outbox import Target
from wenku_bot.runtime import Runtime, get_runtime, now

__plugin_meta__ = PluginMetadata(
    name="文库举报与运营",
    description="举报倒卖（附截图）、审核奖励与封禁、黑名单、统计、备份",
    usage="举报 QQ号 说明；管理员：举报列表 举报通过 举报驳回 拉黑 解除拉黑 统计 备份",
    type="application",
    config=Config,
)

MAX_EVIDENCE_IMAGES = 6


def _private(bot: Bot, user_id: str | int) -> Target:
    return Target(self_id=bot.self_id, kind="private", id=int(user_id))


async def _tell_admins(runtime: Runtime, bot: Bot, text: str, skip: str | None = None) -> None:
    for admin in sorted(runtime.admins):
        if admin.isdigit() and admin != skip:
            await runtime.outbox.send_text(_private(bot, admin), text)


report_command = on_message(rule=served_command("举报"), priority=10, block=True)


@report_command.handle()
async def handle_report(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        words = state[ARGS].split(maxsplit=1)
        if not words:
            await reply(texts.report_usage())
            return
        reported = parse_qq(words[0])
        reporter = str(event.user_id)
        group_id = group_id_of(event)
        report_id = reports.file_report(
            runtime.store,
            reporter=reporter,
            reported=reported,
            text=words[1] if len(words) > 1 else "",
            group_id=str(group_id) if group_id else None,
            now=now(),
            admins=runtime.admins,
        )
        await reply(texts.report_filed(report_id))
        urls = [segment.data.get("url") or segment.data.get("file", "") for segment in event.message if segment.type == "image"]
        folder = runtime.data_dir / "evidence"
        async with download_client() as client:
            evidence = [
                await reports.fetch_evidence(client, url, folder, f"report{report_id}_{index}")
                for index, url in enumerate(urls[:MAX_EVIDENCE_IMAGES], 1)
            ]
        for item in evidence:
            runtime.store.add_evidence(report_id, item.url, str(item.path) if item.path else None, item.error, item.size)
        alert = texts.report_alert(report_id, reporter, reported, words[1] if len(words) > 1 else "", evidence)
        await _tell_admins(runtime, bot, alert)


report_list_command = on_message(rule=served_command("举报列表"), priority=8, block=True)


@report_list_command.handle()
async def handle_report_list(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        pending = runtime.store.reports("open", limit=20)
        counts = {report["id"]: sum(1 for item in runtime.store.evidence(report["id"]) if item["path"]) for report in pending}
        await reply(texts.report_list(pending, counts))


approve_command = on_message(rule=served_command("举报通过"), priority=8, block=True)


@approve_command.handle()
async def handle_approve(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        number = parse_number(state[ARGS])
        if number is None:
            await reply(texts.approve_usage())
            return
        decision = reports.approve(
            runtime.store,
            number,
            actor=str(event.user_id),
            now=now(),
            reward=parse_duration(runtime.config.wenku_report_reward),
        )
        kicks = await remove_from_member_groups(runtime, decision.report["reported"])
        await reply(texts.report_approved(decision.report, decision.reporter_membership, kicks))
        await runtime.outbox.send_text(
            _private(bot, decision.report["reporter"]),
            texts.reporter_rewarded(number, decision.reporter_membership),
        )


reject_command = on_message(rule=served_command("举报驳回"), priority=8, block=True)


@reject_command.handle()
async def handle_reject(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        words = state[ARGS].split(maxsplit=1)
        number = parse_number(words[0]) if words else None
        if number is None or len(words) < 2:
            await reply(texts.reject_usage())
            return
        decision = reports.reject(runtime.store, number, words[1], actor=str(event.user_id), now=now())
        await reply(texts.report_rejected(number))
        await runtime.outbox.send_text(_private(bot, decision.report["reporter"]), texts.reporter_rejected(number, words[1]))


ban_command = on_message(rule=served_command("拉黑"), priority=9, block=True)


@ban_command.handle()
async def handle_ban(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        words = state[ARGS].split(maxsplit=1)
        if len(words) < 2:
            await reply(texts.blacklist_usage())
            return
        user = parse_qq(words[0])
        if user in runtime.admins:
            await reply(texts.cannot_blacklist_admin())
            return
        ended = reports.blacklist(runtime.store, user, words[1], actor=str(event.user_id), now=now())
        kicks = await remove_from_member_groups(runtime, user)
        await reply(texts.blacklisted(user, ended, kicks))


unban_command = on_message(rule=served_command("解除拉黑"), priority=9, block=True)


@unban_command.handle()
async def handle_unban(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        if not state[ARGS].strip():
            raise BadQQ(texts.EMPTY_ARGUMENT)
        user = parse_qq(state[ARGS])
        await reply(texts.unblacklisted(user, reports.unblacklist(runtime.store, user, actor=str(event.user_id), now=now())))


stats_command = on_message(rule=served_command("统计"), priority=9, block=True)


@stats_command.handle()
async def handle_stats(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        await reply(texts.admin_stats(admin_stats(runtime.store, now())))


backup_command = on_message(rule=served_command("备份"), priority=9, block=True)


def _backup(database, folder, moment, keep):
    # Its own connection, in a worker thread: a large copy must not stall the chat.
    store = Store.open(database)
    try:
        return make_backup(store, folder, now=moment, keep=keep)
    finally:
        store.close()


@backup_command.handle()
async def handle_backup(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        folder = runtime.data_dir / "backups"
        path = await asyncio.to_thread(_backup, runtime.database_path, folder, now(), runtime.config.wenku_backup_keep)
        await reply(texts.backup_done(str(path), path.stat().st_size, len(backups(folder))))
