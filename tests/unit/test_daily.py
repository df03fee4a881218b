"""The daily membership job: reminders before the end, a notice after it, each sent once."""

from datetime import timedelta

from wenku import members
from wenku.daily import Notice, due_notices, record_notice
from wenku.durations import LIFETIME, parse_duration

from .conftest import NOW

DAY = timedelta(days=1)


def grant(store, user_id: str, length: str, *, at) -> None:
    members.extend(store, user_id, parse_duration(length), now=at, actor="10001")


def test_due_notices(store):
    grant(store, "20001", "6天", at=NOW)  # ends in 6 days
    grant(store, "20002", "1天", at=NOW - timedelta(hours=4))  # ends in 20 hours
    grant(store, "20003", "7天", at=NOW - 8 * DAY)  # ended yesterday
    grant(store, "20004", "7天", at=NOW - 47 * DAY)  # ended 40 days ago
    grant(store, "20005", "1月", at=NOW - 2 * DAY)
    members.ban(store, "20005", "倒卖", now=NOW - DAY, actor="10001")  # blacklisted, ended yesterday
    members.extend(store, "20006", LIFETIME, now=NOW - 400 * DAY, actor="10001")  # lifetime
    grant(store, "20007", "1月", at=NOW)  # ends in a month: not yet
    assert due_notices(store, NOW) == [
        Notice("20002", "1d", NOW + timedelta(hours=20)),
        Notice("20001", "7d", NOW + 6 * DAY),
        Notice("20003", "expired", NOW - DAY),
    ]
    # Nothing is recorded until the caller says the notice went out: asking again gives the same.
    assert len(due_notices(store, NOW)) == 3
    assert store.db["member_notices"].count == 0


def test_no_members_no_notices(store):
    assert due_notices(store, NOW) == []


def test_boundaries(store):
    grant(store, "20001", "7天", at=NOW)  # exactly 7 days left
    members.extend(store, "20002", parse_duration("7天"), now=NOW + timedelta(seconds=1), actor="10001")
    grant(store, "20003", "1天", at=NOW)  # exactly 1 day left
    members.extend(store, "20004", parse_duration("1天"), now=NOW + timedelta(seconds=1), actor="10001")
    grant(store, "20005", "7天", at=NOW - 7 * DAY)  # ends exactly now
    grant(store, "20006", "7天", at=NOW - 37 * DAY)  # ended exactly 30 days ago
    members.extend(store, "20007", parse_duration("7天"), now=NOW - 37 * DAY - timedelta(seconds=1), actor="10001")
    assert [(notice.user_id, notice.kind) for notice in due_notices(store, NOW)] == [
        ("20003", "1d"),
        ("20004", "7d"),
        ("20001", "7d"),
        ("20006", "expired"),
        ("20005", "expired"),
    ]


def test_record_notice_makes_it_done(store):
    grant(store, "20001", "6天", at=NOW)
    [notice] = due_notices(store, NOW)
    record_notice(store, notice, NOW)
    record_notice(store, notice, NOW + timedelta(minutes=1))  # a second run records nothing new
    assert list(store.db["member_notices"].rows) == [
        {"user_id": "20001", "kind": "7d", "valid_until": "2026-11-30T02:00:00+00:00", "at": "2026-11-24T02:00:00+00:00"}
    ]
    assert due_notices(store, NOW) == []
    assert due_notices(store, NOW + 2 * DAY) == []  # still the 7-day reminder for the same end


def test_each_notice_once_as_the_end_comes(store):
    grant(store, "20001", "6天", at=NOW)
    end = NOW + 6 * DAY
    sent = []
    for hours in range(0, 24 * 40, 6):  # the job, run every six hours for forty days
        moment = NOW + timedelta(hours=hours)
        for notice in due_notices(store, moment):
            record_notice(store, notice, moment)
            sent.append((notice.kind, moment))
    assert sent == [
        ("7d", NOW),
        ("1d", end - DAY),
        ("expired", end),
    ]


def test_renewal_brings_new_reminders(store):
    grant(store, "20001", "6天", at=NOW)
    for notice in due_notices(store, NOW):
        record_notice(store, notice, NOW)
    # Two days later the member renews: the end moves on by a month, nothing is due now.
    renewed = members.extend(store, "20001", parse_duration("1月"), now=NOW + 2 * DAY, actor="20001", action="redeem")
    assert renewed.valid_until == NOW.replace(month=12, day=30)
    assert due_notices(store, NOW + 2 * DAY) == []
    # Close to the new end the reminders come again, for that end.
    assert due_notices(store, renewed.valid_until - 6 * DAY) == [Notice("20001", "7d", renewed.valid_until)]
    assert due_notices(store, renewed.valid_until - timedelta(hours=3)) == [Notice("20001", "1d", renewed.valid_until)]


def test_renewal_after_the_end_brings_new_notices(store):
    grant(store, "20001", "7天", at=NOW - 8 * DAY)
    [expired] = due_notices(store, NOW)
    assert expired.kind == "expired"
    record_notice(store, expired, NOW)
    assert due_notices(store, NOW + DAY) == []
    renewed = members.extend(store, "20001", parse_duration("7天"), now=NOW + DAY, actor="10001")
    assert due_notices(store, NOW + DAY) == [Notice("20001", "7d", renewed.valid_until)]
    assert due_notices(store, renewed.valid_until + DAY) == [Notice("20001", "expired", renewed.valid_until)]


def test_unbanned_expired_member_gets_the_notice(store):
    grant(store, "20001", "1月", at=NOW - 2 * DAY)
    members.ban(store, "20001", "误封", now=NOW - DAY, actor="10001")
    assert due_notices(store, NOW) == []
    members.unban(store, "20001")
    assert due_notices(store, NOW) == [Notice("20001", "expired", NOW - DAY)]
