"""Hostile input over the wire: malformed events, forged posts, strangers on the WebSocket,
oversized and booby-trapped uploads, file names that are paths, addresses to import from.

The real bot.py serves the module (with a 5 MB upload limit and no scheduled pushes); the fake
NapCat of onebot.py speaks to it over its reverse WebSocket. What the connection-level tests
find is NoneBot's OneBot adapter at work, which the bot relies on: each test says what the
adapter does. After each hostile thing the bot must still be running and answering, and the
database (every table but the ``searches`` log and ``meta``) must be as it was.

Files come from a small HTTP server on 127.0.0.1, as the files QQ keeps come from QQ's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import itertools
import json
import sqlite3
import struct
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .conftest import FREE_GROUP, SELF_ID, SUPERUSER, BotProcess, launch
from .onebot import ApiCall, FakeOneBot, Response, private_message, text

ADMIN = SUPERUSER
MAX_UPLOAD_MB = 5
SETTINGS = {
    "WENKU_MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
    # No scheduled push may land in a group while a test expects silence.
    "WENKU_RECOMMEND_AT": "",
    "WENKU_DIGEST_AT": "",
}
QUIET = 0.5  # seconds without any API call that count as "the bot ignored it"
HELP_START = "文库机器人可用命令"

_users = itertools.count(61000)  # a QQ number of its own for every request


# -- the module's bot and what it holds ------------------------------------------------------------------


@pytest.fixture(scope="module")
def library_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot conftest's ``onebot`` connects to, with this module's settings."""
    bot = launch(tmp_path_factory.mktemp("hostile_bot"), SETTINGS)
    yield bot
    bot.stop()


def database_state(bot: BotProcess) -> dict[str, list[tuple]]:
    """Every row of every table but the search log and meta (FTS5 shadow tables included)."""
    with closing(sqlite3.connect(bot.db_path, timeout=30)) as db:
        tables = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
        return {
            name: db.execute(f'SELECT * FROM "{name}" ORDER BY 1').fetchall()
            for name, sql in tables
            if name not in ("searches", "meta") and not sql.startswith("CREATE VIRTUAL TABLE")
        }


def documents(bot: BotProcess) -> dict[int, tuple[str, str]]:
    """Every document's (title, source)."""
    with closing(sqlite3.connect(bot.db_path, timeout=30)) as db:
        return {row[0]: (row[1], row[2]) for row in db.execute("SELECT id, title, source FROM documents")}


def peak_memory_mb(bot: BotProcess) -> float:
    """The bot process's peak resident memory so far (VmHWM), in MB."""
    status = Path(f"/proc/{bot.process.pid}/status").read_text()
    [line] = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) / 1024


def assert_alive(bot: BotProcess) -> None:
    assert bot.process.poll() is None, f"bot.py exited with {bot.process.returncode}"


def errors_since(bot: BotProcess, mark: int, *, expected: tuple[str, ...] = ()) -> list[str]:
    """ERROR lines the bot logged after ``mark`` (a length of its log), but for ``expected`` refusals."""
    lines = bot.log()[mark:].splitlines()
    return [line for line in lines if "[ERROR]" in line and not any(reason in line for reason in expected)]


def to_user(user_id: int):
    return lambda call: call.is_send_to(user_id=user_id)


def to_group(group_id: int):
    return lambda call: call.is_send_to(group_id=group_id)


async def answers_help(onebot: FakeOneBot) -> None:
    """A normal request is answered, once."""
    user = next(_users)
    start = onebot.mark()
    [reply] = await onebot.request(onebot.private_message("帮助", user_id=user), 1, to_user(user))
    assert reply.text.startswith(HELP_START)
    await onebot.assert_no_calls(0.3, after=onebot.mark())
    assert [call.action for call in onebot.calls[start:]] == ["send_private_msg"]


# -- events with missing or wrong-typed fields ---------------------------------------------------------------


def malformed(name: str) -> dict:
    """An event broken in one way (``name``): mostly a private 帮助 that would be answered if whole."""
    user = next(_users)
    event = private_message("帮助", self_id=SELF_ID, user_id=user)
    group = {**event, "message_type": "group", "sub_type": "normal", "group_id": FREE_GROUP}
    broken = {
        "no-user-id": {key: value for key, value in event.items() if key != "user_id"},
        "user-id-text": {**event, "user_id": "abc"},
        "user-id-object": {**event, "user_id": {"$gt": 0}},
        "no-time": {key: value for key, value in event.items() if key != "time"},
        "time-text": {**event, "time": "yesterday"},
        "message-number": {**event, "message": 5},
        "message-null": {**event, "message": None},
        "segment-without-type": {**event, "message": [{"data": {"text": "帮助"}}]},
        # The adapter's own Bot.handle_event fails on it (asyncio prints "Task exception was never
        # retrieved"): no matcher, so no code of the bot, ever sees it.
        "text-not-a-string": {**event, "message": [{"type": "text", "data": {"text": 5}}]},
        "unknown-post-type": {**event, "post_type": "evil"},
        "unknown-notice": {"time": int(time.time()), "self_id": SELF_ID, "post_type": "notice", "notice_type": "evil", "user_id": user},
        "group-id-text": {**group, "group_id": "abc"},
        "group-id-list": {**group, "group_id": [FREE_GROUP]},
        "group-id-fraction": {**group, "group_id": FREE_GROUP + 0.5},
        "group-id-huge": {**group, "group_id": 2**80},
        "upload-without-file": {
            "time": int(time.time()), "self_id": SELF_ID, "post_type": "notice", "notice_type": "group_upload",
            "group_id": FREE_GROUP, "user_id": ADMIN,
        },
        "upload-size-text": {
            "time": int(time.time()), "self_id": SELF_ID, "post_type": "notice", "notice_type": "group_upload",
            "group_id": FREE_GROUP, "user_id": ADMIN, "file": {"id": "x", "name": "a.txt", "size": "huge", "busid": 102},
        },
        "request-without-flag": {
            "time": int(time.time()), "self_id": SELF_ID, "post_type": "request", "request_type": "group",
            "sub_type": "add", "group_id": FREE_GROUP, "user_id": user,
        },
    }  # fmt: skip
    return broken[name]


MALFORMED = (
    "no-user-id", "user-id-text", "user-id-object", "no-time", "time-text", "message-number",
    "message-null", "segment-without-type", "text-not-a-string", "unknown-post-type", "unknown-notice",
    "group-id-text", "group-id-list", "group-id-fraction", "group-id-huge", "upload-without-file", "upload-size-text",
    "request-without-flag",
)  # fmt: skip


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_malformed_event_is_ignored_and_the_bot_keeps_answering(onebot: FakeOneBot, library_bot: BotProcess, name: str):
    before, log_mark = database_state(library_bot), len(library_bot.log())
    start = onebot.mark()

    await onebot.send_event(malformed(name))

    await onebot.assert_no_calls(QUIET, after=start)
    await answers_help(onebot)
    assert_alive(library_bot)
    assert onebot.connected
    assert database_state(library_bot) == before
    # The adapter drops what fits no event model (logged at DEBUG, or as ERROR "Failed to parse
    # event" when not even the base event fits); nothing of the bot's own fails.
    assert errors_since(library_bot, log_mark, expected=("Failed to parse event",)) == []


@pytest.mark.parametrize(
    "segments",
    [
        [{"type": "evil", "data": {"payload": "[CQ:at,qq=all]"}}, text("帮助")],
        [{"type": "text", "data": {"text": "帮助", "extra": [[[[[[[[[[{"deep": True}]]]]]]]]]]}}],
        [text("帮助 "), {"type": "at", "data": {"qq": {"not": "a number"}}}],
        [{"type": "image", "data": {"file": "../../etc/passwd", "url": "file:///etc/passwd"}}, text("帮助")],
    ],
    ids=["unknown-segment", "nested-data", "at-with-object", "image-with-a-path"],
)
async def test_odd_segments_beside_a_command_leave_it_answered(onebot: FakeOneBot, library_bot: BotProcess, segments: list):
    user = next(_users)
    before = database_state(library_bot)
    start = onebot.mark()

    [reply] = await onebot.request(onebot.private_message(segments, user_id=user), 1, to_user(user))

    assert reply.text.startswith(HELP_START)
    await onebot.assert_no_calls(0.3, after=onebot.mark())
    assert len(onebot.calls[start:]) == 1
    assert database_state(library_bot) == before


async def test_a_message_of_ten_thousand_segments_is_answered_once(onebot: FakeOneBot, library_bot: BotProcess):
    user = next(_users)
    segments = [text("帮助")] + [{"type": "face", "data": {"id": str(n % 200)}} for n in range(10_000)]

    [reply] = await onebot.request(onebot.private_message(segments, user_id=user), 1, to_user(user), timeout=15)

    assert reply.text.startswith(HELP_START)
    await onebot.assert_no_calls(0.3, after=onebot.mark())
    assert_alive(library_bot)


@pytest.mark.parametrize(
    "frame",
    ["not json {", b"\x00\x01binary", "[" * 100_000 + "]" * 100_000, '{"post_type": "message", "time": 1, "self_id": 2000, '],
    ids=["not-json", "binary", "nested-100000-deep", "cut-short"],
)
async def test_a_frame_that_is_no_json_costs_that_connection_only(library_bot: BotProcess, onebot: FakeOneBot, frame: str | bytes):
    """The adapter closes a connection whose frame it cannot parse as JSON (NapCat reconnects)."""
    account = SELF_ID + 10
    async with library_bot.onebot(self_id=account) as stranger:
        await stranger.send_frame(frame)
        deadline = time.monotonic() + 5
        while stranger.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert not stranger.connected, "the bot kept a connection that sent a broken frame"

    assert_alive(library_bot)
    await answers_help(onebot)  # the module's connection is untouched
    async with library_bot.onebot(self_id=account) as again:  # and the account may come back
        user = next(_users)
        [reply] = await again.request(again.private_message("帮助", user_id=user), 1, to_user(user))
        assert reply.text.startswith(HELP_START)


async def test_a_lone_surrogate_in_a_search_gets_a_clear_answer(onebot: FakeOneBot, library_bot: BotProcess):
    user = next(_users)
    log_mark = len(library_bot.log())
    start = onebot.mark()

    # json.dumps escapes the surrogate as \ud800 (with ensure_ascii=False it could not be sent at all).
    await onebot.send_frame(json.dumps(onebot.private_message("搜索 工会\ud800", user_id=user)))
    [reply] = await onebot.wait_for_calls(1, to_user(user), after=start)

    assert errors_since(library_bot, log_mark) == []
    assert reply.text != "处理时出了点问题，已记录下来，请稍后再试。"


# -- events posted over HTTP ---------------------------------------------------------------------------------


def signature(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


def membership_rows(bot: BotProcess, user: int) -> list[tuple]:
    with closing(sqlite3.connect(bot.db_path, timeout=30)) as db:
        return db.execute("SELECT user_id, lifetime FROM members WHERE user_id = ?", [str(user)]).fetchall()


@pytest.mark.parametrize("route", ["/onebot/v11/", "/onebot/v11/http", "/onebot/v11/http/"])
async def test_a_forged_admin_command_posted_over_http_finds_no_route_and_changes_nothing(
    onebot: FakeOneBot, library_bot: BotProcess, route: str
):
    """bot.py takes the adapter's HTTP POST event routes off (README): unsigned, wrongly signed,
    and even correctly signed with ONEBOT_SECRET, a posted event finds no route."""
    user = next(_users)
    event = onebot.private_message(f"开通 {user} 永久", user_id=ADMIN)
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    url = f"http://127.0.0.1:{library_bot.port}{route}"
    # The right access token, which those routes ignored when they were there.
    headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID), "Authorization": f"Bearer {library_bot.access_token}"}
    before = database_state(library_bot)
    start = onebot.mark()

    async with httpx.AsyncClient(timeout=5) as http:
        unsigned = await http.post(url, content=body, headers=headers)
        wrong = await http.post(url, content=body, headers={**headers, "X-Signature": signature(body, library_bot.access_token)})
        signed_right = await http.post(url, content=body, headers={**headers, "X-Signature": signature(body, library_bot.secret)})
        no_account = await http.post(url, content=body, headers={"Content-Type": "application/json", "X-Signature": signature(body, library_bot.secret)})

    assert [unsigned.status_code, wrong.status_code, signed_right.status_code, no_account.status_code] == [404, 404, 404, 404]
    await onebot.assert_no_calls(QUIET, after=start)
    assert database_state(library_bot) == before
    assert membership_rows(library_bot, user) == []


@pytest.mark.parametrize(
    "body",
    [b"[]", b"{}", b'{"echo": "1", "status": "ok", "data": {"message_id": 1}}', b'"text"', b"", b"not json"],
    ids=["array", "empty-object", "fake-api-answer", "string", "empty", "not-json"],
)
async def test_signed_posts_that_are_no_event_change_nothing(onebot: FakeOneBot, library_bot: BotProcess, body: bytes):
    headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID), "X-Signature": signature(body, library_bot.secret)}
    before = database_state(library_bot)
    start = onebot.mark()

    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.post(library_bot.http_url, content=body, headers=headers)

    assert answer.status_code == 404
    await onebot.assert_no_calls(QUIET, after=start)
    await answers_help(onebot)
    assert database_state(library_bot) == before


async def test_a_signed_post_before_the_account_connects_does_not_lock_it_out(start_bot):
    """As when NapCat also reports over HTTP (signed with ONEBOT_SECRET) and a post arrives while
    its WebSocket is reconnecting. A bot of its own: the HTTP-only account would linger in the module's."""
    bot = start_bot(**SETTINGS, WENKU_RECONNECT_WAIT="1")  # the post's answer has no way out: give up soon
    user = next(_users)
    body = json.dumps(private_message("帮助", self_id=SELF_ID, user_id=user), ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID), "X-Signature": signature(body, bot.secret)}
    async with httpx.AsyncClient(timeout=5) as http:
        assert (await http.post(bot.http_url, content=body, headers=headers)).status_code == 404

    async with bot.onebot() as napcat:
        [reply] = await napcat.request(napcat.private_message("帮助", user_id=user), 1, to_user(user))
    assert reply.text.startswith(HELP_START)


# -- who may open the WebSocket --------------------------------------------------------------------------------


async def handshake_status(url: str, headers: dict[str, str]) -> int:
    """101 if the WebSocket opened (it is closed again at once), else the HTTP status of the refusal."""
    try:
        async with connect(url, additional_headers=headers, open_timeout=5):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


@pytest.mark.parametrize("route", ["/onebot/v11/ws", "/onebot/v11/ws/", "/onebot/v11/"])
async def test_the_websocket_wants_the_token_in_the_authorization_header(onebot: FakeOneBot, library_bot: BotProcess, route: str):
    token = library_bot.access_token
    url = f"ws://127.0.0.1:{library_bot.port}{route}"
    stranger = str(SELF_ID + 30)
    refused = {
        "no token": {"X-Self-ID": stranger},
        "token in the query string": None,
        "token with another scheme": {"X-Self-ID": stranger, "Authorization": f"Basic {token}"},
        "token without a scheme": {"X-Self-ID": stranger, "Authorization": token},
        "token with a suffix": {"X-Self-ID": stranger, "Authorization": f"Bearer {token}x"},
        "token cut short": {"X-Self-ID": stranger, "Authorization": f"Bearer {token[:-1]}"},
        "secret as token": {"X-Self-ID": stranger, "Authorization": f"Bearer {library_bot.secret}"},
        "no account": {"Authorization": f"Bearer {token}"},
    }

    statuses = {}
    for name, headers in refused.items():
        if headers is None:
            statuses[name] = await handshake_status(f"{url}?access_token={token}", {"X-Self-ID": stranger})
        else:
            statuses[name] = await handshake_status(url, headers)

    assert statuses == dict.fromkeys(refused, 403)
    # NoneBot accepts "Token" as well as "Bearer" as the scheme.
    assert await handshake_status(url, {"X-Self-ID": stranger, "Authorization": f"Token {token}"}) == 101
    assert_alive(library_bot)
    await answers_help(onebot)


async def test_a_second_connection_for_a_connected_account_is_refused_and_nothing_is_answered_twice(
    library_bot: BotProcess, onebot: FakeOneBot
):
    """The adapter refuses a duplicate X-Self-ID (even with the right token) and keeps the first
    connection; once that one is gone the account may connect again."""
    account = SELF_ID + 20
    first = library_bot.onebot(self_id=account)
    await first.connect()
    try:
        for token in (library_bot.access_token, "wrong"):
            with pytest.raises(InvalidStatus) as refused:
                await library_bot.onebot(self_id=account, access_token=token).connect()
            assert refused.value.response.status_code == 403

        user = next(_users)
        start = first.mark()
        [reply] = await first.request(first.private_message("帮助", user_id=user), 1, to_user(user))
        assert reply.text.startswith(HELP_START)
        await first.assert_no_calls(QUIET, after=first.mark())
        assert len(first.calls[start:]) == 1
    finally:
        await first.close()

    await asyncio.sleep(0.3)  # the bot notices the close
    async with library_bot.onebot(self_id=account) as second:
        user = next(_users)
        [reply] = await second.request(second.private_message("帮助", user_id=user), 1, to_user(user))
        assert reply.text.startswith(HELP_START)
    assert_alive(library_bot)


# -- files the admin shares ------------------------------------------------------------------------------------


@dataclass
class Served:
    """One file on the test's server: its body, and how the server sends it."""

    body: bytes
    content_length: int | None = None  # None: the true length
    send_length: bool = True
    redirect: str | None = None


@dataclass
class FileServer:
    """Files at ``http://127.0.0.1:PORT/<path>``; records every path asked for (percent-decoded)."""

    files: dict[str, Served] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def start(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = unquote(self.path)  # keys are paths as written, Chinese and all
                server.requests.append(path)
                served = server.files.get(path)
                if served is None:
                    self.send_error(404)
                    return
                if served.redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", quote(served.redirect, safe=":/"))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                if served.send_length:
                    self.send_header("Content-Length", str(served.content_length or len(served.body)))
                self.end_headers()
                try:
                    self.wfile.write(served.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot stopped reading: its right

            def log_message(self, *args: object) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}{path}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture(scope="module")
def files() -> Iterator[FileServer]:
    server = FileServer()
    server.start()
    yield server
    server.close()


_speeches = itertools.count(1)


def speech() -> bytes:
    """A short speech no other test imports (an exact duplicate would be refused)."""
    n = next(_speeches)
    return (
        f"在全区第{n}次安全生产例会上的讲话\n同志们：\n"
        f"第{n}季度全区发生一般事故{n + 2}起，暴露出企业主体责任落实不到位的问题。\n"
        "各街道要开展隐患排查整治，对重大隐患挂牌督办，确保整改到位。\n"
    ).encode("utf-8")


def oversized(size: int) -> bytes:
    """A speech padded with more of its kind to ``size`` bytes."""
    body = speech()
    line = "各街道要开展隐患排查整治，对重大隐患挂牌督办，确保整改到位。\n".encode("utf-8")
    return (body + line * (size // len(line) + 1))[:size]


def upload_event(onebot: FakeOneBot, path: str, name: str, size: int) -> dict:
    return onebot.group_upload(group_id=FREE_GROUP, user_id=ADMIN, file_id=path.lstrip("/"), name=name, size=size)


def serve_uploads(onebot: FakeOneBot, files: FileServer) -> None:
    """Answer get_group_file_url with the file's address on the test's server."""
    onebot.respond("get_group_file_url", lambda call: Response({"url": files.url("/" + str(call.params["file_id"]))}))


async def upload_reply(onebot: FakeOneBot, event: dict) -> ApiCall:
    start = onebot.mark()
    await onebot.send_event(event)
    [reply] = await onebot.wait_for_calls(1, to_group(FREE_GROUP), after=start, timeout=20)
    await onebot.assert_no_calls(0.3, after=onebot.mark())
    return reply


MiB = 1024 * 1024


def deflated_zeros(size: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``size`` zero bytes (whole MiB) made in milliseconds, and their CRC-32:
    after the first MiB every MiB compresses to the same bytes, which are repeated."""
    zeros = bytes(MiB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    steady = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(zeros, crc)
    return first + steady * (size // MiB - 1) + compressor.flush(zlib.Z_FINISH), crc


def docx_bomb(size: int) -> bytes:
    """A real .docx whose word/document.xml inflates to ``size`` zero bytes (the zip says so honestly)."""
    from docx import Document

    buffer = io.BytesIO()
    Document().save(buffer)
    with zipfile.ZipFile(buffer) as source:
        parts = {info.filename: source.read(info.filename) for info in source.infolist() if info.filename != "word/document.xml"}
    entries = []
    for name, data in parts.items():
        compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
        entries.append((name, compressor.compress(data) + compressor.flush(), zlib.crc32(data), len(data)))
    entries.append(("word/document.xml", *deflated_zeros(size), size))
    out = io.BytesIO()
    directory = []
    for name, stream, crc, length in entries:
        offset, encoded = out.tell(), name.encode()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(stream), length, len(encoded), 0) + encoded + stream)
        directory.append(
            struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(stream), length, len(encoded), 0, 0, 0, 0, 0, offset)
            + encoded
        )
    start, central = out.tell(), b"".join(directory)
    out.write(central + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(central), start, 0))
    return out.getvalue()


async def test_a_docx_bomb_is_refused_without_the_bot_inflating_it(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer):
    bomb = docx_bomb(2 * 1024 * MiB)
    assert len(bomb) < 3 * MiB < MAX_UPLOAD_MB * MiB  # small enough to be downloaded
    files.files["/bomb"] = Served(bomb)
    serve_uploads(onebot, files)
    before, peak_before = database_state(library_bot), peak_memory_mb(library_bot)

    reply = await upload_reply(onebot, upload_event(onebot, "/bomb", "年度总结.docx", len(bomb)))

    assert reply.text == "失败 年度总结.docx：文件解压后过大，疑似压缩炸弹"
    assert peak_memory_mb(library_bot) - peak_before < 100  # not the 2 GB it would inflate to
    assert database_state(library_bot) == before
    assert_alive(library_bot)


async def test_a_size_claimed_small_but_declared_over_the_limit_by_the_server_is_refused(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer
):
    """The event claims 1 KB; the server then announces more than the limit: refused by its header."""
    files.files["/liar"] = Served(oversized(MAX_UPLOAD_MB * MiB + 1))
    serve_uploads(onebot, files)
    before = database_state(library_bot)

    reply = await upload_reply(onebot, upload_event(onebot, "/liar", "小文件.txt", 1024))

    assert reply.text == f"文件「小文件.txt」没有导入：文件超过 {MAX_UPLOAD_MB} MB"
    assert database_state(library_bot) == before


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../../../tmp/逃逸.txt", "逃逸.txt"),
        ("/etc/cron.d/逃逸.txt", "逃逸.txt"),
        ("..\\..\\..\\Windows\\逃逸.txt", "逃逸.txt"),
        ("讲话\u0000.txt", "讲话\u0000.txt"),
        ("讲" * 200 + ".txt", "讲" * 200 + ".txt"),
        ("...txt", "...txt"),
    ],
)
async def test_an_upload_named_like_a_path_writes_no_file_and_is_stored_under_its_plain_name(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer, name: str, stored: str
):
    path = f"/named-{next(_users)}"
    files.files[path] = Served(speech())
    serve_uploads(onebot, files)
    folder = library_bot.folder
    before = {entry for entry in folder.rglob("*")}
    known = documents(library_bot)

    reply = await upload_reply(onebot, upload_event(onebot, path, name, len(files.files[path].body)))

    [(number, (title, source))] = [(key, value) for key, value in documents(library_bot).items() if key not in known]
    assert reply.text.startswith(f"已导入 #{number} {title}")
    assert source == stored
    written = {entry for entry in folder.rglob("*") if entry not in before}
    assert {entry.name for entry in written} <= {"wenku.db-wal", "wenku.db-shm"}
    assert not Path("/tmp/逃逸.txt").exists()


# -- 导入 URL ----------------------------------------------------------------------------------------------


async def ask_admin(onebot: FakeOneBot, message: str, *, timeout: float = 20) -> str:
    [reply] = await onebot.request(onebot.private_message(message, user_id=ADMIN), 1, to_user(ADMIN), timeout=timeout)
    return reply.text


@pytest.mark.parametrize("where", ["private", "free-group"])
async def test_only_an_admin_makes_the_bot_fetch_an_address(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer, where: str):
    """The one rule about addresses: 导入 is an admin command, so nobody else can make the bot
    fetch one. There is no rule against loopback or private addresses (the admin is trusted:
    the other tests here import from 127.0.0.1)."""
    files.files["/secret-admin-page"] = Served(speech())
    asked = len(files.requests)
    user = next(_users)
    message = f"导入 {files.url('/secret-admin-page')}"

    if where == "private":
        [reply] = await onebot.request(onebot.private_message(message, user_id=user), 1, to_user(user))
    else:
        [reply] = await onebot.request(onebot.group_message(message, group_id=FREE_GROUP, user_id=user), 1, to_group(FREE_GROUP))

    assert reply.text == "没有权限"
    await asyncio.sleep(0.3)
    assert files.requests[asked:] == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("file:///etc/passwd", "格式：导入 网址，例如：导入 https://example.com/讲话稿.docx"),
        ("ftp://127.0.0.1/讲话.txt", "格式：导入 网址，例如：导入 https://example.com/讲话稿.docx"),
        ("http://127.0.0.1:99999/讲话.txt", "文件「讲话.txt」没有导入：不是可下载的网址"),
        ("http://[::1/讲话.txt", "文件「讲话.txt」没有导入：不是可下载的网址"),
        ("http:///讲话.txt", "文件「讲话.txt」没有导入：不是可下载的网址"),
        ("http://127.0.0.1:1/讲话.txt", "文件「讲话.txt」没有导入：下载失败（ConnectError）"),
    ],
)
async def test_an_address_that_is_no_web_address_is_refused(onebot: FakeOneBot, library_bot: BotProcess, address: str, expected: str):
    before = database_state(library_bot)

    assert await ask_admin(onebot, f"导入 {address}") == expected
    assert database_state(library_bot) == before


async def test_redirects_are_followed_but_not_off_the_web_or_in_circles(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer):
    files.files["/to-disk/讲话.txt"] = Served(b"", redirect="file:///etc/passwd")
    files.files["/loop/讲话.txt"] = Served(b"", redirect="/loop/讲话.txt")
    files.files["/hop/讲话.txt"] = Served(b"", redirect="/landing/讲话.txt")
    files.files["/landing/讲话.txt"] = Served(speech())
    before = database_state(library_bot)

    assert await ask_admin(onebot, f"导入 {files.url('/to-disk/讲话.txt')}") == "文件「讲话.txt」没有导入：下载失败（UnsupportedProtocol）"
    assert await ask_admin(onebot, f"导入 {files.url('/loop/讲话.txt')}") == "文件「讲话.txt」没有导入：下载失败（TooManyRedirects）"
    assert database_state(library_bot) == before
    assert (await ask_admin(onebot, f"导入 {files.url('/hop/讲话.txt')}")).startswith("已导入 #")


@pytest.mark.parametrize(
    ("path", "name"),
    [("/..%2F..%2F..%2Ftmp%2F逃逸.txt", "逃逸.txt"), ("/a/b/%2E%2E%5C%2E%2E%5C逃逸.txt", "逃逸.txt")],
    ids=["encoded-slashes", "encoded-backslashes"],
)
async def test_an_address_whose_name_decodes_to_a_path_is_stored_under_the_plain_name(
    onebot: FakeOneBot, library_bot: BotProcess, files: FileServer, path: str, name: str
):
    files.files[unquote(path)] = Served(speech())
    known = documents(library_bot)
    before = {entry for entry in library_bot.folder.rglob("*")}

    reply = await ask_admin(onebot, f"导入 {files.url(path)}")

    [(number, (_, source))] = [(key, value) for key, value in documents(library_bot).items() if key not in known]
    assert reply.startswith(f"已导入 #{number} ")
    assert source == name
    assert {entry.name for entry in library_bot.folder.rglob("*") if entry not in before} <= {"wenku.db-wal", "wenku.db-shm"}
    assert not Path("/tmp/逃逸.txt").exists()


async def test_an_address_without_a_length_is_cut_at_the_limit(onebot: FakeOneBot, library_bot: BotProcess, files: FileServer):
    files.files["/endless.txt"] = Served(oversized(MAX_UPLOAD_MB * MiB + 1), send_length=False)
    before = database_state(library_bot)

    assert await ask_admin(onebot, f"导入 {files.url('/endless.txt')}") == f"文件「endless.txt」没有导入：文件超过 {MAX_UPLOAD_MB} MB"
    assert database_state(library_bot) == before
