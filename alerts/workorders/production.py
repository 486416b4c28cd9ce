"""A station's output in time bins against what it should have made: pure functions.

Every series is a list with one entry per bin of bin_ms from a start instant; None is
"no reading in this bin". The clear-sky output of 1 kWp at the bin's middle
(core.solar) decides daylight; a station's *ratio* is its output / (clear sky × its
kWp); its *peers' share* is the median ratio of its peers in the bin. What the station
should have made is peers' share × clear sky × its kWp (its own earlier ratio when no
peer reports). From these: whether a repair holds (judge_repair), the energy lost
(lost_wh) and availability (availability_min).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

Bins = Sequence[float | None]


def bin_means(
    samples: Sequence[tuple[int, float]], start_ms: int, n: int, bin_ms: int
) -> list[float | None]:
    """Mean of the (ts [ms], value) samples in each of n bins from start_ms (None: none)."""
    sums = [0.0] * n
    counts = [0] * n
    for ts, v in samples:
        i = (ts - start_ms) // bin_ms
        if 0 <= i < n:
            sums[i] += v
            counts[i] += 1
    return [s / c if c else None for s, c in zip(sums, counts, strict=True)]


def hold(values: Bins, max_bins: int) -> list[float | None]:
    """Each gap of at most max_bins bins after a value takes that value (readings sparser
    than the bins: a 15-minute logger in 5-minute bins); longer gaps stay None."""
    out: list[float | None] = []
    last, since = None, 0
    for v in values:
        if v is not None:
            last, since = v, 0
            out.append(v)
            continue
        since += 1
        out.append(last if last is not None and since <= max_bins else None)
    return out


def ratios(
    power_w: Bins, clear_1kw_w: Sequence[float], kw: float, daylight_w: float
) -> list[float | None]:
    """Output / clear sky per bin [-]; None at night (clear sky below daylight_w per kWp)
    or without a reading."""
    return [
        None if p is None or c < daylight_w else p / (c * kw)
        for p, c in zip(power_w, clear_1kw_w, strict=True)
    ]


def median_share(peers: Sequence[Bins], n: int) -> list[float | None]:
    """Per bin, the median of the peers' ratios that are known there (None: none is)."""
    out: list[float | None] = []
    for i in range(n):
        vals = [p[i] for p in peers if p[i] is not None]
        out.append(statistics.median(vals) if vals else None)  # type: ignore[type-var]
    return out


def first_known(*layers: Bins) -> list[float | None]:
    """Per bin, the first layer with a value (village peers, then other villages, ...)."""
    n = len(layers[0])
    return [next((layer[i] for layer in layers if layer[i] is not None), None) for i in range(n)]


def expected_w(
    share: Bins, clear_1kw_w: Sequence[float], kw: float, daylight_w: float, fallback: float | None
) -> list[float]:
    """What the station should have made per bin [W]: share × clear sky × kWp; at night 0;
    where no share is known, fallback (its own earlier ratio) or 0."""
    out = []
    for s, c in zip(share, clear_1kw_w, strict=True):
        if c < daylight_w:
            out.append(0.0)
            continue
        f = s if s is not None else fallback
        out.append(0.0 if f is None else max(f, 0.0) * c * kw)
    return out


@dataclass(frozen=True)
class Verdict:
    """What the data says after a repair: verified or reopened at bin `index` (whose
    normal run began at `restored_index` for a verified one)."""

    outcome: str  # "verified" | "reopened"
    index: int
    restored_index: int | None = None


def judge_repair(
    own: Bins,
    share: Bins,
    *,
    normal_share: float,
    bin_min: float,
    verify_min: float,
    reopen_min: float,
    min_peer_share: float = 0.05,
) -> Verdict | None:
    """Walk the daylight bins after a repair: a run of verify_min normal minutes verifies
    it; reopen_min minutes of no or low output (counted over the whole window) reopen it.

    A bin is judged only where the station's peers produce (share ≥ min_peer_share:
    under thick cloud nobody can tell); own None there (silence) is not normal.
    """
    run = 0.0
    run_start = None
    bad = 0.0
    for i, (o, s) in enumerate(zip(own, share, strict=True)):
        if s is None or s < min_peer_share:
            continue
        if o is not None and o >= normal_share * s:
            if run_start is None:
                run_start = i
            run += bin_min
            if run >= verify_min:
                return Verdict("verified", i, run_start)
        else:
            run, run_start = 0.0, None
            bad += bin_min
            if bad >= reopen_min:
                return Verdict("reopened", i)
    return None


def lost_wh(expected: Sequence[float], own_w: Bins, bin_h: float, *, claim_missing: bool) -> int:
    """Energy the station should have made minus what it made [Wh], never below 0.

    claim_missing: a bin without a reading counts as zero output (the kind says the
    station stopped); otherwise it is left out (comms lost: it may have produced)."""
    total = 0.0
    for e, o in zip(expected, own_w, strict=True):
        if o is None:
            if claim_missing:
                total += e
            continue
        total += e - o
    return max(round(total * bin_h), 0)


def availability_min(
    own: Bins,
    clear_1kw_w: Sequence[float],
    *,
    daylight_w: float,
    bin_min: float,
    excluded: Sequence[bool],
    producing_ratio: float = 0.02,
) -> tuple[float, float]:
    """(daylight minutes producing, daylight minutes counted).

    own: the station's ratio per bin (None without a reading). Bins under an excluded
    interval (grid or village outage) and bins without a reading are not counted.
    """
    prod = day = 0.0
    for o, c, x in zip(own, clear_1kw_w, excluded, strict=True):
        if c < daylight_w or x or o is None:
            continue
        day += bin_min
        if o > producing_ratio:
            prod += bin_min
    return prod, day
