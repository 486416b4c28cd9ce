"""End to end: `pvledger simulate` serves the default fleet, `pvledger collect --once`
reads every Modbus device (TCP and RTU over the simulator's pty) into the store."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from core.store import SqliteStore
from pvledger.cli import main
from tests.conftest import ROOT
from tests.servers import free_port, stop_process


def _free_range(n: int) -> int:
    for _ in range(50):
        base = free_port()
        if base + n < 65000 and all(_free(p) for p in range(base, base + n)):
            return base
    raise RuntimeError("no free port range")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_collect_once_against_the_simulated_default_fleet(tmp_path: Path) -> None:
    (tmp_path / "registry").mkdir()
    shutil.copy(ROOT / "registry" / "households.csv", tmp_path / "registry")
    text = (ROOT / "config.yaml").read_text()
    base = _free_range(64)
    # move the fleet's fixed ports (15020..15061, MQTT 1883) out of other tests' way
    text = re.sub(r"port: 150(\d\d)\b", lambda m: f"port: {base + int(m.group(1))}", text)
    text = text.replace("port: 1883", f"port: {free_port()}")
    (tmp_path / "config.yaml").write_text(text)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-q",
            "-c",
            "config.yaml",
            "simulate",
            "--start",
            "2026-06-01T12:00+08:00",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = tmp_path / "run" / "modbus.ready"
        # the simulator builds 89 devices first: slow on a busy machine, so wait long
        deadline = time.monotonic() + 180
        while not ready.exists() and time.monotonic() < deadline:
            assert sim.poll() is None, "simulator exited"
            time.sleep(0.1)
        assert ready.exists()
        rc = main(
            [
                "-q",
                "-c",
                str(tmp_path / "config.yaml"),
                "collect",
                "--once",
                "--sim-clock",
                "run/clock.json",
            ]
        )
    finally:
        stop_process(sim)
    assert rc == 0
    with SqliteStore(tmp_path / "data" / "pvledger.db", readonly=True) as store:
        latest = store.latest()
    by_dev: dict[str, dict[str, object]] = {}
    for s in latest:
        assert s.quality.name == "GOOD", s
        by_dev.setdefault(s.device, {})[s.field] = s.value
    assert len(by_dev) == 89  # 19 x 3 village + 2 x 2 cooperative + 20 TCP + 8 RTU households
    for dev, f in by_dev.items():
        if dev.endswith("-meter"):
            assert isinstance(f["export_wh"], int) and f["export_wh"] > 0
        else:
            assert isinstance(f["energy_total_wh"], int) and f["energy_total_wh"] > 0
            assert 0 <= f["power_w"] <= f["capacity_w"]  # W within the rating read
    assert {d for d in by_dev if d.startswith("s-hh-002")} >= {
        f"s-hh-00{n}-inv" for n in range(21, 29)
    }  # the RTU bus
    ts = {s.ts_ms for s in latest}
    assert min(ts) >= 1780286400000  # 2026-06-01 12:00+08:00: the simulator's clock
