"""Memberships: starting, extending, cancelling, roles and the blacklist."""

from datetime import datetime, timedelta, timezone

import pytest

from wenku import members
from wenku.durations import LIFETIME, parse_duration
from wenku.errors import BadQQ, NotAMember
from wenku.members import Membership

from .conftest import NOW

QQ = "12345678"
ADMINS = {"10001"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def member_rows(store) -> list[dict]:
    return list(store.db["members"].rows)


def event_rows(store) -> list[dict]:
    return list(store.db["member_events"].rows)


def test_extend_starts_now_for_a_new_member(store):
    result = members.extend(store, QQ, parse_duration("1月"), now=NOW, actor="10001", note="首次开通")
    assert result == Membership(
        user_id=QQ,
        started_at=NOW,
        valid_until=utc(2026, 12, 24, 2, 0),
        lifetime=False,
        source="admin",
    )
    assert member_rows(store) == [
        {
            "user_id": QQ,
            "started_at": "2026-11-24T02:00:00+00:00",
            "valid_until": "2026-12-24T02:00:00+00:00",
            "lifetime": 0,
            "source": "admin",
            "updated_at": "2026-11-24T02:00:00+00:00",
        }
    ]
    assert event_rows(store) == [
        {
            "id": 1,
            "user_id": QQ,
            "at": "2026-11-24T02:00:00+00:00",
            "action": "extend",
            "duration": "1个月",
            "before_until": None,
            "after_until": "2026-12-24T02:00:00+00:00",
            "actor": "10001",
            "note": "首次开通",
        }
    ]
    assert members.membership(store, QQ) == result
    assert members.membership(store, "99999") is None


def test_extend_an_active_member_from_the_current_end(store):
    members.extend(store, QQ, parse_duration("1月"), now=NOW, actor="10001")
    later = NOW + timedelta(days=10)
    result = members.extend(store, QQ, parse_duration("7天"), now=later, actor=QQ, action="redeem", source="code")
    # The end moves on by 7 days from 12-24; the start and the original source stay.
    assert member_rows(store) == [
        {
            "user_id": QQ,
            "started_at": "2026-11-24T02:00:00+00:00",
            "valid_until": "2026-12-31T02:00:00+00:00",
            "lifetime": 0,
            "source": "admin",
            "updated_at": "2026-12-04T02:00:00+00:00",
        }
    ]
    assert result.valid_until == utc(2026, 12, 31, 2, 0)
    assert event_rows(store)[1] == {
        "id": 2,
        "user_id": QQ,
        "at": "2026-12-04T02:00:00+00:00",
        "action": "redeem",
        "duration": "7天",
        "before_until": "2026-12-24T02:00:00+00:00",
        "after_until": "2026-12-31T02:00:00+00:00",
        "actor": QQ,
        "note": "",
    }


def test_extend_an_expired_member_from_now(store):
    members.extend(store, QQ, parse_duration("7天"), now=NOW, actor="10001")
    later = NOW + timedelta(days=40)
    members.extend(store, QQ, parse_duration("1月"), now=later, actor=QQ, action="redeem", source="code")
    # A new term: it starts now, ends a month from now, and takes the new source.
    assert member_rows(store) == [
        {
            "user_id": QQ,
            "started_at": "2027-01-03T02:00:00+00:00",
            "valid_until": "2027-02-03T02:00:00+00:00",
            "lifetime": 0,
            "source": "code",
            "updated_at": "2027-01-03T02:00:00+00:00",
        }
    ]
    assert [(e["action"], e["before_until"], e["after_until"]) for e in event_rows(store)] == [
        ("extend", None, "2026-12-01T02:00:00+00:00"),
        ("redeem", "2026-12-01T02:00:00+00:00", "2027-02-03T02:00:00+00:00"),
    ]


def test_extend_at_the_exact_end_counts_as_expired(store):
    members.extend(store, QQ, parse_duration("7天"), now=NOW, actor="10001")
    end = NOW + timedelta(days=7)
    result = members.extend(store, QQ, parse_duration("7天"), now=end, actor="10001")
    assert (result.started_at, result.valid_until) == (end, end + timedelta(days=7))


def test_lifetime_stays_lifetime(store):
    members.extend(store, QQ, LIFETIME, now=NOW, actor="10001")
    result = members.extend(store, QQ, parse_duration("1月"), now=NOW + timedelta(days=1), actor="10001")
    assert result == Membership(user_id=QQ, started_at=NOW, valid_until=None, lifetime=True, source="admin")
    assert member_rows(store) == [
        {
            "user_id": QQ,
            "started_at": "2026-11-24T02:00:00+00:00",
            "valid_until": None,
            "lifetime": 1,
            "source": "admin",
            "updated_at": "2026-11-25T02:00:00+00:00",
        }
    ]
    assert [(e["duration"], e["before_until"], e["after_until"]) for e in event_rows(store)] == [
        ("永久", None, "永久"),
        ("1个月", "永久", "永久"),
    ]
    assert result.active(NOW + timedelta(days=100 * 365))
    assert result.days_left(NOW) is None


def test_lifetime_replaces_a_term(store):
    members.extend(store, QQ, parse_duration("1月"), now=NOW, actor="10001")
    result = members.extend(store, QQ, LIFETIME, now=NOW, actor="10001")
    assert (result.valid_until, result.lifetime, result.started_at) == (None, True, NOW)
    assert event_rows(store)[-1]["after_until"] == "永久"


def test_active_and_days_left():
    term = Membership(user_id=QQ, started_at=NOW, valid_until=NOW + timedelta(days=30), lifetime=False, source="admin")
    assert term.active(NOW)
    assert not term.active(NOW + timedelta(days=30))
    assert term.days_left(NOW) == 30
    assert term.days_left(NOW + timedelta(days=29, hours=4)) == 1
    assert term.days_left(NOW + timedelta(days=29, seconds=1)) == 1
    assert term.days_left(NOW + timedelta(days=31)) == 0


def test_cancel(store):
    members.extend(store, QQ, parse_duration("1年"), now=NOW, actor="10001")
    later = NOW + timedelta(days=3)
    result = members.cancel(store, QQ, now=later, actor="10001", note="退款")
    assert result.valid_until == later
    assert not result.active(later)
    assert member_rows(store) == [
        {
            "user_id": QQ,
            "started_at": "2026-11-24T02:00:00+00:00",
            "valid_until": "2026-11-27T02:00:00+00:00",
            "lifetime": 0,
            "source": "admin",
            "updated_at": "2026-11-27T02:00:00+00:00",
        }
    ]
    assert event_rows(store)[1] == {
        "id": 2,
        "user_id": QQ,
        "at": "2026-11-27T02:00:00+00:00",
        "action": "cancel",
        "duration": None,
        "before_until": "2027-11-24T02:00:00+00:00",
        "after_until": "2026-11-27T02:00:00+00:00",
        "actor": "10001",
        "note": "退款",
    }
    # Cancelled is not a member any more: a second cancel is refused.
    with pytest.raises(NotAMember):
        members.cancel(store, QQ, now=later, actor="10001")


def test_cancel_a_lifetime_member(store):
    members.extend(store, QQ, LIFETIME, now=NOW, actor="10001")
    result = members.cancel(store, QQ, now=NOW, actor="10001")
    assert (result.lifetime, result.valid_until) == (False, NOW)
    assert event_rows(store)[-1]["before_until"] == "永久"


def test_cancel_a_non_member_raises(store):
    with pytest.raises(NotAMember) as caught:
        members.cancel(store, "99999", now=NOW, actor="10001")
    assert caught.value.user_id == "99999"
    assert member_rows(store) == []
    assert event_rows(store) == []


def test_cancel_an_expired_member_raises(store):
    members.extend(store, QQ, parse_duration("7天"), now=NOW, actor="10001")
    with pytest.raises(NotAMember):
        members.cancel(store, QQ, now=NOW + timedelta(days=8), actor="10001")
    assert len(event_rows(store)) == 1


def test_role_of(store):
    members.extend(store, "20001", parse_duration("1月"), now=NOW, actor="10001")  # member
    members.extend(store, "20002", parse_duration("7天"), now=NOW - timedelta(days=30), actor="10001")  # expired
    members.extend(store, "20003", parse_duration("1月"), now=NOW, actor="10001")
    store.add_to_blacklist("20003", "倒卖", "10001", NOW)  # a member, but blacklisted
    store.add_to_blacklist("10001", "误操作", "10001", NOW)  # an admin on the blacklist
    store.add_to_blacklist("20004", "倒卖", "10001", NOW)
    assert {
        user_id: members.role_of(store, user_id, NOW, ADMINS)
        for user_id in ["10001", "20001", "20002", "20003", "20004", "20005"]
    } == {
        "10001": "admin",
        "20001": "member",
        "20002": "visitor",
        "20003": "blacklisted",
        "20004": "blacklisted",
        "20005": "visitor",
    }
    assert members.role_of(store, "20001", NOW + timedelta(days=31), ADMINS) == "visitor"


def test_ban_revokes_and_blacklists(store):
    members.extend(store, QQ, parse_duration("1年"), now=NOW, actor="10001")
    later = NOW + timedelta(days=1)
    ended = members.ban(store, QQ, "倒卖资料", now=later, actor="10001")
    assert ended == Membership(user_id=QQ, started_at=NOW, valid_until=later, lifetime=False, source="admin")
    assert list(store.db["blacklist"].rows) == [
        {"user_id": QQ, "reason": "倒卖资料", "at": "2026-11-25T02:00:00+00:00", "actor": "10001"}
    ]
    assert event_rows(store) == [
        {
            "id": 1,
            "user_id": QQ,
            "at": "2026-11-24T02:00:00+00:00",
            "action": "extend",
            "duration": "1年",
            "before_until": None,
            "after_until": "2027-11-24T02:00:00+00:00",
            "actor": "10001",
            "note": "",
        },
        {
            "id": 2,
            "user_id": QQ,
            "at": "2026-11-25T02:00:00+00:00",
            "action": "revoke",
            "duration": None,
            "before_until": "2027-11-24T02:00:00+00:00",
            "after_until": "2026-11-25T02:00:00+00:00",
            "actor": "10001",
            "note": "倒卖资料",
        },
    ]
    assert members.role_of(store, QQ, later, ADMINS) == "blacklisted"


def test_ban_a_non_member(store):
    assert members.ban(store, "20009", "刷屏", now=NOW, actor="10001") is None
    assert list(store.db["blacklist"].rows) == [
        {"user_id": "20009", "reason": "刷屏", "at": "2026-11-24T02:00:00+00:00", "actor": "10001"}
    ]
    assert event_rows(store) == []
    assert members.role_of(store, "20009", NOW, ADMINS) == "blacklisted"


def test_unban(store):
    members.ban(store, "20009", "刷屏", now=NOW, actor="10001")
    assert members.unban(store, "20009") is True
    assert members.unban(store, "20009") is False
    assert list(store.db["blacklist"].rows) == []
    assert members.role_of(store, "20009", NOW, ADMINS) == "visitor"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12345678", "12345678"),
        ("１２３４５６７８", "12345678"),
        ("@12345678", "12345678"),
        ("＠12345678", "12345678"),
        (" 12345678 ", "12345678"),
        (12345678, "12345678"),
        ("10001", "10001"),
        ("123456789012", "123456789012"),
    ],
)
def test_parse_qq(text, expected):
    assert members.parse_qq(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "123",
        "1234",
        "0123456",
        "",
        "@",
        "1234567890123",
        "12345 678",
        "1234567８a",
        "1١٢٣٤٥٦",  # Arabic-Indic digits are digits to \d, not to QQ
    ],
)
def test_parse_qq_refuses(text):
    with pytest.raises(BadQQ) as caught:
        members.parse_qq(text)
    assert caught.value.text == text


def test_extend_waits_for_another_writer_instead_of_failing(tmp_path):
    """The CLI and the bot write to one file: a read-then-write must queue, not fail "locked"."""
    import threading
    import time

    from wenku.durations import parse_duration
    from wenku.members import extend, membership
    from wenku.store import Store

    path = tmp_path / "w.db"
    Store.open(path).close()
    other = Store.open(path)
    other.db.execute("BEGIN IMMEDIATE")
    other.db.execute("INSERT INTO meta (key, value) VALUES ('held', '1')")
    released = threading.Timer(0.5, lambda: other.db.execute("COMMIT"))
    released.start()
    started = time.monotonic()
    store = Store.open(path)
    extend(store, "12345678", parse_duration("1年"), now=NOW, actor="cli")
    assert time.monotonic() - started >= 0.4
    assert membership(store, "12345678").active(NOW)
    released.join()
