"""Load benchmark: the real bot.py over a real WebSocket, measured against the framework's own ceiling.

    uv run python bench/e2e.py --docs 300                     # a small library built on the spot
    uv run python bench/e2e.py --db bench/out/lib50k.db       # the 50,000-document library (copied first)

A fake OneBot side (tests/e2e/onebot.py, the one the end-to-end tests use)
connects to the bot's reverse WebSocket on 127.0.0.1 and plays QQ:

* load: 200 users in 5 groups send 2,000 searches, each user waiting for the
  answer to one search before sending the next (a person reads the answer
  first), while an admin drops 500 documents into the first group at once
  (a folder dragged in); the bot imports them meanwhile, and every file must
  get its reply. ``WENKU_SEND_INTERVAL=0``, so the figure is the bot's own
  speed, not its pacing. Before the load: a warm-up, and 50 searches one at
  a time (the latency with nothing else going on); after it, the same load
  again with other words and no import, to show what the import costs;
* the ceiling: the same requests to bench/echo_bot.py, NoneBot and the OneBot
  adapter with one plugin that sends each message straight back. It runs
  before and after the bot in the same run; the better of its two runs is the
  ceiling, and the bot's figures are reported as ratios to it (the goal is at
  least half the ceiling's throughput). Ratios, not absolute times, are what
  carry from one machine to another;
* pacing: the bot restarted with a short ``WENKU_SEND_INTERVAL`` gets a burst
  of 200 searches in one group; every one must be answered and no two sends
  to the group may arrive closer than the interval.

Each search has words of its own, and the bot's reply names them
(「…」共找到 / 没有找到…「…」; the echo sends the request back), so every reply
is matched to its request exactly. Latency is from the moment the fake sends
the event to the moment the reply's send frame arrives. A request with no
reply within ``--reply-timeout`` is lost; a second reply to one request, or a
frame that answers nothing, is counted too. ``longest_silence_ms`` is the
longest time in which no reply at all arrived while searches were waiting.
The bot's log is searched for errors and "database is locked", and its
resident memory is read at each stage and at the end.

Why uploads and not ``wenku import`` in another process: an upload goes
through the bot itself (the notice, get_group_file_url, the download, the
hand-over to the bot's import worker process, the reply, the subscribers'
notices), so the import competes with the searches for the bot's event loop,
the machine's two cores and the database's write lock (each search logs
itself with an INSERT), which is what happens when an admin drops a folder
into a group. The memory figures give the bot and its import worker apart.

Human-readable lines come first; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO_ROOT = BENCH.parent
sys.path[:0] = [str(BENCH), str(REPO_ROOT)]

from _library import (  # noqa: E402
    DEFAULT_CORPUS,
    DEFAULT_SEED,
    WENKU_FINGERPRINT,
    Corpus,
    db_megabytes,
    fail,
    generate_drafts,
    open_library,
    say,
)
from search import make_queries  # noqa: E402

from tests.e2e.conftest import clean_environment, free_port, write_env_file  # noqa: E402
from tests.e2e.onebot import SEND_ACTIONS, ApiCall, FakeOneBot, Response, group_message, group_upload  # noqa: E402
from wenku.errors import WenkuError  # noqa: E402
from wenku.search import parse_query  # noqa: E402

BOT_SCRIPT = REPO_ROOT / "bot.py"
ECHO_SCRIPT = BENCH / "echo_bot.py"

SELF_ID = 2000
ADMIN = 10001
FREE_GROUPS = (30001, 30002, 30003)
MEMBER_GROUPS = (30004, 30005)
GROUPS = FREE_GROUPS + MEMBER_GROUPS
UPLOAD_GROUP = FREE_GROUPS[0]  # where the admin drops the documents (and gets one reply per file)
FIRST_USER = 700_000
IMPORT_SEED_OFFSET = 7919  # the imported documents: the library's generator with another seed, so no duplicates
STARTUP_TIMEOUT = 600.0  # the first start on a copied library may run a migration
PACE_TOLERANCE = 0.005  # seconds a gap may fall short of the interval (clock and scheduling)

#: The first line of a search reply names the words it answers.
SEARCH_REPLY = re.compile(r"「(.+?)」共找到|没有找到(?:同时)?包含「(.+?)」")
#: The reply to an uploaded file: imported, skipped as a duplicate, or not imported (and why).
IMPORT_REPLY = re.compile(r"(已导入|跳过|失败) |文件「.+?」(没有导入)：")
ECHOED = "搜索 "  # the echo bot sends the request itself back


# -- requests and replies ------------------------------------------------------------


def words_of(query: str) -> tuple[str, ...] | None:
    try:
        return tuple(parse_query(query))
    except WenkuError:
        return None


def reply_key(text: str) -> tuple[str, ...] | None:
    """The words a reply answers: the bot's search reply, or the echo of a request; None for anything else."""
    if text.startswith(ECHOED):
        return words_of(text[len(ECHOED) :])
    found = SEARCH_REPLY.match(text)
    return tuple((found.group(1) or found.group(2)).split(" ")) if found else None


@dataclass
class Request:
    """One search a user sends, and what became of it."""

    query: str
    key: tuple[str, ...]
    group_id: int
    user_id: int
    sent_at: float | None = None
    replied_at: float | None = None
    replies: int = 0
    answered: asyncio.Future | None = None

    @property
    def latency_ms(self) -> float | None:
        if self.sent_at is None or self.replied_at is None:
            return None
        return (self.replied_at - self.sent_at) * 1000


def unique_queries(corpus: Corpus, titles: list[str], needed: int, seed: int) -> list[str]:
    """``needed`` queries of search.py's four kinds, no two with the same words, in a seeded order.

    make_queries draws 240 at a time (its bigram bands hold only so many
    frequent pairs); rounds with further seeds add queries until there are enough.
    """
    chosen: dict[tuple[str, ...], str] = {}
    for round_ in range(1000):
        for query in make_queries(corpus, titles, 240, seed + 101 * round_):
            key = words_of(query.text)
            if key and key not in chosen:
                chosen[key] = query.text
        if len(chosen) >= needed:
            queries = list(chosen.values())
            random.Random(seed).shuffle(queries)
            return queries[:needed]
    fail(f"could not draw {needed} distinct queries from the corpus")
    raise AssertionError("unreachable")


class Traffic:
    """Follows every frame the bot sends and matches it to the request it answers."""

    def __init__(self, onebot: FakeOneBot, imports_expected: int):
        self.onebot = onebot
        self.requests: dict[tuple[str, ...], Request] = {}
        self.import_replies: list[ApiCall] = []
        self.unmatched: list[ApiCall] = []
        self.imports_expected = imports_expected
        self._imports_done = asyncio.Event()
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        index = 0
        while True:
            if index == len(self.onebot.calls):
                try:
                    await self.onebot.wait_for_calls(1, after=index, timeout=3600)
                except AssertionError:  # the connection closed: nothing more will come
                    return
            for call in self.onebot.calls[index:]:
                self._match(call)
            index = len(self.onebot.calls)

    def _match(self, call: ApiCall) -> None:
        if call.action not in SEND_ACTIONS:
            return
        text = call.text
        key = reply_key(text)
        request = self.requests.get(key) if key else None
        if request is not None:
            request.replies += 1
            if request.replied_at is None:
                request.replied_at = call.received_at
                if request.answered and not request.answered.done():
                    request.answered.set_result(None)
        elif IMPORT_REPLY.match(text) and call.params.get("group_id") == UPLOAD_GROUP:
            self.import_replies.append(call)
            if len(self.import_replies) == self.imports_expected:
                self._imports_done.set()
        else:
            self.unmatched.append(call)

    async def ask(self, request: Request, timeout: float) -> None:
        """Send one search and wait for its reply (at most ``timeout`` seconds; a late reply still counts)."""
        self.requests[request.key] = request
        request.answered = asyncio.get_running_loop().create_future()
        event = group_message(f"搜索 {request.query}", self_id=SELF_ID, group_id=request.group_id, user_id=request.user_id)
        request.sent_at = time.monotonic()
        await self.onebot.send_event(event)
        try:
            await asyncio.wait_for(asyncio.shield(request.answered), timeout)
        except TimeoutError:
            pass

    async def wait_for_imports(self, timeout: float) -> bool:
        if len(self.import_replies) >= self.imports_expected:
            return True
        try:
            await asyncio.wait_for(self._imports_done.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def settle(self, quiet: float = 1.0) -> None:
        """Wait until nothing arrived for ``quiet`` seconds (late and duplicate replies are in by then)."""
        while True:
            seen = len(self.onebot.calls)
            await asyncio.sleep(quiet)
            if len(self.onebot.calls) == seen:
                return

    def close(self) -> None:
        self._task.cancel()


# -- the documents the admin uploads ------------------------------------------------------


class FileServer:
    """QQ's file server on 127.0.0.1: get_group_file_url is answered with an address here."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(handler) -> None:  # noqa: N802, N805 (http.server's names)
                data = files.get(handler.path.lstrip("/"))
                if data is None:
                    handler.send_error(404)
                    return
                handler.send_response(200)
                handler.send_header("Content-Type", "application/octet-stream")
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)

            def log_message(handler, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            # The listen backlog: http.server's default of 5 drops most of 500 simultaneous
            # connections, and the bot's downloads would time out on this server, not on the bot.
            request_queue_size = 1024

        self._http = Server(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def url(self, file_id: str) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/{file_id}"

    def answer(self, call: ApiCall) -> Response:
        return Response({"url": self.url(str(call.params["file_id"]))})

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


# -- the processes under test ---------------------------------------------------------------


def _memory_kib(pid: int) -> dict[str, int]:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:  # it ended meanwhile
        return {"VmRSS": 0, "VmHWM": 0}
    return {key: int(value.split()[0]) for key, value in re.findall(r"^(VmRSS|VmHWM):\s+(.+)$", status, re.M)}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if re.search(r"^PPid:\s+(\d+)$", (entry / "status").read_text(), re.M).group(1) == str(pid):
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, AttributeError):
                continue
    return found


@dataclass
class Server:
    """bot.py or echo_bot.py running on a loopback port, with its log."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    token: str
    log_path: Path

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/onebot/v11/ws"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def memory_mib(self) -> dict[str, float]:
        """Resident memory now (VmRSS) and at its peak (VmHWM), in MiB.

        The process is Python itself (started as ``python bot.py``, no ``uv run`` in between).
        """
        kib = _memory_kib(self.process.pid)
        # The bot's import worker (python -m wenku.import_worker) is a process of its own.
        workers = [_memory_kib(pid) for pid in _children(self.process.pid)]
        return {
            "rss_mib": round(kib["VmRSS"] / 1024, 1),
            "peak_rss_mib": round(kib["VmHWM"] / 1024, 1),
            "children_rss_mib": round(sum(worker["VmRSS"] for worker in workers) / 1024, 1),
            "children_peak_rss_mib": round(sum(worker["VmHWM"] for worker in workers) / 1024, 1),
        }


    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(20)


def start_server(name: str, script: Path, folder: Path, settings: dict[str, str]) -> Server:
    """Start ``script`` with its own settings file; return once its port accepts connections."""
    port = free_port()
    token = secrets.token_urlsafe(24)
    env_file = folder / f"{name}.env"
    write_env_file(
        env_file,
        {
            "DRIVER": "~fastapi",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "LOG_LEVEL": "INFO",  # what .env.example ships: every event is logged, for both servers alike
            "ONEBOT_ACCESS_TOKEN": token,
            "ONEBOT_SECRET": secrets.token_urlsafe(24),
            **settings,
        },
    )
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(script)],
            cwd=REPO_ROOT,
            env=clean_environment(WENKU_ENV_FILE=str(env_file)),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = Server(name, process, port, token, log_path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if process.poll() is not None:
            fail(f"{script.name} exited with code {process.returncode}:\n{server.log()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        if time.monotonic() > deadline:
            server.stop()
            fail(f"{script.name} did not listen within {STARTUP_TIMEOUT:.0f} s:\n{server.log()[-3000:]}")
        time.sleep(0.1)


def bot_settings(db_path: Path, interval: float) -> dict[str, str]:
    return {
        "SUPERUSERS": f'["{ADMIN}"]',
        "WENKU_DB": str(db_path),
        "WENKU_FREE_GROUPS": json.dumps(list(FREE_GROUPS)),
        "WENKU_MEMBER_GROUPS": json.dumps(list(MEMBER_GROUPS)),
        "WENKU_SEND_INTERVAL": str(interval),
        "WENKU_WATERMARK_SECRET": secrets.token_urlsafe(24),
        "WENKU_DEMO": "false",
        "WENKU_PUSH_ON_IMPORT": "false",  # one reply per file; announcements would be 5 more sends each
        "WENKU_RECOMMEND_AT": "",
        "WENKU_DIGEST_AT": "",
    }


def log_problems(log: str) -> dict:
    lines = log.splitlines()
    errors = [line for line in lines if "[ERROR]" in line or "[CRITICAL]" in line]
    return {
        "error_lines": len(errors),
        "database_locked": sum("database is locked" in line for line in lines),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "warnings": sum("[WARNING]" in line for line in lines),
        "examples": [line[:300] for line in errors[:3]],
    }


# -- figures -------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile, as bench/search.py reports them."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(len(ordered) * fraction) - 1)]


def rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 3) if numerator and denominator else None


def figures(requests: list[Request], traffic: Traffic) -> dict:
    latencies = [request.latency_ms for request in requests if request.latency_ms is not None]
    answered = [request for request in requests if request.replied_at is not None]
    seconds = None
    if answered:
        seconds = max(r.replied_at for r in answered) - min(r.sent_at for r in requests if r.sent_at is not None)
    return {
        "requests": len(requests),
        "answered": len(answered),
        "lost": len(requests) - len(answered),
        "duplicate_replies": sum(max(0, request.replies - 1) for request in requests),
        "seconds": rounded(seconds),
        "rps": rounded(len(answered) / seconds if seconds else None, 1),
        "p50_ms": rounded(percentile(latencies, 0.5)),
        "p99_ms": rounded(percentile(latencies, 0.99)),
        "max_ms": rounded(max(latencies) if latencies else None),
    }


# -- the runs ------------------------------------------------------------------------------


@dataclass
class Plan:
    """The same requests for every server; each run gets fresh Request objects."""

    warmup: list[str]
    solo: list[str]
    load: list[str]
    quiet: list[str]  # the load again, other words, without an import
    burst: list[str]
    users: int
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # file id -> (name, data)

    def load_requests(self, queries: list[str]) -> list[list[Request]]:
        """Per user, the searches they send one after another; user i is in group i mod 5."""
        sessions: list[list[Request]] = [[] for _ in range(self.users)]
        for n, query in enumerate(queries):
            user = n % self.users
            sessions[user].append(Request(query, words_of(query), GROUPS[user % len(GROUPS)], FIRST_USER + user))
        return sessions


async def closed_loop(traffic: Traffic, sessions: list[list[Request]], timeout: float) -> None:
    async def user(requests: list[Request]) -> None:
        for request in requests:
            await traffic.ask(request, timeout)

    await asyncio.gather(*(user(requests) for requests in sessions))


def longest_silence_ms(requests: list[Request]) -> float | None:
    """The longest time without a single reply while searches were waiting: how long the bot stalled."""
    times = sorted(r.replied_at for r in requests if r.replied_at is not None)
    first_sent = min((r.sent_at for r in requests if r.sent_at is not None), default=None)
    if not times or first_sent is None:
        return None
    return rounded(max(b - a for a, b in itertools.pairwise([first_sent, *times])) * 1000)


async def measure(server: Server, plan: Plan, args: argparse.Namespace, *, files: FileServer | None) -> dict:
    """Warm up, time searches one at a time, then the load with the import; the server's figures.

    With ``files`` (the bot) the upload notices are answered and every upload
    must get its reply; then the same load runs again without an import, to
    show how much the import costs the searches.
    """
    onebot = FakeOneBot(server.ws_url, self_id=SELF_ID, access_token=server.token)
    await onebot.connect()
    if files:
        onebot.respond("get_group_file_url", files.answer)
    traffic = Traffic(onebot, imports_expected=len(plan.uploads) if files else 0)
    memory = {"started": server.memory_mib()["rss_mib"]}
    try:
        # Warm-up: SQLite's cache and the page cache, as in a bot that has been serving for a while.
        warm = [
            [Request(q, words_of(q), GROUPS[user % len(GROUPS)], FIRST_USER + 50_000 + user) for q in plan.warmup[user::10]]
            for user in range(10)
        ]
        await closed_loop(traffic, warm, args.reply_timeout)
        # One user, one search at a time: the latency of a search when nothing else is going on.
        solo = [Request(q, words_of(q), GROUPS[1], FIRST_USER + 60_000) for q in plan.solo]
        await closed_loop(traffic, [solo], args.reply_timeout)
        await traffic.settle(0.5)
        memory["before_load"] = server.memory_mib()["rss_mib"]

        # The load: a folder of documents dropped into the group, and 200 users searching meanwhile.
        sessions = plan.load_requests(plan.load)
        began = time.monotonic()
        for file_id, (name, data) in plan.uploads.items():
            await onebot.send_event(
                group_upload(self_id=SELF_ID, group_id=UPLOAD_GROUP, user_id=ADMIN, file_id=file_id, name=name, size=len(data))
            )
        await closed_loop(traffic, sessions, args.reply_timeout)
        searches_done = time.monotonic()
        imports_by_then = len(traffic.import_replies)
        imports_complete = await traffic.wait_for_imports(args.import_timeout)
        imports_done = time.monotonic()
        await traffic.settle()
        memory["after_load"] = server.memory_mib()["rss_mib"]
        load = [request for requests in sessions for request in requests]
        result = {
            **figures(load, traffic),
            "longest_silence_ms": longest_silence_ms(load),
            "solo": figures(solo, traffic),
        }
        if files:
            statuses = Counter(next(filter(None, IMPORT_REPLY.match(call.text).groups())) for call in traffic.import_replies)
            result["import"] = {
                "files": len(plan.uploads),
                "replies": len(traffic.import_replies),
                "complete": imports_complete,
                "statuses": dict(statuses),
                "seconds": round(imports_done - began, 2),
                "docs_per_s": round(statuses["已导入"] / (imports_done - began), 2),
                # The searches ran while the import did: how far it had got when they were all answered.
                "searches_seconds": round(searches_done - began, 2),
                "replies_when_searches_ended": imports_by_then,
            }
            # The same load again (other words), with no import running.
            quiet_sessions = plan.load_requests(plan.quiet)
            await closed_loop(traffic, quiet_sessions, args.reply_timeout)
            await traffic.settle()
            quiet = [request for requests in quiet_sessions for request in requests]
            result["without_import"] = {**figures(quiet, traffic), "longest_silence_ms": longest_silence_ms(quiet)}
            memory["end"] = server.memory_mib()["rss_mib"]
        result.update(
            unmatched_frames=len(traffic.unmatched),
            unmatched_examples=[call.text[:120] for call in traffic.unmatched[:3]],
            memory_mib=memory,
        )
        return result
    finally:
        traffic.close()
        await onebot.close()


async def paced_burst(server: Server, plan: Plan, interval: float, timeout: float) -> dict:
    """A burst of searches in one group at once; every one answered, no two sends closer than ``interval``."""
    onebot = FakeOneBot(server.ws_url, self_id=SELF_ID, access_token=server.token)
    await onebot.connect()
    traffic = Traffic(onebot, imports_expected=0)
    try:
        group = GROUPS[0]
        requests = [Request(q, words_of(q), group, FIRST_USER + 80_000 + n) for n, q in enumerate(plan.burst)]
        start = onebot.mark()
        began = time.monotonic()
        # Every user sends at once, then waits for their answer.
        await closed_loop(traffic, [[request] for request in requests], timeout)
        await traffic.settle()
        sends = [call for call in onebot.calls[start:] if call.is_send_to(group_id=group)]
        gaps = [later.received_at - earlier.received_at for earlier, later in itertools.pairwise(sends)]
        answered = sum(request.replied_at is not None for request in requests)
        return {
            "interval_s": interval,
            "requests": len(requests),
            "answered": answered,
            "lost": len(requests) - answered,
            "duplicate_replies": sum(max(0, request.replies - 1) for request in requests),
            "sends": len(sends),
            "min_gap_ms": rounded(min(gaps) * 1000 if gaps else None),
            "gaps_under_interval": sum(gap < interval - PACE_TOLERANCE for gap in gaps),
            "seconds": round(time.monotonic() - began, 2),
        }
    finally:
        traffic.close()
        await onebot.close()


def copy_library(source: Path, target: Path) -> None:
    """Copy the kept library (and its WAL, if any) so the run cannot change it; a reflink when the disk allows."""
    if not source.is_file():
        fail(f"no database at {source}")
    for suffix in ("", "-wal"):
        part = Path(f"{source}{suffix}")
        if part.exists():
            subprocess.run(["cp", "--reflink=auto", str(part), f"{target}{suffix}"], check=True)
    os.sync()  # the copy's writes land now, not in the middle of a measured run


def library_titles(db_path: Path) -> list[str]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT title FROM documents WHERE deleted_at IS NULL")]


def document_count(db_path: Path) -> int:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT count(*) FROM documents WHERE deleted_at IS NULL").fetchone()[0]


def summary_line(name: str, result: dict) -> str:
    return (
        f"{name:<10} {result['answered']}/{result['requests']} answered in {result['seconds']} s: {result['rps']} req/s,"
        f" p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms (one at a time: p50 {result['solo']['p50_ms']} ms);"
        f" lost {result['lost']}, duplicates {result['duplicate_replies']}, unmatched frames {result['unmatched_frames']}"
    )


async def run(args: argparse.Namespace, scratch: Path) -> dict:
    corpus = Corpus.load(args.corpus)
    db_path = scratch / "wenku.db"
    if args.db:
        say(f"copying {args.db} ({db_megabytes(args.db)} MiB) to {scratch}")
        copy_library(args.db, db_path)
    else:
        store, _ = open_library(db_path, corpus, args.docs, args.seed, log=say)
        store.close()
    docs = document_count(db_path)

    sizes = (args.warmup, args.solo, args.requests, args.requests, args.burst)
    queries = unique_queries(corpus, library_titles(db_path), sum(sizes), args.seed)
    cuts = [0, *itertools.accumulate(sizes)]
    warmup, solo, load, quiet, burst = (queries[a:b] for a, b in itertools.pairwise(cuts))
    plan = Plan(warmup=warmup, solo=solo, load=load, quiet=quiet, burst=burst, users=args.users)
    for draft in generate_drafts(corpus, args.imports, args.seed + IMPORT_SEED_OFFSET):
        plan.uploads[f"bench-{draft.index}"] = (f"导入{draft.name}", draft.data)
    files = FileServer({file_id: data for file_id, (_, data) in plan.uploads.items()})
    say(
        f"library: {docs} documents; {args.requests} searches from {args.users} users in {len(GROUPS)} groups"
        f" while {args.imports} documents are uploaded; load average {os.getloadavg()[0]:.2f}"
    )

    runs: dict[str, dict] = {}
    try:
        for name in ("echo_before", "bot", "echo_after"):
            if name == "bot":
                server = start_server("bot", BOT_SCRIPT, scratch, bot_settings(db_path, 0))
                result = await measure(server, plan, args, files=files)
                result.update(server.memory_mib())  # at the end: after the load, the import and the quiet load
                server.stop()
                result["log"] = log_problems(server.log())
            else:
                # The echo gets the upload notices too (the framework parses them), and ignores them.
                server = start_server(name, ECHO_SCRIPT, scratch, {})
                result = await measure(server, plan, args, files=None)
                server.stop()
                result["log"] = log_problems(server.log())
            runs[name] = result
            say(summary_line(name, result))
            if name == "bot":
                imported, quiet = result["import"], result["without_import"]
                say(
                    f"           longest silence {result['longest_silence_ms']} ms; import: {imported['replies']}/"
                    f"{imported['files']} replies {imported['statuses']} in {imported['seconds']} s"
                    f" ({imported['docs_per_s']} docs/s; the searches took {imported['searches_seconds']} s)"
                )
                say(
                    f"           without an import: {quiet['answered']}/{quiet['requests']} answered,"
                    f" {quiet['rps']} req/s, p50 {quiet['p50_ms']} ms, p99 {quiet['p99_ms']} ms,"
                    f" longest silence {quiet['longest_silence_ms']} ms"
                )
                say(
                    f"           memory {result['memory_mib']} MiB, at the end {result['rss_mib']} MiB"
                    f" (peak {result['peak_rss_mib']}), import worker {result['children_rss_mib']} MiB"
                    f" (peak {result['children_peak_rss_mib']}); log: {result['log']['error_lines']} errors,"
                    f" {result['log']['database_locked']} 'database is locked'"
                )

        # Pacing on: the bot again on the same library, with a short interval, and a burst in one group.
        server = start_server("bot_paced", BOT_SCRIPT, scratch, bot_settings(db_path, args.pace_interval))
        timeout = len(plan.burst) * (args.pace_interval + 1.0) + 60
        pacing = await paced_burst(server, plan, args.pace_interval, timeout)
        server.stop()
        pacing["log"] = log_problems(server.log())
        say(
            f"pacing    {pacing['answered']}/{pacing['requests']} answered in {pacing['seconds']} s at"
            f" {pacing['interval_s']} s: {pacing['sends']} sends, smallest gap {pacing['min_gap_ms']} ms,"
            f" {pacing['gaps_under_interval']} under the interval"
        )
    finally:
        files.close()

    bot = runs["bot"]
    ceiling = max((runs["echo_before"], runs["echo_after"]), key=lambda result: result["rps"] or 0)
    bot_log = bot["log"]
    return {
        "docs": docs,
        "requests": args.requests,
        "users": args.users,
        "groups": len(GROUPS),
        "imports": args.imports,
        "rps": bot["rps"],
        "p50_ms": bot["p50_ms"],
        "p99_ms": bot["p99_ms"],
        "ceiling_rps": ceiling["rps"],
        "ceiling_p50_ms": ceiling["p50_ms"],
        "ceiling_p99_ms": ceiling["p99_ms"],
        "rps_ratio": ratio(bot["rps"], ceiling["rps"]),
        "p50_ratio": ratio(bot["p50_ms"], ceiling["p50_ms"]),
        "p99_ratio": ratio(bot["p99_ms"], ceiling["p99_ms"]),
        "solo_p50_ratio": ratio(bot["solo"]["p50_ms"], ceiling["solo"]["p50_ms"]),
        "half_ceiling": bool(bot["rps"] and ceiling["rps"] and bot["rps"] >= 0.5 * ceiling["rps"]),
        "rps_without_import": bot["without_import"]["rps"],
        "rps_ratio_without_import": ratio(bot["without_import"]["rps"], ceiling["rps"]),
        "lost": bot["lost"] + bot["without_import"]["lost"],
        "duplicate_replies": bot["duplicate_replies"] + bot["without_import"]["duplicate_replies"],
        "unmatched_frames": bot["unmatched_frames"],
        "errors": bot_log["error_lines"] + pacing["log"]["error_lines"],
        "database_locked": bot_log["database_locked"] + pacing["log"]["database_locked"],
        "rss_mib": bot["rss_mib"],
        "peak_rss_mib": bot["peak_rss_mib"],
        "worker_rss_mib": bot["children_rss_mib"],
        "worker_peak_rss_mib": bot["children_peak_rss_mib"],
        "import": bot["import"],
        "pacing": pacing,
        "bot": bot,
        "echo_before": runs["echo_before"],
        "echo_after": runs["echo_after"],
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "cpus": os.cpu_count(),
        "wenku": WENKU_FINGERPRINT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, help="a kept library (bench/out/lib50k.db); copied first, never changed")
    parser.add_argument("--docs", type=int, default=300, help="without --db: build a library of this many documents")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed of the library, queries and uploads")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of the source *.jsonl files")
    parser.add_argument("--requests", type=int, default=2000, help="searches of the load (default %(default)s)")
    parser.add_argument("--users", type=int, default=200, help="users sending them, spread over 5 groups")
    parser.add_argument("--imports", type=int, default=500, help="documents the admin uploads during the load")
    parser.add_argument("--warmup", type=int, default=100, help="untimed searches before measuring")
    parser.add_argument("--solo", type=int, default=50, help="searches timed one at a time before the load")
    parser.add_argument("--burst", type=int, default=200, help="searches of the paced burst in one group")
    parser.add_argument("--pace-interval", type=float, default=0.1, help="WENKU_SEND_INTERVAL of the paced burst")
    parser.add_argument("--reply-timeout", type=float, default=60.0, help="seconds after which a reply counts as lost")
    parser.add_argument("--import-timeout", type=float, default=900.0, help="seconds to wait for every upload's reply")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (database copy, logs)")
    args = parser.parse_args()
    if args.users < len(GROUPS) or args.requests < args.users or min(args.burst, args.solo, args.warmup) < 1:
        fail("--users must be at least 5, --requests at least --users, --burst/--solo/--warmup at least 1")

    scratch = Path(tempfile.mkdtemp(prefix="wenku-e2e-"))
    try:
        result = asyncio.run(run(args, scratch))
    finally:
        if args.keep:
            say(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    say(
        f"bot/ceiling: throughput {result['rps_ratio']}, p50 {result['p50_ratio']}x, p99 {result['p99_ratio']}x;"
        f" {'at least' if result['half_ceiling'] else 'below'} half the ceiling"
    )
    print(json.dumps(result, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
