"""What the plugin tests share: a small library of speeches, the runtime around it, chat events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import count
from typing import TYPE_CHECKING

from nonebot.adapters.onebot.v11 import (
    Bot,
    GroupIncreaseNoticeEvent,
    GroupMessageEvent,
    GroupRequestEvent,
    Message,
    MessageSegment,
    PrivateMessageEvent,
)
from nonebot.adapters.onebot.v11.event import Sender

from wenku.importer import ImportRules, import_document
from wenku.store import Store
from wenku_bot.config import Config

if TYPE_CHECKING:
    # wenku_bot.runtime needs an initialised NoneBot, which NoneBug starts only after collection.
    from wenku_bot.runtime import Runtime

BOT_ID = "2000"
FREE_GROUP = 20001
MEMBER_GROUP = 20002
OTHER_GROUP = 20003  # configured as neither: the bot must stay silent there
SUPERUSER = 10001
VISITOR = 30001
CONTACT = "咨询QQ10000"
WATERMARK_SECRET = "test-secret"
DAILY_FULLTEXT = 2
#: Every fixture document is imported at this moment: 2024-05-06 in Asia/Shanghai.
IMPORTED_AT = datetime(2024, 5, 6, 2, 0, tzinfo=timezone.utc)

#: Short speeches written for these tests. 落实 is in the first six, so searching it gives two pages.
DOCUMENTS = [
    (
        "gonghui.txt",
        """在全市工会工作会议上的讲话
同志们：
这次会议的任务是总结去年全市工会工作，部署今年的重点任务。
过去一年，各级工会组织认真落实职工维权机制，帮助职工追回欠薪，调解劳动争议。
今年要把维权服务延伸到新就业形态劳动者，让每一名职工都感受到工会的温暖。
""",
    ),
    (
        "zhidaihui.txt",
        """在职工代表大会上的讲话
各位代表：
职工代表大会是职工参与民主管理的基本形式。
我们要落实厂务公开制度，认真办理代表提案，把职工最关心的工资、休假和劳动保护问题解决好。
""",
    ),
    (
        "anquan.txt",
        """在安全生产工作会议上的讲话
同志们：
安全生产是发展的底线。
各单位要落实安全生产责任制，开展隐患排查整治，坚决遏制重特大事故发生。
应急管理部门要加强值班值守，确保信息畅通。
""",
    ),
    (
        "xiangcun.txt",
        """在乡村振兴推进会上的讲话
同志们：
乡村振兴是新时代三农工作的总抓手。
要落实耕地保护责任，发展特色产业，带动农民增收，改善农村人居环境。
""",
    ),
    (
        "lianzheng.txt",
        """在廉政建设工作会议上的讲话
同志们：
廉政建设关系人心向背。
各级领导干部要落实主体责任，严守纪律规矩，自觉接受监督，坚决反对形式主义和官僚主义。
""",
    ),
    (
        "jiaoyu.txt",
        """在全市教育工作会议上的讲话
同志们：
教育是国之大计。
要落实立德树人根本任务，改善学校办学条件，关心教师成长，减轻学生过重负担。
""",
    ),
    (
        "tuanwei.txt",
        """在共青团代表大会上的讲话
各位代表：
青年兴则国家兴。
各级团组织要引导团员青年坚定理想信念，在创新创业中建功立业。
""",
    ),
]


@dataclass
class Library:
    """The runtime the plugins see, and the bots its outbox may send through."""

    runtime: Runtime
    bots: dict[str, Bot] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return self.runtime.store

    def connect(self, ctx) -> Bot:
        """A NoneBug bot for ``ctx``, reachable by the outbox under its account."""
        bot = ctx.create_bot(base=Bot, self_id=BOT_ID)
        self.bots[BOT_ID] = bot
        return bot


#: What the tests of full texts add to chat_config: a watermark secret and a daily quota.
MEMBER_SETTINGS = {"wenku_watermark_secret": WATERMARK_SECRET, "wenku_daily_fulltext": DAILY_FULLTEXT}


def chat_config(**changes) -> Config:
    """The groups, contact and unpaced sends every plugin test runs with, and ``changes``."""
    settings = {
        "wenku_free_groups": [FREE_GROUP],
        "wenku_member_groups": [MEMBER_GROUP],
        "wenku_contact": CONTACT,
        "wenku_send_interval": 0,
        "wenku_demo": False,
    }
    return Config(**(settings | changes))


def make_store(path=None) -> Store:
    """The test library: in memory, or in a database file (WAL, as the bot's) for what works on the file."""
    store = Store.open(path) if path is not None else Store.memory()
    for name, text in DOCUMENTS:
        outcome = import_document(store, name, text.encode("utf-8"), now=IMPORTED_AT, rules=ImportRules())
        assert outcome.status == "imported", outcome
    return store


def text_message(text: str) -> Message:
    """How every reply must look: the whole text in one text segment, never parsed as QQ codes."""
    return Message(MessageSegment.text(text))


@dataclass(frozen=True)
class Chat:
    """Where a message comes from and its reply goes: a group, or a private chat with one user."""

    kind: str  # "group" or "private"
    id: int  # the group, or the user of a private chat

    def message(self, text: str, *, user_id: int | None = None) -> GroupMessageEvent | PrivateMessageEvent:
        """``text`` sent in this chat, by ``user_id`` (default: the visitor; in a private chat, its user)."""
        if self.kind == "group":
            return group_message(text, group_id=self.id, user_id=VISITOR if user_id is None else user_id)
        if user_id not in (None, self.id):
            raise ValueError(f"user {user_id} cannot write in the private chat of {self.id}")
        return private_message(text, user_id=self.id)

    def expect_reply(self, ctx, text: str) -> None:
        """The bot must answer in this chat with exactly ``text``."""
        if self.kind == "group":
            data = {"group_id": self.id, "message": text_message(text)}
            ctx.should_call_api("send_group_msg", data, {"message_id": 1})
        else:
            data = {"user_id": self.id, "message": text_message(text)}
            ctx.should_call_api("send_private_msg", data, {"message_id": 1})

    def __str__(self) -> str:
        return f"{self.kind}{self.id}"


FREE = Chat("group", FREE_GROUP)
MEMBER = Chat("group", MEMBER_GROUP)
PRIVATE = Chat("private", VISITOR)
OTHER = Chat("group", OTHER_GROUP)


_message_ids = count(1)


def _sender(user_id: int) -> Sender:
    return Sender(user_id=user_id, nickname=f"用户{user_id}")


def group_message(text: str, *, group_id: int = FREE_GROUP, user_id: int = VISITOR) -> GroupMessageEvent:
    """A group message as the adapter delivers it: whatever the user typed is one text segment."""
    message = Message(MessageSegment.text(text))
    return GroupMessageEvent(
        time=1714960800,
        self_id=int(BOT_ID),
        post_type="message",
        sub_type="normal",
        user_id=user_id,
        message_type="group",
        group_id=group_id,
        message_id=next(_message_ids),
        message=message,
        original_message=message,
        raw_message=text,
        font=0,
        sender=_sender(user_id),
    )


def private_event(message: Message, raw_message: str, *, user_id: int) -> PrivateMessageEvent:
    """A private message of any segments; ``raw_message`` is its CQ-code form as OneBot reports it."""
    return PrivateMessageEvent(
        time=1714960800,
        self_id=int(BOT_ID),
        post_type="message",
        sub_type="friend",
        user_id=user_id,
        message_type="private",
        message_id=next(_message_ids),
        message=message,
        original_message=message,
        raw_message=raw_message,
        font=0,
        sender=_sender(user_id),
    )


def private_message(text: str, *, user_id: int = VISITOR) -> PrivateMessageEvent:
    return private_event(Message(MessageSegment.text(text)), text, user_id=user_id)


def join_request(user_id: int, group_id: int = MEMBER_GROUP, *, sub_type: str = "add") -> GroupRequestEvent:
    """Someone asks to join a group the bot manages (sub_type invite: the bot itself is invited)."""
    return GroupRequestEvent(
        time=1714960800,
        self_id=int(BOT_ID),
        post_type="request",
        request_type="group",
        sub_type=sub_type,
        group_id=group_id,
        user_id=user_id,
        comment="我想加入",
        flag=f"flag-{group_id}-{user_id}",
    )


def member_joined(user_id: int, group_id: int = MEMBER_GROUP) -> GroupIncreaseNoticeEvent:
    """Someone has entered a group (approved by a group admin, or invited by a member)."""
    return GroupIncreaseNoticeEvent(
        time=1714960800,
        self_id=int(BOT_ID),
        post_type="notice",
        notice_type="group_increase",
        sub_type="invite",
        group_id=group_id,
        operator_id=10002,
        user_id=user_id,
    )
