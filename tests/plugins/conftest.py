"""Fixtures of the plugin tests: the plugins loaded once, and a fresh runtime for each test."""

from __future__ import annotations

from types import ModuleType

import nonebot
import pytest
from nonebot.adapters.onebot.v11 import Bot
from plugin_support import MEMBER_SETTINGS, SUPERUSER, Library, chat_config, make_store

from wenku.importer import ImportRules
from wenku.search import SearchSessions
from wenku.store import Store
from wenku_bot.config import Config
from wenku_bot.outbox import Outbox


@pytest.fixture(scope="session")
def wenku_plugin() -> ModuleType:
    """The plugin under test, loaded once into the NoneBot that NoneBug started."""
    plugin = nonebot.load_plugin("plugins.wenku_library") or nonebot.get_plugin("wenku_library")
    assert plugin is not None, "plugins.wenku_library did not load"
    return plugin.module


@pytest.fixture(scope="session")
def wenku_members_plugin(wenku_plugin) -> ModuleType:
    """The members plugin, loaded once next to the library plugin (blacklisted users still get 帮助 there).

    Its startup hook, which schedules the daily jobs, never runs: NoneBug does not start the driver.
    """
    plugin = nonebot.load_plugin("plugins.wenku_members") or nonebot.get_plugin("wenku_members")
    assert plugin is not None, "plugins.wenku_members did not load"
    return plugin.module


@pytest.fixture(scope="session")
def wenku_reports_plugin(wenku_members_plugin) -> ModuleType:
    """The reports plugin (举报, review, blacklist, 统计, 备份), loaded once next to the other two."""
    plugin = nonebot.load_plugin("plugins.wenku_reports") or nonebot.get_plugin("wenku_reports")
    assert plugin is not None, "plugins.wenku_reports did not load"
    return plugin.module


@pytest.fixture(scope="session")
def wenku_sharing_plugin(wenku_members_plugin) -> ModuleType:
    """The real-time sharing plugin (imports from chat, 删除/恢复/改标题/改分类/推送, 订阅), loaded once.

    Its startup hook, which schedules the daily recommendation and the weekly digest, never runs.
    """
    plugin = nonebot.load_plugin("plugins.wenku_sharing") or nonebot.get_plugin("wenku_sharing")
    assert plugin is not None, "plugins.wenku_sharing did not load"
    return plugin.module


def install_runtime(monkeypatch: pytest.MonkeyPatch, config: Config, store: Store | None = None) -> Library:
    """A runtime with ``config`` around ``store`` (default: a fresh in-memory library), installed as the one the plugins see."""
    import wenku_bot.runtime  # registers startup hooks on import: only once NoneBot is initialised
    from wenku_bot.runtime import Runtime

    bots: dict[str, Bot] = {}
    runtime = Runtime(
        config=config,
        store=store or make_store(),
        # No wait for a missing bot: a reply that cannot be sent fails the test at once.
        outbox=Outbox(0, reconnect_wait=0, bots=lambda: bots),
        sessions=SearchSessions(),
        rules=ImportRules(),
        superusers=frozenset({str(SUPERUSER)}),
    )
    # The runtime is a module global built by the driver's startup hook; there is no other seam.
    monkeypatch.setattr(wenku_bot.runtime, "_runtime", runtime)
    return Library(runtime=runtime, bots=bots)


@pytest.fixture
def library(wenku_plugin, monkeypatch: pytest.MonkeyPatch):
    library = install_runtime(
        monkeypatch,
        chat_config(),
    )
    yield library
    library.store.close()


@pytest.fixture
def members(wenku_members_plugin, monkeypatch: pytest.MonkeyPatch):
    """As ``library``, with both plugins loaded, a watermark secret and a daily quota of 2 full texts."""
    library = install_runtime(
        monkeypatch,
        chat_config(**MEMBER_SETTINGS),
    )
    yield library
    library.store.close()


@pytest.fixture
def reports(wenku_reports_plugin, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """As ``members``, with the reports plugin loaded too, and the library a file under tmp_path/data:
    备份 copies that file, and screenshots of reports are saved beside it."""
    database = tmp_path / "data" / "wenku.db"
    library = install_runtime(
        monkeypatch,
        chat_config(wenku_db=database, **MEMBER_SETTINGS),
        store=make_store(database),
    )
    yield library
    library.store.close()


@pytest.fixture(autouse=True)
def logged_errors():
    """Errors logged during a test. NoneBot logs (and swallows) a handler's exception, so
    a test passes only if nothing was logged, unless it inspects and clears the list."""
    from nonebot.log import logger

    records: list = []
    handler_id = logger.add(lambda message: records.append(message.record), level="ERROR", format="{message}")
    yield records
    logger.remove(handler_id)
    assert [record["message"] for record in records] == []
