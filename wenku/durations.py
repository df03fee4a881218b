"""Membership lengths as admins type them: 7天, 2周, 1月, 3个月, 1年, 永久."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import BadDuration
from .textnorm import normalize

__all__ = ["Duration", "LIFETIME", "parse_duration", "add_months"]

_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"天": "days", "日": "days", "周": "weeks", "星期": "weeks", "个月": "months", "月": "months", "年": "years"}
_PATTERN = re.compile(r"^(\d{1,4}|[零一二两三四五六七八九十]{1,3})\s*(天|日|周|星期|个月|月|年)$")


@dataclass(frozen=True)
class Duration:
    days: int = 0
    months: int = 0
    lifetime: bool = False

    def after(self, start: datetime) -> datetime | None:
        """The end of a membership of this length starting at ``start``; None for lifetime."""
        if self.lifetime:
            return None
        return add_months(start, self.months) + timedelta(days=self.days)

    def __str__(self) -> str:
        if self.lifetime:
            return "永久"
        if self.months and self.months % 12 == 0:
            return f"{self.months // 12}年"
        if self.months:
            return f"{self.months}个月"
        return f"{self.days}天"


LIFETIME = Duration(lifetime=True)


def _chinese_number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if "十" in text:
        tens, _, ones = text.partition("十")
        return _CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0)
    return _CHINESE_DIGITS[text]


def parse_duration(text: str) -> Duration:
    cleaned = normalize(text).strip()
    if cleaned in ("永久", "终身", "永久会员"):
        return LIFETIME
    match = _PATTERN.match(cleaned)
    if not match:
        raise BadDuration(text)
    amount = _chinese_number(match.group(1))
    unit = _UNITS[match.group(2)]
    if amount <= 0:
        raise BadDuration(text)
    if unit == "days":
        return Duration(days=amount)
    if unit == "weeks":
        return Duration(days=7 * amount)
    if unit == "months":
        return Duration(months=amount)
    return Duration(months=12 * amount)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later; the 31st of a short month becomes its last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
