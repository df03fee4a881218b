"""The real-time sharing plugin as admins and members meet it: imports from chat, managing
documents, 推送, keyword subscriptions, and the scheduled pushes.

Chat commands go through NoneBug's test_matcher() with the API calls the bot must make
stated in order; any other call fails the test. Files are served by a real HTTP server
on 127.0.0.1, and imported into a database file (the import runs in a worker thread on
its own connection, as in the bot). Announcements and subscription notices run in
background tasks (runtime.spawn): each event's tasks are awaited before the next event
is handled, so their messages are expected right after the reply that started them.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from nonebot.adapters.onebot.v11 import GroupUploadNoticeEvent, Message, MessageSegment, PrivateMessageEvent
from nonebot.adapters.onebot.v11.event import File
from nonebug import App
from plugin_support import (
    BOT_ID,
    CONTACT,
    DOCUMENTS,
    FREE,
    FREE_GROUP,
    MEMBER,
    MEMBER_GROUP,
    OTHER_GROUP,
    SUPERUSER,
    VISITOR,
    Chat,
    Library,
    chat_config,
    make_store,
    private_event,
    text_message,
)

from wenku import members, sharing, texts
from wenku.durations import parse_duration
from wenku.importer import ImportOutcome, ImportRules, import_document
from wenku.search import SearchSessions, result_page, search
from wenku.sharing import Notice
from wenku.store import Store, StoredDocument
from wenku_bot.outbox import Outbox

#: The bot's clock in these tests: Monday 2024-05-06, 12:00 in Asia/Shanghai.
NOW = datetime(2024, 5, 6, 4, 0, tzinfo=timezone.utc)
ADMIN = SUPERUSER
MEMBER_QQ = 30002
DENIED = "没有权限"

SPEECH_TITLE = "在全县防汛抗旱工作会议上的讲话"
SPEECH_BODY = """同志们：
今天召开全县防汛抗旱工作会议，主要任务是分析当前汛情旱情，部署今年的防汛抗旱工作。
入汛以来，全县降雨偏多，部分河道水位持续上涨，防汛形势严峻复杂，大家务必高度重视。
各乡镇要压实防汛责任，落实巡堤查险制度，提前转移危险区域群众，确保不漏一户不落一人。
水利部门要加强水库调度，科学蓄水保水，确保城乡供水安全和农业灌溉需要。"""

HEADER = """仅供学习 禁止外传
酷乐文行
自建平台、实时分享
根据实际需求和形式任务不断迭代
现在订阅立享前3年的所有权益和资料

【打击倒卖活动】
举报倒卖会员资料的人，举报成功免费赠送一年会员材料！
会员群：                      免费QQ群：



"""


def distributed(title: str, body: str) -> str:
    """A document as the shop shares it: advertising header, title, QQ line, body, QQ footer."""
    return f"{HEADER}{title}\n\n酷乐文行整理，咨询QQ10000\n{body}\n\n酷乐文行整理，咨询QQ10000\n"


SPEECH = distributed(SPEECH_TITLE, SPEECH_BODY).encode("utf-8")
NEW_NUMBER = len(DOCUMENTS) + 1


# -- a web server with the files --------------------------------------------------------------------


@dataclass
class Files:
    base: str
    routes: dict[str, tuple[int, bytes]]

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def files() -> Iterator[Files]:
    routes: dict[str, tuple[int, bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Files(f"http://127.0.0.1:{httpd.server_address[1]}", routes)
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- the runtime, the clock, the background tasks ---------------------------------------------------------


def open_library(monkeypatch: pytest.MonkeyPatch, path, **config) -> Library:
    """A runtime around the test library in a database file, installed as the one the plugins see.

    As tests/plugins/conftest.py's install_runtime, with a file instead of memory: a chat
    import writes through its own connection in a worker thread, and searches read
    through connections of their own in others, as in the bot.
    """
    import wenku_bot.runtime
    from wenku_bot.readers import Readers
    from wenku_bot.runtime import Runtime

    bots: dict = {}
    runtime = Runtime(
        config=chat_config(wenku_db=path, **config),
        store=make_store(path),
        outbox=Outbox(0, reconnect_wait=0, bots=lambda: bots),
        sessions=SearchSessions(),
        rules=ImportRules(),
        superusers=frozenset({str(SUPERUSER)}),
        readers=Readers.pool(path),
    )
    monkeypatch.setattr(wenku_bot.runtime, "_runtime", runtime)
    return Library(runtime=runtime, bots=bots)


@pytest.fixture
def shared(wenku_sharing_plugin, monkeypatch: pytest.MonkeyPatch, tmp_path):
    library = open_library(monkeypatch, tmp_path / "data" / "wenku.db")
    yield library
    library.runtime.readers.close()
    library.store.close()


@pytest.fixture(autouse=True)
def clock(wenku_sharing_plugin, monkeypatch: pytest.MonkeyPatch) -> None:
    import wenku_bot.runtime

    monkeypatch.setattr(wenku_bot.runtime, "now", lambda: NOW)
    monkeypatch.setattr(wenku_sharing_plugin, "now", lambda: NOW)


@pytest.fixture(autouse=True)
def background_settles(monkeypatch: pytest.MonkeyPatch) -> None:
    """After each event NoneBug feeds in, wait for the tasks its handlers spawned (and raise what they raised)."""
    import nonebot.message

    from wenku_bot.runtime import get_runtime

    handle_event = nonebot.message.handle_event

    async def handle_then_settle(bot, event) -> None:
        await handle_event(bot, event)
        awaited: set = set()
        while new := [task for task in list(get_runtime().background) if task not in awaited]:
            awaited.update(new)
            await asyncio.gather(*new)

    monkeypatch.setattr(nonebot.message, "handle_event", handle_then_settle)


# -- helpers ----------------------------------------------------------------------------------------------


def private(user: int) -> Chat:
    return Chat("private", user)


def dry_run(name: str, data: bytes) -> tuple[ImportOutcome, StoredDocument | None]:
    """What importing ``data`` into the test library gives: the outcome and the document, as the bot will make them."""
    store = make_store()
    try:
        outcome = import_document(store, name, data, now=NOW, rules=ImportRules())
        document = store.get_document(outcome.document_id) if outcome.imported else None
    finally:
        store.close()
    return outcome, document


def grant(library, user: int, length: str = "1月") -> None:
    members.extend(library.store, str(user), parse_duration(length), now=NOW - timedelta(days=1), actor="test")


def document_rows(store: Store) -> list[tuple]:
    return store.db.execute("SELECT id, title, category, deleted_at FROM documents ORDER BY id").fetchall()


def push_rows(store: Store) -> list[tuple]:
    return store.db.execute("SELECT kind, document_id, at, actor FROM push_log ORDER BY id").fetchall()


class OneOf:
    """Equal to any of ``options``: for a value the test allows more than one of."""

    def __init__(self, *options):
        self.options = options

    def __eq__(self, other) -> bool:
        return other in self.options

    def __repr__(self) -> str:
        return f"OneOf{self.options!r}"


def expect_group(ctx, group_id: int, text: str) -> None:
    ctx.should_call_api("send_group_msg", {"group_id": group_id, "message": text_message(text)}, {"message_id": 1})


def expect_private(ctx, user: int, text: str) -> None:
    ctx.should_call_api("send_private_msg", {"user_id": user, "message": text_message(text)}, {"message_id": 1})


def expect_announcements(ctx, document: StoredDocument) -> None:
    expect_group(ctx, FREE_GROUP, texts.free_announcement(document, CONTACT))
    expect_group(ctx, MEMBER_GROUP, texts.member_announcement(document))


async def exchange(app: App, library, chat: Chat, *turns: tuple[str, str | None], user_id: int | None = None) -> None:
    """Send each message in ``chat``; the bot must answer exactly the text given (None: no matcher accepts it)."""
    async with app.test_matcher() as ctx:
        bot = library.connect(ctx)
        for message, reply in turns:
            ctx.receive_event(bot, chat.message(message, user_id=user_id))
            if reply is None:
                ctx.should_not_pass_rule()
            else:
                chat.expect_reply(ctx, reply)


def upload(user_id: int, group_id: int, name: str = "防汛讲话.txt") -> GroupUploadNoticeEvent:
    return GroupUploadNoticeEvent(
        time=1714960800,
        self_id=int(BOT_ID),
        post_type="notice",
        notice_type="group_upload",
        group_id=group_id,
        user_id=user_id,
        file=File(id="/a1b2c3", name=name, size=len(SPEECH), busid=102),
    )


def private_file(user_id: int, **data) -> PrivateMessageEvent:
    message = Message(MessageSegment("file", data))
    return private_event(message, f"[CQ:file,file={data.get('file', '')}]", user_id=user_id)


# -- admin commands: refused to everyone else -------------------------------------------------------------

ADMIN_COMMANDS = [
    "导入 {files}/fangxun.txt",
    "删除 1",
    "恢复 7",
    "改标题 1 新的标题",
    "改分类 1 新分类",
    "推送 1",
]


@pytest.mark.parametrize("command", ADMIN_COMMANDS, ids=lambda command: command.split()[0])
@pytest.mark.parametrize("user", [VISITOR, MEMBER_QQ], ids=["visitor", "member"])
@pytest.mark.parametrize("kind", ["group", "private"])
async def test_admin_commands_are_refused_to_visitors_and_members(
    app: App, shared, files: Files, kind: str, user: int, command: str
):
    grant(shared, MEMBER_QQ)
    files.routes["/fangxun.txt"] = (200, SPEECH)
    sharing.delete_document(shared.store, 7, NOW)
    before = document_rows(shared.store)
    chat = MEMBER if kind == "group" else private(user)
    await exchange(app, shared, chat, (command.format(files=files.base), DENIED), user_id=user)
    assert document_rows(shared.store) == before  # nothing imported, deleted, restored or edited
    assert push_rows(shared.store) == []


# -- 导入 URL -----------------------------------------------------------------------------------------------


async def test_a_search_in_chat_finds_an_import_at_once(app: App, shared, files: Files):
    # Searches read through connections of their own, in worker threads; what the import just
    # committed through another connection must already be there.
    files.routes["/fangxun.txt"] = (200, SPEECH)
    outcome, _ = dry_run("fangxun.txt", SPEECH)
    await exchange(app, shared, private(ADMIN), (f"导入 {files.url('/fangxun.txt')}", texts.import_outcome(outcome)), user_id=ADMIN)
    found = texts.search_results(
        result_page(shared.store, search(shared.store, "巡堤查险"), 1), free_group=False, contact=shared.runtime.config.wenku_contact
    )
    assert found.startswith("「巡堤查险」共找到 1 篇") and "#8" in found
    await exchange(app, shared, private(ADMIN), ("搜索 巡堤查险", found), user_id=ADMIN)


@pytest.mark.parametrize("chat", [private(ADMIN), MEMBER, FREE], ids=str)
async def test_import_a_url(app: App, shared, files: Files, chat: Chat):
    files.routes["/fangxun.txt"] = (200, SPEECH)
    outcome, document = dry_run("fangxun.txt", SPEECH)
    assert (outcome.status, outcome.document_id, outcome.title) == ("imported", NEW_NUMBER, SPEECH_TITLE)
    assert outcome.keywords  # shown in the reply
    reply = texts.import_outcome(outcome)
    assert reply.startswith(f"已导入 #8 {SPEECH_TITLE}（{outcome.category}） 关键词：")
    await exchange(app, shared, chat, (f"导入 {files.url('/fangxun.txt')}", reply), user_id=ADMIN)
    stored = shared.store.get_document(NEW_NUMBER)
    assert stored == document
    assert (stored.title, stored.source, stored.body) == (SPEECH_TITLE, "fangxun.txt", SPEECH_BODY)
    assert search(shared.store, "巡堤查险").ids == (NEW_NUMBER,)
    assert push_rows(shared.store) == []  # WENKU_PUSH_ON_IMPORT is off


async def test_import_the_same_file_twice(app: App, shared, files: Files):
    files.routes["/fangxun.txt"] = (200, SPEECH)
    files.routes["/copy.txt"] = (200, SPEECH)
    outcome, _ = dry_run("fangxun.txt", SPEECH)
    duplicate = texts.import_outcome(
        ImportOutcome(name="copy.txt", status="duplicate", document_id=NEW_NUMBER, title=SPEECH_TITLE)
    )
    assert duplicate == f"跳过 copy.txt：与 #8 {SPEECH_TITLE} 完全相同"
    await exchange(
        app,
        shared,
        private(ADMIN),
        (f"导入 {files.url('/fangxun.txt')}", texts.import_outcome(outcome)),
        (f"导入 {files.url('/copy.txt')}", duplicate),
    )
    assert shared.store.document_count() == NEW_NUMBER


async def test_a_percent_encoded_name_is_decoded(app: App, shared, files: Files):
    files.routes["/%E9%98%B2%E6%B1%9B%E8%AE%B2%E8%AF%9D.txt?from=share"] = (200, SPEECH)
    outcome, _ = dry_run("防汛讲话.txt", SPEECH)
    await exchange(
        app,
        shared,
        private(ADMIN),
        (f"导入 {files.url('/%E9%98%B2%E6%B1%9B%E8%AE%B2%E8%AF%9D.txt?from=share')}", texts.import_outcome(outcome)),
    )
    assert shared.store.get_document(NEW_NUMBER).source == "防汛讲话.txt"


async def test_import_failures(app: App, shared, files: Files):
    files.routes["/broken.docx"] = (200, b"PK\x03\x04 this is no word document")
    files.routes["/short.txt"] = (200, "只有一行字".encode())
    broken, _ = dry_run("broken.docx", b"PK\x03\x04 this is no word document")
    assert broken.status == "failed"
    assert texts.import_outcome(broken) == "失败 broken.docx：不是有效的 .docx 文件（文件损坏或格式不符）"
    short, _ = dry_run("short.txt", "只有一行字".encode())
    assert short.status == "failed"
    await exchange(
        app,
        shared,
        private(ADMIN),
        (f"导入 {files.url('/missing.txt')}", texts.import_failed("missing.txt", "下载失败（HTTP 404）")),
        (f"导入 {files.url('/broken.docx')}", texts.import_outcome(broken)),
        (f"导入 {files.url('/short.txt')}", texts.import_outcome(short)),
        ("导入 http://127.0.0.1:1/a.txt", texts.import_failed("a.txt", "下载失败（ConnectError）")),
        ("导入 http://127.0.0.1:99999/a.txt", texts.import_failed("a.txt", "不是可下载的网址")),
        ("导入 http://[::1/a.txt", texts.import_failed("a.txt", "不是可下载的网址")),
    )
    assert shared.store.document_count() == len(DOCUMENTS)
    assert texts.import_failed("missing.txt", "下载失败（HTTP 404）") == "文件「missing.txt」没有导入：下载失败（HTTP 404）"


@pytest.mark.parametrize(
    "message",
    ["导入", "导入 ftp://127.0.0.1/a.txt", "导入 file:///etc/passwd", "导入 www.example.com/a.txt", "导入 http://a.txt http://b.txt"],
)
async def test_import_usage(app: App, shared, message: str):
    await exchange(app, shared, private(ADMIN), (message, texts.import_usage()))
    assert shared.store.document_count() == len(DOCUMENTS)


# -- files sent in chat -----------------------------------------------------------------------------------


@pytest.mark.parametrize("group", [FREE_GROUP, MEMBER_GROUP])
async def test_an_admin_upload_in_a_group_is_imported(app: App, shared, files: Files, group: int):
    files.routes["/group-file/a1b2c3"] = (200, SPEECH)
    outcome, _ = dry_run("防汛讲话.txt", SPEECH)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, upload(ADMIN, group))
        ctx.should_call_api(
            "get_group_file_url",
            {"group_id": group, "file_id": "/a1b2c3", "busid": 102},
            {"url": files.url("/group-file/a1b2c3")},
        )
        expect_group(ctx, group, texts.import_outcome(outcome))
    assert shared.store.get_document(NEW_NUMBER).source == "防汛讲话.txt"


async def test_an_upload_whose_address_cannot_be_had(app: App, shared, files: Files):
    from nonebot.adapters.onebot.v11.exception import ActionFailed

    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, upload(ADMIN, MEMBER_GROUP, "../../etc/防汛讲话.txt"))
        ctx.should_call_api(
            "get_group_file_url",
            {"group_id": MEMBER_GROUP, "file_id": "/a1b2c3", "busid": 102},
            exception=ActionFailed(retcode=100),
        )
        expect_group(ctx, MEMBER_GROUP, texts.import_failed("../../etc/防汛讲话.txt", "取不到文件地址（ActionFailed）"))
        ctx.receive_event(bot, upload(ADMIN, MEMBER_GROUP))
        ctx.should_call_api(
            "get_group_file_url",
            {"group_id": MEMBER_GROUP, "file_id": "/a1b2c3", "busid": 102},
            {"url": files.url("/expired")},
        )
        expect_group(ctx, MEMBER_GROUP, texts.import_failed("防汛讲话.txt", "下载失败（HTTP 404）"))
    assert shared.store.document_count() == len(DOCUMENTS)


@pytest.mark.parametrize(
    ("user", "group"),
    [(VISITOR, MEMBER_GROUP), (MEMBER_QQ, FREE_GROUP), (ADMIN, OTHER_GROUP)],
    ids=["visitor", "member", "unconfigured-group"],
)
async def test_other_uploads_are_ignored(app: App, shared, wenku_sharing_plugin, user: int, group: int):
    grant(shared, MEMBER_QQ)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, upload(user, group))
        ctx.should_not_pass_rule(wenku_sharing_plugin.group_uploads)
    assert shared.store.document_count() == len(DOCUMENTS)


async def test_a_private_file_with_a_url(app: App, shared, files: Files):
    files.routes["/private/fangxun.txt"] = (200, SPEECH)
    outcome, _ = dry_run("防汛讲话.txt", SPEECH)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(
            bot, private_file(ADMIN, file="防汛讲话.txt", file_id="f-1", url=files.url("/private/fangxun.txt"))
        )
        expect_private(ctx, ADMIN, texts.import_outcome(outcome))
    assert shared.store.get_document(NEW_NUMBER).title == SPEECH_TITLE


async def test_a_private_file_by_its_id_with_a_url(app: App, shared, files: Files):
    files.routes["/napcat/f-2"] = (200, SPEECH)
    outcome, _ = dry_run("防汛讲话.txt", SPEECH)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, private_file(ADMIN, file="防汛讲话.txt", file_id="f-2", file_size=str(len(SPEECH))))
        ctx.should_call_api("get_file", {"file_id": "f-2"}, {"url": files.url("/napcat/f-2")})
        expect_private(ctx, ADMIN, texts.import_outcome(outcome))
    assert shared.store.get_document(NEW_NUMBER).title == SPEECH_TITLE


async def test_a_private_file_by_its_id_as_napcat_answers(app: App, shared):
    """NapCat's get_file gives the path of its local copy as "url", and the content as "base64"."""
    outcome, _ = dry_run("防汛讲话.txt", SPEECH)
    local = "/root/.config/QQ/NapCat/temp/防汛讲话.txt"
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, private_file(ADMIN, file="防汛讲话.txt", file_id="f-3"))
        ctx.should_call_api(
            "get_file",
            {"file_id": "f-3"},
            {"file": local, "url": local, "file_size": str(len(SPEECH)), "file_name": "防汛讲话.txt",
             "base64": base64.b64encode(SPEECH).decode()},
        )
        expect_private(ctx, ADMIN, texts.import_outcome(outcome))
    assert shared.store.get_document(NEW_NUMBER).title == SPEECH_TITLE


async def test_a_private_file_that_cannot_be_had(app: App, shared):
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, private_file(ADMIN, file="防汛讲话.txt", file_id="f-4"))
        ctx.should_call_api("get_file", {"file_id": "f-4"}, {"file": "/tmp/x", "url": "/tmp/x"})
        expect_private(ctx, ADMIN, texts.import_failed("防汛讲话.txt", "不是可下载的网址"))
        ctx.receive_event(bot, private_file(ADMIN, file="防汛讲话.txt", file_id="f-5"))
        ctx.should_call_api("get_file", {"file_id": "f-5"}, {"base64": "这不是base64"})
        expect_private(ctx, ADMIN, texts.import_failed("防汛讲话.txt", "文件内容损坏"))
    assert shared.store.document_count() == len(DOCUMENTS)


async def test_a_private_file_from_someone_else_is_not_imported(app: App, shared, wenku_sharing_plugin, files: Files):
    grant(shared, MEMBER_QQ)
    files.routes["/private/fangxun.txt"] = (200, SPEECH)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        for user in (VISITOR, MEMBER_QQ):
            ctx.receive_event(bot, private_file(user, file="防汛讲话.txt", url=files.url("/private/fangxun.txt")))
            ctx.should_not_pass_rule(wenku_sharing_plugin.private_files)
    assert shared.store.document_count() == len(DOCUMENTS)


# -- 删除 / 恢复 / 改标题 / 改分类 -------------------------------------------------------------------------


def stored(store: Store, number: int) -> StoredDocument:
    return store.get_document(number, include_deleted=True)


async def test_delete_and_restore(app: App, shared):
    first = stored(shared.store, 1)
    assert texts.document_deleted(first) == (
        "已删除 #1 在全市工会工作会议上的讲话（不再出现在搜索和推送中，可发送「恢复 1」恢复）。"
    )
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, MEMBER.message("删除 1", user_id=ADMIN))
        MEMBER.expect_reply(ctx, texts.document_deleted(first))
        ctx.receive_event(bot, MEMBER.message("删除 #1", user_id=ADMIN))
        MEMBER.expect_reply(ctx, texts.document_not_found(1))
    assert document_rows(shared.store)[0] == (1, first.title, first.category, "2024-05-06T04:00:00+00:00")
    assert 1 not in search(shared.store, "工会").ids
    # Gone from 摘要 too (the library plugin reads the same store).
    await exchange(app, shared, private(VISITOR), ("摘要 1", texts.document_not_found(1)))
    await exchange(
        app,
        shared,
        private(ADMIN),
        ("恢复 １", texts.document_restored(first)),
        ("恢复 1", texts.document_not_found(1)),
    )
    assert document_rows(shared.store)[0] == (1, first.title, first.category, None)
    assert 1 in search(shared.store, "工会").ids


@pytest.mark.parametrize("command", ["删除", "恢复", "推送"])
@pytest.mark.parametrize(
    ("args", "shown"), [("", "（空）"), ("99", 99), ("abc", "abc"), ("#0", 0)], ids=["missing", "unknown", "not-a-number", "zero"]
)
async def test_commands_with_a_bad_number(app: App, shared, command: str, args: str, shown):
    before = document_rows(shared.store)
    await exchange(app, shared, private(ADMIN), (f"{command} {args}".strip(), texts.document_not_found(shown)))
    assert document_rows(shared.store) == before
    assert push_rows(shared.store) == []


async def test_retitle_and_recategorize(app: App, shared):
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, FREE.message("改标题 2 在第五届职工代表大会上的讲话", user_id=ADMIN))
        FREE.expect_reply(ctx, "#2 的标题已改为：在第五届职工代表大会上的讲话")
        ctx.receive_event(bot, FREE.message("改分类 #2 民主管理", user_id=ADMIN))
        FREE.expect_reply(ctx, "#2 在第五届职工代表大会上的讲话 的分类已改为：民主管理")
    assert document_rows(shared.store)[1] == (2, "在第五届职工代表大会上的讲话", "民主管理", None)
    assert search(shared.store, "第五届").ids == (2,)
    assert [document.id for document in shared.store.latest_documents(5, category="民主管理")] == [2]


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("改标题", texts.edit_usage("改标题")),
        ("改标题 2", texts.edit_usage("改标题")),
        ("改标题 第二篇 新标题", texts.edit_usage("改标题")),
        ("改标题 99 新标题", texts.document_not_found(99)),
        ("改标题 2 " + "长" * 61, texts.bad_edit("too_long")),
        ("改分类", texts.edit_usage("改分类")),
        ("改分类 2", texts.edit_usage("改分类")),
        ("改分类 99 工会", texts.document_not_found(99)),
        ("改分类 2 " + "长" * 13, texts.bad_edit("too_long")),
    ],
)
async def test_edits_with_bad_input(app: App, shared, message: str, reply: str):
    before = document_rows(shared.store)
    await exchange(app, shared, private(ADMIN), (message, reply))
    assert document_rows(shared.store) == before


async def test_a_deleted_document_cannot_be_edited_or_pushed(app: App, shared):
    sharing.delete_document(shared.store, 3, NOW)
    before = document_rows(shared.store)
    await exchange(
        app,
        shared,
        private(ADMIN),
        ("改标题 3 新标题", texts.document_not_found(3)),
        ("改分类 3 安全", texts.document_not_found(3)),
        ("推送 3", texts.document_not_found(3)),
    )
    assert document_rows(shared.store) == before
    assert push_rows(shared.store) == []


# -- 推送 ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", [private(ADMIN), MEMBER], ids=str)
async def test_push_announces_in_every_group(app: App, shared, chat: Chat):
    document = stored(shared.store, 1)
    free = texts.free_announcement(document, CONTACT)
    # The free groups see the title and a teaser of 60 characters, never more of the text.
    body = document.body.replace("\n", " ")
    assert body[:60] in free and body[60:80] not in free
    assert free.endswith(f"发送「摘要 1」看预览。\n开通会员看全文：{CONTACT}")
    assert texts.push_done(document, 2) == "已把 #1 在全市工会工作会议上的讲话 推送到 2 个群（按发送间隔依次发出）。"
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, chat.message("推送 1", user_id=ADMIN))
        chat.expect_reply(ctx, texts.push_done(document, 2))
        expect_group(ctx, FREE_GROUP, free)
        expect_group(ctx, MEMBER_GROUP, texts.member_announcement(document))
    assert push_rows(shared.store) == [("announce", 1, "2024-05-06T04:00:00+00:00", str(ADMIN))]


async def test_push_without_groups(app: App, shared):
    shared.runtime.config.wenku_free_groups = []
    shared.runtime.config.wenku_member_groups = []
    await exchange(app, shared, private(ADMIN), ("推送 1", texts.no_groups_to_push()))
    assert push_rows(shared.store) == []


async def test_push_on_import(app: App, wenku_sharing_plugin, monkeypatch, tmp_path, files: Files):
    library = open_library(monkeypatch, tmp_path / "wenku.db", wenku_push_on_import=True)
    try:
        files.routes["/fangxun.txt"] = (200, SPEECH)
        outcome, document = dry_run("fangxun.txt", SPEECH)
        async with app.test_matcher() as ctx:
            bot = library.connect(ctx)
            ctx.receive_event(bot, private(ADMIN).message(f"导入 {files.url('/fangxun.txt')}"))
            expect_private(ctx, ADMIN, texts.import_outcome(outcome))
            expect_announcements(ctx, document)
            # A duplicate is not announced again.
            ctx.receive_event(bot, private(ADMIN).message(f"导入 {files.url('/fangxun.txt')}"))
            expect_private(ctx, ADMIN, f"跳过 fangxun.txt：与 #8 {SPEECH_TITLE} 完全相同")
        assert push_rows(library.store) == [("announce", NEW_NUMBER, "2024-05-06T04:00:00+00:00", str(ADMIN))]
    finally:
        library.runtime.readers.close()
        library.store.close()


# -- subscriptions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["订阅 防汛", "退订 防汛", "我的订阅"])
@pytest.mark.parametrize("chat", [private(VISITOR), FREE], ids=str)
async def test_subscriptions_are_for_members(app: App, shared, chat: Chat, message: str):
    await exchange(app, shared, chat, (message, texts.subscriptions_members_only(CONTACT)))
    assert shared.store.db.execute("SELECT count(*) FROM subscriptions").fetchone()[0] == 0


@pytest.mark.parametrize("chat", [private(MEMBER_QQ), MEMBER], ids=str)
async def test_a_member_manages_subscriptions(app: App, shared, chat: Chat):
    grant(shared, MEMBER_QQ)
    await exchange(
        app,
        shared,
        chat,
        ("我的订阅", texts.my_subscriptions([])),
        ("订阅 防汛", "已订阅「防汛」，有包含它的新文档时会私信通知你。"),
        ("/订阅 鄉村振興", texts.subscribed("乡村振兴", True)),
        ("订阅 防汛", "你已经订阅过「防汛」了。"),
        # Listed in the order subscribed; the clock stands still here, so by the words themselves.
        ("我的订阅", "你订阅的关键词：乡村振兴、防汛\n发送「退订 词」取消。"),
        ("退订 防汛", texts.unsubscribed("防汛")),
        ("退订 防汛", texts.subscription_refused("unknown")),
        ("订阅 防", texts.subscription_refused("bad_term")),
        ("订阅 防汛 抗旱", texts.subscription_refused("bad_term")),
        ("订阅", texts.subscription_refused("bad_term")),
        ("我的订阅", texts.my_subscriptions(["乡村振兴"])),
        user_id=MEMBER_QQ,
    )
    assert shared.store.subscriptions_of(str(MEMBER_QQ)) == ["乡村振兴"]


async def test_twenty_subscriptions_at_most(app: App, shared):
    grant(shared, MEMBER_QQ)
    for number in range(20):
        sharing.subscribe(shared.store, str(MEMBER_QQ), f"关键词{number:02d}", NOW)
    await exchange(
        app, shared, private(MEMBER_QQ), ("订阅 防汛", texts.subscription_refused("too_many"))
    )
    assert len(shared.store.subscriptions_of(str(MEMBER_QQ))) == 20


async def test_a_blacklisted_member_is_not_answered(app: App, shared):
    grant(shared, MEMBER_QQ)
    members.ban(shared.store, str(MEMBER_QQ), "倒卖", now=NOW, actor=str(ADMIN))
    await exchange(app, shared, private(MEMBER_QQ), ("订阅 防汛", None))


async def test_subscribers_hear_of_a_new_document_once(app: App, shared, files: Files):
    grant(shared, MEMBER_QQ)
    grant(shared, 30004)
    sharing.subscribe(shared.store, str(MEMBER_QQ), "防汛", NOW)
    sharing.subscribe(shared.store, str(MEMBER_QQ), "巡堤查险", NOW)  # two words of one document: one notice
    sharing.subscribe(shared.store, "30004", "乡村振兴", NOW)  # not in it
    sharing.subscribe(shared.store, str(VISITOR), "防汛", NOW)  # a member once; not now
    files.routes["/fangxun.txt"] = (200, SPEECH)
    files.routes["/copy.txt"] = (200, SPEECH)
    outcome, document = dry_run("fangxun.txt", SPEECH)
    notice = texts.subscription_notice(Notice(str(MEMBER_QQ), "防汛", document))
    assert notice.startswith("你订阅的「防汛」有新文档：\n#8 在全县防汛抗旱工作会议上的讲话（")
    # Either of the member's two words may be named; one notice all the same.
    either = OneOf(*(text_message(texts.subscription_notice(Notice(str(MEMBER_QQ), term, document))) for term in ("防汛", "巡堤查险")))
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, MEMBER.message(f"导入 {files.url('/fangxun.txt')}", user_id=ADMIN))
        MEMBER.expect_reply(ctx, texts.import_outcome(outcome))
        ctx.should_call_api("send_private_msg", {"user_id": MEMBER_QQ, "message": either}, {"message_id": 1})
        ctx.receive_event(bot, MEMBER.message(f"导入 {files.url('/copy.txt')}", user_id=ADMIN))
        MEMBER.expect_reply(ctx, f"跳过 copy.txt：与 #8 {SPEECH_TITLE} 完全相同")
    [(user, number, term)] = shared.store.db.execute("SELECT user_id, document_id, term FROM subscription_notices")
    assert (user, number, term in ("防汛", "巡堤查险")) == (str(MEMBER_QQ), NEW_NUMBER, True)
    # Pushing it by hand later announces it in the groups, and tells no subscriber again.
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message("推送 8"))
        expect_private(ctx, ADMIN, texts.push_done(document, 2))
        expect_announcements(ctx, document)


async def test_a_notice_that_cannot_be_sent_is_released(app: App, shared, files: Files):
    from nonebot.adapters.onebot.v11.exception import ActionFailed

    grant(shared, MEMBER_QQ)
    sharing.subscribe(shared.store, str(MEMBER_QQ), "防汛", NOW)
    files.routes["/fangxun.txt"] = (200, SPEECH)
    outcome, document = dry_run("fangxun.txt", SPEECH)
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, private(ADMIN).message(f"导入 {files.url('/fangxun.txt')}"))
        expect_private(ctx, ADMIN, texts.import_outcome(outcome))
        ctx.should_call_api(
            "send_private_msg",
            {"user_id": MEMBER_QQ, "message": text_message(texts.subscription_notice(Notice(str(MEMBER_QQ), "防汛", document)))},
            exception=ActionFailed(retcode=1200),
        )
    # Not counted as told: the claim is gone.
    assert shared.store.db.execute("SELECT count(*) FROM subscription_notices").fetchone()[0] == 0


# -- scheduled pushes ---------------------------------------------------------------------------------------


async def test_the_daily_recommendation_goes_to_the_free_groups(app: App, shared):
    document = sharing.pick_recommendation(shared.store, NOW)
    async with app.test_api() as ctx:
        shared.connect(ctx)
        expect_group(ctx, FREE_GROUP, texts.recommendation(document, CONTACT))
        assert await push_recommendation(shared.runtime, NOW) is True
    assert push_rows(shared.store) == [("recommend", document.id, "2024-05-06T04:00:00+00:00", "schedule")]
    # The next day brings another document.
    tomorrow = NOW + timedelta(days=1)
    other = sharing.pick_recommendation(shared.store, tomorrow)
    assert other.id != document.id
    async with app.test_api() as ctx:
        shared.connect(ctx)
        expect_group(ctx, FREE_GROUP, texts.recommendation(other, CONTACT))
        assert await push_recommendation(shared.runtime, tomorrow) is True


async def test_the_weekly_digest_goes_to_the_member_groups(app: App, shared):
    documents = sharing.digest_documents(shared.store, NOW)
    assert [document.id for document in documents] == [7, 6, 5, 4, 3, 2, 1]
    async with app.test_api() as ctx:
        shared.connect(ctx)
        expect_group(ctx, MEMBER_GROUP, texts.weekly_digest(documents))
        assert await push_digest(shared.runtime, NOW) is True
    assert push_rows(shared.store) == [("digest", None, "2024-05-06T04:00:00+00:00", "schedule")]
    # Nothing new since: no second digest.
    async with app.test_api() as ctx:
        shared.connect(ctx)
        assert await push_digest(shared.runtime, NOW + timedelta(days=7)) is False


async def test_scheduled_pushes_skip_what_they_cannot_do(app: App, shared):
    # No account connected.
    assert await push_recommendation(shared.runtime, NOW) is False
    assert await push_digest(shared.runtime, NOW) is False
    # No group of the kind.
    shared.runtime.config.wenku_free_groups = []
    shared.runtime.config.wenku_member_groups = []
    async with app.test_api() as ctx:
        shared.connect(ctx)
        assert await push_recommendation(shared.runtime, NOW) is False
        assert await push_digest(shared.runtime, NOW) is False
    assert push_rows(shared.store) == []


def push_recommendation(runtime, now):
    from wenku_bot.sharing_jobs import push_recommendation as job

    return job(runtime, now)


def push_digest(runtime, now):
    from wenku_bot.sharing_jobs import push_digest as job

    return job(runtime, now)


async def test_an_admins_photo_is_left_alone(app: App, shared, wenku_sharing_plugin):
    """Admins share pictures and videos too: only document types are imported (and answered)."""
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, upload(ADMIN, MEMBER_GROUP, "会议现场.jpg"))
        ctx.should_not_pass_rule(wenku_sharing_plugin.group_uploads)
    assert shared.store.document_count() == len(DOCUMENTS)


async def test_an_upload_too_large_is_refused_before_downloading(app: App, shared):
    big = upload(ADMIN, MEMBER_GROUP)
    big.file.size = 21 * 1024 * 1024
    async with app.test_matcher() as ctx:
        bot = shared.connect(ctx)
        ctx.receive_event(bot, big)
        expect_group(ctx, MEMBER_GROUP, texts.import_failed("防汛讲话.txt", "文件超过 20 MB"))
    assert shared.store.document_count() == len(DOCUMENTS)
