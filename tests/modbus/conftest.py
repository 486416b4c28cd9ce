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


_CONFIG_HEAD = """\
site: {name: test, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98, gateway: gw-test}
storage: {backend: sqlite, path: data/pv.db}
villages: [{id: dongpi, name: Dongpi}]
tariffs:
  - id: village-2018
    applies_to: {kind: village}
    shape: benchmark-total
    from: 2018-01-01
    total_yuan_per_kwh: "0.85"
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid, cycle: monthly}
      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund, cycle: annual,
         subsidy: true}
stations:
  - id: v-dongpi
    kind: village
    capacity_kw: 100
    owner: dongpi
    village: dongpi
    devices:
"""


def write_config(folder: Path, devices: list[dict]) -> Path:
    """A minimal valid config.yaml with one village station holding these devices."""
    lines = [_CONFIG_HEAD]
    for d in devices:
        lines.append("      - " + yaml.safe_dump(d, default_flow_style=True).strip() + "\n")
    path = folder / "config.yaml"
    path.write_text("".join(lines))
    return path
