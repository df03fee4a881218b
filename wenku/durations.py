"""Membership lengths as admins type them: 7天, 2周, 1月, 3个月, 1年, 永久."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import texts
from .errors import BadDuration
from .textnorm import normalize

__all__ = ["Duration", "LIFETIME", "parse_duration", "add_months"]

_CHINESE_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"天": "days", "日": "days", "周": "weeks", "星期": "weeks", "个月": "months", "月": "months", "年": "years"}
#: The longest length accepted, 100 years: 9999年 would end past datetime's year 9999 (use 永久).
MAX_MONTHS, MAX_DAYS = 1200, 36525
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
        return texts.duration_text(self)


LIFETIME = Duration(lifetime=True)


#: Chinese numerals up to 99 as written: 三, 十, 十五, 二十, 二十五 (not 一二, 十二十, 零十).
_CHINESE_NUMBER = re.compile(r"^(?:([一二两三四五六七八九]?)十([一二三四五六七八九]?)|([零一二两三四五六七八九]))$")


def _chinese_number(text: str) -> int | None:
    """The value of digits or a Chinese numeral; None when the numeral is malformed."""
    if text.isdigit():
        return int(text)
    match = _CHINESE_NUMBER.match(text)
    if match is None:
        return None
    tens, ones, single = match.groups()
    if single is not None:
        return _CHINESE_DIGITS[single]
    return _CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0)


def parse_duration(text: str) -> Duration:
    cleaned = normalize(text).strip()
    if cleaned in ("永久", "终身", "永久会员"):
        return LIFETIME
    match = _PATTERN.match(cleaned)
    if not match:
        raise BadDuration(text)
    amount = _chinese_number(match.group(1))
    unit = _UNITS[match.group(2)]
    if amount is None or amount <= 0:
        raise BadDuration(text)
    if unit == "days":
        duration = Duration(days=amount)
    elif unit == "weeks":
        duration = Duration(days=7 * amount)
    elif unit == "months":
        duration = Duration(months=amount)
    else:
        duration = Duration(months=12 * amount)
    if duration.months > MAX_MONTHS or duration.days > MAX_DAYS:
        raise BadDuration(text)
    return duration


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months later; the 31st of a short month becomes its last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
