"""The deadline clock: hours counted only inside working hours when the config says so.

Pure functions of instants (UTC [ms]), the site's zone and om.working_hours; a weekend
or holiday adds no time, a night adds none, and without working hours every hour counts.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.config.om import WorkingHours

_H = 3_600_000


def _hm(text: str) -> dt.time:
    h, m = text.split(":")
    return dt.time(int(h), int(m))


def _windows(day: dt.date, wh: WorkingHours, tz: ZoneInfo) -> tuple[int, int] | None:
    """The working window of one local day as UTC [ms], or None on a day off."""
    if day.isoweekday() not in wh.days or day in wh.holidays:
        return None
    a = dt.datetime.combine(day, _hm(wh.start), tz)
    b = dt.datetime.combine(day, _hm(wh.end), tz)
    return int(a.timestamp() * 1000), int(b.timestamp() * 1000)


def working_ms(start_ms: int, end_ms: int, wh: WorkingHours | None, tz: ZoneInfo) -> int:
    """Deadline-clock time between two instants [ms] (0 when end is not after start)."""
    if end_ms <= start_ms:
        return 0
    if wh is None:
        return end_ms - start_ms
    day = dt.datetime.fromtimestamp(start_ms / 1000, tz).date()
    last = dt.datetime.fromtimestamp(end_ms / 1000, tz).date()
    total = 0
    while day <= last:
        w = _windows(day, wh, tz)
        if w is not None:
            total += max(0, min(end_ms, w[1]) - max(start_ms, w[0]))
        day += dt.timedelta(days=1)
    return total


def due_ms(start_ms: int, hours: float, wh: WorkingHours | None, tz: ZoneInfo) -> int:
    """The instant [ms] the deadline clock reaches `hours` after start_ms."""
    need = round(hours * _H)
    if wh is None:
        return start_ms + need
    day = dt.datetime.fromtimestamp(start_ms / 1000, tz).date()
    for _ in range(3660):  # ten years of days: a deadline is hours, never that long
        w = _windows(day, wh, tz)
        if w is not None:
            a = max(start_ms, w[0])
            if a < w[1]:
                if a + need <= w[1]:
                    return a + need
                need -= w[1] - a
        day += dt.timedelta(days=1)
    raise ValueError("working hours leave no time for the deadline")


def level_due(elapsed_ms: int, deadline_h: float, every_h: float, max_level: int) -> int:
    """Contact level an active order should be at after elapsed_ms of deadline clock:
    0 before the deadline, 1 at it, one more every every_h after, at most max_level."""
    if elapsed_ms < deadline_h * _H:
        return 0
    extra = int((elapsed_ms - deadline_h * _H) // (every_h * _H))
    return max(1, min(1 + extra, max_level))
