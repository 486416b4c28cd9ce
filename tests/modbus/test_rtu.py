"""Modbus RTU over a pseudo-terminal pair (socat): two units on one bus, one busy."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path

import yaml

from collector.modbus.transport import Endpoint
from core.reading import Quality
from tests.modbus.conftest import CASES, make_poller
from tests.modbus.peer import Peer, load_image
from tests.servers import require_binary, stop_process


def test_rtu_two_units_on_one_bus(tmp_path: Path) -> None:
    socat = require_binary("socat")
    a, b = tmp_path / "bus-server", tmp_path / "bus-client"
    proc = subprocess.Popen(
        [socat, f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not (a.exists() and b.exists()) and time.monotonic() < deadline:
            time.sleep(0.02)
        hua = yaml.safe_load((CASES / "huawei-sun2000" / "registers.yaml").read_text())[1]

        async def run():
            peer = Peer(load_image({1: hua, 2: hua}), serial=str(a))
            peer.mode[2] = "busy"
            await peer.start()
            ep = Endpoint(str(b), serial_port=str(b), baud=9600, timeout_s=0.5)
            p1 = make_poller(0, "huawei-sun2000", 1, endpoint=ep, device="u1")
            p2 = make_poller(0, "huawei-sun2000", 2, endpoint=ep, device="u2")
            try:
                r1, r2 = await asyncio.gather(p1.poll(), p2.poll())
            finally:
                ep.close()
                await peer.stop()
            return r1, r2, peer, ep

        r1, r2, peer, ep = asyncio.run(run())
    finally:
        stop_process(proc)
    assert r1.values["power_w"] == 49876.0 and r1.values["energy_total_wh"] == 123456780
    assert not r1.quality
    assert set(r2.quality.values()) == {Quality.DEVICE_ERROR}
    assert ep.connects == 1  # busy on the bus never reopens the port
    assert set(peer.seen_functions) == {3}
