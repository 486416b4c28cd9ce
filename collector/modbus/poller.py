"""Polling one device: plan, read, decode, quality flags, back-off and outage logging.

A poll reads the device's planned requests one after another while holding its
endpoint's lock (one request in flight per connection). Failure kinds stay apart:
a transport error ends the poll (every field COMM_ERROR) and the endpoint
reconnects on its next request; a device exception marks only that request's
fields DEVICE_ERROR; a value that does not decode is DECODE_ERROR and does not
count as a device failure. A failed poll pushes the device's next attempt back
by 2 s per consecutive failure (capped at 5 min); the outage is logged once when
it starts and once when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from collector.modbus import sunspec
from collector.modbus.decode import decode_block
from collector.modbus.plan import Request, plan_requests
from collector.modbus.regmap import COUNTERS, RegisterMap
from collector.modbus.transport import (
    DecodeFailure,
    DeviceError,
    Endpoint,
    ModbusFailure,
    TransportError,
)
from core.clock import Clock
from core.reading import MEASUREMENT_METER, MEASUREMENT_PV, Quality, Reading, Value

log = logging.getLogger("collector.modbus")

BACKOFF_STEP_S = 2.0
BACKOFF_MAX_S = 300.0

_COMM = Quality.COMM_ERROR
_DEVICE = Quality.DEVICE_ERROR


def backoff_s(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` consecutive failures."""
    return min(BACKOFF_STEP_S * failures, BACKOFF_MAX_S)


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What the poller needs to know about one configured device."""

    station: str
    device: str
    unit: int
    endpoint: str
    map_name: str
    role: str
    interval_s: float
    village: str = ""
    gateway: str = ""
    latitude: float = 0.0
    longitude: float = 0.0


@dataclass
class DeviceState:
    """Health of one device, read by the metrics endpoint."""

    consecutive_failures: int = 0
    next_attempt_mono: float = 0.0
    last_success_ms: int | None = None
    last_attempt_mono: float | None = None
    last_latency_s: float | None = None
    #: how long the last poll held its endpoint [s] (its latency without the queueing);
    #: None when it also (re)connected or ran SunSpec discovery (one-off costs)
    last_bus_s: float | None = None
    outage_since_ms: int | None = None
    polls: int = 0
    failures: int = 0
    written: int = 0  # readings of this device accepted by the store
    last_error: str = ""
    counters: dict[str, int] = field(default_factory=dict)


class DevicePoller:
    """Polls one device through its endpoint and builds Readings."""

    def __init__(self, spec: DeviceSpec, rmap: RegisterMap, endpoint: Endpoint, clock: Clock):
        self.spec = spec
        self.rmap = rmap
        self.endpoint = endpoint
        self.clock = clock
        self.state = DeviceState()
        self.busy = False
        self.layout: sunspec.Layout | None = None
        self.requests: tuple[Request, ...] = ()
        self._pause_s = rmap.limits.pause_ms / 1000
        self._measurement = MEASUREMENT_METER if spec.role == "meter" else MEASUREMENT_PV
        if rmap.kind == "fixed":
            self.requests = plan_requests(rmap.points, rmap.limits)
        # fields reported as missing when a device has never answered
        typical = (
            sunspec.place_points(sunspec.typical(rmap), rmap, spec.role)
            if rmap.kind == "sunspec"
            else rmap.points
        )
        self._all_fields = tuple(dict.fromkeys(p.field for p in typical))

    # -- planning --------------------------------------------------------------------
    def planned(self) -> tuple[Request, ...]:
        """The request plan (for SunSpec: from the discovered or the typical layout)."""
        if self.rmap.kind == "fixed":
            return self.requests
        layout = self.layout or sunspec.typical(self.rmap)
        return plan_requests(
            sunspec.place_points(layout, self.rmap, self.spec.role), self.rmap.limits
        )

    async def _discover(self) -> None:
        unit = self.spec.unit
        ep = self.endpoint

        async def read(fc: int, addr: int, count: int) -> Sequence[int]:
            return await ep.read(fc, addr, count, unit)

        layout = await sunspec.discover(read, self.rmap)
        points = sunspec.place_points(layout, self.rmap, self.spec.role)
        if not points:
            raise DecodeFailure(f"no usable SunSpec model in {layout.describe()}")
        self.layout = layout
        self.requests = plan_requests(points, self.rmap.limits)
        self._all_fields = tuple(dict.fromkeys(p.field for p in points))
        log.info("%s: SunSpec %s", self.spec.device, layout.describe())

    # -- polling ---------------------------------------------------------------------
    def due(self, now_mono: float) -> bool:
        """Whether the back-off allows an attempt now."""
        return not self.busy and now_mono >= self.state.next_attempt_mono

    async def poll(self) -> Reading:
        """One poll: a Reading with every field valued or flagged (never raises ModbusFailure)."""
        self.busy = True
        st = self.state
        t0 = time.perf_counter()
        st.last_attempt_mono = time.monotonic()
        values: dict[str, Value] = {}
        quality: dict[str, Quality] = {}
        ts_ms: int | None = None
        failure: ModbusFailure | None = None
        device_errors = 0
        ep = self.endpoint
        unit = self.spec.unit
        bus_s: float | None = None
        try:
            async with ep.lock:
                t_bus = time.perf_counter()
                setup = ep.connects, self.rmap.kind == "sunspec" and self.layout is None
                try:
                    if self.rmap.kind == "sunspec" and self.layout is None:
                        await self._discover()
                    first = True
                    for rq in self.requests:
                        if not first and self._pause_s:
                            await asyncio.sleep(self._pause_s)
                        first = False
                        try:
                            words = await ep.read(rq.function, rq.address, rq.count, unit)
                        except DeviceError as exc:
                            device_errors += 1
                            failure = exc
                            for s in rq.slots:
                                values[s.point.field] = None
                                quality[s.point.field] = _DEVICE
                            continue
                        if ts_ms is None:  # stamped when the device answered, not when queued
                            ts_ms = self.clock.now_ms()
                        decode_block(words, rq.slots, values, quality)
                finally:
                    if setup == (ep.connects, False):
                        bus_s = time.perf_counter() - t_bus
        except TransportError as exc:
            failure = exc
        except ModbusFailure as exc:  # discovery found nothing usable
            failure = exc
        finally:
            self.busy = False
        if ts_ms is None:
            ts_ms = self.clock.now_ms()
        ok = failure is None or (
            isinstance(failure, DeviceError) and device_errors < len(self.requests)
        )
        if not ok:
            q = (
                _DEVICE
                if isinstance(failure, DeviceError)
                else (
                    Quality.DECODE_ERROR
                    if failure is not None and failure.kind == "decode"
                    else _COMM
                )
            )
            for f in self._all_fields:
                if values.get(f) is None and f not in quality:
                    values[f] = None
                    quality[f] = q
            if self.rmap.kind == "sunspec" and not isinstance(failure, DeviceError):
                self.layout = None  # re-discover once it answers: it may have been replaced
        st.last_bus_s = bus_s
        self._account(ok, failure, ts_ms, time.perf_counter() - t0, values)
        return Reading(
            self.spec.station,
            self.spec.device,
            ts_ms,
            values,
            quality,
            self._measurement,
            self.spec.village,
            self.spec.gateway,
        )

    def _account(
        self,
        ok: bool,
        failure: ModbusFailure | None,
        ts_ms: int,
        latency_s: float,
        values: dict[str, Value],
    ) -> None:
        st = self.state
        st.polls += 1
        st.last_latency_s = latency_s
        name = self.spec.device
        if ok:
            if st.consecutive_failures:
                down_s = (ts_ms - (st.outage_since_ms or ts_ms)) / 1000
                log.warning(
                    "%s: answering again after %d failed polls (%.0f s)",
                    name,
                    st.consecutive_failures,
                    down_s,
                )
            st.consecutive_failures = 0
            st.outage_since_ms = None
            st.last_success_ms = ts_ms
            st.next_attempt_mono = 0.0
            if failure is not None:
                st.last_error = str(failure)
            self._check_counters(values)
            return
        st.failures += 1
        st.consecutive_failures += 1
        st.last_error = f"{failure.kind}: {failure}" if failure else "unknown"
        if st.consecutive_failures == 1:
            st.outage_since_ms = ts_ms
            log.warning("%s: not answering (%s); retrying with back-off", name, st.last_error)
        st.next_attempt_mono = time.monotonic() + backoff_s(st.consecutive_failures)

    def _check_counters(self, values: dict[str, Value]) -> None:
        # A counter that goes down is stored as read (an inverter was replaced or reset);
        # revenue handles the discontinuity. Say so once, here, where it is first seen.
        last = self.state.counters
        for f in COUNTERS:
            v = values.get(f)
            if isinstance(v, int):
                prev = last.get(f)
                if prev is not None and v < prev:
                    log.warning(
                        "%s: %s went down from %d to %d (reset or replacement?)",
                        self.spec.device,
                        f,
                        prev,
                        v,
                    )
                last[f] = v
