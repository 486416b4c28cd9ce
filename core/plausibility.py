"""The plausibility gate: what a station can physically report, checked on every reading.

One gate for every source (Modbus, MQTT, backfill): the collector's sink is
wrapped by ``collector.sinks.GatedSink`` and the backfill writes through the
same wrapper. Limits are data (``storage.limits``, core/config/plausibility.py)
scaled by the station's nameplate (``capacity_kw``); the checks are small pure
functions. A reading gets one of three outcomes:

- a field outside its limits keeps its value and is flagged ``IMPLAUSIBLE``
  (stored for the record; revenue, alerts and ``latest`` read GOOD values only);
- a reading that cannot be stored at all (a timestamp outside
  [now − backfill horizon, now + future_s], an integer beyond 64 bits) is
  *refused* with its reason; the caller dead-letters it;
- everything else passes unchanged.

Counters are also checked against the last good value of their series: they
may rise at most nameplate × ``counter_rate_ratio`` × elapsed time (+
``counter_step_wh`` for coarse counters). A drop passes (a daily counter's
midnight reset, an inverter replaced) and leaves the last good value where it
was, so a glitch to 0 does not make the next real value look like a jump. A
counter that jumped is believed again after ``counter_rebase_readings``
readings in a row that rise plausibly from the new level.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from core.config.plausibility import Limits
from core.reading import Quality, Reading, Sample, Value

POWER_FIELDS = frozenset({"power_w", "dc_power_w"})
COUNTER_FIELDS = frozenset({"energy_total_wh", "energy_today_wh", "export_wh", "import_wh"})
#: fields that are whole numbers by definition (docs/nomenclature.md)
INTEGRAL_FIELDS = COUNTER_FIELDS | {"status", "fault_code", "capacity_w"}
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
#: quality flags whose values are checked (the others carry no usable value)
_CHECKED = (Quality.GOOD, Quality.ESTIMATED)
_GOOD = Quality.GOOD
_POWER, _COUNTER, _TEMPERATURE, _INTEGRAL = 1, 2, 3, 4
_KIND = {
    **dict.fromkeys(INTEGRAL_FIELDS, _INTEGRAL),
    **dict.fromkeys(POWER_FIELDS, _POWER),
    **dict.fromkeys(COUNTER_FIELDS, _COUNTER),
    "temperature_c": _TEMPERATURE,
}


@dataclass(frozen=True, slots=True)
class Bounds:
    """A station's limits in absolute units (from Limits and its nameplate)."""

    power_lo_w: float
    power_hi_w: float
    #: how fast a counter may rise [Wh/ms]
    rate_wh_per_ms: float
    step_wh: int
    temperature_lo_c: float
    temperature_hi_c: float
    rebase_readings: int


def bounds_for(limits: Limits, capacity_kw: float | None) -> Bounds:
    """Absolute limits for a station of capacity_kw [kW] (None: unknown station, no
    power or rate limit)."""
    if capacity_kw is None:
        lo, hi, rate = -math.inf, math.inf, math.inf
    else:
        w = capacity_kw * 1000.0
        lo, hi = -limits.power_margin_ratio * w, limits.power_max_ratio * w
        rate = w * limits.counter_rate_ratio / _HOUR_MS
    return Bounds(
        lo,
        hi,
        rate,
        limits.counter_step_wh,
        limits.temperature_min_c,
        limits.temperature_max_c,
        limits.counter_rebase_readings,
    )


def _show(v: Value) -> str:
    if isinstance(v, int) and not -(10**15) < v < 10**15:
        return f"{v:.3e}"  # a 4,000-digit integer is not a message
    return repr(v)


def _iso(ts_ms: int) -> str:
    try:
        return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, ValueError, OSError):
        return f"{ts_ms} ms"


def time_refusal(ts_ms: int, now_ms: int, limits: Limits) -> str | None:
    """Why a reading stamped ts_ms cannot be stored at now_ms, or None when it can."""
    if not isinstance(ts_ms, int) or isinstance(ts_ms, bool):
        return f"timestamp {ts_ms!r} is not an integer of milliseconds"
    ahead = ts_ms - now_ms
    if ahead > limits.future_s * 1000:
        return (
            f"timestamp {_iso(ts_ms)} is {ahead / 1000:.0f} s ahead of the gateway clock "
            f"(storage.limits.future_s: {limits.future_s:g} s)"
        )
    if -ahead > limits.backfill_horizon_days * _DAY_MS:
        return (
            f"timestamp {_iso(ts_ms)} is {-ahead / _DAY_MS:.1f} days old "
            f"(storage.limits.backfill_horizon_days: {limits.backfill_horizon_days:g})"
        )
    return None


def value_refusal(name: str, value: Value) -> str | None:
    """Why a value cannot be stored at all (an integer beyond 64 bits), or None."""
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        return f"{name}={_show(value)} does not fit in 64 bits"
    return None


def value_problem(name: str, value: Value, b: Bounds) -> str | None:
    """Why one value is implausible regardless of history, or None."""
    if value is None:
        return None
    if not isinstance(value, int | float):
        return f"{name}={value!r} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{name}={value!r} is not a finite number"
    if name in INTEGRAL_FIELDS and isinstance(value, float) and not value.is_integer():
        return f"{name}={value!r} is not a whole number"
    if name in POWER_FIELDS:
        if not b.power_lo_w <= value <= b.power_hi_w:
            return f"{name}={_show(value)} outside [{b.power_lo_w:g}, {b.power_hi_w:g}] W"
    elif name in COUNTER_FIELDS:
        if value < 0:
            return f"{name}={_show(value)} is negative"
    elif name == "temperature_c" and not b.temperature_lo_c <= value <= b.temperature_hi_c:
        return f"{name}={_show(value)} outside [{b.temperature_lo_c:g}, {b.temperature_hi_c:g}] °C"
    return None


@dataclass(slots=True)
class CounterState:
    """The last good value of one counter series, and a candidate new level after a jump."""

    base_ts: int
    base_v: float
    cand_ts: int | None = None
    cand_v: float = 0.0
    cand_n: int = 0


def _rise_ok(b: Bounds, from_ts: int, from_v: float, ts: int, v: float) -> bool:
    return v - from_v <= b.rate_wh_per_ms * (ts - from_ts) + b.step_wh


def check_counter(
    name: str, value: float, ts_ms: int, state: CounterState | None, b: Bounds
) -> tuple[str | None, CounterState]:
    """(problem or None, the series' new state) for a counter value that passed value_problem.

    Pure: ``state`` is not modified. Readings older than the last good value are
    not judged by rate (their neighbours are not known here).
    """
    if state is None:
        return None, CounterState(ts_ms, value)
    if ts_ms <= state.base_ts:
        return None, state
    if value < state.base_v or _rise_ok(b, state.base_ts, state.base_v, ts_ms, value):
        new_base = value >= state.base_v
        return None, CounterState(ts_ms, value) if new_base else state
    # a jump: believed only once it keeps rising plausibly from its new level
    s = CounterState(state.base_ts, state.base_v)
    if (
        state.cand_ts is not None
        and ts_ms > state.cand_ts
        and value >= state.cand_v
        and _rise_ok(b, state.cand_ts, state.cand_v, ts_ms, value)
    ):
        s.cand_n = state.cand_n + 1
    else:
        s.cand_n = 1
    s.cand_ts, s.cand_v = ts_ms, value
    if s.cand_n >= b.rebase_readings:
        return None, CounterState(ts_ms, value)
    allowed = b.rate_wh_per_ms * (ts_ms - state.base_ts) + b.step_wh
    return (
        f"{name} rose {_show(value - state.base_v)} Wh in "
        f"{(ts_ms - state.base_ts) / 1000:.0f} s (at most {allowed:.0f} Wh)",
        s,
    )


SeriesKey = tuple[str, str, str]
#: a counter series' state: (last good ts, value), or a CounterState while a jump is judged
_State = tuple[int, float] | CounterState


@dataclass
class Assessment:
    """The gate's verdict on a batch: readings to store (flags set), refusals, and problems."""

    readings: list[Reading] = field(default_factory=list)
    #: (index in the input, reason) of readings that cannot be stored
    refused: list[tuple[int, str]] = field(default_factory=list)
    #: (index in the input, field, reason) of values flagged IMPLAUSIBLE
    flagged: list[tuple[int, str, str]] = field(default_factory=list)
    #: counter states to keep once the readings are stored
    updates: dict[SeriesKey, _State] = field(default_factory=dict)


class Gate:
    """The stateful gate: bounds per station and the last good counter of each series."""

    def __init__(self, limits: Limits, capacity_kw: Mapping[str, float]):
        self.limits = limits
        self._bounds = {st: bounds_for(limits, kw) for st, kw in capacity_kw.items()}
        self._unknown = bounds_for(limits, None)
        self._state: dict[SeriesKey, _State] = {}
        self._lock = threading.Lock()

    def bounds(self, station: str) -> Bounds:
        """The limits of a station (no power or rate limit when it is not configured)."""
        return self._bounds.get(station, self._unknown)

    def seed(self, samples: Iterable[Sample]) -> None:
        """Start counter series from stored GOOD values (after a restart)."""
        with self._lock:
            for s in samples:
                if s.field in COUNTER_FIELDS and s.quality is Quality.GOOD and s.value is not None:
                    key = (s.station, s.device, s.field)
                    cur = self._state.get(key)
                    cur_ts = cur[0] if type(cur) is tuple else getattr(cur, "base_ts", None)
                    if cur_ts is None or s.ts_ms > cur_ts:
                        self._state[key] = (s.ts_ms, s.value)

    def assess(self, readings: Iterable[Reading], now_ms: int) -> Assessment:
        """Judge a batch in order (pure with respect to the gate: see accept())."""
        out = Assessment()
        lo_ts = now_ms - self.limits.backfill_horizon_days * _DAY_MS
        hi_ts = now_ms + self.limits.future_s * 1000
        with self._lock:
            for i, r in enumerate(readings):
                ts = r.ts_ms
                if type(ts) is not int or not lo_ts <= ts <= hi_ts:
                    reason = time_refusal(ts, now_ms, self.limits)
                    if reason is not None:
                        out.refused.append((i, reason))
                        continue
                verdict = self._flag(i, r, out)
                if type(verdict) is str:
                    out.refused.append((i, verdict))
                else:
                    out.readings.append(verdict)
        return out

    def _flag(self, i: int, r: Reading, out: Assessment) -> Reading | str:
        """The reading with its flags, or the reason it cannot be stored.

        The hot path of every write: a cheap "clearly plausible" test per value; the
        pure checks above (which decide, and word the problem) run only when it fails.
        """
        b = self._bounds.get(r.station, self._unknown)
        qmap = r.quality
        flags: dict[str, Quality] | None = None
        problems: list[tuple[int, str, str]] = []
        upd = out.updates
        touched: list[tuple[SeriesKey, _State | None]] = []
        for name, v in r.values.items():
            if v is None or (qmap and qmap.get(name, _GOOD) not in _CHECKED):
                continue
            kind = _KIND.get(name, 0)
            tv = type(v)
            if tv is int:
                if not INT64_MIN <= v <= INT64_MAX:
                    for key, prev in touched:  # this reading is not stored: undo its counters
                        if prev is None:
                            del upd[key]
                        else:
                            upd[key] = prev
                    return value_refusal(name, v) or "beyond 64 bits"
            elif tv is not float:
                kind = -1  # not a number: value_problem words it
            if kind == _POWER:
                clear = b.power_lo_w <= v <= b.power_hi_w
            elif kind == _COUNTER:
                clear = v >= 0 and (tv is int or v.is_integer())  # type: ignore[union-attr]
            elif kind == _TEMPERATURE:
                clear = b.temperature_lo_c <= v <= b.temperature_hi_c
            elif kind == _INTEGRAL:
                clear = tv is int or v.is_integer()  # type: ignore[union-attr]
            elif kind == 0:
                clear = tv is int or v - v == 0.0  # finite (inf - inf and nan are nan)
            else:
                clear = False
            problem = None if clear else value_problem(name, v, b)
            if problem is None and kind == _COUNTER:
                key = (r.station, r.device, name)
                prev = upd.get(key)
                st = prev if prev is not None else self._state.get(key)
                ts = r.ts_ms
                touched.append((key, prev))
                # the common case as a bare (ts, value) tuple: rising within the rate
                if (
                    type(st) is tuple
                    and ts > st[0]
                    and st[1] <= v <= st[1] + b.rate_wh_per_ms * (ts - st[0]) + b.step_wh
                ):
                    upd[key] = (ts, v)
                else:
                    cs = CounterState(*st) if type(st) is tuple else st
                    problem, new = check_counter(name, float(v), ts, cs, b)
                    if new is not cs:
                        upd[key] = (new.base_ts, new.base_v) if new.cand_ts is None else new
            if problem is not None:
                if flags is None:
                    flags = {}
                flags[name] = Quality.IMPLAUSIBLE
                problems.append((i, name, problem))
        if flags is None:
            return r
        out.flagged.extend(problems)
        return Reading(
            r.station,
            r.device,
            r.ts_ms,
            r.values,
            {**qmap, **flags},
            r.measurement,
            r.village,
            r.gateway,
        )

    def accept(self, assessment: Assessment) -> None:
        """Keep the counter states of an assessment whose readings were stored."""
        with self._lock:
            self._state.update(assessment.updates)
