"""What the monitoring pages read: the reading store, the alert database, the fleet's rows.

One store and one alert database per server process (both are safe to share between
waitress's threads). The fleet's rows (web/fleet_state.py) are computed for the whole
fleet at once, in two parts: the month before today (read once a day) and today's rows
(read again when CACHE_S seconds old, in a background thread while pages keep showing
the previous rows). A province's fleet page then costs a filter and a page of rows
however many staff look, and the roll-up is read at most twice a minute. An action on
an alert in this process re-derives the states from the alerts at once.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.localday import day_date, day_number, day_of_ms
from web import clock, runtime
from web.fleet_state import (
    DEFAULT_SILENT_AFTER_MS,
    PowerNow,
    StationNow,
    past_energy,
    power_by_station,
    sort_key,
    state_of,
    today_energy,
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
#: one refresh at a time; pages meanwhile show the rows they have
_compute = threading.Lock()
_cache: dict[str, object] = {}
#: indexes of the (one, never changing) config of this process
_memo: dict[tuple[str, int], dict] = {}


@dataclass(frozen=True)
class Fleet:
    """The whole fleet at one instant, worst first."""

    now_ms: int
    today: int
    rows: list[StationNow]
    by_station: dict[str, StationNow]
    #: village -> its rows, worst first (the village filter reads only these)
    by_village: dict[str, list[StationNow]]
    #: state -> its rows, worst first, and their counts (the unfiltered page's)
    by_state: dict[str, list[StationNow]]


@dataclass(frozen=True)
class Readings:
    """What the roll-up says for every station at now_ms: (month Wh, today Wh) and power."""

    now_ms: int
    today: int
    energy: dict[str, tuple[int, int]]
    power: dict[str, PowerNow]
    read_at: float  # time.monotonic() when read


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
    """Derive the states again from the alerts on the next page (an action changed one)."""
    with _lock:
        _cache.pop("fleet", None)


def pv_devices(config: Config) -> dict[str, str]:
    """PV device id (inverter, logger) -> its station; meters are left out (kept per
    config: a province's 60,000 stations are not walked on every page)."""
    got = _memo.get(("pv", id(config)))
    if got is None:
        got = {d.id: s.id for s in config.stations for d in s.devices if d.role != "meter"}
        _memo[("pv", id(config))] = got
    return got


def stations_of_village(config: Config, village: str) -> list:
    """The config's stations of one village, in config order (kept per config)."""
    index = _memo.get(("village", id(config)))
    if index is None:
        index = defaultdict(list)
        for s in config.stations:
            index[s.village].append(s)
        _memo[("village", id(config))] = index
    return index.get(village, [])


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


def read_past(config: Config, st: Store, today: int) -> dict:
    """past_energy of every PV device for the month before today (one roll-up read)."""
    month_start, before = month_bounds(today)
    devices = pv_devices(config)
    yesterday = day_number(day_date(today) - dt.timedelta(days=1))
    if yesterday < before:
        return {}
    rows = st.daily(fields=["energy_total_wh"], start_day=before, end_day=yesterday)
    return past_energy((r for r in rows if r.device in devices), month_start=month_start)


def read_today(config: Config, st: Store | None, past: dict, now_ms: int) -> Readings:
    """Today's energy and power per station, on top of the month before (two reads)."""
    today = day_of_ms(now_ms, config.site.tz)
    devices = pv_devices(config)
    energy: dict[str, tuple[int, int]] = {}
    power: dict[str, PowerNow] = {}
    if st is not None:
        rows = st.daily(fields=["energy_total_wh", "power_w"], start_day=today, end_day=today)
        e_rows = [r for r in rows if r.field == "energy_total_wh" and r.device in devices]
        per_device = today_energy(e_rows, past)
        power = power_by_station((r for r in rows if r.field == "power_w"), devices)
        for (sid, _dev), (m, d) in per_device.items():
            month, day_wh = energy.get(sid, (0, 0))
            energy[sid] = (month + m, day_wh + d)
    return Readings(now_ms, today, energy, power, time.monotonic())


def build_rows(config: Config, readings: Readings, alerts: list[Alert]) -> Fleet:
    """Every station's row from the readings and the open alerts, worst first."""
    now_ms = readings.now_ms
    sun = sun_up_by_village(config, now_ms)
    kinds = open_kinds_by_station(config, alerts)
    quiet = silent_after_ms(config)
    out = []
    for s in config.stations:
        p = readings.power.get(s.id)
        k, n_open = kinds.get(s.id, ((), 0))
        month_wh, today_wh = readings.energy.get(s.id, (0, 0))
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
                today_wh=today_wh,
                month_wh=month_wh,
                open_kinds=k,
                open_count=n_open,
            )
        )
    out.sort(key=sort_key)
    by_village: dict[str, list[StationNow]] = defaultdict(list)
    by_state: dict[str, list[StationNow]] = defaultdict(list)
    for r in out:
        by_village[r.village].append(r)
        by_state[r.state].append(r)
    return Fleet(
        now_ms,
        readings.today,
        out,
        {r.station: r for r in out},
        dict(by_village),
        dict(by_state),
    )


def compute_fleet(config: Config, st: Store | None, alerts: list[Alert], now_ms: int) -> Fleet:
    """The fleet from scratch (what a server's first page, or a new day, costs)."""
    today = day_of_ms(now_ms, config.site.tz)
    past = read_past(config, st, today) if st is not None else {}
    return build_rows(config, read_today(config, st, past, now_ms), alerts)


def _refresh(config: Config, now_ms: int) -> Readings:
    """Read today's rows again (the month before only when the day changed); cache them."""
    asked = time.monotonic()
    with _compute:
        today = day_of_ms(now_ms, config.site.tz)
        with _lock:
            past = _cache.get("past")
            done = _cache.get("readings")
        if isinstance(done, Readings) and done.today == today and done.read_at >= asked:
            return done  # another thread read them while this one waited
        st = store()
        if not (isinstance(past, tuple) and past[0] == today):
            past = (today, read_past(config, st, today) if st is not None else {})
        readings = read_today(config, st, past[1], now_ms)
        with _lock:
            _cache["past"] = past
            _cache["readings"] = readings
            _cache.pop("fleet", None)
        return readings


def _refresh_in_background(config: Config, now_ms: int) -> None:
    if _compute.locked():
        return  # one is running
    threading.Thread(
        target=_refresh, args=(config, now_ms), name="fleet-refresh", daemon=True
    ).start()


def fleet() -> Fleet:
    """The fleet now: cached rows; read again in the background when CACHE_S old, and
    at once on the first page and when the local day changed."""
    config = runtime.config()
    now = clock.now_ms()
    today = day_of_ms(now, config.site.tz)
    with _lock:
        readings = _cache.get("readings")
        rows = _cache.get("fleet")
    if not isinstance(readings, Readings) or readings.today != today:
        readings = _refresh(config, now)
        rows = None
    elif time.monotonic() - readings.read_at >= CACHE_S:
        _refresh_in_background(config, now)
    if isinstance(rows, Fleet) and rows.now_ms == readings.now_ms:
        return rows
    got = build_rows(config, readings, alert_db().open_alerts())
    with _lock:
        if _cache.get("readings") is readings:
            _cache["fleet"] = got
    return got
