"""Case folders: device + register image + expected readings (or expected error).

Each case is served by a real pymodbus TCP server on localhost and polled once
through the collector's own poller (plan, read, decode, quality). A new inverter
model is one map file plus one folder here, no Python change.
"""

from __future__ import annotations

import asyncio

import pytest
import yaml

from core.reading import Quality
from tests.modbus.conftest import CASES, case_device, make_poller
from tests.modbus.peer import Peer, load_image_file
from tests.servers import free_port

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "expected.yaml").exists())


async def _run_case(name: str):
    dev = case_device(name)
    peer = Peer(load_image_file(CASES / name / "registers.yaml"), port=free_port())
    await peer.start()
    poller = make_poller(peer.port, dev["map"], dev["unit"], role=dev.get("role", "inverter"))
    try:
        reading = await poller.poll()
    finally:
        poller.endpoint.close()
        await peer.stop()
    return poller, reading, peer


@pytest.mark.parametrize("name", CASE_NAMES)
def test_case(name: str) -> None:
    expected = yaml.safe_load((CASES / name / "expected.yaml").read_text())
    poller, reading, peer = asyncio.run(_run_case(name))
    assert set(peer.seen_functions) <= {3, 4}
    if "error" in expected:
        flag = Quality[expected["error"].upper()]
        assert poller.state.consecutive_failures == 1
        assert reading.values and all(v is None for v in reading.values.values())
        assert set(reading.quality.values()) == {flag}
        return
    assert poller.state.consecutive_failures == 0, poller.state.last_error
    assert dict(reading.values) == expected["values"]
    want_q = {k: Quality[v.upper()] for k, v in (expected.get("quality") or {}).items()}
    assert dict(reading.quality) == want_q
    for field, value in reading.values.items():  # a missing value always carries a flag
        assert value is not None or field in reading.quality
    if "requests" in expected:
        assert len(poller.requests) == expected["requests"]
