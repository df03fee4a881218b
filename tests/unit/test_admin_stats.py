"""Figures for admins (统计, wenku stats): members, full texts by Shanghai day, heavy receivers, open reports."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta, timezone

from click.testing import CliRunner

from wenku import members, reports, texts
from wenku.durations import parse_duration
from wenku.stats import AdminStats, LibraryStats, admin_stats

from .conftest import NOW

ADMIN = "10001"

#: NOW is 2026-11-24 10:00 in Asia/Shanghai. Its day began at 16:00 UTC the day before;
#: the 7 days of "this week" began on 2026-11-18 00:00 local, 11-17 16:00 UTC.
TODAY = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)
WEEK = datetime(2026, 11, 17, 16, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


def deliver(store, user: str, at: datetime, status: str = "sent", times: int = 1) -> None:
    for _ in range(times):
        delivery_id = store.add_delivery(user_id=user, document_id=1, now=at, format="text", group_id=None)
        store.set_delivery_status(delivery_id, status)


def search(store, at: datetime, query: str, hits: int) -> None:
    store.log_search(now=at, origin="group", user_id="30001", group_id="20001", query=query, terms=[query], hits=hits)


def prepare(store) -> None:
    month, lifetime = parse_duration("1月"), parse_duration("永久")
    members.extend(store, "40001", month, now=NOW, actor=ADMIN)  # ends 12-24
    members.extend(store, "40002", parse_duration("7天"), now=NOW - timedelta(days=1), actor=ADMIN)  # ends in 6 days
    members.extend(store, "40003", lifetime, now=NOW, actor=ADMIN)  # never ends
    members.extend(store, "40004", parse_duration("7天"), now=NOW - timedelta(days=30), actor=ADMIN)  # over
    members.extend(store, "40005", parse_duration("7天"), now=NOW, actor=ADMIN)  # ends in exactly 7 days: expiring

    # The day and the week end at Shanghai midnight, not at UTC midnight.
    deliver(store, "50001", TODAY)  # today and this week
    deliver(store, "50001", TODAY - SECOND)  # yesterday: this week only
    deliver(store, "50001", WEEK)  # the first moment of the week
    deliver(store, "50001", WEEK - SECOND)  # eight days ago: nowhere
    deliver(store, "50001", NOW, status="partial")  # half a text counts
    deliver(store, "50001", NOW, status="failed")  # nothing sent: does not count
    deliver(store, "50001", NOW, status="pending")  # being sent: not yet
    # Receivers of the week: 40001 takes 12 and 40003 10, where the median receiver takes 3.
    yesterday = TODAY - timedelta(hours=3)
    deliver(store, "40001", yesterday, times=12)
    deliver(store, "40003", yesterday, times=10)
    deliver(store, "40005", yesterday, times=9)  # 3x the median but fewer than 10
    deliver(store, "50002", yesterday, times=3)
    deliver(store, "50003", yesterday, times=2)
    for user in ("50004", "50005", "50006"):
        deliver(store, user, yesterday)

    search(store, NOW, "工会", 2)
    search(store, TODAY - SECOND, "倒卖", 0)

    reports.file_report(store, reporter="30001", reported="30002", text="", group_id=None, now=NOW, admins={ADMIN})
    reports.file_report(store, reporter="30001", reported="30003", text="", group_id=None, now=NOW, admins={ADMIN})
    reports.file_report(store, reporter="30004", reported="30002", text="", group_id=None, now=NOW, admins={ADMIN})
    reports.reject(store, 2, "证据不足", actor=ADMIN, now=NOW)


EXPECTED = AdminStats(
    library=LibraryStats(
        documents=3,
        categories=[("乡村振兴", 1), ("安全生产", 1), ("工会", 1)],
        searches_today=1,
        searches_week=2,
        top_terms=[("倒卖", 1), ("工会", 1)],
        missed_terms=[("倒卖", 1)],
    ),
    members_active=4,
    members_expiring=2,
    fulltexts_today=2,
    fulltexts_week=4 + 12 + 10 + 9 + 3 + 2 + 1 + 1 + 1,
    top_receivers=[
        ("40001", 12, True),
        ("40003", 10, True),
        ("40005", 9, False),
        ("50001", 4, False),
        ("50002", 3, False),
        ("50003", 2, False),
        ("50004", 1, False),
        ("50005", 1, False),
        ("50006", 1, False),
    ],
    open_reports=2,
)


def test_admin_stats(library):
    prepare(library)
    assert admin_stats(library, NOW) == EXPECTED


def test_admin_stats_of_an_empty_library(store):
    assert admin_stats(store, NOW) == AdminStats(
        library=LibraryStats(0, [], 0, 0, [], []),
        members_active=0,
        members_expiring=0,
        fulltexts_today=0,
        fulltexts_week=0,
        top_receivers=[],
        open_reports=0,
    )


def test_heavy_receivers_are_flagged_against_the_median(library):
    store = library
    # Everybody takes a lot: nobody stands out.
    for user, count in [("40001", 30), ("40002", 12), ("40003", 11), ("40004", 10)]:
        deliver(store, user, NOW, times=count)
    assert admin_stats(store, NOW).top_receivers == [
        ("40001", 30, False), ("40002", 12, False), ("40003", 11, False), ("40004", 10, False)
    ]
    # One receiver alone (the others' week is over) is his own median.
    deliver(store, "40009", NOW + timedelta(days=8), times=50)
    assert admin_stats(store, NOW + timedelta(days=8)).top_receivers == [("40009", 50, False)]


def test_only_the_ten_heaviest_receivers_are_listed(library):
    store = library
    for number in range(12):
        deliver(store, str(40000 + number), NOW, times=number + 1)
    listed = admin_stats(store, NOW).top_receivers
    # 12 receivers took 1..12; the median is 7, so even the top one (12 < 21) is not flagged.
    assert listed == [(str(40000 + number), number + 1, False) for number in range(11, 1, -1)]


def test_the_day_turns_at_midnight_in_shanghai(library):
    store = library
    deliver(store, "40001", TODAY - SECOND)  # 23:59:59 local
    deliver(store, "40001", TODAY)  # 00:00 local: a new day
    assert admin_stats(store, TODAY).fulltexts_today == 1
    assert admin_stats(store, TODAY + timedelta(hours=23, minutes=59)).fulltexts_today == 1
    assert admin_stats(store, TODAY + timedelta(days=1)).fulltexts_today == 0
    assert admin_stats(store, TODAY + timedelta(days=6)).fulltexts_week == 1
    assert admin_stats(store, TODAY + timedelta(days=6) - SECOND).fulltexts_week == 2


def test_the_stats_text(library):
    prepare(library)
    text = texts.admin_stats(EXPECTED)
    assert text.endswith(
        "会员：有效 4 人，7天内到期 2 人\n"
        "全文：今天 2 次，近7天 43 次\n"
        "近7天领取全文最多的会员：\n"
        "· 40001 12 次  ⚠ 远超其他会员，疑似倒卖\n"
        "· 40003 10 次  ⚠ 远超其他会员，疑似倒卖\n"
        "· 40005 9 次\n"
        "· 50001 4 次\n"
        "· 50002 3 次\n"
        "· 50003 2 次\n"
        "· 50004 1 次\n"
        "· 50005 1 次\n"
        "· 50006 1 次\n"
        "待处理举报：2 个"
    )
    assert text.startswith("文档：3 篇\n")


# -- the command line ------------------------------------------------------------------------------------------


def cli(monkeypatch, tmp_path, *args: str):
    import wenku.cli

    monkeypatch.setenv("WENKU_ENV_FILE", str(tmp_path / "none.env"))
    monkeypatch.delenv("WENKU_BACKUP_KEEP", raising=False)
    monkeypatch.setattr(wenku.cli, "_now", lambda: NOW)
    return CliRunner().invoke(wenku.cli.main, ["--db", str(tmp_path / "data" / "wenku.db"), *args])


def prepared_database(tmp_path):
    from wenku.importer import import_document
    from wenku.store import Store

    from .fixtures import RURAL_BODY, RURAL_TITLE, SAFETY_BODY, SAFETY_TITLE, UNION_BODY, UNION_TITLE, distributed

    store = Store.open(tmp_path / "data" / "wenku.db")
    for name, title, body in [
        ("union.txt", UNION_TITLE, UNION_BODY),
        ("rural.txt", RURAL_TITLE, RURAL_BODY),
        ("safety.txt", SAFETY_TITLE, SAFETY_BODY),
    ]:
        import_document(store, name, distributed(title, body).encode(), now=NOW)
    prepare(store)
    return store


def test_cli_stats_json(monkeypatch, tmp_path):
    prepared_database(tmp_path).close()
    result = cli(monkeypatch, tmp_path, "stats", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == json.loads(json.dumps(dataclasses.asdict(EXPECTED)))
    assert json.loads(result.output)["top_receivers"][0] == ["40001", 12, True]

    result = cli(monkeypatch, tmp_path, "stats")
    assert result.exit_code == 0
    assert result.output == texts.admin_stats(EXPECTED) + "\n"


def test_cli_backup(monkeypatch, tmp_path):
    from wenku.store import Store

    store = prepared_database(tmp_path)
    folder = tmp_path / "data" / "backups"
    names = ["wenku-20261124-100000.db", "wenku-20261124-100000-1.db", "wenku-20261124-100000-2.db"]
    for made, name in enumerate(names, 1):
        result = cli(monkeypatch, tmp_path, "backup", "--keep", "2")
        path = folder / name
        assert result.exit_code == 0, result.output
        assert result.output == texts.backup_done(str(path), path.stat().st_size, min(made, 2)) + "\n"
    assert sorted(path.name for path in folder.iterdir()) == names[1:]

    # WENKU_BACKUP_KEEP when --keep is not given.
    monkeypatch.setenv("WENKU_BACKUP_KEEP", "1")
    import wenku.cli

    result = CliRunner().invoke(wenku.cli.main, ["--db", str(tmp_path / "data" / "wenku.db"), "backup"])
    assert result.exit_code == 0, result.output
    assert [path.name for path in folder.iterdir()] == ["wenku-20261124-100000-3.db"]

    copy = Store.open(folder / "wenku-20261124-100000-3.db")
    try:
        assert copy.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert list(copy.iter_documents()) == list(store.iter_documents())
        assert admin_stats(copy, NOW) == EXPECTED
    finally:
        copy.close()
        store.close()
