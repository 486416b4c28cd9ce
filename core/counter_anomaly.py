"""Counter anomalies: an energy counter going backwards or rising faster than nameplate.

One rule and one threshold set for everyone who reads lifetime counters (the payout run
refuses to pay from such a counter; the alert engine raises ``counter_anomaly``):

- backwards: a reading lower than the one before it (device replaced or reset);
- jump: a rise above ``capacity_w x hours x jump_factor + SLACK_WH``. Devices refresh
  their registers in steps, so a counter may repeat a value for several readings and then
  catch up: the hours of a rise count from the last reading before the previous value was
  first seen (a stale value may have been reached any time after it). ``SLACK_WH``
  absorbs the counter's resolution.

Arithmetic is exact (Decimal): whether a counter is trusted for money must not depend on
float rounding at the limit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

#: absorbs counter resolution on a rise [Wh]
SLACK_WH = 50
BACKWARDS, JUMP = "backwards", "jump"
_H_MS = 3_600_000


@dataclass(frozen=True)
class Anomaly:
    """One anomalous step of a counter: from (ts, value) to (ts, value)."""

    kind: str  # BACKWARDS | JUMP
    from_ts_ms: int
    from_wh: int
    to_ts_ms: int
    to_wh: int
    #: the largest plausible rise for the step [Wh]; None for a backward step
    max_wh: Decimal | None = None


def max_rise_wh(capacity_w: float, elapsed_ms: int, jump_factor: Decimal | float) -> Decimal:
    """The largest plausible rise of a counter [Wh] over elapsed_ms at nameplate capacity_w."""
    factor = jump_factor if isinstance(jump_factor, Decimal) else Decimal(str(jump_factor))
    return Decimal(str(capacity_w)) * elapsed_ms / _H_MS * factor + SLACK_WH


def counter_anomalies(
    points: Sequence[tuple[int, float]], capacity_w: float, jump_factor: Decimal | float
) -> list[Anomaly]:
    """Every anomalous step of a counter [Wh] over readings (ts_ms, value) sorted by time."""
    out: list[Anomaly] = []
    # a float bound far from the limit decides at once; near it the exact one decides
    rough_wh_per_ms = capacity_w * float(jump_factor) / _H_MS
    before_run_ms: int | None = None  # last reading before the current run of equal values
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if before_run_ms is None:
            before_run_ms = t0
        elapsed = t1 - before_run_ms
        rise = v1 - v0
        if rise != 0:
            before_run_ms = t0
        if rise < 0:
            out.append(Anomaly(BACKWARDS, t0, int(v0), t1, int(v1)))
        elif rise > 0 and rise > 0.999 * (rough_wh_per_ms * elapsed + SLACK_WH):
            limit = max_rise_wh(capacity_w, elapsed, jump_factor)
            if rise > limit:
                out.append(Anomaly(JUMP, t0, int(v0), t1, int(v1), limit))
    return out
