"""A thin adapter over pymodbus: one connection per endpoint, three kinds of failure.

pymodbus renames its arguments between minor versions (``slave=`` -> ``device_id=``),
so only this module talks to it. An endpoint is one TCP socket (host:port) or one
serial bus; its requests are serialised by ``lock`` (one request in flight per
client), and endpoints run concurrently. Failures are mapped onto our own
exceptions so the poller can keep them apart:

- TransportError: no usable answer (refused, timeout, garbage): the connection is
  closed and re-opened on the next request;
- DeviceError: the device answered with a Modbus exception (busy, illegal
  address): the connection stays as it is;
- DecodeFailure (raised by the poller, not here): bytes arrived but mean nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.framer import FramerType

#: Modbus exception codes worth naming in logs
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target failed to respond",
}
#: the only function codes this collector ever sends (read-only by construction)
READ_FUNCTIONS = frozenset({3, 4})


class ModbusFailure(Exception):
    """Base of the three failure kinds; ``kind`` is comm, device or decode."""

    kind = "comm"


class TransportError(ModbusFailure):
    """No usable answer: connection refused or lost, timeout, malformed frame."""

    kind = "comm"


class DeviceError(ModbusFailure):
    """The device answered with a Modbus exception response."""

    kind = "device"

    def __init__(self, code: int):
        self.code = code
        super().__init__(f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown')})")


class DecodeFailure(ModbusFailure):
    """An answer arrived but does not make sense (no SunSpec marker, broken model chain)."""

    kind = "decode"


class Endpoint:
    """One pymodbus client shared by every device behind one socket or serial bus."""

    def __init__(
        self,
        key: str,
        *,
        host: str | None = None,
        port: int | None = None,
        serial_port: str | None = None,
        baud: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 1.0,
        retries: int = 0,
        connect_wait_s: float = 0.0,
    ):
        self.key = key
        self.lock = asyncio.Lock()
        self.connect_wait_s = connect_wait_s
        self.is_serial = serial_port is not None
        self._params = dict(
            host=host,
            port=port,
            serial_port=serial_port,
            baud=baud,
            parity=parity,
            stopbits=stopbits,
            bytesize=bytesize,
            timeout_s=timeout_s,
            retries=retries,
        )
        self._client: AsyncModbusTcpClient | AsyncModbusSerialClient | None = None
        self.requests = 0
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Whether the socket / serial port is open."""
        return self._client is not None and bool(self._client.connected)

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        # created inside the running loop (pymodbus binds to it); reconnect_delay=0: pymodbus
        # must not reconnect behind our back, we do it on the next request of a device whose
        # back-off has expired
        p = self._params
        if p["serial_port"] is not None:
            return AsyncModbusSerialClient(
                p["serial_port"],
                framer=FramerType.RTU,
                baudrate=p["baud"],
                parity=p["parity"],
                stopbits=p["stopbits"],
                bytesize=p["bytesize"],
                timeout=p["timeout_s"],
                retries=p["retries"],
                reconnect_delay=0,
            )
        return AsyncModbusTcpClient(
            p["host"] or "127.0.0.1",
            port=p["port"] or 502,
            timeout=p["timeout_s"],
            retries=p["retries"],
            reconnect_delay=0,
        )

    async def _connect(self) -> None:
        if self._client is None:
            self._client = self._make_client()
        try:
            ok = await self._client.connect()
        except (OSError, ModbusException) as exc:
            raise TransportError(f"{self.key}: cannot connect ({exc})") from exc
        if not ok:
            raise TransportError(f"{self.key}: cannot connect")
        self.connects += 1
        if self.connect_wait_s and not self.is_serial:
            await asyncio.sleep(self.connect_wait_s)

    async def read(self, function: int, address: int, count: int, unit: int) -> Sequence[int]:
        """Read ``count`` registers (FC3 holding / FC4 input); call with ``lock`` held.

        Returns the register words. Raises TransportError or DeviceError.
        """
        if function not in READ_FUNCTIONS:  # never send a write: the collector is read-only
            raise ValueError(f"function code {function} is not a read")
        client = self._client
        if client is None or not client.connected:
            await self._connect()
            client = self._client
        assert client is not None
        self.requests += 1
        call = client.read_holding_registers if function == 3 else client.read_input_registers
        try:
            rr = await call(address, count=count, device_id=unit)
        except (TimeoutError, ModbusException, OSError) as exc:
            # a late or garbled answer could confuse the next request: start clean
            self.close()
            raise TransportError(f"{self.key} unit {unit}: {exc}") from exc
        if rr.isError():
            raise DeviceError(int(getattr(rr, "exception_code", 0) or 0))
        regs = rr.registers
        if len(regs) != count:
            self.close()
            raise TransportError(
                f"{self.key} unit {unit}: asked {count} registers, got {len(regs)}"
            )
        return regs

    def close(self) -> None:
        """Close the connection (the next read reconnects)."""
        if self._client is not None:
            self._client.close()


def quiet_pymodbus() -> None:
    """Keep pymodbus's per-request error logging out of ours (we log outages once)."""
    lg = logging.getLogger("pymodbus")
    if lg.level == logging.NOTSET:
        lg.setLevel(logging.CRITICAL)
