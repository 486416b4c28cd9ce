"""Done-when: `pvledger collect` with storage.backend influxdb pointing at VictoriaMetrics,
against `pvledger simulate`, lands every reading from Modbus and MQTT devices."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.processes import stop_process
from core.reading import Quality, to_ms
from core.store.victoriametrics import ExportReader
from tests.clocks import write_daytime_clock
from tests.conftest import ROOT
from tests.mqtt.helpers import StatusWatcher, wait_for, write_config
from tests.servers import free_port

SIM_START = "2026-07-01T10:00:00+08:00"
#: six simulated hours of head room at 60x: six wall minutes, longer than the test
COLLECTOR_START_MS = to_ms(dt.datetime.fromisoformat("2026-07-01T16:00:00+08:00"))


def _pvledger(args: list[str], log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pvledger", *args],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        out.close()


def _depth(path: Path) -> int:
    if not path.exists():
        return -1
    with sqlite3.connect(path, timeout=30) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


@pytest.mark.slow
def test_collect_lands_modbus_and_mqtt_readings_in_victoriametrics(
    tmp_path: Path, mosquitto, victoriametrics
) -> None:
    modbus_port = free_port()
    modbus = (
        "  - {id: v-m, kind: village, capacity_kw: 50, owner: dongpi, village: dongpi, devices: "
        f"[{{id: v-m-inv1, source: modbus-tcp, host: 127.0.0.1, port: {modbus_port}, unit: 1, "
        "map: sunspec, simulate: sunspec-inverter-50kw, interval_s: 1}]}"
    )
    cfg = write_config(
        tmp_path,
        mqtt_port=mosquitto.port,
        loggers=3,
        simulate=True,
        modbus=modbus,
        storage=f"{{backend: influxdb, url: '{victoriametrics.url}', outbox_path: data/outbox.db,"
        " flush_interval_s: 0.2}",
    )
    published: set[tuple[str, int]] = set()
    watch = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="e2e-watch")

    def on_message(c: object, u: object, m: mqtt.MQTTMessage) -> None:
        body = json.loads(m.payload)
        from datetime import datetime

        published.add((body["sn"], to_ms(datetime.fromisoformat(body["time"]))))

    watch.on_message = on_message
    watch.connect("127.0.0.1", mosquitto.port)
    watch.subscribe("pv/#", qos=1)
    watch.loop_start()
    # the collector first: its persistent session must exist before loggers publish.
    # Modbus readings are stamped by the collector's clock: a daytime one, so that it
    # polls every interval_s and not the night heartbeat whatever the hour here
    health = free_port()
    # ... and ahead of the simulated loggers (they start at 10:00 and run at 60x), so the
    # plausibility gate never sees their readings stamped in its future
    clock = write_daytime_clock(tmp_path / "collector-clock.json", start_ms=COLLECTOR_START_MS)
    collect = _pvledger(
        ["-c", str(cfg), "collect", "--health-port", str(health), "--sim-clock", str(clock)],
        tmp_path / "collect.log",
    )
    status = StatusWatcher(mosquitto.port)
    sim = None
    try:
        status.wait_state("online", 30)
        sim = _pvledger(
            ["-c", str(cfg), "simulate", "--speed", "60", "--start", SIM_START],
            tmp_path / "simulate.log",
        )
        reader = ExportReader(victoriametrics.url, flush_first=True)
        wait_for(lambda: len(published) >= 24, 60, "loggers publishing", step_s=0.2)
        wait_for(
            lambda: reader.count('{__name__="pv_energy_total_wh",device="v-m-inv1"}') >= 5,
            60,
            "Modbus readings forwarded",
            step_s=0.2,
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{health}/metrics", timeout=5) as r:
            metrics = r.read().decode()
        for name in (
            "pvledger_outbox_depth",
            "pvledger_outbox_oldest_age_seconds",
            "pvledger_forward_sent_total",
            "pvledger_mqtt_readings_total",
        ):
            assert f"\n{name}" in metrics, name
        stop_process(sim, 30)  # no new readings from here on
        wait_for(lambda: _depth(tmp_path / "data" / "outbox.db") == 0, 30, "outbox drained")
        got = reader.series(devices=["v-0-log", "v-1-log", "v-2-log"], fields=["energy_total_wh"])
        landed = {(s.device, s.ts_ms) for s in got}
        assert published and published <= landed  # every MQTT reading, none invented
        assert len(got) == len(landed)
        inv = reader.series(devices=["v-m-inv1"], fields=["energy_total_wh", "power_w"])
        good = [s for s in inv if s.quality is Quality.GOOD and s.field == "energy_total_wh"]
        assert len(good) >= 5
        assert all(isinstance(s.value, int) for s in good)
        assert [s.value for s in good] == sorted(s.value for s in good)  # counter rises
    finally:
        if sim is not None:
            stop_process(sim, 30)
        stop_process(collect, 30)
        status.close()
        watch.loop_stop()
        watch.disconnect()
