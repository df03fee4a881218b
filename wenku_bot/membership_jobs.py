"""Join requests, removal of non-members from member groups, and the daily reminders.

Each QQ call goes through the outbox, which logs a failure and returns False:
one failed reminder or kick is retried next time and never stops the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nonebot.adapters.onebot.v11 import Bot, GroupRequestEvent
from nonebot.adapters.onebot.v11.exception import ActionFailed, NetworkError
from nonebot.log import logger

from wenku import texts
from wenku.daily import due_notices, forget_notice, record_notice
from wenku.members import membership, role_of

from .outbox import REFUSED, Target, connected_bots
from .runtime import Runtime

__all__ = ["answer_join_request", "run_daily_job", "process_due_removals", "kick", "remove_from_member_groups"]


async def answer_join_request(runtime: Runtime, bot: Bot, event: GroupRequestEvent, now: datetime) -> None:
    kind = runtime.chat_kind(event.group_id)
    if kind is None:
        return
    role = role_of(runtime.store, str(event.user_id), now, runtime.admins)
    if role == "blacklisted":
        approve, reason = False, texts.join_rejected_blacklisted()
    elif kind == "free" or role in ("member", "admin"):
        approve, reason = True, ""
    elif runtime.config.wenku_join_mode == "manual":
        logger.info(f"join request of {event.user_id} to {event.group_id} left to the admins")
        return
    else:
        approve, reason = False, texts.join_rejected(runtime.config.wenku_contact)
    target = Target(self_id=bot.self_id, kind="group", id=event.group_id)
    await runtime.outbox.call(
        target,
        [
            lambda bot: bot.set_group_add_request(
                flag=event.flag, sub_type=event.sub_type, approve=approve, reason=reason
            )
        ],
    )


def _bots(bots: Sequence[Bot] | None = None) -> list[Bot]:
    """The accounts to act through: ``bots`` if given (tests), else every connected one."""
    return list(bots) if bots is not None else connected_bots()


async def kick(runtime: Runtime, group_id: int, user_id: int, bots: Sequence[Bot] | None = None) -> bool:
    """Remove a user from a group with the first connected account that manages it."""
    for bot in _bots(bots):
        target = Target(self_id=bot.self_id, kind="group", id=group_id)
        if await runtime.outbox.call(target, [lambda bot: bot.set_group_kick(group_id=group_id, user_id=user_id)]):
            return True
    return False


async def remove_from_member_groups(runtime: Runtime, user_id: str, bots: Sequence[Bot] | None = None) -> list[tuple[int, bool]]:
    """Try every member group; each result is reported, a failure never stops the others."""
    return [
        (group_id, await kick(runtime, group_id, int(user_id), bots)) for group_id in runtime.config.wenku_member_groups
    ]


async def _group_members(group_id: int, bots: Sequence[Bot]) -> list[dict]:
    for bot in bots:
        try:
            return await bot.get_group_member_list(group_id=group_id)
        except (ActionFailed, NetworkError) as error:
            logger.warning(f"member list of group {group_id} via {bot.self_id} failed: {error}")
    return []


async def run_daily_job(runtime: Runtime, now: datetime, bots: Sequence[Bot] | None = None) -> dict[str, int]:
    """Reminders before expiry, notices after it, removal of non-members from member groups.

    Who is still a member is judged at ``now``, the moment the notices are about.
    """
    done = {"notices": 0, "failed_notices": 0, "removed": 0, "failed_removals": 0}
    bots = _bots(bots)
    if not bots:
        logger.warning("daily job: no QQ account connected, nothing sent")
        return done
    sender = bots[0].self_id
    for notice in due_notices(runtime.store, now):
        current = membership(runtime.store, notice.user_id)
        text = (
            texts.expired_notice(runtime.config.wenku_contact)
            if notice.kind == "expired"
            else texts.reminder(notice.kind, current, runtime.config.wenku_contact)
        )
        # Recorded before sending, so a kill or a timeout mid-send never repeats it; forgotten
        # again only when the send surely failed, so the next run tries once more.
        record_notice(runtime.store, notice, now)
        target = Target(self_id=sender, kind="private", id=int(notice.user_id))
        if await runtime.outbox.deliver_text(target, text) != REFUSED:
            done["notices"] += 1
        else:
            forget_notice(runtime.store, notice)
            done["failed_notices"] += 1
    own_ids = {bot.self_id for bot in bots}
    for group_id in runtime.config.wenku_member_groups:
        for person in await _group_members(group_id, bots):
            user = str(person.get("user_id", ""))
            if not user or user in own_ids or person.get("role") in ("owner", "admin"):
                continue
            if role_of(runtime.store, user, now, runtime.admins) in ("member", "admin"):
                continue
            if await kick(runtime, group_id, int(user), bots):
                done["removed"] += 1
            else:
                done["failed_removals"] += 1
    logger.info(f"daily job done: {done}")
    return done


async def process_due_removals(runtime: Runtime, now: datetime, bots: Sequence[Bot] | None = None) -> int:
    """Remove people who entered a member group without a membership and did not get one in time."""
    removed = 0
    for removal in runtime.store.due_removals(now):
        if role_of(runtime.store, removal["user_id"], now, runtime.admins) in ("member", "admin"):
            runtime.store.finish_removal(removal["id"], now)
            continue
        if await kick(runtime, removal["group_id"], int(removal["user_id"]), bots):
            runtime.store.finish_removal(removal["id"], now)
            removed += 1
    return removed
