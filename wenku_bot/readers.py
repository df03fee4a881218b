"""Library reads (searches, result pages) off the event loop.

SQLite lets go of the GIL while it runs a query, so an FTS5 search in a worker
thread runs on another core while the event loop goes on with other messages
and their replies. Each worker thread opens its own connection to the database
file (a connection is not for two threads at once); WAL mode lets them read
while the bot's main connection writes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from wenku.store import Store

__all__ = ["Readers", "READ_WORKERS"]

Result = TypeVar("Result")

#: One reader per core of the machine the bot is sized for (2), leaving the event loop its share.
READ_WORKERS = 2


class Readers:
    """Runs ``function(store, *args)`` for the plugins, on a reading connection.

    :meth:`pool` reads a database file in worker threads; :meth:`inline` runs
    on a given store in the caller's thread (an in-memory library in tests,
    which no second connection could open).
    """

    def __init__(self, store: Store | None, database: Path | None, workers: int):
        self._inline_store = store
        self._database = database
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()
        self._executor = (
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wenku-read") if database is not None else None
        )

    @classmethod
    def pool(cls, database: Path, workers: int = READ_WORKERS) -> "Readers":
        return cls(None, database, workers)

    @classmethod
    def inline(cls, store: Store) -> "Readers":
        return cls(store, None, 0)

    async def run(self, function: Callable[..., Result], *args) -> Result:
        if self._executor is None:
            return function(self._inline_store, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._call, function, args)

    def _call(self, function: Callable[..., Result], args: tuple) -> Result:
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store.open(self._database)
            # A reader never writes: a bug that tried would fail here, not change the library.
            store.db.execute("PRAGMA query_only = ON")
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return function(store, *args)

    def close(self) -> None:
        """Wait for the reads under way, then close every worker's connection."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        with self._lock:
            for store in self._opened:
                store.close()
            self._opened.clear()
