"""What the monitoring pages read: the reading store, the alert database, the fleet's rows.

One store and one alert database per server process (both are safe to share between
waitress's threads). The fleet's rows (web/fleet_state.py) are computed for the whole
fleet at once and kept for CACHE_S seconds: a province's fleet page then costs a filter
and a page of rows, and the roll-up is read at most twice a minute however many staff
look. An action on an alert in this process drops the cache at once.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.localday import day_date, day_number, day_of_ms
from web import clock, runtime
from web.fleet_state import (
    DEFAULT_SILENT_AFTER_MS,
    StationNow,
    energy_by_series,
    power_by_station,
    sort_key,
    state_of,
)

if TYPE_CHECKING:
    from alerts.state import Alert, AlertDb
    from core.config import Config
    from core.store.base import Store

#: how long the fleet's rows are reused [s of wall time]
CACHE_S = 30.0

_lock = threading.Lock()
_store: list[Store] = []
_alert_db: list[AlertDb] = []
_cache: dict[str, tuple[float, int, Fleet]] = {}


@dataclass(frozen=True)
class Fleet:
    """The whole fleet at one instant, worst first."""

    now_ms: int
    today: int
    rows: list[StationNow]
    by_station: dict[str, StationNow]


def store() -> Store | None:
    """The config's reading store, read-only; None while it does not exist yet."""
    from core.store import StoreError, open_store

    with _lock:
        if not _store:
            try:
                _store.append(open_store(runtime.config(), readonly=True))
            except StoreError:
                return None
        return _store[0]


def alert_db() -> AlertDb:
    """The alert database (alerts.db_path), shared with `alerts watch` and the CLI."""
    from alerts.state import AlertDb

    with _lock:
        if not _alert_db:
            config = runtime.config()
            _alert_db.append(AlertDb(config.resolve(config.alerts.db_path)))
        return _alert_db[0]


def invalidate() -> None:
    """Drop the cached fleet rows (after an action changed an alert)."""
    with _lock:
        _cache.clear()


def pv_devices(config: Config) -> dict[str, str]:
    """PV device id (inverter, logger) -> its station; meters are left out."""
    return {d.id: s.id for s in config.stations for d in s.devices if d.role != "meter"}


def silent_after_ms(config: Config) -> int:
    """How long a station may go unheard by day before it counts as silent [ms]."""
    rule = next((r for r in config.alerts.rules if r.kind == "comm_lost"), None)
    for_s = getattr(rule, "for_s", None)
    return int(for_s * 1000) if for_s else DEFAULT_SILENT_AFTER_MS


def sun_up_by_village(config: Config, now_ms: int) -> dict[str, bool]:
    """Village -> is the sun up there now (its coordinates, or the site's)."""
    from core import solar

    site = config.site
    memo: dict[tuple[float, float], bool] = {}
    out = {}
    for v in config.villages:
        where = (
            v.latitude if v.latitude is not None else site.latitude,
            v.longitude if v.longitude is not None else site.longitude,
        )
        if where not in memo:
            memo[where] = bool(solar.sun_up(now_ms, where[0], where[1], tz=site.tz))
        out[v.id] = memo[where]
    return out


def open_kinds_by_station(
    config: Config, alerts: list[Alert]
) -> dict[str, tuple[tuple[str, ...], int]]:
    """Station -> (kinds of its open alerts, how many); a village's alert (an outage)
    counts for each of its stations, a gateway's for every station behind it."""
    by_village: dict[str, list[str]] = defaultdict(list)
    for s in config.stations:
        by_village[s.village].append(s.id)
    gateway_of = {v.id: v.gateway or config.site.gateway for v in config.villages}
    kinds: dict[str, list[str]] = defaultdict(list)
    for a in alerts:
        if a.station:
            kinds[a.station].append(a.kind)
        elif a.village:
            for sid in by_village.get(a.village, ()):
                kinds[sid].append(a.kind)
        elif a.gateway:
            for vid, gw in gateway_of.items():
                if gw == a.gateway:
                    for sid in by_village.get(vid, ()):
                        kinds[sid].append(a.kind)
    return {sid: (tuple(sorted(set(k))), len(k)) for sid, k in kinds.items()}


def month_bounds(today: int) -> tuple[int, int]:
    """(first day of today's month, the day before it) as YYYYMMDD."""
    first = day_date(today).replace(day=1)
    return day_number(first), day_number(first.fromordinal(first.toordinal() - 1))


def compute_fleet(config: Config, st: Store | None, alerts: list[Alert], now_ms: int) -> Fleet:
    """Every station's row now: two roll-up reads for the whole fleet, then pure code."""
    tz = config.site.tz
    today = day_of_ms(now_ms, tz)
    month_start, before = month_bounds(today)
    energy: dict[tuple[str, str], tuple[int, int]] = {}
    power = {}
    devices = pv_devices(config)
    if st is not None:
        rows = st.daily(fields=["energy_total_wh"], start_day=before, end_day=today)
        energy = energy_by_series(
            (r for r in rows if r.device in devices), month_start=month_start, today=today
        )
        power = power_by_station(
            st.daily(fields=["power_w"], start_day=today, end_day=today), devices
        )
    month_wh: dict[str, int] = defaultdict(int)
    today_wh: dict[str, int] = defaultdict(int)
    for (sid, _dev), (m, d) in energy.items():
        month_wh[sid] += m
        today_wh[sid] += d
    sun = sun_up_by_village(config, now_ms)
    kinds = open_kinds_by_station(config, alerts)
    quiet = silent_after_ms(config)
    out = []
    for s in config.stations:
        p = power.get(s.id)
        k, n_open = kinds.get(s.id, ((), 0))
        out.append(
            StationNow(
                station=s.id,
                village=s.village,
                kind=s.kind,
                capacity_kw=s.capacity_kw,
                state=state_of(
                    open_kinds=k,
                    sun_up=sun.get(s.village, True),
                    power=p,
                    capacity_kw=s.capacity_kw,
                    now_ms=now_ms,
                    silent_after_ms=quiet,
                ),
                last_ts_ms=p.last_ts_ms if p else None,
                power_w=p.power_w if p else None,
                today_wh=today_wh.get(s.id, 0),
                month_wh=month_wh.get(s.id, 0),
                open_kinds=k,
                open_count=n_open,
            )
        )
    out.sort(key=sort_key)
    return Fleet(now_ms, today, out, {r.station: r for r in out})


def fleet() -> Fleet:
    """The fleet now (cached for CACHE_S seconds, and while the local day is the same)."""
    config = runtime.config()
    now = clock.now_ms()
    today = day_of_ms(now, config.site.tz)
    with _lock:
        hit = _cache.get("fleet")
    if hit is not None and time.monotonic() - hit[0] < CACHE_S and hit[1] == today:
        return hit[2]
    got = compute_fleet(config, store(), alert_db().open_alerts(), now)
    with _lock:
        _cache["fleet"] = (time.monotonic(), today, got)
    return got
