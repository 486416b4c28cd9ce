"""Energy per station and period from cumulative counters at the period boundaries.

Source priority (DOMAIN.md: payment follows the grid export meter):
  1. ``statement``        imported grid settlement statement (kWh for whole months)
  2. ``grid_reading``     imported grid meter readings (pvledger import-meter)
  3. ``export_meter``     the station's export meter counter (field export_wh)
  4. ``inverter``         sum of the inverters' lifetime counters (energy_total_wh)
  5. ``integrated_power`` integral of power_w (an estimate)
A boundary value is exact when a reading sits on the boundary or the counter did not move
across the gap (night), interpolated between the nearest readings on both sides when the gap
is within ``gap_limit_h``; otherwise that source cannot give the line and the next one is
tried (the reason is kept in ``notes``). A counter that goes backwards or jumps beyond
nameplate x elapsed time (core.counter_anomaly, the same rule the alerts use) makes the
line ``error``: it needs a decision (import a statement or grid readings for the station)
and is never guessed around.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from core.config import Config
from core.config.allocation import EnergySettings
from core.config.model import Station
from core.counter_anomaly import BACKWARDS, counter_anomalies
from core.counters import CounterPoint, series_points
from core.localday import DAY_MS, day_of_ms
from core.store.base import Store

EXACT, INTERPOLATED, ESTIMATED, MISSING, ERROR = (
    "exact",
    "interpolated",
    "estimated",
    "missing",
    "error",
)
_RANK = {EXACT: 0, INTERPOLATED: 1, ESTIMATED: 2, MISSING: 3, ERROR: 4}
_H_MS = 3_600_000


@dataclass(frozen=True)
class EnergyLine:
    """Energy of one station over [start_ms, end_ms) on one basis (export | generation)."""

    station: str
    basis: str
    start_ms: int
    end_ms: int
    energy_wh: int | None
    source: str
    quality: str
    start_wh: int | None = None
    end_wh: int | None = None
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Boundary:
    """A counter value at an instant [Wh], with how it was obtained."""

    value_wh: int
    quality: str


@dataclass
class _Try:
    line: EnergyLine | None = None
    error: str | None = None  # anomaly: stops the search
    note: str | None = None  # unavailable: try the next source
    absent: bool = False  # the source simply has no data (noted only when nothing works)


def worst(qualities: Iterable[str]) -> str:
    """The worst quality of several."""
    return max(qualities, key=_RANK.__getitem__, default=EXACT)


def boundary(points: list[CounterPoint], t_ms: int, gap_limit_ms: int) -> Boundary | str:
    """Counter value at t_ms from readings sorted by ts, or the reason it is unknown."""
    i = bisect.bisect_left(points, (t_ms, -(2**63)))
    if i < len(points) and points[i][0] == t_ms:
        return Boundary(points[i][1], EXACT)
    if i == 0 or i == len(points):
        side = "before" if i == 0 else "after"
        return f"no reading {side} {_fmt(t_ms)}"
    (t0, v0), (t1, v1) = points[i - 1], points[i]
    if t1 - t0 > gap_limit_ms:
        return (
            f"readings around {_fmt(t_ms)} are {(t1 - t0) / _H_MS:.1f} h apart, "
            f"above the {gap_limit_ms / _H_MS:g} h limit"
        )
    if v0 == v1:
        return Boundary(v0, EXACT)  # the counter did not move across the gap
    num, den = (v1 - v0) * (t_ms - t0), t1 - t0
    return Boundary(v0 + (2 * num + den) // (2 * den), INTERPOLATED)


def anomalies(
    points: list[CounterPoint],
    lo_ms: int,
    hi_ms: int,
    capacity_w: float,
    jump_factor: Decimal,
    label: str,
) -> list[str]:
    """Backward steps and jumps beyond nameplate x time between readings around [lo, hi]."""
    i = max(bisect.bisect_left(points, (lo_ms, -(2**63))) - 1, 0)
    j = min(bisect.bisect_right(points, (hi_ms, 2**63)) + 1, len(points))
    # the steps of points[i:j], judged with the run of equal values before them (a step's
    # hours may reach back over a stale register) and the reading before that run
    k = i
    while k > 0 and points[k - 1][1] == points[k][1]:
        k -= 1
    k = max(k - 1, 0)
    first_ts = points[i][0] if i < len(points) else 0
    out = []
    for a in counter_anomalies(points[k:j], capacity_w, jump_factor):
        if a.from_ts_ms < first_ts:
            continue
        if a.kind == BACKWARDS:
            out.append(
                f"{label} went backwards from {a.from_wh} Wh ({_fmt(a.from_ts_ms)}) to "
                f"{a.to_wh} Wh ({_fmt(a.to_ts_ms)}): replaced or reset? record the decision "
                "by importing grid readings or a statement"
            )
        else:
            out.append(
                f"{label} jumped {a.to_wh - a.from_wh} Wh between {_fmt(a.from_ts_ms)} and "
                f"{_fmt(a.to_ts_ms)}, more than nameplate {capacity_w:g} W can produce: "
                "check the device or import a statement"
            )
    return out


def integrate_power(samples: list[tuple[int, float]], lo: int, hi: int, max_gap_ms: int) -> int:
    """Trapezoid integral of power [W] over [lo, hi) [Wh]; gaps above max_gap_ms count zero."""
    wh2 = 0.0  # float is fine here: the result is an estimate and says so
    for (t0, p0), (t1, p1) in itertools.pairwise(samples):
        a, b = max(t0, lo), min(t1, hi)
        if b <= a or t1 - t0 > max_gap_ms:
            continue
        wh2 += (p0 + p1) / 2 * (b - a) / _H_MS
    return round(wh2)


def _fmt(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%MZ")


@dataclass
class ImportedMeter:
    """Data imported by pvledger import-meter: statements and grid meter readings."""

    #: (station, "YYYY-MM") -> export [Wh]
    statements: dict[tuple[str, str], int] = field(default_factory=dict)
    #: station -> sorted [(ts_ms, export counter Wh)]
    readings: dict[str, list[CounterPoint]] = field(default_factory=dict)
    #: (station, "YYYY-MM") -> what the grid statement says it pays [fen], when given
    amounts: dict[tuple[str, str], int] = field(default_factory=dict)


class EnergyReader:
    """Reads counters once for a time window and answers energy lines per station."""

    def __init__(
        self,
        config: Config,
        store: Store | None,
        start_ms: int,
        end_ms: int,
        *,
        imported: ImportedMeter | None = None,
        settings: EnergySettings | None = None,
    ):
        self.config = config
        self.store = store
        self.settings = settings or config.allocation.energy
        self.imported = imported or ImportedMeter()
        self.gap_ms = int(self.settings.gap_limit_h * _H_MS)
        self._points: dict[tuple[str, str, str], list[CounterPoint]] = {}
        self._judged: dict[tuple, tuple[list[str], Boundary | str, Boundary | str]] = {}
        if store is not None:
            tz = config.site.tz
            pad = math.ceil(self.gap_ms / DAY_MS) + 1
            lo = day_of_ms(start_ms - pad * DAY_MS, tz)
            hi = day_of_ms(end_ms + pad * DAY_MS, tz)
            rows = store.daily(fields=["export_wh", "energy_total_wh"], start_day=lo, end_day=hi)
            self._points = series_points(rows)

    def _judge(
        self, station: Station, label: str, pts: list[CounterPoint], lo: int, hi: int
    ) -> tuple[list[str], Boundary | str, Boundary | str]:
        """Anomalies and both boundary values of one counter over [lo, hi), once per run
        (the energy line and the reconciliation read the same counters)."""
        key = (station.id, label, id(pts), lo, hi)
        got = self._judged.get(key)
        if got is None:
            errs = anomalies(
                pts,
                lo,
                hi,
                station.capacity_kw * 1000,
                self.settings.jump_factor,
                f"{label} counter",
            )
            got = errs, boundary(pts, lo, self.gap_ms), boundary(pts, hi, self.gap_ms)
            self._judged[key] = got
        return got

    # -- sources -------------------------------------------------------------
    def _counter(
        self,
        station: Station,
        series: list[tuple[str, list[CounterPoint]]],
        source: str,
        basis: str,
        lo: int,
        hi: int,
    ) -> _Try:
        if not series:
            return _Try(note=f"{source}: no readings", absent=True)
        errors: list[str] = []
        total = start_sum = end_sum = 0
        quals = []
        for label, pts in series:
            errs, a, b = self._judge(station, label, pts, lo, hi)
            errors += errs
            for x in (a, b):
                if isinstance(x, str) and not errors:
                    return _Try(note=f"{source} {label}: {x}")
            if isinstance(a, Boundary) and isinstance(b, Boundary):
                total += b.value_wh - a.value_wh
                start_sum += a.value_wh
                end_sum += b.value_wh
                quals += [a.quality, b.quality]
        if errors:
            return _Try(
                line=EnergyLine(
                    station.id, basis, lo, hi, None, source, ERROR, errors=tuple(errors)
                )
            )
        return _Try(
            line=EnergyLine(
                station.id, basis, lo, hi, total, source, worst(quals), start_sum, end_sum
            )
        )

    def _statement(self, station: Station, basis: str, lo: int, hi: int, months: list[str]) -> _Try:
        if not months:
            return _Try(note="statement: segment is not whole months", absent=True)
        got = [self.imported.statements.get((station.id, m)) for m in months]
        if any(g is None for g in got):
            if any(g is not None for g in got):
                return _Try(note="statement: not every month of the period was imported")
            return _Try(note="statement: none imported", absent=True)
        return _Try(line=EnergyLine(station.id, basis, lo, hi, sum(got), "statement", EXACT))  # type: ignore[arg-type]

    def _integrated(self, station: Station, basis: str, lo: int, hi: int) -> _Try:
        if self.store is None:
            return _Try(note="integrated_power: no store", absent=True)
        # one station at a time: only stations without counters come here, and a county's
        # month of power samples for every station would not fit in memory as objects
        devices: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for smp in self.store.series(
            stations=[station.id], fields=["power_w"], start_ms=lo - _H_MS, end_ms=hi + _H_MS
        ):
            if smp.value is not None and smp.quality == 0:
                devices[smp.device].append((smp.ts_ms, float(smp.value)))
        if not devices:
            return _Try(note="integrated_power: no power readings", absent=True)
        gap = self.settings.power_gap_limit_s * 1000
        wh = sum(integrate_power(v, lo, hi, gap) for _, v in sorted(devices.items()))
        return _Try(line=EnergyLine(station.id, basis, lo, hi, wh, "integrated_power", ESTIMATED))

    def reconcile(self, station: Station, lo: int, hi: int) -> dict[str, int | None]:
        """Export meter and inverter energy [Wh] over [lo, hi) side by side (None = unknown)."""
        meters = [d.id for d in station.devices if d.role == "meter"]
        invs = [d.id for d in station.devices if d.role != "meter"]
        out: dict[str, int | None] = {}
        for key, devs, fld in (
            ("meter_wh", meters, "export_wh"),
            ("inverter_wh", invs, "energy_total_wh"),
        ):
            series = [
                (d, self._points[(station.id, d, fld)])
                for d in devs
                if self._points.get((station.id, d, fld))
            ]
            if key == "inverter_wh":
                series = _all_or_none(series, devs)
            t = self._counter(station, series, key, "export", lo, hi)
            out[key] = t.line.energy_wh if t.line is not None else None
        return out

    def line(
        self, station: Station, lo: int, hi: int, *, basis: str = "export", months: list[str] = ()
    ) -> EnergyLine:
        """The energy line of a station over [lo, hi) [ms] by source priority."""
        meters = [d.id for d in station.devices if d.role == "meter"]
        invs = [d.id for d in station.devices if d.role != "meter"]

        def series(devs: list[str], fld: str) -> list[tuple[str, list[CounterPoint]]]:
            return [
                (d, self._points[(station.id, d, fld)])
                for d in devs
                if self._points.get((station.id, d, fld))
            ]

        tries = []
        if basis == "export":
            tries.append(lambda: self._statement(station, basis, lo, hi, list(months)))
            grid = self.imported.readings.get(station.id)
            tries.append(
                lambda: self._counter(
                    station, [("grid meter", grid)] if grid else [], "grid_reading", basis, lo, hi
                )
            )
            tries.append(
                lambda: self._counter(
                    station, series(meters, "export_wh"), "export_meter", basis, lo, hi
                )
            )
        tries.append(
            lambda: self._counter(
                station,
                _all_or_none(series(invs, "energy_total_wh"), invs),
                "inverter",
                basis,
                lo,
                hi,
            )
        )
        tries.append(lambda: self._integrated(station, basis, lo, hi))
        notes: list[tuple[str, bool]] = []
        for attempt in tries:
            t = attempt()
            if t.line is not None:
                # say why a better source was passed over, not that it had no data
                kept = tuple(n for n, absent in notes if not absent)
                return EnergyLine(**{**t.line.__dict__, "notes": kept})
            if t.note:
                notes.append((t.note, t.absent))
        every = tuple(n for n, _ in notes)
        return EnergyLine(station.id, basis, lo, hi, None, "none", MISSING, notes=every)


def _all_or_none(
    series: list[tuple[str, list[CounterPoint]]], devices: list[str]
) -> list[tuple[str, list[CounterPoint]]]:
    # a sum of inverter counters is only a measurement when every inverter reported
    return series if len(series) == len(devices) else []
