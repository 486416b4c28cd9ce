"""Clocks: wall time, or simulated time running at a factor from an anchor.

The simulator and the collector must agree on "now" when time is accelerated
(demo, tests): the simulator writes its anchor to a small JSON file and the
collector reads it (``--sim-clock FILE``). Readings are stamped with the
clock's now at read time.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path


class Clock:
    """Wall-clock UTC time."""

    factor: float = 1.0

    def now_ms(self) -> int:
        """Current time, UTC epoch milliseconds."""
        return time.time_ns() // 1_000_000

    def sleep_s(self, sim_seconds: float) -> float:
        """Wall seconds that correspond to sim_seconds of this clock."""
        return sim_seconds / self.factor


@dataclass(frozen=True)
class ScaledClock(Clock):
    """Simulated time: ``sim = anchor_sim_ms + (wall - anchor_wall_ms) * factor``."""

    anchor_wall_ms: int
    anchor_sim_ms: int
    factor: float = 1.0

    def now_ms(self) -> int:
        """Current simulated time, UTC epoch milliseconds."""
        wall = time.time_ns() // 1_000_000
        return self.anchor_sim_ms + int((wall - self.anchor_wall_ms) * self.factor)

    @classmethod
    def starting(cls, sim_start_ms: int, factor: float) -> ScaledClock:
        """A clock that reads sim_start_ms now and runs factor times faster than the wall."""
        if factor <= 0:
            raise ValueError("time factor must be > 0")
        return cls(time.time_ns() // 1_000_000, sim_start_ms, factor)

    def save(self, path: Path) -> None:
        """Write the anchor so another process can share this clock (atomic rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "anchor_wall_ms": self.anchor_wall_ms,
                    "anchor_sim_ms": self.anchor_sim_ms,
                    "factor": self.factor,
                }
            )
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ScaledClock:
        """Read an anchor written by save()."""
        d = json.loads(path.read_text())
        return cls(int(d["anchor_wall_ms"]), int(d["anchor_sim_ms"]), float(d["factor"]))
