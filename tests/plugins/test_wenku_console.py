"""The console plugin: mounted at /admin on NoneBot's own app only with a good password,
and its QQ side (``BotConsoleActions``) acting through the connected account.

The console's pages themselves are tested in tests/console and, in a real
browser against the real bot, in tests/e2e/test_console_e2e.py.
"""

from __future__ import annotations

from types import ModuleType

import httpx
import nonebot
import pytest
from nonebug import App
from plugin_support import BOT_ID, MEMBER_GROUP, WATERMARK_SECRET, chat_config, text_message
from starlette.routing import Mount

from wenku import texts
from wenku.passwords import hash_password
from wenku.store import Store

PASSWORD = "a-long-enough-password"
REPORTER = 30001
SPEECH = "在乡村振兴工作推进会上的讲话\n同志们：\n今天我们召开乡村振兴工作推进会，研究部署下一阶段的调研和帮扶任务。\n"


@pytest.fixture(scope="session")
def wenku_console_plugin(wenku_sharing_plugin) -> ModuleType:
    plugin = nonebot.load_plugin("plugins.wenku_console") or nonebot.get_plugin("wenku_console")
    assert plugin is not None, "plugins.wenku_console did not load"
    return plugin.module


@pytest.fixture
def console_runtime(wenku_console_plugin, monkeypatch: pytest.MonkeyPatch, tmp_path):
    """A runtime on a database file (imports run in a worker thread on their own connection)."""
    from conftest import install_runtime

    def install(password: str):
        database = tmp_path / "data" / "wenku.db"
        config = chat_config(wenku_db=database, wenku_watermark_secret=WATERMARK_SECRET, wenku_admin_password=password)
        return install_runtime(monkeypatch, config, Store.open(database))

    yield install


@pytest.fixture
def app_routes():
    """NoneBot's FastAPI app, with whatever a test mounts on it taken off again afterwards."""
    app = nonebot.get_app()
    before = list(app.router.routes)
    yield app
    app.router.routes[:] = before


def admin_mounts(app) -> list[Mount]:
    return [route for route in app.router.routes if isinstance(route, Mount) and route.path == "/admin"]


async def test_a_plain_password_mounts_the_console_and_logs_in(wenku_console_plugin, console_runtime, app_routes):
    library = console_runtime(PASSWORD)
    await wenku_console_plugin._mount_console()
    assert len(admin_mounts(app_routes)) == 1
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_routes), base_url="http://testserver") as client:
        first = await client.get("/admin/")
        assert (first.status_code, first.headers["location"]) == (303, "/admin/login?next=/admin/")
        form = await client.get("/admin/login")
        assert form.status_code == 200 and "文库后台登录" in form.text
        token = client.cookies["wenku_login"]
        wrong = await client.post("/admin/login", data={"password": "not-it", "login_token": token, "next": "/admin/"})
        assert wrong.status_code == 401 and texts.console_login_failed() in wrong.text
        form = await client.get("/admin/login")
        right = await client.post(
            "/admin/login", data={"password": PASSWORD, "login_token": client.cookies["wenku_login"], "next": "/admin/"}
        )
        assert (right.status_code, right.headers["location"]) == (303, "/admin/")
        dashboard = await client.get("/admin/")
        assert dashboard.status_code == 200 and 'id="chart-searches"' in dashboard.text
    library.store.close()


async def test_a_hashed_password_works_too(wenku_console_plugin, console_runtime, app_routes):
    library = console_runtime(hash_password(PASSWORD))
    await wenku_console_plugin._mount_console()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_routes), base_url="http://testserver") as client:
        await client.get("/admin/login")
        answer = await client.post(
            "/admin/login", data={"password": PASSWORD, "login_token": client.cookies["wenku_login"], "next": "/admin/"}
        )
        assert answer.status_code == 303
    library.store.close()


@pytest.mark.parametrize(
    ("password", "errors"), [("", []), ("short", [texts.console_password_refused(8)])], ids=["empty", "short"]
)
async def test_no_console_without_a_good_password(
    wenku_console_plugin, console_runtime, app_routes, logged_errors, password, errors
):
    library = console_runtime(password)
    await wenku_console_plugin._mount_console()
    assert admin_mounts(app_routes) == []
    # An empty password is a choice (a warning); a too-short one is a mistake the log must show.
    assert [record["message"] for record in logged_errors] == errors
    logged_errors.clear()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app_routes), base_url="http://testserver") as client:
        assert (await client.get("/admin/login")).status_code == 404
    library.store.close()


async def test_actions_without_an_account_import_but_tell_nobody(console_runtime):
    from wenku_bot.console_actions import BotConsoleActions

    library = console_runtime(PASSWORD)
    actions = BotConsoleActions(library.runtime)
    assert actions.connected() is False
    outcome = await actions.import_file("../../etc/振兴.txt", SPEECH.encode(), texts.CONSOLE_ACTOR)
    assert (outcome.status, outcome.name, outcome.title) == ("imported", "振兴.txt", "在乡村振兴工作推进会上的讲话")
    assert library.store.get_document(outcome.document_id) is not None
    assert library.runtime.background == set()  # nothing to announce through
    assert await actions.tell(str(REPORTER), "你好") is False
    library.store.close()


async def test_actions_act_through_the_connected_account(app: App, console_runtime):
    from wenku_bot.console_actions import BotConsoleActions

    library = console_runtime(PASSWORD)
    actions = BotConsoleActions(library.runtime)
    async with app.test_api() as ctx:
        library.connect(ctx)
        assert actions.connected() is True
        assert nonebot.get_bots()[BOT_ID] is library.bots[BOT_ID]
        ctx.should_call_api("send_private_msg", {"user_id": REPORTER, "message": text_message("举报已通过")}, {"message_id": 1})
        assert await actions.tell(str(REPORTER), "举报已通过") is True
        ctx.should_call_api("set_group_kick", {"group_id": MEMBER_GROUP, "user_id": 30005}, None)
        assert await actions.remove_from_member_groups("30005") == [(MEMBER_GROUP, True)]
    library.store.close()
