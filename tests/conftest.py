"""Shared by every test folder: how NoneBug starts NoneBot for the tests that need it.

NoneBug (a pytest plugin) initialises NoneBot once per session from the
options stashed here. The driver's lifespan is not run: its startup hook
would build the real runtime from `.env` and open `data/wenku.db`; tests
that need the runtime build one themselves (see tests/plugins/conftest.py).
"""

import pytest
from nonebug import NONEBOT_START_LIFESPAN


def pytest_configure(config: pytest.Config) -> None:
    config.stash[NONEBOT_START_LIFESPAN] = False


@pytest.fixture(scope="session", autouse=True)
async def after_nonebot_init(after_nonebot_init: None) -> None:
    import nonebot
    from nonebot.adapters.onebot.v11 import Adapter as OneBotV11Adapter

    nonebot.get_driver().register_adapter(OneBotV11Adapter)
