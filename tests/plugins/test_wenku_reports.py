"""The reports plugin as users and admins meet it: 举报 with screenshots, review, the blacklist, 统计, 备份.

As in test_wenku_members: chat commands go to every loaded matcher, the API
calls the bot must make are stated in order, replies are the core's texts
rendered with the values the plugin must pass, and the clock is frozen at
``NOW``. Screenshots come from a real HTTP server on 127.0.0.1, as QQ's image
links are fetched by the bot.
"""

from __future__ import annotations

import struct
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest.mock import ANY

import pytest
from nonebot.adapters.onebot.v11 import Message, MessageSegment
from nonebot.adapters.onebot.v11.exception import ActionFailed
from nonebug import App
from plugin_support import (
    DAILY_FULLTEXT,
    FREE,
    FREE_GROUP,
    MEMBER,
    MEMBER_GROUP,
    SUPERUSER,
    VISITOR,
    WATERMARK_SECRET,
    Chat,
    text_message,
)

from wenku import texts
from wenku.durations import parse_duration
from wenku.fulltext import TraceResult, finish_delivery, prepare_delivery, quota_left
from wenku.members import Membership, extend, membership
from wenku.reports import Evidence, approve, blacklist, file_report, reject
from wenku.stats import admin_stats
from wenku.store import Store
from wenku.watermark import find_marks

pytestmark = pytest.mark.usefixtures("reports")

#: The bot's clock in these tests: Monday 2024-05-06, 12:00 in Asia/Shanghai.
NOW = datetime(2024, 5, 6, 4, 0, tzinfo=timezone.utc)
LOCAL_NOW = "2024-05-06 12:00"
ADMIN = SUPERUSER
REPORTER = VISITOR  # 30001, no membership
MEMBER_QQ = 30002  # a member, who may also report
RESELLER = 30005  # a member reported for reselling
OUTSIDER = 30003
BANNED = 30006  # on the blacklist from the start of some tests
SECOND_MEMBER_GROUP = 20004
DENIED = "没有权限"
CLAIM = "在闲鱼倒卖会员资料"
REWARD = parse_duration("1年")  # the default WENKU_REPORT_REWARD
DOC_TITLE = "在全市工会工作会议上的讲话"  # document #1 of plugin_support.DOCUMENTS


@dataclass
class Clock:
    now: datetime = NOW


@pytest.fixture(autouse=True)
def clock(wenku_reports_plugin, wenku_members_plugin, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the bot's clock, which the plugins and the runtime's role_of read."""
    import wenku_bot.runtime

    frozen = Clock()
    for module in (wenku_bot.runtime, wenku_reports_plugin, wenku_members_plugin):
        monkeypatch.setattr(module, "now", lambda: frozen.now)
    return frozen


def private(user: int) -> Chat:
    return Chat("private", user)


def chat_of(kind: str, user: int) -> Chat:
    return MEMBER if kind == "group" else private(user)


def grant(reports_runtime, user: int, length: str = "1月", *, at: datetime = NOW) -> Membership:
    return extend(reports_runtime.store, str(user), parse_duration(length), now=at, actor="test")


def file(reports_runtime, reporter: int = REPORTER, reported: int = RESELLER, text: str = CLAIM) -> int:
    return file_report(
        reports_runtime.store,
        reporter=str(reporter),
        reported=str(reported),
        text=text,
        group_id=str(FREE_GROUP),
        now=NOW,
        admins={str(ADMIN)},
    )


def failed() -> ActionFailed:
    return ActionFailed(status="failed", retcode=100, msg="fake failure", wording="操作失败")


def expect_private(ctx, user: int, text: str) -> None:
    ctx.should_call_api("send_private_msg", {"user_id": user, "message": text_message(text)}, {"message_id": 1})


def expect_kick(ctx, group: int, user: int, *, fail: bool = False) -> None:
    ctx.should_call_api(
        "set_group_kick", {"group_id": group, "user_id": user}, None, failed() if fail else None
    )


async def exchange(app: App, library, chat: Chat, *turns: tuple[str, str], user_id: int | None = None) -> None:
    """Send each message in ``chat``; the bot must answer exactly the text given, and nothing else."""
    async with app.test_matcher() as ctx:
        bot = library.connect(ctx)
        for message, reply in turns:
            ctx.receive_event(bot, chat.message(message, user_id=user_id))
            chat.expect_reply(ctx, reply)


def state(library) -> dict[str, list[dict]]:
    """Everything an admin command may change."""
    tables = ["reports", "report_evidence", "audit", "blacklist", "members", "member_events"]
    return {table: list(library.store.db[table].rows) for table in tables}


def backups_folder(library) -> Path:
    return library.runtime.data_dir / "backups"


# -- a server for screenshots ---------------------------------------------------------------------------


def tiny_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b"")


PNG = tiny_png()


class _Images(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path.endswith(".png"):
            status, kind, body = 200, "image/png", PNG
        else:
            status, kind, body = 404, "text/plain", b"gone"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def images():
    """The base address of a local server: *.png is a screenshot, anything else 404."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def with_images(event, *urls: str):
    """``event`` with screenshots after its text, as QQ delivers a message with pictures."""
    text = event.message.extract_plain_text()
    segments = [MessageSegment.text(text)]
    segments += [MessageSegment("image", {"file": f"{index}.image", "url": url}) for index, url in enumerate(urls)]
    event.message = Message(segments)
    return event


# -- admin commands: refused to everyone else -------------------------------------------------------------

ADMIN_COMMANDS = [
    "举报列表",
    "举报通过 1",
    "举报驳回 1 证据不足",
    f"拉黑 {OUTSIDER} 倒卖资料",
    f"解除拉黑 {BANNED}",
    "统计",
    "备份",
]


@pytest.mark.parametrize("message", ADMIN_COMMANDS)
@pytest.mark.parametrize("user", [VISITOR, MEMBER_QQ], ids=["visitor", "member"])
@pytest.mark.parametrize("kind", ["group", "private"])
async def test_admin_commands_are_refused_to_visitors_and_members(app: App, reports, kind: str, user: int, message: str):
    grant(reports, MEMBER_QQ)
    grant(reports, OUTSIDER)
    file(reports)
    reports.store.add_to_blacklist(str(BANNED), "外传全文", str(ADMIN), NOW)
    before = state(reports)
    await exchange(app, reports, chat_of(kind, user), (message, DENIED), user_id=user)
    assert state(reports) == before
    assert not backups_folder(reports).exists()


# -- 举报 ---------------------------------------------------------------------------------------------------


def alert(report_id: int, reporter: int, reported: int, text: str, evidence: list[Evidence]) -> str:
    return texts.report_alert(report_id, str(reporter), str(reported), text, evidence)


async def test_a_visitor_reports_with_a_screenshot(app: App, reports, images: str):
    url = f"{images}/qq-image/ABCDEF.png"
    event = with_images(FREE.message(f"举报 {RESELLER} {CLAIM}", user_id=REPORTER), url)
    expected_alert = alert(1, REPORTER, RESELLER, CLAIM, [Evidence(url, Path("saved"), None, len(PNG))])
    assert "截图 1 张\n" in expected_alert and expected_alert.startswith(f"新举报 #1：{REPORTER} 举报 {RESELLER}")
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, event)
        FREE.expect_reply(ctx, texts.report_filed(1))
        expect_private(ctx, ADMIN, expected_alert)
    row = reports.store.report(1)
    assert (row["reporter"], row["reported"], row["text"], row["status"], row["group_id"]) == (
        str(REPORTER), str(RESELLER), CLAIM, "open", str(FREE_GROUP)
    )
    [evidence] = reports.store.evidence(1)
    saved = Path(evidence["path"])
    assert evidence == {"id": 1, "report_id": 1, "url": url, "path": str(saved), "error": None, "bytes": len(PNG)}
    # Saved beside the database under a name of ours.
    assert saved.parent == reports.runtime.data_dir / "evidence"
    assert saved.name.startswith("report1_1_") and saved.suffix == ".png"
    assert saved.read_bytes() == PNG


async def test_a_screenshot_that_cannot_be_fetched_leaves_the_report_standing(app: App, reports, images: str):
    reports.runtime.config.wenku_admins = [10009]  # every admin is alerted
    gone, shot = f"{images}/expired-link", f"{images}/ok.png"
    event = with_images(private(REPORTER).message(f"举报 {RESELLER}"), gone, shot, "local-file.image")
    expected_alert = alert(
        1,
        REPORTER,
        RESELLER,
        "",
        [
            Evidence(gone, None, "下载失败（HTTP 404）", None),
            Evidence(shot, Path("saved"), None, len(PNG)),
            Evidence("local-file.image", None, "不是网络地址", None),
        ],
    )
    assert "截图 1 张（2 张未保存：下载失败（HTTP 404）、不是网络地址）" in expected_alert
    assert "说明：（无）" in expected_alert
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, event)
        private(REPORTER).expect_reply(ctx, texts.report_filed(1))
        expect_private(ctx, ADMIN, expected_alert)
        expect_private(ctx, 10009, expected_alert)
    assert [(row["url"], row["path"] is not None, row["error"]) for row in reports.store.evidence(1)] == [
        (gone, False, "下载失败（HTTP 404）"),
        (shot, True, None),
        ("local-file.image", False, "不是网络地址"),
    ]
    assert reports.store.report(1)["status"] == "open"


async def test_only_a_failing_screenshot(app: App, reports, images: str):
    gone = f"{images}/missing"
    event = with_images(MEMBER.message(f"举报 {RESELLER} 看截图", user_id=MEMBER_QQ), gone)
    expected_alert = alert(1, MEMBER_QQ, RESELLER, "看截图", [Evidence(gone, None, "下载失败（HTTP 404）", None)])
    assert "截图 0 张（1 张未保存：下载失败（HTTP 404））" in expected_alert
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, event)
        MEMBER.expect_reply(ctx, texts.report_filed(1))
        expect_private(ctx, ADMIN, expected_alert)
    assert [row["path"] for row in reports.store.evidence(1)] == [None]


async def test_reports_of_oneself_or_an_admin_are_refused(app: App, reports):
    await exchange(
        app,
        reports,
        FREE,
        (f"举报 {REPORTER} 我自己", texts.report_refused("self")),
        (f"举报 {ADMIN} 管理员倒卖", texts.report_refused("admin")),
        ("举报", texts.report_usage()),
        ("举报 abc 倒卖", texts.bad_qq("abc")),
        user_id=REPORTER,
    )
    assert texts.report_refused("self") == "不能举报自己。"
    assert state(reports)["reports"] == []
    assert state(reports)["audit"] == []


async def test_reports_are_throttled(app: App, reports, clock: Clock):
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        for number, reported in enumerate((RESELLER, OUTSIDER, MEMBER_QQ), 1):
            ctx.receive_event(bot, private(REPORTER).message(f"举报 {reported} 倒卖"))
            private(REPORTER).expect_reply(ctx, texts.report_filed(number))
            expect_private(ctx, ADMIN, alert(number, REPORTER, reported, "倒卖", []))
        ctx.receive_event(bot, private(REPORTER).message(f"举报 {BANNED} 倒卖"))
        private(REPORTER).expect_reply(ctx, texts.report_refused("throttled"))
    assert [row["reported"] for row in reports.store.reports("open")] == [str(RESELLER), str(OUTSIDER), str(MEMBER_QQ)]
    # An hour later it is allowed again.
    clock.now = NOW + timedelta(hours=1, seconds=1)
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, private(REPORTER).message(f"举报 {BANNED} 倒卖"))
        private(REPORTER).expect_reply(ctx, texts.report_filed(4))
        expect_private(ctx, ADMIN, alert(4, REPORTER, BANNED, "倒卖", []))


# -- 举报列表 -------------------------------------------------------------------------------------------------


async def test_report_list(app: App, reports):
    await exchange(app, reports, private(ADMIN), ("举报列表", "没有待处理的举报。"))
    file(reports)
    file(reports, reporter=MEMBER_QQ, reported=OUTSIDER, text="")
    file(reports, reporter=OUTSIDER, reported=BANNED)
    reports.store.add_evidence(1, "http://a/1.png", "/data/evidence/report1_1_x.png", None, 10)
    reports.store.add_evidence(1, "http://a/2.png", None, "下载超时", None)
    reports.store.add_evidence(2, "http://a/3.png", None, "不是图片", 5)
    reports.store.decide_report(3, "rejected", str(ADMIN), "无", NOW)
    pending = reports.store.reports("open")
    expected = texts.report_list(pending, {1: 1, 2: 0})
    assert expected == (
        "待处理的举报（2）：\n"
        f"#1 {LOCAL_NOW} 30001 举报 30005：{CLAIM}，截图 1 张\n"
        f"#2 {LOCAL_NOW} 30002 举报 30003：（无说明），截图 0 张\n"
        "处理：举报通过 编号 / 举报驳回 编号 理由"
    )
    await exchange(app, reports, MEMBER, ("举报列表", expected), ("/举报列表", expected), user_id=ADMIN)


# -- 举报通过 ----------------------------------------------------------------------------------------------------


async def test_approve(app: App, reports):
    reports.runtime.config.wenku_member_groups = [MEMBER_GROUP, SECOND_MEMBER_GROUP]
    grant(reports, RESELLER)
    file(reports)
    rewarded = Membership(str(REPORTER), NOW, NOW.replace(year=2025), False, "report")
    approved = texts.report_approved(
        {"id": 1, "reporter": str(REPORTER), "reported": str(RESELLER)},
        rewarded,
        [(MEMBER_GROUP, True), (SECOND_MEMBER_GROUP, False)],
    )
    assert approved == (
        f"举报 #1 已通过：30001 获得奖励，会员至 2025-05-06 12:00；30005 已取消会员并拉黑。\n"
        f"移出会员群 {MEMBER_GROUP}：成功\n"
        f"移出会员群 {SECOND_MEMBER_GROUP}：失败，请手动移出"
    )
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message("举报通过 1"))
        expect_kick(ctx, MEMBER_GROUP, RESELLER)
        expect_kick(ctx, SECOND_MEMBER_GROUP, RESELLER, fail=True)
        expect_private(ctx, ADMIN, approved)
        expect_private(ctx, REPORTER, texts.reporter_rewarded(1, rewarded))
        # Sent again (a double tap, or a second admin): nothing happens twice.
        ctx.receive_event(bot, private(ADMIN).message("举报通过 #1"))
        expect_private(ctx, ADMIN, texts.report_not_open(1, "approved"))
    assert texts.report_not_open(1, "approved") == "举报 #1 已经处理过了（已通过），不会重复处理。"
    assert membership(reports.store, str(REPORTER)) == rewarded
    assert [event["action"] for event in reports.store.member_events(str(REPORTER))] == ["reward"]
    assert reports.runtime.role_of(RESELLER) == "blacklisted"
    assert membership(reports.store, str(RESELLER)).valid_until == NOW
    assert reports.store.report(1)["status"] == "approved"


async def test_approve_in_a_group(app: App, reports):
    file(reports, reporter=MEMBER_QQ)
    current = grant(reports, MEMBER_QQ)  # a member who reports gets the reward on top
    rewarded = Membership(str(MEMBER_QQ), NOW, current.valid_until.replace(year=2025), False, "admin")
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("/举报通过1", user_id=ADMIN))
        expect_kick(ctx, MEMBER_GROUP, RESELLER)
        MEMBER.expect_reply(
            ctx,
            texts.report_approved(
                {"id": 1, "reporter": str(MEMBER_QQ), "reported": str(RESELLER)}, rewarded, [(MEMBER_GROUP, True)]
            ),
        )
        expect_private(ctx, MEMBER_QQ, texts.reporter_rewarded(1, rewarded))
    assert membership(reports.store, str(MEMBER_QQ)) == rewarded


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("举报通过", texts.approve_usage(), id="missing-number"),
        pytest.param("举报通过 abc", texts.approve_usage(), id="bad-number"),
        pytest.param("举报通过 99", texts.report_not_open(99, None), id="unknown-number"),
        pytest.param("举报通过 2", texts.report_not_open(2, "rejected"), id="rejected"),
    ],
)
async def test_approve_with_bad_input(app: App, reports, message: str, reply: str):
    file(reports)
    file(reports, reported=OUTSIDER)
    reject(reports.store, 2, "证据不足", actor=str(ADMIN), now=NOW)
    before = state(reports)
    await exchange(app, reports, private(ADMIN), (message, reply))
    assert state(reports) == before


# -- 举报驳回 ----------------------------------------------------------------------------------------------------


async def test_reject(app: App, reports):
    grant(reports, RESELLER)
    file(reports)
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("举报驳回 1 截图看不出是倒卖", user_id=ADMIN))
        MEMBER.expect_reply(ctx, texts.report_rejected(1))
        expect_private(ctx, REPORTER, texts.reporter_rejected(1, "截图看不出是倒卖"))
        ctx.receive_event(bot, MEMBER.message("举报驳回 1 再驳回一次", user_id=ADMIN))
        MEMBER.expect_reply(ctx, texts.report_not_open(1, "rejected"))
    assert texts.reporter_rejected(1, "截图看不出是倒卖") == "你的举报 #1 未通过核实。理由：截图看不出是倒卖"
    row = reports.store.report(1)
    assert (row["status"], row["reason"], row["decided_by"]) == ("rejected", "截图看不出是倒卖", str(ADMIN))
    # Nobody rewarded or banned.
    assert membership(reports.store, str(REPORTER)) is None
    assert reports.runtime.role_of(RESELLER) == "member"


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("举报驳回", texts.reject_usage(), id="missing-everything"),
        pytest.param("举报驳回 1", texts.reject_usage(), id="missing-reason"),
        pytest.param("举报驳回 abc 证据不足", texts.reject_usage(), id="bad-number"),
        pytest.param("举报驳回 99 证据不足", texts.report_not_open(99, None), id="unknown-number"),
        pytest.param("举报驳回 2 证据不足", texts.report_not_open(2, "approved"), id="approved"),
    ],
)
async def test_reject_with_bad_input(app: App, reports, message: str, reply: str):
    file(reports)
    file(reports, reported=OUTSIDER)
    approve(reports.store, 2, actor=str(ADMIN), now=NOW, reward=REWARD)
    before = state(reports)
    await exchange(app, reports, private(ADMIN), (message, reply))
    assert state(reports) == before


# -- 拉黑 / 解除拉黑 --------------------------------------------------------------------------------------------------


async def test_blacklist_and_unblacklist(app: App, reports):
    ended = Membership(str(MEMBER_QQ), NOW, NOW, False, "admin")
    grant(reports, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message(f"拉黑 {MEMBER_QQ} 外传全文到闲鱼"))
        expect_kick(ctx, MEMBER_GROUP, MEMBER_QQ, fail=True)
        expect_private(ctx, ADMIN, texts.blacklisted(str(MEMBER_QQ), ended, [(MEMBER_GROUP, False)]))
        ctx.receive_event(bot, private(ADMIN).message(f"拉黑 {OUTSIDER} 骚扰"))
        expect_kick(ctx, MEMBER_GROUP, OUTSIDER)
        expect_private(ctx, ADMIN, texts.blacklisted(str(OUTSIDER), None, [(MEMBER_GROUP, True)]))
    assert texts.blacklisted(str(MEMBER_QQ), ended, [(MEMBER_GROUP, False)]) == (
        f"已拉黑 30002，并取消其会员。\n移出会员群 {MEMBER_GROUP}：失败，请手动移出"
    )
    assert texts.blacklisted(str(OUTSIDER), None, []) == "已拉黑 30003。"
    assert [(row["user_id"], row["reason"]) for row in reports.store.blacklist()] == [
        (str(MEMBER_QQ), "外传全文到闲鱼"),
        (str(OUTSIDER), "骚扰"),
    ]
    assert membership(reports.store, str(MEMBER_QQ)) == ended
    assert reports.runtime.role_of(MEMBER_QQ) == "blacklisted"

    # The blacklisted get no service: a report of theirs is not even answered.
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, private(MEMBER_QQ).message(f"举报 {RESELLER} 倒卖"))
        ctx.should_not_pass_rule()
    assert reports.store.reports(None) == []

    await exchange(
        app,
        reports,
        MEMBER,
        (f"解除拉黑 {MEMBER_QQ}", texts.unblacklisted(str(MEMBER_QQ), True)),
        (f"解除拉黑 {MEMBER_QQ}", texts.unblacklisted(str(MEMBER_QQ), False)),
        user_id=ADMIN,
    )
    assert texts.unblacklisted(str(MEMBER_QQ), False) == "30002 不在黑名单中。"
    assert reports.runtime.role_of(MEMBER_QQ) == "visitor"  # the membership stays ended
    assert [entry["action"] for entry in reports.store.audit_of(str(MEMBER_QQ))] == ["unban", "ban"]


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("拉黑", texts.blacklist_usage(), id="missing-everything"),
        pytest.param(f"拉黑 {MEMBER_QQ}", texts.blacklist_usage(), id="missing-reason"),
        pytest.param("拉黑 abc 倒卖", texts.bad_qq("abc"), id="bad-qq"),
        pytest.param("拉黑 1234 倒卖", texts.bad_qq("1234"), id="short-qq"),
        pytest.param(f"拉黑 {ADMIN} 倒卖", texts.cannot_blacklist_admin(), id="an-admin"),
        pytest.param("解除拉黑", texts.bad_qq("（空）"), id="unban-missing-qq"),
        pytest.param("解除拉黑 abc", texts.bad_qq("abc"), id="unban-bad-qq"),
        pytest.param(f"解除拉黑 {OUTSIDER}", texts.unblacklisted(str(OUTSIDER), False), id="unban-not-listed"),
    ],
)
async def test_blacklist_with_bad_input(app: App, reports, message: str, reply: str):
    grant(reports, MEMBER_QQ)
    reports.store.add_to_blacklist(str(BANNED), "外传全文", str(ADMIN), NOW)
    before = state(reports)
    await exchange(app, reports, private(ADMIN), (message, reply))
    assert state(reports) == before


async def test_an_admin_from_the_settings_cannot_be_blacklisted(app: App, reports):
    reports.runtime.config.wenku_admins = [10009]
    await exchange(app, reports, private(ADMIN), ("拉黑 10009 倒卖", texts.cannot_blacklist_admin()))
    assert reports.store.blacklist() == []


# -- 统计 ---------------------------------------------------------------------------------------------------------


async def test_stats(app: App, reports):
    grant(reports, MEMBER_QQ)
    grant(reports, OUTSIDER, "3天")
    for _ in range(3):
        delivery = prepare_delivery(
            reports.store, user_id=str(MEMBER_QQ), document_id=1, format="text", now=NOW,
            secret=WATERMARK_SECRET, daily_limit=10,
        )
        finish_delivery(reports.store, delivery.id, True)
    file(reports)
    expected = texts.admin_stats(admin_stats(reports.store, NOW))
    assert expected.startswith("文档：7 篇\n")
    assert (
        "会员：有效 2 人，7天内到期 1 人\n全文：今天 3 次，近7天 3 次\n近7天领取全文最多的会员：\n· 30002 3 次\n待处理举报：1 个"
    ) in expected
    await exchange(app, reports, private(ADMIN), ("统计", expected))
    await exchange(app, reports, FREE, ("/统计", expected), user_id=ADMIN)


# -- 备份 ----------------------------------------------------------------------------------------------------------


class Reply:
    """A reply whose text is checked after the call: keeps what was sent."""

    def __init__(self, **expected):
        self.expected = expected
        self.data: dict | None = None

    def __eq__(self, other) -> bool:
        if not isinstance(other, dict) or {**other, "message": ANY} != {**self.expected, "message": ANY}:
            return False
        self.data = other
        return True

    @property
    def text(self) -> str:
        assert self.data is not None, "no reply was sent"
        return self.data["message"].extract_plain_text()


async def test_backup(app: App, reports):
    reports.runtime.config.wenku_backup_keep = 1
    grant(reports, MEMBER_QQ)
    file(reports)
    folder = backups_folder(reports)
    for name in ("wenku-20240506-120000.db", "wenku-20240506-120000-1.db"):
        sent = Reply(user_id=ADMIN)
        async with app.test_matcher() as ctx:
            bot = reports.connect(ctx)
            ctx.receive_event(bot, private(ADMIN).message("备份"))
            ctx.should_call_api("send_private_msg", sent, {"message_id": 1})
        path = folder / name
        # The clock stands still: the second backup in the same second keeps the first's name free
        # of clashes, and with WENKU_BACKUP_KEEP=1 it replaces the first.
        assert sent.text == texts.backup_done(str(path), path.stat().st_size, 1)
        assert [item.name for item in folder.iterdir()] == [name]
    copy = Store.open(path)
    try:
        assert copy.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.document_count() == 7
        assert list(copy.iter_documents()) == list(reports.store.iter_documents())
        assert copy.report(1) == reports.store.report(1)
        assert membership(copy, str(MEMBER_QQ)) == membership(reports.store, str(MEMBER_QQ))
    finally:
        copy.close()


# -- the audit log in 查会员 and 溯源 -------------------------------------------------------------------------------


def audit_text(library, user: int, limit: int) -> list[str]:
    return texts.audit_lines(library.store.audit_of(str(user), limit))


async def test_lookup_shows_the_audit_after_an_approval(app: App, reports):
    grant(reports, RESELLER)
    file(reports)
    async with app.test_matcher() as ctx:
        bot = reports.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message("举报通过 1"))
        expect_kick(ctx, MEMBER_GROUP, RESELLER)
        ctx.should_call_api("send_private_msg", {"user_id": ADMIN, "message": ANY}, {"message_id": 1})
        ctx.should_call_api("send_private_msg", {"user_id": REPORTER, "message": ANY}, {"message_id": 1})
    assert audit_text(reports, RESELLER, 10) == [
        f"· {LOCAL_NOW} 拉黑 举报#1 操作人 10001",
        f"· {LOCAL_NOW} 举报成立 举报#1 操作人 10001",
        f"· {LOCAL_NOW} 被举报 举报#1 操作人 30001：{CLAIM}",
    ]
    assert audit_text(reports, REPORTER, 10) == [f"· {LOCAL_NOW} 举报奖励 举报#1 操作人 10001：1年"]
    store = reports.store
    reseller = texts.member_status_for_admin(
        str(RESELLER),
        membership(store, str(RESELLER)),
        "blacklisted",
        NOW,
        store.member_events(str(RESELLER), 10),
        quota_left(store, str(RESELLER), NOW, DAILY_FULLTEXT),
        store.audit_of(str(RESELLER), 10),
    )
    assert reseller.endswith("举报与封禁：\n" + "\n".join(audit_text(reports, RESELLER, 10)))
    assert "状态：已拉黑" in reseller and "封禁收回" in reseller
    reporter = texts.member_status_for_admin(
        str(REPORTER),
        membership(store, str(REPORTER)),
        "member",
        NOW,
        store.member_events(str(REPORTER), 10),
        quota_left(store, str(REPORTER), NOW, DAILY_FULLTEXT),
        store.audit_of(str(REPORTER), 10),
    )
    assert "来源：举报奖励" in reporter
    assert reporter.endswith(f"举报与封禁：\n· {LOCAL_NOW} 举报奖励 举报#1 操作人 10001：1年")
    await exchange(
        app,
        reports,
        private(ADMIN),
        (f"查会员 {RESELLER}", reseller),
        (f"查会员 {REPORTER}", reporter),
    )


def delivered_fragment(library, user: int) -> tuple[int, str]:
    """A delivery of document #1 to ``user``, and the marked body as a leaker would paste it."""
    delivery = prepare_delivery(
        library.store, user_id=str(user), document_id=1, format="text", now=NOW - timedelta(days=1),
        secret=WATERMARK_SECRET, daily_limit=DAILY_FULLTEXT,
    )
    finish_delivery(library.store, delivery.id, True)
    fragment = "\n".join(delivery.text.split("\n")[2:-1])
    assert find_marks(fragment, WATERMARK_SECRET) == [delivery.id]
    return delivery.id, fragment


async def test_trace_shows_the_audit_of_the_member(app: App, reports):
    grant(reports, RESELLER, at=NOW - timedelta(days=2))
    delivery_id, fragment = delivered_fragment(reports, RESELLER)
    file(reports)
    blacklist(reports.store, str(RESELLER), "外传全文", actor=str(ADMIN), now=NOW)
    entries = reports.store.audit_of(str(RESELLER), 5)
    expected = texts.trace_result(
        TraceResult(deliveries=[reports.store.delivery(delivery_id)], document=reports.store.get_document(1)),
        {1: DOC_TITLE},
        {str(RESELLER): entries},
    )
    assert expected.endswith(
        f"\n{RESELLER} 的举报与封禁记录：\n"
        f"· {LOCAL_NOW} 拉黑 操作人 10001：外传全文\n"
        f"· {LOCAL_NOW} 被举报 举报#1 操作人 30001：{CLAIM}"
    )
    assert expected.startswith(f"找到水印，这段文字来自：\n· 会员 {RESELLER}，文档 #1 {DOC_TITLE}，")
    await exchange(app, reports, private(ADMIN), (f"溯源\n{fragment}", expected))
