"""Searches in worker threads, each with its own reading connection to the library file."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from wenku.importer import ImportRules, import_document
from wenku.search import result_page, search
from wenku.store import Store
from wenku_bot.readers import Readers

from plugin_support import DOCUMENTS, IMPORTED_AT


@pytest.fixture
def library(tmp_path):
    store = Store.open(tmp_path / "wenku.db")
    for name, text in DOCUMENTS:
        import_document(store, name, text.encode("utf-8"), now=IMPORTED_AT, rules=ImportRules())
    yield store
    store.close()


def _search_where(store: Store, query: str) -> tuple[str, list[int]]:
    ranking = search(store, query)
    return threading.current_thread().name, [hit.document.id for hit in result_page(store, ranking, 1).hits]


async def test_a_pool_searches_in_its_own_threads_and_finds_what_the_main_connection_finds(library, tmp_path):
    readers = Readers.pool(tmp_path / "wenku.db")
    try:
        thread, found = await readers.run(_search_where, "工会")
        assert thread.startswith("wenku-read")
        assert found == [hit.document.id for hit in result_page(library, search(library, "工会"), 1).hits]
        assert found  # the fixture library has speeches about 工会
    finally:
        readers.close()


async def test_a_pool_sees_what_the_bot_wrote_after_it_opened(library, tmp_path):
    readers = Readers.pool(tmp_path / "wenku.db")
    try:
        _, before = await readers.run(_search_where, "独角兽企业")
        text = "在培育独角兽企业座谈会上的讲话\n同志们：\n今天请大家来，是商量怎样培育独角兽企业。要用好基金，优化审批，留住人才。\n"
        outcome = import_document(library, "new.txt", text.encode(), now=IMPORTED_AT, rules=ImportRules())
        assert outcome.status == "imported", outcome
        _, after = await readers.run(_search_where, "独角兽企业")
        assert (before, after) == ([], [outcome.document_id])
    finally:
        readers.close()


def _delete_everything(store: Store) -> None:
    store.db.execute("DELETE FROM documents")


async def test_a_reader_cannot_write(library, tmp_path):
    readers = Readers.pool(tmp_path / "wenku.db")
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await readers.run(_delete_everything)
    finally:
        readers.close()
    assert library.document_count() == len(DOCUMENTS)


async def test_errors_of_a_search_reach_the_caller(tmp_path, library):
    from wenku.errors import EmptyQuery

    readers = Readers.pool(tmp_path / "wenku.db")
    try:
        with pytest.raises(EmptyQuery):
            await readers.run(search, "  ，，")
    finally:
        readers.close()


async def test_inline_readers_use_the_given_store_in_the_callers_thread(library):
    thread, found = await Readers.inline(library).run(_search_where, "工会")
    assert (thread, found) == (threading.current_thread().name, [hit.document.id for hit in result_page(library, search(library, "工会"), 1).hits])
