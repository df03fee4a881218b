"""How a message is read as a command: the no-prefix rule, and document numbers as users type them."""

from __future__ import annotations

import pytest

SEARCH = ("搜索", "search", "搜", "找")  # longest first, as command() orders them
PAGING = ("下一页", "上一页")


@pytest.fixture(scope="module")
def chat():
    # wenku_bot.chat imports the runtime, which needs the NoneBot that NoneBug starts after collection.
    from wenku_bot import chat

    return chat


@pytest.mark.parametrize(
    ("text", "names", "expected"),
    [
        # Without the slash the word stands alone or is followed by white space.
        ("搜索 工会", SEARCH, "工会"),
        ("搜索", SEARCH, ""),
        ("搜索 工会 维权", SEARCH, "工会 维权"),
        ("  搜索   工会  维权  ", SEARCH, "工会  维权"),
        ("搜索\t工会", SEARCH, "工会"),
        ("搜索\n工会", SEARCH, "工会"),
        ("搜索\u3000工会", SEARCH, "工会"),
        ("搜 工会", SEARCH, "工会"),
        ("找 工会", SEARCH, "工会"),
        ("search 工会", SEARCH, "工会"),
        ("下一页", PAGING, ""),
        ("上一页", PAGING, ""),
        # Ordinary chat that merely starts with a command word.
        ("搜索一下工会", SEARCH, None),
        ("搜索工会", SEARCH, None),
        ("搜工会", SEARCH, None),
        ("找到了", SEARCH, None),
        ("searching 工会", SEARCH, None),
        ("Search 工会", SEARCH, "工会"),  # phones capitalise the first letter
        ("下一页呢", PAGING, None),
        ("搜索，工会", SEARCH, None),
        ("大家搜索 工会", SEARCH, None),
        ("", SEARCH, None),
        ("   ", SEARCH, None),
        # With the slash the arguments may follow directly.
        ("/搜索工会", SEARCH, "工会"),
        ("/搜索 工会", SEARCH, "工会"),
        ("/ 搜索 工会", SEARCH, "工会"),
        ("/搜工会", SEARCH, "工会"),
        ("/search工会", SEARCH, "工会"),
        ("/搜索", SEARCH, ""),
        ("/下一页", PAGING, ""),
        ("//搜索 工会", SEARCH, None),
        ("/", SEARCH, None),
        ("/工会", SEARCH, None),
    ],
)
def test_command_args(chat, text: str, names: tuple[str, ...], expected: str | None):
    assert chat._command_args(text, names) == expected


def test_command_args_take_the_first_name_that_matches(chat):
    # Why command() tries longer names first: with the slash, 搜 alone would swallow 索.
    assert chat._command_args("/搜索工会", ("搜", "搜索")) == "索工会"
    assert chat._command_args("/搜索工会", ("搜索", "搜")) == "工会"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("#12", 12),
        ("# 12", 12),
        ("＃１２", 12),
        ("１２", 12),
        (" 12 ", 12),
        ("0", 0),
        ("007", 7),
        ("123456789", 123456789),
        ("1234567890", None),
        ("", None),
        ("#", None),
        ("abc", None),
        ("12a", None),
        ("a12", None),
        ("-1", None),
        ("+1", None),
        ("1.5", None),
        ("12 13", None),
        ("##12", None),
        ("第12篇", None),
        ("十二", None),
    ],
)
def test_parse_number(chat, text: str, expected: int | None):
    assert chat.parse_number(text) == expected


def test_mentions_become_qq_numbers_and_typed_cq_codes_stay_text(chat):
    from nonebot.adapters.onebot.v11 import Message, MessageSegment

    class Event:
        message = Message([MessageSegment.text("开通 "), MessageSegment.at(12345678), MessageSegment.text(" 1年")])

    assert chat._command_text(Event()) == "开通  12345678  1年"
    Event.message = Message(MessageSegment.text("搜索 [CQ:at,qq=all]"))
    assert chat._command_text(Event()) == "搜索 [CQ:at,qq=all]"
