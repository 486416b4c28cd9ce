"""The Modbus side of the simulator, run as its own process by ``pvledger simulate``.

Serves every simulated Modbus device of the config: one pymodbus TCP server per
port (many unit ids each) and one RTU server per serial bus, reached through a
pseudo-terminal pair whose client end is linked at the configured port path.
Register values are computed from the fleet model at the moment of each request
(simulated time from run/clock.json). Faults come from run/sim-faults.json,
re-read when it changes; transport faults are applied to the outgoing frame.

    python -m simulator.modbus_proc CONFIG --seed N --run-dir DIR
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import signal
import time
import tty
from functools import partial
from pathlib import Path

from pymodbus import FramerType
from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from core.clock import ScaledClock
from core.config import load_config
from simulator import registers
from simulator.faults import FaultBook
from simulator.fleet import Fleet, profiles

log = logging.getLogger("pvledger.simulate.modbus")


class ModbusSide:
    """Register images on demand, faults, and the servers."""

    def __init__(self, fleet: Fleet, run_dir: Path):
        self.fleet = fleet
        self.run_dir = run_dir
        self.clock = ScaledClock.load(run_dir / "clock.json")
        self.book = FaultBook()
        self._faults_key: tuple[int, int] = (0, 0)
        self._cache: dict[int, tuple[float, dict]] = {}
        self.rng = random.Random(fleet.seed)
        self.tcp: dict[int, dict[int, int]] = {}  # port -> unit -> device index
        self.rtu: dict[str, dict[int, int]] = {}  # path -> unit -> device index
        self.baud: dict[str, int] = {}
        cfg = fleet.config
        for i, dev in enumerate(fleet.devices):
            _, d = cfg.device_index[dev.id]
            if d.source == "modbus-tcp":
                self.tcp.setdefault(d.port, {})[d.unit] = i
            elif d.source == "modbus-rtu":
                path = str(cfg.resolve(d.port))
                self.rtu.setdefault(path, {})[d.unit] = i
                self.baud[path] = d.baud
        self.servers: dict[int, ModbusTcpServer | None] = {}
        self._refused: set[int] = set()

    def reload_faults(self) -> None:
        """Pick up run/sim-faults.json when it changed (a stat per request: cheap, and a
        fault injected over HTTP holds from the very next request)."""
        p = self.run_dir / "sim-faults.json"
        with contextlib.suppress(OSError):
            st = p.stat()
            key = (st.st_ino, st.st_mtime_ns)  # replaced by rename: the inode changes
            if key != self._faults_key:
                self._faults_key = key
                self.book = FaultBook.from_json(p.read_text())
                self._cache.clear()

    def _image(self, idx: int) -> dict[int, dict[int, list[int]]]:
        """The device's registers now: {function: {first address: [words]}}."""
        now_wall = time.monotonic()
        hit = self._cache.get(idx)
        # a real inverter refreshes its registers every second or two: keep an image at
        # most 2 simulated seconds (and 0.2 wall seconds), so accelerated time does not
        # turn the cache into minutes of stale counters that then jump
        if hit and now_wall - hit[0] < min(0.2, 2.0 / self.clock.factor):
            return hit[1]
        dev = self.fleet.devices[idx]
        t = self.clock.now_ms()
        st = {k: v[0] for k, v in self.fleet.state(idx, t, self.book).items()}
        p = profiles()[dev.profile]
        img = registers.blocks(
            registers.image(p["map"], st, dev.rated_w, p.get("model", ""), dev.id)
        )
        self._cache[idx] = (now_wall, img)
        return img

    async def action(
        self, idx: int, fc: int, start: int, address: int, count: int, regs: list, values
    ) -> ExcCodes | None:
        """Fill the device's registers from the model; answer busy while a busy fault holds."""
        self.reload_faults()
        dev = self.fleet.devices[idx]
        t = self.clock.now_ms()
        busy = self.book.active(dev.id, "busy", t)
        if busy and self.rng.random() < float(busy.params.get("p", 0.5)):
            return ExcCodes.DEVICE_BUSY
        if values is not None:
            return ExcCodes.ILLEGAL_FUNCTION  # read-only emulation
        runs = self._image(idx).get(fc, {})
        # holding and input registers share pymodbus's address space: a read must lie in
        # registers of its own function, as on the device (Sungrow answers FC4, not FC3)
        if not any(a <= address and address + count <= a + len(b) for a, b in runs.items()):
            return ExcCodes.ILLEGAL_ADDRESS
        for first, block in runs.items():
            regs[first - start : first - start + len(block)] = block
        return None

    def trace(self, units: dict[int, int], rtu: bool, sending: bool, data: bytes) -> bytes:
        """Apply transport faults to an outgoing frame; stay silent for unknown units."""
        if not sending or not data:
            return data
        unit = data[0] if rtu else (data[6] if len(data) > 6 else -1)
        idx = units.get(unit)
        if idx is None:
            return b""  # a real RS-485 bus (or gateway) stays silent
        dev_id = self.fleet.devices[idx].id
        t = self.clock.now_ms()
        if self.book.active(dev_id, "comm_loss", t):
            return b""
        if self.book.active(dev_id, "garbage", t):
            return bytes(self.rng.getrandbits(8) for _ in range(len(data)))
        if self.book.active(dev_id, "truncated", t):
            return data[: max(1, len(data) // 2)]
        return data

    def _devices(self, units: dict[int, int]) -> list[SimDevice]:
        out = []
        for unit, idx in sorted(units.items()):
            # one shared address space: every function's registers, merged
            merged = {
                a + i: w
                for by_first in self._image(idx).values()
                for a, block in by_first.items()
                for i, w in enumerate(block)
            }
            simdata = [
                SimData(addr, values=block, datatype=DataType.REGISTERS)
                for addr, block in registers.runs(merged).items()
            ]
            out.append(SimDevice(id=unit, simdata=simdata, action=partial(self.action, idx)))
        return out

    async def start_tcp(self, port: int) -> None:
        """Start (or restart) the TCP server of one port."""
        units = self.tcp[port]
        srv = ModbusTcpServer(
            self._devices(units),
            address=("127.0.0.1", port),
            ignore_missing_devices=True,
            trace_packet=partial(self.trace, units, False),
        )
        try:
            await srv.serve_forever(background=True)
        except RuntimeError:
            msg = f"cannot listen on 127.0.0.1:{port} (in use by another process?)"
            raise SystemExit(msg) from None
        self.servers[port] = srv

    def refused_ports(self) -> set[int]:
        """Ports whose every device has a comm_loss fault with refuse: true now."""
        t = self.clock.now_ms()
        out = set()
        for port, units in self.tcp.items():
            ids = [self.fleet.devices[i].id for i in units.values()]
            faults = [self.book.active(d, "comm_loss", t) for d in ids]
            if any(f is not None and f.params.get("refuse") for f in faults):
                out.add(port)
        return out

    async def watch(self, stop: asyncio.Event) -> None:
        """Re-read faults; close/reopen ports for connection-refused faults; stop when the
        parent simulator is gone (killed without a chance to stop us)."""
        parent = os.getppid()
        while not stop.is_set():
            if os.getppid() != parent:
                log.warning("parent simulator gone; stopping")
                return
            self.reload_faults()
            refused = self.refused_ports()
            for port in refused - self._refused:
                srv = self.servers.get(port)
                if srv is not None:
                    await srv.shutdown()
                    self.servers[port] = None
                    log.info("port %d closed (comm_loss refuse)", port)
            for port in self._refused - refused:
                await self.start_tcp(port)
                log.info("port %d open again", port)
            self._refused = refused
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)


class PtyBus:
    """A serial bus: two pty pairs bridged, the client end linked at the configured path.

    The bridge holds both slave ends open, so a client closing and reopening the
    port never tears the link down; bytes to the client are paced at the bus's
    baud rate (10 bits per byte).
    """

    def __init__(self, link: Path, baud: int):
        self.link = link
        self.baud = baud
        self.cm, self.cs = os.openpty()  # client side: slave path is linked at `link`
        self.sm, self.ss = os.openpty()  # server side: pymodbus opens the slave path
        for fd in (self.cs, self.ss):
            tty.setraw(fd)
        self.server_path = os.ttyname(self.ss)
        link.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        link.symlink_to(os.ttyname(self.cs))
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        """Bridge bytes both ways on the running loop."""
        loop = asyncio.get_running_loop()
        to_server: asyncio.Queue[bytes] = asyncio.Queue()
        to_client: asyncio.Queue[bytes] = asyncio.Queue()
        loop.add_reader(self.cm, lambda: to_server.put_nowait(_read(self.cm)))
        loop.add_reader(self.sm, lambda: to_client.put_nowait(_read(self.sm)))

        async def pump(q: asyncio.Queue[bytes], fd: int, pace: bool) -> None:
            while True:
                data = await q.get()
                if pace and data:
                    await asyncio.sleep(len(data) * 10 / self.baud)
                with contextlib.suppress(OSError):
                    os.write(fd, data)

        self._tasks = [
            asyncio.create_task(pump(to_server, self.sm, False)),
            asyncio.create_task(pump(to_client, self.cm, True)),
        ]

    def close(self) -> None:
        """Stop bridging, close the ptys, remove the link."""
        loop = asyncio.get_running_loop()
        for fd in (self.cm, self.sm):
            loop.remove_reader(fd)
        for t in self._tasks:
            t.cancel()
        for fd in (self.cm, self.cs, self.sm, self.ss):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:
        return b""


async def serve(config_path: str, seed: int, run_dir: Path) -> None:
    """Run until SIGTERM/SIGINT."""
    cfg = load_config(config_path)
    fleet = Fleet(cfg, seed)
    side = ModbusSide(fleet, run_dir)
    side.reload_faults()
    fleet.warm_up(side.clock.now_ms())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    for port in sorted(side.tcp):
        await side.start_tcp(port)
    buses: list[PtyBus] = []
    rtu_servers = []
    for path, units in sorted(side.rtu.items()):
        bus = PtyBus(Path(path), side.baud[path])
        bus.start()
        buses.append(bus)
        srv = ModbusSerialServer(
            side._devices(units),
            framer=FramerType.RTU,
            port=bus.server_path,
            baudrate=side.baud[path],
            ignore_missing_devices=True,
            trace_packet=partial(side.trace, units, True),
        )
        await srv.serve_forever(background=True)
        rtu_servers.append(srv)
    (run_dir / "modbus.ready").write_text(str(os.getpid()))
    log.info("serving %d TCP ports and %d RTU buses", len(side.tcp), len(buses))
    try:
        await side.watch(stop)
    finally:
        for srv in [*side.servers.values(), *rtu_servers]:
            if srv is not None:
                with contextlib.suppress(Exception):
                    await srv.shutdown()
        for bus in buses:
            bus.close()
        with contextlib.suppress(FileNotFoundError):
            (run_dir / "modbus.ready").unlink()


def main() -> None:
    """Entry point of the child process."""
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--run-dir", required=True)
    a = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, format="modbus-sim: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    asyncio.run(serve(a.config, a.seed, Path(a.run_dir)))


if __name__ == "__main__":
    main()
