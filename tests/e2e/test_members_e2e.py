"""Members over the wire: who gets which text, redeem codes, join requests, private sends failing.

One bot serves the whole module (``library_bot`` is overridden here with a
known watermark secret and a small daily quota). The roles are set up with
the operator's tools on the bot's own database while it runs: the ``wenku``
command line for memberships and codes, and sqlite3 for the blacklist, which
has no command yet. Each test uses its own QQ numbers, so quotas and search
sessions never meet.

What "only an excerpt" means here: the preview shows the first
:data:`PREVIEW_OPENING` characters of a document and search results show
snippets; no API frame to a visitor, an expired or a blacklisted member, or
to a group, may hold :data:`WINDOW` consecutive characters of a document's
body that reach past that opening (whitespace and zero-width marks ignored,
forward nodes and uploaded .docx files decoded).
"""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime

import pytest

from wenku import texts
from wenku.watermark import MARK_CHARS, find_marks, mask_qq

from .conftest import (
    CONTACT,
    FREE_GROUP,
    MEMBER_GROUP,
    REPO_ROOT,
    SUPERUSER,
    UNCONFIGURED_GROUP,
    BotProcess,
    clean_environment,
    launch,
)
from .onebot import ApiCall, FakeOneBot, Response, file_text, outgoing_texts

SECRET = "e2e-members-watermark-secret-1f4c9a"
DAILY_LIMIT = 8
DOCUMENT = 1  # a demo document
SEARCH = "工作"  # gives the demo library two pages
WINDOW = 120
PREVIEW_OPENING = 300  # texts.preview's default opening
QUIET = 0.5  # seconds of silence, after a later command was answered, that count as "no reply"

VISITOR, MEMBER, EXPIRED, BLACKLISTED, ADMIN = 40001, 40002, 40003, 40004, SUPERUSER
ROLES = {"visitor": VISITOR, "member": MEMBER, "expired": EXPIRED, "blacklisted": BLACKLISTED, "admin": ADMIN}
CHATS = {"free-group": FREE_GROUP, "member-group": MEMBER_GROUP, "private": None}
FALLBACK_MEMBER, UNSENT_TEXT_MEMBER, UNSENT_FILE_MEMBER, QUOTA_MEMBER, HALF_SENT_MEMBER = 40005, 40006, 40007, 40008, 40009
REDEEMER, LATE_REDEEMER = 40011, 40012


# -- the operator's tools on the bot's database -----------------------------------------------------


def cli_all(bot: BotProcess, *commands: tuple[str, ...]) -> list[str]:
    """Run ``python -m wenku.cli --db <the bot's db> ...`` once per command, all at once; their outputs."""
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "wenku.cli", "--db", str(bot.db_path), *args],
            cwd=REPO_ROOT,
            env=clean_environment(WENKU_ENV_FILE=str(bot.env_file)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    outputs = []
    for args, process in zip(commands, processes, strict=True):
        stdout, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, f"wenku {' '.join(args)} failed:\n{stdout}{stderr}"
        outputs.append(stdout)
    return outputs


def cli(bot: BotProcess, *args: str) -> str:
    [output] = cli_all(bot, args)
    return output


def database(bot: BotProcess) -> sqlite3.Connection:
    connection = sqlite3.connect(bot.db_path, timeout=30, isolation_level=None)
    connection.row_factory = sqlite3.Row
    return connection


def blacklist(bot: BotProcess, user_id: int, reason: str = "倒卖资料") -> None:
    with closing(database(bot)) as db:
        db.execute(
            "INSERT INTO blacklist (user_id, reason, at, actor) VALUES (?, ?, ?, ?)",
            [str(user_id), reason, datetime.now(UTC).isoformat(timespec="seconds"), "e2e"],
        )


def bodies(bot: BotProcess) -> dict[int, str]:
    with closing(database(bot)) as db:
        return {row["id"]: row["body"] for row in db.execute("SELECT id, body FROM documents WHERE deleted_at IS NULL")}


def title_of(bot: BotProcess, document_id: int) -> str:
    with closing(database(bot)) as db:
        return db.execute("SELECT title FROM documents WHERE id = ?", [document_id]).fetchone()[0]


def delivery_row(bot: BotProcess, delivery_id: int) -> dict | None:
    with closing(database(bot)) as db:
        row = db.execute("SELECT * FROM deliveries WHERE id = ?", [delivery_id]).fetchone()
    return dict(row) if row else None


def deliveries_of(bot: BotProcess, user_id: int) -> list[dict]:
    with closing(database(bot)) as db:
        return [dict(row) for row in db.execute("SELECT * FROM deliveries WHERE user_id = ? ORDER BY id", [str(user_id)])]


def settled_delivery(bot: BotProcess, delivery_id: int, timeout: float = 5.0) -> dict:
    """The deliveries row once the bot has recorded how the send went (it is 'pending' meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        row = delivery_row(bot, delivery_id)
        if row is not None and row["status"] != "pending":
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"delivery {delivery_id} not settled after {timeout}s: {row}")
        time.sleep(0.05)


# -- the module's bot ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def library_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot every test here talks to (through conftest's ``onebot``), with the roles set up."""
    bot = launch(
        tmp_path_factory.mktemp("members_bot"),
        {"WENKU_WATERMARK_SECRET": SECRET, "WENKU_DAILY_FULLTEXT": str(DAILY_LIMIT), "WENKU_SEND_INTERVAL": "0"},
    )
    try:
        # While the bot runs, as an operator would; several at once, which must not fail with "locked".
        cli_all(
            bot,
            ("members", "grant", str(MEMBER), "1年"),
            ("members", "grant", str(BLACKLISTED), "1年"),
            ("members", "grant", str(EXPIRED), "1月"),
        )
        cli(bot, "members", "cancel", str(EXPIRED))
        # Blacklisted with a membership still on record: the blacklist wins.
        blacklist(bot, BLACKLISTED)
        yield bot
    finally:
        bot.stop()


@pytest.fixture(scope="module")
def leaks(library_bot: BotProcess) -> LeakDetector:
    return LeakDetector(bodies(library_bot))


# -- what a frame reveals -----------------------------------------------------------------------------

_INVISIBLE = re.compile(rf"[\s{MARK_CHARS}]+")


def squeeze(text: str) -> str:
    return _INVISIBLE.sub("", text)


class LeakDetector:
    """Finds runs of :data:`WINDOW` body characters, past the preview's opening, in outgoing text."""

    def __init__(self, documents: dict[int, str]):
        assert documents, "the library is empty"
        self.documents = documents
        self._windows: dict[str, int] = {}
        for document_id, body in documents.items():
            opening = len(squeeze(body[:PREVIEW_OPENING]))
            flat = squeeze(body)
            for start in range(max(0, opening - WINDOW + 1), len(flat) - WINDOW + 1):
                self._windows.setdefault(flat[start : start + WINDOW], document_id)

    def documents_in(self, text: str) -> set[int]:
        flat = squeeze(text)
        windows = (flat[start : start + WINDOW] for start in range(len(flat) - WINDOW + 1))
        return {self._windows[window] for window in windows if window in self._windows}

    def assert_no_leak(self, calls: list[ApiCall]) -> None:
        for call in calls:
            for text in outgoing_texts(call):
                found = self.documents_in(text)
                where = call.params.get("group_id") or call.params.get("user_id")
                assert not found, f"{call.action} to {where} reveals documents {found}: {text[:300]!r}"


def delivery_texts(call: ApiCall) -> list[str]:
    """The pieces of one delivery frame: each forward node, a plain message, or the .docx's text."""
    if call.action == "upload_private_file":
        return [file_text(call.params["file"])]
    return outgoing_texts(call)


#: A piece this long holds at least one whole cluster (they are at most about 76 characters apart).
MARKED_PIECE = 200


def marked_delivery(bot: BotProcess, user_id: int, calls: list[ApiCall], *, format: str, group_id: int | None) -> dict:
    """Check the pieces of a delivery name one delivery, of ``user_id``; return its settled deliveries row."""
    pieces = [piece for call in calls for piece in delivery_texts(call)]
    assert pieces
    [delivery_id] = find_marks("\n".join(pieces), SECRET)
    for piece in pieces:
        if len(squeeze(piece)) >= MARKED_PIECE:
            assert find_marks(piece, SECRET) == [delivery_id], f"a piece without the delivery's mark: {piece[:100]!r}"
    row = settled_delivery(bot, delivery_id)
    assert row["user_id"] == str(user_id), row
    assert (row["document_id"], row["format"], row["status"]) == (DOCUMENT, format, "sent"), row
    assert row["group_id"] == (str(group_id) if group_id is not None else None), row
    # The visible line names the same delivery.
    assert f"QQ {mask_qq(user_id)} · 编号 {delivery_id}" in "\n".join(pieces)
    return row


def is_delivery_to(user_id: int):
    def match(call: ApiCall) -> bool:
        if call.action in ("send_private_forward_msg", "upload_private_file"):
            return int(call.params.get("user_id", -1)) == user_id
        return False

    return match


def to_chat(group_id: int | None, user_id: int):
    if group_id is None:
        return lambda call: call.is_send_to(user_id=user_id)
    return lambda call: call.is_send_to(group_id=group_id)


def message(onebot: FakeOneBot, content: str, *, user_id: int, group_id: int | None) -> dict:
    if group_id is None:
        return onebot.private_message(content, user_id=user_id)
    return onebot.group_message(content, group_id=group_id, user_id=user_id)


async def ask(onebot: FakeOneBot, content: str, *, user_id: int, group_id: int | None) -> ApiCall:
    """Send a command in a chat and return the bot's one reply in that chat."""
    [reply] = await onebot.request(message(onebot, content, user_id=user_id, group_id=group_id), 1, to_chat(group_id, user_id))
    return reply


async def grant(onebot: FakeOneBot, user: int) -> None:
    """The admin grants a membership in a private chat with the bot."""
    reply = await ask(onebot, f"开通 {user} 1年", user_id=ADMIN, group_id=None)
    assert reply.text.startswith(f"已开通 {user} 的会员，有效期至 "), reply.text


def pages_of(reply: ApiCall) -> tuple[int, int]:
    found = re.search(r"第 (\d+)/(\d+) 页", reply.text)
    assert found, reply.text
    return int(found.group(1)), int(found.group(2))


def remaining_quota(reply: ApiCall) -> int:
    found = re.search(r"今日剩余全文次数：(\d+)", reply.text)
    assert found, reply.text
    return int(found.group(1))


# -- the permission matrix -------------------------------------------------------------------------------


def test_the_leak_detector_sees_a_full_text_but_not_a_preview(leaks: LeakDetector, library_bot: BotProcess) -> None:
    body = leaks.documents[DOCUMENT]
    assert len(squeeze(body)) > PREVIEW_OPENING + 2 * WINDOW, "the document is too short to tell an excerpt from a leak"
    assert leaks.documents_in(body) == {DOCUMENT}
    assert leaks.documents_in(body[PREVIEW_OPENING : PREVIEW_OPENING + WINDOW + 40]) == {DOCUMENT}
    assert leaks.documents_in(title_of(library_bot, DOCUMENT) + "\n" + body.replace("\n", " ")[:PREVIEW_OPENING] + "…") == set()


async def _visitor_commands(onebot: FakeOneBot, user: int, group_id: int | None) -> None:
    for command in (f"全文 {DOCUMENT}", f"全文 {DOCUMENT} 文件"):
        refused = await ask(onebot, command, user_id=user, group_id=group_id)
        assert refused.text == texts.fulltext_refused(CONTACT)

    found = await ask(onebot, f"搜索 {SEARCH}", user_id=user, group_id=group_id)
    assert pages_of(found)[0] == 1
    assert pages_of(await ask(onebot, "下一页", user_id=user, group_id=group_id))[0] == 2
    preview = await ask(onebot, f"摘要 {DOCUMENT}", user_id=user, group_id=group_id)
    assert preview.text.startswith(f"#{DOCUMENT} ")


async def _member_commands(onebot: FakeOneBot, bot: BotProcess, user: int, group_id: int | None) -> set[int]:
    """全文 as text and as a file, search, 下一页 and 摘要; returns the delivery frames' indexes."""
    delivery_frames: set[int] = set()
    for form, format in (("", "text"), (" 文件", "file")):
        start = onebot.mark()
        await onebot.send_event(message(onebot, f"全文 {DOCUMENT}{form}", user_id=user, group_id=group_id))
        [sent] = await onebot.wait_for_calls(1, is_delivery_to(user), after=start)
        expect_reply = group_id is not None or format == "file"
        if expect_reply:
            [reply] = await onebot.wait_for_calls(1, to_chat(group_id, user), after=start)
            if group_id is not None:
                assert reply.text == "已私信发送"
            else:
                assert reply.text == texts.fulltext_file_sent(title_of(bot, DOCUMENT))
        assert sent.action == ("upload_private_file" if format == "file" else "send_private_forward_msg")
        if format == "file":
            assert sent.params["name"].endswith(".docx")
        marked_delivery(bot, user, [sent], format=format, group_id=group_id)
        # The frame really holds the document (so the leak check below would see one).
        assert LeakDetector({DOCUMENT: bodies(bot)[DOCUMENT]}).documents_in("\n".join(delivery_texts(sent))) == {DOCUMENT}
        delivery_frames.add(onebot.calls.index(sent))
        # Nothing else went to the member or the chat.
        expected = [sent, reply] if expect_reply else [sent]
        others = [call for call in onebot.calls[start:] if not any(call is wanted for wanted in expected)]
        assert not others, [(call.action, call.params) for call in others]

    found = await ask(onebot, f"搜索 {SEARCH}", user_id=user, group_id=group_id)
    assert pages_of(found)[0] == 1
    assert pages_of(await ask(onebot, "下一页", user_id=user, group_id=group_id))[0] == 2
    assert (await ask(onebot, f"摘要 {DOCUMENT}", user_id=user, group_id=group_id)).text.startswith(f"#{DOCUMENT} ")
    return delivery_frames


@pytest.mark.parametrize("chat", list(CHATS))
@pytest.mark.parametrize("role", list(ROLES))
async def test_permission_matrix(onebot: FakeOneBot, library_bot: BotProcess, leaks: LeakDetector, role: str, chat: str) -> None:
    user, group_id = ROLES[role], CHATS[chat]
    start = onebot.mark()
    before = len(deliveries_of(library_bot, user))

    if role == "blacklisted":
        commands = (f"全文 {DOCUMENT}", f"全文 {DOCUMENT} 文件", f"搜索 {SEARCH}", "下一页", f"摘要 {DOCUMENT}", "会员", "兑换 ABCDE-FGHJK")
        for command in commands:
            await onebot.send_event(message(onebot, command, user_id=user, group_id=group_id))
        # Help is the one thing a blacklisted number is answered; once it is in, the rest had their chance.
        help_reply = await ask(onebot, "帮助", user_id=user, group_id=group_id)
        await onebot.assert_no_calls(QUIET)
        assert onebot.calls[start:] == [help_reply]
        assert help_reply.text == texts.help_text("blacklisted")
        delivery_frames: set[int] = set()
    elif role in ("visitor", "expired"):
        await _visitor_commands(onebot, user, group_id)
        delivery_frames = set()
    else:
        delivery_frames = await _member_commands(onebot, library_bot, user, group_id)

    calls = onebot.calls[start:]
    if role in ("visitor", "expired", "blacklisted"):
        assert not [call for call in calls if is_delivery_to(user)(call)]
        assert len(deliveries_of(library_bot, user)) == before
    else:
        assert len(deliveries_of(library_bot, user)) == before + 2
    # Nothing but the deliveries themselves holds more than an excerpt, whoever asked and wherever.
    leaks.assert_no_leak([call for index, call in enumerate(calls, start) if index not in delivery_frames])
    # And nothing went anywhere but to this chat and this user.
    for call in calls:
        if "group_id" in call.params:
            assert int(call.params["group_id"]) == group_id, (call.action, call.params)
        else:
            assert int(call.params["user_id"]) == user, (call.action, call.params)


# -- redeeming a code -----------------------------------------------------------------------------------


async def test_a_code_redeems_once_and_unlocks_full_texts(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    [code] = cli(library_bot, "codes", "generate", "1", "1月").split()
    assert re.fullmatch(r"[A-Z2-9]{5}(-[A-Z2-9]{5}){3}", code), code

    assert (await ask(onebot, f"全文 {DOCUMENT}", user_id=REDEEMER, group_id=None)).text == texts.fulltext_refused(CONTACT)
    redeemed = await ask(onebot, f"兑换 {code}", user_id=REDEEMER, group_id=None)
    assert redeemed.text.startswith("兑换成功！会员有效期至 ")

    # Typed differently (lower case, no dashes) it is the same code, and it is spent.
    refused = await ask(onebot, f"兑换 {code.replace('-', '').lower()}", user_id=LATE_REDEEMER, group_id=FREE_GROUP)
    assert refused.text == "这个卡密已经被使用过了。"
    still_refused = await ask(onebot, f"全文 {DOCUMENT}", user_id=LATE_REDEEMER, group_id=FREE_GROUP)
    assert still_refused.text == texts.fulltext_refused(CONTACT)

    start = onebot.mark()
    await onebot.send_event(onebot.group_message(f"全文 {DOCUMENT}", group_id=MEMBER_GROUP, user_id=REDEEMER))
    [sent] = await onebot.wait_for_calls(1, is_delivery_to(REDEEMER), after=start)
    [reply] = await onebot.wait_for_calls(1, to_chat(MEMBER_GROUP, REDEEMER), after=start)
    assert reply.text == "已私信发送"
    marked_delivery(library_bot, REDEEMER, [sent], format="text", group_id=MEMBER_GROUP)

    listed = cli(library_bot, "codes", "list")
    assert "已使用 生成于" in listed and f"使用者 {REDEEMER}" in listed


# -- join requests ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "group_id", "approve", "reason"),
    [
        (MEMBER, MEMBER_GROUP, True, ""),
        (ADMIN, MEMBER_GROUP, True, ""),
        (VISITOR, MEMBER_GROUP, False, texts.join_rejected(CONTACT)),
        (EXPIRED, MEMBER_GROUP, False, texts.join_rejected(CONTACT)),
        (BLACKLISTED, MEMBER_GROUP, False, texts.join_rejected_blacklisted()),
        (BLACKLISTED, FREE_GROUP, False, texts.join_rejected_blacklisted()),
        (VISITOR, FREE_GROUP, True, ""),
    ],
    ids=["member", "admin", "visitor", "expired", "blacklisted", "blacklisted-free-group", "visitor-free-group"],
)
async def test_join_request(onebot: FakeOneBot, user: int, group_id: int, approve: bool, reason: str) -> None:
    event = onebot.group_request(group_id=group_id, user_id=user, comment="想看讲话稿")

    [answer] = await onebot.request(event, 1, lambda call: call.action == "set_group_add_request")

    assert answer.params["flag"] == event["flag"]
    assert answer.params["sub_type"] == "add"
    assert answer.params["approve"] is approve
    assert answer.params.get("reason", "") == reason
    await onebot.assert_no_calls(0.3)


async def test_join_requests_elsewhere_and_invitations_are_left_alone(onebot: FakeOneBot) -> None:
    start = onebot.mark()
    await onebot.send_event(onebot.group_request(group_id=UNCONFIGURED_GROUP, user_id=MEMBER))
    await onebot.send_event(onebot.group_request(group_id=MEMBER_GROUP, user_id=VISITOR, sub_type="invite"))
    # A later request that is answered: the two before it had their chance.
    await onebot.send_event(onebot.group_request(group_id=FREE_GROUP, user_id=VISITOR, flag="the-last-one"))
    [answer] = await onebot.wait_for_calls(1, after=start)
    assert answer.action == "set_group_add_request" and answer.params["flag"] == "the-last-one"
    await onebot.assert_no_calls(QUIET)


# -- the private send failing ---------------------------------------------------------------------------------


async def test_a_refused_forward_falls_back_to_plain_private_messages(
    onebot: FakeOneBot, library_bot: BotProcess, leaks: LeakDetector
) -> None:
    await grant(onebot, FALLBACK_MEMBER)
    onebot.respond("send_private_forward_msg", Response.failure(retcode=1200, message="不支持合并转发"))
    start = onebot.mark()

    await onebot.send_event(onebot.group_message(f"全文 {DOCUMENT}", group_id=MEMBER_GROUP, user_id=FALLBACK_MEMBER))
    [reply] = await onebot.wait_for_calls(1, to_chat(MEMBER_GROUP, FALLBACK_MEMBER), after=start)

    assert reply.text == "已私信发送"
    calls = onebot.calls[start:]
    forwards = [call for call in calls if call.action == "send_private_forward_msg"]
    pieces = [call for call in calls if call.is_send_to(user_id=FALLBACK_MEMBER)]
    assert len(forwards) == 1 and pieces, [call.action for call in calls]
    assert all(piece.received_at > forwards[0].received_at for piece in pieces)
    row = marked_delivery(library_bot, FALLBACK_MEMBER, pieces, format="text", group_id=MEMBER_GROUP)
    # The whole text arrived: every character of the body, in order.
    assert squeeze(leaks.documents[DOCUMENT]) in squeeze("".join(piece.text for piece in pieces))
    assert row["status"] == "sent"
    leaks.assert_no_leak([reply])


@pytest.mark.parametrize(
    ("user", "form", "actions"),
    [
        (UNSENT_TEXT_MEMBER, "", ("send_private_forward_msg", "send_private_msg")),
        (UNSENT_FILE_MEMBER, " 文件", ("upload_private_file",)),
    ],
    ids=["text", "file"],
)
async def test_a_failed_private_send_is_not_counted(
    onebot: FakeOneBot, library_bot: BotProcess, leaks: LeakDetector, user: int, form: str, actions: tuple[str, ...]
) -> None:
    async def quota() -> int:
        return remaining_quota(await ask(onebot, "会员", user_id=user, group_id=MEMBER_GROUP))

    await grant(onebot, user)
    # One that goes through counts...
    assert await quota() == DAILY_LIMIT
    start = onebot.mark()
    await onebot.send_event(onebot.group_message(f"全文 {DOCUMENT}{form}", group_id=MEMBER_GROUP, user_id=user))
    assert (await onebot.wait_for_calls(1, to_chat(MEMBER_GROUP, user), after=start))[0].text == "已私信发送"
    assert await quota() == DAILY_LIMIT - 1

    # ...one that cannot reach the member does not.
    for action in actions:
        onebot.respond(action, Response.failure(retcode=1200, message="请先添加好友"))
    start = onebot.mark()
    await onebot.send_event(onebot.group_message(f"全文 {DOCUMENT}{form}", group_id=MEMBER_GROUP, user_id=user))
    [reply] = await onebot.wait_for_calls(1, to_chat(MEMBER_GROUP, user), after=start)

    assert reply.text == texts.private_send_failed()
    attempted = [call for call in onebot.calls[start:] if call.action in actions]
    assert attempted and {call.action for call in attempted} == set(actions)
    rows = deliveries_of(library_bot, user)
    assert [row["status"] for row in rows] == ["sent", "failed"]
    assert await quota() == DAILY_LIMIT - 1
    leaks.assert_no_leak([call for call in onebot.calls[start:] if call.action not in actions])


async def test_the_daily_quota_runs_out(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    await grant(onebot, QUOTA_MEMBER)
    for _ in range(DAILY_LIMIT):
        assert (await ask(onebot, f"全文 {DOCUMENT}", user_id=QUOTA_MEMBER, group_id=FREE_GROUP)).text == "已私信发送"

    start = onebot.mark()
    refused = await ask(onebot, f"全文 {DOCUMENT}", user_id=QUOTA_MEMBER, group_id=FREE_GROUP)

    assert refused.text == texts.quota_exhausted(DAILY_LIMIT)
    assert onebot.calls[start:] == [refused]
    assert len(deliveries_of(library_bot, QUOTA_MEMBER)) == DAILY_LIMIT
    assert remaining_quota(await ask(onebot, "会员", user_id=QUOTA_MEMBER, group_id=None)) == 0


async def test_no_piece_follows_a_plain_piece_that_failed(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    """Forward refused, then the first plain piece fails: the rest would reach the member out of context, uncounted."""
    user = HALF_SENT_MEMBER
    await grant(onebot, user)
    onebot.respond("send_private_forward_msg", Response.failure(retcode=1200, message="不支持合并转发"))
    onebot.respond("send_private_msg", Response.failure(retcode=1200, message="发送过快"), times=1)
    start = onebot.mark()

    await onebot.send_event(onebot.group_message(f"全文 {DOCUMENT}", group_id=MEMBER_GROUP, user_id=user))
    [reply] = await onebot.wait_for_calls(1, to_chat(MEMBER_GROUP, user), after=start)

    assert reply.text == texts.private_send_failed()
    plain = [call for call in onebot.calls[start:] if call.is_send_to(user_id=user)]
    assert len(plain) == 1, f"{len(plain)} plain pieces tried after the first failed"
    assert [row["status"] for row in deliveries_of(library_bot, user)] == ["failed"]
