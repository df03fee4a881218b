"""The members plugin as users and admins meet it: memberships, codes, full texts, tracing, joins, the daily job.

Chat commands are fed to every loaded matcher (NoneBug's test_matcher()),
with the API calls the bot must make stated in order; NoneBug fails a test
on any other call. Replies are the core's own texts (wenku.texts) rendered
with the values the plugin must pass: which text, to whom, with what, is
what these tests decide. The clock of the bot is frozen at ``NOW``.

The daily job and the removal of intruders run without NoneBug: they are
called directly with a ``FakeBot`` that keeps a group's member list and can
be told to fail some calls, as QQ does for a stranger or a missing right.
"""

from __future__ import annotations

import base64
import io
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from unittest.mock import ANY

import pytest
from docx import Document
from nonebot.adapters.onebot.v11 import Message, MessageSegment
from nonebot.adapters.onebot.v11.exception import ActionFailed
from nonebug import App
from plugin_support import (
    BOT_ID,
    CONTACT,
    DAILY_FULLTEXT,
    FREE,
    FREE_GROUP,
    MEMBER,
    MEMBER_GROUP,
    OTHER_GROUP,
    SUPERUSER,
    VISITOR,
    WATERMARK_SECRET,
    Chat,
    join_request,
    member_joined,
    text_message,
)

from wenku import codes, texts
from wenku.durations import Duration, parse_duration
from wenku.fulltext import TraceResult, finish_delivery, prepare_delivery, quota_left
from wenku.members import Membership, extend, membership
from wenku.store import utc_text
from wenku.watermark import find_marks, mask_qq

pytestmark = pytest.mark.usefixtures("members")

#: The bot's clock in these tests: Monday 2024-05-06, 12:00 in Asia/Shanghai.
NOW = datetime(2024, 5, 6, 4, 0, tzinfo=timezone.utc)
ADMIN = SUPERUSER
MEMBER_QQ = 30002
OUTSIDER = 30003  # neither member nor admin, the subject of admin commands
DENIED = "没有权限"
SENT_PRIVATELY = "已私信发送"
DOC_TITLE = "在全市工会工作会议上的讲话"  # document #1 of plugin_support.DOCUMENTS


@dataclass
class Clock:
    now: datetime = NOW


@pytest.fixture(autouse=True)
def clock(wenku_members_plugin, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the bot's clock, which the plugin and the runtime's role_of read."""
    import wenku_bot.runtime

    frozen = Clock()
    monkeypatch.setattr(wenku_bot.runtime, "now", lambda: frozen.now)
    monkeypatch.setattr(wenku_members_plugin, "now", lambda: frozen.now)
    return frozen


def grant(members, user: int, length: str | Duration = "1月", *, at: datetime = NOW) -> Membership:
    duration = parse_duration(length) if isinstance(length, str) else length
    return extend(members.store, str(user), duration, now=at, actor="test")


def private(user: int) -> Chat:
    return Chat("private", user)


class Captured:
    """The data of an expected API call whose values are checked after the call: keeps what was sent.

    Equal to a call's data when the keys are the same and the given values
    match (``ANY`` for those checked later).
    """

    def __init__(self, **expected):
        self.expected = expected
        self.data: dict | None = None

    def __eq__(self, other) -> bool:
        if not isinstance(other, dict) or self.expected != other:
            return False
        self.data = other
        return True

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __getitem__(self, key: str):
        assert self.data is not None, "the call was not made"
        return self.data[key]

    def __repr__(self) -> str:
        return f"Captured({self.expected!r})"


def failed() -> ActionFailed:
    return ActionFailed(status="failed", retcode=100, msg="fake failure", wording="发送失败")


def expect_private(ctx, user: int, text: str, *, exception: Exception | None = None) -> None:
    ctx.should_call_api(
        "send_private_msg", {"user_id": user, "message": text_message(text)}, {"message_id": 1}, exception
    )


async def exchange(app: App, members, chat: Chat, *turns: tuple[str, str | None], user_id: int | None = None) -> None:
    """Send each message in ``chat``; the bot must answer exactly the text given (None: no matcher accepts it)."""
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        for message, reply in turns:
            ctx.receive_event(bot, chat.message(message, user_id=user_id))
            if reply is None:
                ctx.should_not_pass_rule()
            else:
                chat.expect_reply(ctx, reply)


def chat_of(kind: str, user: int) -> Chat:
    return MEMBER if kind == "group" else private(user)


# -- admin commands: refused to everyone else ---------------------------------------------------

ADMIN_COMMANDS = [
    f"开通 {OUTSIDER} 1月",
    f"续费 {MEMBER_QQ} 1月",
    f"取消会员 {MEMBER_QQ}",
    f"查会员 {MEMBER_QQ}",
    "会员列表",
    "会员列表 到期",
    "生成卡密 3 1月",
    "卡密列表",
    "作废卡密 1",
    "溯源 这段文字是从哪里来的",
]


@pytest.mark.parametrize("message", ADMIN_COMMANDS)
@pytest.mark.parametrize("user", [VISITOR, MEMBER_QQ], ids=["visitor", "member"])
@pytest.mark.parametrize("kind", ["group", "private"])
async def test_admin_commands_are_refused_to_visitors_and_members(
    app: App, members, kind: str, user: int, message: str
):
    member_until = grant(members, MEMBER_QQ).valid_until
    codes.generate(members.store, 1, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    await exchange(app, members, chat_of(kind, user), (message, DENIED), user_id=user)
    # Nothing changed: no membership, no code, nothing voided.
    assert membership(members.store, str(OUTSIDER)) is None
    assert membership(members.store, str(MEMBER_QQ)).valid_until == member_until
    assert [(info.id, info.status) for info in codes.list_codes(members.store)] == [(1, "unused")]


# -- 开通 / 续费 --------------------------------------------------------------------------------


def changed(action: str, user: int, until: datetime | None) -> str:
    current = Membership(str(user), NOW, until, until is None, "admin")
    return texts.membership_changed(action, str(user), current)


@pytest.mark.parametrize("kind", ["group", "private"])
async def test_grant_and_extend(app: App, members, kind: str):
    grant(members, MEMBER_QQ, "1月")
    in_a_month = datetime(2024, 6, 6, 4, 0, tzinfo=timezone.utc)
    assert changed("grant", OUTSIDER, in_a_month) == "已开通 30003 的会员，有效期至 2024-06-06 12:00。"
    await exchange(
        app,
        members,
        chat_of(kind, ADMIN),
        (f"开通 {OUTSIDER} 1月", changed("grant", OUTSIDER, in_a_month)),
        # Renewal counts from the end of the running membership, not from now.
        (f"续费 {MEMBER_QQ} 1年", changed("extend", MEMBER_QQ, datetime(2025, 6, 6, 4, 0, tzinfo=timezone.utc))),
        user_id=ADMIN,
    )
    assert membership(members.store, str(OUTSIDER)).valid_until == in_a_month
    assert members.runtime.role_of(OUTSIDER) == "member"
    events = members.store.member_events(str(OUTSIDER))
    assert [(event["action"], event["duration"], event["actor"]) for event in events] == [("grant", "1个月", "10001")]
    events = members.store.member_events(str(MEMBER_QQ), 1)
    assert [(event["action"], event["duration"], event["actor"]) for event in events] == [("extend", "1年", "10001")]


@pytest.mark.parametrize(
    ("message", "action", "until"),
    [
        pytest.param(f"/开通{OUTSIDER} 7天", "grant", NOW + timedelta(days=7), id="slash"),
        pytest.param(f"\u3000开通 {OUTSIDER}\u30002周", "grant", NOW + timedelta(days=14), id="full-width-spaces"),
        pytest.param("开通 ３０００３ 1 年", "grant", datetime(2025, 5, 6, 4, tzinfo=timezone.utc), id="full-width-qq"),
        pytest.param(f"开通 {OUTSIDER} 永久", "grant", None, id="lifetime"),
        pytest.param(f"续费 {OUTSIDER} 三个月", "extend", datetime(2024, 8, 6, 4, tzinfo=timezone.utc), id="chinese"),
    ],
)
async def test_grant_spellings(app: App, members, message: str, action: str, until: datetime | None):
    await exchange(app, members, MEMBER, (message, changed(action, OUTSIDER, until)), user_id=ADMIN)
    current = membership(members.store, str(OUTSIDER))
    assert (current.valid_until, current.lifetime) == (until, until is None)


@pytest.mark.parametrize("command", ["开通", "续费"])
@pytest.mark.parametrize(
    ("args", "reply"),
    [
        pytest.param("abc 1月", texts.bad_qq("abc"), id="bad-qq"),
        pytest.param("1234 1月", texts.bad_qq("1234"), id="short-qq"),
        pytest.param(f"{OUTSIDER} 3天半", texts.bad_duration("3天半"), id="bad-duration"),
        pytest.param(f"{OUTSIDER} 0天", texts.bad_duration("0天"), id="zero-duration"),
        pytest.param(f"{OUTSIDER} 1月 多", texts.bad_duration("1月 多"), id="extra-words"),
        pytest.param(f"{OUTSIDER}", texts.bad_duration("（空）"), id="missing-duration"),
        pytest.param("", texts.bad_qq("（空）"), id="missing-everything"),
    ],
)
async def test_grant_with_bad_input(app: App, members, command: str, args: str, reply: str):
    await exchange(app, members, MEMBER, (f"{command} {args}".strip(), reply), user_id=ADMIN)
    assert members.store.members() == []


# -- 取消会员 / 查会员 ------------------------------------------------------------------------------


async def test_cancel(app: App, members):
    grant(members, MEMBER_QQ)
    await exchange(
        app,
        members,
        private(ADMIN),
        (f"取消会员 {MEMBER_QQ}", "已取消 30002 的会员。"),
        (f"取消会员 {MEMBER_QQ}", texts.not_a_member(str(MEMBER_QQ))),
        (f"取消会员 {OUTSIDER}", texts.not_a_member(str(OUTSIDER))),
        ("取消会员", texts.bad_qq("（空）")),
        ("取消会员 abc", texts.bad_qq("abc")),
    )
    assert members.runtime.role_of(MEMBER_QQ) == "visitor"
    assert [event["action"] for event in members.store.member_events(str(MEMBER_QQ))] == ["cancel", "extend"]


async def test_lookup(app: App, members):
    current = grant(members, MEMBER_QQ)
    events = members.store.member_events(str(MEMBER_QQ), 10)
    expected = texts.member_status_for_admin(str(MEMBER_QQ), current, "member", NOW, events, DAILY_FULLTEXT)
    assert expected.startswith("QQ 30002\n会员：有效，")
    never = texts.member_status_for_admin(str(OUTSIDER), None, "visitor", NOW, [], None)
    assert never == "QQ 30003\n会员：从未开通"
    await exchange(
        app,
        members,
        MEMBER,
        (f"查会员 {MEMBER_QQ}", expected),
        (f"查会员 {OUTSIDER}", never),
        ("查会员", texts.bad_qq("（空）")),
        ("查会员 3000x", texts.bad_qq("3000x")),
        user_id=ADMIN,
    )


async def test_lookup_shows_the_blacklist_and_the_quota_left(app: App, members):
    current = grant(members, MEMBER_QQ)
    delivery = prepare_delivery(
        members.store, user_id=str(MEMBER_QQ), document_id=1, format="text", now=NOW,
        secret=WATERMARK_SECRET, daily_limit=DAILY_FULLTEXT,
    )
    finish_delivery(members.store, delivery.id, True)
    members.store.add_to_blacklist(str(MEMBER_QQ), "外传全文", str(ADMIN), NOW)
    events = members.store.member_events(str(MEMBER_QQ), 10)
    expected = texts.member_status_for_admin(str(MEMBER_QQ), current, "blacklisted", NOW, events, 1)
    assert "状态：已拉黑" in expected and "今日剩余全文次数：1" in expected
    await exchange(app, members, private(ADMIN), (f"查会员 {MEMBER_QQ}", expected))


# -- 会员列表 ---------------------------------------------------------------------------------------


async def test_member_list(app: App, members):
    await exchange(
        app, members, private(ADMIN), ("会员列表", "有效会员：无"), ("会员列表 到期", "7天内到期的会员：无")
    )
    grant(members, 30002, "1月")
    grant(members, 30003, "3天")
    grant(members, 30004, "永久")
    grant(members, 30005, "7天", at=NOW - timedelta(days=40))  # long expired
    soon, month, lifetime = (membership(members.store, qq) for qq in ("30003", "30002", "30004"))
    await exchange(
        app,
        members,
        MEMBER,
        ("会员列表", texts.member_list([soon, month, lifetime], NOW, "有效会员")),
        ("/会员列表", texts.member_list([soon, month, lifetime], NOW, "有效会员")),
        ("会员列表 到期", texts.member_list([soon], NOW, "7天内到期的会员")),
        user_id=ADMIN,
    )


# -- 生成卡密 ---------------------------------------------------------------------------------------

CODE = re.compile(r"[2-9A-HJKMNP-Z]{5}(-[2-9A-HJKMNP-Z]{5}){3}")


def codes_in(message: Message) -> list[str]:
    return [match.group() for match in CODE.finditer(message.extract_plain_text())]


async def test_codes_generated_in_a_group_go_to_the_admin_privately(app: App, members):
    sent = Captured(user_id=ADMIN, message=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("生成卡密 3 1月", user_id=ADMIN))
        ctx.should_call_api("send_private_msg", sent, {"message_id": 1})
        MEMBER.expect_reply(ctx, texts.codes_sent_privately(3))
    new_codes = codes_in(sent["message"])
    assert len(set(new_codes)) == 3
    assert sent["message"] == text_message(texts.codes_generated(new_codes, "1个月"))
    assert [info.status for info in codes.list_codes(members.store)] == ["unused"] * 3
    # The codes work, and only the text sent privately holds them.
    assert codes.redeem(members.store, str(OUTSIDER), new_codes[0], now=NOW).valid_until == datetime(
        2024, 6, 6, 4, 0, tzinfo=timezone.utc
    )


async def test_codes_generated_in_private_are_the_only_reply(app: App, members):
    sent = Captured(user_id=ADMIN, message=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message("生成卡密 2 永久"))
        ctx.should_call_api("send_private_msg", sent, {"message_id": 1})
    new_codes = codes_in(sent["message"])
    assert sent["message"] == text_message(texts.codes_generated(new_codes, "永久"))
    assert len(new_codes) == 2


async def test_codes_that_cannot_be_sent_privately_are_voided(app: App, members):
    sent = Captured(user_id=ADMIN, message=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("生成卡密 2 1年", user_id=ADMIN))
        ctx.should_call_api("send_private_msg", sent, exception=failed())
        MEMBER.expect_reply(ctx, texts.codes_private_failed())
    assert [(info.status, info.duration) for info in codes.list_codes(members.store)] == [("void", "1年")] * 2
    for code in codes_in(sent["message"]):
        with pytest.raises(Exception, match="code refused: void"):
            codes.redeem(members.store, str(OUTSIDER), code, now=NOW)


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("生成卡密", texts.generate_usage(), id="missing-everything"),
        pytest.param("生成卡密 3", texts.generate_usage(), id="missing-duration"),
        pytest.param("生成卡密 abc 1月", texts.generate_usage(), id="bad-count"),
        pytest.param("生成卡密 3 1月 多", texts.generate_usage(), id="extra-words"),
        pytest.param("生成卡密 3 3天半", texts.bad_duration("3天半"), id="bad-duration"),
        pytest.param("生成卡密 0 1月", texts.too_many_codes(100), id="zero"),
        pytest.param("生成卡密 101 1月", texts.too_many_codes(100), id="too-many"),
    ],
)
async def test_generate_with_bad_input(app: App, members, message: str, reply: str):
    await exchange(app, members, MEMBER, (message, reply), user_id=ADMIN)
    assert codes.list_codes(members.store) == []


# -- 卡密列表 / 作废卡密 ---------------------------------------------------------------------------


async def test_code_list(app: App, members):
    await exchange(app, members, private(ADMIN), ("卡密列表", "还没有生成过卡密。"))
    used, voided, _ = codes.generate(members.store, 3, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    codes.redeem(members.store, str(MEMBER_QQ), used, now=NOW)
    codes.void(members.store, voided, now=NOW, actor=str(ADMIN))
    expected = texts.code_list(codes.list_codes(members.store))
    assert "#1 1个月 已使用 生成于 2024-05-06 使用者 30002" in expected
    await exchange(app, members, MEMBER, ("卡密列表", expected), user_id=ADMIN)


async def test_void_codes(app: App, members):
    first, second, third = codes.generate(members.store, 3, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    codes.redeem(members.store, str(MEMBER_QQ), third, now=NOW)
    await exchange(
        app,
        members,
        private(ADMIN),
        ("作废卡密 1", texts.code_voided(1)),
        ("作废卡密 #1", texts.code_refused("void")),
        (f"作废卡密 {second.lower().replace('-', '')}", texts.code_voided(2)),
        ("作废卡密 3", texts.code_refused("used")),
        ("作废卡密 99", texts.code_refused("unknown")),
        ("作废卡密 ABCDE-FGHJK-MNPQR-STUVW", texts.code_refused("unknown")),
        ("作废卡密", texts.void_usage()),
    )
    assert [info.status for info in codes.list_codes(members.store)] == ["used", "void", "void"]
    assert members.store.code_by_id(1)["voided_by"] == str(ADMIN)


# -- 会员 / 兑换 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", [FREE, MEMBER, private(VISITOR)], ids=str)
async def test_status_of_a_visitor(app: App, members, chat: Chat):
    expected = texts.my_membership(None, NOW, DAILY_FULLTEXT, [], CONTACT)
    assert expected.startswith("你目前不是会员。\n开通会员看全文：咨询QQ10000")
    await exchange(app, members, chat, ("会员", expected), ("我的会员", expected), ("/会员", expected))


async def test_status_of_a_member_and_of_an_expired_one(app: App, members):
    current = grant(members, MEMBER_QQ)
    delivery = prepare_delivery(
        members.store, user_id=str(MEMBER_QQ), document_id=1, format="text", now=NOW,
        secret=WATERMARK_SECRET, daily_limit=DAILY_FULLTEXT,
    )
    finish_delivery(members.store, delivery.id, True)
    expired = grant(members, OUTSIDER, "7天", at=NOW - timedelta(days=8))
    expected = texts.my_membership(current, NOW, 1, [], CONTACT)
    assert expected == "你是会员，有效期至 2024-06-06 12:00。\n今日剩余全文次数：1"
    await exchange(app, members, MEMBER, ("会员", expected), user_id=MEMBER_QQ)
    expired_text = texts.my_membership(expired, NOW, 2, [], CONTACT)
    assert expired_text.startswith("你的会员已于 2024-05-05 12:00 到期。")
    await exchange(app, members, MEMBER, ("会员", expired_text), user_id=OUTSIDER)


async def test_redeem_a_code(app: App, members):
    (code,) = codes.generate(members.store, 1, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    started = Membership(str(VISITOR), NOW, datetime(2024, 6, 6, 4, 0, tzinfo=timezone.utc), False, "code")
    await exchange(
        app,
        members,
        FREE,
        ("兑换", texts.needs_code()),
        (f"兑换 {code.lower().replace('-', '')}", texts.redeemed(started)),
        ("会员", texts.my_membership(started, NOW, DAILY_FULLTEXT, [], CONTACT)),
    )
    assert members.runtime.role_of(VISITOR) == "member"
    assert membership(members.store, str(VISITOR)) == started
    # Used once, by anyone: the second try fails, also for someone else.
    await exchange(app, members, private(OUTSIDER), (f"兑换 {code}", texts.code_refused("used")))
    await exchange(app, members, FREE, (f"兑换 {code}", texts.code_refused("used")))
    assert membership(members.store, str(OUTSIDER)) is None


async def test_redeem_unknown_and_void_codes(app: App, members):
    (code,) = codes.generate(members.store, 1, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    codes.void(members.store, code, now=NOW, actor=str(ADMIN))
    await exchange(
        app,
        members,
        private(VISITOR),
        ("兑换 ABCDE-FGHJK-MNPQR-STUVW", texts.code_refused("unknown")),
        (f"兑换 {code}", texts.code_refused("void")),
    )
    assert membership(members.store, str(VISITOR)) is None


async def test_redeeming_is_throttled_after_five_wrong_codes(app: App, members):
    (code,) = codes.generate(members.store, 1, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    wrong = [(f"兑换 ABCDE-FGHJK-MNPQR-STUV{n}", texts.code_refused("unknown")) for n in range(2, 7)]
    await exchange(
        app,
        members,
        FREE,
        *wrong,
        # Even the right code is refused now, and not used up.
        (f"兑换 {code}", texts.too_many_attempts(10)),
    )
    assert membership(members.store, str(VISITOR)) is None
    assert [info.status for info in codes.list_codes(members.store)] == ["unused"]
    # The limit is per QQ number.
    redeemed = Membership(str(OUTSIDER), NOW, datetime(2024, 6, 6, 4, 0, tzinfo=timezone.utc), False, "code")
    await exchange(app, members, FREE, (f"兑换 {code}", texts.redeemed(redeemed)), user_id=OUTSIDER)


async def test_redeeming_is_allowed_again_after_the_window(app: App, members):
    (code,) = codes.generate(members.store, 1, parse_duration("1月"), now=NOW, actor=str(ADMIN))
    for n in range(5):
        members.store.record_redeem_failure(str(VISITOR), NOW - timedelta(minutes=10, seconds=n + 1))
    redeemed = Membership(str(VISITOR), NOW, datetime(2024, 6, 6, 4, 0, tzinfo=timezone.utc), False, "code")
    await exchange(app, members, FREE, (f"兑换 {code}", texts.redeemed(redeemed)))


# -- 全文 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", [FREE, MEMBER, private(VISITOR)], ids=str)
@pytest.mark.parametrize("message", ["全文 1", "全文 1 文件", "/全文#1"])
async def test_fulltext_is_refused_to_visitors(app: App, members, chat: Chat, message: str):
    refusal = texts.fulltext_refused(CONTACT)
    assert refusal.startswith("全文仅向会员提供。开通会员看全文：咨询QQ10000")
    await exchange(app, members, chat, (message, refusal))
    assert list(members.store.db["deliveries"].rows) == []


def deliveries(members) -> list[tuple]:
    return [
        (row["id"], row["user_id"], row["document_id"], row["format"], row["group_id"], row["status"])
        for row in members.store.db["deliveries"].rows
    ]


def node_text(messages: Message) -> str:
    """The text of a merged-forward, checking that every segment is a node sent as the bot."""
    assert messages and all(segment.type == "node" for segment in messages)
    assert {(segment.data["user_id"], segment.data["nickname"]) for segment in messages} == {(BOT_ID, "文库")}
    return "".join(segment.data["content"].extract_plain_text() for segment in messages)


def assert_delivered(text: str, delivery_id: int, user: int = MEMBER_QQ) -> None:
    """The full text of document #1, marked for ``delivery_id`` visibly and invisibly."""
    assert find_marks(text, WATERMARK_SECRET) == [delivery_id]
    assert text.count(texts.watermark_line(mask_qq(str(user)), delivery_id)) == 2
    assert DOC_TITLE[:4] in text and "让每一名职工都感受到" in text.replace("\u200b", "")


@pytest.mark.parametrize("chat", [MEMBER, FREE], ids=str)
async def test_fulltext_for_a_member_in_a_group_goes_privately_as_a_merged_forward(app: App, members, chat: Chat):
    grant(members, MEMBER_QQ)
    forward = Captured(user_id=MEMBER_QQ, messages=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, chat.message("全文 1", user_id=MEMBER_QQ))
        ctx.should_call_api("send_private_forward_msg", forward, {"message_id": 1})
        chat.expect_reply(ctx, SENT_PRIVATELY)
    assert_delivered(node_text(forward["messages"]), 1)
    assert deliveries(members) == [(1, "30002", 1, "text", str(chat.id), "sent")]


async def test_fulltext_in_private_needs_no_confirmation(app: App, members):
    grant(members, MEMBER_QQ)
    forward = Captured(user_id=MEMBER_QQ, messages=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, private(MEMBER_QQ).message("全文 #1 文本"))
        ctx.should_call_api("send_private_forward_msg", forward, {"message_id": 1})
    assert_delivered(node_text(forward["messages"]), 1)
    assert deliveries(members) == [(1, "30002", 1, "text", None, "sent")]


async def test_fulltext_for_an_admin(app: App, members):
    forward = Captured(user_id=ADMIN, messages=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("全文 1", user_id=ADMIN))
        ctx.should_call_api("send_private_forward_msg", forward, {"message_id": 1})
        MEMBER.expect_reply(ctx, SENT_PRIVATELY)
    assert_delivered(node_text(forward["messages"]), 1, ADMIN)


async def test_fulltext_falls_back_to_plain_messages_when_forwards_fail(app: App, members):
    grant(members, MEMBER_QQ)
    plain = Captured(user_id=MEMBER_QQ, message=ANY)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("全文 1", user_id=MEMBER_QQ))
        ctx.should_call_api("send_private_forward_msg", Captured(user_id=MEMBER_QQ, messages=ANY), exception=failed())
        ctx.should_call_api("send_private_msg", plain, {"message_id": 1})
        MEMBER.expect_reply(ctx, SENT_PRIVATELY)
    message = plain["message"]
    assert [segment.type for segment in message] == ["text"]
    assert_delivered(message.extract_plain_text(), 1)
    assert deliveries(members) == [(1, "30002", 1, "text", str(MEMBER_GROUP), "sent")]


async def test_fulltext_that_cannot_be_sent_privately_is_not_counted(app: App, members):
    grant(members, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("全文 1", user_id=MEMBER_QQ))
        ctx.should_call_api("send_private_forward_msg", Captured(user_id=MEMBER_QQ, messages=ANY), exception=failed())
        ctx.should_call_api("send_private_msg", Captured(user_id=MEMBER_QQ, message=ANY), exception=failed())
        MEMBER.expect_reply(ctx, texts.private_send_failed())
    assert deliveries(members) == [(1, "30002", 1, "text", str(MEMBER_GROUP), "failed")]
    assert quota_left(members.store, str(MEMBER_QQ), NOW, DAILY_FULLTEXT) == DAILY_FULLTEXT


@pytest.mark.parametrize("form", ["文件", "file"])
async def test_fulltext_as_a_word_file(app: App, members, form: str):
    grant(members, MEMBER_QQ)
    upload = Captured(user_id=MEMBER_QQ, file=ANY, name=f"{DOC_TITLE}_1.docx")
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message(f"全文 1 {form}", user_id=MEMBER_QQ))
        ctx.should_call_api("upload_private_file", upload, None)
        MEMBER.expect_reply(ctx, SENT_PRIVATELY)
        ctx.receive_event(bot, private(MEMBER_QQ).message(f"全文 1 {form}"))
        second = Captured(user_id=MEMBER_QQ, file=ANY, name=f"{DOC_TITLE}_2.docx")
        ctx.should_call_api("upload_private_file", second, None)
        private(MEMBER_QQ).expect_reply(ctx, texts.fulltext_file_sent(DOC_TITLE))
    assert upload["file"].startswith("base64://")
    document = Document(io.BytesIO(base64.b64decode(upload["file"].removeprefix("base64://"))))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert find_marks(text, WATERMARK_SECRET) == [1]
    assert texts.watermark_line(mask_qq(str(MEMBER_QQ)), 1) in text
    assert [row[3:] for row in deliveries(members)] == [("file", str(MEMBER_GROUP), "sent"), ("file", None, "sent")]


async def test_file_upload_that_fails_is_not_counted(app: App, members):
    grant(members, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("全文 1 文件", user_id=MEMBER_QQ))
        ctx.should_call_api("upload_private_file", Captured(user_id=MEMBER_QQ, file=ANY, name=ANY), exception=failed())
        MEMBER.expect_reply(ctx, texts.private_send_failed())
    assert deliveries(members) == [(1, "30002", 1, "file", str(MEMBER_GROUP), "failed")]


async def test_daily_quota(app: App, members):
    grant(members, MEMBER_QQ)
    chat = private(MEMBER_QQ)
    forward = lambda: Captured(user_id=MEMBER_QQ, messages=ANY)  # noqa: E731
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        # A failed send does not count; two that went out use up the quota of 2.
        ctx.receive_event(bot, chat.message("全文 1"))
        ctx.should_call_api("send_private_forward_msg", forward(), exception=failed())
        ctx.should_call_api("send_private_msg", Captured(user_id=MEMBER_QQ, message=ANY), exception=failed())
        chat.expect_reply(ctx, texts.private_send_failed())
        ctx.receive_event(bot, chat.message("全文 1"))
        ctx.should_call_api("send_private_forward_msg", forward(), {"message_id": 1})
        ctx.receive_event(bot, chat.message("全文 2"))
        ctx.should_call_api("send_private_forward_msg", forward(), {"message_id": 1})
        ctx.receive_event(bot, chat.message("全文 3"))
        chat.expect_reply(ctx, texts.quota_exhausted(DAILY_FULLTEXT))
        ctx.receive_event(bot, chat.message("会员"))
        chat.expect_reply(ctx, texts.my_membership(membership(members.store, str(MEMBER_QQ)), NOW, 0, [], CONTACT))
    assert [row[2:] for row in deliveries(members)] == [
        (1, "text", None, "failed"),
        (1, "text", None, "sent"),
        (2, "text", None, "sent"),
    ]


async def test_quota_starts_again_the_next_day(app: App, members, clock: Clock):
    grant(members, MEMBER_QQ)
    for document_id in (1, 2):
        delivery = prepare_delivery(
            members.store, user_id=str(MEMBER_QQ), document_id=document_id, format="text", now=NOW,
            secret=WATERMARK_SECRET, daily_limit=DAILY_FULLTEXT,
        )
        finish_delivery(members.store, delivery.id, True)
    await exchange(app, members, private(MEMBER_QQ), ("全文 3", texts.quota_exhausted(DAILY_FULLTEXT)))
    clock.now = datetime(2024, 5, 6, 16, 0, tzinfo=timezone.utc)  # midnight in Asia/Shanghai
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, private(MEMBER_QQ).message("全文 3"))
        ctx.should_call_api("send_private_forward_msg", Captured(user_id=MEMBER_QQ, messages=ANY), {"message_id": 1})


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("全文", texts.bad_fulltext_format(), id="missing"),
        pytest.param("全文 第一篇", texts.bad_fulltext_format(), id="not-a-number"),
        pytest.param("全文 1 pdf", texts.bad_fulltext_format(), id="bad-form"),
        pytest.param("全文 1 文件 文本", texts.bad_fulltext_format(), id="extra-words"),
        pytest.param("全文 99", texts.document_not_found(99), id="unknown-document"),
    ],
)
async def test_fulltext_with_bad_input(app: App, members, message: str, reply: str):
    grant(members, MEMBER_QQ)
    await exchange(app, members, MEMBER, (message, reply), user_id=MEMBER_QQ)
    assert deliveries(members) == []


async def test_a_blacklisted_member_gets_nothing_but_help(app: App, members):
    grant(members, MEMBER_QQ)
    members.store.add_to_blacklist(str(MEMBER_QQ), "外传全文", str(ADMIN), NOW)
    for chat in (MEMBER, private(MEMBER_QQ)):
        await exchange(
            app,
            members,
            chat,
            ("全文 1", None),
            ("全文 1 文件", None),
            ("搜索 工会", None),
            ("会员", None),
            ("兑换 ABCDE-FGHJK-MNPQR-STUVW", None),
            ("帮助", texts.help_text("blacklisted")),
            user_id=MEMBER_QQ,
        )
    assert deliveries(members) == []


# -- 溯源 -------------------------------------------------------------------------------------------


def delivered_fragment(members, user: int = MEMBER_QQ) -> tuple[int, str]:
    """A delivery of document #1 to ``user``, and the marked body as a leaker would paste it (no visible line)."""
    delivery = prepare_delivery(
        members.store, user_id=str(user), document_id=1, format="text", now=NOW - timedelta(days=1),
        secret=WATERMARK_SECRET, daily_limit=DAILY_FULLTEXT,
    )
    finish_delivery(members.store, delivery.id, True)
    lines = delivery.text.split("\n")
    fragment = "\n".join(lines[2:-1])  # the body without the visible lines and the title
    assert "QQ" not in fragment and find_marks(fragment, WATERMARK_SECRET) == [delivery.id]
    return delivery.id, fragment


def trace_reply(members, delivery_id: int) -> str:
    row = members.store.delivery(delivery_id)
    expected = texts.trace_result(
        TraceResult(deliveries=[row], document=members.store.get_document(1)), {1: DOC_TITLE}
    )
    assert expected.startswith(f"找到水印，这段文字来自：\n· 会员 {row['user_id']}，文档 #1 {DOC_TITLE}，")
    return expected


async def test_trace_pasted_text(app: App, members):
    grant(members, MEMBER_QQ)
    grant(members, OUTSIDER)
    delivered_fragment(members, OUTSIDER)
    delivery_id, fragment = delivered_fragment(members)
    await exchange(app, members, private(ADMIN), (f"溯源\n{fragment}", trace_reply(members, delivery_id)))
    # Part of it is enough, and the slash form works in a group too.
    part = fragment[5:150]
    await exchange(app, members, MEMBER, (f"/溯源 {part}", trace_reply(members, delivery_id)), user_id=ADMIN)


async def test_trace_a_replied_message(app: App, members):
    """The admin answers the leaked message with 溯源.

    QQ sends [reply][at][溯源]; the adapter fetches the original with get_msg and sets event.reply.
    """
    from nonebot.adapters.onebot.v11.bot import _check_reply

    grant(members, MEMBER_QQ)
    delivery_id, fragment = delivered_fragment(members)
    event = MEMBER.message("溯源", user_id=ADMIN)
    event.message = Message([MessageSegment.reply(77), MessageSegment.at(OUTSIDER), MessageSegment.text(" 溯源")])
    event.original_message = event.message.copy()
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.should_call_api(
            "get_msg",
            {"message_id": 77},
            {
                "time": 1714960000,
                "message_type": "group",
                "message_id": 77,
                "real_id": 77,
                "sender": {"user_id": OUTSIDER, "nickname": "外人"},
                "message": [{"type": "text", "data": {"text": fragment}}],
            },
        )
        await _check_reply(bot, event)
        assert event.reply is not None and event.get_plaintext() == "溯源"
        ctx.receive_event(bot, event)
        MEMBER.expect_reply(ctx, trace_reply(members, delivery_id))


async def test_trace_without_a_mark_or_text(app: App, members):
    grant(members, MEMBER_QQ)
    delivery_id, fragment = delivered_fragment(members)
    stripped = re.sub("[\u200b\u200c\u200d\u2060]", "", fragment)
    by_content = texts.trace_result(
        TraceResult(document=members.store.get_document(1), recipients=[members.store.delivery(delivery_id)]),
        {},
    )
    assert by_content.startswith("没有找到水印（可能被去除）。内容出自 #1 ")
    await exchange(
        app,
        members,
        private(ADMIN),
        ("溯源", texts.trace_needs_text()),
        (f"溯源 {stripped}", by_content),
        ("溯源 今天天气很好我们去公园散步吧", texts.trace_result(TraceResult(), {})),
    )


# -- join requests ------------------------------------------------------------------------------------


def expect_answer(ctx, user: int, group: int, approve: bool, reason: str = "") -> None:
    ctx.should_call_api(
        "set_group_add_request",
        {"flag": f"flag-{group}-{user}", "sub_type": "add", "approve": approve, "reason": reason},
        None,
    )


async def test_join_requests(app: App, members):
    grant(members, MEMBER_QQ)
    grant(members, OUTSIDER, "7天", at=NOW - timedelta(days=8))  # expired
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, join_request(MEMBER_QQ))
        expect_answer(ctx, MEMBER_QQ, MEMBER_GROUP, True)
        ctx.receive_event(bot, join_request(ADMIN))
        expect_answer(ctx, ADMIN, MEMBER_GROUP, True)
        ctx.receive_event(bot, join_request(VISITOR))
        expect_answer(ctx, VISITOR, MEMBER_GROUP, False, texts.join_rejected(CONTACT))
        ctx.receive_event(bot, join_request(OUTSIDER))
        expect_answer(ctx, OUTSIDER, MEMBER_GROUP, False, texts.join_rejected(CONTACT))
        # The free group takes anyone.
        ctx.receive_event(bot, join_request(VISITOR, FREE_GROUP))
        expect_answer(ctx, VISITOR, FREE_GROUP, True)
        # Groups the bot does not serve, and invitations of the bot itself, are left alone.
        ctx.receive_event(bot, join_request(VISITOR, OTHER_GROUP))
        ctx.receive_event(bot, join_request(VISITOR, sub_type="invite"))
    assert texts.join_rejected(CONTACT) == "本群仅限会员加入。开通会员看全文：咨询QQ10000"


@pytest.mark.parametrize("group", [MEMBER_GROUP, FREE_GROUP])
async def test_join_requests_of_the_blacklisted_are_rejected(app: App, members, group: int):
    grant(members, MEMBER_QQ)
    members.store.add_to_blacklist(str(MEMBER_QQ), "外传全文", str(ADMIN), NOW)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, join_request(MEMBER_QQ, group))
        expect_answer(ctx, MEMBER_QQ, group, False, texts.join_rejected_blacklisted())


async def test_manual_join_mode_leaves_visitors_to_the_admins(app: App, members):
    members.runtime.config.wenku_join_mode = "manual"
    grant(members, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, join_request(VISITOR))  # no call at all
        ctx.receive_event(bot, join_request(MEMBER_QQ))
        expect_answer(ctx, MEMBER_QQ, MEMBER_GROUP, True)
        ctx.receive_event(bot, join_request(VISITOR, FREE_GROUP))
        expect_answer(ctx, VISITOR, FREE_GROUP, True)


async def test_a_failed_answer_is_logged_not_raised(app: App, members):
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, join_request(VISITOR))
        ctx.should_call_api(
            "set_group_add_request",
            {"flag": f"flag-{MEMBER_GROUP}-{VISITOR}", "sub_type": "add", "approve": False, "reason": ANY},
            exception=failed(),
        )


# -- someone enters the member group ------------------------------------------------------------------


async def test_a_non_member_entering_the_member_group_is_reported_and_scheduled_for_removal(app: App, members):
    members.runtime.config.wenku_admins = [10009]
    alert = texts.intruder_alert(VISITOR, MEMBER_GROUP, 10)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, member_joined(VISITOR))
        expect_private(ctx, ADMIN, alert)
        expect_private(ctx, 10009, alert)
    rows = members.store.db["pending_removals"].rows
    assert [(row["user_id"], row["group_id"], row["due_at"], row["done_at"]) for row in rows] == [
        (str(VISITOR), MEMBER_GROUP, utc_text(NOW + timedelta(minutes=10)), None)
    ]


async def test_members_admins_and_other_groups_are_not_reported(app: App, members):
    grant(members, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, member_joined(MEMBER_QQ))
        ctx.receive_event(bot, member_joined(ADMIN))
        ctx.receive_event(bot, member_joined(int(BOT_ID)))
        ctx.receive_event(bot, member_joined(VISITOR, FREE_GROUP))
        ctx.receive_event(bot, member_joined(VISITOR, OTHER_GROUP))
    assert list(members.store.db["pending_removals"].rows) == []


# -- the daily job and removals, with a fake QQ account ---------------------------------------------------


@dataclass
class FakeBot:
    """A QQ account for the jobs: a member list per group, calls recorded, some made to fail."""

    self_id: str = BOT_ID
    groups: dict[int, list[dict]] = field(default_factory=dict)
    fail_private: set[int] = field(default_factory=set)
    fail_kick: set[int] = field(default_factory=set)
    private: list[tuple[int, str]] = field(default_factory=list)
    kicked: list[tuple[int, int]] = field(default_factory=list)

    def join(self, group_id: int, *users: int, role: str = "member") -> None:
        self.groups.setdefault(group_id, []).extend({"user_id": user, "role": role} for user in users)

    async def send_private_msg(self, *, user_id: int, message: Message) -> dict:
        if user_id in self.fail_private:
            raise failed()
        self.private.append((user_id, message.extract_plain_text()))
        return {"message_id": len(self.private)}

    async def get_group_member_list(self, *, group_id: int) -> list[dict]:
        return [dict(person) for person in self.groups.get(group_id, [])]

    async def set_group_kick(self, *, group_id: int, user_id: int, reject_add_request: bool = False) -> None:
        if user_id in self.fail_kick:
            raise failed()
        self.kicked.append((group_id, user_id))
        self.groups[group_id] = [person for person in self.groups[group_id] if person["user_id"] != user_id]

    def take(self) -> tuple[dict[int, str], list[tuple[int, int]]]:
        """What was sent and kicked since the last take."""
        sent, kicked = dict(self.private), list(self.kicked)
        assert len(sent) == len(self.private), f"someone got two messages: {self.private}"
        self.private.clear()
        self.kicked.clear()
        return sent, kicked


@pytest.fixture
def qq(members) -> FakeBot:
    bot = FakeBot()
    members.bots[BOT_ID] = bot  # the outbox finds the account by its number
    return bot


def member_until(members, user: int, until: datetime) -> Membership:
    """A membership of 30 days that ends at ``until``."""
    return grant(members, user, Duration(days=30), at=until - timedelta(days=30))


async def test_daily_job(app: App, members, qq: FakeBot, clock: Clock):
    from wenku_bot.membership_jobs import run_daily_job

    week = member_until(members, 40001, NOW + timedelta(days=6))
    day = member_until(members, 40002, NOW + timedelta(hours=12))
    member_until(members, 40003, NOW + timedelta(days=20))  # nothing to say yet
    member_until(members, 40004, NOW - timedelta(days=1))  # expired: told and removed
    member_until(members, 40005, NOW - timedelta(days=2))  # expired, the kick fails
    week_unreachable = member_until(members, 40006, NOW + timedelta(days=5))  # the reminder fails
    grant(members, 40007, "永久")
    member_until(members, 40009, NOW - timedelta(days=60))  # expired long ago: removed without a word
    member_until(members, 40011, NOW - timedelta(days=3))
    grant(members, 40011, "1月", at=NOW - timedelta(hours=1))  # renewed after it ran out
    qq.join(MEMBER_GROUP, 40001, 40002, 40004, 40005, 40006, 40007, 40008, 40009, 40011, ADMIN, int(BOT_ID))
    qq.join(MEMBER_GROUP, 40010, role="admin")  # a group admin is never removed
    qq.join(MEMBER_GROUP, 40012, role="owner")
    qq.join(FREE_GROUP, 40004, 40008)  # the free group is no business of the job
    qq.fail_private = {40006}
    qq.fail_kick = {40005}
    expired = texts.expired_notice(CONTACT)

    done = await run_daily_job(members.runtime, NOW, bots=[qq])
    assert done == {"notices": 4, "failed_notices": 1, "removed": 3, "failed_removals": 1}
    sent, kicked = qq.take()
    assert sent == {
        40001: texts.reminder("7d", week, CONTACT),
        40002: texts.reminder("1d", day, CONTACT),
        40004: expired,
        40005: expired,
    }
    assert sorted(kicked) == [(MEMBER_GROUP, 40004), (MEMBER_GROUP, 40008), (MEMBER_GROUP, 40009)]

    # Next run: only what failed is tried again.
    qq.fail_private.clear()
    qq.fail_kick.clear()
    done = await run_daily_job(members.runtime, NOW + timedelta(hours=1), bots=[qq])
    assert done == {"notices": 1, "failed_notices": 0, "removed": 1, "failed_removals": 0}
    assert qq.take() == ({40006: texts.reminder("7d", week_unreachable, CONTACT)}, [(MEMBER_GROUP, 40005)])

    # And then there is nothing left to do.
    done = await run_daily_job(members.runtime, NOW + timedelta(hours=2), bots=[qq])
    assert done == {"notices": 0, "failed_notices": 0, "removed": 0, "failed_removals": 0}
    assert qq.take() == ({}, [])

    # A day later the 12-hour membership has run out: told, and removed at the moment the job runs.
    done = await run_daily_job(members.runtime, NOW + timedelta(days=1), bots=[qq])
    assert qq.take() == ({40002: expired}, [(MEMBER_GROUP, 40002)])
    assert done == {"notices": 1, "failed_notices": 0, "removed": 1, "failed_removals": 0}
    remaining = {person["user_id"] for person in qq.groups[MEMBER_GROUP]}
    assert remaining == {40001, 40006, 40007, 40011, ADMIN, int(BOT_ID), 40010, 40012}
    assert {person["user_id"] for person in qq.groups[FREE_GROUP]} == {40004, 40008}

    # 40002 renews and asks to join again: approved.
    clock.now = NOW + timedelta(days=1, hours=1)
    grant(members, 40002, "1月", at=clock.now)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, join_request(40002))
        expect_answer(ctx, 40002, MEMBER_GROUP, True)
        ctx.receive_event(bot, join_request(40004))
        expect_answer(ctx, 40004, MEMBER_GROUP, False, texts.join_rejected(CONTACT))


async def test_daily_job_reminds_again_for_a_renewed_membership(members, qq: FakeBot):
    from wenku_bot.membership_jobs import run_daily_job

    first = member_until(members, 40001, NOW + timedelta(days=6))
    await run_daily_job(members.runtime, NOW, bots=[qq])
    assert qq.take() == ({40001: texts.reminder("7d", first, CONTACT)}, [])
    # Renewed for a month: no reminder until the new end comes near, then one for it.
    renewed = grant(members, 40001, "1月", at=NOW + timedelta(days=1))
    await run_daily_job(members.runtime, NOW + timedelta(days=2), bots=[qq])
    assert qq.take() == ({}, [])
    await run_daily_job(members.runtime, renewed.valid_until - timedelta(days=3), bots=[qq])
    assert qq.take() == ({40001: texts.reminder("7d", renewed, CONTACT)}, [])
    await run_daily_job(members.runtime, renewed.valid_until - timedelta(hours=2), bots=[qq])
    assert qq.take() == ({40001: texts.reminder("1d", renewed, CONTACT)}, [])


async def test_daily_job_without_a_connected_account_sends_nothing(members):
    from wenku_bot.membership_jobs import run_daily_job

    member_until(members, 40001, NOW + timedelta(days=6))
    assert await run_daily_job(members.runtime, NOW, bots=[]) == {
        "notices": 0, "failed_notices": 0, "removed": 0, "failed_removals": 0
    }
    # Nothing recorded as done: the next run with an account sends the reminder.
    qq = FakeBot()
    members.bots[BOT_ID] = qq
    await run_daily_job(members.runtime, NOW, bots=[qq])
    assert list(qq.take()[0]) == [40001]


async def test_due_removals(app: App, members, qq: FakeBot, clock: Clock):
    from wenku_bot.membership_jobs import process_due_removals

    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        for user in (40001, 40002, 40003):
            ctx.receive_event(bot, member_joined(user))
            expect_private(ctx, ADMIN, texts.intruder_alert(user, MEMBER_GROUP, 10))
    members.bots[BOT_ID] = qq  # the fake account from now on
    qq.join(MEMBER_GROUP, 40001, 40002, 40003)
    qq.fail_kick = {40003}

    assert await process_due_removals(members.runtime, NOW + timedelta(minutes=9), bots=[qq]) == 0
    assert qq.take() == ({}, [])
    grant(members, 40002, "1月", at=NOW + timedelta(minutes=5))  # got a membership in time
    assert await process_due_removals(members.runtime, NOW + timedelta(minutes=10), bots=[qq]) == 1
    assert qq.take() == ({}, [(MEMBER_GROUP, 40001)])
    pending = lambda: [row["user_id"] for row in members.store.due_removals(NOW + timedelta(days=1))]  # noqa: E731
    assert pending() == ["40003"]  # the failed kick is tried again
    qq.fail_kick.clear()
    assert await process_due_removals(members.runtime, NOW + timedelta(minutes=11), bots=[qq]) == 1
    assert qq.take() == ({}, [(MEMBER_GROUP, 40003)])
    assert pending() == []
    assert await process_due_removals(members.runtime, NOW + timedelta(minutes=12), bots=[qq]) == 0
    assert {person["user_id"] for person in qq.groups[MEMBER_GROUP]} == {40002}


async def test_fulltext_that_stops_halfway_is_counted_and_says_so(app: App, members):
    """The member holds part of the text: it is logged for tracing and counts against the quota."""
    from wenku.importer import import_document

    grant(members, MEMBER_QQ)
    body = "\n".join(f"第{i}段，坚持以职工为中心，推进产业工人队伍建设改革，把维权服务落到实处。" for i in range(120))
    number = import_document(members.store, "long.txt", f"长篇讲话\n{body}".encode(), now=NOW).document_id
    chat = private(MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = members.connect(ctx)
        ctx.receive_event(bot, chat.message(f"全文 {number}"))
        ctx.should_call_api("send_private_forward_msg", Captured(user_id=MEMBER_QQ, messages=ANY), {"message_id": 1})
        ctx.should_call_api("send_private_forward_msg", Captured(user_id=MEMBER_QQ, messages=ANY), exception=failed())
        ctx.should_call_api("send_private_msg", Captured(user_id=MEMBER_QQ, message=ANY), exception=failed())
        chat.expect_reply(ctx, texts.private_send_partial())
    assert deliveries(members)[-1][-1] == "partial"
    assert quota_left(members.store, str(MEMBER_QQ), NOW, DAILY_FULLTEXT) == DAILY_FULLTEXT - 1
