"""Device model: counters consistent with power; each energy-related fault in the model."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from core.config import Config, load_config
from simulator.faults import FaultBook, make_fault
from simulator.fleet import Fleet
from tests.simulator.conftest import write_config

TZ = dt.timezone(dt.timedelta(hours=8))
DAY = 86_400_000


def _ms(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> int:
    return int(dt.datetime(y, m, d, h, mi, tzinfo=TZ).timestamp() * 1000)


@pytest.fixture(scope="module")
def small_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    path, _ = write_config(tmp_path_factory.mktemp("fleet"))
    return load_config(path)


@pytest.fixture(scope="module")
def fleet(small_config: Config) -> Fleet:
    return Fleet(small_config, seed=3)


def _idx(fleet: Fleet, dev: str) -> int:
    return fleet.index[dev]


def test_counters_are_integers_consistent_with_power(fleet: Fleet) -> None:
    i = _idx(fleet, "v-va-inv1")
    ts = _ms(2025, 7, 10) + np.arange(0, DAY + 1, 60_000)
    st = fleet.pv_state(i, ts)
    assert st["energy_total_wh"].dtype.kind == "i"
    assert np.all(np.diff(st["energy_total_wh"]) >= 0)
    integrated = np.sum((st["power_w"][1:] + st["power_w"][:-1]) / 2) * 60 / 3600
    counted = st["energy_total_wh"][-1] - st["energy_total_wh"][0]
    assert counted == pytest.approx(integrated, rel=0.002)
    # lifetime counter reflects years since commissioning (2018-06-30)
    assert 7 * 40_000_000 < st["energy_total_wh"][0] < 7 * 60_000_000
    # daily counter restarts at local midnight
    mid = np.searchsorted(ts, _ms(2025, 7, 11))
    assert st["energy_today_wh"][mid] == 0
    assert st["energy_today_wh"][mid - 1] > 50_000  # a July day on 50 kW
    assert set(np.unique(st["status"])) <= {0, 1, 2}


def test_meter_follows_its_inverters(fleet: Fleet) -> None:
    ts = np.array([_ms(2025, 7, 10), _ms(2025, 7, 11)])
    inv = sum(
        np.diff(fleet.pv_state(_idx(fleet, d), ts)["energy_true_wh"])[0]
        for d in ("v-va-inv1", "v-va-inv2")
    )
    m = fleet.meter_state(_idx(fleet, "v-va-meter"), ts)
    exported = np.diff(m["export_wh"])[0]
    assert exported == pytest.approx(0.99 * inv, abs=2)
    assert np.diff(m["import_wh"])[0] == pytest.approx(0.5 * 100 * 24, abs=2)


def test_stop_freezes_counter_and_reports_fault(small_config: Config, fleet: Fleet) -> None:
    start = _ms(2025, 7, 10, 10)
    book = FaultBook(
        [
            make_fault(
                small_config,
                {"kind": "stop", "station": "v-va", "start": start, "duration_s": 7200},
                start,
            )
        ]
    )
    i = _idx(fleet, "v-va-inv1")
    ts = np.array([start - 60_000, start + 60_000, start + 3_600_000, start + 7_260_000])
    st = fleet.pv_state(i, ts, book)
    ok = fleet.pv_state(i, ts)
    assert st["power_w"][1] == 0 and st["power_w"][2] == 0 and st["power_w"][3] > 0
    assert list(st["status"][1:3]) == [3, 3] and st["fault_code"][1] > 0
    assert st["energy_total_wh"][1] == st["energy_total_wh"][2]
    # the energy not produced stays lost after the fault ends
    assert ok["energy_total_wh"][3] - st["energy_total_wh"][3] > 40_000
    # the meter keeps answering but its export stops growing
    m = fleet.meter_state(_idx(fleet, "v-va-meter"), ts, book)
    assert m["export_wh"][1] == m["export_wh"][2]


def test_degradation_is_sixty_percent_of_peer(small_config: Config, fleet: Fleet) -> None:
    t0 = _ms(2025, 8, 1)
    book = FaultBook(
        [make_fault(small_config, {"kind": "degrade", "device": "v-vc-inv2", "start": t0}, t0)]
    )
    ts = np.array([t0, t0 + 7 * DAY])
    a = np.diff(fleet.pv_state(_idx(fleet, "v-vc-inv1"), ts, book)["energy_total_wh"])[0]
    b = np.diff(fleet.pv_state(_idx(fleet, "v-vc-inv2"), ts, book)["energy_total_wh"])[0]
    assert 0.55 < b / a < 0.65  # 0.6 × the devices' ±2 % performance spread


def test_counter_reset_and_stuck_counter(small_config: Config, fleet: Fleet) -> None:
    t0 = _ms(2025, 8, 1, 12)
    book = FaultBook(
        [
            make_fault(
                small_config, {"kind": "counter_reset", "device": "s-hh-1-inv", "start": t0}, t0
            ),
            make_fault(
                small_config,
                {"kind": "stuck_counter", "device": "s-hh-2-inv", "start": t0, "duration_s": 3600},
                t0,
            ),
        ]
    )
    ts = np.array([t0 - 1000, t0, t0 + 1_800_000, t0 + 4_000_000])
    r = fleet.pv_state(_idx(fleet, "s-hh-1-inv"), ts, book)
    assert r["energy_total_wh"][0] > 1_000_000
    assert r["energy_total_wh"][1] == 0
    assert 0 < r["energy_total_wh"][2] < 5_000
    s = fleet.pv_state(_idx(fleet, "s-hh-2-inv"), ts, book)
    free = fleet.pv_state(_idx(fleet, "s-hh-2-inv"), ts)
    assert s["energy_total_wh"][1] == s["energy_total_wh"][2]
    assert s["power_w"][2] > 0
    assert s["energy_total_wh"][3] == free["energy_total_wh"][3]  # catches up when fixed


def test_village_outage_takes_every_station_down(small_config: Config, fleet: Fleet) -> None:
    t0 = _ms(2025, 8, 1, 11)
    book = FaultBook(
        [
            make_fault(
                small_config,
                {"kind": "outage", "village": "va", "start": t0, "duration_s": 3600},
                t0,
            )
        ]
    )
    t = t0 + 600_000
    for dev in ("v-va-inv1", "v-va-inv2", "s-hh-1-inv", "s-hh-2-inv"):
        assert fleet.pv_state(_idx(fleet, dev), t, book)["power_w"][0] == 0
    assert fleet.pv_state(_idx(fleet, "s-hh-3-inv"), t, book)["power_w"][0] > 0
    assert fleet.meter_state(_idx(fleet, "v-va-meter"), t, book)["power_w"][0] == 0


def test_bad_fault_specs_are_refused(small_config: Config) -> None:
    for spec in (
        {"kind": "melt", "station": "v-va"},
        {"kind": "stop"},
        {"kind": "stop", "station": "nope"},
        {"kind": "stop", "station": "v-va", "duration_s": -5},
        {"kind": "degrade", "device": "v-va-inv1", "factor": 3},
    ):
        with pytest.raises(ValueError):
            make_fault(small_config, spec, 0)
