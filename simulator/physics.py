"""PV physics of the simulated fleet, vectorised and random-access in time.

Chain: clear sky (core.solar) -> cloud transmittance per village -> plane of array
(beam and diffuse scaled separately) -> module temperature derate -> DC -> inverter
losses and clipping at the AC rating (core.solar's chain, shared with
``expected_power_w``).

Power is defined on a fixed grid of nodes every ``NODE_S`` seconds (UTC-aligned)
and is linear between nodes, so the energy between any two instants is an exact
integral of the power that any reader samples: lifetime counters served live,
written by the backfill, and integrated by revenue all agree. ``Ecum`` (energy
since ``day0``) is a prefix sum of daily integrals plus the part of the current
day, so it can be evaluated for any instant without simulating from an origin.

Weather is value noise from a counter-based hash (simulator/noise.py):
the same seed gives the same sky at the same instant, whichever window is asked.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from core import solar
from simulator import noise

NODE_S = 900
NODE_MS = NODE_S * 1000
DAY_MS = 86_400_000
NODES_PER_DAY = DAY_MS // NODE_MS  # 96 intervals, 97 nodes incl. the next midnight


@dataclass(frozen=True)
class Climate:
    """Weather parameters (simulator/climate.yaml)."""

    clearness_mean: tuple[float, ...]
    clearness_sd: tuple[float, ...]
    persistence: tuple[float, ...]
    weights_daily: dict[str, float]
    weights_intraday: dict[str, float]
    multi_day_s: float
    day_s: float
    intraday_s: tuple[float, ...]
    intraday_sd: float


@cache
def default_climate() -> Climate:
    """The Ji'an climate shipped with the simulator."""
    d = yaml.safe_load((Path(__file__).parent / "climate.yaml").read_text())
    return Climate(
        tuple(d["clearness_mean"]),
        tuple(d["clearness_sd"]),
        tuple(d["persistence"]),
        dict(d["weights_daily"]),
        dict(d["weights_intraday"]),
        float(d["multi_day_s"]),
        float(d["day_s"]),
        tuple(float(x) for x in d["intraday_s"]),
        float(d["intraday_sd"]),
    )


def _monthly(table: tuple[float, ...], ts_ms: np.ndarray) -> np.ndarray:
    """A monthly table interpolated linearly between mid-months (no jumps at month ends)."""
    doy = np.mod(ts_ms / DAY_MS, 365.2425)  # days since 1 January (UTC), drift-free enough
    pos = doy / (365.2425 / 12.0) - 0.5  # 0 = mid-January
    i = np.floor(pos).astype(np.int64)
    f = pos - i
    tab = np.asarray(table, dtype=np.float64)
    return tab[np.mod(i, 12)] * (1.0 - f) + tab[np.mod(i + 1, 12)] * f


class Weather:
    """Cloud transmittance per village: persistent, correlated between neighbours.

    A village's clearness is a weighted sum of a regional, a town and a village
    process (villages of the same town are neighbours and share two of the three).
    Daily clearness mixes a day-scale and a multi-day process, the latter weighted
    up in the plum-rain season so wet spells last; intraday fluctuation is largest
    on broken-cloud days.
    """

    def __init__(self, seed: int, villages: list[tuple[str, str]], climate: Climate | None = None):
        self.seed = seed
        self.climate = climate or default_climate()
        self.villages = [v for v, _ in villages]
        self.towns = [t or v for v, t in villages]

    def _combined(
        self, level: str, name: str, t: np.ndarray, intraday: bool, a: np.ndarray
    ) -> np.ndarray:
        c = self.climate
        if intraday:
            parts = [
                noise.value_noise(self.seed, noise.key_of("i", level, name, s), t, s * 1000)
                for s in c.intraday_s
            ]
            return sum(parts) / np.sqrt(len(parts))
        fast = noise.value_noise(self.seed, noise.key_of("d", level, name), t, c.day_s * 1000)
        slow = noise.value_noise(self.seed, noise.key_of("m", level, name), t, c.multi_day_s * 1000)
        return np.sqrt(1.0 - a) * fast + np.sqrt(a) * slow

    def clearness(self, ts_ms: np.ndarray) -> np.ndarray:
        """Instantaneous clearness [0..1] of each village at ts_ms: shape (villages, len(ts))."""
        c = self.climate
        t = np.asarray(ts_ms, dtype=np.float64)
        out = np.empty((len(self.villages), t.size))
        wd, wi = c.weights_daily, c.weights_intraday
        a = _monthly(c.persistence, t)
        reg_d = self._combined("region", "", t, False, a)
        reg_i = self._combined("region", "", t, True, a)
        town_d: dict[str, np.ndarray] = {}
        town_i: dict[str, np.ndarray] = {}
        mean = _monthly(c.clearness_mean, t)
        sd = _monthly(c.clearness_sd, t)
        for n, (v, town) in enumerate(zip(self.villages, self.towns, strict=True)):
            if town not in town_d:
                town_d[town] = self._combined("town", town, t, False, a)
                town_i[town] = self._combined("town", town, t, True, a)
            zd = (
                wd["region"] * reg_d
                + wd["town"] * town_d[town]
                + wd["village"] * self._combined("village", v, t, False, a)
            )
            zi = (
                wi["region"] * reg_i
                + wi["town"] * town_i[town]
                + wi["village"] * self._combined("village", v, t, True, a)
            )
            k_day = np.clip(mean + sd * zd, 0.05, 0.95)
            k = k_day + c.intraday_sd * 4.0 * k_day * (1.0 - k_day) * zi
            out[n] = np.clip(k, 0.03, 1.0)
        return out


def cloudy_poa_w_m2(
    ts_ms: np.ndarray, latitude: float, longitude: float, k: np.ndarray
) -> np.ndarray:
    """Plane-of-array irradiance [W/m²] under clearness k (shape (villages, len(ts))).

    Global horizontal is k × clear; the beam part falls faster than k (no beam under
    overcast), the diffuse part makes up the rest, so overcast skies lose the tilt gain.
    """
    dni, dhi, ghi, zen, az = solar.clear_sky_components(ts_ms, latitude, longitude)
    beam_poa = solar.poa_w_m2(dni, 0.0 * dhi, 0.0 * ghi, zen, az)
    sky_poa = solar.poa_w_m2(0.0 * dni, dhi, 0.0 * ghi, zen, az)
    ground_poa = solar.poa_w_m2(0.0 * dni, 0.0 * dhi, ghi, zen, az)
    beam_h = dni * np.maximum(np.cos(np.deg2rad(zen)), 0.0)
    kb = np.clip((k - 0.25) / 0.75, 0.0, 1.0) ** 1.5
    with np.errstate(divide="ignore", invalid="ignore"):
        kd = np.where(dhi > 0, (k * ghi - beam_h * kb) / dhi, 0.0)
    return kb * beam_poa + np.maximum(kd, 0.0) * sky_poa + k * ground_poa


@dataclass(frozen=True)
class Curves:
    """Distinct power curves: (village index, DC nameplate [W], AC rating [W]) each."""

    village_idx: np.ndarray
    dc_w: np.ndarray
    rated_w: np.ndarray


class PowerModel:
    """AC power [W] and cumulative energy [Wh] of each curve, random-access in time."""

    def __init__(
        self,
        weather: Weather,
        curves: Curves,
        latitude: float,
        longitude: float,
        day0: int,
    ):
        self.weather = weather
        self.curves = curves
        self.latitude = latitude
        self.longitude = longitude
        self.day0 = day0  # UTC day index where Ecum = 0
        self._day_cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._prefix = np.zeros((len(curves.dc_w), 1))  # Ecum [Wh] at day0 + i

    @property
    def n_curves(self) -> int:
        """Number of distinct curves."""
        return len(self.curves.dc_w)

    def node_power(self, node_ms: np.ndarray) -> np.ndarray:
        """AC power [W] of every curve at node instants: shape (curves, len(node_ms))."""
        t_all = np.asarray(node_ms, dtype=np.float64)
        out = np.zeros((self.n_curves, t_all.size))
        # the weather is only worth computing while the sun is up (half the nodes)
        zen, _ = solar.solar_position(t_all, self.latitude, self.longitude)
        up = np.asarray(zen) < 90.0
        if not up.any():
            return out
        t = t_all[up]
        k = self.weather.clearness(t)
        poa_v = cloudy_poa_w_m2(t, self.latitude, self.longitude, k)
        amb = solar.ambient_temperature_c(t, self.latitude, self.longitude)
        poa = poa_v[self.curves.village_idx]
        tmod = solar.module_temperature_c(poa, amb)
        dc = solar.dc_power_w(self.curves.dc_w[:, None] / 1000.0, poa, tmod)
        out[:, up] = solar.inverter_ac_w(dc, self.curves.rated_w[:, None])
        return out

    def day_nodes(self, days: np.ndarray) -> np.ndarray:
        """Node powers [W] for whole UTC days: shape (curves, len(days), NODES_PER_DAY + 1)."""
        days = np.asarray(days, dtype=np.int64)
        missing = [int(d) for d in days if int(d) not in self._day_cache]
        if missing:
            m = np.asarray(missing, dtype=np.int64)
            nodes = m[:, None] * DAY_MS + np.arange(NODES_PER_DAY + 1)[None, :] * NODE_MS
            p = self.node_power(nodes.ravel()).reshape(self.n_curves, len(m), -1)
            for j, d in enumerate(missing):
                self._day_cache[d] = p[:, j, :]
            while len(self._day_cache) > 800:
                self._day_cache.popitem(last=False)
        return np.stack([self._day_cache[int(d)] for d in days], axis=1)

    def _ensure_prefix(self, last_day: int) -> None:
        """Extend the daily prefix sums up to last_day (inclusive) in chunks."""
        have = self._prefix.shape[1] - 1  # prefix[:, i] known for i <= have
        need = last_day - self.day0
        if need <= have:
            return
        chunks = [self._prefix]
        acc = self._prefix[:, -1]
        d = self.day0 + have
        while d < self.day0 + need:
            n = min(366, self.day0 + need - d)
            days = np.arange(d, d + n, dtype=np.int64)
            nodes = days[:, None] * DAY_MS + np.arange(NODES_PER_DAY + 1)[None, :] * NODE_MS
            p = self.node_power(nodes.ravel()).reshape(self.n_curves, n, -1)
            daily = (p[:, :, :-1] + p[:, :, 1:]).sum(axis=2) * (NODE_S / 2.0 / 3600.0)
            cum = acc[:, None] + np.cumsum(daily, axis=1)
            chunks.append(cum)
            acc = cum[:, -1]
            d += n
        self._prefix = np.concatenate(chunks, axis=1)

    def _locate(
        self, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        day = np.floor_divide(t, DAY_MS)
        uniq, j = np.unique(day, return_inverse=True)
        j = j.reshape(t.shape)
        within = t - day * DAY_MS
        k = np.minimum(within // NODE_MS, NODES_PER_DAY - 1)
        tau = (within - k * NODE_MS) / NODE_MS
        return day, uniq, j, k, tau

    def power(self, curve: np.ndarray, ts_ms: np.ndarray) -> np.ndarray:
        """AC power [W] of curve[i] at ts_ms[i] (linear between nodes)."""
        c, t = np.broadcast_arrays(np.asarray(curve), np.asarray(ts_ms, dtype=np.int64))
        if t.size == 0:
            return np.zeros(t.shape)
        _, uniq, j, k, tau = self._locate(t)
        p = self.day_nodes(uniq)
        p0 = p[c, j, k]
        p1 = p[c, j, k + 1]
        return p0 + (p1 - p0) * tau

    def ecum(self, curve: np.ndarray, ts_ms: np.ndarray) -> np.ndarray:
        """Energy [Wh] of curve[i] from day0 to ts_ms[i] (exact integral of power())."""
        c, t = np.broadcast_arrays(np.asarray(curve), np.asarray(ts_ms, dtype=np.int64))
        if t.size == 0:
            return np.zeros(t.shape)
        day, uniq, j, k, tau = self._locate(t)
        if int(uniq.min()) < self.day0:
            raise ValueError("time before the model's day0")
        self._ensure_prefix(int(uniq.max()))
        p = self.day_nodes(uniq)
        seg = (p[:, :, :-1] + p[:, :, 1:]) * (NODE_S / 2.0 / 3600.0)
        within = np.concatenate([np.zeros((*seg.shape[:2], 1)), np.cumsum(seg, axis=2)], axis=2)
        p0 = p[c, j, k]
        p1 = p[c, j, k + 1]
        partial = tau * NODE_S * (p0 + (p0 + (p1 - p0) * tau)) / 2.0 / 3600.0
        return self._prefix[c, day - self.day0] + within[c, j, k] + partial
