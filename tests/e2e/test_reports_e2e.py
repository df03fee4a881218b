"""Reports, the blacklist, 统计 and 备份 over the wire.

One bot serves the module, with two member groups (so a ban removes the
reseller from each, and one removal can fail while the other succeeds) and a
free group. Memberships are set up with the ``wenku`` command line on the
bot's own database while it runs, as an operator would. Screenshots come from
a small HTTP server in the test, the way QQ hands the bot an image URL.

Report numbers are the database's: each test expects the number after the
highest one filed so far (1 when the module runs from the start), and each
test uses its own QQ numbers so the hourly report limit never bites.
"""

from __future__ import annotations

import asyncio
import random
import re
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from wenku import texts
from wenku.durations import parse_duration
from wenku.members import Membership
from wenku.search import match_expression
from wenku.stats import admin_stats
from wenku.store import Store

from .conftest import FREE_GROUP, MEMBER_GROUP, REPO_ROOT, SUPERUSER, BotProcess, clean_environment, launch
from .onebot import ApiCall, FakeOneBot, Response, text

SECOND_MEMBER_GROUP = 20003
MEMBER_GROUPS = (MEMBER_GROUP, SECOND_MEMBER_GROUP)
ADMIN = SUPERUSER
QUIET = 0.5  # seconds of silence, after a later command was answered, that count as "no reply"
REWARD = "1年"

#: Tables a report, a ban or a reward writes to: what "nothing changed" compares.
DECISION_TABLES = ("reports", "report_evidence", "blacklist", "members", "member_events", "audit")
ADMIN_COMMANDS = ("举报列表", "举报通过 {report}", "举报驳回 {report} 证据不足", "拉黑 123456 倒卖", "解除拉黑 123456", "统计", "备份")


# -- the operator's tools on the bot's database -----------------------------------------------------


def cli_command(bot: BotProcess, *args: str) -> list[str]:
    return [sys.executable, "-m", "wenku.cli", "--db", str(bot.db_path), *args]


def cli_env(bot: BotProcess) -> dict[str, str]:
    return clean_environment(WENKU_ENV_FILE=str(bot.env_file))


def cli(bot: BotProcess, *args: str) -> str:
    done = subprocess.run(cli_command(bot, *args), cwd=REPO_ROOT, env=cli_env(bot), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"wenku {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def database(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def rows(bot: BotProcess, sql: str, *params) -> list[dict]:
    with closing(database(bot.db_path)) as db:
        return [dict(row) for row in db.execute(sql, params)]


def next_report_id(bot: BotProcess) -> int:
    return rows(bot, "SELECT coalesce(max(id), 0) + 1 AS next FROM reports")[0]["next"]


def member_row(bot: BotProcess, user_id: int) -> dict | None:
    found = rows(bot, "SELECT * FROM members WHERE user_id = ?", str(user_id))
    return found[0] if found else None


def decision_state(bot: BotProcess) -> dict[str, list[dict]]:
    """Every row a report decision, a ban or a reward could touch, and the files beside the database."""
    state = {table: rows(bot, f"SELECT * FROM {table} ORDER BY rowid") for table in DECISION_TABLES}
    folder = bot.db_path.parent
    state["files"] = sorted(str(path.relative_to(folder)) for sub in ("backups", "evidence") for path in (folder / sub).glob("*"))
    return state


# -- a screenshot served over HTTP ----------------------------------------------------------------------


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG (8-bit RGB) built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(c for x in range(width) for c in (x * 80, y * 120, 200)) for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()


class ImageServer:
    """A threaded HTTP server on a free loopback port serving one PNG at /shot.png."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if self.path != "/shot.png":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(PNG)))
                self.end_headers()
                self.wfile.write(PNG)

            def log_message(self, *args) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self._http.server_address[1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)


@pytest.fixture(scope="module")
def images() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


# -- the module's bot ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot every test here talks to (through conftest's ``onebot``), with two member groups."""
    bot = launch(
        tmp_path_factory.mktemp("reports_bot"),
        {
            "WENKU_MEMBER_GROUPS": f"[{MEMBER_GROUP}, {SECOND_MEMBER_GROUP}]",
            "WENKU_REPORT_REWARD": REWARD,
            "WENKU_BACKUP_KEEP": "100",  # every backup of the test stays to be checked
        },
    )
    try:
        yield bot
    finally:
        bot.stop()


# -- talking to the bot ------------------------------------------------------------------------------------


def to_group(group_id: int):
    return lambda call: call.is_send_to(group_id=group_id)


def to_user(user_id: int):
    return lambda call: call.is_send_to(user_id=user_id)


def kicks_of(user_id: int):
    return lambda call: call.action == "set_group_kick" and int(call.params.get("user_id", -1)) == user_id


def message(onebot: FakeOneBot, content, *, user_id: int, group_id: int | None) -> dict:
    if group_id is None:
        return onebot.private_message(content, user_id=user_id)
    return onebot.group_message(content, group_id=group_id, user_id=user_id)


async def ask(onebot: FakeOneBot, content, *, user_id: int, group_id: int | None = None, timeout: float = 5.0) -> ApiCall:
    """Send a message in a chat and return the bot's one reply in that chat."""
    where = to_user(user_id) if group_id is None else to_group(group_id)
    [reply] = await onebot.request(message(onebot, content, user_id=user_id, group_id=group_id), 1, where, timeout=timeout)
    return reply


async def file_report(onebot: FakeOneBot, bot: BotProcess, reporter: int, reported: int, note: str = "倒卖会员资料") -> int:
    """A visitor reports in the free group; returns the report's number (checked against the reply)."""
    number = next_report_id(bot)
    start = onebot.mark()
    reply = await ask(onebot, f"举报 {reported} {note}", user_id=reporter, group_id=FREE_GROUP)
    assert reply.text == texts.report_filed(number)
    await onebot.wait_for_calls(1, to_user(ADMIN), after=start)  # the admins' alert
    return number


def fail_in(group_id: int):
    """A set_group_kick responder: refused (retcode 1200) in ``group_id``, done elsewhere."""

    def respond(call: ApiCall) -> Response:
        if int(call.params.get("group_id", -1)) == group_id:
            return Response.failure(retcode=1200, message="权限不足")
        return Response()

    return respond


# -- 1. a report with a screenshot, through approval -------------------------------------------------------------


async def test_a_report_with_a_screenshot_is_approved_rewarded_and_banned(
    onebot: FakeOneBot, library_bot: BotProcess, images: ImageServer
) -> None:
    reporter, reseller = 30010, 30009
    cli(library_bot, "members", "grant", str(reseller), "1年")
    assert member_row(library_bot, reporter) is None
    number = next_report_id(library_bot)
    note = "在闲鱼倒卖会员资料"

    # The visitor reports in the free group with a screenshot attached.
    start = onebot.mark()
    segments = [text(f"举报 {reseller} {note}"), {"type": "image", "data": {"file": "x.png", "url": images.url("/shot.png")}}]
    await onebot.send_event(onebot.group_message(segments, group_id=FREE_GROUP, user_id=reporter))
    [filed] = await onebot.wait_for_calls(1, to_group(FREE_GROUP), after=start)
    [alert] = await onebot.wait_for_calls(1, to_user(ADMIN), after=start)

    assert filed.text == texts.report_filed(number)
    assert alert.text.startswith(f"新举报 #{number}：{reporter} 举报 {reseller}\n说明：{note}\n")
    assert "截图 1 张" in alert.text and "未保存" not in alert.text, alert.text
    assert f"举报通过 {number}" in alert.text
    assert images.requests == ["/shot.png"]
    # The screenshot is kept beside the database, byte for byte, under a name of the bot's own.
    saved = sorted((library_bot.db_path.parent / "evidence").glob(f"report{number}_*"))
    assert [path.suffix for path in saved] == [".png"], saved
    assert saved[0].read_bytes() == PNG
    [evidence] = rows(library_bot, "SELECT * FROM report_evidence WHERE report_id = ?", number)
    assert (evidence["path"], evidence["error"], evidence["bytes"]) == (str(saved[0]), None, len(PNG))
    [report] = rows(library_bot, "SELECT * FROM reports WHERE id = ?", number)
    assert (report["reporter"], report["reported"], report["status"], report["group_id"]) == (
        str(reporter), str(reseller), "open", str(FREE_GROUP)
    )
    assert len(onebot.calls[start:]) == 2, [(call.action, call.params) for call in onebot.calls[start:]]

    # The admin approves privately; the removal from the second member group fails.
    onebot.respond("set_group_kick", fail_in(SECOND_MEMBER_GROUP))
    start = onebot.mark()
    await onebot.send_event(onebot.private_message(f"举报通过 {number}", user_id=ADMIN))
    kicks = await onebot.wait_for_calls(2, kicks_of(reseller), after=start)
    [approved] = await onebot.wait_for_calls(1, to_user(ADMIN), after=start)
    [thanks] = await onebot.wait_for_calls(1, to_user(reporter), after=start)

    assert sorted(int(call.params["group_id"]) for call in kicks) == sorted(MEMBER_GROUPS)
    rewarded = Membership.from_row(member_row(library_bot, reporter))
    report = rows(library_bot, "SELECT * FROM reports WHERE id = ?", number)[0]
    assert approved.text == texts.report_approved(report, rewarded, [(MEMBER_GROUP, True), (SECOND_MEMBER_GROUP, False)])
    assert f"移出会员群 {MEMBER_GROUP}：成功" in approved.text
    assert f"移出会员群 {SECOND_MEMBER_GROUP}：失败" in approved.text
    assert thanks.text == texts.reporter_rewarded(number, rewarded)
    assert thanks.action == "send_private_msg"

    # The database: decided, the reporter rewarded with a year, the reseller blacklisted with the membership ended.
    assert (report["status"], report["decided_by"]) == ("approved", str(ADMIN))
    [reward] = rows(library_bot, "SELECT * FROM member_events WHERE user_id = ? AND action = 'reward'", str(reporter))
    assert reward["before_until"] is None and reward["duration"] == REWARD
    assert reward["after_until"] == parse_duration(REWARD).after(datetime.fromisoformat(reward["at"])).isoformat()
    assert rewarded.valid_until == datetime.fromisoformat(reward["after_until"]) and rewarded.source == "report"
    assert rows(library_bot, "SELECT count(*) AS n FROM blacklist WHERE user_id = ?", str(reseller))[0]["n"] == 1
    ended = Membership.from_row(member_row(library_bot, reseller))
    assert not ended.active(datetime.now(UTC))
    [revoked] = rows(library_bot, "SELECT * FROM member_events WHERE user_id = ? AND action = 'revoke'", str(reseller))
    assert revoked["after_until"] == ended.valid_until.isoformat()
    audit = {row["action"] for row in rows(library_bot, "SELECT action FROM audit WHERE report_id = ?", number)}
    assert audit == {"report", "report_approved", "reward", "ban"}

    # The reseller's next join request to a member group is refused...
    onebot.reset()
    for group_id in MEMBER_GROUPS:
        event = onebot.group_request(group_id=group_id, user_id=reseller, comment="我是会员")
        [answer] = await onebot.request(event, 1, lambda call: call.action == "set_group_add_request")
        assert (answer.params["flag"], answer.params["approve"]) == (event["flag"], False)
        assert answer.params.get("reason") == texts.join_rejected_blacklisted()

    # ...and a search gets nothing: help, sent after it, is the one thing answered.
    start = onebot.mark()
    await onebot.send_event(onebot.group_message("搜索 工会", group_id=FREE_GROUP, user_id=reseller))
    await onebot.send_event(onebot.private_message("搜索 工会", user_id=reseller))
    help_reply = await ask(onebot, "帮助", user_id=reseller, group_id=FREE_GROUP)
    await onebot.assert_no_calls(QUIET)
    assert onebot.calls[start:] == [help_reply]
    assert help_reply.text == texts.help_text("blacklisted")


# -- 2. approval sent twice ----------------------------------------------------------------------------------------


async def test_an_approval_sent_twice_rewards_once(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    reporter, reseller = 30020, 30021
    cli(library_bot, "members", "grant", str(reseller), "1月")
    number = await file_report(onebot, library_bot, reporter, reseller)

    start = onebot.mark()
    # Back to back, without waiting for the first answer.
    await onebot.send_event(onebot.private_message(f"举报通过 {number}", user_id=ADMIN))
    await onebot.send_event(onebot.private_message(f"举报通过 {number}", user_id=ADMIN))
    replies = await onebot.wait_for_calls(2, to_user(ADMIN), after=start)
    await onebot.wait_for_calls(1, to_user(reporter), after=start)
    await onebot.assert_no_calls(QUIET)

    rewarded = Membership.from_row(member_row(library_bot, reporter))
    report = rows(library_bot, "SELECT * FROM reports WHERE id = ?", number)[0]
    approved = texts.report_approved(report, rewarded, [(group_id, True) for group_id in MEMBER_GROUPS])
    assert sorted(reply.text for reply in replies) == sorted([approved, texts.report_not_open(number, "approved")])
    thanks = [call for call in onebot.calls[start:] if call.is_send_to(user_id=reporter)]
    assert [call.text for call in thanks] == [texts.reporter_rewarded(number, rewarded)]
    assert len(rows(library_bot, "SELECT * FROM member_events WHERE user_id = ? AND action = 'reward'", str(reporter))) == 1
    assert len(rows(library_bot, "SELECT * FROM member_events WHERE user_id = ? AND action = 'revoke'", str(reseller))) == 1
    kicks = [call for call in onebot.calls[start:] if kicks_of(reseller)(call)]
    assert sorted(int(call.params["group_id"]) for call in kicks) == sorted(MEMBER_GROUPS)

    # A third, later one is refused the same way.
    again = await ask(onebot, f"举报通过 {number}", user_id=ADMIN)
    assert again.text == texts.report_not_open(number, "approved")


# -- 3. nobody but an admin ----------------------------------------------------------------------------------------


async def test_admin_commands_refuse_visitors_and_members(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    visitor, member, reporter, reported, banned = 30030, 30031, 30032, 30033, 654321
    cli(library_bot, "members", "grant", str(member), "1年")
    cli(library_bot, "members", "grant", "123456", "1年")  # 拉黑 123456 would end this
    with closing(database(library_bot.db_path)) as db:
        db.execute(
            "INSERT INTO blacklist (user_id, reason, at, actor) VALUES (?, ?, ?, ?)",
            [str(banned), "倒卖资料", datetime.now(UTC).isoformat(timespec="seconds"), "e2e"],
        )
    number = await file_report(onebot, library_bot, reporter, reported)  # an open report 举报通过 could decide
    before = decision_state(library_bot)

    start = onebot.mark()
    commands = [command.format(report=number) for command in ADMIN_COMMANDS] + [f"解除拉黑 {banned}"]
    asked = 0
    for user, group_id in ((visitor, FREE_GROUP), (visitor, None), (member, MEMBER_GROUP), (member, None)):
        for command in commands:
            reply = await ask(onebot, command, user_id=user, group_id=group_id)
            assert reply.text == "没有权限", (user, group_id, command, reply.text)
            asked += 1
    await onebot.assert_no_calls(QUIET)

    calls = onebot.calls[start:]
    assert len(calls) == asked, [(call.action, call.params) for call in calls]
    assert all(call.action in ("send_group_msg", "send_private_msg") and call.text == "没有权限" for call in calls)
    assert decision_state(library_bot) == before


# -- 4. backups while the library grows ------------------------------------------------------------------------------

BACKUP_DOCUMENTS = 300
_CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你能而子那得着下自之年过发后里如家多经么去"
    "法学都同现当没动面起看定天还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全"
    "三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位"
)
MARKER = re.compile(r"bkq\d{4}z")


def write_documents(folder: Path, count: int) -> dict[str, str]:
    """``count`` distinct .txt files, each with a marker found in no other; marker by file name."""
    rng = random.Random(20240611)
    folder.mkdir(parents=True)
    markers = {}
    for index in range(count):
        marker = f"bkq{index:04d}z"
        lines = [f"关于{''.join(rng.choices(_CHARS, k=8))}的讲话稿 第{index}号"]
        lines += ["".join(rng.choices(_CHARS, k=60)) + "。" for _ in range(30)]
        lines.insert(3, f"本篇标记 {marker} 用于核对备份。{''.join(rng.choices(_CHARS, k=10))}")
        (folder / f"doc{index:04d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        markers[f"doc{index:04d}.txt"] = marker
    return markers


def committed_ids(bot: BotProcess) -> set[int]:
    """The documents committed so far, read on a connection of our own."""
    return {row["id"] for row in rows(bot, "SELECT id FROM documents WHERE deleted_at IS NULL")}


BACKUP_DONE = re.compile(r"^备份完成：(?P<path>.+\.db)（[\d.]+ MB），共保留 \d+ 份。$")


def backup_path(reply_text: str) -> Path:
    found = BACKUP_DONE.match(reply_text)
    assert found, reply_text
    return Path(found.group("path"))


def check_backup(path: Path, expected: set[int]) -> set[str]:
    """The backup is sound, holds ``expected``, and finds each generated document by its marker; the markers it holds."""
    assert path.is_file(), path
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = {row[0] for row in db.execute("SELECT id FROM documents WHERE deleted_at IS NULL")}
    missing = expected - ids
    assert not missing, f"{path.name} lacks {len(missing)} documents committed before it was asked for"
    store = Store.open(path)
    try:
        marked = set()
        for document in store.iter_documents():
            found = MARKER.search(document.body)
            if found is None:
                continue
            marked.add(found.group())
            hits = store.matching_ids(match_expression([found.group()]))
            assert hits == [document.id], f"{path.name}: {found.group()} finds {hits}, not #{document.id}"
        return marked
    finally:
        store.close()


async def test_backups_while_an_import_runs_hold_every_committed_document(
    onebot: FakeOneBot, library_bot: BotProcess, tmp_path: Path
) -> None:
    markers = write_documents(tmp_path / "docs", BACKUP_DOCUMENTS)
    baseline = committed_ids(library_bot)
    importer = subprocess.Popen(
        cli_command(library_bot, "import", "--quiet", str(tmp_path / "docs")),
        cwd=REPO_ROOT,
        env=cli_env(library_bot),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    taken: list[tuple[Path, set[int], bool]] = []  # backup, documents committed before asking, import still running
    cli_backup: subprocess.Popen[str] | None = None
    before_cli_backup: set[int] = set()
    try:
        # Once the import has started writing, back up again and again until it is done.
        deadline = time.monotonic() + 30
        while len(committed_ids(library_bot)) == len(baseline) and importer.poll() is None:
            assert time.monotonic() < deadline, "the import never wrote a document"
            await asyncio.sleep(0.02)
        while importer.poll() is None and len(taken) < 40:
            if len(taken) == 1:  # the operator backs up from the command line meanwhile
                before_cli_backup = committed_ids(library_bot)
                cli_backup = subprocess.Popen(
                    cli_command(library_bot, "backup"), cwd=REPO_ROOT, env=cli_env(library_bot),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                )  # fmt: skip
            committed = committed_ids(library_bot)
            reply = await ask(onebot, "备份", user_id=ADMIN, timeout=20)
            taken.append((backup_path(reply.text), committed, importer.poll() is None))
            await asyncio.sleep(0.05)
        stdout, stderr = importer.communicate(timeout=60)
    finally:
        if importer.poll() is None:
            importer.kill()
            importer.wait()
    assert importer.returncode == 0, stdout + stderr
    assert f"导入 {BACKUP_DOCUMENTS}，" in stdout, stdout

    # One more after the import: it holds everything.
    everything = committed_ids(library_bot)
    assert len(everything - baseline) == BACKUP_DOCUMENTS
    final = backup_path((await ask(onebot, "备份", user_id=ADMIN)).text)

    during = [item for item in taken if item[2]]
    assert len(during) >= 2, f"only {len(during)} backups were taken while the import ran"
    paths = [path for path, _, _ in taken] + [final]
    assert len(set(paths)) == len(paths), "two backups share a file"
    marked = [check_backup(path, committed) for path, committed, _ in taken]
    assert check_backup(final, everything) == set(markers.values())
    # Sequential backups only ever grow.
    assert all(earlier <= later for earlier, later in zip(marked, marked[1:]))
    assert all(path.parent == library_bot.db_path.parent / "backups" for path in paths)

    # The command line's backup, taken while the bot served and the import ran, is as sound.
    if cli_backup is None:  # the import was over before a second 备份
        before_cli_backup = committed_ids(library_bot)
        cli_backup = subprocess.Popen(
            cli_command(library_bot, "backup"), cwd=REPO_ROOT, env=cli_env(library_bot),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    out, err = cli_backup.communicate(timeout=60)
    assert cli_backup.returncode == 0, out + err
    check_backup(backup_path(out.strip()), before_cli_backup)


# -- 5. statistics -------------------------------------------------------------------------------------------------------


async def test_statistics_for_the_admin(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    cli(library_bot, "members", "grant", "30050", "1年")
    await ask(onebot, "搜索 工会", user_id=30051, group_id=FREE_GROUP)
    await file_report(onebot, library_bot, 30052, 30053)

    reply = await ask(onebot, "统计", user_id=ADMIN)

    store = Store.open(library_bot.db_path)
    try:
        figures = admin_stats(store, datetime.now(UTC))
    finally:
        store.close()
    assert reply.text == texts.admin_stats(figures)
    documents = rows(library_bot, "SELECT count(*) AS n FROM documents WHERE deleted_at IS NULL")[0]["n"]
    open_reports = rows(library_bot, "SELECT count(*) AS n FROM reports WHERE status = 'open'")[0]["n"]
    lines = reply.text.splitlines()
    assert f"文档：{documents} 篇" in lines
    assert any(re.fullmatch(r"搜索：今天 [1-9]\d* 次，近7天 [1-9]\d* 次", line) for line in lines), lines
    assert any(re.fullmatch(rf"会员：有效 {figures.members_active} 人，7天内到期 \d+ 人", line) for line in lines), lines
    assert figures.members_active >= 1
    assert any(re.fullmatch(r"全文：今天 \d+ 次，近7天 \d+ 次", line) for line in lines), lines
    assert f"待处理举报：{open_reports} 个" in lines and open_reports >= 1
