"""The one path every outgoing message takes.

Text is split into QQ-sized pieces at paragraph boundaries and always sent as
text segments, so user text never becomes a QQ code. Sends to one chat of
one account are paced ``interval`` seconds apart: a burst of requests queues
behind a per-chat lock instead of flooding QQ's risk control. A failed send
is logged with its target and reported to the caller, never dropped silently.
The bot is looked up by account at send time, so a message queued while the
OneBot side reconnects goes out once it is back.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import nonebot
from nonebot.adapters.onebot.v11 import Bot, Message, MessageSegment
from nonebot.adapters.onebot.v11.exception import ActionFailed, NetworkError
from nonebot.exception import ApiNotAvailable, WebSocketClosed
from nonebot.log import logger
from starlette.websockets import WebSocketDisconnect

from wenku.chunks import QQ_PIECE_LIMIT, split_text

__all__ = ["Target", "Outbox", "connected_bots", "text_message", "SENT", "UNCERTAIN", "REFUSED"]

#: How a batch of API calls ended: every call answered with success; some call
#: timed out (the frame left, so QQ may have delivered it); some call surely failed.
SENT, UNCERTAIN, REFUSED = "sent", "uncertain", "refused"


@dataclass(frozen=True)
class Target:
    self_id: str
    kind: Literal["group", "private"]
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id} via {self.self_id}"


def text_message(text: str) -> Message:
    """A message that shows ``text`` literally, whatever it contains."""
    return Message(MessageSegment.text(text))


def connected_bots() -> list[Bot]:
    """The OneBot V11 accounts connected right now, in the order they connected."""
    # get_bots() is a live dict that changes as accounts connect: iterate over a copy.
    return [bot for bot in list(nonebot.get_bots().values()) if isinstance(bot, Bot)]


class BotUnavailable(Exception):
    pass


#: Failures that mean the frame never reached the OneBot side (no connection, or the
#: socket closing under the send), so sending again after a reconnect is safe.
_NEVER_SENT = (ApiNotAvailable, WebSocketClosed, WebSocketDisconnect)


class Outbox:
    def __init__(
        self,
        interval: float,
        *,
        piece_limit: int = QQ_PIECE_LIMIT,
        reconnect_wait: float = 60.0,
        bots: Callable[[], dict[str, Any]] = nonebot.get_bots,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.interval = interval
        self.piece_limit = piece_limit
        self.reconnect_wait = reconnect_wait
        self._bots = bots
        self._clock = clock
        self._sleep = sleep
        self._locks: defaultdict[Target, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._last_sent: dict[Target, float] = {}

    async def _bot(self, self_id: str) -> Bot:
        deadline = self._clock() + self.reconnect_wait
        while True:
            bot = self._bots().get(self_id)
            if bot is not None:
                return bot
            if self._clock() >= deadline:
                raise BotUnavailable(self_id)
            await self._sleep(0.5)

    async def _paced(self, target: Target) -> None:
        last = self._last_sent.get(target)
        if last is not None:
            wait = last + self.interval - self._clock()
            if wait > 0:
                await self._sleep(wait)

    async def _attempt(self, target: Target, action: Callable[[Bot], Awaitable[Any]]) -> None:
        """Run one call; if the connection was gone before the frame left, wait and run it again.

        ApiNotAvailable, WebSocketClosed and a disconnect under the send mean the
        OneBot side never got the call, so repeating it after a reconnect cannot
        send anything twice. A
        timeout (NetworkError) may follow a delivered call: it is not repeated.
        """
        deadline = self._clock() + self.reconnect_wait
        while True:
            try:
                await action(await self._bot(target.self_id))
                return
            except _NEVER_SENT:
                if self._clock() >= deadline:
                    raise
                await self._sleep(0.5)

    async def deliver(self, target: Target, actions: Iterable[Callable[[Bot], Awaitable[Any]]]) -> str:
        """Run API calls for one chat in order, paced, holding the chat's turn throughout.

        Returns SENT, UNCERTAIN or REFUSED. A timeout is UNCERTAIN, not a failure:
        the call may have been carried out, so a caller must neither repeat it
        (the member would get the text twice) nor treat it as never sent.
        """
        outcome = SENT
        async with self._locks[target]:
            for action in actions:
                await self._paced(target)
                try:
                    await self._attempt(target, action)
                except NetworkError as error:
                    outcome = REFUSED if outcome == REFUSED else UNCERTAIN
                    logger.warning(f"send to {target} failed: {type(error).__name__}: {error} (may have arrived; not repeated)")
                except (ActionFailed, BotUnavailable, *_NEVER_SENT) as error:
                    outcome = REFUSED
                    logger.warning(f"send to {target} failed: {type(error).__name__}: {error}")
                    if isinstance(error, BotUnavailable):
                        break  # the other actions would wait as long again for the same account
                finally:
                    self._last_sent[target] = self._clock()
        return outcome

    async def call(self, target: Target, actions: Iterable[Callable[[Bot], Awaitable[Any]]]) -> bool:
        """As ``deliver``; True only if every call was answered with success."""
        return await self.deliver(target, actions) == SENT

    def _message_actions(self, target: Target, messages: Iterable[Message]) -> list[Callable[[Bot], Awaitable[Any]]]:
        def action(message: Message) -> Callable[[Bot], Awaitable[Any]]:
            if target.kind == "group":
                return lambda bot: bot.send_group_msg(group_id=target.id, message=message)
            return lambda bot: bot.send_private_msg(user_id=target.id, message=message)

        return [action(message) for message in messages]

    async def deliver_messages(self, target: Target, messages: Iterable[Message]) -> str:
        """Send messages as they are: SENT, UNCERTAIN or REFUSED (see ``deliver``)."""
        return await self.deliver(target, self._message_actions(target, messages))

    async def send_messages(self, target: Target, messages: Iterable[Message]) -> bool:
        return await self.deliver_messages(target, messages) == SENT

    async def deliver_text(self, target: Target, text: str) -> str:
        """Send ``text`` literally, split into pieces: SENT, UNCERTAIN or REFUSED (see ``deliver``)."""
        pieces = [text_message(piece) for piece in split_text(text, self.piece_limit)]
        return await self.deliver(target, self._message_actions(target, pieces))

    async def send_text(self, target: Target, text: str) -> bool:
        """Send ``text`` literally, split into pieces; False if any piece failed or timed out."""
        return await self.deliver_text(target, text) == SENT
