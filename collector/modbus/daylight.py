"""Whether the sun is up at a place and time, in plain floats (no numpy on a gateway).

The collector only needs this to choose between polling every cycle and a night
heartbeat, so the NOAA low-precision formulas (equation of time and declination
from the fractional year, within about a minute of core.solar's events at these
latitudes) are enough; core.solar stays the reference for the simulator and the
alerts. Loading numpy for this one decision would cost a gateway ~20 MB resident.
"""

from __future__ import annotations

import math

#: the sun's centre at sunrise/sunset: refraction (34') plus its radius (16')
HORIZON_DEG = -0.833
_DAY_MS = 86_400_000


def solar_elevation_deg(ts_ms: int, latitude: float, longitude: float) -> float:
    """Apparent elevation of the sun's centre above the horizon [deg], refraction at
    the horizon not included (compare with HORIZON_DEG)."""
    days = ts_ms / _DAY_MS  # since 1970-01-01T00:00Z
    # fractional year: the day of the year of a 365.2422-day year, in radians
    g = 2 * math.pi * ((days - 10957.5) % 365.2422) / 365.2422
    eqtime_min = 229.18 * (
        0.000075
        + 0.001868 * math.cos(g)
        - 0.032077 * math.sin(g)
        - 0.014615 * math.cos(2 * g)
        - 0.040849 * math.sin(2 * g)
    )
    decl = (
        0.006918
        - 0.399912 * math.cos(g)
        + 0.070257 * math.sin(g)
        - 0.006758 * math.cos(2 * g)
        + 0.000907 * math.sin(2 * g)
        - 0.002697 * math.cos(3 * g)
        + 0.00148 * math.sin(3 * g)
    )
    utc_min = (ts_ms % _DAY_MS) / 60_000
    true_solar_min = utc_min + eqtime_min + 4 * longitude
    hour_angle = math.radians(true_solar_min / 4 - 180)
    phi = math.radians(latitude)
    sin_e = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_e))))


def sun_up(ts_ms: int, latitude: float, longitude: float) -> bool:
    """True between sunrise and sunset at the place (the sun's upper limb above the horizon)."""
    return solar_elevation_deg(ts_ms, latitude, longitude) > HORIZON_DEG
