"""The real bot.py over a real reverse WebSocket, driven the way NapCat drives it.

Most tests share one bot and one OneBot connection (``library_bot`` and
``onebot``); they use different users so their search sessions never meet.
Tests that need other settings, a fresh start or their own connection start
a bot of their own.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from .conftest import (
    CONTACT,
    FREE_GROUP,
    MEMBER_GROUP,
    REPO_ROOT,
    SELF_ID,
    UNCONFIGURED_GROUP,
    BotProcess,
    clean_environment,
)
from .onebot import ApiCall, FakeOneBot, Response, text

SILENCE = 1.5  # seconds without any API call that count as "the bot ignored it"


def to_group(group_id: int):
    return lambda call: call.is_send_to(group_id=group_id)


def to_user(user_id: int):
    return lambda call: call.is_send_to(user_id=user_id)


async def ask_group(onebot: FakeOneBot, message, *, user_id: int, group_id: int = FREE_GROUP) -> ApiCall:
    """Send a group message and return the bot's one reply to that group."""
    [reply] = await onebot.request(onebot.group_message(message, group_id=group_id, user_id=user_id), 1, to_group(group_id))
    return reply


async def ask_private(onebot: FakeOneBot, message, *, user_id: int) -> ApiCall:
    [reply] = await onebot.request(onebot.private_message(message, user_id=user_id), 1, to_user(user_id))
    return reply


def pages_of(reply: ApiCall) -> tuple[int, int]:
    found = re.search(r"第 (\d+)/(\d+) 页", reply.text)
    assert found, reply.text
    return int(found.group(1)), int(found.group(2))


def test_bot_started_with_every_plugin_and_the_demo_library(library_bot: BotProcess) -> None:
    log = library_bot.log()
    assert "Failed to import" not in log
    for plugin in sorted((REPO_ROOT / "plugins").glob("[!_]*.py")):
        assert f'Succeeded to load plugin "{plugin.stem}"' in log, f"plugin {plugin.stem} did not load"
    assert re.search(r"loaded \d+ demo documents into an empty library", log)


# -- search and where the bot answers ----------------------------------------------------


async def test_search_in_free_group_shows_snippets_and_the_call_to_subscribe(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "搜索 工会", user_id=30001, group_id=FREE_GROUP)

    assert reply.action == "send_group_msg"
    assert reply.params["group_id"] == FREE_GROUP
    assert "「工会」共找到" in reply.text
    assert "【工会】" in reply.text
    assert CONTACT in reply.text


async def test_search_in_member_group_has_no_call_to_subscribe(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "搜索 工会", user_id=30002, group_id=MEMBER_GROUP)

    assert reply.params["group_id"] == MEMBER_GROUP
    assert "【工会】" in reply.text
    assert CONTACT not in reply.text


async def test_search_in_private_chat_answers_privately(onebot: FakeOneBot) -> None:
    reply = await ask_private(onebot, "搜索 工会", user_id=30003)

    assert reply.action == "send_private_msg"
    assert reply.params["user_id"] == 30003
    assert "【工会】" in reply.text
    assert CONTACT not in reply.text


async def test_unconfigured_group_gets_no_api_call_at_all(onebot: FakeOneBot) -> None:
    start = onebot.mark()
    for command in ("搜索 工会", "帮助", "/搜索工会", "最新"):
        await onebot.send_event(onebot.group_message(command, group_id=UNCONFIGURED_GROUP, user_id=30004))

    await onebot.assert_no_calls(SILENCE, after=start)


async def test_ordinary_chat_does_not_trigger_but_the_slash_prefix_does(onebot: FakeOneBot) -> None:
    start = onebot.mark()
    await onebot.send_event(onebot.group_message("搜索一下工会的文件", group_id=FREE_GROUP, user_id=30005))
    await onebot.send_event(onebot.group_message("找找看", group_id=FREE_GROUP, user_id=30005))
    # A command sent after the chat: once its reply is in, the chat had its chance too.
    await onebot.send_event(onebot.group_message("/搜索工会", group_id=FREE_GROUP, user_id=30005))

    [reply] = await onebot.wait_for_calls(1, after=start)
    assert reply.is_send_to(group_id=FREE_GROUP)
    assert "「工会」共找到" in reply.text
    await onebot.assert_no_calls(0.5)
    assert len(onebot.calls) == start + 1


async def test_search_addressed_with_at_bot(onebot: FakeOneBot) -> None:
    message = [{"type": "at", "data": {"qq": str(SELF_ID)}}, text(" 搜索 工会")]

    reply = await ask_group(onebot, message, user_id=30006)

    assert "【工会】" in reply.text


@pytest.mark.parametrize("quoted_found", [True, False], ids=["quote-found", "quote-lookup-fails"])
async def test_search_sent_as_a_reply_to_another_message(onebot: FakeOneBot, quoted_found: bool) -> None:
    """QQ users often quote a message; NoneBot then asks OneBot for it with get_msg."""
    quoted = {
        "time": int(time.time()) - 60,
        "message_type": "group",
        "message_id": 777001,
        "real_id": 777001,
        "sender": {"user_id": 30099, "nickname": "别人"},
        "message": [text("[CQ:at,qq=all] 大家看看工会的材料")],
    }
    onebot.respond("get_msg", Response(data=quoted) if quoted_found else Response.failure(retcode=1404, message="消息不存在"))
    message = [{"type": "reply", "data": {"id": "777001"}}, text("搜索 工会")]

    calls = await onebot.request(onebot.group_message(message, group_id=FREE_GROUP, user_id=30007), 2)

    assert calls[0].action == "get_msg" and int(calls[0].params["message_id"]) == 777001
    assert calls[1].is_send_to(group_id=FREE_GROUP)
    assert "「工会」共找到" in calls[1].text
    assert "CQ:" not in calls[1].text  # nothing of the quoted message is echoed


# -- browsing -----------------------------------------------------------------------------


async def test_paging_through_results(onebot: FakeOneBot) -> None:
    user = 30010
    first = await ask_group(onebot, "搜索 工作", user_id=user)
    page, pages = pages_of(first)
    assert (page, pages) == (1, pages) and pages >= 2, "the demo library should give 工作 two pages"
    assert re.search(r"^1\. #\d+ ", first.text, re.M)

    second = await ask_group(onebot, "下一页", user_id=user)
    assert pages_of(second) == (2, pages)
    assert re.search(r"^6\. #\d+ ", second.text, re.M), second.text
    assert "【工作】" in second.text

    back = await ask_group(onebot, "上一页", user_id=user)
    assert pages_of(back) == (1, pages)
    assert back.text == first.text

    assert (await ask_group(onebot, "上一页", user_id=user)).text == "已经是第一页了。"
    for _ in range(pages - 1):
        await ask_group(onebot, "下一页", user_id=user)
    assert (await ask_group(onebot, "下一页", user_id=user)).text == "已经是最后一页了。"


async def test_paging_belongs_to_the_user_and_the_chat(onebot: FakeOneBot) -> None:
    await ask_group(onebot, "搜索 工作", user_id=30011)

    someone_else = await ask_group(onebot, "下一页", user_id=30012)
    same_user_elsewhere = await ask_private(onebot, "下一页", user_id=30011)

    for reply in (someone_else, same_user_elsewhere):
        assert "没有可以翻页的搜索" in reply.text


async def test_preview(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "摘要 1", user_id=30020)

    assert reply.text.startswith("#1 ")
    assert "分类：" in reply.text and "关键词：" in reply.text
    assert "会员发送「全文 1」获取全文。" in reply.text
    assert CONTACT in reply.text  # a free group

    assert "没有编号为 9999 的文档" in (await ask_group(onebot, "摘要 9999", user_id=30020)).text
    assert "请在「摘要」后面写文档编号" in (await ask_group(onebot, "摘要 第一篇", user_id=30020)).text
    assert (await ask_private(onebot, "预览 #1", user_id=30020)).text.startswith("#1 ")


async def test_latest(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "最新", user_id=30021)
    assert reply.text.startswith("最新的 5 篇：")
    assert len(re.findall(r"^\d+\. #\d+ ", reply.text, re.M)) == 5

    three = await ask_group(onebot, "最新 3", user_id=30021)
    assert len(re.findall(r"^\d+\. #\d+ ", three.text, re.M)) == 3

    assert "1 到 20" in (await ask_group(onebot, "最新 99", user_id=30021)).text


async def test_categories(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "分类", user_id=30022, group_id=MEMBER_GROUP)
    assert reply.text.startswith("文库分类：")
    assert "工会（" in reply.text

    union = await ask_group(onebot, "分类 工会", user_id=30022, group_id=MEMBER_GROUP)
    assert union.text.startswith("「工会」最新的")
    assert "工会工作会议" in union.text

    assert "没有「天文」这个分类" in (await ask_group(onebot, "分类 天文", user_id=30022, group_id=MEMBER_GROUP)).text


async def test_help(onebot: FakeOneBot) -> None:
    for command in ("帮助", "/help", "菜单"):
        reply = await ask_group(onebot, command, user_id=30023)
        assert reply.text.startswith("文库机器人可用命令")
        for name in ("搜索", "下一页", "摘要", "最新", "分类"):
            assert name in reply.text


async def test_empty_search_explains_itself(onebot: FakeOneBot) -> None:
    assert "请在「搜索」后面写上关键词" in (await ask_group(onebot, "搜索", user_id=30024)).text
    assert "没有找到包含「量子纠缠」的文档" in (await ask_group(onebot, "搜索 量子纠缠", user_id=30024)).text


# -- what the bot sends is text, whatever the user typed -------------------------------------


async def test_cq_code_in_a_search_is_never_sent_as_a_code(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "搜索 [CQ:at,qq=all]", user_id=30030)

    assert [segment["type"] for segment in reply.segments] == ["text"]
    assert "没有找到" in reply.text


async def test_user_text_echoed_in_a_reply_stays_literal_text(onebot: FakeOneBot) -> None:
    reply = await ask_group(onebot, "分类 [CQ:at,qq=all]", user_id=30031)

    assert reply.segments == [{"type": "text", "data": {"text": reply.text}}]
    assert "「[CQ:at,qq=all]」" in reply.text


async def test_cq_codes_inside_a_document_stay_literal_text(onebot: FakeOneBot, library_bot: BotProcess, tmp_path: Path) -> None:
    """An admin imports a document with the command line while the bot runs."""
    document = tmp_path / "团建通知.txt"
    document.write_text(
        "关于周末团建活动的通知\n各位同事：\n"
        "本周六上午九点在南门集合，请[CQ:at,qq=all]参加拔河比赛和趣味运动会[CQ:face,id=1]，请大家准时到达。\n"
        "请各部门负责人统计参加人数，周四下班前报送行政部。\n",
        encoding="utf-8",
    )
    imported = subprocess.run(
        [sys.executable, "-m", "wenku.cli", "--db", str(library_bot.db_path), "import", str(document)],
        cwd=REPO_ROOT,
        env=clean_environment(WENKU_ENV_FILE=str(library_bot.env_file)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert imported.returncode == 0, imported.stdout + imported.stderr

    found = await ask_group(onebot, "搜索 拔河", user_id=30032)
    assert "[CQ:at,qq=all]参加【拔河】" in found.text
    number = re.search(r"#(\d+) 关于周末团建活动的通知", found.text)
    assert number, found.text

    preview = await ask_group(onebot, f"摘要 {number.group(1)}", user_id=30032)
    assert "[CQ:at,qq=all]" in preview.text and "[CQ:face,id=1]" in preview.text
    for reply in (found, preview):
        assert [segment["type"] for segment in reply.segments] == ["text"]


# -- the OneBot side failing or slow -------------------------------------------------------


async def test_a_failed_send_is_logged_and_the_bot_keeps_answering(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    onebot.respond("send_group_msg", Response.failure(retcode=1200, message="发送失败，请检查风控"), times=1)

    failed = await ask_group(onebot, "帮助", user_id=30040, group_id=MEMBER_GROUP)
    assert failed.text.startswith("文库机器人可用命令")
    library_bot.wait_for_log(f"send to group:{MEMBER_GROUP} via {SELF_ID} failed: ActionFailed")

    again = await ask_group(onebot, "帮助", user_id=30040, group_id=MEMBER_GROUP)
    assert again.text == failed.text


async def test_a_slow_answer_in_one_chat_does_not_hold_up_another(onebot: FakeOneBot) -> None:
    onebot.respond("send_private_msg", Response(delay=1.5), times=1)

    slow = await ask_private(onebot, "帮助", user_id=30041)
    fast = await ask_group(onebot, "帮助", user_id=30041, group_id=MEMBER_GROUP)

    assert fast.received_at - slow.received_at < 1.0


# -- who may connect and post events -----------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong-token"], ids=["no-token", "empty-token", "wrong-token"])
async def test_websocket_without_the_right_token_is_refused(library_bot: BotProcess, token: str | None) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await library_bot.onebot(self_id=SELF_ID + 1, access_token=token).connect()

    assert refused.value.response.status_code == 403


async def test_a_second_connection_for_a_connected_account_is_refused(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await library_bot.onebot(self_id=SELF_ID).connect()
    assert refused.value.response.status_code == 403

    # The first connection is untouched.
    assert (await ask_private(onebot, "帮助", user_id=30050)).text.startswith("文库机器人可用命令")


def signed(body: bytes, secret: str) -> str:
    return "sha1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha1).hexdigest()


async def test_http_post_event_routes_are_closed(onebot: FakeOneBot, library_bot: BotProcess) -> None:
    """Events come over the reverse WebSocket only: the adapter's HTTP POST routes are taken off,
    so not even a correctly signed post gets in (it could not be answered, and for an account
    whose WebSocket is down it would register a bot that locks the WebSocket out)."""
    event = onebot.private_message("帮助", user_id=30051)
    body = json.dumps(event, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "X-Self-ID": str(SELF_ID), "X-Signature": signed(body, library_bot.secret)}
    start = onebot.mark()

    async with httpx.AsyncClient(timeout=5) as http:
        answers = [
            await http.post(library_bot.http_url.removesuffix("/") + suffix, content=body, headers=headers)
            for suffix in ("/", "/http", "/http/")
        ]
    assert [answer.status_code for answer in answers] == [404, 404, 404]
    await onebot.assert_no_calls(SILENCE, after=start)
    # The WebSocket route is untouched: the same event over it is answered.
    await onebot.send_event(event)
    [reply] = await onebot.wait_for_calls(1, after=start)
    assert reply.is_send_to(user_id=30051)


# -- pacing and reconnecting (bots of their own) ----------------------------------------------


async def test_sends_to_one_chat_are_paced_and_other_chats_are_not_held_up(start_bot) -> None:
    bot: BotProcess = start_bot(WENKU_SEND_INTERVAL="1")
    async with bot.onebot() as onebot:
        for user in (30060, 30061, 30062):
            await onebot.send_event(onebot.group_message("帮助", group_id=FREE_GROUP, user_id=user))
        await onebot.send_event(onebot.group_message("帮助", group_id=MEMBER_GROUP, user_id=30063))

        free = await onebot.wait_for_calls(3, to_group(FREE_GROUP), after=0, timeout=10)
        [member] = await onebot.wait_for_calls(1, to_group(MEMBER_GROUP), after=0)

    gaps = [later.received_at - earlier.received_at for earlier, later in zip(free, free[1:])]
    assert all(gap >= 0.95 for gap in gaps), gaps
    assert member.received_at - free[0].received_at < 0.9


async def test_a_message_queued_while_onebot_reconnects_is_delivered(start_bot) -> None:
    bot: BotProcess = start_bot(WENKU_SEND_INTERVAL="1")
    first_connection = bot.onebot()
    await first_connection.connect()
    for user in (30070, 30071):
        await first_connection.send_event(first_connection.group_message("帮助", group_id=FREE_GROUP, user_id=user))
    await first_connection.wait_for_calls(1, to_group(FREE_GROUP))
    await first_connection.close()  # the second reply is still waiting for its turn

    await asyncio.sleep(1.5)  # it falls due while nobody is connected
    second_connection = bot.onebot()
    deadline = time.monotonic() + 5
    while True:  # the bot may not have noticed the old connection closing yet
        try:
            await second_connection.connect()
            break
        except InvalidStatus:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
    try:
        [late] = await second_connection.wait_for_calls(1, to_group(FREE_GROUP), timeout=8)
    finally:
        await second_connection.close()

    assert late.text.startswith("文库机器人可用命令")
    assert len(first_connection.calls) == 1


# -- starting the bot ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "process_env", "missing"),
    [
        ({"ONEBOT_ACCESS_TOKEN": ""}, {}, ["ONEBOT_ACCESS_TOKEN"]),
        ({"ONEBOT_SECRET": ""}, {}, ["ONEBOT_SECRET"]),
        ({"ONEBOT_ACCESS_TOKEN": None, "ONEBOT_SECRET": None}, {}, ["ONEBOT_ACCESS_TOKEN", "ONEBOT_SECRET"]),
        ({}, {"ONEBOT_ACCESS_TOKEN": ""}, ["ONEBOT_ACCESS_TOKEN"]),
    ],
    ids=["empty-token", "empty-secret", "neither", "token-emptied-by-environment"],
)
def test_bot_refuses_to_start_without_credentials(launch_bot, overrides, process_env, missing) -> None:
    bot: BotProcess = launch_bot(overrides=overrides, process_env=process_env, wait=False)

    code = bot.wait_for_exit()

    log = bot.log()
    assert code != 0, log
    assert "拒绝启动" in log
    for name in missing:
        assert name in log
    assert "Uvicorn running" not in log


async def test_first_start_writes_settings_with_fresh_secrets(launch_bot, tmp_path: Path) -> None:
    env_file = tmp_path / "fresh" / ".env"
    bot: BotProcess = launch_bot(tmp_path / "fresh", write_settings=False, env_file=env_file)

    settings = bot.file_settings()
    token, secret = settings.get("ONEBOT_ACCESS_TOKEN"), settings.get("ONEBOT_SECRET")
    assert token and secret and token != secret
    assert len(token) >= 32 and len(secret) >= 32
    assert settings.get("WENKU_WATERMARK_SECRET")
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    log = bot.log()
    assert f"ws://127.0.0.1:{bot.port}/onebot/v11/ws" in log
    assert token in log
    assert secret not in log  # the HTTP POST routes it would sign are closed: nothing to configure with it

    # The printed token is the one in effect: it connects, and nothing else does.
    with pytest.raises(InvalidStatus):
        await bot.onebot(access_token=None).connect()
    async with bot.onebot(access_token=token) as onebot:
        reply = await ask_private(onebot, "搜索 工会", user_id=30080)
    assert "【工会】" in reply.text  # and the demo library was loaded


# -- credentials in the environment -------------------------------------------------------------------


async def test_first_start_prints_the_token_in_effect(launch_bot, tmp_path: Path) -> None:
    bot: BotProcess = launch_bot(
        tmp_path / "fresh",
        write_settings=False,
        env_file=tmp_path / "fresh" / ".env",
        process_env={"ONEBOT_ACCESS_TOKEN": "token-from-the-environment"},
    )
    printed = re.search(r"Access Token：(\S+)", bot.log())
    assert printed

    async with bot.onebot(access_token=printed.group(1)):
        pass


def test_credentials_from_the_environment_alone_are_enough(launch_bot) -> None:
    bot: BotProcess = launch_bot(
        overrides={"ONEBOT_ACCESS_TOKEN": None, "ONEBOT_SECRET": None},
        process_env={"ONEBOT_ACCESS_TOKEN": "token-from-the-environment", "ONEBOT_SECRET": "secret-from-the-environment"},
    )
    assert bot.process.poll() is None
