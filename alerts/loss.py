"""Income lost since an alert began: expected energy × the station's tariff rate.

A kind names its estimate by its ``LOSS`` trait (alerts/kinds/__init__.py):

- ``"stop"``: the device (or station) produces nothing: its clear-sky output since the
  alert began × the share of clear sky its village peers made in the last hour;
- ``"village"``: every station of the village stopped: their clear-sky output × the
  share the other villages made, priced station by station;
- ``"shortfall"``: the station's low days against the peer median (kWh/kWp × kWp);
- None: no loss is claimed (comms and counters: generation may continue).

An estimate for O&M priority, not a statement: revenue computes what is paid.
"""

from __future__ import annotations

import numpy as np

from alerts.fleet import FleetIndex
from alerts.income import lost_fen, rate_yuan_per_kwh
from alerts.signals import peer_share
from alerts.snapshot import Snapshot
from alerts.state import Alert
from core import solar
from core.localday import local_date

_STEP_MS = 600_000  # the clear-sky sum's step: 10 min
_HOUR_MS = 3_600_000


def peer_weather(fleet: FleetIndex, snap: Snapshot | None, station: str | None) -> float | None:
    """Output / clear-sky of a station's village peers over the last hour [-]."""
    st = fleet.stations.get(station or "")
    if snap is None or st is None:
        return None
    peers = {
        p: snap.peer_points[p]
        for p in fleet.village_stations.get(st.village, [])
        if p != st.id and p in snap.peer_points
    }
    share = peer_share(peers, snap.now_ms - _HOUR_MS, snap.now_ms)
    return share if share is not None else outside_weather(fleet, snap, st.village)


def outside_weather(fleet: FleetIndex, snap: Snapshot | None, village: str | None) -> float | None:
    """Output / clear-sky of the stations outside a village over the last hour [-]."""
    if snap is None:
        return None
    others = {s: pts for s, pts in snap.peer_points.items() if fleet.stations[s].village != village}
    return peer_share(others, snap.now_ms - _HOUR_MS, snap.now_ms)


def village_kw(fleet: FleetIndex, village: str) -> float:
    """Nameplate of a village's producing stations [kW]."""
    return sum(fleet.stations[s].capacity_kw for s in fleet.village_stations.get(village, []))


def clear_sky_wh(
    fleet: FleetIndex, kw: float, weather: float | None, alert: Alert, now_ms: int
) -> int:
    """Clear-sky energy of kw [kWp] from the alert's start to its end (or now) × weather [Wh]."""
    end = alert.resolved_ms or now_ms
    if end <= alert.since_ms:
        return 0
    site = fleet.config.site
    grid = np.arange(alert.since_ms, end, _STEP_MS, dtype=np.int64)
    exp = np.asarray(solar.expected_power_w(kw, grid, site.latitude, site.longitude), dtype=float)
    factor = 1.0 if weather is None else min(max(weather, 0.0), 1.0)
    return round(float(exp.sum()) * factor * (_STEP_MS / _HOUR_MS))


def expected_wh(
    loss: str | None, alert: Alert, fleet: FleetIndex, snap: Snapshot | None, now_ms: int
) -> int | None:
    """Energy the subject should have produced since the alert began [Wh]; None when the
    kind claims no loss."""
    if loss is None:
        return None
    if loss == "shortfall":
        st = fleet.stations.get(alert.station or "")
        own = alert.seen.get("own_kwh_per_kwp") or []
        peer = alert.seen.get("peer_median_kwh_per_kwp") or []
        if st is None:
            return None
        gap = sum(max(p - o, 0) for o, p in zip(own, peer, strict=False))
        return round(gap * st.capacity_kw * 1000)
    if loss == "village":
        kw = village_kw(fleet, alert.subject)
        return clear_sky_wh(fleet, kw, outside_weather(fleet, snap, alert.subject), alert, now_ms)
    info = fleet.devices.get(alert.device or "")
    kw = info.capacity_kw if info else fleet.stations[alert.station or ""].capacity_kw
    return clear_sky_wh(fleet, kw, peer_weather(fleet, snap, alert.station), alert, now_ms)


def lost_income(
    loss: str | None, alert: Alert, fleet: FleetIndex, snap: Snapshot | None, now_ms: int
) -> tuple[int | None, int | None]:
    """(expected energy [Wh], income lost [fen]) since the alert began, or Nones."""
    wh = expected_wh(loss, alert, fleet, snap, now_ms)
    if wh is None:
        return None, None
    config = fleet.config
    day = local_date(now_ms, config.site.tz)
    if loss == "village":
        total_kw = max(village_kw(fleet, alert.subject), 1e-9)
        fen = sum(
            lost_fen(
                round(wh * fleet.stations[s].capacity_kw / total_kw),
                rate_yuan_per_kwh(fleet.stations[s], config.tariffs, day),
            )
            for s in fleet.village_stations.get(alert.subject, [])
        )
        return wh, fen
    st = fleet.stations.get(alert.station or "")
    if st is None:
        return wh, None
    return wh, lost_fen(wh, rate_yuan_per_kwh(st, config.tariffs, day))
