"""The outgoing message path, with a fake bot and a fake clock: no NoneBot bot, no real waiting."""

from __future__ import annotations

import asyncio

import pytest
from nonebot.adapters.onebot.v11 import Message, MessageSegment
from nonebot.adapters.onebot.v11.exception import ActionFailed, ApiNotAvailable, NetworkError
from nonebot.exception import WebSocketClosed
from starlette.websockets import WebSocketDisconnect

from wenku.chunks import split_text
from wenku_bot.outbox import REFUSED, SENT, UNCERTAIN, Outbox, Target

GROUP = Target(self_id="2000", kind="group", id=20001)
OTHER_GROUP = Target(self_id="2000", kind="group", id=20002)
PRIVATE = Target(self_id="2000", kind="private", id=30001)


class FakeTime:
    """A monotonic clock that moves only when something sleeps (or a send takes time)."""

    def __init__(self, start: float = 1000.0):
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class FakeBot:
    """Records what it is asked to send and when the send began; a send may take time or fail."""

    def __init__(self, time: FakeTime, *, self_id: str = "2000", send_takes: float = 0.0, failures=()):
        self.self_id = self_id
        self.time = time
        self.send_takes = send_takes
        self.failures = list(failures)  # exceptions raised by the first sends, in order
        self.sent: list[tuple] = []

    async def _send(self, record: tuple) -> dict:
        self.time.now += self.send_takes
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(record)
        return {"message_id": len(self.sent)}

    async def send_group_msg(self, *, group_id: int, message: Message) -> dict:
        return await self._send(("group", group_id, message, self.time.now))

    async def send_private_msg(self, *, user_id: int, message: Message) -> dict:
        return await self._send(("private", user_id, message, self.time.now))


def text(piece: str) -> Message:
    return Message(MessageSegment.text(piece))


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def bot(time: FakeTime) -> FakeBot:
    return FakeBot(time)


def outbox_for(bot: FakeBot | None, time: FakeTime, **options) -> Outbox:
    bots = {} if bot is None else {bot.self_id: bot}
    return Outbox(options.pop("interval", 1.5), bots=lambda: bots, clock=time.clock, sleep=time.sleep, **options)


@pytest.fixture
def warnings_logged():
    from nonebot.log import logger

    records: list[str] = []
    handler_id = logger.add(lambda message: records.append(message.record["message"]), level="WARNING", format="{message}")
    yield records
    logger.remove(handler_id)


# -- pieces ----------------------------------------------------------------------------------

FOUR_PARAGRAPHS = "\n".join(
    [
        "第一段：总结去年全市工会工作。",
        "第二段：落实职工维权机制。",
        "第三段：把维权服务延伸到新就业形态劳动者。",
        "第四段：让职工感受到温暖。",
    ]
)


async def test_text_is_split_into_pieces_at_paragraph_boundaries(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time, piece_limit=30, interval=0)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is True
    pieces = [
        "第一段：总结去年全市工会工作。\n第二段：落实职工维权机制。",
        "第三段：把维权服务延伸到新就业形态劳动者。",
        "第四段：让职工感受到温暖。",
    ]
    assert pieces == split_text(FOUR_PARAGRAPHS, 30)
    assert [(kind, chat, message) for kind, chat, message, _ in bot.sent] == [
        ("group", 20001, text(piece)) for piece in pieces
    ]


async def test_short_text_is_one_message(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time)
    assert await outbox.send_text(PRIVATE, "没有编号为 99 的文档。") is True
    assert [(kind, chat, message) for kind, chat, message, _ in bot.sent] == [
        ("private", 30001, text("没有编号为 99 的文档。"))
    ]
    assert time.sleeps == []


@pytest.mark.parametrize("typed", ["[CQ:at,qq=all]", "&#91;CQ:face,id=1&#93;", "[CQ:image,file=http://x/y.jpg]"])
async def test_qq_codes_in_text_stay_text(bot: FakeBot, time: FakeTime, typed: str):
    outbox = outbox_for(bot, time)
    assert await outbox.send_text(GROUP, f"没有「{typed}」这个分类。") is True
    [(_, _, message, _)] = bot.sent
    assert [(segment.type, segment.data) for segment in message] == [("text", {"text": f"没有「{typed}」这个分类。"})]


# -- pacing ------------------------------------------------------------------------------------


async def test_sends_to_one_chat_are_spaced_by_the_interval(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time, piece_limit=30, interval=1.5)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is True
    assert time.sleeps == [1.5, 1.5]
    assert [at for *_, at in bot.sent] == [1000.0, 1001.5, 1003.0]


async def test_the_interval_counts_from_the_end_of_the_last_send(time: FakeTime):
    slow_bot = FakeBot(time, send_takes=0.5)
    outbox = outbox_for(slow_bot, time, piece_limit=30, interval=1.5)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is True
    # A send that takes half a second does not shorten the pause after it.
    assert time.sleeps == [1.5, 1.5]
    assert [at for *_, at in slow_bot.sent] == [1000.0, 1002.0, 1004.0]  # when each send began


async def test_a_later_message_waits_only_for_what_is_left_of_the_interval(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time, interval=1.5)
    await outbox.send_text(GROUP, "一")
    time.now += 1.0
    await outbox.send_text(GROUP, "二")
    time.now += 5.0
    await outbox.send_text(GROUP, "三")
    assert time.sleeps == [0.5]


async def test_two_chats_do_not_wait_for_each_other(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time, piece_limit=30, interval=1.5)
    await outbox.send_text(GROUP, "先发一条")
    await outbox.send_text(OTHER_GROUP, "另一个群")
    await outbox.send_text(PRIVATE, "私聊")
    assert time.sleeps == []
    assert [(kind, chat) for kind, chat, *_ in bot.sent] == [("group", 20001), ("group", 20002), ("private", 30001)]


async def test_a_chat_waiting_its_turn_does_not_hold_up_another_chat(bot: FakeBot, time: FakeTime):
    gate = asyncio.Event()
    slept: list[float] = []

    async def sleep_until_released(seconds: float) -> None:
        slept.append(seconds)
        await gate.wait()

    outbox = Outbox(1.5, piece_limit=30, bots=lambda: {"2000": bot}, clock=time.clock, sleep=sleep_until_released)
    long_reply = asyncio.create_task(outbox.send_text(GROUP, FOUR_PARAGRAPHS))
    while not slept:  # the first piece is out, the second waits for the interval
        await asyncio.sleep(0)
    assert await asyncio.wait_for(outbox.send_text(OTHER_GROUP, "另一个群不用等"), timeout=1) is True
    assert [(chat, message) for _, chat, message, _ in bot.sent] == [
        (20001, text("第一段：总结去年全市工会工作。\n第二段：落实职工维权机制。")),
        (20002, text("另一个群不用等")),
    ]
    gate.set()
    assert await long_reply is True
    assert [chat for _, chat, *_ in bot.sent] == [20001, 20002, 20001, 20001]


async def test_messages_to_one_chat_queue_whole(bot: FakeBot, time: FakeTime):
    outbox = outbox_for(bot, time, piece_limit=30, interval=1.5)
    first = asyncio.create_task(outbox.send_text(GROUP, FOUR_PARAGRAPHS))
    second = asyncio.create_task(outbox.send_text(GROUP, "第二条回复"))
    assert await asyncio.gather(first, second) == [True, True]
    # The second reply never lands between the pieces of the first, and keeps the pace.
    assert [message for _, _, message, _ in bot.sent] == [
        text("第一段：总结去年全市工会工作。\n第二段：落实职工维权机制。"),
        text("第三段：把维权服务延伸到新就业形态劳动者。"),
        text("第四段：让职工感受到温暖。"),
        text("第二条回复"),
    ]
    assert time.sleeps == [1.5, 1.5, 1.5]


# -- failures -------------------------------------------------------------------------------------


async def test_a_failed_send_returns_false_and_logs_a_warning(time: FakeTime, warnings_logged: list[str]):
    failure = ActionFailed(status="failed", retcode=1200, data=None, message="发送失败", wording="消息发送失败")
    failing_bot = FakeBot(time, failures=[failure])
    outbox = outbox_for(failing_bot, time)
    assert await outbox.send_text(GROUP, "你好") is False
    assert failing_bot.sent == []
    assert warnings_logged == [
        "send to group:20001 via 2000 failed: ActionFailed: "
        "ActionFailed(status='failed', retcode=1200, data=None, message='发送失败', wording='消息发送失败')"
    ]


async def test_after_a_failed_piece_the_others_are_still_sent(time: FakeTime, warnings_logged: list[str]):
    failing_bot = FakeBot(time, failures=[NetworkError("timeout")])
    outbox = outbox_for(failing_bot, time, piece_limit=30, interval=1.5)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is False
    assert [message for _, _, message, _ in failing_bot.sent] == [
        text("第三段：把维权服务延伸到新就业形态劳动者。"),
        text("第四段：让职工感受到温暖。"),
    ]
    assert time.sleeps == [1.5, 1.5]  # a failed send still counts for the pace
    assert warnings_logged == [
        "send to group:20001 via 2000 failed: NetworkError: NetWorkError(message='timeout') (may have arrived; not repeated)"
    ]


async def test_a_timeout_is_uncertain_and_a_refusal_is_refused(time: FakeTime, warnings_logged: list[str]):
    """Callers that must not repeat a text (full texts, daily notices) need to tell the two apart."""
    timed_out = outbox_for(FakeBot(time, failures=[NetworkError("timeout")]), time, interval=0)
    assert await timed_out.deliver_text(PRIVATE, "第一条") == UNCERTAIN
    refused = outbox_for(FakeBot(time, failures=[ActionFailed(retcode=1200)]), time, interval=0)
    assert await refused.deliver_text(PRIVATE, "第一条") == REFUSED
    fine = outbox_for(FakeBot(time), time, interval=0)
    assert await fine.deliver_text(PRIVATE, "第一条") == SENT
    # A refusal outweighs a timeout in the same batch: part of the text surely did not arrive.
    both = outbox_for(
        FakeBot(time, failures=[NetworkError("timeout"), ActionFailed(retcode=1200)]), time, piece_limit=30, interval=0
    )
    assert await both.deliver_text(GROUP, FOUR_PARAGRAPHS) == REFUSED
    warnings_logged.clear()


async def test_the_next_message_after_a_failure_goes_out(time: FakeTime, warnings_logged: list[str]):
    failing_bot = FakeBot(time, failures=[ActionFailed(retcode=1200)])
    outbox = outbox_for(failing_bot, time, interval=0)
    assert await outbox.send_text(PRIVATE, "第一条") is False
    assert await outbox.send_text(PRIVATE, "第二条") is True
    assert [message for _, _, message, _ in failing_bot.sent] == [text("第二条")]
    assert warnings_logged == ["send to private:30001 via 2000 failed: ActionFailed: ActionFailed(retcode=1200)"]


# -- reconnecting -----------------------------------------------------------------------------------


async def test_a_message_waits_for_the_bot_to_reconnect_and_goes_out_once(bot: FakeBot, time: FakeTime):
    lookups: list[float] = []

    def bots() -> dict:
        lookups.append(time.now)
        return {"2000": bot} if len(lookups) > 2 else {}  # gone for the first two lookups

    outbox = Outbox(1.5, reconnect_wait=60, bots=bots, clock=time.clock, sleep=time.sleep)
    assert await outbox.send_text(GROUP, "你好") is True
    assert lookups == [1000.0, 1000.5, 1001.0]
    assert time.sleeps == [0.5, 0.5]
    assert bot.sent == [("group", 20001, text("你好"), 1001.0)]


async def test_a_bot_that_does_not_come_back_in_time(time: FakeTime, warnings_logged: list[str]):
    outbox = outbox_for(None, time, reconnect_wait=2)
    assert await outbox.send_text(GROUP, "你好") is False
    assert time.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert warnings_logged == ["send to group:20001 via 2000 failed: BotUnavailable: 2000"]


async def test_another_account_is_not_used_in_its_place(time: FakeTime, warnings_logged: list[str]):
    other_account = FakeBot(time, self_id="2001")
    outbox = outbox_for(other_account, time, reconnect_wait=0)
    assert await outbox.send_text(GROUP, "你好") is False
    assert other_account.sent == []
    assert warnings_logged == ["send to group:20001 via 2000 failed: BotUnavailable: 2000"]


async def test_a_long_message_waits_for_a_missing_bot_once_not_once_per_piece(
    time: FakeTime, warnings_logged: list[str]
):
    outbox = outbox_for(None, time, piece_limit=30, interval=1.5, reconnect_wait=2)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is False
    assert time.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert warnings_logged == ["send to group:20001 via 2000 failed: BotUnavailable: 2000"]


# -- a connection lost before the call left -----------------------------------------------------------


@pytest.mark.parametrize(
    "lost",
    [ApiNotAvailable(), WebSocketClosed(1006, "gone"), WebSocketDisconnect(1006)],
    ids=["api-not-available", "ws-closed", "disconnect-under-the-send"],
)
async def test_a_call_that_never_left_is_sent_once_after_the_reconnect(time: FakeTime, lost: Exception, warnings_logged: list[str]):
    flaky_bot = FakeBot(time, failures=[lost])
    outbox = outbox_for(flaky_bot, time, interval=1.5, reconnect_wait=60)
    assert await outbox.send_text(GROUP, "你好") is True
    assert time.sleeps == [0.5]
    assert flaky_bot.sent == [("group", 20001, text("你好"), 1000.5)]
    assert warnings_logged == []


async def test_the_other_pieces_keep_their_order_after_a_retry(time: FakeTime):
    flaky_bot = FakeBot(time, failures=[ApiNotAvailable(), ApiNotAvailable()])
    outbox = outbox_for(flaky_bot, time, piece_limit=30, interval=1.5, reconnect_wait=60)
    assert await outbox.send_text(GROUP, FOUR_PARAGRAPHS) is True
    assert [message for _, _, message, _ in flaky_bot.sent] == [text(piece) for piece in split_text(FOUR_PARAGRAPHS, 30)]
    assert time.sleeps == [0.5, 0.5, 1.5, 1.5]


async def test_a_timeout_is_not_retried(time: FakeTime, warnings_logged: list[str]):
    # The OneBot side may have sent it before the answer was lost: sending again could post it twice.
    slow_bot = FakeBot(time, failures=[NetworkError("timeout")])
    outbox = outbox_for(slow_bot, time, reconnect_wait=60)
    assert await outbox.send_text(PRIVATE, "你好") is False
    assert slow_bot.sent == []
    assert time.sleeps == []
    assert warnings_logged == [
        "send to private:30001 via 2000 failed: NetworkError: NetWorkError(message='timeout') (may have arrived; not repeated)"
    ]


async def test_a_connection_that_stays_lost_gives_up_at_the_reconnect_wait(time: FakeTime, warnings_logged: list[str]):
    lost_bot = FakeBot(time, failures=[ApiNotAvailable()] * 10)
    outbox = outbox_for(lost_bot, time, reconnect_wait=2)
    assert await outbox.send_text(GROUP, "你好") is False
    assert lost_bot.sent == []
    assert time.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert warnings_logged == ["send to group:20001 via 2000 failed: ApiNotAvailable: ApiNotAvailable()"]
