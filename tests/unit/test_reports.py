"""Reports of resellers: filing, review (reward and ban exactly once), the blacklist, the audit log, evidence."""

from __future__ import annotations

import hashlib
import struct
import threading
import time
import zlib
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from wenku import members, reports
from wenku.durations import parse_duration
from wenku.errors import ReportNotOpen, ReportRefused
from wenku.members import Membership
from wenku.reports import MAX_EVIDENCE_BYTES, Evidence

from .conftest import NOW

ADMIN = "10001"
ADMINS = {ADMIN}
REPORTER = "30001"
RESELLER = "30002"
OTHER = "30003"
GROUP = "20001"
LATER = NOW + timedelta(hours=1)
NOW_TEXT = "2026-11-24T02:00:00+00:00"
LATER_TEXT = "2026-11-24T03:00:00+00:00"
REWARD = parse_duration("1年")
CLAIM = "在闲鱼倒卖会员资料"


def rows(store, table: str) -> list[dict]:
    return list(store.db[table].rows)


def file(store, reporter: str = REPORTER, reported: str = RESELLER, *, text: str = CLAIM, at=NOW) -> int:
    return reports.file_report(
        store, reporter=reporter, reported=reported, text=text, group_id=GROUP, now=at, admins=ADMINS
    )


def open_report(report_id: int, reporter: str = REPORTER, reported: str = RESELLER, at: str = NOW_TEXT) -> dict:
    return {
        "id": report_id,
        "reporter": reporter,
        "reported": reported,
        "text": CLAIM,
        "status": "open",
        "created_at": at,
        "group_id": GROUP,
        "decided_at": None,
        "decided_by": None,
        "reason": None,
    }


def audit(id: int, actor: str, action: str, user_id: str, report_id: int | None, detail: str = "", at: str = NOW_TEXT) -> dict:
    return {"id": id, "at": at, "actor": actor, "action": action, "user_id": user_id, "report_id": report_id, "detail": detail}


# -- filing --------------------------------------------------------------------------------------------


def test_file_report_writes_the_report_and_an_audit_row(store):
    assert file(store) == 1
    assert rows(store, "reports") == [open_report(1)]
    assert rows(store, "audit") == [audit(1, REPORTER, "report", RESELLER, 1, CLAIM)]
    assert store.open_report_count() == 1
    assert store.reports("open") == [open_report(1)]


def test_the_audit_detail_is_cut_at_200_characters(store):
    long_text = "倒" * 300
    file(store, text=long_text)
    assert rows(store, "reports")[0]["text"] == long_text
    assert rows(store, "audit")[0]["detail"] == "倒" * 200


@pytest.mark.parametrize(
    ("reported", "reason"),
    [pytest.param(REPORTER, "self", id="self"), pytest.param(ADMIN, "admin", id="admin")],
)
def test_reports_of_oneself_or_an_admin_are_refused(store, reported: str, reason: str):
    with pytest.raises(ReportRefused) as refused:
        file(store, reported=reported)
    assert refused.value.reason == reason
    assert rows(store, "reports") == []
    assert rows(store, "audit") == []


def test_the_fourth_report_within_an_hour_is_refused(store):
    for minutes in (0, 10, 20):
        file(store, at=NOW + timedelta(minutes=minutes))
    with pytest.raises(ReportRefused) as refused:
        file(store, at=NOW + timedelta(minutes=30))
    assert refused.value.reason == "throttled"
    # Exactly an hour after the first it still counts; a second later it does not.
    with pytest.raises(ReportRefused):
        file(store, at=NOW + timedelta(hours=1))
    # Someone else may report meanwhile.
    assert file(store, reporter=OTHER, at=NOW + timedelta(minutes=30)) == 4
    assert file(store, at=NOW + timedelta(hours=1, seconds=1)) == 5
    assert [(row["id"], row["reporter"]) for row in rows(store, "reports")] == [
        (1, REPORTER), (2, REPORTER), (3, REPORTER), (4, OTHER), (5, REPORTER)
    ]
    assert len(rows(store, "audit")) == 5


# -- approving ------------------------------------------------------------------------------------------


def test_approve_rewards_the_reporter_and_bans_the_reseller(store):
    # The reseller holds a month bought a day ago; the reporter is a visitor.
    members.extend(store, RESELLER, parse_duration("1月"), now=NOW - timedelta(days=1), actor=ADMIN)
    file(store)

    decision = reports.approve(store, 1, actor=ADMIN, now=LATER, reward=REWARD)

    approved = {**open_report(1), "status": "approved", "decided_at": LATER_TEXT, "decided_by": ADMIN}
    reward_end = NOW.replace(year=2027) + timedelta(hours=1)
    assert decision == reports.Decision(
        report=approved,
        reporter_membership=Membership(REPORTER, LATER, reward_end, False, "report"),
    )
    assert rows(store, "reports") == [approved]
    assert rows(store, "members") == [
        {
            "user_id": RESELLER,
            "started_at": "2026-11-23T02:00:00+00:00",
            "valid_until": LATER_TEXT,  # ended at the approval
            "lifetime": 0,
            "source": "admin",
            "updated_at": LATER_TEXT,
        },
        {
            "user_id": REPORTER,
            "started_at": LATER_TEXT,
            "valid_until": "2027-11-24T03:00:00+00:00",
            "lifetime": 0,
            "source": "report",
            "updated_at": LATER_TEXT,
        },
    ]
    assert rows(store, "member_events") == [
        {
            "id": 1,
            "user_id": RESELLER,
            "at": "2026-11-23T02:00:00+00:00",
            "action": "extend",
            "duration": "1个月",
            "before_until": None,
            "after_until": "2026-12-23T02:00:00+00:00",
            "actor": ADMIN,
            "note": "",
        },
        {
            "id": 2,
            "user_id": REPORTER,
            "at": LATER_TEXT,
            "action": "reward",
            "duration": "1年",
            "before_until": None,
            "after_until": "2027-11-24T03:00:00+00:00",
            "actor": ADMIN,
            "note": "举报#1",
        },
        {
            "id": 3,
            "user_id": RESELLER,
            "at": LATER_TEXT,
            "action": "revoke",
            "duration": None,
            "before_until": "2026-12-23T02:00:00+00:00",
            "after_until": LATER_TEXT,
            "actor": ADMIN,
            "note": "举报#1：倒卖会员资料",
        },
    ]
    assert rows(store, "blacklist") == [
        {"user_id": RESELLER, "reason": "举报#1：倒卖会员资料", "at": LATER_TEXT, "actor": ADMIN}
    ]
    assert rows(store, "audit") == [
        audit(1, REPORTER, "report", RESELLER, 1, CLAIM),
        audit(2, ADMIN, "report_approved", RESELLER, 1, at=LATER_TEXT),
        audit(3, ADMIN, "reward", REPORTER, 1, "1年", at=LATER_TEXT),
        audit(4, ADMIN, "ban", RESELLER, 1, at=LATER_TEXT),
    ]
    assert members.role_of(store, RESELLER, LATER, ADMINS) == "blacklisted"
    assert members.role_of(store, REPORTER, LATER, ADMINS) == "member"
    assert store.open_report_count() == 0


def test_the_reward_of_a_member_counts_from_the_end_of_the_membership(store):
    members.extend(store, REPORTER, parse_duration("1月"), now=NOW, actor=ADMIN)
    file(store)
    decision = reports.approve(store, 1, actor=ADMIN, now=LATER, reward=REWARD)
    # 2026-12-24 plus a year; the membership keeps its start and source.
    assert decision.reporter_membership == Membership(
        REPORTER, NOW, NOW.replace(year=2027, month=12), False, "admin"
    )
    # The reseller had no membership: banned all the same, no revoke event.
    assert [event["action"] for event in rows(store, "member_events")] == ["extend", "reward"]
    assert [row["user_id"] for row in rows(store, "blacklist")] == [RESELLER]


def test_approving_twice_rewards_once(store):
    file(store)
    reports.approve(store, 1, actor=ADMIN, now=LATER, reward=REWARD)
    audit_before = rows(store, "audit")
    with pytest.raises(ReportNotOpen) as not_open:
        reports.approve(store, 1, actor="10002", now=LATER + timedelta(minutes=1), reward=REWARD)
    assert (not_open.value.report_id, not_open.value.status) == (1, "approved")
    assert len(store.member_events(REPORTER)) == 1
    assert members.membership(store, REPORTER).valid_until == NOW.replace(year=2027) + timedelta(hours=1)
    assert rows(store, "audit") == audit_before
    assert rows(store, "reports")[0]["decided_by"] == ADMIN
    with pytest.raises(ReportNotOpen) as not_open:
        reports.reject(store, 1, "证据不足", actor=ADMIN, now=LATER)
    assert not_open.value.status == "approved"
    assert rows(store, "reports")[0]["status"] == "approved"


def test_approving_a_rejected_or_unknown_report_is_refused(store):
    file(store)
    reports.reject(store, 1, "证据不足", actor=ADMIN, now=LATER)
    with pytest.raises(ReportNotOpen) as not_open:
        reports.approve(store, 1, actor=ADMIN, now=LATER, reward=REWARD)
    assert (not_open.value.report_id, not_open.value.status) == (1, "rejected")
    with pytest.raises(ReportNotOpen) as not_open:
        reports.approve(store, 99, actor=ADMIN, now=LATER, reward=REWARD)
    assert (not_open.value.report_id, not_open.value.status) == (99, None)
    with pytest.raises(ReportNotOpen) as not_open:
        reports.reject(store, 99, "无", actor=ADMIN, now=LATER)
    assert not_open.value.status is None
    # Nothing rewarded, nobody banned.
    assert rows(store, "member_events") == []
    assert rows(store, "members") == []
    assert rows(store, "blacklist") == []


def test_a_failure_inside_approval_leaves_the_report_open(store, monkeypatch):
    file(store)

    def broken_ban(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reports, "ban", broken_ban)
    with pytest.raises(RuntimeError):
        reports.approve(store, 1, actor=ADMIN, now=LATER, reward=REWARD)
    # All or nothing: no reward without the ban, and the report can be approved later.
    assert rows(store, "reports") == [open_report(1)]
    assert rows(store, "members") == []
    assert rows(store, "member_events") == []
    assert len(rows(store, "audit")) == 1


# -- rejecting ---------------------------------------------------------------------------------------------


def test_reject_closes_the_report_with_the_reason(store):
    members.extend(store, RESELLER, parse_duration("1月"), now=NOW, actor=ADMIN)
    file(store)
    decision = reports.reject(store, 1, "截图看不出是倒卖", actor=ADMIN, now=LATER)
    rejected = {
        **open_report(1),
        "status": "rejected",
        "decided_at": LATER_TEXT,
        "decided_by": ADMIN,
        "reason": "截图看不出是倒卖",
    }
    assert decision == reports.Decision(report=rejected)
    assert rows(store, "reports") == [rejected]
    assert rows(store, "audit") == [
        audit(1, REPORTER, "report", RESELLER, 1, CLAIM),
        audit(2, ADMIN, "report_rejected", RESELLER, 1, "截图看不出是倒卖", at=LATER_TEXT),
    ]
    # Nobody rewarded or banned.
    assert [event["action"] for event in rows(store, "member_events")] == ["extend"]
    assert rows(store, "blacklist") == []
    assert members.role_of(store, RESELLER, LATER, ADMINS) == "member"


# -- blacklist ----------------------------------------------------------------------------------------------


def test_blacklist_and_unblacklist(store):
    members.extend(store, RESELLER, parse_duration("1月"), now=NOW, actor=ADMIN)
    ended = reports.blacklist(store, RESELLER, "外传全文", actor=ADMIN, now=LATER)
    assert ended == Membership(RESELLER, NOW, LATER, False, "admin")
    assert reports.blacklist(store, OTHER, "骚扰群友", actor=ADMIN, now=LATER) is None
    assert rows(store, "blacklist") == [
        {"user_id": RESELLER, "reason": "外传全文", "at": LATER_TEXT, "actor": ADMIN},
        {"user_id": OTHER, "reason": "骚扰群友", "at": LATER_TEXT, "actor": ADMIN},
    ]
    assert [(event["user_id"], event["action"], event["note"]) for event in rows(store, "member_events")] == [
        (RESELLER, "extend", ""),
        (RESELLER, "revoke", "外传全文"),
    ]

    assert reports.unblacklist(store, RESELLER, actor=ADMIN, now=LATER + timedelta(days=1)) is True
    assert reports.unblacklist(store, RESELLER, actor=ADMIN, now=LATER + timedelta(days=1)) is False
    assert rows(store, "blacklist") == [{"user_id": OTHER, "reason": "骚扰群友", "at": LATER_TEXT, "actor": ADMIN}]
    assert rows(store, "audit") == [
        audit(1, ADMIN, "ban", RESELLER, None, "外传全文", at=LATER_TEXT),
        audit(2, ADMIN, "ban", OTHER, None, "骚扰群友", at=LATER_TEXT),
        audit(3, ADMIN, "unban", RESELLER, None, at="2026-11-25T03:00:00+00:00"),
    ]
    # Unbanned is not a member again: the membership stays ended.
    assert members.role_of(store, RESELLER, LATER + timedelta(days=1), ADMINS) == "visitor"
    assert [entry["action"] for entry in store.audit_of(RESELLER)] == ["unban", "ban"]


# -- evidence -------------------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A valid 1x1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff")) + chunk(b"IEND", b"")


PNG = tiny_png()


class EvidenceServer:
    """A real HTTP server on 127.0.0.1 serving what screenshots can turn out to be."""

    def __init__(self):
        self.stop = threading.Event()
        self.paths: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_body(self, status: int, kind: str, body: bytes, length: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                owner.paths.append(self.path)
                try:
                    self.route()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should

            def route(self):
                path = self.path.split("?")[0]
                if path.endswith(".png"):
                    self.send_body(200, "image/png", PNG)
                elif path == "/missing":
                    self.send_body(404, "text/plain", b"not found")
                elif path == "/page":
                    self.send_body(200, "text/html", b"<html><body>not an image</body></html>")
                elif path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/after-redirect.png")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path.startswith("/redirect-to-"):
                    # A redirect to an address the socket layer chokes on.
                    self.send_response(302)
                    self.send_header("Location", {"/redirect-to-bad-port": "http://127.0.0.1:99999/x.png",
                                                  "/redirect-to-malformed": "http://[::1/x.png"}[path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/declared-huge":
                    # Says it is too large: refused without reading the body.
                    self.send_body(200, "image/png", PNG, length=MAX_EVIDENCE_BYTES + 1)
                elif path == "/undeclared-huge":
                    # No length at all (HTTP/1.0, ends when the connection closes), then too many bytes.
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    self.wfile.write(PNG)
                    piece = b"\0" * 65536
                    for _ in range(MAX_EVIDENCE_BYTES // len(piece) + 2):
                        if owner.stop.is_set():
                            return
                        self.wfile.write(piece)
                elif path == "/exactly-max":
                    body = PNG + b"\0" * (MAX_EVIDENCE_BYTES - len(PNG))
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    self.wfile.write(body)
                elif path == "/slow":
                    owner.stop.wait(5)  # no answer at all for a long time
                    self.send_body(200, "image/png", PNG)
                elif path == "/trickle":
                    # Headers at once, then a byte now and then: no single read ever times out.
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.end_headers()
                    self.wfile.write(PNG[:8])
                    self.wfile.flush()
                    while not owner.stop.wait(0.05):
                        self.wfile.write(b"\0")
                        self.wfile.flush()
                else:
                    self.send_body(404, "text/plain", b"?")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> "EvidenceServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server():
    with EvidenceServer() as running:
        yield running


async def fetch(url: str, folder, *, timeout: float = 5.0, stem: str = "report1_1") -> Evidence:
    async with httpx.AsyncClient() as client:
        return await reports.fetch_evidence(client, url, folder, stem, timeout=timeout)


async def test_a_screenshot_is_saved_under_a_name_of_ours(server, tmp_path):
    folder = tmp_path / "evidence"
    url = server.url("/shot.png")
    evidence = await fetch(url, folder)
    digest = hashlib.sha256(PNG).hexdigest()[:12]
    assert evidence == Evidence(url, folder / f"report1_1_{digest}.png", None, len(PNG))
    assert evidence.path.read_bytes() == PNG
    assert list(folder.iterdir()) == [evidence.path]


@pytest.mark.parametrize(
    "path",
    [
        "/../../../../tmp/evil.png",
        "/%2e%2e/%2e%2e/etc/cron.d/evil.png",
        "/..%2f..%2fevil.png",
        "/a/b/evil.png?name=../../x.png",
    ],
)
async def test_the_file_name_never_comes_from_the_url(server, tmp_path, path: str):
    folder = tmp_path / "evidence"
    evidence = await fetch(server.url(path), folder, stem="report7_2")
    assert evidence.error is None
    assert evidence.path == folder / f"report7_2_{hashlib.sha256(PNG).hexdigest()[:12]}.png"
    assert [item.name for item in tmp_path.rglob("*") if item.is_file()] == [evidence.path.name]


async def test_redirects_are_followed(server, tmp_path):
    evidence = await fetch(server.url("/redirect"), tmp_path)
    assert evidence.error is None and evidence.path.read_bytes() == PNG


STREAMED = object()  # the size is whatever was read before giving up


@pytest.mark.parametrize(
    ("path", "error", "size"),
    [
        pytest.param("/missing", "下载失败（HTTP 404）", None, id="404"),
        pytest.param("/page", "不是图片", len(b"<html><body>not an image</body></html>"), id="html"),
        pytest.param("/declared-huge", "图片过大", MAX_EVIDENCE_BYTES + 1, id="declared-too-large"),
        pytest.param("/undeclared-huge", "图片过大", STREAMED, id="undeclared-too-large"),
    ],
)
async def test_what_is_not_a_usable_screenshot_is_described(server, tmp_path, path: str, error: str, size):
    folder = tmp_path / "evidence"
    url = server.url(path)
    evidence = await fetch(url, folder)
    assert (evidence.url, evidence.path, evidence.error) == (url, None, error)
    if size is STREAMED:
        # Stopped as soon as it went past the limit, not at the end of the body.
        assert MAX_EVIDENCE_BYTES < evidence.size <= MAX_EVIDENCE_BYTES + 65536 + len(PNG)
    else:
        assert evidence.size == size
    assert not folder.exists() or list(folder.iterdir()) == []


async def test_a_screenshot_of_exactly_the_limit_is_kept(server, tmp_path):
    evidence = await fetch(server.url("/exactly-max"), tmp_path)
    assert (evidence.error, evidence.size) == (None, MAX_EVIDENCE_BYTES)


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
async def test_a_slow_server_times_out(server, tmp_path, path: str):
    started = time.monotonic()
    evidence = await fetch(server.url(path), tmp_path, timeout=0.5)
    assert (evidence.path, evidence.error, evidence.size) == (None, "下载超时", None)
    assert time.monotonic() - started < 3


async def test_the_timeout_of_the_client_is_not_what_limits_a_download(server, tmp_path):
    # fetch_evidence sets its own timeout; the default is EVIDENCE_TIMEOUT.
    assert reports.fetch_evidence.__kwdefaults__ == {"timeout": reports.EVIDENCE_TIMEOUT}
    async with httpx.AsyncClient(timeout=0.001) as client:
        evidence = await reports.fetch_evidence(client, server.url("/shot.png"), tmp_path, "s")
    assert evidence.error is None


@pytest.mark.parametrize(
    ("url", "error"),
    [
        pytest.param("file:///etc/passwd", "不是网络地址", id="file"),
        pytest.param("abc.image", "不是网络地址", id="qq-file-name"),
        pytest.param("http://[::1/x.png", "不是网络地址", id="malformed"),
        pytest.param("http://256.1.1.1/x.png", "不是网络地址", id="bad-ip"),
        pytest.param("http://127.0.0.1:99999/x.png", "不是网络地址", id="port-too-large"),
        pytest.param("https:///x.png", "不是网络地址", id="no-host"),
        pytest.param("http://127.0.0.1:1/x.png", "下载失败（ConnectError）", id="refused"),
    ],
)
async def test_bad_addresses_are_described_not_raised(tmp_path, url: str, error: str):
    assert await fetch(url, tmp_path / "evidence") == Evidence(url, None, error, None)
    assert not (tmp_path / "evidence").exists()


@pytest.mark.parametrize(
    ("path", "error"),
    [("/redirect-to-bad-port", "下载失败"), ("/redirect-to-malformed", "下载失败（RemoteProtocolError）")],
)
async def test_a_redirect_to_a_bad_address_is_described_not_raised(server, tmp_path, path: str, error: str):
    url = server.url(path)
    assert await fetch(url, tmp_path) == Evidence(url, None, error, None)


async def test_a_transport_failure_is_described(tmp_path):
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        evidence = await reports.fetch_evidence(client, "https://cdn.example/x.png", tmp_path, "s")
    assert evidence == Evidence("https://cdn.example/x.png", None, "下载失败（ReadError）", None)


async def test_a_screenshot_that_cannot_be_written_is_described(tmp_path):
    blocker = tmp_path / "evidence"
    blocker.write_text("a file where the folder should be")

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(200, content=PNG))) as client:
        evidence = await reports.fetch_evidence(client, "https://cdn.example/x.png", blocker, "s")
    assert (evidence.path, evidence.error, evidence.size) == (None, "保存失败（FileExistsError）", len(PNG))


@pytest.mark.parametrize(
    ("head", "suffix"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", ".jpg"),
        (PNG[:16], ".png"),
        (b"GIF89a\x01\x00", ".gif"),
        (b"GIF87a\x01\x00", ".gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ".webp"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"BM\x36\x00", ".bmp"),
        (b"<html>", None),
        (b"", None),
    ],
)
def test_image_kinds(head: bytes, suffix: str | None):
    assert reports._image_suffix(head) == suffix
