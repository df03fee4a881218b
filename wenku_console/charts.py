"""Daily series for the dashboard, drawn as server-side SVG bar charts (no script, no CDN)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["Bar", "Chart", "daily_series", "bar_chart"]

WIDTH, HEIGHT = 600, 220
AXIS = 26  # room under the bars for the date labels


@dataclass(frozen=True)
class Bar:
    day: str  # YYYY-MM-DD
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    bars: list[Bar]
    peak: int
    total: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def labels(self) -> list[Bar]:
        """Every seventh day, counted back from today, gets a date under its bar."""
        return [bar for index, bar in enumerate(self.bars) if (len(self.bars) - 1 - index) % 7 == 0]


def daily_series(counts: dict[str, int], today: datetime, days: int = 30) -> list[tuple[str, int]]:
    """(day, count) for the ``days`` local days ending with ``today``'s, zero where nothing happened."""
    first = today.date() - timedelta(days=days - 1)
    return [
        ((first + timedelta(days=offset)).isoformat(), counts.get((first + timedelta(days=offset)).isoformat(), 0))
        for offset in range(days)
    ]


def bar_chart(key: str, title: str, series: list[tuple[str, int]]) -> Chart:
    peak = max((value for _, value in series), default=0)
    slot = WIDTH / max(len(series), 1)
    usable = HEIGHT - AXIS - 4
    bars = []
    for index, (day, value) in enumerate(series):
        height = round(usable * value / peak, 1) if peak else 0.0
        # A day with activity never disappears: at least a sliver is drawn.
        if value and height < 2:
            height = 2.0
        bars.append(
            Bar(
                day=day,
                value=value,
                x=round(index * slot + slot * 0.15, 1),
                y=round(HEIGHT - AXIS - height, 1),
                width=round(slot * 0.7, 1),
                height=height,
            )
        )
    return Chart(key=key, title=title, bars=bars, peak=peak, total=sum(value for _, value in series))
