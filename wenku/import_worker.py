"""Imports in a process of their own: ``python -m wenku.import_worker``.

Why a process and not a thread of the bot: reading, cleaning and indexing a
file is Python work that holds the GIL, so 500 files dropped into a group
slowed every search while they were imported (bench/e2e.py); in a process of
its own the import runs on the other core. It also keeps a hostile file away
from the bot: the worker's address space is limited, a file that exhausts it
fails alone, and a file that takes too long is killed with its worker.

The worker imports one file at a time through its own connection, each file
in one transaction (as ``wenku import`` does); the bot's connection and the
search readers see each document once it is committed. The two processes
speak over the worker's stdin and stdout: a 4-byte length, then a pickle
(both ends are this module, started by the bot itself). A request is
(name, bytes, time); a reply is (outcome, whether the worker goes on). The worker dies with
the bot (``PR_SET_PDEATHSIG``) and ends when its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import pickle
import signal
import struct
import sys
import traceback
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from . import texts
from .importer import ImportOutcome, ImportRules, import_document
from .store import Store

__all__ = ["ImportWorker", "ThreadImports", "IMPORT_TIMEOUT", "WORKER_MEMORY_LIMIT"]

#: Seconds one file may take before its worker is killed (a 20 MB .docx takes a few).
IMPORT_TIMEOUT = 300.0
#: Seconds the bot waits at shutdown for the file in hand before it kills the worker.
CLOSE_WAIT = 10.0
#: The worker's address space: far more than a 20 MB file needs, far less than the machine has.
WORKER_MEMORY_LIMIT = 3 * 1024**3

_LENGTH = struct.Struct(">I")


def _write_frame(stream: BinaryIO, value: object) -> None:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(payload)) + payload)
    stream.flush()


def _read_frame(stream: BinaryIO) -> object | None:
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    payload = stream.read(length)
    if len(payload) < length:
        return None
    return pickle.loads(payload)


class ImportWorker:
    """The bot's side: starts the worker on first use, sends it one file at a time.

    A worker that died (killed, out of memory) or timed out gives that file a
    failed outcome with the reason, and the next file starts a new worker.
    """

    def __init__(
        self,
        database: Path,
        rules: ImportRules,
        *,
        timeout: float = IMPORT_TIMEOUT,
        memory_limit: int | None = WORKER_MEMORY_LIMIT,
        command: tuple[str, ...] = (sys.executable, "-m", "wenku.import_worker"),
    ):
        self.database = database
        self.command = command
        self.rules = rules
        self.timeout = timeout
        self.memory_limit = memory_limit
        self._process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before the first import or after a failure)."""
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def run(self, name: str, data: bytes, now: datetime) -> ImportOutcome:
        """Import one file as ``import_document`` does; never raises for what the file does."""
        async with self._lock:  # one file at a time: each takes the database's write lock anyway
            try:
                process = await self._running()
                request = pickle.dumps((name, data, now), protocol=pickle.HIGHEST_PROTOCOL)
                process.stdin.write(_LENGTH.pack(len(request)) + request)
                async with asyncio.timeout(self.timeout):
                    await process.stdin.drain()
                    (length,) = _LENGTH.unpack(await process.stdout.readexactly(_LENGTH.size))
                    outcome, worker_goes_on = pickle.loads(await process.stdout.readexactly(length))
            except TimeoutError:
                await self._kill()
                return ImportOutcome(name=name, status="failed", reason=texts.import_took_too_long(self.timeout))
            except (asyncio.IncompleteReadError, OSError):  # it died, or could not even start
                await self._kill()
                return ImportOutcome(name=name, status="failed", reason=texts.import_worker_died())
            except asyncio.CancelledError:
                # Half a request or reply may be in the pipe: this worker can't be spoken to again.
                self._abandon()
                raise
            if not worker_goes_on:
                await self._kill()  # it ends itself; waited for, so the next file surely gets a new one
            return outcome

    async def _running(self) -> asyncio.subprocess.Process:
        if self._process is None or self._process.returncode is not None:
            self._process = await asyncio.create_subprocess_exec(
                *self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=2**20,
            )
            setup = pickle.dumps((str(self.database), self.rules, self.memory_limit), protocol=pickle.HIGHEST_PROTOCOL)
            self._process.stdin.write(_LENGTH.pack(len(setup)) + setup)
        return self._process

    def _abandon(self) -> asyncio.subprocess.Process | None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        return process

    async def _kill(self) -> None:
        process = self._abandon()
        if process is not None:
            await process.wait()

    async def close(self, wait: float = CLOSE_WAIT) -> None:
        """End the worker: its stdin closes, and it is killed if it is still busy after ``wait`` seconds.

        Not behind the lock: at shutdown nobody waits out a long file. A file
        cut short is rolled back whole and gets a failed outcome.
        """
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.stdin.close()
        try:
            async with asyncio.timeout(wait):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class ThreadImports:
    """Imports in a worker thread of the calling process, each through a connection of its own.

    What the bot did before it had a worker process; the plugin tests use it,
    since a process per test would cost far more than the tests themselves.
    """

    def __init__(self, database: Path, rules: ImportRules):
        self.database = database
        self.rules = rules

    async def run(self, name: str, data: bytes, now: datetime) -> ImportOutcome:
        return await asyncio.to_thread(self._import, name, data, now)

    def _import(self, name: str, data: bytes, now: datetime) -> ImportOutcome:
        store = Store.open(self.database)
        try:
            return import_document(store, name, data, now=now, rules=self.rules)
        finally:
            store.close()

    async def close(self) -> None:
        return None


def _die_with_parent() -> None:
    # Linux: SIGKILL when the bot dies, even by SIGKILL. The file being imported is
    # one transaction, so it is rolled back and the file can be sent again.
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _limit_memory(limit: int | None) -> None:
    if limit is None:
        return
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> int:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in the bot's terminal: the bot ends the worker itself
    # Nothing but replies on the pipe, whatever Python or a C library prints: the replies get
    # a descriptor of their own, and descriptor 1 (print, C's stdout) becomes the bot's stderr.
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    setup = _read_frame(requests)
    if setup is None:
        return 0
    database, rules, memory_limit = setup
    store = Store.open(database)
    _limit_memory(memory_limit)
    try:
        while (request := _read_frame(requests)) is not None:
            name, data, now = request
            try:
                outcome = import_document(store, name, data, now=now, rules=rules)
            except MemoryError:
                # Reply, then end: after running out of memory nothing here is trusted; the next file gets a new worker.
                outcome = ImportOutcome(name=name, status="failed", reason=texts.import_needs_too_much_memory())
                _write_frame(replies, (outcome, False))
                return 1
            except Exception as error:  # noqa: BLE001 - a bug in one file's import must not end the others'
                traceback.print_exc()  # into the bot's log, which the worker's stderr is
                outcome = ImportOutcome(name=name, status="failed", reason=texts.import_crashed(type(error).__name__))
            _write_frame(replies, (outcome, True))
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
