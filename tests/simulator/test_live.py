"""`pvledger simulate` as a real process, read by independent clients; every fault mode.

One simulator serves the small fleet for the whole module (simulated 10:00 on a
July day, 60x), with a real Mosquitto. Each test injects its faults through the
HTTP control interface and ends them, and reads with plain pymodbus clients or
mosquitto_sub. Tests that compare values over time wait on the simulator's own clock
(GET /clock) and assert that it advanced, never on a wall-clock sleep.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.exceptions import ModbusException

from simulator.control import control
from tests.conftest import ROOT
from tests.servers import Mosquitto, free_port, require_binary, stop_process, wait_port
from tests.simulator.conftest import write_config

START = "2025-07-10T10:00:00+08:00"


@dataclass
class Sim:
    proc: subprocess.Popen
    folder: Path
    ports: dict[str, int]
    control: int
    broker: Mosquitto

    def post(self, spec: dict) -> dict:
        return control(self.control, "POST", "/faults", spec)

    def end(self, fault_id: str) -> None:
        control(self.control, "DELETE", f"/faults/{fault_id}")

    def get(self, path: str) -> object:
        return control(self.control, "GET", path)

    def inject(self, spec: dict) -> str:
        # the Modbus process checks the fault file on every request: no wait needed
        return self.post(spec)["id"]

    def now_ms(self) -> int:
        """The simulator's clock [ms]."""
        return sim_now_ms(self.control)

    def wait(self, sim_s: float) -> int:
        """Block until the simulator's clock has run sim_s simulated seconds; returns it."""
        return wait_sim(self.control, sim_s)


def sim_now_ms(control_port: int) -> int:
    """GET /clock of the simulator's control interface: simulated now [ms]."""
    return int(control(control_port, "GET", "/clock")["now_ms"])


def wait_sim(control_port: int, sim_s: float) -> int:
    """Poll the simulator's clock until sim_s simulated seconds have passed from now;
    returns the clock then [ms]. A clock that does not advance fails the test."""
    start = sim_now_ms(control_port)
    factor = float(control(control_port, "GET", "/clock")["factor"])
    # a loaded machine delays our polls, never the clock: allow ten times the wall time
    deadline = time.monotonic() + max(10.0, 10 * sim_s / factor)
    while True:
        now = sim_now_ms(control_port)
        if now - start >= sim_s * 1000:
            return now
        assert time.monotonic() < deadline, f"simulated clock stuck at {now} (from {start})"
        time.sleep(min(0.05, (sim_s * 1000 - (now - start)) / 1000 / factor))


def start_sim(folder: Path, mqtt_port: int | None, *extra: str) -> tuple:
    path, ports = write_config(folder, mqtt_port)
    control = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-c",
            str(path),
            "simulate",
            "--speed",
            "60",
            "--start",
            START,
            "--seed",
            "2",
            "--control-port",
            str(control),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not (folder / "run" / "modbus.ready").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "simulator did not start"
        time.sleep(0.05)
    wait_port(control)
    return proc, ports, control


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    require_binary("mosquitto")
    folder = tmp_path_factory.mktemp("sim")
    broker = Mosquitto(folder / "mosquitto")
    broker.workdir.mkdir()
    broker.start()
    proc, ports, control = start_sim(folder, broker.port)
    try:
        yield Sim(proc, folder, ports, control, broker)
    finally:
        stop_process(proc)
        broker.stop()


def tcp(sim: Sim, port: str = "p1") -> ModbusTcpClient:
    c = ModbusTcpClient("127.0.0.1", port=sim.ports[port], timeout=1, retries=0)
    assert c.connect()
    return c


def regs(c: ModbusTcpClient | ModbusSerialClient, unit: int, addr: int, count: int) -> list[int]:
    r = c.read_holding_registers(addr, count=count, device_id=unit)
    assert not r.isError(), r
    return r.registers


def s16(v: int) -> int:
    return v - 0x10000 if v & 0x8000 else v


def u32(hi: int, lo: int) -> int:
    return hi << 16 | lo


def sunspec(c: ModbusTcpClient, unit: int) -> dict:
    """The points of model 103 at 40070 (offsets from the model's ID register)."""
    m = regs(c, unit, 40070, 52)
    w_sf, wh_sf = s16(m[15]), s16(m[26])
    return {
        "w": s16(m[14]) * 10.0**w_sf,
        "w_sf": w_sf,
        "wh": u32(m[24], m[25]) * 10**wh_sf,
        "wh_sf": wh_sf,
        "st": m[38],
        "evt1": u32(m[40], m[41]),
    }


def f32(r: list[int]) -> float:
    return struct.unpack(">f", struct.pack(">HH", *r))[0]


def mqtt_messages(sim: Sim, topic: str, n: int) -> list[dict]:
    out = subprocess.run(
        [
            require_binary("mosquitto_sub"),
            "-h",
            "127.0.0.1",
            "-p",
            str(sim.broker.port),
            "-t",
            topic,
            "-q",
            "1",
            "-C",
            str(n),
            "-W",
            "15",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


# ---- plausible, self-consistent values per profile ---------------------------------------


def test_sunspec_model_chain_and_values(sim: Sim) -> None:
    c = tcp(sim)
    head = regs(c, 1, 40000, 70)
    assert head[:2] == [0x5375, 0x6E53] and head[2:4] == [1, 66]
    tail = regs(c, 1, 40070, 82)
    assert tail[:2] == [103, 50] and tail[52:54] == [120, 26]
    assert tail[55] * 10 ** s16(tail[56]) == 50_000  # WRtg x 10^WRtg_SF
    assert tail[80:82] == [0xFFFF, 0]
    t0 = sim.now_ms()
    a = sunspec(c, 1)
    sim.wait(90)
    b = sunspec(c, 1)
    elapsed_h = (sim.now_ms() - t0) / 3_600_000  # at least the 90 s between the reads
    assert 0 < a["w"] <= 50_000 and a["st"] in (4, 5)
    assert a["wh"] > 40_000_000  # seven years at 50 kW
    # the counter moved with simulated time, by no more than rated power allows
    assert 0 < b["wh"] - a["wh"] <= 50_000 * elapsed_h + 10 ** b["wh_sf"]
    c.close()


def test_huawei_and_meter_agree(sim: Sim) -> None:
    c = tcp(sim)
    ident = regs(c, 2, 30000, 75)
    assert u32(ident[73], ident[74]) == 50_000
    live = regs(c, 2, 32064, 52)
    power = s16(live[16]) << 16 | live[17]
    assert 0 < power <= 50_000 and live[25] in (0x0200, 0x0201)
    assert u32(live[42], live[43]) * 10 > 40_000_000
    assert 0 < u32(live[50], live[51]) * 10 < 400_000  # today, since midnight
    pt = f32(regs(c, 10, 0x2012, 2))
    exp_kwh = f32(regs(c, 10, 0x4028, 2))
    imp_kwh = f32(regs(c, 10, 0x401E, 2))
    assert pt < 0  # exporting: negative in the meter's import-positive convention
    assert -pt / 10 <= 100_000
    assert exp_kwh > 50 * imp_kwh > 0
    c.close()


def test_unknown_unit_is_silent(sim: Sim) -> None:
    c = tcp(sim)
    with pytest.raises(ModbusException):
        c.read_holding_registers(40000, count=2, device_id=99)
    c.close()


def test_rtu_bus_on_a_pty(sim: Sim) -> None:
    link = sim.folder / "run" / "rtu-t"
    assert link.is_symlink()
    c = ModbusSerialClient(str(link), baudrate=9600, timeout=1, retries=0)
    assert c.connect()
    try:
        for unit in (1, 2):
            live = regs(c, unit, 32064, 52)
            assert u32(live[42], live[43]) > 0
        ident = regs(c, 1, 30000, 75)
        assert u32(ident[73], ident[74]) == 3000
        with pytest.raises(ModbusException):
            c.read_holding_registers(32080, count=2, device_id=7)
    finally:
        c.close()


def test_mqtt_logger_payload(sim: Sim) -> None:
    msgs = mqtt_messages(sim, "pv/vb/s-hh-4", 2)
    assert len(msgs) == 2
    m = msgs[0]
    assert set(m) == {"sn", "time", "pac_w", "etoday_kwh", "etotal_wh", "state", "fault", "temp_c"}
    assert m["sn"] == "s-hh-4-log" and m["state"] == "run" and 0 < m["pac_w"] <= 3000
    assert m["time"].endswith("+08:00") and m["time"].startswith("2025-07-10T")
    # the next message is one interval (60 s) of simulated time later, or a multiple on a
    # slow machine, and the counter grew with the power
    t0, t1 = (dt.datetime.fromisoformat(x["time"]) for x in msgs)
    gap_s = (t1 - t0).total_seconds()
    assert gap_s > 0 and gap_s % 60 == 0
    assert isinstance(m["etotal_wh"], int) and msgs[1]["etotal_wh"] > m["etotal_wh"]


# ---- faults ------------------------------------------------------------------------------


def test_station_stop(sim: Sim) -> None:
    c = tcp(sim)
    fid = sim.inject({"kind": "stop", "station": "s-hh-1"})
    try:
        a, peer_a = sunspec(c, 21), sunspec(c, 1)
        sim.wait(60)
        b, peer_b = sunspec(c, 21), sunspec(c, 1)
        assert a["w"] == 0 and a["st"] == 7 and a["evt1"] != 0
        # a simulated minute passed (a producing neighbour's counter moved); the stopped
        # station's did not
        assert peer_b["wh"] > peer_a["wh"]
        assert a["wh"] == b["wh"]
        assert any(f["id"] == fid and f["active"] for f in sim.get("/faults"))
    finally:
        sim.end(fid)
    assert sunspec(c, 21)["w"] > 0
    assert not any(f["id"] == fid and f["active"] for f in sim.get("/faults"))
    c.close()


def test_comm_loss_silence_and_refused(sim: Sim) -> None:
    c = tcp(sim)
    fid = sim.inject({"kind": "comm_loss", "device": "v-va-inv2"})
    try:
        with pytest.raises(ModbusException):
            c.read_holding_registers(32080, count=2, device_id=2)
        assert sunspec(c, 1)["w"] > 0  # its neighbour on the same port still answers
    finally:
        sim.end(fid)
    c.close()
    fid = sim.inject({"kind": "comm_loss", "station": "v-vc", "refuse": True})
    try:
        assert _eventually(lambda: not _connects(sim.ports["p2"]))  # port closed in 0.2 s
    finally:
        sim.end(fid)
    assert _eventually(lambda: _connects(sim.ports["p2"]))
    again = tcp(sim, "p2")
    assert sunspec(again, 1)["w"] > 0
    again.close()


def _connects(port: int) -> bool:
    c = ModbusTcpClient("127.0.0.1", port=port, timeout=1, retries=0)
    ok = c.connect()
    c.close()
    return ok


def _eventually(check, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_slave_busy(sim: Sim) -> None:
    c = tcp(sim)
    fid = sim.inject({"kind": "busy", "device": "v-va-meter", "p": 1.0})
    try:
        r = c.read_holding_registers(0x4028, count=2, device_id=10)
        assert r.isError() and r.exception_code == 6
    finally:
        sim.end(fid)
    fid = sim.inject({"kind": "busy", "device": "v-va-meter", "p": 0.5})
    try:
        codes = [c.read_holding_registers(0x4028, count=2, device_id=10) for _ in range(30)]
        busy = sum(1 for r in codes if r.isError() and r.exception_code == 6)
        assert 3 <= busy <= 27  # intermittent
    finally:
        sim.end(fid)
    c.close()


@pytest.mark.parametrize("kind", ["garbage", "truncated"])
def test_garbage_and_truncated_frames(sim: Sim, kind: str) -> None:
    fid = sim.inject({"kind": kind, "device": "v-vc-inv2"})
    try:
        c = tcp(sim, "p2")
        with pytest.raises(ModbusException):
            r = c.read_holding_registers(40070, count=52, device_id=2)
            assert r.isError()  # a valid answer here would be the failure
            raise ModbusException("error response")
        c.close()
    finally:
        sim.end(fid)


def test_counter_reset_and_stuck_counter(sim: Sim) -> None:
    c = tcp(sim, "p2")
    before = sunspec(c, 1)["wh"]
    fid = sim.inject({"kind": "counter_reset", "device": "v-vc-inv1"})
    after = sunspec(c, 1)["wh"]
    assert before > 40_000_000 and after < 100_000
    sid = sim.inject({"kind": "stuck_counter", "device": "v-vc-inv2"})
    try:
        a, peer_a = sunspec(c, 2), sunspec(c, 1)
        sim.wait(60)
        b, peer_b = sunspec(c, 2), sunspec(c, 1)
        # simulated time passed (its neighbour counts on, from its reset) while the stuck
        # counter stayed put and the inverter kept producing
        assert peer_b["wh"] > peer_a["wh"]
        assert a["wh"] == b["wh"] and b["w"] > 0
    finally:
        sim.end(sid)
        sim.end(fid)
    assert sunspec(c, 2)["wh"] > b["wh"]
    c.close()


def test_scale_factor_changes_at_run_time(sim: Sim) -> None:
    c = tcp(sim)
    a = sunspec(c, 1)
    fid = sim.inject({"kind": "scale_change", "device": "v-va-inv1"})
    try:
        b = sunspec(c, 1)
        assert (b["w_sf"], b["wh_sf"]) == (a["w_sf"] + 1, a["wh_sf"] + 1)
        assert b["w"] == pytest.approx(a["w"], rel=0.5)  # scaled values stay plausible
        assert abs(b["wh"] - a["wh"]) < 20_000
    finally:
        sim.end(fid)
    c.close()


def test_logger_clock_skew(sim: Sim) -> None:
    fid = sim.inject({"kind": "clock_skew", "device": "s-hh-5-log", "skew_s": -7200})
    try:
        now = sim.get("/clock")["now_ms"] / 1000
        m = mqtt_messages(sim, "pv/vc/s-hh-5", 1)[0]
        logger_time = dt.datetime.fromisoformat(m["time"]).timestamp()
        assert -7200 - 300 < logger_time - now < -7200 + 300
    finally:
        sim.end(fid)


def test_village_grid_outage(sim: Sim) -> None:
    fid = sim.inject({"kind": "outage", "village": "vb"})
    try:
        c = ModbusSerialClient(
            str(sim.folder / "run" / "rtu-t"), baudrate=9600, timeout=1, retries=0
        )
        assert c.connect()
        live = regs(c, 2, 32064, 52)  # s-hh-3 in village vb
        other = regs(c, 1, 32064, 52)  # s-hh-2 in village va
        c.close()
        assert live[16:18] == [0, 0] and live[25] == 0x0300
        assert other[17] > 0
        m = mqtt_messages(sim, "pv/vb/s-hh-4", 1)[0]
        assert m["pac_w"] == 0 and m["state"] == "fault"
    finally:
        sim.end(fid)


def test_gradual_degradation(sim: Sim) -> None:
    c = tcp(sim, "p2")
    fid = sim.inject({"kind": "degrade", "device": "v-vc-inv2", "factor": 0.6})
    try:
        ratio = sunspec(c, 2)["w"] / sunspec(c, 1)["w"]
        assert 0.5 < ratio < 0.7
    finally:
        sim.end(fid)
    c.close()


def test_bad_fault_request_is_refused(sim: Sim) -> None:
    with pytest.raises(urllib.error.HTTPError) as e:
        sim.post({"kind": "stop", "station": "no-such-station"})
    assert e.value.code == 400


def test_broker_down_modbus_still_works_and_clean_exit(tmp_path: Path) -> None:
    proc, ports, control_port = start_sim(tmp_path, free_port())
    run = tmp_path / "run"
    child = int((run / "modbus.ready").read_text())
    c = ModbusTcpClient("127.0.0.1", port=ports["p1"], timeout=1, retries=0)
    assert c.connect()
    assert sunspec(c, 1)["w"] > 0
    c.close()
    # three logger intervals (60 s each) of simulated time: each of the two loggers has
    # tried to publish at least twice, so "once" below means once, not "tried once"
    wait_sim(control_port, 180)
    stop_process(proc)
    _, err = proc.communicate()
    assert proc.returncode == 0
    assert err.count("unreachable") == 1  # logged once, retried quietly
    assert not (run / "rtu-t").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
