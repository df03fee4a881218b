"""The web console mounted at /admin as in production, driven over ASGI with httpx.

Fixtures:

* ``store``: a fresh in-memory database per test; ``library`` adds three documents.
* ``clock``: a :class:`Clock` the console reads; tests move it to expire sessions or lockouts.
* ``actions``: a :class:`FakeBotActions` recording what the console asked of QQ.
* ``anonymous``: an httpx client without a session.
* ``admin``: an :class:`Admin` with a session (made in the injected ``sessions`` store,
  not by posting the password: test_login.py covers that) and its CSRF token.

The password hash is made once: scrypt costs tens of milliseconds a call.
"""

from __future__ import annotations

import html
import re
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from wenku.importer import ImportOutcome, import_document
from wenku.store import Store
from wenku_console import SESSION_COOKIE, ConsoleSettings, create_console
from wenku_console.security import SessionStore, hash_password

#: 10:00 on 2026-11-24 in Asia/Shanghai, where the business is.
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
NOW_TEXT = "2026-11-24T02:00:00+00:00"
PASSWORD = "正确的 horse battery"
PASSWORD_HASH = hash_password(PASSWORD)
ADMIN = "10001"
MEMBER_GROUP = 20002
SECRET = "console-test-watermark-secret"
MAX_UPLOAD_MB = 1
BASE = "http://testserver"

UNION_TITLE = "在市总工会全委会议上的讲话"
UNION_BODY = """同志们：
这次会议的主要任务是总结过去一年的工会工作，部署今年的重点任务。
一年来，全市各级工会组织围绕中心、服务大局，在维权帮扶、劳动竞赛、职工文化等方面做了大量工作。
今年要把维护职工合法权益放在首位，健全困难职工帮扶机制，深化产业工人队伍建设改革。"""

RURAL_TITLE = "在全镇乡村振兴推进会上的讲话"
RURAL_BODY = """同志们：
这次会议的任务是部署全镇乡村振兴重点工作。过去一年，全镇粮食生产稳定，农民收入持续增长。
今年要抓好产业发展，壮大村集体经济，因地制宜发展特色种植和乡村旅游。
要改善农村人居环境，推进生活垃圾分类，建设宜居宜业和美乡村。"""

SAFETY_TITLE = "全县安全生产大检查动员讲话"
SAFETY_BODY = """同志们：
安全生产事关人民群众生命财产安全，必须时刻绷紧这根弦。
这次大检查要覆盖矿山、危险化学品、建筑施工、道路交通等重点行业领域，不留死角。
对检查发现的隐患要建立台账，明确整改责任人和整改时限。
各单位工会要组织职工参与安全监督，发挥群众监督作用。"""

ENVIRONMENT_TITLE = "在全区生态环境保护大会上的讲话"
ENVIRONMENT_BODY = """同志们：
生态环境保护是功在当代、利在千秋的事业，各级各部门要扛起生态环保政治责任。
要打好蓝天碧水净土保卫战，严格落实河长制，持续削减重点行业污染物排放。
要坚持绿色发展，推动产业结构调整，让良好生态环境成为全区高质量发展的底色。"""


def tiny_png() -> bytes:
    """A valid 1x1 white PNG, as a saved screenshot would be."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG = tiny_png()


def document_file(title: str, body: str) -> bytes:
    """A plain-text file as admins upload them: the title on the first line, then the body."""
    return f"{title}\n\n{body}\n".encode()


class Clock:
    """The console's clock: a fixed moment that tests move by hand."""

    def __init__(self, now: datetime = NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeBotActions:
    """`wenku_console.BotActions` without QQ: imports go to the store, kicks and messages are recorded."""

    store: Store
    clock: Clock
    is_connected: bool = True
    kick_results: list[tuple[int, bool]] = field(default_factory=lambda: [(MEMBER_GROUP, True)])
    tell_result: bool = True
    imports: list[tuple[str, int, str]] = field(default_factory=list)  # (name, bytes, actor)
    removals: list[str] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)  # (user, text)

    def connected(self) -> bool:
        return self.is_connected

    async def import_file(self, name: str, data: bytes, actor: str) -> ImportOutcome:
        self.imports.append((name, len(data), actor))
        return import_document(self.store, name, data, now=self.clock())

    async def remove_from_member_groups(self, user_id: str) -> list[tuple[int, bool]]:
        self.removals.append(user_id)
        return list(self.kick_results)

    async def tell(self, user_id: str, text: str) -> bool:
        self.messages.append((user_id, text))
        return self.tell_result


# -- reading pages ------------------------------------------------------------------------


def flashes(page: str) -> list[tuple[str, str]]:
    """The post/redirect/get messages at the top of a page: (kind, text)."""
    return [
        (kind, html.unescape(text))
        for kind, text in re.findall(r'<div class="flash (\w+)" role="status">(.*?)</div>', page, re.S)
    ]


def message(page: str) -> str:
    """The one message of a refusal page (message.html) or the error of the login page."""
    found = re.search(r'<div class="flash error" role="alert">(.*?)</div>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def squeeze(page: str) -> str:
    """The page with every run of whitespace made one space, so tests need not copy template indentation."""
    return " ".join(page.split())


def hidden(page: str, name: str) -> str:
    found = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in page"
    return html.unescape(found.group(1))


def cells(fragment: str) -> list[list[str]]:
    """The text of every cell of the table rows in ``fragment``, row by row, header rows included."""
    def text(cell: str) -> str:
        return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    return [
        [text(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", fragment, re.S)
    ]


def table_rows(page: str, table_id: str) -> list[list[str]]:
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert table, f"no table {table_id}"
    return cells(table.group(1))


def part(page: str, start: str, end: str) -> str:
    """The page from the first ``start`` to the next ``end``."""
    begin = page.index(start)
    return page[begin : page.index(end, begin) + len(end)]


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for ``name``, keys lower-cased (value under "value")."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [part.strip() for part in header.split(";")]
        key, _, value = first.partition("=")
        if key == name:
            parsed = {"value": value}
            for attribute in attributes:
                attribute_name, _, attribute_value = attribute.partition("=")
                parsed[attribute_name.lower()] = attribute_value
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def rows(store: Store, table: str) -> list[dict]:
    return list(store.db[table].rows)


def snapshot(store: Store) -> dict[str, list[dict]]:
    """Every row of every ordinary table: equal before and after means nothing changed."""
    # The two full-text tables are virtual; their shadow tables (…_fts_data and so on) are compared.
    return {name: rows(store, name) for name in store.db.table_names() if name not in ("documents_fts", "titles_fts")}


# -- the console ------------------------------------------------------------------------------


#: Stands for the CSRF token of the admin's own session in `Admin.post`.
SESSION_CSRF = "<the session's token>"


@dataclass
class Admin:
    """A browser with a console session: posts carry the session's CSRF token and the console's Origin."""

    client: httpx.AsyncClient
    csrf: str

    async def get(self, path: str, **params) -> httpx.Response:
        return await self.client.get(path, params=params or None)

    async def post(
        self,
        path: str,
        data: dict | None = None,
        *,
        files=None,
        csrf: str | None = SESSION_CSRF,
        origin: str | None = BASE,
    ) -> httpx.Response:
        """A form post; ``csrf=None`` leaves the token out, ``origin=None`` the Origin header."""
        form = dict(data or {})
        if csrf is not None:
            form["csrf"] = self.csrf if csrf == SESSION_CSRF else csrf
        headers = {"Origin": origin} if origin is not None else {}
        return await self.client.post(path, data=form, files=files, headers=headers)

    async def flashes_after(self, response: httpx.Response) -> list[tuple[str, str]]:
        """Follows a post's redirect and returns the messages the next page shows."""
        assert response.status_code == 303, (response.status_code, response.text)
        following = await self.client.get(response.headers["location"])
        assert following.status_code == 200, following.text
        return flashes(following.text)


async def log_in(client: httpx.AsyncClient, password: str = PASSWORD, next_path: str = "/admin/") -> httpx.Response:
    """What a browser does: load the login page (it sets the login cookie), then post the form."""
    page = await client.get("/admin/login")
    assert page.status_code == 200, page.text
    return await client.post(
        "/admin/login",
        data={"login_token": hidden(page.text, "login_token"), "password": password, "next": next_path},
    )


@pytest.fixture
def store() -> Store:
    database = Store.memory()
    yield database
    database.close()


@pytest.fixture
def library(store: Store) -> Store:
    """Documents 1 工会 (category 工会), 2 乡村振兴, 3 安全生产 (工会 in its body only)."""
    for name, title, body in [
        ("union.txt", UNION_TITLE, UNION_BODY),
        ("rural.txt", RURAL_TITLE, RURAL_BODY),
        ("safety.txt", SAFETY_TITLE, SAFETY_BODY),
    ]:
        outcome = import_document(store, name, document_file(title, body), now=NOW)
        assert outcome.status == "imported", outcome
    return store


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def actions(store: Store, clock: Clock) -> FakeBotActions:
    return FakeBotActions(store, clock)


@pytest.fixture
def evidence_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "evidence"
    folder.mkdir()
    return folder


@pytest.fixture
def settings(evidence_dir: Path) -> ConsoleSettings:
    return ConsoleSettings(
        password_hash=PASSWORD_HASH,
        admins=frozenset({ADMIN}),
        report_reward="1年",
        watermark_secret=SECRET,
        daily_fulltext=20,
        max_upload_mb=MAX_UPLOAD_MB,
        evidence_dir=evidence_dir,
    )


@pytest.fixture
def sessions() -> SessionStore:
    return SessionStore()


@pytest.fixture
def server(
    store: Store, settings: ConsoleSettings, actions: FakeBotActions, clock: Clock, sessions: SessionStore
) -> FastAPI:
    # Mounted the way the bot mounts it, so paths, redirects and cookie paths are the real ones.
    outer = FastAPI()
    outer.mount(
        "/admin", create_console(store=store, settings=settings, actions=actions, clock=clock, sessions=sessions)
    )
    return outer


def new_client(server: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=server), base_url=BASE)


@pytest.fixture
async def anonymous(server: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with new_client(server) as client:
        yield client


@pytest.fixture
async def admin(server: FastAPI, sessions: SessionStore, clock: Clock) -> AsyncIterator[Admin]:
    # The session is made directly rather than by posting the password: test_login covers
    # logging in, and skipping scrypt keeps the hundreds of tests below fast.
    token, session = sessions.create(clock(), "127.0.0.1")
    async with new_client(server) as client:
        client.cookies.set(SESSION_COOKIE, token, domain="testserver.local", path="/admin")
        yield Admin(client, session.csrf)
