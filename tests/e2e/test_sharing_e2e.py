"""Real-time sharing over the wire: files dropped into a group, announcements, subscriptions, pacing.

One bot serves the module with three free groups and two member groups,
WENKU_PUSH_ON_IMPORT on, a 1 MB upload limit and a 0.3 s send interval. The
files the admin "uploads" are served by a small HTTP server in the test: the
fake OneBot answers get_group_file_url with its address, as NapCat answers
with the address of QQ's file server. Each test uploads documents of its own
(titles and bodies are unique across the module), so they never meet; the
disconnect test starts a bot of its own.

Documents are written in the shape the business distributes them
(advertising header and footer around the title and the speech), so the
bodies in the database are checked to be the speech alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wenku import texts
from wenku.store import StoredDocument

from .conftest import CONTACT, REPO_ROOT, SELF_ID, SUPERUSER, UNCONFIGURED_GROUP, BotProcess, clean_environment, launch
from .onebot import ApiCall, FakeOneBot, Response

ADMIN = SUPERUSER
FREE_GROUPS = (20001, 20004, 20005)
MEMBER_GROUPS = (20002, 20003)
GROUPS = FREE_GROUPS + MEMBER_GROUPS
UPLOAD_GROUP = FREE_GROUPS[0]  # where the admin drops files
INTERVAL = 0.3
SLACK = 0.02  # scheduling slack allowed below INTERVAL between two sends to one group
WINDOW = 120  # a run of this many body characters in a free group is more than a teaser
QUIET = 1.0  # seconds of silence that count as "the bot ignored it"
MAX_UPLOAD_MB = 1

SETTINGS = {
    "WENKU_FREE_GROUPS": f"[{', '.join(map(str, FREE_GROUPS))}]",
    "WENKU_MEMBER_GROUPS": f"[{', '.join(map(str, MEMBER_GROUPS))}]",
    "WENKU_PUSH_ON_IMPORT": "true",
    "WENKU_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
    "WENKU_SEND_INTERVAL": str(INTERVAL),
    # No scheduled push may land in the groups while a test counts announcements.
    "WENKU_RECOMMEND_AT": "",
    "WENKU_DIGEST_AT": "",
}

SUBSCRIBER, OUTSIDER = 50001, 50002
TERM = "冰雪经济"


# -- documents in the distributed shape -------------------------------------------------------------

HEADER = """仅供学习 禁止外传
酷乐文行
自建平台、实时分享
根据实际需求和形式任务不断迭代
现在订阅立享前3年的所有权益和资料

【打击倒卖活动】
举报倒卖会员资料的人，举报成功免费赠送一年会员材料！
会员群：                      免费QQ群：



"""
FOOTER = "\n酷乐文行整理，咨询QQ10000\n"


def distributed(title: str, body: str) -> str:
    """A document as the shop shares it: advertising header, title, QQ line, body, QQ footer."""
    return f"{HEADER}{title}\n\n酷乐文行整理，咨询QQ10000\n{body}\n{FOOTER}"


TOPICS = (
    "安全生产", "乡村振兴", "营商环境", "生态环保", "教育强区", "卫生健康", "文化旅游", "交通运输",
    "水利建设", "粮食安全", "招商引资", "科技创新", "民政服务", "社会保障", "城市更新", "市场监管",
    "应急管理", "防汛抗旱", "森林防火", "信访工作", "统计调查", "审计整改", "档案管理", "人才引进",
    "稳定就业", "住房保障", "河湖长制", "禁毒宣传", "消防安全", "双拥共建", "养老服务", "数字政府",
    "外贸稳增长", "国资国企", "税收征管", "质量强市",
)  # fmt: skip

SENTENCES = (
    "今年以来，全区{topic}工作坚持问题导向，第{n}批{count}个重点项目全部开工建设，完成投资{money}亿元。",
    "各级各部门要把{topic}摆在更加突出的位置，主要负责同志亲自抓，分管同志具体抓，一级抓一级。",
    "要聚焦群众反映强烈的{topic}难点堵点，建立问题清单、责任清单和整改清单，逐项销号管理。",
    "去年全区共排查{topic}领域各类问题{count}项，已整改{done}项，整改率达到百分之{rate}。",
    "要加强统筹调度，每月召开一次{topic}工作例会，每季度通报一次进展，年底进行综合考评。",
    "对工作推进不力、敷衍塞责的单位，要严肃约谈问责，决不允许{topic}工作打折扣、搞变通。",
    "要健全{topic}长效机制，完善部门协同、上下联动的工作格局，推动各项政策落地见效。",
    "要加大{topic}投入力度，今年区财政安排专项资金{money}亿元，重点支持基层能力建设。",
    "各街道要配齐配强{topic}工作力量，确保每个社区至少有{few}名专职人员，做到事有人管、责有人担。",
    "要注重宣传引导，用好融媒体平台，讲好{topic}工作中的先进典型故事，营造全社会共同参与的良好氛围。",
    "要坚持数据说话，对照年初确定的{count}项{topic}目标任务，倒排工期、挂图作战，确保按期完成。",
    "同志们，做好{topic}工作责任重大、使命光荣，希望大家以更加饱满的热情、更加务实的作风，奋力开创新局面。",
)


@dataclass(frozen=True)
class Upload:
    """One file the admin drops into a group, with what the importer should make of it."""

    file_id: str
    name: str
    data: bytes
    title: str = ""
    body: str = ""


_file_numbers = itertools.count(1)


def speech(topic: str, n: int, *, extra: str = "") -> tuple[str, str]:
    """A unique title and a body of about 500 characters on ``topic``."""
    rng = random.Random(f"{topic}-{n}")
    sentences = [
        sentence.format(
            topic=topic, n=n, count=rng.randint(12, 90), done=rng.randint(5, 11), rate=rng.randint(80, 99),
            money=rng.randint(2, 40), few=rng.randint(2, 5),
        )
        for sentence in rng.sample(SENTENCES, len(SENTENCES))
    ]
    if extra:
        sentences.insert(3, extra)
    paragraphs = ["同志们："] + ["".join(sentences[i : i + 2]) for i in range(0, len(sentences), 2)]
    return f"在全区{topic}工作推进会上的讲话（第{n}场）", "\n".join(paragraphs)


def txt_upload(topic: str, n: int, *, extra: str = "", name: str | None = None) -> Upload:
    title, body = speech(topic, n, extra=extra)
    number = next(_file_numbers)
    return Upload(f"file-{number}", name or f"{topic}{n}.txt", distributed(title, body).encode("utf-8"), title, body)


# -- the files QQ keeps: a small HTTP server --------------------------------------------------------


class FileServer:
    """Serves uploaded files at ``http://127.0.0.1:PORT/<file id>`` and records every request.

    A file added with ``declare_length=False`` is sent without Content-Length
    (the end is the connection closing), so a size limit must count the bytes.
    """

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, bool]] = {}
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                file_id = self.path.lstrip("/")
                server.requests.append(file_id)
                if file_id not in server.files:
                    self.send_error(404)
                    return
                data, declare_length = server.files[file_id]
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                if declare_length:
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot stopped reading (too large): that is its right

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def add(self, upload: Upload, *, declare_length: bool = True) -> Upload:
        self.files[upload.file_id] = (upload.data, declare_length)
        return upload

    def url(self, file_id: str) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/{file_id}"

    def fetched(self, upload: Upload) -> int:
        return self.requests.count(upload.file_id)

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    server = FileServer()
    yield server
    server.close()


def serve_uploads(onebot: FakeOneBot, files: FileServer) -> None:
    """Answer get_group_file_url with the address of the file on the test's server."""
    onebot.respond("get_group_file_url", lambda call: Response({"url": files.url(str(call.params["file_id"]))}))


def upload_event(
    onebot: FakeOneBot, upload: Upload, *, user_id: int = ADMIN, group_id: int = UPLOAD_GROUP, size: int | None = None
) -> dict:
    """``size`` is what the event claims (the real size unless given): a client may send 0."""
    return onebot.group_upload(
        group_id=group_id,
        user_id=user_id,
        file_id=upload.file_id,
        name=upload.name,
        size=len(upload.data) if size is None else size,
        busid=102,
    )


# -- the module's bot and its database -----------------------------------------------------------------


@pytest.fixture(scope="module")
def library_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot every test here talks to through conftest's ``onebot``."""
    bot = launch(tmp_path_factory.mktemp("sharing_bot"), SETTINGS)
    yield bot
    bot.stop()


def cli(bot: BotProcess, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "wenku.cli", "--db", str(bot.db_path), *args],
        cwd=REPO_ROOT,
        env=clean_environment(WENKU_ENV_FILE=str(bot.env_file)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"wenku {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def documents(bot: BotProcess) -> dict[int, StoredDocument]:
    """Every document in the bot's database, deleted ones too."""
    with closing(sqlite3.connect(bot.db_path, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return {row["id"]: StoredDocument.from_row(dict(row)) for row in db.execute("SELECT * FROM documents")}


def document_titled(bot: BotProcess, title: str) -> StoredDocument:
    [document] = [document for document in documents(bot).values() if document.title == title]
    return document


# -- what the bot sent -----------------------------------------------------------------------------------


def announcement_to(group_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.is_send_to(group_id=group_id) and call.text.startswith("【新资料】")


def announced_title(call: ApiCall) -> str:
    """The title an announcement names (member groups see the number before it)."""
    return re.sub(r"^#\d+ ", "", call.text.splitlines()[0].removeprefix("【新资料】"))


def reply_in(group_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.is_send_to(group_id=group_id) and not call.text.startswith("【新资料】")


def group_sends(calls: list[ApiCall]) -> dict[int, list[ApiCall]]:
    by_group: dict[int, list[ApiCall]] = {}
    for call in calls:
        if call.action == "send_group_msg":
            by_group.setdefault(int(call.params["group_id"]), []).append(call)
    return by_group


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def body_runs(body: str, text: str, window: int = WINDOW) -> list[str]:
    """The runs of ``window`` body characters (whitespace ignored) that ``text`` contains."""
    flat, seen = squeeze(body), squeeze(text)
    return [flat[start : start + window] for start in range(len(flat) - window + 1) if flat[start : start + window] in seen]


def assert_paced(calls: list[ApiCall]) -> None:
    """Consecutive messages to each group arrived at least the send interval apart."""
    for group_id, sends in group_sends(calls).items():
        gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(sends)]
        too_close = [round(gap, 3) for gap in gaps if gap < INTERVAL - SLACK]
        assert not too_close, f"group {group_id}: {len(too_close)} of {len(gaps)} gaps under {INTERVAL}s: {too_close[:10]}"


def check_announcements(document: StoredDocument, calls: list[ApiCall]) -> None:
    """One announcement of ``document`` per group: a teaser and the call to subscribe in free groups, a summary in member groups."""
    by_group = {
        group_id: [call for call in calls if announcement_to(group_id)(call) and announced_title(call) == document.title]
        for group_id in GROUPS
    }
    for group_id in FREE_GROUPS:
        [announcement] = by_group[group_id]
        assert announcement.text == texts.free_announcement(document, CONTACT)
        assert document.title in announcement.text and CONTACT in announcement.text
        assert f"全文 {document.id}" not in announcement.text  # no way to the full text but the call to subscribe
        leaked = body_runs(document.body, announcement.text)
        assert not leaked, f"free group {group_id} got {WINDOW}+ characters of the body: {leaked[0]!r}"
    for group_id in MEMBER_GROUPS:
        [announcement] = by_group[group_id]
        assert announcement.text == texts.member_announcement(document)
        assert document.title in announcement.text
        assert squeeze(document.body)[:100] in squeeze(announcement.text), "no summary"
        assert f"「全文 {document.id}」" in announcement.text
        # A summary, not the document.
        assert len(announcement.text) < len(document.body)


# -- an upload, announced ---------------------------------------------------------------------------------


async def test_an_admin_upload_is_imported_and_announced(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer) -> None:
    serve_uploads(onebot, files)
    upload = files.add(txt_upload("数字政府", 1, name="数字政府讲话.txt"))
    before = set(documents(library_bot))
    start = onebot.mark()

    await onebot.send_event(upload_event(onebot, upload))

    [asked] = await onebot.wait_for_calls(1, lambda call: call.action == "get_group_file_url", after=start)
    assert asked.params["group_id"] == UPLOAD_GROUP
    assert asked.params["file_id"] == upload.file_id
    assert asked.params["busid"] == 102
    [reply] = await onebot.wait_for_calls(1, reply_in(UPLOAD_GROUP), after=start)
    assert files.fetched(upload) == 1

    [new_id] = set(documents(library_bot)) - before
    document = documents(library_bot)[new_id]
    # The speech alone: the advertising header and footer were stripped.
    assert document.title == upload.title
    assert document.body == upload.body
    assert document.source == upload.name
    first_line = reply.text.splitlines()[0]
    assert first_line.startswith(f"已导入 #{new_id} {upload.title}（{document.category}）"), reply.text
    assert document.keywords and f"关键词：{'、'.join(document.keywords)}" in first_line
    # Long enough that a teaser and a leak look different, and the leak check sees the body itself.
    assert len(squeeze(document.body)) > 60 + 2 * WINDOW and body_runs(document.body, document.body)

    for group_id in GROUPS:
        await onebot.wait_for_calls(1, announcement_to(group_id), after=start)
    await onebot.assert_no_calls(0.5)
    calls = onebot.calls[start:]
    check_announcements(document, calls)
    # Nothing else went anywhere: the address asked for, the reply and one announcement per group.
    assert len(calls) == 2 + len(GROUPS), [(call.action, call.params) for call in calls]


async def test_uploads_that_are_not_an_admins_in_a_served_group_are_ignored(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer
) -> None:
    serve_uploads(onebot, files)
    upload = files.add(txt_upload("外贸稳增长", 1))
    before = documents(library_bot)
    start = onebot.mark()

    await onebot.send_event(upload_event(onebot, upload, user_id=30099, group_id=UPLOAD_GROUP))  # a visitor
    await onebot.send_event(upload_event(onebot, upload, user_id=30099, group_id=MEMBER_GROUPS[0]))
    await onebot.send_event(upload_event(onebot, upload, user_id=ADMIN, group_id=UNCONFIGURED_GROUP))

    await onebot.assert_no_calls(QUIET, after=start)
    assert files.fetched(upload) == 0
    assert documents(library_bot) == before


# -- subscriptions ------------------------------------------------------------------------------------------


async def test_a_subscriber_hears_once_of_a_matching_document(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer) -> None:
    cli(library_bot, "members", "grant", str(SUBSCRIBER), "1年")
    [subscribed] = await onebot.request(
        onebot.private_message(f"订阅 {TERM}", user_id=SUBSCRIBER), 1, lambda call: call.is_send_to(user_id=SUBSCRIBER)
    )
    assert subscribed.text == texts.subscribed(TERM, True)
    # Someone who is not a member cannot subscribe.
    [refused] = await onebot.request(
        onebot.private_message(f"订阅 {TERM}", user_id=OUTSIDER), 1, lambda call: call.is_send_to(user_id=OUTSIDER)
    )
    assert refused.text == texts.subscriptions_members_only(CONTACT)

    serve_uploads(onebot, files)
    matching = files.add(txt_upload("文化旅游", 7, extra=f"要抢抓冬季旅游窗口期，做大做强{TERM}，打造一批冰雪运动和冰雪旅游精品线路。"))
    start = onebot.mark()

    await onebot.send_event(upload_event(onebot, matching))
    [reply] = await onebot.wait_for_calls(1, reply_in(UPLOAD_GROUP), after=start)
    document = document_titled(library_bot, matching.title)
    assert reply.text.startswith(f"已导入 #{document.id} ")
    [notice] = await onebot.wait_for_calls(1, lambda call: call.is_send_to(user_id=SUBSCRIBER), after=start)
    assert notice.text == (
        f"你订阅的「{TERM}」有新文档：\n#{document.id} {document.title}（{document.category}，{document.chars}字）\n"
        f"发送「全文 {document.id}」获取全文。"
    )
    for group_id in GROUPS:
        await onebot.wait_for_calls(1, announcement_to(group_id), after=start)

    # The same file uploaded again is a duplicate: no document, no announcement, no second notice.
    again = files.add(Upload("file-again", matching.name, matching.data, matching.title, matching.body))
    count = len(documents(library_bot))
    duplicate_start = onebot.mark()
    await onebot.send_event(upload_event(onebot, again))
    [skipped] = await onebot.wait_for_calls(1, reply_in(UPLOAD_GROUP), after=duplicate_start)
    assert skipped.text == f"跳过 {matching.name}：与 #{document.id} {document.title} 完全相同"
    assert files.fetched(again) == 1
    assert len(documents(library_bot)) == count

    # A document without the word is announced, and the subscriber does not hear of it.
    other = files.add(txt_upload("质量强市", 7))
    other_start = onebot.mark()
    await onebot.send_event(upload_event(onebot, other))
    for group_id in GROUPS:
        await onebot.wait_for_calls(1, announcement_to(group_id), after=other_start, timeout=5)
    await onebot.assert_no_calls(0.5)

    calls = onebot.calls[start:]
    assert [call.text for call in calls if call.is_send_to(user_id=SUBSCRIBER)] == [notice.text]
    announced = Counter(announced_title(call) for group_id in GROUPS for call in calls if announcement_to(group_id)(call))
    assert announced == {matching.title: len(GROUPS), other.title: len(GROUPS)}, announced
    assert_paced(calls)


# -- files that cannot be imported -----------------------------------------------------------------------


def corrupt_docx() -> bytes:
    """A real .docx cut short, as a broken transfer leaves it."""
    from docx import Document

    document = Document()
    for line in speech("审计整改", 9)[1].splitlines():
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    return data[: len(data) // 2]


def oversized(topic: str) -> bytes:
    title, body = speech(topic, 1)
    copies = (MAX_UPLOAD_MB * 1024 * 1024) // len(body.encode()) + 50
    return distributed(title, "\n".join(f"{body}（{i}）" for i in range(copies))).encode()


@pytest.mark.parametrize(
    ("upload", "declare_length", "claimed_size", "actions", "expected"),
    [
        (  # the event says how big it is: refused without asking for the file at all
            Upload("file-big", "超大讲话稿.txt", oversized("统计调查")),
            True,
            None,
            ["send_group_msg"],
            texts.import_failed("超大讲话稿.txt", f"文件超过 {MAX_UPLOAD_MB} MB"),
        ),
        (  # the event claims 0 bytes and the server sends no length: the download stops at the limit
            Upload("file-big-unsized", "没有长度的讲话稿.txt", oversized("档案管理")),
            False,
            0,
            ["get_group_file_url", "send_group_msg"],
            texts.import_failed("没有长度的讲话稿.txt", f"文件超过 {MAX_UPLOAD_MB} MB"),
        ),
        (
            Upload("file-corrupt", "审计整改讲话.docx", corrupt_docx()),
            True,
            None,
            ["get_group_file_url", "send_group_msg"],
            "失败 审计整改讲话.docx：不是有效的 .docx 文件（文件损坏或格式不符）",
        ),
    ],
    ids=["oversized", "oversized-without-length", "corrupt-docx"],
)
async def test_a_file_that_cannot_be_imported_gets_a_clear_reply(
    onebot: FakeOneBot,
    library_bot: BotProcess,
    files: FileServer,
    upload: Upload,
    declare_length: bool,
    claimed_size: int | None,
    actions: list[str],
    expected: str,
) -> None:
    assert len(upload.data) > MAX_UPLOAD_MB * 1024 * 1024 or upload.name.endswith(".docx")
    serve_uploads(onebot, files)
    files.add(upload, declare_length=declare_length)
    before = documents(library_bot)
    start = onebot.mark()

    await onebot.send_event(upload_event(onebot, upload, size=claimed_size))
    [reply] = await onebot.wait_for_calls(1, reply_in(UPLOAD_GROUP), after=start)

    assert reply.text == expected
    assert upload.name in reply.text
    await onebot.assert_no_calls(QUIET)
    assert [call.action for call in onebot.calls[start:]] == actions
    assert documents(library_bot) == before


async def test_a_file_whose_address_cannot_be_had_gets_a_clear_reply(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer
) -> None:
    """The OneBot side refuses get_group_file_url (the file expired, or the account lacks the right)."""
    onebot.respond("get_group_file_url", Response.failure(retcode=1404, message="文件已过期"))
    upload = files.add(txt_upload("河湖长制", 1))
    before = documents(library_bot)
    start = onebot.mark()

    await onebot.send_event(upload_event(onebot, upload))
    [reply] = await onebot.wait_for_calls(1, reply_in(UPLOAD_GROUP), after=start)

    assert reply.text == texts.import_failed(upload.name, "取不到文件地址（ActionFailed）")
    await onebot.assert_no_calls(QUIET)
    assert files.fetched(upload) == 0
    assert documents(library_bot) == before


# -- a burst of uploads ---------------------------------------------------------------------------------------


BURST = 30


async def test_a_burst_of_uploads_is_announced_in_full_and_paced(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer
) -> None:
    serve_uploads(onebot, files)
    uploads = [files.add(txt_upload(topic, 2)) for topic in TOPICS[:BURST]]
    before = set(documents(library_bot))
    start = onebot.mark()
    began = time.monotonic()

    for upload in uploads:  # back to back, as a folder dragged into the group
        await onebot.send_event(upload_event(onebot, upload))

    # The group they were dropped in gets a reply per file as well: 2 × BURST messages, paced.
    timeout = 2 * BURST * INTERVAL + 15
    replies = await onebot.wait_for_calls(BURST, reply_in(UPLOAD_GROUP), after=start, timeout=timeout)
    for group_id in GROUPS:
        await onebot.wait_for_calls(BURST, announcement_to(group_id), after=start, timeout=timeout)
    await onebot.assert_no_calls(0.5)
    elapsed = time.monotonic() - began

    added = {document.title: document for document_id, document in documents(library_bot).items() if document_id not in before}
    assert sorted(added) == sorted(upload.title for upload in uploads)
    assert sorted(int(re.match(r"已导入 #(\d+) ", reply.text).group(1)) for reply in replies) == sorted(
        document.id for document in added.values()
    )
    calls = onebot.calls[start:]
    # Every group got every announcement, exactly once, and each is the right text for its document.
    for document in added.values():
        check_announcements(document, calls)
    by_group = group_sends(calls)
    assert sorted(by_group) == sorted(GROUPS)
    for group_id in GROUPS:
        expected = BURST * (2 if group_id == UPLOAD_GROUP else 1)
        assert len(by_group[group_id]) == expected, (group_id, len(by_group[group_id]))
    assert_paced(calls)
    # The groups are paced side by side, not one after another.
    assert elapsed < 2 * BURST * INTERVAL * 1.5 + 5, f"{elapsed:.1f}s for the burst"


# -- the connection drops mid-queue -----------------------------------------------------------------------


HELD_GROUPS = (FREE_GROUPS[1], MEMBER_GROUPS[1])  # a send to each is in flight when the connection drops
HOLD_AT = 3  # which of their sends
API_TIMEOUT = 3.0
FAILED_SEND = re.compile(rf"send to group:(\d+) via {SELF_ID} failed: (\w+)")


async def test_a_dropped_connection_loses_and_repeats_nothing(start_bot, files: FileServer) -> None:
    """The connection drops while announcements are queued; NapCat reconnects a second later.

    What the bot does with a send that is in flight at that moment (the frame
    reached the OneBot side, the answer never came back): the call times out
    after API_TIMEOUT and is NOT repeated, because the OneBot side may well
    have delivered it to QQ. Here that frame did reach the fake (it is in the
    first connection's record), so nothing is lost; a frame that was still
    on the wire when the socket closed would be lost, and the bot logs
    "send to group:… failed". The outbox holds the group's turn meanwhile,
    then moves on. Sends that fall due while no connection exists wait for the
    account to come back (the outbox looks the bot up at send time; a call
    that fails with ApiNotAvailable/WebSocketClosed never left and is
    repeated), so they go out on the new connection. Each (group, text) must
    arrive exactly once over both connections; anything missing must be a
    logged failure of an in-flight send.

    Known bug, not exercised here: a send the bot starts while it is still
    handling the close frame (before NoneBot drops the connection) fails inside
    the FastAPI driver with starlette's WebSocketDisconnect, which is none of
    the exceptions the outbox knows. The frame never left, yet the message is
    neither repeated nor logged as failed: it is lost and the announce task
    dies ("Task exception was never retrieved"). It takes a send in the same
    instant as the close, so the drop below is timed away from the sends.
    """
    bot = start_bot("reconnect", **SETTINGS, API_TIMEOUT=str(API_TIMEOUT))
    uploads = [files.add(txt_upload(topic, 3)) for topic in TOPICS[-10:]]
    titles = {upload.title for upload in uploads}

    # The OneBot side leaves the third send to two groups unanswered; the connection then drops with those
    # in flight. (Both groups get nothing but announcements, the same documents' in the same order, so
    # their third sends leave together; the others' answers come at once.)
    sent: Counter[int] = Counter()

    def answer(call: ApiCall) -> Response:
        group_id = int(call.params["group_id"])
        sent[group_id] += 1
        return Response(delay=60) if group_id in HELD_GROUPS and sent[group_id] == HOLD_AT else Response()

    first = bot.onebot()
    await first.connect()
    serve_uploads(first, files)
    first.respond("send_group_msg", answer)
    for upload in uploads:
        await first.send_event(upload_event(first, upload))
    await first.wait_for_calls(len(uploads), lambda call: call.action == "get_group_file_url", after=0, timeout=10)
    in_flight: dict[int, ApiCall] = {}
    for group_id in HELD_GROUPS:
        calls = await first.wait_for_calls(HOLD_AT, announcement_to(group_id), after=0, timeout=10)
        in_flight[group_id] = calls[-1]
    # Drop it 0.1 s after one of the other groups' sends, when they are most likely between two paced
    # sends: a send that starts in the very instant the bot handles the close is lost unlogged (a known
    # bug, see the docstring), which would make this test flaky rather than tell anything new.
    with contextlib.suppress(AssertionError):  # none due within a second: then none is in flight either
        await first.wait_for_calls(1, lambda call: call.is_send_to() and call not in in_flight.values(), after=first.mark(), timeout=1)
    await asyncio.sleep(0.1)
    dropped_at = time.monotonic()
    assert all(dropped_at - held.received_at < API_TIMEOUT for held in in_flight.values()), "the held sends timed out already"
    await first.close()
    await asyncio.sleep(1.0)  # sends due meanwhile find no connection

    second = await bot.connect_again()
    try:
        # Everything not yet received arrives, or is a send the bot gave up on (logged).
        deadline = time.monotonic() + API_TIMEOUT + 2 * len(uploads) * INTERVAL + 10
        while True:
            received = first.calls + second.calls
            announced = {
                group_id: {announced_title(call) for call in received if announcement_to(group_id)(call)}
                for group_id in GROUPS
            }
            complete = all(announced[group_id] >= titles for group_id in GROUPS)
            replies = [call for call in received if reply_in(UPLOAD_GROUP)(call)]
            if complete and len(replies) >= len(uploads) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        await second.assert_no_calls(0.5)
        log = bot.log()
    finally:
        await second.close()

    received = first.calls + second.calls
    texts_sent = Counter((int(call.params["group_id"]), call.text) for call in received if call.action == "send_group_msg")
    repeated = {pair: count for pair, count in texts_sent.items() if count > 1}
    assert not repeated, f"sent twice: {repeated}"
    # The in-flight sends were not repeated on the new connection...
    for group_id, held in in_flight.items():
        assert not [call for call in second.calls if call.is_send_to(group_id=group_id) and call.text == held.text]
    # ...and the bot logged them as failed (timeout), without waiting for anything else.
    failed = Counter(int(group) for group, kind in FAILED_SEND.findall(log))
    for group_id in HELD_GROUPS:
        assert failed[group_id] >= 1, f"no failure logged for the send in flight to {group_id}"
    # The remaining announcements went out on the new connection: certainly to the held groups, which
    # had most of theirs still queued (another group may have been through its queue before the drop).
    for group_id in HELD_GROUPS:
        assert any(announcement_to(group_id)(call) for call in second.calls), f"nothing for {group_id} after the reconnect"
    # Nothing lost, except (at most one per group) a send in flight at the drop that the bot logged as failed.
    for group_id in GROUPS:
        missing = titles - announced[group_id]
        allowed = failed[group_id] - (1 if group_id in HELD_GROUPS else 0)
        assert len(missing) <= allowed, f"group {group_id} lost {sorted(missing)} (failures logged: {failed[group_id]})"
    assert len(replies) + failed[UPLOAD_GROUP] >= len(uploads)
    # Pacing held on each connection (the first and second connection's sends are 1 s apart anyway).
    assert_paced(first.calls)
    assert_paced(second.calls)
    assert time.monotonic() - dropped_at < API_TIMEOUT + 2 * len(uploads) * INTERVAL + 10

