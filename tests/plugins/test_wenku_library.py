"""The search plugin as users meet it: messages in, exact replies out.

Each test feeds OneBot V11 message events to every loaded matcher (NoneBug's
test_matcher()) and states the one API call the bot must make: the literal
text, sent as a single text segment to the chat the message came from.
NoneBug fails a test on any call it was not told about; a message that must
get no answer also may not pass any matcher's rule. The library is the one of
tests/plugins/plugin_support.py; result pages of a search are rendered with
the core's own functions (see ``results``), every other reply is literal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from nonebug import App
from plugin_support import CONTACT, FREE, MEMBER, OTHER, PRIVATE, SUPERUSER, Chat

from wenku import texts
from wenku.search import result_page, search

pytestmark = pytest.mark.usefixtures("library")

PAGING_HINT = "发送「下一页」「上一页」翻页，「摘要 编号」看预览，会员发送「全文 编号」获取全文。"
SUBSCRIBE = "开通会员看全文：咨询QQ10000"


def results(library, query: str, page: int = 1, *, free: bool = False) -> str:
    """A page of results as the core renders it; ranking and snippets have their own tests in tests/unit.

    What the plugin decides (which page, the numbering, the call to
    subscribe in the free group) is checked literally by the tests below.
    """
    page_of_results = result_page(library.store, search(library.store, query), page)
    return texts.search_results(page_of_results, free_group=free, contact=CONTACT)


@dataclass(frozen=True)
class Results:
    """Stands for the first page of results of ``query`` in a parametrized expectation."""

    query: str


CATEGORY_HINT = "可以按分类浏览：工会、乡村振兴、共青团、安全生产、教育、纪检监察（发送「分类 名称」）"
EMPTY_QUERY = "请在「搜索」后面写上关键词，例如：搜索 工会 维权"
NO_SEARCH_TO_PAGE = "没有可以翻页的搜索（搜索结果保留10分钟），请先发送「搜索 关键词」。"
BAD_COUNT = "数量请写 1 到 20 之间的数字，例如：最新 10"
NEEDS_NUMBER = "请在「摘要」后面写文档编号，例如：摘要 12"

VISITOR_HELP = "\n".join(
    [
        "文库机器人可用命令（命令前可加 /）：",
        "· 搜索 词 [词…]：按关键词找文档，多个词表示同时包含（也可用：搜、找）",
        "· 下一页 / 上一页：翻看刚才的搜索结果",
        "· 摘要 编号：看文档的标题、分类、关键词和开头（也可用：预览）",
        "· 最新 [数量]：最新入库的文档，默认5篇，最多20篇",
        "· 分类 [名称]：各分类的文档数；带名称时看该分类最新文档",
        "· 会员：查看自己的会员状态和今日剩余全文次数",
        "· 兑换 卡密：用卡密开通或续期会员",
        "· 帮助：显示本说明",
    ]
)

CHATS = [FREE, MEMBER, PRIVATE]


async def exchange(app: App, library, chat: Chat, *turns: tuple[str, str | None], user_id: int | None = None) -> None:
    """Send each message of ``turns`` in ``chat``; the bot must answer it with exactly the text given.

    A reply of None means silence: no matcher may even accept the message.
    """
    async with app.test_matcher() as ctx:
        bot = library.connect(ctx)
        for message, reply in turns:
            ctx.receive_event(bot, chat.message(message, user_id=user_id))
            if reply is None:
                ctx.should_not_pass_rule()
            else:
                chat.expect_reply(ctx, reply)


# -- 搜索 ------------------------------------------------------------------------------


async def test_search_in_free_group_adds_the_call_to_subscribe(app: App, library):
    expected = results(library, "工会 维权", free=True)
    assert expected.startswith(
        "「工会 维权」共找到 1 篇，第 1/1 页：\n"
        "1. #1 在全市工会工作会议上的讲话\n"
        "   工会 · 2024-05-06 · 110字\n"
    )
    assert expected.endswith("\n" + PAGING_HINT + "\n" + SUBSCRIBE)
    await exchange(app, library, FREE, ("搜索 工会 维权", expected))


@pytest.mark.parametrize("chat", [MEMBER, PRIVATE], ids=str)
async def test_search_for_members_and_in_private(app: App, library, chat: Chat):
    expected = results(library, "工会 维权")
    assert expected.endswith("\n" + PAGING_HINT)
    await exchange(app, library, chat, ("搜索 工会 维权", expected))


@pytest.mark.parametrize(
    "message",
    [
        "搜 工会 维权",
        "找 工会 维权",
        "search 工会 维权",
        "/search 工会 维权",
        "/搜索 工会 维权",
        "/ 搜索 工会 维权",
        "  搜索\u3000工会 维权  ",
        "搜索 工会，维权",
        "搜索 工會 維權",
    ],
)
async def test_search_aliases_and_spellings(app: App, library, message: str):
    await exchange(app, library, MEMBER, (message, results(library, "工会 维权")))


async def test_search_without_hits_suggests_words_titles_and_categories(app: App, library):
    expected = "\n".join(
        [
            "没有找到同时包含「工会 安全」的文档。",
            "单独搜索时：「工会」1 篇，「安全」1 篇，可以少用一个词再试。",
            "相近的标题：",
            "#1 在全市工会工作会议上的讲话",
            "#3 在安全生产工作会议上的讲话",
            CATEGORY_HINT,
        ]
    )
    await exchange(app, library, MEMBER, ("搜索 工会 安全", expected))


# -- the no-prefix rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "搜索一下工会",
        "搜工会",
        "找到了",
        "searching 工会",
        "下一页呢",
        "摘要写好了吗",
        "最新消息",
        "分类讨论",
        "帮助我",
        "大家搜索 工会",
        "//搜索 工会",
    ],
)
@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_ordinary_chat_triggers_nothing(app: App, library, chat: Chat, message: str):
    await exchange(app, library, chat, (message, None))


async def test_with_the_slash_arguments_may_follow_directly(app: App, library):
    union = results(library, "工会")
    await exchange(app, library, MEMBER, ("/搜索工会", union), ("/搜工会", union), ("/找工会", union))


# -- 下一页 / 上一页 -----------------------------------------------------------------------


async def test_paging_forward_and_back_to_both_ends(app: App, library):
    first, second = results(library, "落实", 1), results(library, "落实", 2)
    # 落实 is in six documents: five on the first page, the sixth (numbered on) on the second.
    assert first.startswith("「落实」共找到 6 篇，第 1/2 页：\n1. #")
    assert "\n5. #" in first and "\n6. #" not in first
    assert second.startswith("「落实」共找到 6 篇，第 2/2 页：\n6. #")
    assert "\n7. #" not in second
    await exchange(
        app,
        library,
        MEMBER,
        ("搜索 落实", first),
        ("上一页", "已经是第一页了。"),
        ("下一页", second),
        ("下一页", "已经是最后一页了。"),
        ("/上一页", first),
        ("下一页", second),
    )


async def test_paging_in_free_group_keeps_the_call_to_subscribe(app: App, library):
    first, second = results(library, "落实", 1, free=True), results(library, "落实", 2, free=True)
    assert first.endswith("\n" + SUBSCRIBE) and second.endswith("\n" + SUBSCRIBE)
    await exchange(app, library, FREE, ("搜索 落实", first), ("下一页", second))


async def test_a_single_page_has_no_next_page(app: App, library):
    await exchange(
        app,
        library,
        PRIVATE,
        ("搜索 工会 维权", results(library, "工会 维权")),
        ("下一页", "已经是最后一页了。"),
        ("上一页", "已经是第一页了。"),
    )


@pytest.mark.parametrize("command", ["下一页", "上一页"])
@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_paging_without_a_search(app: App, library, chat: Chat, command: str):
    await exchange(app, library, chat, (command, NO_SEARCH_TO_PAGE))


async def test_paging_belongs_to_the_user_and_the_chat(app: App, library):
    await exchange(app, library, MEMBER, ("搜索 落实", results(library, "落实", 1)))
    # Someone else in the same group, and the same user in another chat, have nothing to page.
    await exchange(app, library, MEMBER, ("下一页", NO_SEARCH_TO_PAGE), user_id=30002)
    await exchange(app, library, FREE, ("下一页", NO_SEARCH_TO_PAGE))
    await exchange(app, library, PRIVATE, ("下一页", NO_SEARCH_TO_PAGE))
    await exchange(app, library, MEMBER, ("下一页", results(library, "落实", 2)))


async def test_a_search_without_hits_ends_paging_of_the_previous_one(app: App, library):
    await exchange(
        app,
        library,
        MEMBER,
        ("搜索 落实", results(library, "落实", 1)),
        ("搜索 体育", "没有找到包含「体育」的文档。\n" + CATEGORY_HINT),
        ("下一页", "没有可以翻页的搜索（搜索结果保留10分钟），请先发送「搜索 关键词」。"),
    )


# -- 摘要 ------------------------------------------------------------------------------------

PREVIEW_1 = "\n".join(
    [
        "#1 在全市工会工作会议上的讲话",
        "分类：工会　日期：2024-05-06　110字",
        "关键词：职工、任务、劳动、维权",
        "",
        "同志们： 这次会议的任务是总结去年全市工会工作，部署今年的重点任务。 过去一年，各级工会组织认真落实职工维权机制，"
        "帮助职工追回欠薪，调解劳动争议。 今年要把维权服务延伸到新就业形态劳动者，让每一名职工都感受到工会的温暖。",
        "",
        "会员发送「全文 1」获取全文。",
    ]
)

PREVIEW_2 = "\n".join(
    [
        "#2 在职工代表大会上的讲话",
        "分类：工会　日期：2024-05-06　72字",
        "关键词：代表、职工",
        "",
        "各位代表： 职工代表大会是职工参与民主管理的基本形式。 我们要落实厂务公开制度，认真办理代表提案，"
        "把职工最关心的工资、休假和劳动保护问题解决好。",
        "",
        "会员发送「全文 2」获取全文。",
    ]
)


async def test_preview_in_free_group_adds_the_call_to_subscribe(app: App, library):
    await exchange(app, library, FREE, ("摘要 1", PREVIEW_1 + "\n" + SUBSCRIBE))


@pytest.mark.parametrize("chat", [MEMBER, PRIVATE], ids=str)
@pytest.mark.parametrize("message", ["摘要 2", "摘要 #2", "摘要 ＃２", "预览 2", "/摘要2", "/预览#2"])
async def test_preview_number_forms(app: App, library, chat: Chat, message: str):
    await exchange(app, library, chat, (message, PREVIEW_2))


@pytest.mark.parametrize("chat", CHATS, ids=str)
@pytest.mark.parametrize("message", ["摘要", "摘要 ", "摘要 第二篇", "摘要 2 3", "摘要 -2"])
async def test_preview_needs_a_number(app: App, library, chat: Chat, message: str):
    await exchange(app, library, chat, (message, NEEDS_NUMBER))


@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_preview_of_an_unknown_number(app: App, library, chat: Chat):
    await exchange(
        app,
        library,
        chat,
        ("摘要 99", "没有编号为 99 的文档，编号见搜索结果中的 # 后面的数字。"),
        ("摘要 0", "没有编号为 0 的文档，编号见搜索结果中的 # 后面的数字。"),
    )


# -- 最新 ------------------------------------------------------------------------------------

LATEST_LINES = [
    "1. #7 在共青团代表大会上的讲话\n   共青团 · 2024-05-06 · 45字",
    "2. #6 在全市教育工作会议上的讲话\n   教育 · 2024-05-06 · 51字",
    "3. #5 在廉政建设工作会议上的讲话\n   纪检监察 · 2024-05-06 · 59字",
    "4. #4 在乡村振兴推进会上的讲话\n   乡村振兴 · 2024-05-06 · 56字",
    "5. #3 在安全生产工作会议上的讲话\n   安全生产 · 2024-05-06 · 74字",
    "6. #2 在职工代表大会上的讲话\n   工会 · 2024-05-06 · 72字",
    "7. #1 在全市工会工作会议上的讲话\n   工会 · 2024-05-06 · 110字",
]


def latest_reply(shown: int) -> str:
    return "\n".join([f"最新的 {shown} 篇：", *LATEST_LINES[:shown], "发送「摘要 编号」看预览。"])


@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_latest(app: App, library, chat: Chat):
    await exchange(
        app,
        library,
        chat,
        ("最新", latest_reply(5)),
        ("最新 2", latest_reply(2)),
        ("最新 ２", latest_reply(2)),
        ("/最新1", latest_reply(1)),
        ("最新 20", latest_reply(7)),
    )


@pytest.mark.parametrize("count", ["0", "21", "abc", "-1", "1.5", "99999999999"])
async def test_latest_with_a_bad_count(app: App, library, count: str):
    await exchange(app, library, MEMBER, (f"最新 {count}", BAD_COUNT))


async def test_latest_in_an_empty_library(app: App, library):
    library.store.db.execute("UPDATE documents SET deleted_at = '2024-05-07T00:00:00+00:00'")
    await exchange(app, library, MEMBER, ("最新", "文库里还没有文档。"), ("分类", "文库里还没有文档。"))


# -- 分类 ------------------------------------------------------------------------------------

CATEGORIES = "\n".join(
    [
        "文库分类：",
        "工会（2篇）",
        "乡村振兴（1篇）",
        "共青团（1篇）",
        "安全生产（1篇）",
        "教育（1篇）",
        "纪检监察（1篇）",
        "发送「分类 名称」看该分类最新的文档。",
    ]
)

KNOWN_CATEGORIES = "现有分类：工会、乡村振兴、共青团、安全生产、教育、纪检监察"

UNION_CATEGORY = "\n".join(
    [
        "「工会」最新的 2 篇：",
        "1. #2 在职工代表大会上的讲话\n   工会 · 2024-05-06 · 72字",
        "2. #1 在全市工会工作会议上的讲话\n   工会 · 2024-05-06 · 110字",
        "发送「摘要 编号」看预览。",
    ]
)


@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_categories(app: App, library, chat: Chat):
    await exchange(
        app,
        library,
        chat,
        ("分类", CATEGORIES),
        ("分类 工会", UNION_CATEGORY),
        ("/分类工会", UNION_CATEGORY),
        ("分类 安全生产", "「安全生产」最新的 1 篇：\n1. #3 在安全生产工作会议上的讲话\n   安全生产 · 2024-05-06 · 74字\n"
                         "发送「摘要 编号」看预览。"),
        ("分类 体育", "没有「体育」这个分类。" + KNOWN_CATEGORIES),
    )


# -- 帮助 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("chat", CHATS, ids=str)
@pytest.mark.parametrize("message", ["帮助", "/帮助", "help", "菜单"])
async def test_help_for_visitors(app: App, library, chat: Chat, message: str):
    await exchange(app, library, chat, (message, VISITOR_HELP))


def help_for_admin() -> str:
    """An admin sees every command of the table: the visitor's, the member's and the admin's."""
    lines = ["文库机器人可用命令（命令前可加 /）："]
    lines.extend(f"· {command}：{meaning}" for command, meaning, _ in texts.COMMANDS)
    return "\n".join(lines)


@pytest.mark.parametrize("chat", [FREE, MEMBER, Chat("private", SUPERUSER)], ids=str)
async def test_help_for_an_admin(app: App, library, chat: Chat):
    expected = help_for_admin()
    assert expected.startswith(VISITOR_HELP)
    await exchange(app, library, chat, ("帮助", expected), user_id=SUPERUSER)


# -- chats the bot does not serve ---------------------------------------------------------------


@pytest.mark.parametrize(
    "message", ["搜索 工会", "/搜索工会", "下一页", "上一页", "摘要 1", "最新", "分类", "分类 工会", "帮助", "搜索"]
)
async def test_silence_in_a_group_that_is_not_configured(app: App, library, message: str):
    await exchange(app, library, OTHER, (message, None))
    assert list(library.store.db["searches"].rows) == []


async def test_silence_even_for_an_admin_in_a_group_that_is_not_configured(app: App, library):
    await exchange(app, library, OTHER, ("帮助", None), ("搜索 工会", None), user_id=SUPERUSER)


# -- hostile input --------------------------------------------------------------------------------

OPERATORS_NOT_FOUND = "没有找到同时包含「near and or not」的文档。\n" + CATEGORY_HINT
CQ_NOT_FOUND = "没有找到同时包含「cq at qq all」的文档。\n" + CATEGORY_HINT
# NOT is one more word to find, not an operator: the reply lists the words that would find something.
FTS5_NOT_FOUND = "\n".join(
    [
        "没有找到同时包含「工会 not 维权」的文档。",
        "单独搜索时：「工会」1 篇，「维权」1 篇，可以少用一个词再试。",
        "相近的标题：",
        "#1 在全市工会工作会议上的讲话",
        CATEGORY_HINT,
    ]
)
TOO_LONG = "关键词太长了，每个词请不超过 30 个字，多个词用空格隔开。"


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        pytest.param("搜索", EMPTY_QUERY, id="empty"),
        pytest.param("搜索     ", EMPTY_QUERY, id="spaces"),
        pytest.param("搜索 " + "工会" * 250, TOO_LONG, id="500-characters-one-word"),
        pytest.param("搜索 " + "工会 " * 165, Results("工会"), id="500-characters-one-word-repeated"),
        pytest.param('搜索 " * ( ) NEAR AND OR NOT -', OPERATORS_NOT_FOUND, id="fts5-syntax"),
        pytest.param('搜索 " * ( ) -', EMPTY_QUERY, id="fts5-punctuation-only"),
        pytest.param('搜索 "工会" NOT "维权"', FTS5_NOT_FOUND, id="fts5-not"),
        pytest.param("搜索 😀🎉", EMPTY_QUERY, id="emoji-only"),
        pytest.param("搜索 工会😀", Results("工会"), id="emoji-and-word"),
        pytest.param("搜索 [CQ:at,qq=all]", CQ_NOT_FOUND, id="cq-code"),
        pytest.param("搜索 \x00\x1f", EMPTY_QUERY, id="control-characters"),
    ],
)
@pytest.mark.parametrize("chat", CHATS, ids=str)
async def test_hostile_search_input_gets_a_plain_reply(app: App, library, chat: Chat, message: str, reply):
    if isinstance(reply, Results):
        reply = results(library, reply.query, free=chat is FREE)
    await exchange(app, library, chat, (message, reply))


async def test_cq_code_typed_by_a_user_is_echoed_as_text(app: App, library):
    # The reply repeats the user's words; they must stay one text segment, not become an @all.
    await exchange(
        app,
        library,
        FREE,
        ("分类 [CQ:at,qq=all]", "没有「[CQ:at,qq=all]」这个分类。" + KNOWN_CATEGORIES),
    )


async def test_an_unexpected_error_becomes_a_reply(app: App, library, logged_errors: list):
    library.store.db.execute("DROP TABLE titles_fts")  # any failure the handler does not expect
    await exchange(app, library, MEMBER, ("搜索 工会", "处理时出了点问题，已记录下来，请稍后再试。"))
    assert [record["message"] for record in logged_errors] == ["command from 30001 failed: '搜索 工会'"]
    assert "no such table: titles_fts" in str(logged_errors[0]["exception"].value)
    logged_errors.clear()


# -- every search is logged -------------------------------------------------------------------------


def logged_searches(library) -> list[dict]:
    rows = list(library.store.db["searches"].rows)
    for row in rows:
        at = datetime.fromisoformat(row.pop("at"))
        assert at.tzinfo == timezone.utc
        assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=1)
    return rows


async def test_every_search_is_logged(app: App, library):
    await exchange(app, library, FREE, ("搜索 工会 维权", results(library, "工会 维权", free=True)))
    await exchange(
        app, library, MEMBER, ("/search 体育", "没有找到包含「体育」的文档。\n" + CATEGORY_HINT), user_id=30002
    )
    # Paging shows more of the same search: it is not logged again.
    await exchange(
        app, library, PRIVATE, ("找 落实", results(library, "落实", 1)), ("下一页", results(library, "落实", 2))
    )
    await exchange(app, library, FREE, ("搜索 [CQ:at,qq=all]", CQ_NOT_FOUND))
    assert logged_searches(library) == [
        {
            "id": 1,
            "user_id": "30001",
            "group_id": "20001",
            "origin": "qq",
            "query": "工会 维权",
            "terms": '["工会", "维权"]',
            "hits": 1,
        },
        {
            "id": 2,
            "user_id": "30002",
            "group_id": "20002",
            "origin": "qq",
            "query": "体育",
            "terms": '["体育"]',
            "hits": 0,
        },
        {
            "id": 3,
            "user_id": "30001",
            "group_id": None,
            "origin": "qq",
            "query": "落实",
            "terms": '["落实"]',
            "hits": 6,
        },
        {
            "id": 4,
            "user_id": "30001",
            "group_id": "20001",
            "origin": "qq",
            "query": "[CQ:at,qq=all]",
            "terms": '["cq", "at", "qq", "all"]',
            "hits": 0,
        },
    ]


async def test_input_with_nothing_to_search_is_not_logged(app: App, library):
    await exchange(
        app, library, MEMBER, ("搜索", EMPTY_QUERY), ("搜索 😀", EMPTY_QUERY), ("搜索 " + "工" * 31, TOO_LONG)
    )
    assert logged_searches(library) == []
