"""`pvledger probe` against real pymodbus peers serving each shipped model's image.

Each map's own case folder is served by a real server; probe must name that map
first. A device no map knows gets "no map fits" and exit 1 from the real command.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from collector.modbus.regmap import load_map, map_names
from collector.modbus.transport import Endpoint
from core.clock import Clock
from pvledger.commands.probe import EXIT_NO_FIT, probe
from tests.modbus.conftest import CASES, case_device
from tests.modbus.peer import Peer, UnitImage, load_image_file
from tests.servers import free_port

#: the case folder that shows each map (its name is the map's, except SunSpec)
MODEL_CASES = {n: n for n in map_names() if n != "sunspec"} | {
    "sunspec-40000": "sunspec (role inverter)",
    "sunspec-meter-204": "sunspec (role meter)",
    "sunspec-meter-213": "sunspec (role meter)",
    "sunspec-der-701": "sunspec (role inverter)",
}


async def _probe_image(units: dict[int, UnitImage], unit: int) -> list:
    peer = Peer(units, port=free_port())
    await peer.start()
    ep = Endpoint("peer", host="127.0.0.1", port=peer.port, timeout_s=0.5)
    try:
        return await probe(ep, unit, map_names(), Clock())
    finally:
        ep.close()
        await peer.stop()
        assert set(peer.seen_functions) <= {3, 4}  # probe only reads


@pytest.mark.parametrize("case", sorted(MODEL_CASES))
def test_probe_names_the_map_of_each_model(case: str) -> None:
    units = load_image_file(CASES / case / "registers.yaml")
    found = asyncio.run(_probe_image(units, case_device(case)["unit"]))
    assert found, f"{case}: no map fits"
    assert found[0].name == MODEL_CASES[case], [f.name for f in found]
    assert found[0].strong or load_map(case_device(case)["map"]).signatures[0].any_value
    # the sample decode is the reading the case expects
    import yaml

    expected = yaml.safe_load((CASES / case / "expected.yaml").read_text())["values"]
    assert dict(found[0].reading.values) == expected


def test_unknown_device_fits_no_map() -> None:
    junk = UnitImage(holding=dict.fromkeys(range(100, 140), 0x4242))
    assert asyncio.run(_probe_image({1: junk}, 1)) == []


async def _cli(port: int) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pvledger", "probe", "--host", "127.0.0.1", "--port",
        str(port), "--unit", "1", "--timeout", "0.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode()


async def _cli_against(units: dict[int, UnitImage]) -> tuple[int, str]:
    peer = Peer(units, port=free_port())
    await peer.start()
    try:
        return await _cli(peer.port)
    finally:
        await peer.stop()


def test_command_exit_codes_and_output() -> None:
    rc, out = asyncio.run(_cli_against(load_image_file(CASES / "sungrow-sg" / "registers.yaml")))
    assert rc == 0, out
    assert "sungrow-sg fits" in out and "status=2" in out
    junk = UnitImage(holding=dict.fromkeys(range(100, 140), 0x4242))
    rc, out = asyncio.run(_cli_against({1: junk}))
    assert rc == EXIT_NO_FIT and "no map fits" in out, out
