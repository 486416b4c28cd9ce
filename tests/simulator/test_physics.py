"""Physics: annual yield and monthly shape at Ji'an, night, determinism, weather structure."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from core import solar
from simulator.fleet import DEFAULT_SEED
from simulator.physics import DAY_MS, Curves, PowerModel, Weather

TZ = dt.timezone(dt.timedelta(hours=8))
LAT, LON = 27.11, 114.98
#: DOMAIN.md monthly shape [kWh/kWp], Jan..Dec (sum 1,051)
DOMAIN_MONTHLY = np.array([63, 59, 67, 79, 88, 88, 124, 122, 107, 99, 81, 74], dtype=float)


def _ms(y: int, m: int, d: int = 1, h: int = 0) -> int:
    return int(dt.datetime(y, m, d, h, tzinfo=TZ).timestamp() * 1000)


def _one_kwp(seed: int, year: int) -> PowerModel:
    w = Weather(seed, [("dongpi", "zhangshan")])
    c = Curves(np.array([0]), np.array([1000.0]), np.array([1000.0]))
    return PowerModel(w, c, LAT, LON, _ms(year, 1) // DAY_MS - 1)


def _monthly_kwh(model: PowerModel, year: int) -> np.ndarray:
    bounds = np.array([_ms(year, m) for m in range(1, 13)] + [_ms(year + 1, 1)])
    return np.diff(model.ecum(np.zeros(13, dtype=int), bounds)) / 1000.0


@pytest.mark.parametrize("year", [2018, 2026])
def test_year_at_jian_matches_domain(year: int) -> None:
    monthly = _monthly_kwh(_one_kwp(DEFAULT_SEED, year), year)
    annual = monthly.sum()
    assert abs(annual / 1050.0 - 1.0) <= 0.05, annual
    dev = monthly / DOMAIN_MONTHLY - 1.0
    assert np.all(np.abs(dev) <= 0.15), dict(enumerate(dev.round(3), 1))
    # plum-rain dip before the July-August peak
    assert monthly[3:6].mean() < 0.8 * monthly[6:8].mean()


def test_zero_at_night_and_clipped() -> None:
    m = _one_kwp(DEFAULT_SEED, 2018)
    ts = _ms(2018, 5, 1) + np.arange(0, 10 * DAY_MS, 300_000)
    p = m.power(np.zeros(ts.size, dtype=int), ts)
    # power is linear between 15-min nodes: it fades out within one node after sunset
    up = solar.sun_up(ts, LAT, LON, margin_s=-900)
    assert np.all(p[~up] == 0.0)
    assert np.count_nonzero(~up) > ts.size // 3
    assert p[up].max() > 300.0
    assert p.max() <= 1000.0
    assert np.all(p >= 0.0)


def test_energy_is_the_integral_of_power() -> None:
    m = _one_kwp(DEFAULT_SEED, 2018)
    ts = _ms(2018, 8, 3) + np.arange(0, DAY_MS + 1, 60_000)  # 1-min samples, one day
    c = np.zeros(ts.size, dtype=int)
    p = m.power(c, ts)
    e = m.ecum(c, ts)
    trapezoid_wh = np.sum((p[1:] + p[:-1]) / 2.0) * 60 / 3600.0
    assert e[-1] - e[0] == pytest.approx(trapezoid_wh, rel=1e-9)
    assert np.all(np.diff(e) >= 0)


def test_deterministic_per_seed_and_window_independent() -> None:
    ts = _ms(2019, 6, 10) + np.arange(0, DAY_MS, 900_000)
    a = _one_kwp(7, 2019).power(np.zeros(ts.size, dtype=int), ts)
    b = _one_kwp(7, 2019).power(np.zeros(ts.size, dtype=int), ts)
    c = _one_kwp(8, 2019).power(np.zeros(ts.size, dtype=int), ts)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    # asking a single instant gives the value seen inside a longer window
    single = _one_kwp(7, 2019).power(np.array([0]), ts[40:41])
    assert single[0] == a[40]


def test_neighbours_correlate_more_than_distant_villages() -> None:
    w = Weather(DEFAULT_SEED, [("a", "t1"), ("b", "t1"), ("c", "t2")])
    noon = np.array([_ms(2018, 1, 1, 12) + d * DAY_MS for d in range(730)])
    k = w.clearness(noon)
    same_town = np.corrcoef(k[0], k[1])[0, 1]
    other_town = np.corrcoef(k[0], k[2])[0, 1]
    assert same_town > other_town > 0.3
    # persistence: tomorrow resembles today
    assert np.corrcoef(k[0][:-1], k[0][1:])[0, 1] > 0.2
