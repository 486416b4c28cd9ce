"""Every station's state now and its energy, from the daily roll-up and the open alerts.

Pure functions over numbers and records (no Django, no files): web/monitoring.py reads
the store and the alert database and hands them here. A province's fleet is 60,000
stations, so energy comes from two roll-up queries for the whole fleet (this month's
``energy_total_wh`` rows and today's ``power_w`` rows), never one query per station.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.store.base import DayBounds

#: states, worst first (the fleet page's order): a stopped station earns nothing at all
STATES: tuple[str, ...] = ("stopped", "fault", "silent", "producing", "night")
STATE_RANK: dict[str, int] = {s: i for i, s in enumerate(STATES)}

#: open alert kinds that decide a state, before anything the readings say
STOP_KINDS = frozenset({"no_output", "village_outage"})
FAULT_KINDS = frozenset({"device_fault", "counter_anomaly"})
SILENT_KINDS = frozenset({"comm_lost", "gateway_silent"})

#: without a comm_lost rule: a station unheard this long in daylight is silent [ms]
DEFAULT_SILENT_AFTER_MS = 30 * 60_000
#: below this much power per kWp in daylight a station counts as stopped [W/kWp]
STOPPED_W_PER_KWP = 1.0


@dataclass(frozen=True, slots=True)
class StationNow:
    """One row of the fleet page: a station's state now and its energy."""

    station: str
    village: str
    kind: str
    capacity_kw: float
    state: str
    last_ts_ms: int | None
    power_w: float | None
    today_wh: int
    month_wh: int
    open_kinds: tuple[str, ...]
    #: open alerts of the station itself, of its village and of its gateway
    open_count: int = 0

    @property
    def today_kwh_per_kwp(self) -> float:
        """Today's specific yield [kWh/kWp]."""
        return self.today_wh / 1000 / self.capacity_kw

    @property
    def month_kwh_per_kwp(self) -> float:
        """This month's specific yield so far [kWh/kWp]."""
        return self.month_wh / 1000 / self.capacity_kw


@dataclass(frozen=True, slots=True)
class PowerNow:
    """A station's newest good power reading of today, summed over its PV devices."""

    last_ts_ms: int
    power_w: float


def state_of(
    *,
    open_kinds: Iterable[str],
    sun_up: bool,
    power: PowerNow | None,
    capacity_kw: float,
    now_ms: int,
    silent_after_ms: int = DEFAULT_SILENT_AFTER_MS,
) -> str:
    """The state now: open alerts first (the engine's judgement), then the sun, then the data.

    An open stop, fault or silence alert decides; otherwise at night a station is
    "night" whatever it says; by day it is silent when unheard for silent_after_ms,
    stopped when its power is about zero, producing otherwise.
    """
    kinds = set(open_kinds)
    if kinds & STOP_KINDS:
        return "stopped"
    if kinds & FAULT_KINDS:
        return "fault"
    if kinds & SILENT_KINDS:
        return "silent"
    if not sun_up:
        return "night"
    if power is None or now_ms - power.last_ts_ms > silent_after_ms:
        return "silent"
    if power.power_w < STOPPED_W_PER_KWP * capacity_kw:
        return "stopped"
    return "producing"


def energy_by_series(
    rows: Iterable[DayBounds], *, month_start: int, today: int
) -> dict[tuple[str, str], tuple[int, int]]:
    """(station, device) -> (this month's Wh, today's Wh) from energy counter roll-ups.

    Rows come grouped by series in day order (Store.daily). As core.counters.daily_energy_wh:
    a day's energy is its last reading minus the reading before its first (the previous
    day's last, or its own first when nothing came before); a backward step counts zero.
    Include the day before month_start so the month's first day has its base.
    """
    out: dict[tuple[str, str], tuple[int, int]] = {}
    key = None
    prev: int | None = None
    month = day_wh = 0
    for r in rows:
        k = (r.station, r.device)
        if k != key:
            if key is not None:
                out[key] = (month, day_wh)
            key, prev, month, day_wh = k, None, 0, 0
        first, last = r.first_value, r.last_value
        if last is None or first is None:
            continue
        base = int(first) if prev is None else prev
        e = max(int(last) - base, 0)
        if r.day >= month_start:
            month += e
        if r.day == today:
            day_wh = e
        prev = int(last)
    if key is not None:
        out[key] = (month, day_wh)
    return out


def past_energy(
    rows: Iterable[DayBounds], *, month_start: int
) -> dict[tuple[str, str], tuple[int, int | None]]:
    """(station, device) -> (this month's Wh before today, the last counter value before
    today) from the roll-ups of the day before month_start up to yesterday.

    The part of energy_by_series that changes once a day: a server keeps it for the day
    and reads only today's rows again (today_energy).
    """
    out: dict[tuple[str, str], tuple[int, int | None]] = {}
    key = None
    prev: int | None = None
    month = 0
    for r in rows:
        k = (r.station, r.device)
        if k != key:
            if key is not None:
                out[key] = (month, prev)
            key, prev, month = k, None, 0
        if r.last_value is None or r.first_value is None:
            continue
        base = int(r.first_value) if prev is None else prev
        if r.day >= month_start:
            month += max(int(r.last_value) - base, 0)
        prev = int(r.last_value)
    if key is not None:
        out[key] = (month, prev)
    return out


def today_energy(
    rows: Iterable[DayBounds], past: Mapping[tuple[str, str], tuple[int, int | None]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(station, device) -> (this month's Wh, today's Wh): today's roll-up rows on top of
    past_energy. Equal to energy_by_series over all the rows (tested)."""
    out = {k: (m, 0) for k, (m, _last) in past.items()}
    for r in rows:
        if r.last_value is None or r.first_value is None:
            continue
        k = (r.station, r.device)
        month, last = past.get(k, (0, None))
        base = int(r.first_value) if last is None else last
        e = max(int(r.last_value) - base, 0)
        out[k] = (month + e, e)
    return out


def power_by_station(
    rows: Iterable[DayBounds], pv_devices: Mapping[str, str]
) -> dict[str, PowerNow]:
    """Station -> newest good power of today, from today's power_w roll-up rows.

    pv_devices maps PV device ids (inverters, loggers) to their station; a meter's
    power_w is the grid's view and is left out. The station's time is its newest device's.
    """
    acc: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for r in rows:
        st = pv_devices.get(r.device)
        if st is None or r.last_ts_ms is None or r.last_value is None:
            continue
        a = acc[st]
        a[0] = max(a[0], r.last_ts_ms)
        a[1] += float(r.last_value)
    return {st: PowerNow(int(a[0]), a[1]) for st, a in acc.items()}


def sort_key(row: StationNow) -> tuple[int, float, str]:
    """Worst first: by state, then the lowest yield today, then id (a stable order)."""
    return (STATE_RANK[row.state], row.today_kwh_per_kwp, row.station)


def matches(
    row: StationNow,
    *,
    villages: frozenset[str],
    village: str | None = None,
    kind: str | None = None,
    state: str | None = None,
) -> bool:
    """Whether a row is visible (its village among villages) and passes the filters."""
    return (
        row.village in villages
        and (village is None or row.village == village)
        and (kind is None or row.kind == kind)
        and (state is None or row.state == state)
    )
