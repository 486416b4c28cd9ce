"""Payout periods: calendar months and quarters in the site's time zone."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.localday import local_midnight_ms
from core.problems import BadInput, Problem

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


@dataclass(frozen=True)
class Period:
    """A month (YYYY-MM) or quarter (YYYYQn): local dates start .. end (exclusive)."""

    id: str
    start: dt.date
    end: dt.date

    @property
    def month_count(self) -> int:
        """Number of calendar months covered (1 or 3)."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month

    @property
    def month_ids(self) -> list[str]:
        """The months covered, as "YYYY-MM" ids."""
        return whole_months(self.start, self.end)

    def start_ms(self, tz: ZoneInfo) -> int:
        """UTC epoch ms of local midnight starting the period."""
        return local_midnight_ms(self.start, tz)

    def end_ms(self, tz: ZoneInfo) -> int:
        """UTC epoch ms of local midnight ending the period (exclusive)."""
        return local_midnight_ms(self.end, tz)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        if self.month_count == 3:
            y, q = self.start.year, (self.start.month - 1) // 3 + 1
            y, q = (y - 1, 4) if q == 1 else (y, q - 1)
            return parse_period(f"{y}Q{q}")
        d = self.start - dt.timedelta(days=1)
        return parse_period(f"{d.year}-{d.month:02d}")


def _add_months(d: dt.date, n: int) -> dt.date:
    m = d.month - 1 + n
    return dt.date(d.year + m // 12, m % 12 + 1, 1)


def parse_period(text: str) -> Period:
    """Parse YYYY-MM or YYYYQn; BadInput otherwise."""
    if m := _MONTH.match(text):
        start = dt.date(int(m[1]), int(m[2]), 1)
        return Period(text, start, _add_months(start, 1))
    if m := _QUARTER.match(text):
        start = dt.date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1)
        return Period(text, start, _add_months(start, 3))
    raise BadInput(
        [Problem("--period", f"{text!r} is not a period", "write YYYY-MM (2026-07) or YYYYQn")]
    )


def whole_months(start: dt.date, end: dt.date) -> list[str]:
    """Month ids "YYYY-MM" of [start, end) when it is whole months, else [] (mid-month cut)."""
    if start.day != 1 or end.day != 1:
        return []
    out, d = [], start
    while d < end:
        out.append(f"{d.year}-{d.month:02d}")
        d = _add_months(d, 1)
    return out
