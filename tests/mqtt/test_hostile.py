"""Issue 12, "What was seen" 1 (MQTT) and 2 against a real Mosquitto and SQLite store.

1. One message the store refuses (an integer beyond 64 bits) used to stop all
   ingestion: the commit was retried for ever, PUBACKs held, the broker
   redelivered it after a restart, /healthz stayed 200 and pending read 0.
2. Implausible values (1e308 W on a 3 kW station, a negative counter, readings
   stamped 1970 and 2100) were stored as good, and the 2100 one became the latest.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from collector.health import HealthServer, health
from collector.metrics import Metrics
from collector.mqtt.deadletter import DeadLetters
from collector.mqtt.ingest import MqttIngest, dead_letter_path
from collector.service import ServiceContext
from collector.sinks import GatedSink
from core.clock import ScaledClock
from core.config import Config
from core.reading import Quality, Reading
from core.store import SqliteStore, StoreError
from tests.mqtt.helpers import T0_MS, Publisher, load, payload, wait_for

CST = dt.timezone(dt.timedelta(hours=8))
HUGE = 10**30  # what `"etotal_wh": 1000000000000000000000000000000` decodes to
BAD = json.dumps({"sn": "v-0-log", "time": "2026-07-01T10:00:00+08:00", "etotal_wh": HUGE}).encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "pv.db")
    yield s
    s.close()


def _clock() -> ScaledClock:
    # "now" six hours after the test payloads' first timestamp, at wall speed
    return ScaledClock.starting(T0_MS + 6 * 3_600_000, 1.0)


def _run(cfg: Config, sink, metrics: Metrics | None = None) -> MqttIngest:
    ing = MqttIngest(cfg)
    ing.open(sink, metrics or Metrics(), _clock())
    assert ing.wait_connected(10)
    return ing


def _letters(cfg: Config) -> list[tuple[str, str, str, bytes]]:
    d = DeadLetters(dead_letter_path(cfg))
    try:
        return d.rows()
    finally:
        d.close()


def _details(cfg: Config) -> list[tuple[str, str, int]]:
    d = DeadLetters(dead_letter_path(cfg))
    try:
        return d.details()
    finally:
        d.close()


def _energy(store: SqliteStore, device: str = "v-0-log") -> list[int]:
    return [s.value for s in store.series(devices=[device], fields=["energy_total_wh"])]  # type: ignore[misc]


def test_a_message_the_store_refuses_is_split_out_and_dead_lettered(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    # the store without the gate: SQLite itself raises OverflowError for 10**30
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    metrics = Metrics()
    ing = _run(cfg, store, metrics)
    pub = Publisher(mosquitto.port)
    try:
        for i in range(40):
            pub.publish("pv/dongpi/v-0", payload("v-0-log", i))
            if i == 20:
                pub.publish("pv/dongpi/v-0", BAD)
        pub.wait_acked(41)
        wait_for(lambda: len(_energy(store)) == 40, 20, "every valid message stored")
        wait_for(lambda: ing.held() == 0, 10, "everything acknowledged")
    finally:
        pub.close()
        ing.close()
    assert _energy(store) == [4_000_000 + i * 17 for i in range(40)]
    assert ing.isolated == 1
    assert metrics.get("pvledger_mqtt_isolated_total") == 1
    rows = _letters(cfg)
    assert [(t, d, r) for t, d, r, _ in rows] == [("pv/dongpi/v-0", "v-0-log", "store refused")]
    assert rows[0][3] == BAD
    ((_, detail, _),) = _details(cfg)
    assert detail.startswith("OverflowError") and "INTEGER" in detail


def test_a_refused_message_held_by_the_broker_is_dead_lettered_after_a_restart(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    # the wedge of the report: the bad message waits in the gateway's session
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    _run(cfg, store).close()  # the broker now keeps a session for the gateway
    pub = Publisher(mosquitto.port)
    try:
        pub.publish("pv/dongpi/v-0", BAD)
        for i in range(10):
            pub.publish("pv/dongpi/v-0", payload("v-0-log", i))
        pub.wait_acked(11)
    finally:
        pub.close()
    ing = _run(cfg, store)
    try:
        wait_for(lambda: len(_energy(store)) == 10, 20, "messages behind the bad one stored")
        wait_for(lambda: ing.held() == 0, 10, "everything acknowledged")
    finally:
        ing.close()
    # acknowledged: a third session gets nothing again (the row would count `seen` 2)
    ing = _run(cfg, store)
    try:
        pub = Publisher(mosquitto.port, "logger-2")
        pub.publish("pv/dongpi/v-0", payload("v-0-log", 10))
        pub.wait_acked(1)
        pub.close()
        wait_for(lambda: len(_energy(store)) == 11, 20, "a new message after the restart")
    finally:
        ing.close()
    assert [(r, n) for r, _, n in _details(cfg)] == [("store refused", 1)]


class BrokenDisk:
    """The real store behind a switch that fails like a full disk (store-level, retried)."""

    def __init__(self, store: SqliteStore):
        self.store = store
        self.failing = True

    def write(self, readings: Iterable[Reading]) -> int:
        if self.failing:
            raise StoreError("database or disk is full (test)")
        return self.store.write(readings)


def test_held_messages_show_in_pending_and_make_healthz_unhealthy(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    sink = BrokenDisk(store)
    metrics = Metrics()
    ing = _run(cfg, sink, metrics)
    pub = Publisher(mosquitto.port)
    try:
        for i in range(30):
            pub.publish("pv/dongpi/v-0", payload("v-0-log", i))
        pub.wait_acked(30)
        wait_for(lambda: metrics.get("pvledger_mqtt_commit_errors_total") or 0, 10, "a failure")
        # a store-level failure is not blamed on the data: nothing is dead-lettered
        assert _letters(cfg) == []
        wait_for(lambda: ing.held() == 30, 10, "all 30 held")
        assert "pvledger_mqtt_pending 30" in metrics.render()
        stalled = ing.stalled_s()
        ok, reasons = health(metrics, stuck_after_s=stalled + 60)
        assert ok, reasons
        wait_for(lambda: ing.stalled_s() > stalled + 0.3, 10, "stall grows")
        ok, reasons = health(metrics, stuck_after_s=stalled + 0.2)
        assert not ok and "pvledger_mqtt_stalled_seconds" in reasons[0]
        # over HTTP, with the limit from the config (a tiny one here)
        assert _healthz(metrics, stuck_after_s=0.2)[0] == 503
        sink.failing = False
        wait_for(lambda: len(_energy(store)) == 30, 20, "stored once the disk works")
        wait_for(lambda: ing.held() == 0, 10, "acknowledged")
        assert health(metrics, stuck_after_s=0.2)[0]
        assert _healthz(metrics, stuck_after_s=0.2)[0] == 200
    finally:
        pub.close()
        ing.close()


def _healthz(metrics: Metrics, stuck_after_s: float) -> tuple[int, str]:
    async def main() -> tuple[int, str]:
        server = HealthServer(0, stuck_after_s=stuck_after_s)
        ctx = ServiceContext(None, None, None, None, metrics)  # type: ignore[arg-type]
        await server.start(ctx)
        try:
            url = f"http://127.0.0.1:{server.port}/healthz"

            def get() -> tuple[int, str]:
                try:
                    with urllib.request.urlopen(url, timeout=10) as r:
                        return r.status, r.read().decode()
                except urllib.error.HTTPError as e:
                    return e.code, e.read().decode()

            return await asyncio.get_running_loop().run_in_executor(None, get)
        finally:
            await server.stop()

    return asyncio.run(main())


def _iso(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(
        ts_ms / 1000, tz=dt.timezone(dt.timedelta(hours=8))
    ).isoformat()


def test_implausible_values_are_flagged_and_bad_timestamps_dead_lettered(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)  # v-0: a 3 kW station
    clock = _clock()
    sink = GatedSink.for_config(cfg, store, clock)
    ing = MqttIngest(cfg)
    ing.open(sink, Metrics(), clock)
    assert ing.wait_connected(10)
    good = [payload("v-0-log", i) for i in range(3)]  # 1000 W, counters rising
    t3 = _iso(T0_MS + 3 * 60_000)
    hostile = {
        "power": {"sn": "v-0-log", "time": t3, "pac_w": 1e308},
        "negative": {"sn": "v-0-log", "time": _iso(T0_MS + 4 * 60_000), "etotal_wh": -5_000_000},
        "1970": {"sn": "v-0-log", "time": "1970-01-01T08:00:00+08:00", "pac_w": 1500.0},
        "2100": {"sn": "v-0-log", "time": "2100-01-01T08:00:00+08:00", "pac_w": 1500.0},
    }
    pub = Publisher(mosquitto.port)
    try:
        for p in good:
            pub.publish("pv/dongpi/v-0", p)
        for p in hostile.values():
            pub.publish("pv/dongpi/v-0", json.dumps(p).encode())
        pub.wait_acked(len(good) + len(hostile))
        wait_for(lambda: ing.held() == 0 and ing.rejected == 2, 20, "all handled")
    finally:
        pub.close()
        ing.close()
    power = {s.ts_ms: s for s in store.series(devices=["v-0-log"], fields=["power_w"])}
    assert power[T0_MS + 3 * 60_000].value == 1e308
    assert power[T0_MS + 3 * 60_000].quality is Quality.IMPLAUSIBLE
    assert all(power[T0_MS + i * 60_000].quality is Quality.GOOD for i in range(3))
    neg = store.series(devices=["v-0-log"], fields=["energy_total_wh"], start_ms=T0_MS + 240_000)
    assert [(s.value, s.quality) for s in neg] == [(-5_000_000, Quality.IMPLAUSIBLE)]
    # nothing from 1970 or 2100 in the store; they wait in the dead-letter table
    assert min(power) == T0_MS and max(power) == T0_MS + 3 * 60_000
    rows = _letters(cfg)
    assert sorted(r[2] for r in rows) == ["implausible", "implausible"]
    assert {json.loads(r[3])["time"][:4] for r in rows} == {"1970", "2100"}
    # the latest value is the last plausible one, not 1e308 nor -5,000,000
    latest = {s.field: s for s in store.latest(devices=["v-0-log"])}
    assert latest["power_w"].value == 1002.0 and latest["power_w"].ts_ms == T0_MS + 2 * 60_000
    assert latest["energy_total_wh"].value == 4_000_000 + 2 * 17
    # and revenue's roll-up reads good values only
    (day,) = store.daily(fields=["energy_total_wh"], start_day=20260701, end_day=20260701)
    assert day.last_value == 4_000_000 + 2 * 17


def test_the_gate_refuses_a_64_bit_overflow_before_the_store_sees_it(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    clock = _clock()
    ing = MqttIngest(cfg)
    ing.open(GatedSink.for_config(cfg, store, clock), Metrics(), clock)
    assert ing.wait_connected(10)
    pub = Publisher(mosquitto.port)
    try:
        pub.publish("pv/dongpi/v-0", BAD)
        pub.publish("pv/dongpi/v-0", payload("v-0-log", 0))
        pub.wait_acked(2)
        wait_for(lambda: ing.held() == 0 and ing.stored == 1, 20, "handled")
    finally:
        pub.close()
        ing.close()
    assert ing.isolated == 0  # no failed write at all
    assert _details(cfg) == [
        ("implausible", "energy_total_wh=1.000e+30 does not fit in 64 bits", 1)
    ]
