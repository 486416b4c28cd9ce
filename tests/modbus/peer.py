"""A real pymodbus server for the Modbus tests, with register images and fault switches.

Register images come from case folders (registers.yaml); the server answers from a
dict we own, so a test can change values between polls. Fault switches per unit:
``busy`` (exception 6), ``silent`` (no answer: the client times out); and a
server-wide ``garbage`` switch that replaces response frames with junk bytes.
Every request's function code is recorded (``seen_functions``) to prove the
collector only reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusSerialServer, ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice


def encode(spec: Any) -> list[int]:
    """Words for one image entry: int, list of ints, or {type: value}."""
    if isinstance(spec, int):
        return [spec & 0xFFFF]
    if isinstance(spec, list):
        return [int(w) & 0xFFFF for w in spec]
    ((kind, value),) = spec.items()
    if kind == "int16":
        return [int(value) & 0xFFFF]
    if kind in ("int32", "uint32"):
        v = int(value) & 0xFFFFFFFF
        return [v >> 16, v & 0xFFFF]
    if kind == "uint32_le":  # low word first
        v = int(value) & 0xFFFFFFFF
        return [v & 0xFFFF, v >> 16]
    if kind == "float32":
        hi, lo = struct.unpack(">HH", struct.pack(">f", float(value)))
        return [hi, lo]
    if kind == "string":
        text, n = value if isinstance(value, list) else (value, (len(value) + 1) // 2)
        b = text.encode().ljust(2 * n, b"\0")
        return [int.from_bytes(b[i : i + 2], "big") for i in range(0, 2 * n, 2)]
    raise ValueError(f"unknown image entry {spec!r}")


def sunspec_image(spec: dict[str, Any]) -> dict[int, int]:
    """A SunSpec register image: marker, model chain (unset registers 0), end marker."""
    regs: dict[int, int] = {}
    base = int(spec.get("base", 40000))
    regs[base], regs[base + 1] = 0x5375, 0x6E53
    addr = base + 2
    for m in spec["models"]:
        length = int(m["length"])
        regs[addr], regs[addr + 1] = int(m["id"]), length
        for i in range(length):
            regs[addr + 2 + i] = 0
        for off, v in (m.get("points") or {}).items():
            for i, w in enumerate(encode(v)):
                regs[addr + int(off) + i] = w
        addr += 2 + length
    regs[addr], regs[addr + 1] = 0xFFFF, 0
    return regs


@dataclass
class UnitImage:
    """Holding (FC3) and input (FC4) registers of one unit."""

    holding: dict[int, int] = field(default_factory=dict)
    input: dict[int, int] = field(default_factory=dict)


def load_image(data: dict[str, Any]) -> dict[int, UnitImage]:
    """Units from a registers.yaml mapping: {unit: {holding: {...}, input: {...}, sunspec: ...}}."""
    out: dict[int, UnitImage] = {}
    for unit, spec in data.items():
        img = UnitImage()
        for table, target in (("fill_holding", img.holding), ("fill_input", img.input)):
            for lo, hi in spec.get(table) or []:  # zero ranges: registers a device defines
                target.update(dict.fromkeys(range(int(lo), int(hi) + 1), 0))
        if "sunspec" in spec:
            img.holding.update(sunspec_image(spec["sunspec"]))
        for table, target in (("holding", img.holding), ("input", img.input)):
            for addr, v in (spec.get(table) or {}).items():
                for i, w in enumerate(encode(v)):
                    target[int(addr) + i] = w
        out[int(unit)] = img
    return out


def load_image_file(path: Path) -> dict[int, UnitImage]:
    """load_image() of a YAML file."""
    return load_image(yaml.safe_load(path.read_text()))


def _blocks(regs: dict[int, int]) -> list[SimData]:
    out: list[SimData] = []
    run: list[int] = []
    start = prev = -2
    for a in sorted(regs):
        if a != prev + 1 and run:
            out.append(SimData(start, values=run, datatype=DataType.REGISTERS))
            run = []
        if not run:
            start = a
        run.append(regs[a])
        prev = a
    if run:
        out.append(SimData(start, values=run, datatype=DataType.REGISTERS))
    # pymodbus refuses an empty table: park one register where no map looks
    return out or [SimData(65530, values=[0], datatype=DataType.REGISTERS)]


_BITS = [SimData(0, values=[False] * 16, datatype=DataType.BITS)]


class Peer:
    """pymodbus server (TCP, or RTU on a serial path) serving UnitImages with fault switches."""

    def __init__(self, units: dict[int, UnitImage], *, port: int = 0, serial: str | None = None):
        self.units = units
        self.port = port
        self.serial = serial
        self.mode: dict[int, str] = {}
        self.garbage = False
        self.seen_functions: list[int] = []
        self.reads: dict[int, int] = {}
        self.silence_s = 3.0
        self._server: Any = None
        self._stopping = asyncio.Event()

    async def _action(
        self,
        unit: int,
        fc: int,
        start: int,
        address: int,
        count: int,
        current: list[int],
        set_values: Any,
    ) -> ExcCodes | None:
        mode = self.mode.get(unit, "ok")
        if mode == "busy":
            return ExcCodes.DEVICE_BUSY
        if mode == "silent":
            # silent until the timeout, or until stop(): a request left sleeping would
            # outlive the server as a pending task
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.silence_s)
        img = self.units[unit]
        table = img.holding if fc == 3 else img.input
        for i in range(len(current)):
            v = table.get(start + i)
            if v is not None:
                current[i] = v
        self.reads[unit] = self.reads.get(unit, 0) + 1
        return None

    def _trace_pdu(self, sending: bool, pdu: Any) -> Any:
        if not sending:
            self.seen_functions.append(int(pdu.function_code))
        return pdu

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if sending and self.garbage:
            return b"\x13\x37garbage-not-modbus"
        return data

    def _devices(self) -> list[SimDevice]:
        devs = []
        for unit, img in self.units.items():

            async def action(fc, start, address, count, current, set_values, _u=unit):
                return await self._action(_u, fc, start, address, count, current, set_values)

            devs.append(
                SimDevice(
                    unit, (_BITS, _BITS, _blocks(img.holding), _blocks(img.input)), action=action
                )
            )
        return devs

    async def start(self) -> None:
        """Start serving in the background of the running loop."""
        kw = dict(trace_pdu=self._trace_pdu, trace_packet=self._trace_packet)
        if self.serial:
            self._server = ModbusSerialServer(
                self._devices(), framer=FramerType.RTU, port=self.serial, baudrate=9600, **kw
            )
        else:
            self._server = ModbusTcpServer(self._devices(), address=("127.0.0.1", self.port), **kw)
        await self._server.serve_forever(background=True)

    async def stop(self) -> None:
        """Stop serving."""
        self._stopping.set()
        if self._server is not None:
            await self._server.shutdown()
            self._server = None
        # pymodbus leaves the handlers of requests in flight running: let them finish
        me = asyncio.current_task()
        handlers = [
            t
            for t in asyncio.all_tasks()
            if t is not me and "handle_request" in getattr(t.get_coro(), "__qualname__", "")
        ]
        if handlers:
            await asyncio.wait(handlers, timeout=5)
