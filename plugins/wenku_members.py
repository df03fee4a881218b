"""Memberships, redeem codes, watermarked full texts, tracing, join gating and the daily job."""

from datetime import timedelta

from nonebot import get_driver, on_message, on_notice, on_request, require
from nonebot.adapters.onebot.v11 import Bot, GroupIncreaseNoticeEvent, GroupRequestEvent, MessageEvent
from nonebot.log import logger
from nonebot.plugin import PluginMetadata
from nonebot.typing import T_State

require("nonebot_plugin_apscheduler")
from nonebot_plugin_apscheduler import scheduler  # noqa: E402

from wenku import codes, texts  # noqa: E402
from wenku.durations import Duration, parse_duration  # noqa: E402
from wenku.fulltext import finish_delivery, prepare_delivery, quota_left, trace  # noqa: E402
from wenku.members import cancel, extend, membership, parse_qq  # noqa: E402
from wenku.members import Membership  # noqa: E402
from wenku.textnorm import scrub_surrogates  # noqa: E402
from wenku_bot.chat import ARGS, group_id_of, parse_number, replying, require_admin, served_command  # noqa: E402
from wenku_bot.config import Config  # noqa: E402
from wenku_bot.delivery import FAILED, PARTIAL, SENT, send_delivery  # noqa: E402
from wenku_bot.membership_jobs import answer_join_request, process_due_removals, run_daily_job  # noqa: E402
from wenku_bot.outbox import Target  # noqa: E402
from wenku_bot.runtime import get_runtime, now  # noqa: E402

__plugin_meta__ = PluginMetadata(
    name="文库会员",
    description="会员、卡密、带水印的全文、溯源、入群审核和每日到期处理",
    usage="会员 / 兑换 卡密 / 全文 编号 [文本|文件]；管理员：开通 续费 取消会员 查会员 会员列表 生成卡密 卡密列表 作废卡密 溯源",
    type="application",
    config=Config,
)


def _private(bot: Bot, user_id: int) -> Target:
    return Target(self_id=bot.self_id, kind="private", id=user_id)


# -- everyone ------------------------------------------------------------------------------

my_status = on_message(rule=served_command("会员", "我的会员"), priority=10, block=True)


@my_status.handle()
async def handle_my_status(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        user = str(event.user_id)
        current = membership(runtime.store, user)
        quota = quota_left(runtime.store, user, now(), runtime.config.wenku_daily_fulltext)
        subscriptions = runtime.store.subscriptions_of(user)
        await reply(texts.my_membership(current, now(), quota, subscriptions, runtime.config.wenku_contact))


redeem_command = on_message(rule=served_command("兑换"), priority=10, block=True)


@redeem_command.handle()
async def handle_redeem(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        if not state[ARGS]:
            await reply(texts.needs_code())
            return
        result = codes.redeem(runtime.store, str(event.user_id), state[ARGS], now=now())
        await reply(texts.redeemed(result))


fulltext_command = on_message(rule=served_command("全文"), priority=10, block=True)


@fulltext_command.handle()
async def handle_fulltext(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        words = state[ARGS].split()
        number = parse_number(words[0]) if words else None
        form = words[1] if len(words) > 1 else "文本"
        if number is None or len(words) > 2 or form not in ("文本", "文件", "text", "file"):
            await reply(texts.bad_fulltext_format())
            return
        if runtime.role_of(event.user_id) not in ("member", "admin"):
            await reply(texts.fulltext_refused(runtime.config.wenku_contact))
            return
        group_id = group_id_of(event)
        delivery = prepare_delivery(
            runtime.store,
            user_id=str(event.user_id),
            document_id=number,
            format="file" if form in ("文件", "file") else "text",
            now=now(),
            secret=runtime.config.wenku_watermark_secret,
            daily_limit=runtime.config.wenku_daily_fulltext,
            group_id=str(group_id) if group_id else None,
        )
        outcome = await send_delivery(runtime.outbox, _private(bot, event.user_id), delivery)
        finish_delivery(runtime.store, delivery.id, outcome == SENT, partial=outcome == PARTIAL)
        if outcome == PARTIAL:
            await reply(texts.private_send_partial())
        elif outcome == FAILED:
            await reply(texts.private_send_failed())
        elif group_id is not None:
            await reply(texts.sent_privately())
        elif delivery.format == "file":
            await reply(texts.fulltext_file_sent(delivery.document.title))


# -- admins: memberships --------------------------------------------------------------------


#: What a refusal shows for an argument that was left out.
_MISSING = texts.EMPTY_ARGUMENT


def _qq(args: str) -> str:
    return parse_qq(args.strip() or _MISSING)


def _qq_and_duration(args: str) -> tuple[str, Duration]:
    """The QQ number and the duration of 开通/续费; each refusal names the argument that is wrong."""
    words = args.split(None, 1)
    user = _qq(words[0] if words else "")
    # The rest is the duration, so 1 年 (with a space) reads as 1年.
    return user, parse_duration(words[1].strip() if len(words) > 1 else _MISSING)


grant_command = on_message(rule=served_command("开通", "续费"), priority=10, block=True)


@grant_command.handle()
async def handle_grant(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        user, duration = _qq_and_duration(state[ARGS])
        action = "grant" if event.get_plaintext().strip().lstrip("/").lstrip().startswith("开通") else "extend"
        result = extend(runtime.store, user, duration, now=now(), actor=str(event.user_id), action=action)
        await reply(texts.membership_changed(action, user, result))


cancel_command = on_message(rule=served_command("取消会员"), priority=9, block=True)


@cancel_command.handle()
async def handle_cancel(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        user = _qq(state[ARGS])
        result = cancel(runtime.store, user, now=now(), actor=str(event.user_id))
        await reply(texts.membership_changed("cancel", user, result))


lookup_command = on_message(rule=served_command("查会员"), priority=9, block=True)


@lookup_command.handle()
async def handle_lookup(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        user = _qq(state[ARGS])
        current = membership(runtime.store, user)
        quota = quota_left(runtime.store, user, now(), runtime.config.wenku_daily_fulltext) if current else None
        events = runtime.store.member_events(user, 10)
        audit = runtime.store.audit_of(user, 10)
        await reply(texts.member_status_for_admin(user, current, runtime.role_of(user), now(), events, quota, audit))


list_command = on_message(rule=served_command("会员列表"), priority=9, block=True)


@list_command.handle()
async def handle_list(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        moment = now()
        expiring = state[ARGS].strip() == "到期"
        if expiring:
            rows = runtime.store.members(active_at=moment, expiring_before=moment + timedelta(days=7))
        else:
            rows = runtime.store.members(active_at=moment)
        title = texts.members_list_title(expiring)
        await reply(texts.member_list([Membership.from_row(row) for row in rows], moment, title))


# -- admins: redeem codes ------------------------------------------------------------------------

generate_command = on_message(rule=served_command("生成卡密"), priority=9, block=True)


@generate_command.handle()
async def handle_generate(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        words = state[ARGS].split()
        count = parse_number(words[0]) if words else None
        if count is None or len(words) != 2:
            await reply(texts.generate_usage())
            return
        duration = parse_duration(words[1])
        new_codes = codes.generate(runtime.store, count, duration, now=now(), actor=str(event.user_id))
        # Codes go to the admin privately only, never into a group.
        delivered = await runtime.outbox.send_text(_private(bot, event.user_id), texts.codes_generated(new_codes, str(duration)))
        if not delivered:
            for code in new_codes:
                codes.void(runtime.store, code, now=now(), actor="system")
            await reply(texts.codes_private_failed())
        elif group_id_of(event) is not None:
            await reply(texts.codes_sent_privately(len(new_codes)))


code_list_command = on_message(rule=served_command("卡密列表"), priority=9, block=True)


@code_list_command.handle()
async def handle_code_list(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        await reply(texts.code_list(codes.list_codes(runtime.store)))


void_command = on_message(rule=served_command("作废卡密"), priority=9, block=True)


@void_command.handle()
async def handle_void(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        if not state[ARGS]:
            await reply(texts.void_usage())
            return
        code_id = codes.void(runtime.store, state[ARGS], now=now(), actor=str(event.user_id))
        await reply(texts.code_voided(code_id))


# -- admins: trace -----------------------------------------------------------------------------

trace_command = on_message(rule=served_command("溯源"), priority=9, block=True)


@trace_command.handle()
async def handle_trace(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        require_admin(event)
        text = state[ARGS]
        if event.reply is not None:
            text = scrub_surrogates(event.reply.message.extract_plain_text()) + "\n" + text
        if not text.strip():
            await reply(texts.trace_needs_text())
            return
        result = trace(runtime.store, text, runtime.config.wenku_watermark_secret)
        titles = runtime.store.titles(row["document_id"] for row in result.deliveries)
        named = dict.fromkeys(row["user_id"] for row in result.deliveries or result.recipients)
        audit = {user: runtime.store.audit_of(user, 5) for user in list(named)[:3]}
        await reply(texts.trace_result(result, titles, audit))


# -- events without a command ---------------------------------------------------------------------

join_requests = on_request(priority=10, block=False)


@join_requests.handle()
async def handle_join(bot: Bot, event: GroupRequestEvent) -> None:
    if event.sub_type == "add":  # not invitations of the bot itself
        await answer_join_request(get_runtime(), bot, event, now())


entries = on_notice(priority=10, block=False)


@entries.handle()
async def handle_entry(bot: Bot, event: GroupIncreaseNoticeEvent) -> None:
    runtime = get_runtime()
    if runtime.chat_kind(event.group_id) != "member" or str(event.user_id) == bot.self_id:
        return
    if runtime.role_of(event.user_id) in ("member", "admin"):
        return
    grace = runtime.config.wenku_join_grace
    runtime.store.schedule_removal(str(event.user_id), event.group_id, now() + timedelta(minutes=grace))
    alert = texts.intruder_alert(event.user_id, event.group_id, grace)
    for admin in sorted(runtime.admins):
        if admin.isdigit():
            await runtime.outbox.send_text(_private(bot, int(admin)), alert)


# -- scheduled jobs ------------------------------------------------------------------------------------


async def _daily_job() -> None:
    try:
        await run_daily_job(get_runtime(), now())
    except Exception:  # the scheduler must survive a bad day
        logger.exception("daily membership job failed")


async def _removal_job() -> None:
    try:
        await process_due_removals(get_runtime(), now())
    except Exception:
        logger.exception("removal job failed")


@get_driver().on_startup
async def _schedule_jobs() -> None:
    hour, _, minute = get_runtime().config.wenku_daily_at.partition(":")
    scheduler.add_job(
        _daily_job, "cron", hour=int(hour), minute=int(minute or 0), timezone="Asia/Shanghai",
        id="wenku_daily", replace_existing=True,
    )
    scheduler.add_job(_removal_job, "interval", minutes=1, id="wenku_removals", replace_existing=True)
