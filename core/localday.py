"""Local-day arithmetic: the site's calendar days as YYYYMMDD integers.

Timestamps are UTC epoch milliseconds everywhere; days, months and periods are in the
site's time zone (Asia/Shanghai). The daily roll-ups of the store are keyed by the local
day as an integer ``YYYYMMDD`` (20260715), which sorts like the date and fits an index.
This module is the one place that converts between the three.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DAY_MS = 86_400_000


def day_number(day: dt.date) -> int:
    """A date as YYYYMMDD [-]."""
    return day.year * 10000 + day.month * 100 + day.day


def day_date(day: int) -> dt.date:
    """YYYYMMDD [-] as a date; ValueError for a day that does not exist."""
    return dt.date(day // 10000, day // 100 % 100, day % 100)


def local_midnight_ms(day: dt.date, tz: ZoneInfo) -> int:
    """UTC epoch ms of local midnight at the start of a date [ms]."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp() * 1000)


def day_start_ms(day: int, tz: ZoneInfo) -> int:
    """UTC epoch ms of local midnight starting the day YYYYMMDD [ms]."""
    return local_midnight_ms(day_date(day), tz)


def local_date(ts_ms: int, tz: ZoneInfo) -> dt.date:
    """The site-local date of a UTC timestamp [ms]."""
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=tz).date()


def day_of_ms(ts_ms: int, tz: ZoneInfo) -> int:
    """The site-local day of a UTC timestamp [ms], as YYYYMMDD."""
    return day_number(local_date(ts_ms, tz))


def next_day(day: int) -> int:
    """The day after YYYYMMDD, as YYYYMMDD."""
    return day_number(day_date(day) + dt.timedelta(days=1))


def day_text(day: int) -> str:
    """YYYYMMDD as ISO text "YYYY-MM-DD" (for people and CSV)."""
    return f"{day // 10000}-{day // 100 % 100:02d}-{day % 100:02d}"


def month_of_day(day: int) -> str:
    """The month id "YYYY-MM" of a day YYYYMMDD."""
    return f"{day // 10000}-{day // 100 % 100:02d}"
