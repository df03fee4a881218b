"""What the plugins share at run time: settings, the store, the outbox, search sessions.

Everything is built in the driver's startup hook, never at import, so paths
are resolved against the directory the bot runs in when it starts.
"""

from __future__ import annotations

import asyncio
import gc
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from nonebot import get_driver, get_plugin_config
from nonebot.log import logger

from wenku import members
from wenku.import_worker import ImportWorker, ThreadImports
from wenku.importer import ImportRules, import_document
from wenku.search import SearchSessions
from wenku.store import Store

from .config import Config
from .outbox import Outbox
from .readers import Readers

__all__ = ["Runtime", "get_runtime", "now"]


def now() -> datetime:
    """The bot's clock; the core never reads the time itself."""
    return datetime.now(timezone.utc)


@dataclass
class Runtime:
    config: Config
    store: Store
    outbox: Outbox
    sessions: SearchSessions
    rules: ImportRules
    superusers: frozenset[str]
    #: Where searches run; by default on ``store`` itself, in the caller's thread.
    readers: Readers | None = None
    #: Where files sent in chat are imported; by default in a thread, through a connection of its own.
    imports: ImportWorker | ThreadImports | None = None
    #: Running announcement tasks; kept so they are not garbage-collected mid-send.
    background: set = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.readers is None:
            self.readers = Readers.inline(self.store)
        if self.imports is None:
            self.imports = ThreadImports(self.database_path, self.rules)

    def spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self.background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.opt(exception=task.exception()).error("background task failed")

    @property
    def admins(self) -> frozenset[str]:
        return self.superusers | {str(admin) for admin in self.config.wenku_admins}

    def is_admin(self, user_id: int | str) -> bool:
        return str(user_id) in self.admins

    def role_of(self, user_id: int | str) -> str:
        """admin, blacklisted, member or visitor, as of now."""
        return members.role_of(self.store, str(user_id), now(), self.admins)

    @property
    def database_path(self) -> Path:
        return Path(self.config.wenku_db).expanduser().resolve()

    @property
    def data_dir(self) -> Path:
        """Where evidence and backups go: beside the database (data/ by default)."""
        return self.database_path.parent

    def chat_kind(self, group_id: int | None) -> str | None:
        """'private', 'member', 'free', or None for a group the bot must ignore."""
        if group_id is None:
            return "private"
        if group_id in self.config.wenku_member_groups:
            return "member"
        if group_id in self.config.wenku_free_groups:
            return "free"
        return None


_runtime: Runtime | None = None


def get_runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("wenku runtime used before the bot started")
    return _runtime


def load_demo_library(store: Store, rules: ImportRules) -> int:
    """Import the demo documents once, into an empty library, so a first search answers."""
    if store.get_meta("demo_loaded") or store.document_count():
        return 0
    imported = 0
    for entry in sorted(resources.files("wenku").joinpath("demo").iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".txt"):
            outcome = import_document(store, entry.name, entry.read_bytes(), now=now(), rules=rules)
            imported += outcome.imported
    store.set_meta("demo_loaded", now().isoformat())
    return imported


def start() -> Runtime:
    global _runtime
    config = get_plugin_config(Config)
    database = Path(config.wenku_db).expanduser().resolve()
    store = Store.open(database)
    rules = ImportRules.from_settings(config.wenku_boilerplate, config.wenku_category_rules)
    if config.wenku_demo:
        count = load_demo_library(store, rules)
        if count:
            logger.info(f"loaded {count} demo documents into an empty library")
    _runtime = Runtime(
        config=config,
        store=store,
        outbox=Outbox(config.wenku_send_interval, reconnect_wait=config.wenku_reconnect_wait),
        sessions=SearchSessions(),
        rules=rules,
        superusers=frozenset(get_driver().config.superusers),
        readers=Readers.pool(database),
        imports=ImportWorker(database, rules),
    )
    logger.info(f"wenku library at {database}: {store.document_count()} documents")
    _settle_garbage_collector()
    return _runtime


def _settle_garbage_collector() -> None:
    """Keep the collector off what lives as long as the bot, and let it run less often.

    Everything loaded by now (NoneBot, the plugins, the OpenCC table) lives until
    exit, yet every full collection walked it again: under load that was a large
    share of each search's CPU time (bench/e2e.py). Frozen objects are skipped;
    a larger first threshold trades a little memory for far fewer collections.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def stop() -> None:
    global _runtime
    if _runtime is not None:
        await _runtime.imports.close()
        _runtime.readers.close()
        _runtime.store.close()
        _runtime = None


driver = get_driver()
driver.on_startup(start)
driver.on_shutdown(stop)
