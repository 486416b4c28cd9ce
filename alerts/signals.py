"""What several alert kinds read from recent readings: small pure functions over numbers.

They take plain numbers and tuples — never the store, the clock or the config — so tests
build their inputs by hand; each kind (alerts/kinds/) combines them with its thresholds.
How long a condition must hold before it fires is the lifecycle's business.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: lifetime energy counters among the fields a snapshot reads [Wh]
COUNTERS = ("energy_total_wh", "export_wh")
#: canonical status codes (docs/nomenclature.md) that mean "the device reports a fault"
FAULT_STATUSES = frozenset({3})


@dataclass(frozen=True, slots=True)
class Sample:
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
    """A kind's finding: it holds since since_ms (UTC [ms]); seen says what was observed."""

    since_ms: int
    seen: Mapping[str, Any] = field(default_factory=dict)


def silence_grace_s(interval_s: float) -> float:
    """Silence shorter than this is a late reading, not a silence [s]."""
    return 2 * interval_s + 60


def silence(
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


def daylight_silence(
    last_good_ms: int | None,
    now_ms: int,
    grace_s: float,
    *,
    sun: tuple[int, int],
    daylight_only: bool,
    margin_s: float,
    floor_ms: int | None = None,
    polled: bool = False,
    failed_ms: Sequence[int] = (),
) -> tuple[Condition | None, bool]:
    """(condition, hold) for a silent device or gateway; sun = (sunrise, sunset) [ms].

    With daylight_only, silence counts from sunrise + margin (loggers wake late) until
    sunset; outside that an open alert is only held while the silence lasts. Silence
    before floor_ms (when this gateway started collecting) never counts. polled: only
    failed requests (failed_ms) count as silence (see silence()).
    """
    ev: dict[str, Any] = {"polled": polled, "failed_ms": failed_ms}
    if daylight_only:
        count_from = sun[0] + int(margin_s * 1000)
        if count_from <= now_ms <= sun[1]:
            start = max(count_from, floor_ms) if floor_ms is not None else count_from
            cond = silence(last_good_ms, now_ms, grace_s, count_from_ms=start, **ev)
            if cond is not None:
                return cond, False
        return silence(last_good_ms, now_ms, grace_s, count_from_ms=floor_ms, **ev), True
    return silence(last_good_ms, now_ms, grace_s, count_from_ms=floor_ms, **ev), False


def zero_run_start(power: Sequence[Sample], zero_w: float) -> int | None:
    """Start [ms] of the trailing run of readings at or below zero_w [W]; None if the
    newest reading produces or there is none."""
    start = None
    for p in reversed(power):
        if p.value > zero_w:
            break
        start = p.ts_ms
    return start


def flat_run_start(energy: Sequence[Sample]) -> int | None:
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


def zero_since(fields: Mapping[str, Sequence[Sample]], zero_w: float) -> int | None:
    """Start of a device's run at zero [ms]: its power at or below zero_w [W], or, when it
    reports no power, its flat energy counter."""
    if fields.get("power_w"):
        return zero_run_start(fields["power_w"], zero_w)
    return flat_run_start(fields.get("energy_total_wh", []))


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


def reported_fault(
    status: Sequence[Sample], fault_code: Sequence[Sample], *, fault_statuses=FAULT_STATUSES
) -> Condition | None:
    """The device's newest status is a fault status or its newest fault code is non-zero.

    since = start of the trailing run of faulty readings.
    """

    def run(points: Sequence[Sample], bad) -> tuple[int | None, float | None]:
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
