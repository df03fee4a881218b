"""Redeem codes: format, hashes only in the database, single use, rate limit, voiding."""

import asyncio
import hashlib
import math
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from wenku import codes
from wenku.codes import ALPHABET, CODE_LENGTH, CodeInfo
from wenku.durations import parse_duration
from wenku.errors import CodeRefused, TooManyAttempts, TooManyCodes
from wenku.members import Membership
from wenku.store import Store

from .conftest import NOW

QQ = "12345678"
ADMIN = "10001"
MONTH = parse_duration("1月")
CODE_FORMAT = re.compile(rf"[{ALPHABET}]{{5}}(?:-[{ALPHABET}]{{5}}){{3}}")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dump(store: Store) -> str:
    """Every row of every table (FTS shadow tables included) as one text."""
    names = [row[0] for row in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
    lines = []
    for name in names:
        for row in store.db.execute(f"SELECT * FROM [{name}]").fetchall():
            lines.append(f"{name}: {row!r}")
    return "\n".join(lines)


def test_code_strength():
    assert len(set(ALPHABET)) == len(ALPHABET) == 31
    assert not set("01OIL") & set(ALPHABET)
    assert CODE_LENGTH * math.log2(len(ALPHABET)) >= 80


def test_generate_returns_distinct_codes_of_the_right_format(store):
    generated = codes.generate(store, 100, MONTH, now=NOW, actor=ADMIN)
    assert len(generated) == 100
    assert len(set(generated)) == 100
    for code in generated:
        assert CODE_FORMAT.fullmatch(code), code
        assert len(code) == CODE_LENGTH + 3
    assert store.db["codes"].count == 100


def test_generate_stores_rows_with_hashes(store):
    first, second = codes.generate(store, 2, parse_duration("2周"), now=NOW, actor=ADMIN)
    assert list(store.db["codes"].rows) == [
        {
            "id": 1,
            "code_hash": sha256(first.replace("-", "")),
            "duration": "14天",
            "created_at": "2026-11-24T02:00:00+00:00",
            "created_by": ADMIN,
            "used_at": None,
            "used_by": None,
            "voided_at": None,
            "voided_by": None,
        },
        {
            "id": 2,
            "code_hash": sha256(second.replace("-", "")),
            "duration": "14天",
            "created_at": "2026-11-24T02:00:00+00:00",
            "created_by": ADMIN,
            "used_at": None,
            "used_by": None,
            "voided_at": None,
            "voided_by": None,
        },
    ]


@pytest.mark.parametrize("count", [0, -1, 101])
def test_generate_refuses_bad_counts(store, count):
    with pytest.raises(TooManyCodes) as caught:
        codes.generate(store, count, MONTH, now=NOW, actor=ADMIN)
    assert caught.value.limit == 100
    assert store.db["codes"].count == 0


def test_database_holds_no_code(store):
    generated = codes.generate(store, 20, MONTH, now=NOW, actor=ADMIN)
    codes.redeem(store, QQ, generated[0], now=NOW)
    codes.redeem(store, "20002", generated[1].lower().replace("-", ""), now=NOW)
    codes.void(store, generated[2], now=NOW, actor=ADMIN)
    with pytest.raises(CodeRefused):
        # A typo (the last character changed) is not stored either.
        typo = generated[3][:-1] + ("3" if generated[3].endswith("2") else "2")
        codes.redeem(store, "20003", typo, now=NOW)
    text = dump(store)
    assert sha256(generated[0].replace("-", "")) in text  # the dump does reach the codes table
    for code in generated:
        for form in {code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()}:
            assert form not in text


def test_redeem_extends_membership(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    result = codes.redeem(store, QQ, code, now=NOW)
    assert result == Membership(
        user_id=QQ,
        started_at=NOW,
        valid_until=NOW.replace(month=12),
        lifetime=False,
        source="code",
    )
    assert list(store.db["members"].rows) == [
        {
            "user_id": QQ,
            "started_at": "2026-11-24T02:00:00+00:00",
            "valid_until": "2026-12-24T02:00:00+00:00",
            "lifetime": 0,
            "source": "code",
            "updated_at": "2026-11-24T02:00:00+00:00",
        }
    ]
    assert list(store.db["member_events"].rows) == [
        {
            "id": 1,
            "user_id": QQ,
            "at": "2026-11-24T02:00:00+00:00",
            "action": "redeem",
            "duration": "1个月",
            "before_until": None,
            "after_until": "2026-12-24T02:00:00+00:00",
            "actor": QQ,
            "note": "卡密#1",
        }
    ]
    row = store.db["codes"].get(1)
    assert (row["used_at"], row["used_by"], row["voided_at"]) == ("2026-11-24T02:00:00+00:00", QQ, None)


def test_redeem_adds_to_an_active_membership(store):
    first, second = codes.generate(store, 2, MONTH, now=NOW, actor=ADMIN)
    codes.redeem(store, QQ, first, now=NOW)
    result = codes.redeem(store, QQ, second, now=NOW + timedelta(days=1))
    assert result.valid_until == NOW.replace(year=2027, month=1)
    assert [e["note"] for e in store.db["member_events"].rows] == ["卡密#1", "卡密#2"]


@pytest.mark.parametrize(
    "typed",
    [
        lambda code: code.lower(),
        lambda code: code.replace("-", ""),
        lambda code: code.replace("-", "").lower(),
        lambda code: f"  {code.replace('-', ' ')}  ",
        lambda code: code.translate({ord(c): ord(c) + 0xFEE0 for c in code}),  # typed with a full-width IME
    ],
)
def test_redeem_accepts_typed_forms(store, typed):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    assert codes.redeem(store, QQ, typed(code), now=NOW).source == "code"


def test_used_code_is_refused(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    codes.redeem(store, QQ, code, now=NOW)
    for user_id in (QQ, "20002"):
        with pytest.raises(CodeRefused) as caught:
            codes.redeem(store, user_id, code, now=NOW)
        assert caught.value.reason == "used"
    assert store.db["codes"].get(1)["used_by"] == QQ
    assert store.db["member_events"].count == 1
    assert store.db["redeem_failures"].count == 0  # a used code is not a guess


def test_void_code_is_refused(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    codes.void(store, code, now=NOW, actor=ADMIN)
    with pytest.raises(CodeRefused) as caught:
        codes.redeem(store, QQ, code, now=NOW)
    assert caught.value.reason == "void"
    assert store.db["members"].count == 0
    assert store.db["redeem_failures"].count == 0


def test_unknown_code_is_refused_and_counted(store):
    codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    with pytest.raises(CodeRefused) as caught:
        codes.redeem(store, QQ, "AAAAA-BBBBB-CCCCC-DDDDD", now=NOW)
    assert caught.value.reason == "unknown"
    assert list(store.db["redeem_failures"].rows) == [{"id": 1, "user_id": QQ, "at": "2026-11-24T02:00:00+00:00"}]
    assert store.db["members"].count == 0


def test_too_many_wrong_codes(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    for minute in range(5):
        with pytest.raises(CodeRefused):
            codes.redeem(store, QQ, f"WRONG-CODE{minute}", now=NOW + timedelta(minutes=minute))
    # The sixth attempt within ten minutes is refused, even with a valid code.
    with pytest.raises(TooManyAttempts) as caught:
        codes.redeem(store, QQ, code, now=NOW + timedelta(minutes=9))
    assert caught.value.minutes == 10
    assert store.db["codes"].get(1)["used_at"] is None
    assert store.db["redeem_failures"].count == 5  # a refused attempt does not prolong the wait
    # Another member is not affected.
    with pytest.raises(CodeRefused):
        codes.redeem(store, "20002", "WRONG-CODE9", now=NOW + timedelta(minutes=9))
    # Ten minutes after the first failure only four are left in the window.
    result = codes.redeem(store, QQ, code, now=NOW + timedelta(minutes=10, seconds=1))
    assert result.source == "code"


def test_four_wrong_codes_are_allowed(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    for attempt in range(4):
        with pytest.raises(CodeRefused):
            codes.redeem(store, QQ, f"WRONG-CODE{attempt}", now=NOW)
    assert codes.redeem(store, QQ, code, now=NOW).user_id == QQ


def test_wrong_codes_after_the_window_work_again(store):
    [code] = codes.generate(store, 1, MONTH, now=NOW, actor=ADMIN)
    for attempt in range(5):
        with pytest.raises(CodeRefused):
            codes.redeem(store, QQ, f"WRONG-CODE{attempt}", now=NOW)
    with pytest.raises(TooManyAttempts):
        codes.redeem(store, QQ, code, now=NOW + timedelta(minutes=10))
    assert codes.redeem(store, QQ, code, now=NOW + timedelta(minutes=11)).user_id == QQ


def test_void_by_code_and_by_number(store):
    first, second, third = codes.generate(store, 3, MONTH, now=NOW, actor=ADMIN)
    assert codes.void(store, first.lower(), now=NOW, actor=ADMIN) == 1
    assert codes.void(store, "#2", now=NOW, actor=ADMIN) == 2
    assert codes.void(store, " 3 ", now=NOW, actor=ADMIN) == 3
    assert [(row["id"], row["voided_at"], row["voided_by"]) for row in store.db["codes"].rows] == [
        (1, "2026-11-24T02:00:00+00:00", ADMIN),
        (2, "2026-11-24T02:00:00+00:00", ADMIN),
        (3, "2026-11-24T02:00:00+00:00", ADMIN),
    ]


def test_void_refusals(store):
    first, second = codes.generate(store, 2, MONTH, now=NOW, actor=ADMIN)
    codes.redeem(store, QQ, first, now=NOW)
    codes.void(store, second, now=NOW, actor=ADMIN)
    for given, reason in [
        (first, "used"),
        ("1", "used"),
        (second, "void"),
        ("#2", "void"),
        ("99", "unknown"),
        ("AAAAA-BBBBB-CCCCC-DDDDD", "unknown"),
    ]:
        with pytest.raises(CodeRefused) as caught:
            codes.void(store, given, now=NOW, actor=ADMIN)
        assert caught.value.reason == reason, given
    assert store.db["codes"].get(1)["voided_at"] is None


def test_list_codes_statuses(store):
    first, second, _ = codes.generate(store, 3, MONTH, now=NOW, actor=ADMIN)
    codes.redeem(store, QQ, first, now=NOW)
    codes.void(store, second, now=NOW, actor=ADMIN)
    assert codes.list_codes(store) == [
        CodeInfo(id=3, duration="1个月", created_at=NOW, status="unused", used_by=None),
        CodeInfo(id=2, duration="1个月", created_at=NOW, status="void", used_by=None),
        CodeInfo(id=1, duration="1个月", created_at=NOW, status="used", used_by=QQ),
    ]
    assert [info.id for info in codes.list_codes(store, limit=2)] == [3, 2]


# -- one code, many simultaneous redeemers ------------------------------------------------

REDEEMERS = 50


def one_code_database(path) -> str:
    setup = Store.open(path)
    [code] = codes.generate(setup, 1, MONTH, now=NOW, actor=ADMIN)
    setup.close()
    return code


def redeem_on_own_connection(path, code: str, number: int, barrier: threading.Barrier):
    """One member's attempt on its own connection; returns the Membership or the refusal."""
    store = Store.open(path)
    try:
        barrier.wait()
        try:
            return codes.redeem(store, f"{20000 + number}", code, now=NOW)
        except CodeRefused as refused:
            return refused
    finally:
        store.close()


def check_single_use(path, outcomes: list) -> None:
    won = [outcome for outcome in outcomes if isinstance(outcome, Membership)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, CodeRefused)]
    assert len(won) == 1
    assert len(refused) == REDEEMERS - 1
    assert {refusal.reason for refusal in refused} == {"used"}
    winner = won[0].user_id
    store = Store.open(path)
    try:
        assert [(row["id"], row["used_by"]) for row in store.db["codes"].rows] == [(1, winner)]
        assert [row["user_id"] for row in store.db["members"].rows] == [winner]
        assert [(row["user_id"], row["action"]) for row in store.db["member_events"].rows] == [(winner, "redeem")]
        assert store.db["redeem_failures"].count == 0
    finally:
        store.close()


def test_one_code_from_fifty_threads_is_used_once(tmp_path):
    path = tmp_path / "wenku.db"
    code = one_code_database(path)
    barrier = threading.Barrier(REDEEMERS, timeout=60)
    with ThreadPoolExecutor(max_workers=REDEEMERS) as pool:
        futures = [pool.submit(redeem_on_own_connection, path, code, n, barrier) for n in range(REDEEMERS)]
        outcomes = [future.result(timeout=120) for future in futures]
    check_single_use(path, outcomes)


def test_one_code_from_fifty_asyncio_tasks_is_used_once(tmp_path):
    path = tmp_path / "wenku.db"
    code = one_code_database(path)
    barrier = threading.Barrier(REDEEMERS, timeout=60)

    async def main() -> list:
        # Enough threads for every task at once, so that all of them meet at the barrier.
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=REDEEMERS))
        tasks = [
            asyncio.create_task(asyncio.to_thread(redeem_on_own_connection, path, code, n, barrier))
            for n in range(REDEEMERS)
        ]
        return await asyncio.wait_for(asyncio.gather(*tasks), timeout=120)

    # A loop of its own: the executor change stays out of the session loop of the async tests.
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        outcomes = runner.run(main())
    check_single_use(path, outcomes)
