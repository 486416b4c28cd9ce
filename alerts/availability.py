"""Availability of stations: daylight minutes producing over daylight minutes, grid and
village outages excluded (they are the grid's, not the station's or its contractor's).

A time bin of om.bin_s is daylight when clear sky gives om.daylight_w_per_kwp per kWp;
it is excluded while a village_outage alert of the station's village was open, or when
every station of a village of two or more reported no output at once (the grid is off:
inverters drop to zero together). A bin without a reading is unknown and not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alerts.fleet import FleetIndex
from alerts.workorders import production as prod
from alerts.workorders.evidence import clear_1kw, station_power
from core.store.base import Store

#: output / clear sky above this is "producing" [-]
PRODUCING_RATIO = 0.02
#: read this many bins at a time (a month of one village stays small)
_CHUNK_BINS = 2016


@dataclass(frozen=True)
class Availability:
    """One station's daylight minutes producing and counted."""

    station: str
    producing_min: float
    daylight_min: float

    @property
    def share(self) -> float | None:
        """Producing / counted daylight [-] (None when nothing was counted)."""
        return self.producing_min / self.daylight_min if self.daylight_min else None


def outage_mask(
    n: int,
    start_ms: int,
    bin_ms: int,
    intervals: Iterable[tuple[int, int]],
    village_ratios: Sequence[Sequence[float | None]],
) -> list[bool]:
    """Per bin: under an outage interval, or every station of the village (two or more,
    all reporting) at no output."""
    mask = [False] * n
    for a, b in intervals:
        for i in range(max((a - start_ms) // bin_ms, 0), min(-(-(b - start_ms) // bin_ms), n)):
            mask[i] = True
    if len(village_ratios) >= 2:
        for i in range(n):
            col = [r[i] for r in village_ratios]
            if all(v is not None and v <= PRODUCING_RATIO for v in col):
                mask[i] = True
    return mask


def village_availability(
    store: Store,
    fleet: FleetIndex,
    village: str,
    start_ms: int,
    end_ms: int,
    outages: Iterable[tuple[int, int]] = (),
) -> dict[str, Availability]:
    """Availability of every producing station of a village over [start, end)."""
    om = fleet.config.om
    bin_ms = om.bin_s * 1000
    stations = fleet.village_stations.get(village, [])
    outages = list(outages)
    prod_min = dict.fromkeys(stations, 0.0)
    day_min = dict.fromkeys(stations, 0.0)
    t = start_ms // bin_ms * bin_ms
    while t < end_ms:
        n = min(_CHUNK_BINS, (end_ms - t + bin_ms - 1) // bin_ms)
        clear = clear_1kw(fleet, t, n, bin_ms)
        power = station_power(store, fleet, stations, t, n, bin_ms)
        ratio = {
            s: prod.ratios(power[s], clear, fleet.stations[s].capacity_kw, om.daylight_w_per_kwp)
            for s in stations
        }
        mask = outage_mask(n, t, bin_ms, outages, list(ratio.values()))
        for s in stations:
            p, d = prod.availability_min(
                ratio[s],
                clear,
                daylight_w=om.daylight_w_per_kwp,
                bin_min=om.bin_s / 60,
                excluded=mask,
                producing_ratio=PRODUCING_RATIO,
            )
            prod_min[s] += p
            day_min[s] += d
        t += n * bin_ms
    return {s: Availability(s, prod_min[s], day_min[s]) for s in stations}


def fleet_availability(
    store: Store,
    fleet: FleetIndex,
    start_ms: int,
    end_ms: int,
    outages: dict[str, list[tuple[int, int]]] | None = None,
    villages: Iterable[str] | None = None,
) -> dict[str, Availability]:
    """Availability of every producing station (of some villages) over [start, end);
    outages: village -> its outage intervals (village_outage alerts)."""
    out: dict[str, Availability] = {}
    for v in villages if villages is not None else fleet.village_stations:
        out.update(
            village_availability(store, fleet, v, start_ms, end_ms, (outages or {}).get(v, ()))
        )
    return out


def outage_intervals(alerts: Iterable, end_ms: int) -> dict[str, list[tuple[int, int]]]:
    """village -> (since, resolved or end) of its village_outage alerts (alerts.state.Alert)."""
    out: dict[str, list[tuple[int, int]]] = {}
    for a in alerts:
        if a.kind == "village_outage":
            out.setdefault(a.subject, []).append((a.since_ms, a.resolved_ms or end_ms))
    return out
