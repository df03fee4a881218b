"""The import worker: a real ``python -m wenku.import_worker`` process, as the bot starts it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from wenku import texts
from wenku.import_worker import ImportWorker, ThreadImports
from wenku.importer import ImportRules, import_document
from wenku.store import Store

from .conftest import NOW
from .fixtures import RURAL_BODY, RURAL_TITLE, UNION_BODY, UNION_TITLE, distributed

UNION = distributed(UNION_TITLE, UNION_BODY).encode()
RURAL = distributed(RURAL_TITLE, RURAL_BODY).encode()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "wenku.db"
    Store.open(path).close()  # created and migrated, as the bot does before it starts a worker
    return path


@pytest.fixture
async def worker(database):
    worker = ImportWorker(database, ImportRules())
    yield worker
    await worker.close()


def _rows(database) -> list[tuple]:
    store = Store.open(database)
    try:
        return [(row["id"], row["title"], row["source"]) for row in store.db.query("SELECT id, title, source FROM documents ORDER BY id")]
    finally:
        store.close()


async def test_the_worker_imports_in_a_process_of_its_own(worker, database):
    outcome = await worker.run("union.txt", UNION, NOW)
    # The same outcome an import in this process gives, field for field.
    expected = import_document(Store.memory(), "union.txt", UNION, now=NOW)
    assert outcome == expected
    assert worker.pid not in (None, os.getpid())
    assert _rows(database) == [(1, UNION_TITLE, "union.txt")]
    duplicate = await worker.run("copy.txt", UNION, NOW)
    assert (duplicate.status, duplicate.reason) == ("duplicate", texts.same_as_existing(False))
    assert _rows(database) == [(1, UNION_TITLE, "union.txt")]


async def test_one_worker_serves_every_file(worker):
    await worker.run("union.txt", UNION, NOW)
    first = worker.pid
    await worker.run("rural.txt", RURAL, NOW)
    assert worker.pid == first


async def test_a_killed_worker_costs_nothing_and_the_next_file_gets_a_new_one(worker, database):
    await worker.run("union.txt", UNION, NOW)
    killed = worker.pid
    os.kill(killed, signal.SIGKILL)
    outcome = await worker.run("rural.txt", RURAL, NOW)
    # The dead worker is noticed when this file is sent to it: this file fails with the reason...
    if outcome.status == "failed":
        assert outcome.reason == texts.import_worker_died()
        outcome = await worker.run("rural.txt", RURAL, NOW)
    # ...and it, sent again, goes through a new worker.
    assert outcome.status == "imported"
    assert worker.pid not in (None, killed)
    assert _rows(database) == [(1, UNION_TITLE, "union.txt"), (2, RURAL_TITLE, "rural.txt")]


async def test_a_file_that_takes_too_long_is_stopped_and_leaves_nothing(worker, database):
    worker.timeout = 0.001  # not even the worker's start fits
    outcome = await worker.run("union.txt", UNION, NOW)
    assert (outcome.status, outcome.reason) == ("failed", texts.import_took_too_long(0.001))
    assert worker.pid is None  # killed with its file
    assert _rows(database) == []
    worker.timeout = 60
    assert (await worker.run("union.txt", UNION, NOW)).status == "imported"


async def test_a_file_that_needs_too_much_memory_fails_alone(database):
    # 8 MB of text need about 400 MB to index (a worker starts in under 50 MB): held to 192 MB,
    # the worker runs out, as a hostile file would against the real limit.
    worker = ImportWorker(database, ImportRules(), memory_limit=192 * 1024**2)
    try:
        huge = ("在全市工会工作会议上的讲话\n" + "各级工会组织认真落实职工维权机制，帮助职工追回欠薪。\n" * 100_000).encode()
        outcome = await worker.run("huge.txt", huge, NOW)
        assert (outcome.status, outcome.reason) == ("failed", texts.import_needs_too_much_memory())
        assert worker.pid is None  # it ended itself after replying
        assert _rows(database) == []
        worker.memory_limit = None
        assert (await worker.run("union.txt", UNION, NOW)).status == "imported"
    finally:
        await worker.close()


async def test_a_worker_that_cannot_start_fails_the_file_with_a_reason(database, tmp_path):
    worker = ImportWorker(database, ImportRules(), command=(str(tmp_path / "no-such-python"), "-m", "wenku.import_worker"))
    outcome = await worker.run("union.txt", UNION, NOW)
    assert (outcome.status, outcome.reason) == ("failed", texts.import_worker_died())
    assert _rows(database) == []
    await worker.close()


#: A worker whose import prints to stdout, from Python and at the descriptor as C code would.
NOISY_WORKER = """
import os, sys
import wenku.import_worker as worker
real_import = worker.import_document
def noisy_import(*args, **kwargs):
    print("noise from Python", flush=True)
    os.write(1, b"noise from C")
    return real_import(*args, **kwargs)
worker.import_document = noisy_import
sys.exit(worker.main())
"""


async def test_what_an_import_prints_never_reaches_the_replies(database):
    # Noise in the pipe would make a reply unreadable: the wait would end only at the timeout.
    worker = ImportWorker(database, ImportRules(), timeout=30, command=(sys.executable, "-c", NOISY_WORKER))
    try:
        assert (await worker.run("union.txt", UNION, NOW)).status == "imported"
        assert (await worker.run("rural.txt", RURAL, NOW)).status == "imported"
    finally:
        await worker.close()
    assert _rows(database) == [(1, UNION_TITLE, "union.txt"), (2, RURAL_TITLE, "rural.txt")]


async def test_close_ends_the_worker(worker):
    await worker.run("union.txt", UNION, NOW)
    pid = worker.pid
    await worker.close()
    assert worker.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_close_does_not_wait_out_a_long_file(worker, database):
    await worker.run("union.txt", UNION, NOW)
    pid = worker.pid
    long_file = ("在全市工会工作会议上的讲话\n" + "各级工会组织认真落实职工维权机制，帮助职工追回欠薪。\n" * 100_000).encode()
    in_hand = asyncio.create_task(worker.run("long.txt", long_file, NOW))
    await asyncio.sleep(0.3)  # the worker has it (it takes seconds)
    await worker.close(wait=0.1)
    outcome = await in_hand
    assert (outcome.status, outcome.reason) == ("failed", texts.import_worker_died())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _rows(database) == [(1, UNION_TITLE, "union.txt")]  # the long file rolled back whole


async def test_thread_imports_give_the_same_outcomes(database):
    imports = ThreadImports(database, ImportRules())
    outcome = await imports.run("union.txt", UNION, NOW)
    assert outcome == import_document(Store.memory(), "union.txt", UNION, now=NOW)
    assert _rows(database) == [(1, UNION_TITLE, "union.txt")]
    await imports.close()
