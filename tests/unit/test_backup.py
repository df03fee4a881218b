"""Backups: a consistent copy that opens, retention, names, restoring, and a backup taken during an import."""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
import threading
from datetime import timedelta

import pytest

from wenku import members, reports
from wenku.backup import backups, make_backup
from wenku.durations import parse_duration
from wenku.importer import ImportRules, import_document
from wenku.store import Store
from wenku.textnorm import term_match_expression

from .conftest import NOW
from .fixtures import RURAL_BODY, RURAL_TITLE, SAFETY_BODY, SAFETY_TITLE, UNION_BODY, UNION_TITLE, distributed

#: NOW is 10:00 in Asia/Shanghai: backups are named by local time.
STAMP = "20261124-100000"


def fill(store: Store) -> None:
    for name, title, body in [
        ("union.txt", UNION_TITLE, UNION_BODY),
        ("rural.txt", RURAL_TITLE, RURAL_BODY),
        ("safety.txt", SAFETY_TITLE, SAFETY_BODY),
    ]:
        assert import_document(store, name, distributed(title, body).encode(), now=NOW).status == "imported"
    members.extend(store, "30002", parse_duration("1月"), now=NOW, actor="10001")
    reports.file_report(store, reporter="30001", reported="30002", text="倒卖", group_id=None, now=NOW, admins={"10001"})


@pytest.fixture
def live(tmp_path):
    """The bot's database: a file in WAL mode, as data/wenku.db is."""
    store = Store.open(tmp_path / "data" / "wenku.db")
    fill(store)
    yield store
    store.close()


def snapshot(store: Store) -> dict[str, list[dict]]:
    """Everything a restore must bring back, table by table."""
    tables = ["documents", "members", "member_events", "reports", "audit", "blacklist", "sketches", "meta"]
    return {table: list(store.db[table].rows) for table in tables}


def integrity(store: Store) -> str:
    return store.db.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_backup_opens_and_holds_everything(live, tmp_path):
    folder = tmp_path / "data" / "backups"
    path = make_backup(live, folder, now=NOW)
    assert path == folder / f"wenku-{STAMP}.db"
    copy = Store.open(path)
    try:
        assert integrity(copy) == "ok"
        assert copy.document_count() == 3
        assert list(copy.iter_documents()) == list(live.iter_documents())
        assert snapshot(copy) == snapshot(live)
        # The copy is searchable: the index came along.
        assert sorted(copy.matching_ids(term_match_expression("工会"))) == [1, 3]
    finally:
        copy.close()


def test_a_backup_of_a_database_in_memory(tmp_path):
    store = Store.memory()
    fill(store)
    path = make_backup(store, tmp_path, now=NOW)
    copy = Store.open(path)
    assert snapshot(copy) == snapshot(store)
    copy.close()


def test_retention_keeps_the_newest(live, tmp_path):
    folder = tmp_path / "backups"
    made = [make_backup(live, folder, now=NOW + timedelta(hours=hour), keep=3) for hour in range(5)]
    assert [path.name for path in backups(folder)] == [
        "wenku-20261124-120000.db",
        "wenku-20261124-130000.db",
        "wenku-20261124-140000.db",
    ]
    assert backups(folder) == made[2:]
    # Keep at least the one just made, whatever keep says.
    only = make_backup(live, folder, now=NOW + timedelta(days=1), keep=0)
    assert backups(folder) == [only]


def test_two_backups_in_one_second_get_distinct_names(live, tmp_path):
    folder = tmp_path / "backups"
    first = make_backup(live, folder, now=NOW)
    second = make_backup(live, folder, now=NOW + timedelta(milliseconds=300))
    assert (first.name, second.name) == (f"wenku-{STAMP}.db", f"wenku-{STAMP}-1.db")
    # The second is the newer one: with keep=2 a third pushes out the first, and keep=1 leaves the newest.
    third = make_backup(live, folder, now=NOW, keep=2)
    assert third.name == f"wenku-{STAMP}-2.db"
    assert backups(folder) == [second, third]
    fourth = make_backup(live, folder, now=NOW, keep=1)
    assert backups(folder) == [fourth] and fourth.exists()


def test_many_backups_in_one_second_are_ordered_by_number(live, tmp_path):
    folder = tmp_path / "backups"
    made = [make_backup(live, folder, now=NOW, keep=3) for _ in range(12)]
    # -10 and -11 are newer than -9, though they sort before it as text.
    assert [path.name for path in backups(folder)] == [f"wenku-{STAMP}-{n}.db" for n in (9, 10, 11)]
    assert backups(folder) == made[-3:]


def test_retention_leaves_other_files_alone(live, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    keepsake = folder / "wenku-before-upgrade.db"
    keepsake.write_bytes(b"kept by hand")
    notes = folder / "README.txt"
    notes.write_text("backups")
    for hour in range(3):
        make_backup(live, folder, now=NOW + timedelta(hours=hour), keep=1)
    assert sorted(path.name for path in folder.iterdir()) == ["README.txt", "wenku-20261124-120000.db", "wenku-before-upgrade.db"]


def test_restore_a_backup(live, tmp_path):
    """As README says: stop the bot, copy the backup over data/wenku.db, delete -wal and -shm, start again."""
    database = tmp_path / "data" / "wenku.db"
    path = make_backup(live, tmp_path / "data" / "backups", now=NOW)
    expected = snapshot(live)

    # Life goes on after the backup...
    later = NOW + timedelta(hours=2)
    import_document(live, "late.txt", "后来导入的讲话\n同志们：今天我们研究部署冬季安全生产和森林防火工作，请各单位认真抓好落实。".encode(), now=later)
    members.extend(live, "30005", parse_duration("1年"), now=later, actor="10001")
    reports.approve(live, 1, actor="10001", now=later, reward=parse_duration("1年"))
    assert live.document_count() == 4 and snapshot(live) != expected

    # ...then the bot is killed: its last changes sit in the WAL beside the database.
    wal, shm = database.with_name("wenku.db-wal"), database.with_name("wenku.db-shm")
    assert wal.exists() and wal.stat().st_size > 0
    wal_bytes, shm_bytes = wal.read_bytes(), shm.read_bytes()
    live.close()  # a clean close would fold the WAL in and delete it...
    wal.write_bytes(wal_bytes)  # ...a kill leaves it there
    shm.write_bytes(shm_bytes)

    shutil.copyfile(path, database)
    wal.unlink(missing_ok=True)
    shm.unlink(missing_ok=True)

    restored = Store.open(database)
    try:
        assert integrity(restored) == "ok"
        assert snapshot(restored) == expected
        assert restored.report(1)["status"] == "open"
        assert members.membership(restored, "30005") is None
        assert restored.blacklist() == []
        # The restored database is the bot's again: it takes writes and searches.
        members.extend(restored, "30006", parse_duration("7天"), now=later, actor="10001")
        assert sorted(restored.matching_ids(term_match_expression("工会"))) == [1, 3]
    finally:
        restored.close()
    # And the backup itself was not touched by using the restored copy.
    copy = Store.open(path)
    assert snapshot(copy) == expected
    copy.close()


# -- a backup while an import runs ------------------------------------------------------------------------

WORDS = (
    "会议 职工 群众 发展 改革 建设 治理 服务 安全 教育 生态 乡村 产业 科技 人才 文化 法治 民生 基层 党建 "
    "监督 作风 责任 落实 创新 开放 协调 绿色 共享 稳定 就业 医疗 养老 住房 交通 水利 能源 环境 农业 市场"
).split()


def speech(number: int, rng: random.Random) -> tuple[str, str]:
    """A distinct speech carrying a marker word no other document has."""
    marker = marker_of(number)
    sentences = ["".join(rng.choice(WORDS) for _ in range(12)) + "。" for _ in range(8)]
    sentences.insert(3, f"本篇编号{marker}请核对。")
    return marker, f"第{number}号讲话稿\n同志们：\n" + "\n".join(sentences)


def marker_of(number: int) -> str:
    return f"mk{number:05d}q"


MARKER = re.compile(r"mk\d{5}q")


def test_a_backup_during_an_import_holds_everything_committed_before_it(tmp_path):
    database = tmp_path / "data" / "wenku.db"
    Store.open(database).close()
    total = 400
    rng = random.Random(7)
    texts = [speech(number, rng) for number in range(total)]
    failures: list[BaseException] = []
    started, halfway, resume = threading.Event(), threading.Event(), threading.Event()

    def importer() -> None:
        store = Store.open(database)  # its own connection, as the CLI's import beside the bot
        try:
            for number, (_, text) in enumerate(texts):
                if number == total // 2:
                    # However fast this machine, at least one backup falls in the middle of the import.
                    halfway.set()
                    assert resume.wait(30)
                outcome = import_document(store, f"{number}.txt", text.encode(), now=NOW, rules=ImportRules())
                assert outcome.status == "imported", outcome
                started.set()
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)
            started.set()
            halfway.set()
        finally:
            store.close()

    thread = threading.Thread(target=importer)
    thread.start()
    bot = Store.open(database)
    counter = sqlite3.connect(str(database), isolation_level=None)
    checked = []
    try:
        assert started.wait(30)
        moment = NOW
        while thread.is_alive() or not checked:
            committed = counter.execute("SELECT id FROM documents WHERE deleted_at IS NULL").fetchall()
            committed = {row[0] for row in committed}
            moment += timedelta(seconds=1)
            path = make_backup(bot, tmp_path / "backups", now=moment, keep=100)
            copy = Store.open(path)
            try:
                assert integrity(copy) == "ok"
                held = {document.id: document for document in copy.iter_documents()}
                assert copy.document_count() >= len(committed)
                assert committed <= set(held)
                # Every document in the copy is whole: its index entries came with it.
                for document in held.values():
                    marker = MARKER.search(document.body).group()
                    assert copy.matching_ids(term_match_expression(marker)) == [document.id], marker
                    assert copy.db.execute(
                        "SELECT count(*) FROM sketches WHERE document_id = ?", [document.id]
                    ).fetchone()[0] > 0
            finally:
                copy.close()
            checked.append((len(committed), len(held)))
            if halfway.is_set():
                resume.set()
    finally:
        resume.set()
        thread.join(120)
        counter.close()
        bot.close()
    assert failures == []
    # Some backups really were taken mid-import.
    assert any(0 < held < total for _, held in checked), checked
    assert len(checked) >= 2, checked
    final = Store.open(database)
    assert final.document_count() == total
    final.close()


def test_simultaneous_backups_in_one_second_all_succeed(tmp_path):
    """The bot and the CLI may back up at the same moment: each claims its own name."""
    import threading
    from datetime import datetime, timezone

    from wenku.backup import backups, make_backup
    from wenku.store import Store

    path = tmp_path / "w.db"
    Store.open(path).close()
    folder = tmp_path / "backups"
    moment = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)
    barrier = threading.Barrier(8)
    made, failures = [], []

    def back_up() -> None:
        store = Store.open(path)
        try:
            barrier.wait()
            made.append(make_backup(store, folder, now=moment, keep=100))
        except Exception as error:  # collected: an assertion in a thread would be lost
            failures.append(error)
        finally:
            store.close()

    threads = [threading.Thread(target=back_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(set(made)) == 8
    assert sorted(backups(folder)) == sorted(made)
