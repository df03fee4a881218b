"""The dashboard: today's figures, three 30-day charts drawn from the database, and the words nobody found.

Days are local (Asia/Shanghai, UTC+8): 16:00 UTC is already the next day.
"""

import re
from datetime import datetime, timezone

import pytest

from wenku import reports
from wenku.durations import parse_duration
from wenku.members import extend

from .conftest import ADMIN, cells, part


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


#: (when, query, hits)
SEARCHES = [
    ("2026-11-24T02:00:00", "工会", 2),
    ("2026-11-24T01:00:00", "换届选举", 0),
    ("2026-11-23T16:30:00", "工会 维权", 1),  # 00:30 on the 24th, local
    ("2026-11-23T15:59:00", "换届选举", 0),  # 23:59 on the 23rd, local
    ("2026-11-20T03:00:00", "航天", 0),
    ("2026-10-25T16:00:00", "乡村振兴", 1),  # midnight starting the first of the 30 days
    ("2026-10-25T15:59:00", "太早", 0),  # a minute before the window
]

#: (when, user, status): only what reached the member counts.
DELIVERIES = [
    ("2026-11-24T01:00:00", "30001", "sent"),
    ("2026-11-24T01:30:00", "30001", "partial"),
    ("2026-11-23T17:00:00", "30002", "sent"),  # the 24th, local
    ("2026-11-24T01:45:00", "30002", "failed"),
    ("2026-11-24T01:50:00", "30002", "pending"),
    ("2026-11-20T08:00:00", "30001", "sent"),
    ("2026-10-01T08:00:00", "30001", "sent"),  # before the window
]


@pytest.fixture
def busy(library):
    """A month of use: searches, full texts and memberships at chosen times, and one open report."""
    for when, query, hits in SEARCHES:
        library.log_search(
            now=utc(when), origin="group", user_id="30001", group_id="20001", query=query, terms=query.split(), hits=hits
        )
    for when, user, status in DELIVERIES:
        delivery = library.add_delivery(user_id=user, document_id=1, now=utc(when), format="text", group_id=None)
        library.set_delivery_status(delivery, status)
    grant = dict(actor=ADMIN, action="grant")
    extend(library, "30001", parse_duration("1月"), now=utc("2026-11-20T02:00:00"), **grant)  # new: counts
    extend(library, "30001", parse_duration("1月"), now=utc("2026-11-22T02:00:00"), **grant)  # renewal while active: not new
    extend(library, "30002", parse_duration("7天"), now=utc("2026-11-01T02:00:00"), **grant)  # new
    extend(library, "30002", parse_duration("20天"), now=utc("2026-11-10T02:00:00"), **grant)  # after lapsing: new again
    redeem = dict(actor="30003", action="redeem", source="code")
    extend(library, "30003", parse_duration("1年"), now=utc("2026-11-24T01:00:00"), **redeem)  # new, by a code
    extend(library, "30004", parse_duration("永久"), now=utc("2026-09-01T02:00:00"), **grant)  # before the window
    reports.file_report(
        library, reporter="30001", reported="30005", text="倒卖", group_id=None, now=utc("2026-11-24T01:00:00"), admins={ADMIN}
    )
    return library


def bars(page: str, key: str) -> list[tuple[str, int, float]]:
    """(day, value, height) of each bar of one chart."""
    svg = part(page, f'id="chart-{key}"', "</svg>")
    return [
        (day, int(value), float(height))
        for height, day, value in re.findall(r'height="([\d.]+)" data-day="([\d-]+)" data-value="(\d+)"', svg)
    ]


def days_with_activity(page: str, key: str) -> dict[str, int]:
    return {day: value for day, value, _ in bars(page, key) if value}


async def test_every_chart_covers_the_30_days_ending_today(admin, busy):
    page = (await admin.get("/admin/")).text
    for key in ("searches", "fulltexts", "members"):
        days = [day for day, _, _ in bars(page, key)]
        assert (len(days), days[0], days[-1]) == (30, "2026-10-26", "2026-11-24")


async def test_the_search_chart_counts_searches_per_local_day(admin, busy):
    page = (await admin.get("/admin/")).text
    assert days_with_activity(page, "searches") == {"2026-10-26": 1, "2026-11-20": 1, "2026-11-23": 1, "2026-11-24": 3}
    heights = {day: height for day, _, height in bars(page, "searches")}
    assert (heights["2026-11-24"], heights["2026-11-23"], heights["2026-11-22"]) == (190.0, 63.3, 0.0)
    assert "合计 6，单日最高 3" in page


async def test_the_full_text_chart_counts_what_reached_members(admin, busy):
    page = (await admin.get("/admin/")).text
    assert days_with_activity(page, "fulltexts") == {"2026-11-20": 1, "2026-11-24": 3}


async def test_the_member_chart_counts_memberships_that_started(admin, busy):
    page = (await admin.get("/admin/")).text
    assert days_with_activity(page, "members") == {"2026-11-01": 1, "2026-11-10": 1, "2026-11-20": 1, "2026-11-24": 1}


async def test_the_figures_of_today_and_the_week(admin, busy):
    page = (await admin.get("/admin/")).text
    figures = [
        (re.sub(r"<[^>]+>", "", number), label)
        for number, label in re.findall(r'<div class="figure"><b>(.*?)</b><span>(.*?)</span></div>', page)
    ]
    assert figures == [
        ("3", "文档"),
        ("4", "有效会员"),  # 30001, 30002, 30003 and the lifetime 30004
        ("1", "7 天内到期"),  # 30002, ending on the 30th
        ("3", "今日搜索（7 天 5）"),
        ("3", "今日全文（7 天 4）"),
        ("1", "待处理举报"),
    ]


async def test_the_words_nobody_found_in_the_last_30_days(admin, busy):
    page = (await admin.get("/admin/")).text
    assert cells(part(page, 'id="missed"', "</table>")) == [["词", "次数"], ["换届选举", "2"], ["航天", "1"]]


async def test_an_empty_console_draws_flat_charts(admin, store):
    page = (await admin.get("/admin/")).text
    for key in ("searches", "fulltexts", "members"):
        assert {value for _, value, _ in bars(page, key)} == {0}
        assert {height for _, _, height in bars(page, key)} == {0.0}
    assert '<p class="muted">暂无</p>' in part(page, 'id="missed"', "</div>")


async def test_search_words_are_shown_as_text(admin, store):
    store.log_search(now=utc("2026-11-24T01:00:00"), origin="group", user_id="1", group_id=None,
                     query="x", terms=["<script>", "[CQ:at,qq=all]"], hits=0)  # fmt: skip
    page = (await admin.get("/admin/")).text
    assert "<script>" not in page
    assert "<tr><td>&lt;script&gt;</td><td>1</td></tr>" in page
    assert "<tr><td>[CQ:at,qq=all]</td><td>1</td></tr>" in page
