"""A saturated bus is not a lost device: an RTU bus loaded 3x beyond what it can carry.

Six Huawei inverters on one RS485 bus (the simulator's PtyBus: a pty pair paced at
the baud rate) behind a peer that takes a fixed time per request. The poll period is
chosen from a measured poll duration so the planned polls need three times the bus's
time. The real Service with the Modbus component and the health endpoint runs on a
simulated noon; then the alert engine runs over the same store.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import logging
import statistics
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from alerts.engine import Engine
from alerts.state import AlertDb
from collector.health import HealthServer
from collector.modbus.capacity import (
    CAPACITY_SHARE,
    RECOVER_SHARE,
    EndpointLoad,
    in_turn,
    smoothed,
)
from collector.modbus.component import from_config
from collector.service import Service
from core.clock import ScaledClock
from core.config import Config, load_config
from core.reading import Quality
from core.store import SqliteStore
from simulator.modbus_proc import PtyBus
from tests.modbus.conftest import CASES
from tests.modbus.peer import Peer, load_image

UNITS = 6
OVERLOAD = 3.0
INTERVAL_S = 120  # simulated: comm_lost's grace is 2 x 120 + 60 = 300 s
REQUEST_DELAY_S = 0.08  # the peer's time per request (two requests per poll)
MIN_READINGS = 5
NOON = int(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
HUA = yaml.safe_load((CASES / "huawei-sun2000" / "registers.yaml").read_text())[1]


class SlowPeer(Peer):
    """A peer that takes REQUEST_DELAY_S to answer each request (a slow device)."""

    async def _action(self, *args: Any) -> Any:
        await asyncio.sleep(REQUEST_DELAY_S)
        return await super()._action(*args)


def _config(folder: Path, bus: Path) -> Config:
    devices = "".join(
        f"      - {{id: inv{u}, source: modbus-rtu, port: '{bus}', baud: 9600, unit: {u}, "
        f"map: huawei-sun2000, interval_s: {INTERVAL_S}, timeout_s: 3}}\n"
        for u in range(1, UNITS + 1)
    )
    path = folder / "config.yaml"
    path.write_text(
        "site: {name: test, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98, "
        "gateway: gw-test}\n"
        "storage: {backend: sqlite, path: data/pv.db}\n"
        "villages: [{id: dongpi, name: Dongpi}]\n"
        "tariffs:\n"
        "  - id: village-2018\n"
        "    applies_to: {kind: village}\n"
        "    shape: benchmark-total\n"
        "    from: 2018-01-01\n"
        '    total_yuan_per_kwh: "0.85"\n'
        "    components:\n"
        '      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid, cycle: monthly}\n'
        "      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund,\n"
        "         cycle: annual, subsidy: true}\n"
        "stations:\n"
        "  - id: v-dongpi\n"
        "    kind: village\n"
        "    capacity_kw: 300\n"
        "    owner: dongpi\n"
        "    village: dongpi\n"
        "    devices:\n"
        f"{devices}"
        "alerts:\n"
        "  db_path: data/alerts.db\n"
        "  rules:\n"
        "    - {kind: comm_lost, for_s: 0, poll_multiple: 1}\n"
    )
    return load_config(path)


async def _poll_duration_s(cfg: Config) -> float:
    """Median time one poll holds the bus, measured on this machine now [s]."""
    comp = from_config(cfg)
    assert comp is not None
    comp.open(ScaledClock.starting(NOON * 1000, 1.0))
    try:
        for _ in range(2):  # the first round includes opening the port
            readings = await comp.poll_once()
            assert all(not r.quality for r in readings), readings
        return statistics.median(p.state.last_bus_s or 0.0 for p in comp.pollers)
    finally:
        await comp.stop()


def _metric(text: str, name: str, endpoint: str) -> float:
    for line in text.splitlines():
        if line.startswith(f'{name}{{endpoint="{endpoint}"}}'):
            return float(line.split()[-1])
    raise AssertionError(f"{name} for {endpoint} not in /metrics:\n{text}")


def test_bus_overloaded_3x_reads_every_device_evenly_and_loses_none(tmp_path: Path, caplog) -> None:
    link = tmp_path / "ttyRS485"
    cfg = _config(tmp_path, link)

    async def run() -> dict[str, Any]:
        bus = PtyBus(link, 9600)
        bus.start()
        peer = SlowPeer(load_image(dict.fromkeys(range(1, UNITS + 1), HUA)), serial=bus.server_path)
        await peer.start()
        try:
            poll_s = await _poll_duration_s(cfg)
            # UNITS polls per period need OVERLOAD periods of the bus's time
            period_s = UNITS * poll_s / OVERLOAD
            clock = ScaledClock.starting(NOON * 1000, INTERVAL_S / period_s)
            store = SqliteStore(tmp_path / "data" / "pv.db")
            comp = from_config(cfg)
            health = HealthServer(0)
            svc = Service(cfg, store, [comp, health], clock=clock)
            with caplog.at_level(logging.WARNING, logger="collector.modbus"):
                task = asyncio.create_task(svc.run(install_signals=False))
                started = time.monotonic()
                # every device read MIN_READINGS times: at the stretched interval that is
                # MIN_READINGS rounds of the bus; give it four times as long
                deadline = started + 30 + 4 * MIN_READINGS * UNITS * poll_s / CAPACITY_SHARE
                while not comp.pollers or min(p.state.polls for p in comp.pollers) < MIN_READINGS:
                    assert not task.done(), "the service stopped"
                    assert time.monotonic() < deadline, [p.state.polls for p in comp.pollers]
                    await asyncio.sleep(0.05)
                metrics = await asyncio.to_thread(
                    lambda: (
                        urllib.request.urlopen(f"http://127.0.0.1:{health.port}/metrics")
                        .read()
                        .decode()
                    )
                )
                load = comp.loads[str(link)]
                figures = {"share": load.share, "stretch": load.stretch, "mean": load.mean_bus_s()}
                svc.request_stop()
                await task
            return {
                "poll_s": poll_s,
                "period_s": period_s,
                "factor": clock.factor,
                "metrics": metrics,
                "comp": comp,
                "samples": store.series(fields=["power_w"]),
                "store": store,
                **figures,
            }
        finally:
            await peer.stop()
            bus.close()

    got = asyncio.run(run())
    store = got["store"]
    try:
        samples = got["samples"]
        # the bus was overloaded as planned (measured during the run, on this machine)
        assert got["share"] > 0.6 * OVERLOAD, got
        assert got["stretch"] > 1.0
        # every device read, as often as the others, and every request answered
        per_device = {f"inv{u}": [s for s in samples if s.device == f"inv{u}"] for u in range(1, 7)}
        counts = {d: len(v) for d, v in per_device.items()}
        assert min(counts.values()) >= MIN_READINGS, counts
        assert max(counts.values()) - min(counts.values()) <= 2, counts
        assert all(s.quality is Quality.GOOD for s in samples), [
            s for s in samples if s.quality is not Quality.GOOD
        ]
        pollers = got["comp"].pollers
        assert all(p.state.failures == 0 for p in pollers)
        # polled in turn, not queued: a poll hardly waits for the bus (queued at random,
        # the median poll would wait for about half the other devices' polls)
        waits = [p.state.last_latency_s - p.state.last_bus_s for p in pollers]
        assert statistics.median(waits) < 0.5 * got["mean"], (waits, got)
        # the polls were later than comm_lost's grace: a silence rule would have fired
        grace_ms = (2 * INTERVAL_S + 60) * 1000
        gaps = [b.ts_ms - a.ts_ms for v in per_device.values() for a, b in itertools.pairwise(v)]
        assert max(gaps) > grace_ms, (max(gaps), got)
        # said once: one warning naming the bus and the planned vs achievable polls
        said = [r.getMessage() for r in caplog.records if "cannot carry" in r.getMessage()]
        assert len(said) == 1, said
        assert str(tmp_path / "ttyRS485") in said[0] and "planned" in said[0]
        assert not [r for r in caplog.records if "carries its planned polls again" in r.message]
        # and in /metrics: planned vs achieved, overloaded
        text, key = got["metrics"], str(link)
        planned = _metric(text, "pvledger_modbus_endpoint_polls_planned_total", key)
        achieved = _metric(text, "pvledger_modbus_endpoint_polls_achieved_total", key)
        assert _metric(text, "pvledger_modbus_endpoint_overloaded", key) == 1
        assert _metric(text, "pvledger_modbus_endpoint_load_ratio", key) > 1
        assert achieved >= UNITS * MIN_READINGS
        assert planned > 1.5 * achieved, (planned, achieved)
        # the alert engine over the same store: late polls, no failed request, no comm_lost
        first = min(s.ts_ms for s in samples)
        last = max(s.ts_ms for s in samples)
        eng = Engine(cfg, store, AlertDb(tmp_path / "data" / "alerts.db"))
        try:
            kinds = []
            for now in range(first, last + 600_000, 30_000):
                kinds += [f.kind for f in eng.evaluate(now)]
                eng.step(now)
            assert "comm_lost" not in kinds
            assert eng.db.open_alerts() == []
        finally:
            eng.db.close()
    finally:
        store.close()


def test_endpoint_load_stretches_reports_once_and_recovers_with_hysteresis() -> None:
    load = EndpointLoad("bus")
    for d in ("a", "b", "c"):
        load.plan(d, 1.0)  # each wants a poll every second
    load.observe("a", 0.9)  # b and c not measured yet: taken at the measured mean
    assert load.update() == "overloaded"
    assert abs(load.share - 2.7) < 1e-9 and abs(load.stretch - 2.7 / CAPACITY_SHARE) < 1e-9
    assert load.update() is None  # said once
    # three planned polls per cycle, stretched 3x: one per cycle, fractions carried over
    takes = [load.take(1.0, 3) for _ in range(9)]
    assert sum(takes) == int(9 * 3 / load.stretch) and max(takes) - min(takes) <= 1
    assert abs(load.achievable_per_min() - load.planned_per_min() / load.stretch) < 1e-9
    # just under the capacity: not recovered yet (no flapping around the threshold)
    for d in ("a", "b", "c"):
        load.bus_s[d] = CAPACITY_SHARE / 3 * 0.95
    assert load.update() is None and load.overloaded and load.stretch == 1.0
    for d in ("a", "b", "c"):
        load.bus_s[d] = RECOVER_SHARE / 3 * 0.9
    assert load.update() == "recovered" and not load.overloaded
    # a figure measured while the machine stalled falls back fast, a stall counts little
    assert smoothed(None, 2.0) == 2.0
    assert smoothed(2.0, 0.2) < 0.8 and smoothed(0.2, 2.0) < 0.8
    # in turn: never polled first, then the one polled longest ago
    assert in_turn([(5.0, "a"), (None, "b"), (1.0, "c")], 2) == ["b", "c"]
