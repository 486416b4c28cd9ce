"""Clocks for tests: a fixed simulated day, never the wall clock's hour.

The collector polls only a night heartbeat while the sun is down at a station, and
alerts count silence in daylight only, so a test that runs the real service on the
wall clock behaves differently at 02:00 and at noon in Asia/Shanghai. Tests that
run the service give it one of these clocks instead (``Service(clock=...)`` or
``pvledger collect --sim-clock FILE``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.clock import ScaledClock
from core.reading import to_ms

CST = dt.timezone(dt.timedelta(hours=8))
#: noon at the default site (Jizhou, 27.1 N 115 E) on a long day: the sun is up for
#: hours of simulated time either side, even at 60x
NOON = dt.datetime(2026, 6, 1, 12, 0, tzinfo=CST)
NOON_MS = to_ms(NOON)
#: 02:00 of the same day: the sun is down for hours either side
NIGHT_MS = to_ms(dt.datetime(2026, 6, 1, 2, 0, tzinfo=CST))


def daytime_clock(factor: float = 1.0, start_ms: int = NOON_MS) -> ScaledClock:
    """A clock that reads the default site's midsummer noon now and runs at factor."""
    return ScaledClock.starting(start_ms, factor)


def write_daytime_clock(path: Path, factor: float = 1.0, start_ms: int = NOON_MS) -> Path:
    """Save a daytime clock where ``pvledger collect --sim-clock`` reads it; returns path."""
    daytime_clock(factor, start_ms).save(path)
    return path
