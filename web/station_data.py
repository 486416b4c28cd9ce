"""A station page's numbers: today's power curve, daily energy beside the village's peers.

Pure functions over samples and roll-up rows (the page reads them from the store);
energy per day comes from the counters (core.counters), never from summed power.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from core.counters import daily_energy_wh, series_points
from core.reading import Quality, Sample
from core.store.base import DayBounds

#: the power curve's resolution [ms]: 5 minutes shows a morning's clouds on a phone
BIN_MS = 300_000


def power_curve_w(samples: Iterable[Sample], *, bin_ms: int = BIN_MS) -> list[tuple[int, float]]:
    """(bin start [ms], station power [W]) from its PV devices' power_w samples.

    Each device's good samples are averaged per bin, then the devices are added, so two
    inverters polled at different instants still add up to the station.
    """
    per: dict[tuple[str, int], list[float]] = defaultdict(list)
    for s in samples:
        if s.quality != Quality.GOOD or s.value is None:
            continue
        per[(s.device, s.ts_ms // bin_ms * bin_ms)].append(float(s.value))
    total: dict[int, float] = defaultdict(float)
    for (_dev, b), vals in per.items():
        total[b] += sum(vals) / len(vals)
    return sorted(total.items())


def daily_wh_by_station(
    rows: Iterable[DayBounds], pv_devices: Mapping[str, str], tz: ZoneInfo
) -> dict[str, dict[int, int]]:
    """Station -> {local day YYYYMMDD: Wh} from energy_total_wh roll-ups of its PV devices."""
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for (station, _device, _f), pts in series_points(
        r for r in rows if r.device in pv_devices
    ).items():
        for day, wh in daily_energy_wh(pts, tz).items():
            out[station][day] = out[station].get(day, 0) + wh
    return dict(out)


def specific_yield(
    days: Sequence[int], wh: Mapping[int, int], capacity_kw: float
) -> list[float | None]:
    """kWh/kWp for each day; None for a day without any reading."""
    return [wh[d] / 1000 / capacity_kw if d in wh else None for d in days]


def peer_median(
    days: Sequence[int], peers: Mapping[str, Mapping[int, int]], capacity_kw: Mapping[str, float]
) -> list[float | None]:
    """Median kWh/kWp of the peers with a reading that day; None where none had one."""
    out: list[float | None] = []
    for d in days:
        vals = [wh[d] / 1000 / capacity_kw[s] for s, wh in peers.items() if d in wh]
        out.append(statistics.median(vals) if vals else None)
    return out
