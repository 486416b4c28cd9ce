"""One evaluation's view of the fleet: recent good readings, failed requests, the sun,
peers' output against clear sky, open alerts and the daily roll-up the kinds need.

Read once per evaluation (``take``) and handed to every kind, so each kind is a pure
function of the snapshot, the fleet and its rule.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from alerts.fleet import FleetIndex
from alerts.signals import COUNTERS, PeerPoint, Sample
from alerts.state import Alert
from core import solar
from core.localday import DAY_MS, day_of_ms
from core.reading import Quality
from core.store.base import DayBounds, Store

FIELDS = ("power_w", "energy_total_wh", "export_wh", "status", "fault_code")
#: fields of the daily roll-up a snapshot holds when a kind asks for history
HISTORY_FIELDS = ("energy_total_wh", "power_w")
#: recent readings read at least / at most [s]
MIN_LOOKBACK_S, MAX_LOOKBACK_S = 3600.0, 8 * 3600.0
_MIN = 60_000


@dataclass
class Snapshot:
    """Recent good readings per device and field, and the sun, at one evaluation.

    failed_ms: per device, the times of its COMM_ERROR samples (failed or unanswered
    requests) in the lookback, oldest first: the evidence comm_lost needs for a
    polled device. floor_ms: on a gateway, its first evaluation (silence before it is
    the gateway's own downtime). daily: roll-up rows of the last days some kind asked
    for (HISTORY_FIELDS), up to today.
    """

    now_ms: int
    start_ms: int
    points: dict[str, dict[str, list[Sample]]]
    last_good_ms: dict[str, int]
    rise_ms: int
    set_ms: int
    grid_ms: np.ndarray
    exp_1kw: np.ndarray
    peer_points: dict[str, list[PeerPoint]] = field(default_factory=dict)
    failed_ms: dict[str, list[int]] = field(default_factory=dict)
    floor_ms: int | None = None
    open_alerts: list[Alert] = field(default_factory=list)
    daily: list[DayBounds] = field(default_factory=list)
    #: county: gateway -> (state, since_ms) from its MQTT status topic (alerts/remote.py)
    gateway_status: dict[str, tuple[str, int]] = field(default_factory=dict)

    def expected_1kw(self, ts_ms: int) -> float:
        """Clear-sky output of 1 kWp at ts_ms [W] (from the minute grid)."""
        i = int((ts_ms - int(self.grid_ms[0])) // _MIN)
        return float(self.exp_1kw[min(max(i, 0), len(self.exp_1kw) - 1)])

    @property
    def sun(self) -> tuple[int, int]:
        """(sunrise, sunset) of the local day [ms]."""
        return self.rise_ms, self.set_ms

    def window(self, margin_s: float) -> tuple[int, int]:
        """(sunrise + margin, sunset - margin) [ms]: where production rules look."""
        m = int(margin_s * 1000)
        return self.rise_ms + m, self.set_ms - m

    def fields(self, device: str) -> dict[str, list[Sample]]:
        """The recent good readings of one device per field (empty when none)."""
        return self.points.get(device, {})


def take(
    store: Store,
    fleet: FleetIndex,
    now_ms: int,
    *,
    lookback_s: float,
    history_days: int = 0,
    open_alerts: list[Alert] | None = None,
    floor_ms: int | None = None,
) -> Snapshot:
    """Read the recent readings and compute the sun for one evaluation.

    lookback_s: how far back the kinds look (kept within MIN/MAX_LOOKBACK_S);
    history_days: local days of the daily roll-up to hold (0: none).
    """
    site = fleet.config.site
    tz, lat, lon = site.tz, site.latitude, site.longitude
    lookback = min(max(lookback_s, MIN_LOOKBACK_S), MAX_LOOKBACK_S)
    start = now_ms - int(lookback * 1000)
    points: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
    last_good: dict[str, int] = {}
    failed: dict[str, set[int]] = defaultdict(set)
    for s in store.series(fields=FIELDS, start_ms=start, end_ms=now_ms + 1):
        if s.quality != Quality.GOOD or s.value is None:
            if s.quality == Quality.COMM_ERROR:
                failed[s.device].add(s.ts_ms)
            continue
        points[s.device][s.field].append(Sample(s.ts_ms, float(s.value)))
        if s.ts_ms > last_good.get(s.device, -1):
            last_good[s.device] = s.ts_ms
    missing = {d for d in fleet.devices if d not in last_good}
    if missing:
        # silent for the whole lookback: when did we last hear from it (the roll-up)
        older: dict[str, int] = {}
        for b in store.daily(
            fields=("power_w", *COUNTERS),
            start_day=day_of_ms(now_ms - 3 * DAY_MS, tz),
            end_day=day_of_ms(now_ms, tz),
            stations=sorted({fleet.devices[d].station for d in missing}),
        ):
            # a roll-up row may run past now (a backfilled store): only what came before
            if b.device in missing and b.last_ts_ms is not None and b.last_ts_ms <= start:
                older[b.device] = max(older.get(b.device, -1), b.last_ts_ms)
        last_good.update(older)
    rise, sset = solar.sunrise_sunset_ms(now_ms, lat, lon, tz)
    grid = np.arange(start // _MIN * _MIN, now_ms + _MIN, _MIN, dtype=np.int64)
    exp = np.asarray(solar.expected_power_w(1.0, grid, lat, lon), dtype=float)
    snap = Snapshot(now_ms, start, points, last_good, int(rise), int(sset), grid, exp)
    snap.failed_ms = {d: sorted(ts) for d, ts in failed.items()}
    snap.floor_ms = floor_ms
    snap.open_alerts = list(open_alerts or ())
    if history_days > 0:
        snap.daily = store.daily(
            fields=HISTORY_FIELDS,
            start_day=day_of_ms(now_ms - history_days * DAY_MS, tz),
            end_day=day_of_ms(now_ms, tz),
        )
    for sid, devs in fleet.producing.items():
        pts: list[PeerPoint] = []
        for d in devs:
            for p in points.get(d.id, {}).get("power_w", ()):
                e = snap.expected_1kw(p.ts_ms) * d.capacity_kw
                if e > 0:
                    pts.append(PeerPoint(p.ts_ms, p.value, e))
        if pts:
            snap.peer_points[sid] = pts
    return snap
