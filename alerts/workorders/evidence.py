"""A work order's stations and their peers read from the store into time bins, and what
the bins say: the verdict after a repair and the energy and income lost."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from alerts.fleet import PRODUCING_ROLES, FleetIndex
from alerts.income import lost_fen, rate_yuan_per_kwh
from alerts.kinds import kinds
from alerts.workorders import production as prod
from alerts.workorders.model import WorkOrder
from core import solar
from core.localday import local_date
from core.reading import Quality
from core.store.base import Store

#: stations of other villages asked when a village has no peer left (a village outage)
OUTSIDE_PEERS = 8
#: readings this far apart still describe the bins between them (15-minute history) [ms]
HOLD_MS = 1_200_000
#: days before the fault whose own output/clear-sky ratio stands in when no peer reports
OWN_HISTORY_DAYS = 7
_H = 3_600_000


@dataclass(frozen=True)
class Evidence:
    """Bins of bin_ms from start_ms: clear sky of 1 kWp, each subject station's output and
    ratio, the peers' share, and each subject's own earlier ratio (the fallback)."""

    start_ms: int
    bin_ms: int
    clear_1kw: list[float]
    own_w: dict[str, list[float | None]]
    own_ratio: dict[str, list[float | None]]
    share: list[float | None]
    fallback: dict[str, float | None]

    @property
    def n(self) -> int:
        """Number of bins."""
        return len(self.clear_1kw)

    def bin_start_ms(self, i: int) -> int:
        """Start of bin i [ms]."""
        return self.start_ms + i * self.bin_ms

    def subject_ratio(self) -> list[float | None]:
        """The subjects' ratio per bin (the median over a village's stations)."""
        return prod.median_share(list(self.own_ratio.values()), self.n)


def subjects(fleet: FleetIndex, order: WorkOrder) -> list[str]:
    """The stations an order is about: its station, or every station of its village."""
    if order.station is not None:
        return [order.station] if order.station in fleet.producing else []
    return list(fleet.village_stations.get(order.village or "", []))


def peers(
    fleet: FleetIndex, order: WorkOrder, exclude: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """(village peers, stations of other villages) to compare an order's stations with;
    stations in exclude (under another work order) are left out."""
    skip = set(exclude) | set(subjects(fleet, order))
    village = order.village or fleet.stations[order.station or ""].village
    own = [] if order.station is None else fleet.village_stations.get(village, [])
    village_peers = [s for s in own if s not in skip]
    others = sorted(
        s for v, sts in fleet.village_stations.items() if v != village for s in sts if s not in skip
    )
    step = max(len(others) // OUTSIDE_PEERS, 1)
    return village_peers, others[::step][:OUTSIDE_PEERS]


def station_power(
    store: Store, fleet: FleetIndex, stations: list[str], start_ms: int, n: int, bin_ms: int
) -> dict[str, list[float | None]]:
    """Each station's output per bin [W]: the sum over its producing devices of their mean
    good power_w in the bin (None where none of them reported); a device's value holds
    over the bins up to HOLD_MS after its reading (readings sparser than the bins)."""
    if not stations:
        return {}
    per_dev: dict[tuple[str, str], list[tuple[int, float]]] = defaultdict(list)
    roles = {d.id: d.role for d in fleet.devices.values()}
    for s in store.series(
        stations=stations, fields=["power_w"], start_ms=start_ms, end_ms=start_ms + n * bin_ms
    ):
        if (
            s.quality != Quality.GOOD
            or s.value is None
            or roles.get(s.device) not in PRODUCING_ROLES
        ):
            continue
        per_dev[(s.station, s.device)].append((s.ts_ms, float(s.value)))
    out: dict[str, list[float | None]] = {}
    for sid in stations:
        devs = [
            prod.hold(prod.bin_means(v, start_ms, n, bin_ms), HOLD_MS // bin_ms - 1)
            for (st, _), v in per_dev.items()
            if st == sid
        ]
        out[sid] = (
            [
                (sum(x for x in col if x is not None) if any(x is not None for x in col) else None)
                for col in zip(*devs, strict=True)
            ]
            if devs
            else [None] * n
        )
    return out


def clear_1kw(fleet: FleetIndex, start_ms: int, n: int, bin_ms: int) -> list[float]:
    """Clear-sky output of 1 kWp at each bin's middle [W]."""
    site = fleet.config.site
    mid = start_ms + bin_ms // 2 + np.arange(n, dtype=np.int64) * bin_ms
    return np.asarray(
        solar.expected_power_w(1.0, mid, site.latitude, site.longitude), float
    ).tolist()


def own_history_ratio(
    store: Store, fleet: FleetIndex, station: str, before_ms: int
) -> float | None:
    """A station's own output / clear sky over the days before a fault [-] (None: no data)."""
    n = OWN_HISTORY_DAYS * 24
    start = before_ms - n * _H
    kw = fleet.stations[station].capacity_kw
    own = station_power(store, fleet, [station], start, n, _H)[station]
    clear = clear_1kw(fleet, start, n, _H)
    daylight = fleet.config.om.daylight_w_per_kwp
    got = exp = 0.0
    for p, c in zip(own, clear, strict=True):
        if p is not None and c >= daylight:
            got += p
            exp += c * kw
    return got / exp if exp > 0 else None


def gather(
    store: Store,
    fleet: FleetIndex,
    order: WorkOrder,
    start_ms: int,
    end_ms: int,
    *,
    exclude: Iterable[str] = (),
) -> Evidence:
    """Read the bins of an order's stations and peers from start to end."""
    om = fleet.config.om
    bin_ms = om.bin_s * 1000
    start = start_ms // bin_ms * bin_ms
    n = max((end_ms - start) // bin_ms, 0)
    clear = clear_1kw(fleet, start, n, bin_ms)
    subj = subjects(fleet, order)
    near, far = peers(fleet, order, exclude)
    power = station_power(store, fleet, subj + near + far, start, n, bin_ms)
    day_w = om.daylight_w_per_kwp

    def ratio(sid: str) -> list[float | None]:
        return prod.ratios(power[sid], clear, fleet.stations[sid].capacity_kw, day_w)

    share = (
        prod.first_known(
            prod.median_share([ratio(s) for s in near], n),
            prod.median_share([ratio(s) for s in far], n),
        )
        if n
        else []
    )
    missing = any(s is None and c >= day_w for s, c in zip(share, clear, strict=True))
    fallback = {
        s: (own_history_ratio(store, fleet, s, order.fault_start_ms) if missing else None)
        for s in subj
    }
    return Evidence(
        start,
        bin_ms,
        clear,
        {s: power[s] for s in subj},
        {s: ratio(s) for s in subj},
        share,
        fallback,
    )


def claims_missing(kind: str) -> bool:
    """Whether a bin without a reading counts as zero output for this kind of order (the
    kind says the station stopped; manual orders are for faults staff saw)."""
    k = kinds().get(kind)
    return k is None or k.loss in ("stop", "village")


def verdict(fleet: FleetIndex, ev: Evidence) -> prod.Verdict | None:
    """What the bins after a repair say (production.judge_repair with the om thresholds)."""
    om = fleet.config.om
    own = ev.subject_ratio()
    share = [
        s if s is not None else _mean_fallback(ev) if c >= om.daylight_w_per_kwp else None
        for s, c in zip(ev.share, ev.clear_1kw, strict=True)
    ]
    return prod.judge_repair(
        own,
        share,
        normal_share=float(om.normal_share_of_peers) / 100,
        bin_min=om.bin_s / 60,
        verify_min=om.verify_daylight_min,
        reopen_min=om.reopen_daylight_min,
    )


def _mean_fallback(ev: Evidence) -> float | None:
    vals = [v for v in ev.fallback.values() if v is not None]
    return sum(vals) / len(vals) if vals else None


def loss(fleet: FleetIndex, order: WorkOrder, ev: Evidence, end_ms: int) -> tuple[int, int]:
    """(energy lost [Wh], income lost [fen]) from the evidence's start to end_ms: per
    station and local day, expected minus produced, priced at the tariff revenue pays
    with on that day (each day's energy rounded to the fen once)."""
    om = fleet.config.om
    tz = fleet.config.site.tz
    n_end = min(max((end_ms - ev.start_ms) // ev.bin_ms, 0), ev.n)
    claim = claims_missing(order.kind)
    total_wh = total_fen = 0
    for sid in ev.own_w:
        st = fleet.stations[sid]
        exp = prod.expected_w(
            ev.share, ev.clear_1kw, st.capacity_kw, om.daylight_w_per_kwp, ev.fallback.get(sid)
        )
        by_day: dict[dt.date, list[int]] = defaultdict(list)
        for i in range(n_end):
            by_day[local_date(ev.bin_start_ms(i), tz)].append(i)
        for day, idx in sorted(by_day.items()):
            wh = prod.lost_wh(
                [exp[i] for i in idx],
                [ev.own_w[sid][i] for i in idx],
                ev.bin_ms / _H,
                claim_missing=claim,
            )
            total_wh += wh
            total_fen += lost_fen(wh, rate_yuan_per_kwh(st, fleet.config.tariffs, day))
    return total_wh, total_fen


def estimate(
    store: Store, fleet: FleetIndex, order: WorkOrder, now_ms: int, *, exclude: Iterable[str] = ()
) -> tuple[int, int]:
    """(energy [Wh], income [fen]) lost from the fault's start to its restoration (a
    verified order) or now."""
    end = order.restored_ms if order.restored_ms is not None else now_ms
    ev = gather(store, fleet, order, order.fault_start_ms, end, exclude=exclude)
    return loss(fleet, order, ev, end)
