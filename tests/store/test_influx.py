"""The influxdb/victoriametrics backend: line protocol, config wiring, Flux where reachable."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from core.reading import MEASUREMENT_METER, Quality, Reading
from core.store import open_store
from core.store.influx import InfluxStore, InfluxWriter, WriteFailure
from core.store.lineproto import LineEncoder
from core.store.victoriametrics import export_selector
from tests.mqtt.helpers import load

T0 = 1782864000000


def test_line_protocol_tags_integer_counters_and_float_power() -> None:
    r = Reading(
        "s 1",
        "inv,1",
        T0,
        {"power_w": 2150, "energy_total_wh": 4123456, "status": 1, "temperature_c": 41.25},
        village="dong=pi",
        gateway="gw",
    )
    assert LineEncoder().line(r) == (
        r"pv,device=inv\,1,gateway=gw,station=s\ 1,village=dong\=pi "
        f"power_w=2150.0,energy_total_wh=4123456i,status=1i,temperature_c=41.25 {T0}"
    )


def test_missing_and_unrepresentable_values_travel_as_quality_never_as_zero() -> None:
    r = Reading(
        "s1",
        "m1",
        T0,
        {"export_wh": None, "power_w": float("nan"), "import_wh": 3},
        {"export_wh": Quality.COMM_ERROR},
        measurement=MEASUREMENT_METER,
    )
    assert LineEncoder().line(r) == (
        f"meter,device=m1,station=s1 export_wh_quality=2i,power_w_quality=4i,import_wh=3i {T0}"
    )
    assert LineEncoder().line(Reading("s1", "m1", T0, {})) is None


def test_export_selector_escapes_dots_and_matches_quality_series() -> None:
    sel = export_selector(["s.1"], None, ["power_w"])
    assert sel == r'{__name__=~"(pv|meter)_(power_w)(_quality)?",station=~"s\\.1"}'


def test_open_store_builds_the_victoriametrics_backend_from_config(
    tmp_path: Path, victoriametrics
) -> None:
    cfg = load(
        tmp_path,
        mqtt_port=1883,
        storage=f"{{backend: victoriametrics, url: '{victoriametrics.url}'}}",
    )
    store = open_store(cfg)
    try:
        assert isinstance(store, InfluxStore) and store.flavour == "victoriametrics"
        assert store.write([Reading("v-0", "v-0-log", T0, {"energy_total_wh": 5})]) == 1
        victoriametrics.flush()
        assert [s.value for s in store.series(fields=["energy_total_wh"])] == [5]
    finally:
        store.close()


def test_a_refused_write_says_why(victoriametrics) -> None:
    writer = InfluxWriter(victoriametrics.url.replace(str(victoriametrics.port), "1"), timeout_s=1)
    with pytest.raises(WriteFailure) as err:
        writer.write_lines(["pv,station=s1 power_w=1.0 1"])
    assert err.value.status == 0 and err.value.retryable
    writer.close()


INFLUX_URL = os.environ.get("PVLEDGER_TEST_INFLUXDB_URL")


@pytest.mark.skipif(
    not INFLUX_URL,
    reason="set PVLEDGER_TEST_INFLUXDB_URL (and "
    "PVLEDGER_TEST_INFLUXDB_TOKEN, _ORG, _BUCKET) to test Flux reads",
)
def test_flux_read_path_against_a_real_influxdb2() -> None:  # pragma: no cover - optional peer
    station = f"s-{uuid.uuid4().hex[:8]}"
    store = InfluxStore(
        INFLUX_URL or "",
        flavour="influxdb2",
        org=os.environ.get("PVLEDGER_TEST_INFLUXDB_ORG", "pvledger"),
        bucket=os.environ.get("PVLEDGER_TEST_INFLUXDB_BUCKET", "pvledger"),
        token=os.environ.get("PVLEDGER_TEST_INFLUXDB_TOKEN"),
    )
    try:
        store.write(
            [
                Reading(
                    station,
                    f"{station}-inv",
                    T0 + i * 60_000,
                    {"power_w": None if i == 1 else 10.0 * i, "energy_total_wh": 100 + i},
                    {"power_w": Quality.COMM_ERROR} if i == 1 else {},
                )
                for i in range(3)
            ]
        )
        got = store.series(stations=[station], start_ms=T0, end_ms=T0 + 3 * 60_000)
        energy = [s.value for s in got if s.field == "energy_total_wh"]
        assert energy == [100, 101, 102]
        power = {s.ts_ms: s for s in got if s.field == "power_w"}
        assert power[T0 + 60_000].value is None
        assert power[T0 + 60_000].quality is Quality.COMM_ERROR
    finally:
        store.close()
