"""A Modbus-only gateway (SQLite store, no alert rules, no MQTT) builds its service without
importing the other components' heavy libraries (issue 14: 50 MB on a 512 MB board):
numpy comes with alert rules only, paho with MQTT only, influxdb_client with a remote
backend only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.modbus.conftest import write_config
from tests.servers import free_port

_PROBE = """
import json, sys
from core.config import load_config
from collector.service import build_components
comps = build_components(load_config(sys.argv[1]))
print(json.dumps({"names": [c.name for c in comps], "modules": sorted(sys.modules)}))
"""
HEAVY = ("numpy", "paho", "influxdb_client")


def test_modbus_gateway_loads_no_other_components_libraries(tmp_path: Path) -> None:
    device = {
        "id": "d1",
        "source": "modbus-tcp",
        "host": "127.0.0.1",
        "port": free_port(),
        "unit": 1,
        "map": "sunspec",
        "interval_s": 1,
    }
    cfg = write_config(tmp_path, [device])
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, str(cfg)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["names"] == ["modbus"]
    modules = got["modules"]
    assert "collector.modbus.component" in modules
    assert [h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules)] == []
