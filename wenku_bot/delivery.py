"""Sending a member's watermarked full text privately: merged-forward, plain text, or a .docx."""

from __future__ import annotations

import base64

from nonebot.adapters.onebot.v11 import Message, MessageSegment

from wenku import texts
from wenku.chunks import split_text
from wenku.fulltext import Delivery

from .outbox import REFUSED, Outbox, Target, text_message

__all__ = ["send_delivery", "FORWARD_NODE_CHARS", "FORWARD_NODES"]

SENT, PARTIAL, FAILED = "sent", "partial", "failed"

#: Small nodes and few per forward: QQ drops large merged-forward messages silently.
FORWARD_NODE_CHARS = 800
FORWARD_NODES = 5


def _forward_nodes(self_id: str, pieces: list[str]) -> Message:
    return Message(
        MessageSegment.node_custom(user_id=int(self_id), nickname=texts.FORWARD_NICKNAME, content=Message(MessageSegment.text(piece)))
        for piece in pieces
    )


async def _send_text(outbox: Outbox, target: Target, text: str) -> str:
    pieces = split_text(text, FORWARD_NODE_CHARS)
    delivered = 0
    for start in range(0, len(pieces), FORWARD_NODES):
        group = pieces[start : start + FORWARD_NODES]
        nodes = _forward_nodes(target.self_id, group)
        outcome = await outbox.deliver(
            target, [lambda bot, nodes=nodes: bot.call_api("send_private_forward_msg", user_id=target.id, messages=nodes)]
        )
        if outcome != REFUSED:
            # A forward that timed out may well have arrived: sending its text again as
            # plain messages would give the member the same text twice, so it counts.
            delivered += len(group)
            continue
        # The OneBot side may not support forwards (or refuse this one): plain messages instead.
        sent_plain = await _send_plain(outbox, target, group)
        delivered += sent_plain
        if sent_plain < len(group):
            return PARTIAL if delivered else FAILED
    return SENT


async def _send_plain(outbox: Outbox, target: Target, pieces: list[str]) -> int:
    """One piece at a time, stopping at the first that is refused (the rest would arrive without it);
    returns how many pieces arrived, or may have."""
    for count, piece in enumerate(pieces):
        # Only a sure refusal stops it: a piece that timed out may have arrived, and counts.
        if await outbox.deliver_messages(target, [text_message(piece)]) == REFUSED:
            return count
    return len(pieces)


async def _send_file(outbox: Outbox, target: Target, delivery: Delivery) -> str:
    # base64 content, not a path: the OneBot side may run on another machine.
    content = "base64://" + base64.b64encode(delivery.docx or b"").decode()
    outcome = await outbox.deliver(
        target,
        [lambda bot: bot.call_api("upload_private_file", user_id=target.id, file=content, name=delivery.filename)],
    )
    # A timed-out upload may have reached the member: it is recorded (and counted, and
    # traceable) as sent rather than reported as lost.
    return FAILED if outcome == REFUSED else SENT


async def send_delivery(outbox: Outbox, target: Target, delivery: Delivery) -> str:
    """"sent", "failed" (nothing arrived), or "partial": some of the text arrived before a failure."""
    if delivery.format == "file":
        return await _send_file(outbox, target, delivery)
    return await _send_text(outbox, target, delivery.text)
