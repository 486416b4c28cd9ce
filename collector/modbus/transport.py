"""One connection per endpoint, three kinds of failure; our own MBAP client for TCP reads.

Modbus TCP reads (the collector's hot path) go through ``MbapClient`` below: one
request/response at a time, framed with ``struct`` (pymodbus's client costs
150-190 us of CPU per read by itself, TECH-NOTES). Serial buses (RTU) stay on
pymodbus, which renames its arguments between minor versions (``slave=`` ->
``device_id=``), so only this module talks to it. An endpoint is one TCP socket
(host:port) or one serial bus; its requests are serialised by ``lock`` (one
request in flight per client), and endpoints run concurrently. Failures are
mapped onto our own exceptions so the poller can keep them apart:

- TransportError: no usable answer (refused, timeout, garbage): the connection is
  closed and re-opened on the next request;
- DeviceError: the device answered with a Modbus exception (busy, illegal
  address): the connection stays as it is;
- DecodeFailure (raised by the poller, not here): bytes arrived but mean nothing.
"""

from __future__ import annotations

import asyncio
import logging
import struct
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


_REQUEST = struct.Struct(">HHHBBHH")  # MBAP (tid, protocol 0, length 6, unit) + PDU
_HEADER = struct.Struct(">HHHBB")  # tid, protocol, length, unit, function
_MAX_LENGTH = 254  # unit + PDU of at most 253 bytes
_WORDS: dict[int, struct.Struct] = {}


def _words(count: int) -> struct.Struct:
    s = _WORDS.get(count)
    if s is None:
        s = _WORDS[count] = struct.Struct(f">{count}H")
    return s


class MbapClient(asyncio.Protocol):
    """A minimal Modbus TCP client: FC3/FC4 reads, one in flight, answers checked whole.

    An answer whose transaction id, unit, function or byte count does not match the
    request, a header that is not Modbus (protocol id, length), a timeout or a lost
    connection is a TransportError; the caller then closes the connection, so no late
    answer can be taken for the next request's.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[bytes] | None = None
        self._tid = 0
        self.lost = False

    # -- asyncio.Protocol ----------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        """Complete the waiting request once a whole frame arrived."""
        buf = self._buf
        buf += data
        w = self._waiter
        if w is None or w.done():
            if len(buf) > 4 * _MAX_LENGTH:
                buf.clear()  # unasked bytes: nothing to answer, nothing to keep
            return
        if len(buf) < 8:
            return
        _tid, proto, length, _unit, _fc = _HEADER.unpack_from(buf)
        if proto != 0 or not 2 <= length <= _MAX_LENGTH:
            w.set_exception(TransportError(f"not a Modbus TCP frame: {bytes(buf[:16])!r}"))
            return
        end = 6 + length
        if len(buf) >= end:
            frame = bytes(buf[:end])
            del buf[:end]
            w.set_result(frame)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail the waiting request."""
        self.lost = True
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(TransportError(f"connection lost ({exc or 'closed by peer'})"))

    # -- requests ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether the socket is open."""
        return self.transport is not None and not self.lost and not self.transport.is_closing()

    async def read(
        self, function: int, address: int, count: int, unit: int, timeout_s: float
    ) -> Sequence[int]:
        """The ``count`` register words, DeviceError for an exception answer, or
        TransportError (timeout, lost, malformed)."""
        transport = self.transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        self._tid = tid = (self._tid + 1) & 0xFFFF
        self._buf.clear()  # anything before our request is stale
        w: asyncio.Future[bytes] = loop.create_future()
        self._waiter = w
        transport.write(_REQUEST.pack(tid, 0, 6, unit, function, address, count))
        timer = loop.call_later(timeout_s, _expire, w, timeout_s)
        try:
            frame = await w
        finally:
            timer.cancel()
            self._waiter = None
        r_tid, _proto, length, r_unit, r_fc = _HEADER.unpack_from(frame)
        if r_tid != tid or r_unit != unit:
            raise TransportError(f"answer to another request (tid {r_tid}, unit {r_unit})")
        if r_fc == function | 0x80 and length == 3:
            raise DeviceError(frame[8])
        if r_fc != function or length != 3 + 2 * count or frame[8] != 2 * count:
            raise TransportError(f"malformed answer: {frame[:16]!r}")
        return _words(count).unpack_from(frame, 9)

    def close(self) -> None:
        """Close the socket."""
        if self.transport is not None:
            self.transport.close()


def _expire(w: asyncio.Future[bytes], timeout_s: float) -> None:
    if not w.done():
        w.set_exception(TransportError(f"no answer within {timeout_s:g} s"))


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
        #: TCP without retries (every endpoint the collector builds) uses our own client
        self._mbap: MbapClient | None = None
        self._own_tcp = not self.is_serial and retries == 0
        self.requests = 0
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Whether the socket / serial port is open."""
        if self._own_tcp:
            return self._mbap is not None and self._mbap.connected
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

    async def _connect_tcp(self) -> None:
        p = self._params
        host, port = p["host"] or "127.0.0.1", p["port"] or 502
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(p["timeout_s"]):
                _, proto = await loop.create_connection(MbapClient, host, port)
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"{self.key}: cannot connect ({exc})") from exc
        self._mbap = proto
        self.connects += 1
        if self.connect_wait_s:
            await asyncio.sleep(self.connect_wait_s)

    async def _connect(self) -> None:
        if self._own_tcp:
            await self._connect_tcp()
            return
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
        if self._own_tcp:
            mb = self._mbap
            if mb is None or not mb.connected:
                await self._connect()
                mb = self._mbap
            assert mb is not None
            self.requests += 1
            try:
                return await mb.read(function, address, count, unit, self._params["timeout_s"])
            except TransportError as exc:
                self.close()  # a late answer must not be taken for the next request's
                raise TransportError(f"{self.key} unit {unit}: {exc}") from exc
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
        if self._mbap is not None:
            self._mbap.close()
            self._mbap = None
        if self._client is not None:
            self._client.close()


def quiet_pymodbus() -> None:
    """Keep pymodbus's per-request error logging out of ours (we log outages once)."""
    lg = logging.getLogger("pymodbus")
    if lg.level == logging.NOTSET:
        lg.setLevel(logging.CRITICAL)
