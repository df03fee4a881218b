"""Membership lengths as admins type them, and calendar arithmetic on them."""

from datetime import datetime, timedelta, timezone

import pytest

from wenku.durations import LIFETIME, Duration, add_months, parse_duration
from wenku.errors import BadDuration

from .conftest import NOW


@pytest.mark.parametrize(
    "text,expected,shown",
    [
        ("7天", Duration(days=7), "7天"),
        ("7日", Duration(days=7), "7天"),
        ("2周", Duration(days=14), "14天"),
        ("1星期", Duration(days=7), "7天"),
        ("1月", Duration(months=1), "1个月"),
        ("3月", Duration(months=3), "3个月"),
        ("3个月", Duration(months=3), "3个月"),
        ("1年", Duration(months=12), "1年"),
        ("3年", Duration(months=36), "3年"),
        ("永久", LIFETIME, "永久"),
        ("终身", LIFETIME, "永久"),
        ("永久会员", LIFETIME, "永久"),
        ("十天", Duration(days=10), "10天"),
        ("两年", Duration(months=24), "2年"),
        ("三个月", Duration(months=3), "3个月"),
        ("十五天", Duration(days=15), "15天"),
        ("二十天", Duration(days=20), "20天"),
        ("二十五天", Duration(days=25), "25天"),
        ("１２个月", Duration(months=12), "1年"),
        ("３０天", Duration(days=30), "30天"),
        ("１年", Duration(months=12), "1年"),
        ("  7 天 ", Duration(days=7), "7天"),
        ("3個月", Duration(months=3), "3个月"),  # traditional characters fold too
        ("100年", Duration(months=1200), "100年"),
    ],
)
def test_parse_duration(text, expected, shown):
    duration = parse_duration(text)
    assert duration == expected
    assert str(duration) == shown
    # What is stored (codes keep str(duration)) reads back as the same length.
    assert parse_duration(str(duration)) == duration


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "0天",
        "零天",
        "00月",
        "1世纪",
        "abc",
        "7",
        "天",
        "-1天",
        "1.5月",
        "7天7天",
        "一二天",  # not a numeral: used to escape as KeyError
        "十二十天",  # used to be read as 10 days
        "零十天",
        "101年",  # past the 100-year cap
        "9999年",  # would end after the year 9999: used to crash later in extend()
        "1201月",
        "10000天",  # four digits at most
    ],
)
def test_bad_durations_raise(text):
    with pytest.raises(BadDuration) as caught:
        parse_duration(text)
    assert caught.value.text == text


def test_after():
    assert parse_duration("7天").after(NOW) == datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("1月").after(NOW) == datetime(2026, 12, 24, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("3个月").after(NOW) == datetime(2027, 2, 24, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("1年").after(NOW) == datetime(2027, 11, 24, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("100年").after(NOW) == datetime(2126, 11, 24, 2, 0, tzinfo=timezone.utc)
    assert parse_duration("9999天").after(NOW) == NOW + timedelta(days=9999)
    assert LIFETIME.after(NOW) is None


def test_after_months_then_days():
    assert Duration(months=1, days=3).after(datetime(2026, 1, 31, tzinfo=timezone.utc)) == datetime(
        2026, 3, 3, tzinfo=timezone.utc
    )


@pytest.mark.parametrize(
    "start,months,expected",
    [
        ((2026, 1, 31), 1, (2026, 2, 28)),
        ((2028, 1, 31), 1, (2028, 2, 29)),  # leap year
        ((2026, 3, 31), 1, (2026, 4, 30)),
        ((2026, 8, 31), 1, (2026, 9, 30)),
        ((2026, 12, 15), 1, (2027, 1, 15)),
        ((2026, 11, 30), 3, (2027, 2, 28)),
        ((2028, 2, 29), 12, (2029, 2, 28)),
        ((2028, 2, 29), 48, (2032, 2, 29)),
        ((2026, 1, 31), 0, (2026, 1, 31)),
        ((2026, 3, 31), -1, (2026, 2, 28)),
        ((2026, 1, 15), -1, (2025, 12, 15)),
        ((2026, 5, 10), 24, (2028, 5, 10)),
    ],
)
def test_add_months(start, months, expected):
    moment = datetime(*start, 13, 45, 10, tzinfo=timezone.utc)
    assert add_months(moment, months) == datetime(*expected, 13, 45, 10, tzinfo=timezone.utc)


def test_add_months_keeps_time_and_zone():
    shanghai = timezone(timedelta(hours=8))
    moment = datetime(2026, 1, 31, 23, 59, 59, tzinfo=shanghai)
    assert add_months(moment, 1) == datetime(2026, 2, 28, 23, 59, 59, tzinfo=shanghai)
    assert add_months(moment, 1).tzinfo is shanghai
