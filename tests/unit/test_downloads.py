"""Downloading a file sent in chat, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from wenku.downloads import download_client, fetch_bytes
from wenku.errors import DownloadFailed

BODY = "在全市工会工作会议上的讲话\n同志们：今天召开全市工会工作会议。\n".encode("utf-8")


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    declare_length: bool = True  # False: no Content-Length, the body ends when the connection closes
    delay: float = 0.0  # seconds before the status line
    location: str = ""  # a redirect's target


@dataclass
class Server:
    base: str
    routes: dict[str, Route]
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture
def server() -> Iterator[Server]:
    routes: dict[str, Route] = {}
    requests: list[str] = []
    released = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self) -> None:
            requests.append(self.path)
            route = routes.get(self.path, Route(status=404, body=b"not found"))
            if route.delay:
                released.wait(route.delay)
            self.send_response(route.status)
            if route.location:
                self.send_header("Location", route.location)
            if route.declare_length:
                self.send_header("Content-Length", str(len(route.body)))
            self.end_headers()
            try:
                self.wfile.write(route.body)
            except OSError:
                pass  # the client gave up (too large, too slow)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", routes, requests)
    finally:
        released.set()  # a handler still sleeping for the timeout test ends now
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
async def client() -> httpx.AsyncClient:
    async with httpx.AsyncClient() as http:
        yield http


async def test_the_body_is_returned(server: Server, client):
    server.routes["/speech.txt"] = Route(body=BODY)
    assert await fetch_bytes(client, server.url("/speech.txt"), "speech.txt") == BODY
    assert server.requests == ["/speech.txt"]


async def test_a_body_exactly_at_the_limit_is_accepted(server: Server, client):
    server.routes["/a.txt"] = Route(body=b"x" * 100)
    server.routes["/b.txt"] = Route(body=b"x" * 100, declare_length=False)
    assert await fetch_bytes(client, server.url("/a.txt"), "a.txt", max_bytes=100) == b"x" * 100
    assert await fetch_bytes(client, server.url("/b.txt"), "b.txt", max_bytes=100) == b"x" * 100


async def test_redirects_are_followed(server: Server, client):
    server.routes["/speech.txt"] = Route(body=BODY)
    server.routes["/share?id=7"] = Route(status=302, location="/speech.txt")
    assert await fetch_bytes(client, server.url("/share?id=7"), "speech.txt") == BODY
    assert server.requests == ["/share?id=7", "/speech.txt"]


@pytest.mark.parametrize("status", [404, 403, 500])
async def test_an_error_status_fails_with_it(server: Server, client, status: int):
    server.routes["/gone.txt"] = Route(status=status, body=b"error page")
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, server.url("/gone.txt"), "讲话.txt")
    assert (raised.value.name, raised.value.reason) == ("讲话.txt", f"下载失败（HTTP {status}）")


async def test_a_declared_length_over_the_limit_is_refused_before_the_body(server: Server, client):
    server.routes["/big.txt"] = Route(body=b"x" * (1024 * 1024 + 1))
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, server.url("/big.txt"), "big.txt", max_bytes=1024 * 1024)
    assert (raised.value.name, raised.value.reason) == ("big.txt", "文件超过 1 MB")


async def test_an_undeclared_body_over_the_limit_is_cut_off(server: Server, client):
    server.routes["/stream.txt"] = Route(body=b"x" * (3 * 1024 * 1024), declare_length=False)
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, server.url("/stream.txt"), "stream.txt", max_bytes=1024 * 1024)
    assert (raised.value.name, raised.value.reason) == ("stream.txt", "文件超过 1 MB")


async def test_a_server_that_does_not_answer_in_time(server: Server, client):
    server.routes["/slow.txt"] = Route(body=BODY, delay=5.0)
    started = time.monotonic()
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, server.url("/slow.txt"), "slow.txt", timeout=0.2)
    assert (raised.value.name, raised.value.reason) == ("slow.txt", "下载超时")
    assert time.monotonic() - started < 3


async def test_nothing_listening(client):
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, "http://127.0.0.1:1/speech.txt", "speech.txt")
    assert (raised.value.name, raised.value.reason) == ("speech.txt", "下载失败（ConnectError）")


@pytest.mark.parametrize(
    "url",
    ["", "ftp://127.0.0.1/speech.txt", "file:///etc/passwd", "/tmp/speech.txt", "C:\\QQ\\speech.txt", "base64://aGVsbG8="],
)
async def test_what_is_not_a_web_address_is_refused_without_a_request(server: Server, client, url: str):
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, url, "speech.txt")
    assert (raised.value.name, raised.value.reason) == ("speech.txt", "不是可下载的网址")
    assert server.requests == []


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/x.txt", "http://", "https:///x.txt"])
async def test_a_malformed_address_is_a_refusal_not_a_crash(client, url: str):
    with pytest.raises(DownloadFailed) as raised:
        await fetch_bytes(client, url, "x.txt")
    assert (raised.value.name, raised.value.reason) == ("x.txt", "不是可下载的网址")


async def test_download_clients_share_one_tls_context():
    # Loading the CA certificates for every downloaded file was the bot's biggest cost under load.
    async with download_client() as first, download_client() as second:
        assert first._transport._pool._ssl_context is second._transport._pool._ssl_context
