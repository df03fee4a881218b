"""The dashboard's daily series and their SVG bar geometry."""

from datetime import date, timedelta

from wenku.stats import start_of_day
from wenku_console.charts import HEIGHT, WIDTH, bar_chart, daily_series

from .conftest import NOW

TODAY = start_of_day(NOW)  # 2026-11-24 00:00 in Asia/Shanghai
USABLE = HEIGHT - 26 - 4  # 190: the plot area above the date labels
BASELINE = HEIGHT - 26  # 194: where every bar stands


def thirty_days() -> list[str]:
    return [(date(2026, 10, 26) + timedelta(days=offset)).isoformat() for offset in range(30)]


def test_daily_series_covers_30_days_ending_today_with_zeros_between():
    counts = {"2026-10-25": 9, "2026-10-26": 1, "2026-11-10": 4, "2026-11-24": 3, "2026-11-25": 7}
    series = daily_series(counts, TODAY)
    assert [day for day, _ in series] == thirty_days()
    assert series[0] == ("2026-10-26", 1)
    assert series[15] == ("2026-11-10", 4)
    assert series[-1] == ("2026-11-24", 3)
    # Days before the window and after today are left out; every other day is zero.
    assert sum(value for _, value in series) == 8
    assert [value for _, value in series].count(0) == 27


def test_daily_series_of_nothing_is_all_zeros():
    assert daily_series({}, TODAY, days=3) == [("2026-11-22", 0), ("2026-11-23", 0), ("2026-11-24", 0)]


def test_bar_heights_are_proportional_to_the_peak():
    chart = bar_chart("searches", "每日搜索", [("2026-11-22", 10), ("2026-11-23", 5), ("2026-11-24", 0)])
    assert (chart.key, chart.title, chart.peak, chart.total) == ("searches", "每日搜索", 10, 15)
    assert [(bar.day, bar.value, bar.height, bar.y) for bar in chart.bars] == [
        ("2026-11-22", 10, 190.0, 4.0),
        ("2026-11-23", 5, 95.0, 99.0),
        ("2026-11-24", 0, 0.0, 194.0),
    ]
    slot = WIDTH / 3
    assert [bar.x for bar in chart.bars] == [round(slot * 0.15, 1), round(slot * 1.15, 1), round(slot * 2.15, 1)]
    assert {bar.width for bar in chart.bars} == {round(slot * 0.7, 1)}
    assert all(bar.y + bar.height == BASELINE for bar in chart.bars)


def test_a_day_with_activity_is_never_drawn_flat():
    chart = bar_chart("fulltexts", "每日全文", [("2026-11-23", 1000), ("2026-11-24", 1)])
    assert [bar.height for bar in chart.bars] == [float(USABLE), 2.0]  # 0.19 would be invisible


def test_an_empty_chart_has_no_height_and_no_division_by_zero():
    chart = bar_chart("members", "每日新会员", [(day, 0) for day in thirty_days()])
    assert (chart.peak, chart.total) == (0, 0)
    assert {bar.height for bar in chart.bars} == {0.0}


def test_labels_fall_on_every_seventh_day_counted_back_from_today():
    chart = bar_chart("searches", "每日搜索", daily_series({}, TODAY))
    assert [bar.day for bar in chart.labels] == ["2026-10-27", "2026-11-03", "2026-11-10", "2026-11-17", "2026-11-24"]
