"""Fixtures of the plugin tests: the plugins loaded once, and a fresh runtime for each test."""

from __future__ import annotations

from types import ModuleType

import nonebot
import pytest
from nonebot.adapters.onebot.v11 import Bot
from plugin_support import (
    CONTACT,
    DAILY_FULLTEXT,
    FREE_GROUP,
    MEMBER_GROUP,
    SUPERUSER,
    WATERMARK_SECRET,
    Library,
    make_store,
)

from wenku.importer import ImportRules
from wenku.search import SearchSessions
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


def install_runtime(monkeypatch: pytest.MonkeyPatch, config: Config) -> Library:
    """A runtime with ``config`` around a fresh in-memory library, installed as the one the plugins see."""
    import wenku_bot.runtime  # registers startup hooks on import: only once NoneBot is initialised
    from wenku_bot.runtime import Runtime

    bots: dict[str, Bot] = {}
    runtime = Runtime(
        config=config,
        store=make_store(),
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
        Config(
            wenku_free_groups=[FREE_GROUP],
            wenku_member_groups=[MEMBER_GROUP],
            wenku_contact=CONTACT,
            wenku_send_interval=0,
            wenku_demo=False,
        ),
    )
    yield library
    library.store.close()


@pytest.fixture
def members(wenku_members_plugin, monkeypatch: pytest.MonkeyPatch):
    """As ``library``, with both plugins loaded, a watermark secret and a daily quota of 2 full texts."""
    library = install_runtime(
        monkeypatch,
        Config(
            wenku_free_groups=[FREE_GROUP],
            wenku_member_groups=[MEMBER_GROUP],
            wenku_contact=CONTACT,
            wenku_send_interval=0,
            wenku_demo=False,
            wenku_watermark_secret=WATERMARK_SECRET,
            wenku_daily_fulltext=DAILY_FULLTEXT,
        ),
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
