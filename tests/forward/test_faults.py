"""Fault tests with real processes: VictoriaMetrics down for 2 minutes, collector SIGKILLed.

The collector runs as its own process (tests/forward/collector_proc.py) with
the MQTT and forwarder components; loggers publish with QoS 1 to a real
Mosquitto; readings are counted in a real VictoriaMetrics through its export
API (it runs with -dedup.minScrapeInterval=1ms, so a replayed point counts
once and a lost one is missing).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from collector.forward.outbox import Outbox
from core.processes import stop_process
from core.reading import Reading
from core.store.victoriametrics import ExportReader
from tests.conftest import ROOT
from tests.mqtt.helpers import T0_MS, Publisher, StatusWatcher, load, payload, wait_for

FIELDS = 6  # power, energy today, energy total, status, fault, temperature per reading


def _storage(vm_url: str) -> str:
    return (
        f"{{backend: victoriametrics, url: '{vm_url}', outbox_path: data/outbox.db, "
        "batch_size: 500, flush_interval_s: 0.2}"
    )


def _start_collector(config_path: Path, log: Path) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.forward.collector_proc", str(config_path), "2"],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    finally:
        out.close()


def _depth(outbox: Path) -> int:
    if not outbox.exists():
        return 0
    with sqlite3.connect(outbox, timeout=30) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def _counts(vm_url: str) -> tuple[int, int]:
    """(samples of energy_total_wh, samples of every pv_* series) in VictoriaMetrics."""
    r = ExportReader(vm_url, flush_first=True)
    return r.count('{__name__="pv_energy_total_wh"}'), r.count('{__name__=~"pv_.*"}')


@pytest.mark.slow
def test_victoriametrics_down_two_minutes_loses_and_doubles_nothing(
    tmp_path: Path, mosquitto, victoriametrics
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port, loggers=5, storage=_storage(victoriametrics.url))
    proc = _start_collector(cfg.path, tmp_path / "collector.log")
    watcher = StatusWatcher(mosquitto.port)
    pub = None
    try:
        watcher.wait_state("online", 20)
        pub = Publisher(mosquitto.port)
        sent = 0
        stop = threading.Event()

        def publish() -> None:
            nonlocal sent
            while not stop.is_set():
                dev = sent % 5
                pub.publish(f"pv/dongpi/v-{dev}", payload(f"v-{dev}-log", sent // 5))
                sent += 1
                time.sleep(0.02)

        t = threading.Thread(target=publish)
        t.start()
        try:
            wait_for(lambda: _counts(victoriametrics.url)[0] > 0, 20, "first readings forwarded")
            victoriametrics.stop()  # SIGTERM: a graceful stop loses nothing it acknowledged
            down_at = time.monotonic()
            time.sleep(30)  # the outage itself: two minutes of it, as the issue asks
            queued = _depth(tmp_path / "data" / "outbox.db")
            assert queued > 0, "readings must wait in the outbox while the database is down"
            time.sleep(max(0.0, 120 - (time.monotonic() - down_at)))
            assert _depth(tmp_path / "data" / "outbox.db") > queued  # still accepting
            victoriametrics.start()  # the waits below see the outbox drain into it
        finally:
            stop.set()
            t.join()
        pub.wait_acked(sent, 30)
        n = sent
        wait_for(lambda: _counts(victoriametrics.url)[0] >= n, 60, f"{n} readings in VM")
        wait_for(lambda: _depth(tmp_path / "data" / "outbox.db") == 0, 30, "outbox drained")
        energy, everything = _counts(victoriametrics.url)
        assert energy == n  # none lost, none twice
        assert everything == FIELDS * n
        got = ExportReader(victoriametrics.url, flush_first=True).series(
            devices=["v-3-log"], fields=["energy_total_wh"]
        )
        expect = [4_000_000 + (i // 5) * 17 for i in range(n) if i % 5 == 3]
        assert [s.value for s in got] == expect
        assert [s.ts_ms for s in got] == [T0_MS + (i // 5) * 60_000 for i in range(n) if i % 5 == 3]
    finally:
        if pub is not None:
            pub.close()
        watcher.close()
        stop_process(proc, 20)


def test_collector_sigkilled_mid_forwarding_resends_without_doubling(
    tmp_path: Path, mosquitto, victoriametrics
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port, loggers=2, storage=_storage(victoriametrics.url))
    outbox_path = tmp_path / "data" / "outbox.db"
    n = 40_000
    box = Outbox(outbox_path)
    for start in range(0, n, 5000):
        box.write(
            Reading(
                f"v-{i % 2}",
                f"v-{i % 2}-log",
                T0_MS + i * 1000,
                {"energy_total_wh": 10_000 + i, "power_w": float(i)},
                village="dongpi",
                gateway="gw-test",
            )
            for i in range(start, start + 5000)
        )
    box.close()
    total_rows = _depth(outbox_path)
    assert total_rows == 2 * n  # protected and thinnable line per reading

    watcher = StatusWatcher(mosquitto.port)
    proc = _start_collector(cfg.path, tmp_path / "collector.log")
    try:
        watcher.wait_state("online", 20)
        wait_for(
            lambda: _depth(outbox_path) < total_rows * 0.8, 60, "forwarding under way", step_s=0.01
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        left = _depth(outbox_path)
        assert 0 < left < total_rows, "killed in the middle of forwarding"
        # the broker publishes the last will: the county sees the gateway go silent
        will = watcher.wait_state("offline", 10)
        assert will["clean"] is False

        proc = _start_collector(cfg.path, tmp_path / "collector2.log")
        watcher.wait_state("online", 20)
        wait_for(lambda: _depth(outbox_path) == 0, 60, "outbox drained after restart")
        energy, everything = _counts(victoriametrics.url)
        assert energy == n
        assert everything == 2 * n
        stop_process(proc, 20)
        assert watcher.wait_state("offline", 10)["clean"] is True
    finally:
        watcher.close()
        stop_process(proc, 20)
