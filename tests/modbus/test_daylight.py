"""The collector's numpy-free sunrise test agrees with core.solar (the reference) except
within a few minutes of sunrise or sunset, in every season and at high latitude."""

from __future__ import annotations

import numpy as np
import pytest

from collector.modbus.daylight import sun_up
from core import solar

START_MS = 1_767_225_600_000  # 2026-01-01T00:00Z
STEP_MS = 7 * 60_000
NEAR_MS = 3 * 60_000


@pytest.mark.parametrize(
    ("lat", "lon"), [(27.11, 114.98), (45.0, 125.0), (-33.9, 151.2), (60.0, 10.0)]
)
def test_sun_up_matches_core_solar_away_from_the_events(lat: float, lon: float) -> None:
    ts = np.arange(START_MS, START_MS + 365 * 86_400_000, STEP_MS, dtype=np.int64)
    ref = solar.sun_up(ts, lat, lon)
    mine = np.array([sun_up(int(t), lat, lon) for t in ts])
    assert ref.any() and not ref.all()  # days and nights both judged
    off = ts[mine != ref]
    assert len(off) < 0.002 * len(ts)  # about one 7-minute step per 3 events
    # every disagreement lies within NEAR_MS of a sunrise or sunset of the reference
    assert (solar.sun_up(off - NEAR_MS, lat, lon) != solar.sun_up(off + NEAR_MS, lat, lon)).all()


def test_polar_night_and_midnight_sun() -> None:
    midwinter, midsummer = 1_766_318_400_000, 1_782_043_200_000  # 2025-12-21, 2026-06-21 12Z
    assert not any(sun_up(midwinter + h * 3_600_000, 78.2, 15.6) for h in range(24))
    assert all(sun_up(midsummer + h * 3_600_000, 78.2, 15.6) for h in range(24))
