"""Start the real ``bot.py`` in a subprocess on a free loopback port.

Every bot gets its own settings file (``WENKU_ENV_FILE``) and database in a
temporary folder. The settings are written into that file rather than the
process environment: NoneBot lets the environment override a custom setting
(ONEBOT_*, WENKU_*) only when the settings file names it, so a file is what a
real deployment uses too. Inherited NoneBot/OneBot/文库 variables are removed
from the child's environment so the developer's shell cannot leak into a test.

Fixtures:

* ``start_bot(**overrides)``: a factory; each call starts one bot (killed at
  the end of the test). ``KEY=None`` drops a setting from the file.
* ``library_bot``: one bot per test module with the default settings.
* ``onebot``: a :class:`FakeOneBot` connected to ``library_bot`` (one
  connection per module), reset before each test.

When a test fails, the log of every bot that ran during it is attached to the report.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from websockets.exceptions import InvalidStatus

from .onebot import FakeOneBot, assert_text_only

REPO_ROOT = Path(__file__).resolve().parents[2]
BOT_SCRIPT = REPO_ROOT / "bot.py"

SELF_ID = 2000
SUPERUSER = 10001
FREE_GROUP = 20001
MEMBER_GROUP = 20002
UNCONFIGURED_GROUP = 29999
CONTACT = "咨询QQ10000"

STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0

#: Settings NoneBot reads from the process environment even without a settings file entry.
_NONEBOT_KEYS = {
    "driver", "host", "port", "log_level", "api_timeout", "superusers", "nickname",
    "command_start", "command_sep", "session_expire_timeout", "environment",
}  # fmt: skip
_PREFIXES = ("onebot_", "wenku_", "fastapi_", "uvicorn_")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def clean_environment(**extra: str) -> dict[str, str]:
    """The test runner's environment without anything NoneBot or the bot would read, plus ``extra``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key.lower() not in _NONEBOT_KEYS and not key.lower().startswith(_PREFIXES)
    }
    env.update(PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8", NO_COLOR="1")
    env.update(extra)
    return env


def default_settings(folder: Path, port: int) -> dict[str, str]:
    return {
        "DRIVER": "~fastapi",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "DEBUG",
        "ONEBOT_ACCESS_TOKEN": secrets.token_urlsafe(24),
        "ONEBOT_SECRET": secrets.token_urlsafe(24),
        "SUPERUSERS": f'["{SUPERUSER}"]',
        "WENKU_DB": str(folder / "wenku.db"),
        "WENKU_FREE_GROUPS": f"[{FREE_GROUP}]",
        "WENKU_MEMBER_GROUPS": f"[{MEMBER_GROUP}]",
        "WENKU_CONTACT": CONTACT,
        "WENKU_SEND_INTERVAL": "0",
        "WENKU_RECONNECT_WAIT": "10",
        "WENKU_WATERMARK_SECRET": secrets.token_urlsafe(24),
    }


def write_env_file(path: Path, settings: dict[str, str]) -> None:
    path.write_text("".join(f"{key}={value}\n" for key, value in settings.items()), encoding="utf-8")


@dataclass
class BotProcess:
    """A running (or finished) ``bot.py`` and how to reach it."""

    folder: Path
    port: int
    settings: dict[str, str]
    env_file: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    started_at: float = field(default_factory=time.time)
    stopped_at: float | None = None

    @property
    def access_token(self) -> str:
        return self.settings.get("ONEBOT_ACCESS_TOKEN", "")

    @property
    def secret(self) -> str:
        return self.settings.get("ONEBOT_SECRET", "")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/onebot/v11/ws"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/onebot/v11/"

    @property
    def db_path(self) -> Path:
        return Path(self.settings["WENKU_DB"])

    def file_settings(self) -> dict[str, str | None]:
        """The settings file as the bot sees it (after a first start, the one it wrote)."""
        return dict(dotenv_values(self.env_file, encoding="utf-8"))

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def onebot(self, self_id: int = SELF_ID, **options: Any) -> FakeOneBot:
        """An unconnected fake OneBot for this bot; the right token unless ``access_token=`` is given."""
        options.setdefault("access_token", self.access_token)
        return FakeOneBot(self.ws_url, self_id=self_id, **options)

    async def connect_again(self, timeout: float = 10.0, self_id: int = SELF_ID) -> FakeOneBot:
        """A new connection with the same X-Self-ID, once the bot has let the old one go."""
        deadline = time.monotonic() + timeout
        while True:
            onebot = self.onebot(self_id)
            try:
                await onebot.connect()
                return onebot
            except InvalidStatus:  # "Duplicate X-Self-ID": the bot has not noticed the drop yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    def accepts_connections(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.settimeout(0.2)
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def wait_until_listening(self, timeout: float = STARTUP_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BotDied(self, f"bot.py exited with code {self.process.returncode} before listening")
            if self.accepts_connections():
                return
            time.sleep(0.05)
        raise BotDied(self, f"bot.py did not listen on port {self.port} within {timeout}s")

    def wait_for_exit(self, timeout: float = STARTUP_TIMEOUT) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            raise BotDied(self, f"bot.py still running after {timeout}s") from None

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while needle not in (log := self.log()):
            if time.monotonic() > deadline:
                raise BotDied(self, f"{needle!r} not in the log after {timeout}s")
            time.sleep(0.05)
        return log

    def stop(self) -> None:
        """SIGTERM (graceful shutdown), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        if self.stopped_at is None:
            self.stopped_at = time.time()


class BotDied(AssertionError):
    def __init__(self, bot: BotProcess, message: str):
        super().__init__(f"{message}\n----- bot.py log ({bot.log_path}) -----\n{bot.log()[-8000:]}")


#: Every bot started in this session, to attach their logs to failing tests.
_launched: list[BotProcess] = []


def launch(
    folder: Path,
    overrides: dict[str, str | None] | None = None,
    *,
    env_file: Path | None = None,
    write_settings: bool = True,
    process_env: dict[str, str] | None = None,
    wait: bool = True,
) -> BotProcess:
    """Start ``bot.py``; with ``wait`` return once its port accepts connections.

    ``write_settings=False`` leaves the settings file alone (the first-run test
    points ``WENKU_ENV_FILE`` at a file that does not exist yet).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):  # another process may grab the free port before the bot binds it
        port = free_port()
        settings = default_settings(folder, port)
        for key, value in (overrides or {}).items():
            if value is None:
                settings.pop(key, None)
            else:
                settings[key] = value
        env_path = env_file or folder / "bot.env"
        child_env = dict(process_env or {})
        if write_settings:
            write_env_file(env_path, settings)
        else:
            # No file of ours: the address and database come from the environment,
            # which wins over the template the bot writes (it names these keys).
            settings = {key: settings[key] for key in ("HOST", "PORT", "WENKU_DB")}
            child_env = {**settings, **child_env}
        log_path = folder / f"bot-{port}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, str(BOT_SCRIPT)],
                cwd=REPO_ROOT,
                env=clean_environment(WENKU_ENV_FILE=str(env_path), **child_env),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        bot = BotProcess(folder, port, settings, env_path, log_path, process)
        _launched.append(bot)
        if not wait:
            return bot
        try:
            bot.wait_until_listening()
            return bot
        except BotDied:
            bot.stop()
            if attempt < 2 and "address already in use" in bot.log().lower():
                continue
            raise
    raise AssertionError("unreachable")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    for bot in _launched:
        ran_during = bot.started_at <= call.stop and (bot.stopped_at is None or bot.stopped_at >= call.start)
        if ran_during:
            lines = bot.log().splitlines()[-150:]
            report.sections.append((f"bot.py log, port {bot.port} (last {len(lines)} lines)", "\n".join(lines)))


@pytest.fixture
def start_bot(tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Factory: ``start_bot(WENKU_SEND_INTERVAL="1")`` starts a bot with those settings changed."""
    started: list[BotProcess] = []

    def start(folder_name: str | None = None, **overrides: str | None) -> BotProcess:
        folder = tmp_path / (folder_name or f"bot{len(started)}")
        bot = launch(folder, overrides)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture
def launch_bot(tmp_path: Path) -> Iterator[Callable[..., BotProcess]]:
    """Like :func:`launch` (all options), stopped at the end of the test."""
    started: list[BotProcess] = []

    def start(folder: Path | None = None, overrides: dict[str, str | None] | None = None, **options) -> BotProcess:
        bot = launch(folder or tmp_path / f"bot{len(started)}", overrides, **options)
        started.append(bot)
        return bot

    yield start
    for bot in started:
        bot.stop()


@pytest.fixture(scope="module")
def library_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """One bot with the default settings, shared by a module's tests."""
    bot = launch(tmp_path_factory.mktemp("library_bot"))
    yield bot
    bot.stop()


@pytest.fixture(scope="module")
async def _module_onebot(library_bot: BotProcess) -> AsyncIterator[FakeOneBot]:
    async with library_bot.onebot() as onebot:
        yield onebot


@pytest.fixture
async def onebot(_module_onebot: FakeOneBot, library_bot: BotProcess) -> AsyncIterator[FakeOneBot]:
    """The module's connected fake OneBot, with no overrides and the cursor after earlier calls."""
    if not _module_onebot.connected:
        raise BotDied(library_bot, "the module's OneBot connection was lost")
    _module_onebot.reset()
    start = _module_onebot.mark()
    yield _module_onebot
    _module_onebot.reset()
    # Whatever the test checked, nothing the bot sent may ever be anything but text.
    assert_text_only(_module_onebot.calls[start:])
