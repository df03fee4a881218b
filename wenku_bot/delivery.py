"""Sending a member's watermarked full text privately: merged-forward, plain text, or a .docx."""

from __future__ import annotations

import base64

from nonebot.adapters.onebot.v11 import Message, MessageSegment

from wenku.chunks import split_text
from wenku.fulltext import Delivery

from .outbox import Outbox, Target, text_message

__all__ = ["send_delivery", "FORWARD_NODE_CHARS", "FORWARD_NODES"]

#: Small nodes and few per forward: QQ drops large merged-forward messages silently.
FORWARD_NODE_CHARS = 800
FORWARD_NODES = 5


def _forward_nodes(self_id: str, pieces: list[str]) -> Message:
    return Message(
        MessageSegment.node_custom(user_id=int(self_id), nickname="文库", content=Message(MessageSegment.text(piece)))
        for piece in pieces
    )


async def _send_text(outbox: Outbox, target: Target, text: str) -> bool:
    pieces = split_text(text, FORWARD_NODE_CHARS)
    for start in range(0, len(pieces), FORWARD_NODES):
        group = pieces[start : start + FORWARD_NODES]
        nodes = _forward_nodes(target.self_id, group)
        sent = await outbox.call(
            target, [lambda bot, nodes=nodes: bot.call_api("send_private_forward_msg", user_id=target.id, messages=nodes)]
        )
        # The OneBot side may not support forwards (or refuse this one): plain messages instead.
        if not sent and not await _send_plain(outbox, target, group):
            return False
    return True


async def _send_plain(outbox: Outbox, target: Target, pieces: list[str]) -> bool:
    """One piece at a time, stopping at the first that fails: the rest would arrive without it,
    and a failed delivery does not count against the member's quota."""
    for piece in pieces:
        if not await outbox.send_messages(target, [text_message(piece)]):
            return False
    return True


async def _send_file(outbox: Outbox, target: Target, delivery: Delivery) -> bool:
    # base64 content, not a path: the OneBot side may run on another machine.
    content = "base64://" + base64.b64encode(delivery.docx or b"").decode()
    return await outbox.call(
        target,
        [lambda bot: bot.call_api("upload_private_file", user_id=target.id, file=content, name=delivery.filename)],
    )


async def send_delivery(outbox: Outbox, target: Target, delivery: Delivery) -> bool:
    if delivery.format == "file":
        return await _send_file(outbox, target, delivery)
    return await _send_text(outbox, target, delivery.text)
