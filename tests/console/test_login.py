"""Logging in and out of the console: cookies, the login token, throttling, redirects, expiry."""

from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from wenku_console import LOGIN_COOKIE, SESSION_COOKIE, create_console

from .conftest import BASE, PASSWORD, cookie_attributes, hidden, log_in, message, new_client

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


async def test_a_page_without_a_session_redirects_to_the_login_page(anonymous):
    response = await anonymous.get("/admin/")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login?next=/admin/")
    # The query comes along, so the admin lands where they were going.
    response = await anonymous.get("/admin/members", params={"status": "expired"})
    assert response.headers["location"] == "/admin/login?next=/admin/members?status=expired"


async def test_the_whole_query_survives_the_detour_through_the_login_page(anonymous):
    response = await anonymous.get("/admin/members", params={"status": "expired", "q": "30001"})
    login_page = await anonymous.get(response.headers["location"])
    # Every parameter, not only the first: "&" must not split the target in two.
    assert hidden(login_page.text, "next") == "/admin/members?status=expired&q=30001"
    form = {"login_token": hidden(login_page.text, "login_token"), "password": PASSWORD, "next": hidden(login_page.text, "next")}
    response = await anonymous.post("/admin/login", data=form)
    assert response.headers["location"] == "/admin/members?status=expired&q=30001"


async def test_the_login_page_sets_a_strict_http_only_login_cookie(anonymous):
    response = await anonymous.get("/admin/login")
    assert response.status_code == 200
    cookie = cookie_attributes(response, LOGIN_COOKIE)
    assert cookie["value"] == hidden(response.text, "login_token")
    assert (cookie["path"], cookie["samesite"], cookie["max-age"]) == ("/admin", "strict", "3600")
    assert "httponly" in cookie
    assert "secure" not in cookie  # plain http here; https gets Secure
    assert hidden(response.text, "next") == "/admin/"
    assert 'type="password" name="password"' in response.text


async def test_the_right_password_starts_a_session(anonymous):
    response = await log_in(anonymous)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/")
    cookie = cookie_attributes(response, SESSION_COOKIE)
    assert (cookie["path"], cookie["samesite"]) == ("/admin", "strict")
    assert "httponly" in cookie
    assert len(cookie["value"]) >= 40
    # The login cookie has done its job and is deleted.
    assert cookie_attributes(response, LOGIN_COOKIE)["max-age"] == "0"
    dashboard = await anonymous.get("/admin/")
    assert dashboard.status_code == 200
    assert "<h1>概览</h1>" in dashboard.text


async def test_over_https_both_cookies_are_secure(server):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url="https://testserver") as browser:
        page = await browser.get("/admin/login")
        assert "secure" in cookie_attributes(page, LOGIN_COOKIE)
        response = await browser.post(
            "/admin/login",
            data={"login_token": hidden(page.text, "login_token"), "password": PASSWORD},
            headers={"Origin": "https://testserver"},
        )
        assert response.status_code == 303
        assert "secure" in cookie_attributes(response, SESSION_COOKIE)


async def test_a_wrong_password_is_refused_and_starts_no_session(anonymous):
    response = await log_in(anonymous, password="wrong password")
    assert response.status_code == 401
    assert message(response.text) == "密码不对"
    assert SESSION_COOKIE not in anonymous.cookies
    assert (await anonymous.get("/admin/")).status_code == 303


@pytest.mark.parametrize("stored", ["hunter2", "scrypt$99999999999999999999999$8$1$00$00"])
async def test_a_broken_password_setting_refuses_every_login_without_crashing(store, settings, actions, clock, stored):
    outer = FastAPI()
    broken = replace(settings, password_hash=stored)
    outer.mount("/admin", create_console(store=store, settings=broken, actions=actions, clock=clock))
    async with new_client(outer) as browser:
        for password in (PASSWORD, stored):
            response = await log_in(browser, password=password)
            assert response.status_code == 401
            assert message(response.text) == "密码不对"


@pytest.mark.parametrize("token", [None, "", "a-token-this-console-never-issued"])
async def test_a_login_without_the_token_of_the_login_page_is_refused(anonymous, token):
    await anonymous.get("/admin/login")  # the cookie is there; the form's token is not
    form = {"password": PASSWORD, "next": "/admin/"}
    if token is not None:
        form["login_token"] = token
    response = await anonymous.post("/admin/login", data=form)
    assert response.status_code == 403
    assert message(response.text) == "登录页已过期，请重新输入密码"
    assert SESSION_COOKIE not in anonymous.cookies


async def test_a_login_token_without_its_cookie_is_refused(anonymous, server):
    page = await anonymous.get("/admin/login")
    # Another browser (no login cookie) posts the token it saw: a cross-site login attempt.
    async with new_client(server) as stranger:
        response = await stranger.post(
            "/admin/login", data={"login_token": hidden(page.text, "login_token"), "password": PASSWORD}
        )
    assert response.status_code == 403


async def test_a_login_posted_from_another_site_is_refused(anonymous):
    page = await anonymous.get("/admin/login")
    response = await anonymous.post(
        "/admin/login",
        data={"login_token": hidden(page.text, "login_token"), "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 403
    assert SESSION_COOKIE not in anonymous.cookies


async def test_a_login_posted_from_the_console_itself_is_accepted(anonymous):
    page = await anonymous.get("/admin/login")
    response = await anonymous.post(
        "/admin/login",
        data={"login_token": hidden(page.text, "login_token"), "password": PASSWORD},
        headers={"Origin": BASE},
    )
    assert response.status_code == 303


async def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(anonymous, clock):
    for _ in range(5):
        assert (await log_in(anonymous, password="guess")).status_code == 401
    response = await log_in(anonymous)
    assert response.status_code == 429
    assert message(response.text) == "失败次数过多，请 15 分钟后再试"
    assert SESSION_COOKIE not in anonymous.cookies
    clock.advance(minutes=10)
    assert message((await log_in(anonymous)).text) == "失败次数过多，请 5 分钟后再试"
    clock.advance(minutes=5)
    assert (await log_in(anonymous)).status_code == 303


async def test_refused_login_tokens_do_not_count_as_failed_passwords(anonymous):
    await anonymous.get("/admin/login")
    for _ in range(6):
        response = await anonymous.post("/admin/login", data={"login_token": "stale", "password": "guess"})
        assert response.status_code == 403
    assert (await log_in(anonymous)).status_code == 303


async def test_a_successful_login_forgives_earlier_failures(anonymous, server):
    for _ in range(4):
        await log_in(anonymous, password="typo")
    assert (await log_in(anonymous)).status_code == 303
    async with new_client(server) as same_address:
        for _ in range(4):
            assert (await log_in(same_address, password="typo")).status_code == 401
        assert (await log_in(same_address)).status_code == 303


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/admin/",
        "https://evil.example/admin/",
        "/\\evil.example",
        "/admin/\\..\\evil",
        "/adminx",
        "javascript:alert(1)",
        "",
    ],
)
async def test_after_login_only_console_paths_are_followed(anonymous, target):
    login_page = await anonymous.get("/admin/login", params={"next": target})
    assert hidden(login_page.text, "next") == "/admin/"
    response = await log_in(anonymous, next_path=target)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/")


async def test_a_next_path_cannot_inject_headers(anonymous):
    response = await log_in(anonymous, next_path="/admin/\r\nSet-Cookie: evil=1")
    assert response.headers["location"] == "/admin/%0D%0ASet-Cookie:%20evil=1"
    assert not any("evil" in header for header in response.headers.get_list("set-cookie"))


async def test_the_login_page_sends_a_logged_in_admin_to_the_dashboard(admin):
    response = await admin.get("/admin/login")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/")


async def test_logging_in_again_replaces_the_old_session(admin, server):
    old = admin.client.cookies[SESSION_COOKIE]
    # The login page redirects a logged-in browser, so log in from a fresh one carrying the old cookie.
    async with new_client(server) as browser:
        page = await browser.get("/admin/login")
        response = await browser.post(
            "/admin/login",
            data={"login_token": hidden(page.text, "login_token"), "password": PASSWORD},
            headers={"Cookie": f"{SESSION_COOKIE}={old}; {LOGIN_COOKIE}={browser.cookies[LOGIN_COOKIE]}"},
        )
        assert response.status_code == 303
        assert cookie_attributes(response, SESSION_COOKIE)["value"] != old
    async with new_client(server) as replay:
        response = await replay.get("/admin/", headers={"Cookie": f"{SESSION_COOKIE}={old}"})
        assert response.status_code == 303


async def test_logout_ends_the_session_for_good(admin, server):
    old = admin.client.cookies[SESSION_COOKIE]
    response = await admin.post("/admin/logout")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    assert cookie_attributes(response, SESSION_COOKIE)["max-age"] == "0"
    assert (await admin.get("/admin/")).status_code == 303
    # A copy of the cookie kept from before is worthless too.
    async with new_client(server) as replay:
        response = await replay.get("/admin/", headers={"Cookie": f"{SESSION_COOKIE}={old}"})
        assert (response.status_code, response.headers["location"]) == (303, "/admin/login?next=/admin/")


async def test_logout_needs_the_csrf_token(admin):
    response = await admin.post("/admin/logout", csrf=None)
    assert response.status_code == 403
    assert (await admin.get("/admin/")).status_code == 200


async def test_a_session_idle_for_more_than_two_hours_must_log_in_again(admin, clock):
    clock.advance(hours=2)
    assert (await admin.get("/admin/")).status_code == 200  # exactly two hours: still in
    clock.advance(hours=2, seconds=1)
    response = await admin.get("/admin/codes")
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login?next=/admin/codes")


async def test_a_session_lasts_twelve_hours_however_busy(admin, clock):
    for _ in range(12):
        clock.advance(hours=1)
        assert (await admin.get("/admin/")).status_code == 200
    clock.advance(seconds=1)
    assert (await admin.get("/admin/")).status_code == 303


async def test_an_expired_session_cannot_post_either(admin, clock, store):
    clock.advance(hours=13)
    response = await admin.post("/admin/members/grant", {"qq": "30001", "duration": "1年"})
    assert response.status_code == 401
    assert message(response.text) == "请先登录"
    assert store.get_member("30001") is None


@pytest.mark.parametrize("path", ["/admin/login", "/admin/", "/admin/documents", "/admin/no-such-page"])
async def test_pages_are_never_cached_and_allow_no_script(admin, anonymous, path):
    for client in (admin.client, anonymous):
        response = await client.get(path)
        if response.status_code == 303:
            continue  # the redirect of a logged-in admin away from the login page
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["content-security-policy"] == CSP
        assert "script-src" not in response.headers["content-security-policy"]
        assert (response.headers["x-frame-options"], response.headers["x-content-type-options"]) == ("DENY", "nosniff")
        assert "<script" not in response.text


async def test_an_unknown_page_says_so(admin):
    response = await admin.get("/admin/no-such-page")
    assert response.status_code == 404
    assert message(response.text) == "找不到这个页面或记录"
