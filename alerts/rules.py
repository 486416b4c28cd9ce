"""Rule kinds: small pure functions over recent readings.

Each kind answers one question ("is this device silent?", "is this inverter at
zero while its neighbours produce?") and returns a Condition (when it began and
what was seen) or None. They take plain numbers and tuples — never the store,
the clock or the config — so tests build their inputs by hand and the engine
(alerts/engine.py) does the gathering. How long a condition must hold
before it fires is the lifecycle's business, not the rule's.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: canonical status codes (docs/nomenclature.md) that mean "the device reports a fault"
FAULT_STATUSES = frozenset({3})


@dataclass(frozen=True, slots=True)
class Point:
    """One good value of one field at one instant (missing values are left out)."""

    ts_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class PeerPoint:
    """A peer's output next to its clear-sky expectation at one instant [W]."""

    ts_ms: int
    power_w: float
    expected_w: float


@dataclass(frozen=True)
class Condition:
    """A rule's finding: it holds since since_ms (UTC [ms]); seen says what was observed."""

    since_ms: int
    seen: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DayYield:
    """One local day of one station: its yield and its village peers' median [kWh/kWp]."""

    day_start_ms: int
    own_kwh_per_kwp: float | None
    peer_median_kwh_per_kwp: float | None


# -- comm_lost / gateway_silent ---------------------------------------------------------


def comm_lost(
    last_good_ms: int | None,
    now_ms: int,
    grace_s: float,
    *,
    count_from_ms: int | None = None,
    polled: bool = False,
    failed_ms: Sequence[int] = (),
) -> Condition | None:
    """Silence: no good reading for more than grace_s [s].

    count_from_ms: silence before it does not count (today's sunrise when only
    daylight silence matters; None counts all). A device never heard from is
    silent since count_from_ms. Returns since = start of the counted silence.

    polled: the collector asks the device (Modbus), so a lost device leaves
    evidence: failed or unanswered requests (failed_ms, their times, oldest
    first). Only that evidence counts: the device is lost when its failures after
    the start span more than grace_s, since = the first of them. A device whose
    polls were merely late (a saturated bus, a busy machine) has no failure after
    its last good reading and is not lost. Loggers that push (MQTT) keep the plain
    silence rule: nothing is asked of them, so nothing can fail.
    """
    starts = [t for t in (last_good_ms, count_from_ms) if t is not None]
    if not starts:
        return None
    start = max(starts)
    if start > now_ms:
        return None
    if polled:
        after = [t for t in failed_ms if start < t <= now_ms]
        if not after or after[-1] - after[0] <= grace_s * 1000:
            return None
        start = after[0]
    elif now_ms - start <= grace_s * 1000:
        return None
    seen: dict[str, Any] = {
        "last_reading_ms": last_good_ms,
        "silent_s": round((now_ms - (last_good_ms or start)) / 1000),
    }
    if polled:
        seen["failed_requests"] = len(after)
        seen["last_failed_ms"] = after[-1]
    return Condition(start, seen)


# -- no_output ----------------------------------------------------------------------------


def zero_run_start(power: Sequence[Point], zero_w: float) -> int | None:
    """Start [ms] of the trailing run of readings at or below zero_w [W]; None if the
    newest reading produces or there is none."""
    start = None
    for p in reversed(power):
        if p.value > zero_w:
            break
        start = p.ts_ms
    return start


def flat_run_start(energy: Sequence[Point]) -> int | None:
    """Start [ms] of the trailing run where the energy counter [Wh] does not rise."""
    if len(energy) < 2:
        return None
    last = energy[-1].value
    start = None
    for p in reversed(energy):
        if p.value < last:
            break
        start = p.ts_ms
    return start if start is not None and start < energy[-1].ts_ms else None


def peer_share(
    peers: Mapping[str, Sequence[PeerPoint]], start_ms: int, end_ms: int
) -> float | None:
    """Median over peer stations of output / clear-sky expectation in [start, end] [-].

    Each peer is weighted by energy (sum of power over sum of expectation), so the
    dim edges of the day do not dominate. None when no peer has data there.
    """
    shares = []
    for pts in peers.values():
        got = exp = 0.0
        for p in pts:
            if start_ms <= p.ts_ms <= end_ms:
                got += p.power_w
                exp += p.expected_w
        if exp > 0:
            shares.append(got / exp)
    return statistics.median(shares) if shares else None


def no_output(
    power: Sequence[Point],
    *,
    now_ms: int,
    zero_w: float,
    window: tuple[int, int],
    fresh_after_ms: int,
    peers: Mapping[str, Sequence[PeerPoint]],
    min_peer_share: float,
    clear_sky_share: float,
    min_clear_sky_share: float,
    energy: Sequence[Point] = (),
) -> Condition | None:
    """Readings arrive but output is ~0 inside the daylight window while it should not be.

    power: the device's good power readings [W] (or, when it reports none, its
    energy counter [Wh] must stay flat). window: (sunrise + margin, sunset −
    margin) [ms]; the run counts from the later of its start and the window
    start. The newest reading must be after fresh_after_ms (else it is comm_lost's
    case). The output should not be zero: the village peers produce at least
    min_peer_share of their clear-sky expectation over the run, or, with no peer
    data, the clear-sky output is at least min_clear_sky_share of nameplate.
    """
    lo, hi = window
    if not (lo <= now_ms <= hi):
        return None
    series = power or energy
    if not series or series[-1].ts_ms < fresh_after_ms:
        return None
    start = zero_run_start(power, zero_w) if power else flat_run_start(energy)
    if start is None:
        return None
    since = max(start, lo)
    share = peer_share(peers, since, now_ms)
    if share is None:
        if clear_sky_share < min_clear_sky_share:
            return None
    elif share < min_peer_share:
        return None
    seen: dict[str, Any] = {"zero_since_ms": start, "max_power_w": zero_w}
    if share is not None:
        seen["peer_share_pct"] = round(share * 100)
        seen["peers"] = len(peers)
    else:
        seen["clear_sky_share_pct"] = round(clear_sky_share * 100)
    return Condition(since, seen)


# -- low_performance ----------------------------------------------------------------------


def low_performance(
    days: Sequence[DayYield], *, share: float, n_days: int, min_peer_kwh_per_kwp: float
) -> Condition | None:
    """Yield below share of the village peer median on n_days consecutive judged days.

    days: oldest first, the newest may be today so far. Days too dull to judge
    (peer median below min_peer_kwh_per_kwp) or without data are skipped: they
    neither count nor break the run. since = start of the oldest low day counted.
    """
    low: list[DayYield] = []
    for d in reversed(days):
        if d.own_kwh_per_kwp is None or d.peer_median_kwh_per_kwp is None:
            continue
        if d.peer_median_kwh_per_kwp < min_peer_kwh_per_kwp:
            continue
        if d.own_kwh_per_kwp >= share * d.peer_median_kwh_per_kwp:
            break
        low.append(d)
        if len(low) >= n_days:
            break
    if len(low) < n_days:
        return None
    low.reverse()
    return Condition(
        low[0].day_start_ms,
        {
            "days": len(low),
            "own_kwh_per_kwp": [round(d.own_kwh_per_kwp or 0, 2) for d in low],
            "peer_median_kwh_per_kwp": [round(d.peer_median_kwh_per_kwp or 0, 2) for d in low],
            "share_pct": round(100 * share),
        },
    )


# -- device_fault -------------------------------------------------------------------------


def device_fault(
    status: Sequence[Point], fault_code: Sequence[Point], *, fault_statuses=FAULT_STATUSES
) -> Condition | None:
    """The device's newest status is a fault status or its newest fault code is non-zero.

    since = start of the trailing run of faulty readings.
    """

    def run(points: Sequence[Point], bad) -> tuple[int | None, float | None]:
        start, val = None, None
        for p in reversed(points):
            if not bad(p.value):
                break
            start, val = p.ts_ms, (p.value if val is None else val)
        return start, val

    s_start, s_val = run(status, lambda v: int(v) in fault_statuses)
    f_start, f_val = run(fault_code, lambda v: int(v) != 0)
    starts = [t for t in (s_start, f_start) if t is not None]
    if not starts:
        return None
    seen: dict[str, Any] = {}
    if s_val is not None:
        seen["status"] = int(s_val)
    if f_val is not None:
        seen["fault_code"] = int(f_val)
    return Condition(min(starts), seen)


# -- counter_anomaly ----------------------------------------------------------------------


def counter_anomaly(
    energy: Sequence[Point], *, capacity_w: float, jump_factor: float, slack_wh: float = 50.0
) -> Condition | None:
    """An energy counter [Wh] going backwards, or rising faster than nameplate allows.

    A rise above capacity_w × hours × jump_factor + slack_wh is a jump (slack
    absorbs counter resolution). Devices refresh their registers in steps, so a
    counter may repeat a value for several readings and then catch up: the hours
    of a rise count from the last reading before the previous value was first
    seen (a stale value may have been reached any time after it). The newest
    anomaly in the series is reported; the condition clears once it leaves the
    window.
    """
    found: Condition | None = None
    # timestamp of the last reading before the current run of equal values
    before_run_ms: int | None = None
    for a, b in itertools.pairwise(energy):
        if before_run_ms is None:
            before_run_ms = a.ts_ms
        dt_h = (b.ts_ms - before_run_ms) / 3_600_000
        rise = b.value - a.value
        if rise != 0:
            before_run_ms = a.ts_ms
        if rise < 0:
            found = Condition(
                b.ts_ms, {"anomaly": "backwards", "from_wh": int(a.value), "to_wh": int(b.value)}
            )
        elif rise > capacity_w * dt_h * jump_factor + slack_wh:
            found = Condition(
                b.ts_ms,
                {
                    "anomaly": "jump",
                    "from_wh": int(a.value),
                    "to_wh": int(b.value),
                    "max_wh": round(capacity_w * dt_h * jump_factor + slack_wh),
                },
            )
    return found


# -- village_outage -----------------------------------------------------------------------


def village_outage(
    down_since: Mapping[str, int | None],
    *,
    now_ms: int,
    window: tuple[int, int],
    reporting: int,
    outside_share: float | None,
    min_share: float,
    clear_sky_share: float,
    min_clear_sky_share: float,
) -> Condition | None:
    """Every station of a village at zero (or silent) at once, in daylight, while it
    should produce.

    down_since: per station of the village, since when it is at zero or silent
    [ms] (None = producing). reporting: how many of them still send readings (at
    least one must: a village where everything is silent is a comms problem).
    outside_share: the rest of the fleet's output / clear-sky expectation (None
    when there is no other village); it must be at least min_share, so a storm
    over the whole district is not an outage. The clear-sky output must be at
    least min_clear_sky_share of nameplate.
    """
    lo, hi = window
    if len(down_since) < 2 or not (lo <= now_ms <= hi) or reporting < 1:
        return None
    if any(t is None for t in down_since.values()):
        return None
    if clear_sky_share < min_clear_sky_share:
        return None
    if outside_share is not None and outside_share < min_share:
        return None
    since = max(max(t for t in down_since.values() if t is not None), lo)
    seen: dict[str, Any] = {"stations": len(down_since), "reporting": reporting}
    if outside_share is not None:
        seen["outside_share_pct"] = round(outside_share * 100)
    return Condition(since, seen)
