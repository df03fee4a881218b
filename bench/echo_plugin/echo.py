"""The bare echo plugin: the framework's own ceiling for bench/e2e.py.

One matcher, no rule, no database, no pacing: every group message is sent
straight back to its group as one text segment through ``send_group_msg``,
the same call the bot's outbox makes for a reply. Whatever this costs per
message is what NoneBot and the OneBot adapter cost, so the bot can be no
faster than it; bench/e2e.py reports the bot's figures as ratios to it.
"""

from nonebot import on_message
from nonebot.adapters.onebot.v11 import Bot, GroupMessageEvent, Message, MessageSegment

echo = on_message(priority=10, block=True)


@echo.handle()
async def send_it_back(bot: Bot, event: GroupMessageEvent) -> None:
    await bot.send_group_msg(group_id=event.group_id, message=Message(MessageSegment.text(event.get_plaintext())))
