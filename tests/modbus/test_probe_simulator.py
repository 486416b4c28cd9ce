"""`pvledger probe` against the real simulator process names every simulated model's map.

One `pvledger simulate` serves a device of every Modbus profile in
simulator/profiles.yaml (images encoded from the map files) on one TCP port,
one of them also on an RS485 bus over the simulator's pty; the real `pvledger probe`
command is run against each unit and must print that profile's map first, with a
sample decode that has a lifetime counter. A unit nobody answers for gets "no map
fits" and exit 1.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pvledger.commands.probe import EXIT_NO_FIT
from simulator.fleet import profiles
from tests.conftest import ROOT
from tests.servers import free_port, stop_process

#: every Modbus profile, with the unit it is served at
MODBUS = sorted(n for n, p in profiles().items() if p["kind"] != "mqtt-logger")
UNITS = {name: i + 1 for i, name in enumerate(MODBUS)}
RTU = "growatt-inverter-3kw"  # also served on a serial bus
SILENT_UNIT = 200


def _config(folder: Path, port: int) -> Path:
    households, stations = [], []
    for name, unit in UNITS.items():
        p = profiles()[name]
        role = "meter" if p["kind"] == "meter" else "inverter"
        households.append(f"  - {{id: hh-{unit}, name: H{unit}, village: v1}}")
        dev = (
            f"{{id: d-{unit}, source: modbus-tcp, host: 127.0.0.1, port: {port}, unit: {unit}, "
            f"role: {role}, map: {p['map']}, simulate: {name}}}"
        )
        devs = [dev]
        if role == "meter":  # a meter measures a station's inverter
            devs.append(
                f"{{id: d-{unit}-inv, source: modbus-tcp, host: 127.0.0.1, port: {port}, "
                f"unit: {100 + unit}, map: sunspec, simulate: sunspec-inverter-3kw}}"
            )
        if name == RTU:
            devs.append(
                f"{{id: d-{unit}-rtu, source: modbus-rtu, port: run/rtu-p, unit: 1, "
                f"map: {p['map']}, simulate: {name}}}"
            )
        stations.append(
            f"  - {{id: s-{unit}, kind: household, capacity_kw: 3, owner: hh-{unit}, "
            f"village: v1, devices: [{', '.join(devs)}]}}"
        )
    text = "\n".join(
        [
            "site: {name: t, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98}",
            "storage: {backend: sqlite, path: data/t.db}",
            f"mqtt: {{host: 127.0.0.1, port: {free_port()}}}",
            "villages: [{id: v1, name: V1}]",
            "households:",
            *households,
            "stations:",
            *stations,
            "tariffs:",
            "  - {id: t, applies_to: {kind: household}, shape: fixed-subsidy, from: 2018-01-01,",
            '     components: [{name: coal, yuan_per_kwh: "0.4143", payer: grid}]}',
            "",
        ]
    )
    path = folder / "config.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("probe-sim")
    port = free_port()
    cfg = _config(folder, port)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    sim = subprocess.Popen(
        [sys.executable, "-m", "pvledger", "-q", "-c", str(cfg), "simulate",
         "--start", "2026-06-01T12:00+08:00"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        ready = folder / "run" / "modbus.ready"
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert sim.poll() is None, sim.stderr.read().decode() if sim.stderr else ""
            assert time.monotonic() < deadline, "simulator not ready"
            time.sleep(0.1)
        yield folder, port
    finally:
        stop_process(sim)


async def _probe(*where: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pvledger", "probe", *where, "--timeout", "0.5",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 300)
    return proc.returncode or 0, out.decode()


async def _all(jobs: list[tuple[str, ...]]) -> list[tuple[int, str]]:
    gate = asyncio.Semaphore(3)  # two cores, shared: a few probes at a time

    async def one(args: tuple[str, ...]) -> tuple[int, str]:
        async with gate:
            return await _probe(*args)

    return await asyncio.gather(*(one(j) for j in jobs))


def test_probe_names_every_simulated_model_and_no_map_for_a_silent_unit(simulator) -> None:
    folder, port = simulator
    tcp = ("--host", "127.0.0.1", "--port", str(port))
    jobs = [(*tcp, "--unit", str(u)) for u in UNITS.values()]
    jobs.append(("--serial", str(folder / "run" / "rtu-p"), "--baud", "9600", "--unit", "1"))
    jobs.append((*tcp, "--unit", str(SILENT_UNIT)))
    results = asyncio.run(_all(jobs))
    wrong = []
    for (name, unit), (rc, out) in zip([*UNITS.items(), (RTU, "rtu")], results, strict=False):
        want = profiles()[name]["map"]
        first = next((x for x in out.splitlines() if x.endswith(" fits")), "")
        counter = re.search(r"(energy_total_wh|export_wh)=(\d+)", out)
        if rc != 0 or not first.endswith(f": {want} fits") or not counter:
            wrong.append((name, unit, rc, out))
        elif int(counter.group(2)) <= 0:
            wrong.append((name, unit, "counter not positive", out))
    assert not wrong, wrong
    rc, out = results[-1]
    assert rc == EXIT_NO_FIT and "no map fits" in out, out
