"""The sun at a site: position, sunrise/sunset, clear-sky plane-of-array irradiance.

Pure numpy and vectorised: every function takes a UTC epoch-millisecond scalar or
array and returns the same shape. The solar position follows Meeus, *Astronomical
Algorithms* (2nd ed.) ch. 12, 22 and 25 (low-precision solar coordinates with the
main nutation terms, apparent sidereal time), then topocentric parallax and the
NREL SPA refraction formula. That reproduces NREL's published SPA example to
about 0.003 deg (tests/simulator/test_solar.py), far below what a PV model needs.

The clear-sky model and the derate chain here are the ones the simulator uses
(simulator/physics.py multiplies the beam and diffuse parts by its cloud
transmittance and then applies the same chain), so ``expected_power_w`` is the
clear-sky output of a simulated station and a usable expectation for alerts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

# ---- constants shared with the simulator's physics ------------------------------------

#: solar constant [W/m²]
SOLAR_CONSTANT_W_M2 = 1361.0
#: ground reflectance for the tilted-plane ground term [-]
ALBEDO = 0.2
#: default array tilt [deg] and azimuth [deg from north, 180 = south] of the fleet
DEFAULT_TILT_DEG = 20.0
DEFAULT_AZIMUTH_DEG = 180.0
#: DC losses before the inverter: soiling, mismatch, wiring, LID, availability [-]
SYSTEM_DERATE = 0.86
#: module power temperature coefficient [1/°C] (crystalline silicon)
TEMP_COEFF_PER_C = -0.0040
#: module temperature rise over ambient per irradiance [°C per W/m²] (Ross model,
#: rooftop / open rack mix)
ROSS_K_C_PER_W_M2 = 0.030
#: inverter loss model: loss = c0*rated + c1*P_dc + c2*P_dc²/rated [-]
INVERTER_LOSS_C0 = 0.002
INVERTER_LOSS_C1 = 0.015
INVERTER_LOSS_C2 = 0.010
#: apparent sunrise/sunset: upper limb touching the horizon with standard refraction [deg]
SUNRISE_ELEVATION_DEG = -0.8333
#: default ΔT = TT − UT [s] (about 69 s in 2018–2026)
DELTA_T_S = 69.0

_MS_PER_DAY = 86_400_000
_JD_UNIX_EPOCH = 2440587.5


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _out(x: np.ndarray, scalar: bool) -> Any:
    return x.item() if scalar else x


def _sun_equatorial(
    ts_ms: np.ndarray, delta_t_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Apparent right ascension, declination, Greenwich apparent sidereal time [deg], R [AU]."""
    jd = ts_ms / _MS_PER_DAY + _JD_UNIX_EPOCH  # UT
    t_ut = (jd - 2451545.0) / 36525.0
    t = t_ut + delta_t_s / 86400.0 / 36525.0  # TT for the dynamical quantities
    rad = np.deg2rad
    l0 = 280.46646 + 36000.76983 * t + 0.0003032 * t * t
    m = 357.52911 + 35999.05029 * t - 0.0001537 * t * t
    e = 0.016708634 - 0.000042037 * t - 0.0000001267 * t * t
    mr = rad(m)
    c = (
        (1.914602 - 0.004817 * t - 0.000014 * t * t) * np.sin(mr)
        + (0.019993 - 0.000101 * t) * np.sin(2 * mr)
        + 0.000289 * np.sin(3 * mr)
    )
    true_long = l0 + c
    nu = rad(m + c)
    r_au = 1.000001018 * (1 - e * e) / (1 + e * np.cos(nu))
    # nutation (Meeus ch. 22, terms above 0.1"), aberration -20.4898"/R
    omega = rad(125.04452 - 1934.136261 * t)
    l_sun = rad(280.4665 + 36000.7698 * t)
    l_moon = rad(218.3165 + 481267.8813 * t)
    dpsi = (
        -17.20 * np.sin(omega)
        - 1.32 * np.sin(2 * l_sun)
        - 0.23 * np.sin(2 * l_moon)
        + 0.21 * np.sin(2 * omega)
    ) / 3600.0
    deps = (
        9.20 * np.cos(omega)
        + 0.57 * np.cos(2 * l_sun)
        + 0.10 * np.cos(2 * l_moon)
        - 0.09 * np.cos(2 * omega)
    ) / 3600.0
    lam = rad(true_long + dpsi - 20.4898 / 3600.0 / r_au)
    eps0 = 23.0 + 26.0 / 60 + (21.448 - 46.8150 * t - 0.00059 * t * t + 0.001813 * t**3) / 3600
    eps = rad(eps0 + deps)
    alpha = np.rad2deg(np.arctan2(np.cos(eps) * np.sin(lam), np.cos(lam)))
    delta = np.rad2deg(np.arcsin(np.sin(eps) * np.sin(lam)))
    gmst = (
        280.46061837
        + 360.98564736629 * (jd - 2451545.0)
        + 0.000387933 * t_ut * t_ut
        - t_ut**3 / 38710000.0
    )
    gast = gmst + dpsi * np.cos(eps)
    return alpha, delta, gast, r_au


def _refraction_deg(e0: np.ndarray, pressure_hpa: float, temperature_c: float) -> np.ndarray:
    """Atmospheric refraction [deg] for a true elevation e0 [deg] (NREL SPA eq. 42)."""
    e0c = np.maximum(e0, -(0.26667 + 0.5667))  # keep tan() finite below the horizon
    de = (
        (pressure_hpa / 1010.0)
        * (283.0 / (273.0 + temperature_c))
        * 1.02
        / (60.0 * np.tan(np.deg2rad(e0c + 10.3 / (e0c + 5.11))))
    )
    return np.where(e0 >= -(0.26667 + 0.5667), de, 0.0)


def solar_position(
    ts_ms: Any,
    latitude: float,
    longitude: float,
    *,
    pressure_hpa: float = 1013.25,
    temperature_c: float = 12.0,
    delta_t_s: float = DELTA_T_S,
) -> tuple[Any, Any]:
    """Apparent (refracted) topocentric solar zenith and azimuth.

    ts_ms: UTC epoch [ms], scalar or array. latitude, longitude [deg, north/east
    positive]. Returns (zenith [deg], azimuth [deg east of north]) with ts_ms's shape.
    """
    scalar = np.ndim(ts_ms) == 0
    ts = _arr(ts_ms)
    alpha, delta, gast, r_au = _sun_equatorial(ts, delta_t_s)
    h = np.deg2rad(gast + longitude - alpha)
    phi = np.deg2rad(latitude)
    d = np.deg2rad(delta)
    sin_e = np.sin(phi) * np.sin(d) + np.cos(phi) * np.cos(d) * np.cos(h)
    e0 = np.rad2deg(np.arcsin(np.clip(sin_e, -1.0, 1.0)))
    # topocentric parallax: 8.794" at 1 AU (elevation of the observer is negligible)
    e0 = e0 - (8.794 / 3600.0 / r_au) * np.cos(np.deg2rad(e0))
    e = e0 + _refraction_deg(e0, pressure_hpa, temperature_c)
    az = np.rad2deg(np.arctan2(np.sin(h), np.cos(h) * np.sin(phi) - np.tan(d) * np.cos(phi)))
    az = np.mod(az + 180.0, 360.0)
    return _out(90.0 - e, scalar), _out(az, scalar)


def _utc_offset_ms(ts_ms: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """UTC offset [ms] of tz at each instant (computed once per distinct hour)."""
    hours = np.floor_divide(ts_ms.astype(np.int64), 3_600_000)
    uniq, inv = np.unique(hours, return_inverse=True)
    offs = np.array(
        [
            dt.datetime.fromtimestamp(int(hh) * 3600, tz).utcoffset().total_seconds() * 1000
            for hh in uniq
        ],
        dtype=np.int64,
    )
    return offs[inv].reshape(ts_ms.shape)


def local_day_start_ms(ts_ms: Any, tz: str | ZoneInfo) -> Any:
    """UTC epoch [ms] of the site-local midnight starting the day that contains ts_ms."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    scalar = np.ndim(ts_ms) == 0
    ts = np.asarray(ts_ms, dtype=np.int64)
    off = _utc_offset_ms(ts, zone)
    start = (ts + off) // _MS_PER_DAY * _MS_PER_DAY - off
    # a DST change between midnight and ts: take the offset valid at midnight
    off0 = _utc_offset_ms(start, zone)
    start = (ts + off) // _MS_PER_DAY * _MS_PER_DAY - off0
    return _out(start, scalar)


def _hour_angle_and_dec(ts_ms: np.ndarray, longitude: float) -> tuple[np.ndarray, np.ndarray]:
    alpha, delta, gast, _ = _sun_equatorial(ts_ms, DELTA_T_S)
    h = np.mod(gast + longitude - alpha + 180.0, 360.0) - 180.0
    return h, delta


def sunrise_sunset_ms(
    ts_ms: Any, latitude: float, longitude: float, tz: str | ZoneInfo
) -> tuple[Any, Any]:
    """Apparent sunrise and sunset, UTC epoch [ms], of the site-local day containing ts_ms.

    Upper limb on the horizon with standard refraction (elevation -0.8333 deg),
    iterated to well under a second. Polar night returns (noon, noon); polar day
    returns (day start, day end).
    """
    scalar = np.ndim(ts_ms) == 0
    day0 = np.asarray(local_day_start_ms(np.asarray(ts_ms, dtype=np.int64), tz), dtype=np.int64)
    phi = np.deg2rad(latitude)
    # solar transit: start at local clock noon, correct by the hour angle (deg -> ms: 240 s)
    transit = day0.astype(np.float64) + _MS_PER_DAY / 2
    for _ in range(2):
        h, _dec = _hour_angle_and_dec(transit, longitude)
        transit = transit - h * 240_000.0
    events = []
    for sign in (-1.0, 1.0):
        t = transit.copy()
        for _ in range(3):
            h, dec = _hour_angle_and_dec(t, longitude)
            d = np.deg2rad(dec)
            cos_h0 = (np.sin(np.deg2rad(SUNRISE_ELEVATION_DEG)) - np.sin(phi) * np.sin(d)) / (
                np.cos(phi) * np.cos(d)
            )
            h0 = np.rad2deg(np.arccos(np.clip(cos_h0, -1.0, 1.0)))
            t = t + (sign * h0 - h) * 240_000.0
        polar_night = cos_h0 > 1.0
        polar_day = cos_h0 < -1.0
        edge = day0 if sign < 0 else day0 + _MS_PER_DAY
        t = np.where(polar_night, transit, np.where(polar_day, edge, t))
        events.append(np.rint(t).astype(np.int64))
    return _out(events[0], scalar), _out(events[1], scalar)


def sun_up(
    ts_ms: Any,
    latitude: float,
    longitude: float,
    margin_s: float = 0,
    tz: str | ZoneInfo = "UTC",
) -> Any:
    """True where ts_ms lies inside sunrise + margin_s .. sunset − margin_s [s].

    tz only chooses which civil day's events are used; for any zone the answer
    is the same except within margin_s of midnight at the poles.
    """
    scalar = np.ndim(ts_ms) == 0
    ts = np.asarray(ts_ms, dtype=np.int64)
    # the local solar day avoids picking yesterday's sunset near UTC midnight
    zone = tz if tz != "UTC" else _solar_zone(longitude)
    rise, sset = sunrise_sunset_ms(ts, latitude, longitude, zone)
    m = int(margin_s * 1000)
    up = (ts >= np.asarray(rise) + m) & (ts <= np.asarray(sset) - m)
    return _out(up, scalar)


def _solar_zone(longitude: float) -> ZoneInfo | dt.timezone:
    return dt.timezone(dt.timedelta(hours=round(longitude / 15.0)))  # type: ignore[return-value]


def ambient_temperature_c(ts_ms: Any, latitude: float, longitude: float) -> Any:
    """Typical air temperature [°C] for a subtropical monsoon site (Ji'an climate normals).

    Annual mean 18.5 °C, January 6.5 °C, July 29.5 °C (mirrored south of the
    equator), daily swing ±4 °C peaking at 14:00 solar time.
    """
    scalar = np.ndim(ts_ms) == 0
    ts = _arr(ts_ms)
    days = ts / _MS_PER_DAY
    doy = np.mod(days, 365.2425)  # day of year from 1 January (UTC), drift-free enough
    seasonal = -11.5 * np.cos(2 * np.pi * (doy - 17.0) / 365.2425) * np.sign(latitude or 1.0)
    solar_hour = np.mod(days * 24.0 + longitude / 15.0, 24.0)
    daily = 4.0 * np.cos(2 * np.pi * (solar_hour - 14.0) / 24.0)
    return _out(18.5 + seasonal + daily, scalar)


def clear_sky_components(
    ts_ms: Any, latitude: float, longitude: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clear-sky beam normal and diffuse horizontal irradiance [W/m²] plus the sun.

    Returns (dni, dhi, ghi, zenith [deg], azimuth [deg]) as arrays. Beam: Meinel's
    0.7^(AM^0.678) with Kasten–Young air mass and the Earth–Sun distance; diffuse
    horizontal 12 % of the extraterrestrial beam times the air-mass attenuation of
    the same model (Liu–Jordan style), typical of a clear but humid sky.
    """
    ts = _arr(ts_ms)
    zen, az = solar_position(ts, latitude, longitude)
    zen = np.asarray(zen)
    az = np.asarray(az)
    cosz = np.cos(np.deg2rad(zen))
    up = zen < 90.0
    zc = np.minimum(zen, 89.99)
    am = 1.0 / (np.cos(np.deg2rad(zc)) + 0.50572 * (96.07995 - zc) ** -1.6364)
    doy = np.mod(ts / _MS_PER_DAY, 365.2425)
    e0 = 1.0 + 0.033 * np.cos(2 * np.pi * (doy - 3.0) / 365.2425)
    extra = SOLAR_CONSTANT_W_M2 * e0
    dni = np.where(up, extra * 0.7 ** (am**0.678), 0.0)
    dhi = np.where(up, 0.12 * extra * 0.7 ** (am**0.678 * 0.5) * np.maximum(cosz, 0.0) ** 0.5, 0.0)
    # the sun's disc below the horizon but sky still bright (civil dawn) is ignored
    ghi = dni * np.maximum(cosz, 0.0) + dhi
    return dni, dhi, ghi, zen, az


def poa_w_m2(
    dni: np.ndarray,
    dhi: np.ndarray,
    ghi: np.ndarray,
    zenith_deg: np.ndarray,
    azimuth_deg: np.ndarray,
    tilt_deg: float = DEFAULT_TILT_DEG,
    array_azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
) -> np.ndarray:
    """Plane-of-array irradiance [W/m²]: beam on the tilted plane + isotropic sky + ground."""
    zr = np.deg2rad(zenith_deg)
    tr = np.deg2rad(tilt_deg)
    cos_aoi = np.cos(zr) * np.cos(tr) + np.sin(zr) * np.sin(tr) * np.cos(
        np.deg2rad(azimuth_deg - array_azimuth_deg)
    )
    beam = dni * np.maximum(cos_aoi, 0.0)
    sky = dhi * (1.0 + np.cos(tr)) / 2.0
    ground = ghi * ALBEDO * (1.0 - np.cos(tr)) / 2.0
    return beam + sky + ground


def clear_sky_poa_w_m2(
    ts_ms: Any,
    latitude: float,
    longitude: float,
    tilt_deg: float = DEFAULT_TILT_DEG,
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
) -> Any:
    """Clear-sky plane-of-array irradiance [W/m²] for an array at tilt/azimuth [deg]."""
    scalar = np.ndim(ts_ms) == 0
    dni, dhi, ghi, zen, az = clear_sky_components(ts_ms, latitude, longitude)
    return _out(poa_w_m2(dni, dhi, ghi, zen, az, tilt_deg, azimuth_deg), scalar)


def module_temperature_c(poa: Any, ambient_c: Any) -> Any:
    """Module temperature [°C] from plane-of-array irradiance [W/m²] and air [°C] (Ross)."""
    return np.asarray(ambient_c) + ROSS_K_C_PER_W_M2 * np.asarray(poa)


def dc_power_w(capacity_kw: Any, poa: Any, module_c: Any) -> Any:
    """Array DC output [W]: nameplate [kW] × POA/1000 × system derate × temperature factor."""
    temp_factor = 1.0 + TEMP_COEFF_PER_C * (np.asarray(module_c) - 25.0)
    return np.asarray(capacity_kw) * np.asarray(poa) * SYSTEM_DERATE * temp_factor


def inverter_ac_w(dc_w: Any, rated_w: Any) -> Any:
    """AC output [W] of an inverter rated rated_w [W] fed dc_w [W]: losses, then clipping."""
    dc = np.maximum(np.asarray(dc_w, dtype=np.float64), 0.0)
    rated = np.asarray(rated_w, dtype=np.float64)
    loss = INVERTER_LOSS_C0 * rated + INVERTER_LOSS_C1 * dc + INVERTER_LOSS_C2 * dc * dc / rated
    ac = np.where(dc > 0, dc - loss, 0.0)
    return np.clip(ac, 0.0, rated)


def expected_power_w(
    capacity_kw: float,
    ts_ms: Any,
    latitude: float,
    longitude: float,
    tilt_deg: float = DEFAULT_TILT_DEG,
    azimuth_deg: float = DEFAULT_AZIMUTH_DEG,
) -> Any:
    """Clear-sky AC output [W] of a station of capacity_kw [kW DC] at ts_ms (UTC [ms]).

    Same chain as the simulator (temperature derate with typical ambient
    temperature, system derate, inverter losses, clipping at an AC rating equal
    to the DC nameplate). Real output under clouds is lower; alerts compare
    against a fraction of this.
    """
    scalar = np.ndim(ts_ms) == 0
    ts = _arr(ts_ms)
    poa = np.asarray(clear_sky_poa_w_m2(ts, latitude, longitude, tilt_deg, azimuth_deg))
    tmod = module_temperature_c(poa, ambient_temperature_c(ts, latitude, longitude))
    dc = dc_power_w(capacity_kw, poa, tmod)
    return _out(inverter_ac_w(dc, capacity_kw * 1000.0), scalar)
