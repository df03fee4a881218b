"""Fixtures of the plugin tests: the plugin loaded once, and a fresh runtime for each test."""

from __future__ import annotations

from types import ModuleType

import nonebot
import pytest
from nonebot.adapters.onebot.v11 import Bot
from plugin_support import CONTACT, FREE_GROUP, MEMBER_GROUP, SUPERUSER, Library, make_store

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


@pytest.fixture
def library(wenku_plugin, monkeypatch: pytest.MonkeyPatch):
    import wenku_bot.runtime  # registers startup hooks on import: only once NoneBot is initialised
    from wenku_bot.runtime import Runtime

    bots: dict[str, Bot] = {}
    runtime = Runtime(
        config=Config(
            wenku_free_groups=[FREE_GROUP],
            wenku_member_groups=[MEMBER_GROUP],
            wenku_contact=CONTACT,
            wenku_send_interval=0,
            wenku_demo=False,
        ),
        store=make_store(),
        # No wait for a missing bot: a reply that cannot be sent fails the test at once.
        outbox=Outbox(0, reconnect_wait=0, bots=lambda: bots),
        sessions=SearchSessions(),
        rules=ImportRules(),
        superusers=frozenset({str(SUPERUSER)}),
    )
    # The runtime is a module global built by the driver's startup hook; there is no other seam.
    monkeypatch.setattr(wenku_bot.runtime, "_runtime", runtime)
    yield Library(runtime=runtime, bots=bots)
    runtime.store.close()




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
