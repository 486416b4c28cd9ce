"""Store conformance suite: every backend behaves the same at the Store boundary.

Parametrised over backends by the ``store_factory`` fixture; later backends add a
parameter there. Each test builds a store through the factory (a fresh,
empty store) and checks behaviour that a broken backend would fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from core.reading import MEASUREMENT_METER, Quality, Reading
from core.store import SqliteStore, Store

# 2026-07-01 00:00 Asia/Shanghai = 2026-06-30 16:00 UTC
T0 = 1782835200000
MIN = 60_000
HOUR = 3_600_000

StoreFactory = Callable[[], Store]


@pytest.fixture(params=["sqlite", "victoriametrics"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Make fresh stores of one backend; closes them after the test."""
    made: list[Store] = []

    def make() -> Store:
        if request.param == "sqlite":
            s: Store = SqliteStore(tmp_path / f"store{len(made)}.db", timezone="Asia/Shanghai")
        elif request.param == "victoriametrics":
            from core.store.influx import InfluxStore

            vm = request.getfixturevalue("victoriametrics")
            s = InfluxStore(vm.url, flavour="victoriametrics", consistent_reads=True)
        else:  # pragma: no cover - other backends register here
            raise AssertionError(request.param)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _inv(station: str, ts: int, power: float | None, total: int | None, **q: Quality) -> Reading:
    return Reading(
        station,
        f"{station}-inv",
        ts,
        {"power_w": power, "energy_total_wh": total},
        quality=q,
        village="v1",
        gateway="gw",
    )


def test_round_trip_keeps_counters_exact_and_types(store_factory: StoreFactory) -> None:
    store = store_factory()
    big = 2**53 - 1  # largest integer a float-based database still holds exactly
    n = store.write([_inv("s1", T0, 1234.5, big), _inv("s1", T0 + MIN, 0.0, big)])
    assert n == 4
    got = store.series(stations=["s1"], fields=["energy_total_wh"])
    assert [s.value for s in got] == [big, big]
    assert all(isinstance(s.value, int) for s in got)
    power = store.series(stations=["s1"], fields=["power_w"])
    assert [s.value for s in power] == [1234.5, 0.0]
    assert power[0].ts_ms == T0 and power[0].village == "v1" and power[0].gateway == "gw"


def test_replay_is_idempotent(store_factory: StoreFactory) -> None:
    store = store_factory()
    batch = [_inv("s1", T0 + i * MIN, 100.0 + i, 1000 + i) for i in range(50)]
    store.write(batch)
    store.write(batch)  # an outbox replay after a crash
    store.write(list(reversed(batch)))  # out of order too
    got = store.series(stations=["s1"])
    assert len(got) == 100
    assert [s.value for s in got if s.field == "energy_total_wh"] == list(range(1000, 1050))


def test_missing_values_keep_their_quality_and_never_become_zero(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    store.write(
        [
            _inv(
                "s1", T0, None, None, power_w=Quality.COMM_ERROR, energy_total_wh=Quality.COMM_ERROR
            ),
            _inv("s1", T0 + MIN, None, 5000, power_w=Quality.SENTINEL),
        ]
    )
    got = store.series(stations=["s1"])
    by = {(s.field, s.ts_ms): s for s in got}
    assert by[("power_w", T0)].value is None
    assert by[("power_w", T0)].quality is Quality.COMM_ERROR
    assert by[("power_w", T0 + MIN)].quality is Quality.SENTINEL
    assert by[("energy_total_wh", T0 + MIN)].value == 5000
    assert by[("energy_total_wh", T0 + MIN)].quality is Quality.GOOD


def test_time_range_is_start_inclusive_end_exclusive(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write([_inv("s1", T0 + i * HOUR, 1.0, i) for i in range(48)])
    got = store.series(
        stations=["s1"], fields=["energy_total_wh"], start_ms=T0 + 10 * HOUR, end_ms=T0 + 30 * HOUR
    )
    assert [s.value for s in got] == list(range(10, 30))


def test_filters_by_station_device_and_field(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write(
        [
            _inv("s1", T0, 1.0, 10),
            _inv("s2", T0, 2.0, 20),
            Reading("m1", "m1-meter", T0, {"export_wh": 7}, measurement=MEASUREMENT_METER),
        ]
    )
    assert {s.station for s in store.series(stations=["s2"])} == {"s2"}
    assert [s.value for s in store.series(devices=["s1-inv"], fields=["power_w"])] == [1.0]
    meter = store.series(fields=["export_wh"])
    assert [(s.station, s.value, s.measurement) for s in meter] == [("m1", 7, "meter")]
    assert store.series(stations=["nope"]) == []


def test_latest_per_series_includes_failed_reads(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write([_inv("s1", T0 + i * MIN, 10.0 * i, 100 + i) for i in range(5)])
    store.write(
        [
            _inv(
                "s1",
                T0 + 10 * MIN,
                None,
                None,
                power_w=Quality.COMM_ERROR,
                energy_total_wh=Quality.COMM_ERROR,
            )
        ]
    )
    store.write([_inv("s1", T0 - DAY_MS, 1.0, 1)])  # an old reading arriving late
    latest = {s.field: s for s in store.latest(devices=["s1-inv"])}
    assert latest["power_w"].ts_ms == T0 + 10 * MIN
    assert latest["power_w"].quality is Quality.COMM_ERROR
    assert latest["energy_total_wh"].value is None


DAY_MS = 86_400_000


def test_daily_rollup_uses_site_local_days_and_good_values(store_factory: StoreFactory) -> None:
    store = store_factory()
    # 15:30 UTC and 16:30 UTC fall on different Shanghai days (boundary at 16:00 UTC)
    before = T0 - 30 * MIN
    after = T0 + 30 * MIN
    store.write(
        [
            _inv("s1", before, 1.0, 900),
            _inv("s1", after, 1.0, 1000),
            _inv("s1", after + HOUR, 1.0, 1100),
            _inv("s1", after + 2 * HOUR, None, None, energy_total_wh=Quality.COMM_ERROR),
        ]
    )
    rows = store.daily(fields=["energy_total_wh"], start_day=20260630, end_day=20260701)
    assert [(r.day, r.first_value, r.last_value) for r in rows] == [
        (20260630, 900, 900),
        (20260701, 1000, 1100),
    ]
    assert rows[1].first_ts_ms == after and rows[1].last_ts_ms == after + HOUR


def test_daily_rollup_is_order_independent(store_factory: StoreFactory) -> None:
    a, b = store_factory(), store_factory()
    batch = [_inv("s1", T0 + i * 5 * MIN, 1.0, 1000 + i) for i in range(100)]
    a.write(batch)
    for r in reversed(batch):
        b.write([r])
    key = {"fields": ["energy_total_wh"], "start_day": 20260701, "end_day": 20260701}
    assert a.daily(**key) == b.daily(**key)
    assert a.daily(**key)[0].last_value == 1099
