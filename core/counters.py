"""Energy from cumulative counters: the daily roll-ups as counter readings, and daily energy.

Energy that is paid or compared comes from lifetime counters (meters' ``export_wh``,
inverters' ``energy_total_wh``), never from summed power, so a lost sample loses
resolution, never energy. The store keeps the first and last good value of every series
per local day (core.store.base.DayBounds); those are readings of the counter, and the
energy between any two of them is their difference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from core.localday import day_of_ms
from core.store.base import DayBounds

#: a counter reading (ts_ms, counter [Wh])
CounterPoint = tuple[int, int]
#: (station, device, field)
SeriesKey = tuple[str, str, str]


def series_points(rows: Iterable[DayBounds]) -> dict[SeriesKey, list[CounterPoint]]:
    """Counter readings per series from daily roll-ups, sorted by time, one per instant."""
    out: dict[SeriesKey, list[CounterPoint]] = defaultdict(list)
    for b in rows:
        pts = out[(b.station, b.device, b.field)]
        for ts, v in ((b.first_ts_ms, b.first_value), (b.last_ts_ms, b.last_value)):
            if ts is not None and v is not None:
                pts.append((ts, int(v)))
    for key, pts in out.items():
        pts.sort()
        out[key] = [p for i, p in enumerate(pts) if i == 0 or pts[i - 1][0] != p[0]]
    return dict(out)


def daily_energy_wh(points: list[CounterPoint], tz: ZoneInfo) -> dict[int, int]:
    """Energy per local day YYYYMMDD [Wh] from one counter's readings sorted by time.

    A day's energy is its last reading minus the reading before the day's first one (the
    previous day's last; the day's own first when nothing came before). A backward step
    counts zero here: it is a counter anomaly (core.counter_anomaly), judged there.
    """
    out: dict[int, int] = {}
    prev: int | None = None
    for ts, v in points:
        day = day_of_ms(ts, tz)
        base = v if prev is None else prev
        out[day] = out.get(day, 0) + max(v - base, 0)
        prev = v
    return out
