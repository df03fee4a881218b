"""Search the library and browse it: 搜索, 下一页/上一页, 摘要, 最新, 分类, 帮助."""

import sqlite3

from nonebot import on_message
from nonebot.adapters.onebot.v11 import Bot, MessageEvent
from nonebot.log import logger
from nonebot.plugin import PluginMetadata
from nonebot.typing import T_State

from wenku import texts
from wenku.errors import DocumentNotFound
from wenku.search import Ranking, ResultPage, result_page, search, suggestions
from wenku.store import Store
from wenku_bot.chat import ARGS, group_id_of, is_free_group, parse_number, replying, served_chat_command, served_command
from wenku_bot.config import Config
from wenku_bot.runtime import get_runtime, now

__plugin_meta__ = PluginMetadata(
    name="文库检索",
    description="按关键词搜索文库，翻页，预览，看最新文档和分类",
    usage="搜索 词 [词…] / 下一页 / 上一页 / 摘要 编号 / 最新 [N] / 分类 [名称] / 帮助",
    type="application",
    config=Config,
)

LATEST_DEFAULT = 5
LATEST_MAX = 20
CATEGORY_SHOWN = 10


def _session_key(bot: Bot, event: MessageEvent) -> tuple:
    # In a group the search belongs to the user there, whichever of the bot's accounts got the
    # message (see chat.handle_each_group_event_once); a private chat is one account's.
    group_id = group_id_of(event)
    return (None if group_id else bot.self_id, group_id, event.user_id)


def _first_answer(store: Store, query: str) -> tuple[Ranking, ResultPage | None, tuple | None]:
    """The search, then its first page or, without hits, what no_results suggests instead."""
    ranking = search(store, query)
    if not ranking.total:
        titles, per_term = suggestions(store, list(ranking.terms))
        return ranking, None, (titles, per_term, store.category_counts())
    return ranking, result_page(store, ranking, 1), None


search_command = on_message(rule=served_command("搜索", "搜", "找", "search"), priority=10, block=True)


@search_command.handle()
async def handle_search(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        ranking, page, no_results = await runtime.readers.run(_first_answer, state[ARGS])
        try:
            runtime.store.log_search(
                now=now(),
                origin="qq",
                user_id=str(event.user_id),
                group_id=str(group_id_of(event)) if group_id_of(event) else None,
                query=state[ARGS],
                terms=list(ranking.terms),
                hits=ranking.total,
            )
        except sqlite3.OperationalError as error:
            # The log only feeds 统计: a full disk must not stop members from searching.
            logger.warning(f"search not logged: {error}")
        if not ranking.total:
            # 下一页 after a search without hits must not page an older search.
            runtime.sessions.forget(_session_key(bot, event))
            await reply(texts.no_results(ranking.terms, *no_results))
            return
        runtime.sessions.remember(_session_key(bot, event), ranking, 1, now())
        await reply(texts.search_results(page, free_group=is_free_group(event), contact=runtime.config.wenku_contact))


page_command = on_message(rule=served_command("下一页", "上一页"), priority=10, block=True)


@page_command.handle()
async def handle_page(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    forward = "下一页" in event.get_plaintext()
    async with replying(bot, event) as reply:
        remembered = runtime.sessions.recall(_session_key(bot, event), now())
        if remembered is None:
            await reply(texts.no_search_to_page())
            return
        ranking, current = remembered
        page = await runtime.readers.run(result_page, ranking, current + (1 if forward else -1))
        if page.page == current:
            await reply(texts.no_more_pages(forward))
            return
        runtime.sessions.remember(_session_key(bot, event), ranking, page.page, now())
        await reply(texts.search_results(page, free_group=is_free_group(event), contact=runtime.config.wenku_contact))


preview_command = on_message(rule=served_command("摘要", "预览"), priority=10, block=True)


@preview_command.handle()
async def handle_preview(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        number = parse_number(state[ARGS])
        if number is None:
            await reply(texts.needs_number("摘要"))
            return
        document = runtime.store.get_document(number)
        if document is None:
            raise DocumentNotFound(number)
        await reply(texts.preview(document, free_group=is_free_group(event), contact=runtime.config.wenku_contact))


latest_command = on_message(rule=served_command("最新"), priority=10, block=True)


@latest_command.handle()
async def handle_latest(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        count = LATEST_DEFAULT
        if state[ARGS]:
            count = parse_number(state[ARGS]) or 0
            if not 1 <= count <= LATEST_MAX:
                await reply(texts.bad_count(LATEST_MAX))
                return
        await reply(texts.latest(runtime.store.latest_documents(count)))


category_command = on_message(rule=served_command("分类"), priority=10, block=True)


@category_command.handle()
async def handle_category(bot: Bot, event: MessageEvent, state: T_State) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        counts = runtime.store.category_counts()
        name = state[ARGS].strip()
        if not name:
            await reply(texts.categories(counts))
        elif name not in dict(counts):
            await reply(texts.unknown_category(name, counts))
        else:
            documents = runtime.store.latest_documents(CATEGORY_SHOWN, category=name)
            await reply(texts.category_documents(name, documents))


help_command = on_message(rule=served_chat_command("帮助", "help", "菜单"), priority=5, block=True)


@help_command.handle()
async def handle_help(bot: Bot, event: MessageEvent) -> None:
    runtime = get_runtime()
    async with replying(bot, event) as reply:
        await reply(texts.help_text(runtime.role_of(event.user_id)))
