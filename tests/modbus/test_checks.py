"""Modbus config checks (collector/modbus/checks.py) as `pvledger check` runs them."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.modbus.checks import largest_read, modbus_problems, read_wire_s
from collector.modbus.regmap import MAPS_PATH_ENV, load_map
from core.config import load_config
from core.config.model import ModbusRtuDevice
from pvledger.checks import PROTOCOL_CHECKS, protocol_problems
from pvledger.cli import main
from tests.conftest import ROOT

CONFIG = """\
site: {{name: t, latitude: 27.1, longitude: 114.9}}
villages: [{{id: v1, name: V1}}]
households: [{{id: hh-1, name: H, village: v1}}]
stations:
  - id: s1
    kind: household
    capacity_kw: 3
    owner: hh-1
    village: v1
    devices:
      - {{id: a, source: modbus-tcp, host: 10.0.0.1, unit: 1, map: {m1}}}
      - {{id: b, source: modbus-tcp, host: 10.0.0.1, unit: 2, map: {m2}}}
tariffs:
  - {{id: t, applies_to: {{kind: household}}, shape: fixed-subsidy, from: 2018-01-01,
     components: [{{name: coal, yuan_per_kwh: "0.4143", payer: grid}}]}}
"""

BROKEN = """\
map: vendor-x
vendor: X
document: Y
points:
  - {field: power_watts, address: 1, type: int16}
  - {field: energy_total_wh, address: 2, type: uint48}
"""

GOOD = """\
map: vendor-y
vendor: Y
document: Z
points: [{field: power_w, address: 1, type: int16, unit: W}]
"""


def _config(tmp_path: Path, m1: str, m2: str) -> Path:
    p = tmp_path / "config.yaml"
    p.write_text(CONFIG.format(m1=m1, m2=m2))
    return p


def test_the_default_fleet_has_no_protocol_problem() -> None:
    assert "modbus" in PROTOCOL_CHECKS
    assert protocol_problems(load_config(ROOT / "config.yaml")) == []


def test_a_broken_map_lists_its_own_problems_and_every_device_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    maps = tmp_path / "maps"
    maps.mkdir()
    (maps / "vendor-x.yaml").write_text(BROKEN)
    (maps / "vendor-y.yaml").write_text(GOOD)
    monkeypatch.setenv(MAPS_PATH_ENV, str(maps))
    probs = modbus_problems(load_config(_config(tmp_path, "vendor-x", "vendor-x")))
    in_map = [p for p in probs if p.file == "vendor-x.yaml"]
    assert {p.where for p in in_map} == {"points.0", "points.1.type"}, probs
    at_devices = [p for p in probs if p.file == "config.yaml"]
    assert [(p.where, p.line) for p in at_devices] == [
        ("stations[0].devices[0].map", 11),
        ("stations[0].devices[1].map", 12),
    ]
    assert "does not load (2 problems" in at_devices[0].message
    # a map found in the extra folder is as good as a shipped one
    assert modbus_problems(load_config(_config(tmp_path, "vendor-y", "sunspec"))) == []


def test_check_command_refuses_a_misspelled_map_before_printing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["-c", str(_config(tmp_path, "huawei-sun2000", "huawei-sun200")), "check"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "config.yaml:12: stations[0].devices[1].map: no register map 'huawei-sun200'" in out.err
    assert "did you mean 'huawei-sun2000'?" in out.err


def test_wire_time_of_a_read_follows_baud_and_framing() -> None:
    dev = ModbusRtuDevice(id="d", source="modbus-rtu", port="/dev/x", map="sunspec", baud=9600)
    # 8 request + 5 overhead + 250 data bytes + 7 gap characters, 10 bits each
    assert read_wire_s(dev, 125) == pytest.approx(270 * 10 / 9600)
    even = dev.model_copy(update={"parity": "E", "stopbits": 2})
    assert read_wire_s(even, 125) == pytest.approx(270 * 12 / 9600)
    # the largest read is what the planner really asks of the map, not the PDU limit
    assert largest_read(load_map("dtsu666"), "meter") == 2
    assert largest_read(load_map("huawei-sun2000"), "inverter") == 52
