"""The admin web console (/admin) in a real browser, against the real bot.

Debian's Chromium runs headless under Playwright (Playwright's own browser
download is never used), with a fresh profile per test. The bot is the real
``bot.py`` with WENKU_ADMIN_PASSWORD set and a fake OneBot connected, so what
the console does in QQ (kicks, private notices) is seen on the wire.

The main scenario walks through the console as an admin would and takes a
full-page screenshot of every page it visits (plus the dashboard and the
document list at phone size) into ``<tmp_path>/screens``; the folder is
printed. Nothing here depends on the screenshots: they are for a person to
look at. The smaller tests check that nothing changes without a session or
with a wrong CSRF token.
"""

from __future__ import annotations

import re
import sqlite3
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import closing
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from wenku import texts

from .conftest import FREE_GROUP, MEMBER_GROUP, SUPERUSER, BotProcess
from .onebot import ApiCall, FakeOneBot, assert_text_only, text

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PASSWORD = "e2e-console-Passw0rd"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

MEMBER = 30101  # granted a year in the console
REPORTER, RESELLER = 30111, 30119
SEARCHER = 30121

#: Tables any console form could write to: what "nothing changed" compares.
WRITABLE_TABLES = ("members", "member_events", "audit", "blacklist", "reports", "codes", "documents")


# -- two speech drafts of our own --------------------------------------------------------------------

SPEECH_TERRACES = """在全镇梯田茶园产业调研座谈会上的讲话

同志们：

今天我们到几个村实地调研，看了梯田，走了茶园，也和种茶大户、合作社负责人面对面交流。总的感觉是，全镇的茶产业有基础、有特色，但还不够强，乡村振兴的路子要靠产业走实走稳。

第一，守住梯田这份家底。梯田是祖辈一锄一锄开出来的，既是耕地，也是风景。各村要把撂荒地块摸清楚，能复垦的尽快复垦，不能让梯田荒在我们手里。

第二，把茶园做成品牌。现在茶叶卖得散、卖得低，关键是标准不统一、包装不统一。镇里要牵头制定采摘和加工规程，合作社统一收购、统一品牌，让好茶卖出好价钱。

第三，调研要常态化。今天的座谈只是开头，各包村干部每月至少进村一次，把群众提的问题记下来、办下去，下次座谈会上逐条说结果。
"""

SPEECH_HARBOUR = """在全市渔港码头冷链物流推进会上的讲话

同志们：

渔港是沿海群众的饭碗，码头是海上产业的门户。今天召开这个推进会，就是要把渔港改造和冷链物流这两件事抓紧抓实。

一是加快渔港改造。老码头泊位不够、避风能力差，每到台风季节渔船只能挤在一起。今年要完成北岸码头加固，新建两个避风锚地，让渔民出海安心、回港放心。

二是补齐冷链短板。鲜鱼上岸后一两个小时就要进冷库，现在冷库离码头远、容量小，损耗大。要引进冷链企业，在渔港旁边建设预冷和分拣中心，打通从码头到餐桌的冷链通道。

三是守住安全底线。渔船出海前要逐船检查救生设备，码头作业要划定安全区域，冷库用电用氨要专人盯守，决不能在安全上出问题。
"""


# -- a screenshot served over HTTP, the way QQ hands the bot an image URL ------------------------------


def png(width: int, height: int) -> bytes:
    """A valid 8-bit RGB PNG with a colour gradient, built by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = (b"\x00" + bytes(c for x in range(width) for c in (x * 255 // width, y * 255 // height, 180)) for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


EVIDENCE_SIZE = (120, 80)
EVIDENCE_PNG = png(*EVIDENCE_SIZE)


@pytest.fixture
def image_url() -> Iterator[str]:
    """The address of EVIDENCE_PNG on a loopback HTTP server running for the test."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/evidence.png":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(EVIDENCE_PNG)))
            self.end_headers()
            self.wfile.write(EVIDENCE_PNG)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/evidence.png"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- the browser ------------------------------------------------------------------------------------------


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    """Debian's Chromium, headless, with an empty profile of its own."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the console tests drive Debian's Chromium. Install it with\n"
            "    apt-get update && apt-get install -y chromium fonts-wqy-microhei\n"
            "(or run .ci/run, which does that), then run the tests again.",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            locale="zh-CN",
            accept_downloads=True,
        )
        context.set_default_timeout(10_000)
        try:
            yield context
        finally:
            await context.close()


class Screens:
    """Numbered full-page screenshots of the pages a test visits."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.taken: list[Path] = []
        folder.mkdir(parents=True, exist_ok=True)

    async def __call__(self, page: Page, name: str) -> None:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)


def console_bot(start_bot: Callable[..., BotProcess]) -> tuple[BotProcess, str]:
    """A bot with the console on, and the console's address."""
    bot = start_bot(WENKU_ADMIN_PASSWORD=PASSWORD)
    return bot, f"http://127.0.0.1:{bot.port}/admin"


async def log_in(page: Page, base: str, screens: Screens | None = None) -> None:
    await page.goto(f"{base}/")
    # Without a session every page leads to the login form, which returns there afterwards.
    await expect(page).to_have_url(f"{base}/login?next=/admin/")
    if screens:
        await screens(page, "login")
    await page.fill("#password", PASSWORD)
    await page.click("button:has-text('登录')")
    await expect(page).to_have_url(f"{base}/")
    await expect(page.locator("h1")).to_have_text("概览")


# -- the database, read-only -----------------------------------------------------------------------------------


def rows(bot: BotProcess, sql: str, *params) -> list[dict]:
    with closing(sqlite3.connect(f"file:{bot.db_path}?mode=ro", uri=True, timeout=30)) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(sql, params)]


def snapshot(bot: BotProcess) -> dict[str, list[dict]]:
    return {table: rows(bot, f"SELECT * FROM {table} ORDER BY rowid") for table in WRITABLE_TABLES}


def local_today() -> str:
    return datetime.now(texts.LOCAL_TZ).date().isoformat()


async def today_in_chart(page: Page, key: str) -> int:
    """The value of today's bar (the last one) in a dashboard chart."""
    last = page.locator(f"#chart-{key} svg rect.bar").last
    assert await last.get_attribute("data-day") == local_today()
    return int(await last.get_attribute("data-value"))


# -- over the fake OneBot ---------------------------------------------------------------------------------------


def to_group(group_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.is_send_to(group_id=group_id)


def to_user(user_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.is_send_to(user_id=user_id)


def kick_of(user_id: int, group_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: (
        call.action == "set_group_kick"
        and int(call.params.get("user_id", -1)) == user_id
        and int(call.params.get("group_id", -1)) == group_id
    )


# -- 1. the whole console, as an admin uses it ----------------------------------------------------------------


async def test_an_admin_works_through_the_console(
    start_bot: Callable[..., BotProcess],
    browser: BrowserContext,
    image_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bot, base = console_bot(start_bot)
    screens = Screens(tmp_path / "screens")
    with capsys.disabled():  # shown even under -q, so a developer can find the pictures
        print(f"\nconsole screenshots: {screens.folder}")
    drafts = tmp_path / "drafts"
    drafts.mkdir()
    (drafts / "梯田茶园调研座谈会讲话.txt").write_text(SPEECH_TERRACES, encoding="utf-8")
    (drafts / "渔港码头冷链推进会讲话.txt").write_text(SPEECH_HARBOUR, encoding="utf-8")

    async with bot.onebot() as onebot:
        page = browser.pages[0] if browser.pages else await browser.new_page()

        # Log in; a wrong password first is turned away with a reason.
        await page.goto(f"{base}/login")
        await page.fill("#password", "not-the-password")
        await page.click("button:has-text('登录')")
        await expect(page.locator(".flash.error")).to_have_text(texts.console_login_failed())
        await log_in(page, base, screens)
        await screens(page, "dashboard")

        # -- documents: upload two drafts at once, then find one by a two-character word
        await page.click("header nav >> text=文档")
        await expect(page.locator("h1")).to_have_text("文档")
        await screens(page, "documents")
        await page.click("summary:has-text('上传文档')")  # the upload form is folded away while there are documents
        await page.set_input_files("#files", sorted(drafts.iterdir()))
        await page.click("button:has-text('上传并导入')")
        await expect(page.locator("h1")).to_have_text("导入结果")
        results = page.locator("#results li")
        await expect(results).to_have_count(2)
        lines = await results.all_inner_texts()
        assert await page.locator("#results li.ok").count() == 2, lines
        imported = {}
        for line in lines:
            found = re.match(r"已导入 #(\d+) (\S+)（", line)
            assert found, line
            imported[found.group(2)] = int(found.group(1))
        terraces = imported.get("在全镇梯田茶园产业调研座谈会上的讲话")
        harbour = imported.get("在全市渔港码头冷链物流推进会上的讲话")
        assert terraces and harbour, lines
        await expect(page.locator("main")).to_contain_text("共 2 个文件，导入 2 个。")
        await screens(page, "upload-results")

        await page.click("text=返回文档列表")
        await page.fill("#q", "梯田")
        await page.click("button:has-text('查找')")
        await expect(page.locator("#summary")).to_contain_text("「梯田」：1 篇")
        found_links = page.locator("#documents a")
        await expect(found_links).to_have_count(1)
        await expect(found_links).to_have_text("在全镇梯田茶园产业调研座谈会上的讲话")
        await expect(page.locator("#documents .snippet")).to_contain_text("梯田")
        await screens(page, "search-results")

        await found_links.click()
        await expect(page).to_have_url(f"{base}/documents/{terraces}")
        await expect(page.locator("h1")).to_contain_text(f"#{terraces} 在全镇梯田茶园产业调研座谈会上的讲话")
        await expect(page.locator(".body")).to_contain_text("把茶园做成品牌")
        await screens(page, "document")
        # The other draft is in the library as well, with its body intact.
        [stored] = rows(bot, "SELECT title, body FROM documents WHERE id = ?", harbour)
        assert "打通从码头到餐桌的冷链通道" in stored["body"]

        # -- members: grant a year, see it in the member's history and in the list
        await page.click("header nav >> text=会员")
        await page.fill("#grant #qq", str(MEMBER))
        await page.fill("#grant #duration", "1年")
        await page.select_option("#grant #action", "grant")
        await page.click("#grant button:has-text('确定')")
        await expect(page).to_have_url(f"{base}/members/{MEMBER}")
        await expect(page.locator(".flash.ok")).to_contain_text(f"已开通 {MEMBER} 的会员，有效期至")
        await expect(page.locator("h1")).to_contain_text("有效会员")
        history = page.locator("#events tr").nth(1)  # the newest event, under the header row
        for cell in ("开通", "1年", texts.CONSOLE_ACTOR):
            await expect(history).to_contain_text(cell)
        [event] = rows(bot, "SELECT * FROM member_events WHERE user_id = ?", str(MEMBER))
        assert (event["action"], event["duration"], event["actor"]) == ("grant", "1年", texts.CONSOLE_ACTOR)
        await screens(page, "member")
        await page.click("header nav >> text=会员")
        await expect(page.locator("#members")).to_contain_text(str(MEMBER))
        await screens(page, "members")

        # -- reports: a visitor reports a reseller in chat with a screenshot; the admin approves here
        number = rows(bot, "SELECT coalesce(max(id), 0) + 1 AS next FROM reports")[0]["next"]
        start = onebot.mark()
        segments = [text(f"举报 {RESELLER} 在闲鱼倒卖会员资料"), {"type": "image", "data": {"file": "e.png", "url": image_url}}]
        await onebot.send_event(onebot.group_message(segments, group_id=FREE_GROUP, user_id=REPORTER))
        [filed] = await onebot.wait_for_calls(1, to_group(FREE_GROUP), after=start)
        assert filed.text == texts.report_filed(number)
        await onebot.wait_for_calls(1, to_user(SUPERUSER), after=start)  # the admins' alert

        await page.click("header nav >> text=举报")
        card = page.locator(f"#report-{number}")
        await expect(card).to_contain_text(f"#{number} 举报 {RESELLER}")
        await expect(card).to_contain_text("在闲鱼倒卖会员资料")
        evidence = card.locator(".evidence img")
        await expect(evidence).to_have_count(1)
        # The picture really arrived in the browser: decoded, with the size of the one served.
        await expect(evidence).to_have_js_property("complete", True)
        assert await evidence.evaluate("img => [img.naturalWidth, img.naturalHeight]") == list(EVIDENCE_SIZE)
        await screens(page, "reports")

        start = onebot.mark()
        await card.locator("button:has-text('通过')").click()
        await expect(page).to_have_url(f"{base}/reports")
        flash = page.locator(".flash.ok")
        await expect(flash.first).to_contain_text(f"举报 #{number} 已通过")
        await expect(flash.first).to_contain_text(f"移出会员群 {MEMBER_GROUP}：成功")
        await expect(flash.nth(1)).to_have_text(texts.console_reporter_told(True))
        await expect(page.locator(f"#report-{number}")).to_have_count(0)  # no longer open
        await screens(page, "reports-approved")
        await onebot.wait_for_calls(1, kick_of(RESELLER, MEMBER_GROUP), after=start)
        [thanks] = await onebot.wait_for_calls(1, to_user(REPORTER), after=start)
        assert thanks.action == "send_private_msg"
        assert thanks.text.startswith(f"你的举报 #{number} 已核实"), thanks.text
        [report] = rows(bot, "SELECT status, decided_by FROM reports WHERE id = ?", number)
        assert report == {"status": "approved", "decided_by": texts.CONSOLE_ACTOR}
        assert rows(bot, "SELECT count(*) AS n FROM blacklist WHERE user_id = ?", str(RESELLER))[0]["n"] == 1

        await page.click("text=全部")
        card = page.locator(f"#report-{number}")
        await expect(card).to_contain_text("已通过")
        await expect(card.locator(".evidence img")).to_have_js_property("complete", True)
        await screens(page, "reports-all")

        # -- redeem codes: generate three, download them, and find the same three in the file
        await page.click("header nav >> text=卡密")
        await expect(page.locator("h1")).to_have_text("卡密")
        await screens(page, "codes")
        await page.fill("#generate #count", "3")
        await page.fill("#generate #duration", "1月")
        await page.click("#generate button:has-text('生成')")
        await expect(page.locator("h1")).to_have_text("已生成 3 个卡密（1个月）")
        shown = (await page.locator("#new-codes").inner_text()).split()
        assert len(shown) == 3 and len(set(shown)) == 3, shown
        await screens(page, "new-codes")
        async with page.expect_download() as download_info:
            await page.click("button:has-text('下载 .txt')")
        download = await download_info.value
        assert re.fullmatch(r"wenku-codes-\d{8}-\d{6}\.txt", download.suggested_filename), download.suggested_filename
        saved = Path(await download.path()).read_text(encoding="utf-8")
        assert saved.split() == shown
        # The database keeps hashes, never the codes themselves.
        stored_codes = rows(bot, "SELECT * FROM codes")
        assert len(stored_codes) == 3
        assert not any(code in str(row) for row in stored_codes for code in shown)
        await page.click("text=返回卡密列表")
        await expect(page.locator("#codes .tag.ok")).to_have_count(3)  # 未使用

        # -- trace: a pasted paragraph without a mark is recognised by its content
        await page.click("header nav >> text=溯源")
        await page.fill("#text", "第二，把茶园做成品牌。现在茶叶卖得散、卖得低，关键是标准不统一、包装不统一。")
        await page.click("button:has-text('查找来源')")
        result = page.locator("#trace-result")
        await expect(result).to_contain_text(f"出自 #{terraces} 在全镇梯田茶园产业调研座谈会上的讲话")
        await expect(result).to_contain_text("还没有人领取过这篇")
        await screens(page, "trace")

        # -- the dashboard's charts: today's new members, and searches after a chat search
        await ask_search(onebot)
        await page.click("header nav >> text=概览")
        assert await today_in_chart(page, "members") >= 1  # the console's grant (and the reporter's reward)
        assert await today_in_chart(page, "searches") >= 1
        await expect(page.locator("#chart-members")).to_contain_text("合计")
        await screens(page, "dashboard-charts")

        # -- at phone size: the pages fit the screen (wide tables scroll inside their own box)
        await page.set_viewport_size(PHONE)
        for name, path in (("phone-dashboard", "/"), ("phone-documents", "/documents")):
            await page.goto(f"{base}{path}")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} is {overflow}px wider than a phone screen"
            await screens(page, name)

        assert_text_only(onebot.calls)  # whatever the console made the bot say was text alone

    expected = {
        "login", "dashboard", "documents", "upload-results", "search-results", "document", "member", "members",
        "reports", "reports-approved", "reports-all", "codes", "new-codes", "trace", "dashboard-charts",
        "phone-dashboard", "phone-documents",
    }  # fmt: skip
    assert {path.stem[3:] for path in screens.taken} == expected
    assert all(path.stat().st_size > 5_000 for path in screens.taken)


async def ask_search(onebot: FakeOneBot) -> None:
    """A visitor searches in the free group; the bot's answer means the search was logged."""
    [reply] = await onebot.request(onebot.group_message("搜索 冷链", group_id=FREE_GROUP, user_id=SEARCHER), 1, to_group(FREE_GROUP))
    assert "渔港码头冷链" in reply.text, reply.text


# -- 2. without a session ---------------------------------------------------------------------------------------


async def test_without_a_session_pages_lead_to_login_and_forms_do_nothing(start_bot: Callable[..., BotProcess]) -> None:
    bot, base = console_bot(start_bot)
    before = snapshot(bot)
    async with httpx.AsyncClient(follow_redirects=False, timeout=10) as client:
        for path, back in (("/", "/admin/"), ("/members/30201", "/admin/members/30201"), ("/codes", "/admin/codes")):
            response = await client.get(f"{base}{path}")
            assert response.status_code == 303, (path, response.status_code)
            assert response.headers["location"] == f"/admin/login?next={back}"
        assert (await client.get(f"{base}/login")).status_code == 200

        forms = {
            "/members/grant": {"qq": "30201", "duration": "1年", "action": "grant", "csrf": "anything"},
            "/codes/generate": {"count": "5", "duration": "1年", "csrf": "anything"},
            "/members/30201/ban": {"reason": "倒卖", "csrf": "anything"},
        }
        for path, form in forms.items():
            for headers in ({}, {"Cookie": "wenku_admin=made-up-session"}):
                response = await client.post(f"{base}{path}", data=form, headers=headers)
                assert response.status_code == 401, (path, headers, response.status_code)
                assert texts.console_needs_login() in response.text
    assert snapshot(bot) == before


# -- 3. a wrong CSRF token from a logged-in browser --------------------------------------------------------------


async def test_a_form_with_a_wrong_csrf_token_is_refused_and_changes_nothing(
    start_bot: Callable[..., BotProcess], browser: BrowserContext
) -> None:
    bot, base = console_bot(start_bot)
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await log_in(page, base)
    await page.goto(f"{base}/members")
    token = await page.locator("#grant input[name=csrf]").input_value()
    before = snapshot(bot)
    grant = {"qq": "30301", "duration": "1年", "action": "grant"}

    # page.request carries the browser's session cookie: only the token (or the origin) is wrong.
    for form, headers in (
        ({**grant, "csrf": "wrong"}, {}),
        ({**grant}, {}),  # no token at all
        ({**grant, "csrf": token}, {"Origin": "http://attacker.invalid"}),  # a page of another site
    ):
        response = await page.request.post(f"{base}/members/grant", form=form, headers=headers, max_redirects=0)
        assert response.status == 403, (form, headers, response.status)
        assert texts.console_csrf_refused() in await response.text()
    assert snapshot(bot) == before
    await page.goto(f"{base}/members/30301")
    await expect(page.locator("#membership")).to_contain_text("没有会员记录")

    # The same request with the page's own token goes through: the session was there all along.
    response = await page.request.post(f"{base}/members/grant", form={**grant, "csrf": token}, max_redirects=0)
    assert response.status == 303 and response.headers["location"] == "/admin/members/30301"
    assert [row["action"] for row in rows(bot, "SELECT action FROM member_events WHERE user_id = '30301'")] == ["grant"]
