"""Scheduling: slower polling at night (heartbeat), and `pvledger collect` stopping
cleanly on SIGTERM with what it held flushed to the store."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path

import yaml

from collector.modbus.component import from_config
from core.clock import ScaledClock
from core.config import load_config
from core.reading import to_ms
from core.store import SqliteStore
from tests.clocks import write_daytime_clock
from tests.conftest import ROOT
from tests.modbus.conftest import CASES, write_config
from tests.modbus.peer import Peer, load_image
from tests.servers import free_port

SUN = yaml.safe_load((CASES / "sunspec-40000" / "registers.yaml").read_text())[1]
CST = dt.timezone(dt.timedelta(hours=8))


def _device(port: int, interval_s: float) -> dict:
    return {
        "id": "d1",
        "source": "modbus-tcp",
        "host": "127.0.0.1",
        "port": port,
        "unit": 1,
        "map": "sunspec",
        "interval_s": interval_s,
        "timeout_s": 0.3,
    }


def _polls_in_two_cycles(tmp_path: Path, local: dt.datetime) -> int:
    port = free_port()
    cfg = load_config(write_config(tmp_path, [_device(port, 60)]))

    async def run():
        peer = Peer(load_image({1: SUN}), port=port)
        await peer.start()
        comp = from_config(cfg)
        comp.open(ScaledClock.starting(to_ms(local), 1.0))
        try:
            for _ in range(2):
                await comp._cycle(comp.pollers, 0.0)
                await asyncio.gather(*comp._tasks)
        finally:
            await comp.stop()
            await peer.stop()
        return comp.pollers[0].state.polls

    return asyncio.run(run())


def test_night_polls_only_a_heartbeat_day_polls_every_cycle(tmp_path: Path) -> None:
    (tmp_path / "night").mkdir()
    (tmp_path / "day").mkdir()
    night = _polls_in_two_cycles(tmp_path / "night", dt.datetime(2026, 6, 1, 1, 0, tzinfo=CST))
    day = _polls_in_two_cycles(tmp_path / "day", dt.datetime(2026, 6, 1, 12, 0, tzinfo=CST))
    assert night == 1  # the heartbeat, then nothing until night_interval_s has passed
    assert day == 2


def test_collect_stops_cleanly_on_sigterm_and_flushes(tmp_path: Path) -> None:
    port = free_port()
    path = write_config(tmp_path, [_device(port, 0.5)])

    async def run():
        peer = Peer(load_image({1: SUN}), port=port)
        await peer.start()
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pvledger",
            "-c",
            str(path),
            "collect",
            "--only",
            "modbus",
            "--sim-clock",
            str(write_daytime_clock(tmp_path / "clock.json")),
            cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert proc.stderr is not None
            while True:  # wait for the first poll (discovery is logged), then a few more
                line = await asyncio.wait_for(proc.stderr.readline(), 20)
                assert line, "collector exited early"
                if b"SunSpec 40000" in line:
                    break
            # two more polls at 0.5 s (one request each; daytime clock: no night heartbeat)
            base = peer.reads.get(1, 0)
            deadline = time.monotonic() + 30
            while peer.reads.get(1, 0) < base + 2:
                assert time.monotonic() < deadline, "collector stopped polling"
                await asyncio.sleep(0.05)
            reads_before = peer.reads.get(1, 0)
            proc.send_signal(signal.SIGTERM)
            rc = await asyncio.wait_for(proc.wait(), 20)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            await peer.stop()
        return rc, reads_before

    rc, reads = asyncio.run(run())
    assert rc == 0
    with SqliteStore(tmp_path / "data" / "pv.db", readonly=True) as store:
        samples = store.series(devices=["d1"], fields=["power_w"])
    assert len(samples) >= 2 and reads >= 3
    assert all(s.value == 45670.0 for s in samples)
