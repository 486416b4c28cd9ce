"""Fixtures for the Modbus tests: a pymodbus peer on a free port, pollers against it."""

from __future__ import annotations

from pathlib import Path

import yaml

from collector.modbus.poller import DevicePoller, DeviceSpec
from collector.modbus.regmap import load_map
from collector.modbus.transport import Endpoint
from core.clock import Clock

CASES = Path(__file__).resolve().parent / "cases"


def make_poller(
    port: int,
    map_name: str,
    unit: int,
    *,
    role: str = "inverter",
    timeout_s: float = 0.3,
    endpoint: Endpoint | None = None,
    device: str = "dev",
    clock: Clock | None = None,
) -> DevicePoller:
    """A DevicePoller for one unit on 127.0.0.1:port (no connect wait: tests are local)."""
    ep = endpoint or Endpoint(f"127.0.0.1:{port}", host="127.0.0.1", port=port, timeout_s=timeout_s)
    spec = DeviceSpec("st-" + device, device, unit, ep.key, map_name, role, 1.0)
    return DevicePoller(spec, load_map(map_name), ep, clock or Clock())


def case_device(name: str) -> dict:
    """device.yaml of a case folder."""
    return yaml.safe_load((CASES / name / "device.yaml").read_text())
