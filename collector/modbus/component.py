"""The Modbus component of the gateway service: endpoints, pollers, schedule, sink.

One APScheduler job per interval class fans out to its devices, staggered inside
the cycle (one job per device costs 2.5-3x the CPU and is late at thousands of
devices, TECH-NOTES). A device still busy, or inside its back-off, is skipped for
that cycle, so a dead device never delays the others. While the sun is down at a
station its devices are polled only every ``night_interval_s`` (a heartbeat).
An endpoint that cannot carry its planned polls (collector/modbus/capacity.py) is
reported once and its devices are polled in turn at an even, longer interval.
Readings are buffered and written to the sink in one transaction per flush; a
failed write keeps the buffer and is retried (nothing accepted is dropped).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from collector.modbus.capacity import CAPACITY_SHARE, EndpointLoad, in_turn
from collector.modbus.checks import modbus_problems
from collector.modbus.daylight import sun_up
from collector.modbus.poller import DevicePoller, DeviceSpec, backoff_s
from collector.modbus.regmap import RegisterMap, load_maps
from collector.modbus.transport import Endpoint, quiet_pymodbus
from core.clock import Clock
from core.config import Config
from core.config.model import ModbusRtuDevice, ModbusTcpDevice
from core.problems import raise_if
from core.reading import Reading

log = logging.getLogger("collector.modbus")

#: share of the interval over which a cycle's polls are spread
STAGGER = 0.8
NIGHT_INTERVAL_S = 900.0
FLUSH_INTERVAL_S = 1.0
FLUSH_AT = 2000  # readings; flush early when this many are waiting


def device_specs(config: Config) -> list[tuple[DeviceSpec, ModbusTcpDevice | ModbusRtuDevice]]:
    """A DeviceSpec for every Modbus device in the config, with its config record."""
    out = []
    for station, dev in config.devices("modbus-tcp", "modbus-rtu"):
        assert isinstance(dev, ModbusTcpDevice | ModbusRtuDevice)
        village = config.village_by_id.get(station.village)
        lat = village.latitude if village and village.latitude is not None else None
        lon = village.longitude if village and village.longitude is not None else None
        out.append(
            (
                DeviceSpec(
                    station=station.id,
                    device=dev.id,
                    unit=dev.unit,
                    endpoint=dev.endpoint,
                    map_name=dev.map,
                    role=dev.role,
                    interval_s=dev.interval_s,
                    village=station.village,
                    gateway=config.site.gateway,
                    latitude=config.site.latitude if lat is None else lat,
                    longitude=config.site.longitude if lon is None else lon,
                ),
                dev,
            )
        )
    return out


def build_endpoints(
    config: Config,
    specs: Iterable[tuple[DeviceSpec, ModbusTcpDevice | ModbusRtuDevice]],
    maps: dict[str, RegisterMap],
) -> dict[str, Endpoint]:
    """One Endpoint per host:port or serial port; timeout and connect wait from its devices."""
    groups: dict[str, list[tuple[DeviceSpec, Any]]] = {}
    for spec, dev in specs:
        groups.setdefault(spec.endpoint, []).append((spec, dev))
    out: dict[str, Endpoint] = {}
    for key, members in groups.items():
        # a device's own timeout_s wins over its map's suggestion when the config sets it
        timeout = max(
            d.timeout_s if "timeout_s" in d.model_fields_set else maps[s.map_name].limits.timeout_s
            for s, d in members
        )
        wait = max(maps[s.map_name].limits.connect_wait_ms for s, _ in members) / 1000
        dev = members[0][1]
        if isinstance(dev, ModbusRtuDevice):
            out[key] = Endpoint(
                key,
                serial_port=str(config.resolve(dev.port)),
                baud=dev.baud,
                parity=dev.parity,
                stopbits=dev.stopbits,
                bytesize=dev.bytesize,
                timeout_s=timeout,
                connect_wait_s=wait,
            )
        else:
            out[key] = Endpoint(
                key, host=dev.host, port=dev.port, timeout_s=timeout, connect_wait_s=wait
            )
    return out


def _sun_up(ts_ms: int, lat: float, lon: float) -> bool:
    # plain floats, not core.solar: numpy would cost the gateway ~20 MB for this one test
    return sun_up(ts_ms, lat, lon)


class ModbusComponent:
    """Polls every Modbus device of the config and writes their readings to the sink."""

    name = "modbus"

    def __init__(self, config: Config, maps: dict[str, RegisterMap]):
        self.config = config
        self.maps = maps
        self.specs = device_specs(config)
        self.endpoints: dict[str, Endpoint] = {}
        self.pollers: list[DevicePoller] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._buffer: list[Reading] = []
        self._sink: Any = None
        self._metrics: Any = None
        self.clock: Clock = Clock()
        self.night_interval_s = NIGHT_INTERVAL_S
        self.written = 0
        self.sink_failures = 0
        self.skipped_busy = 0
        self._by_device: dict[str, DevicePoller] = {}
        self.loads: dict[str, EndpointLoad] = {}
        self._by_endpoint: dict[str, list[DevicePoller]] = {}

    # -- setup -----------------------------------------------------------------------
    def open(self, clock: Clock) -> None:
        """Create endpoints and pollers (no I/O yet)."""
        quiet_pymodbus()
        self.clock = clock
        self.endpoints = build_endpoints(self.config, self.specs, self.maps)
        self.pollers = [
            DevicePoller(spec, self.maps[spec.map_name], self.endpoints[spec.endpoint], clock)
            for spec, _ in self.specs
        ]
        self._by_device = {p.spec.device: p for p in self.pollers}
        self.loads = {key: EndpointLoad(key) for key in self.endpoints}
        self._by_endpoint: dict[str, list[DevicePoller]] = {}
        for p in self.pollers:
            self._by_endpoint.setdefault(p.spec.endpoint, []).append(p)

    async def start(self, ctx: Any) -> None:
        """Register one job per interval class and a flush job on the service scheduler."""
        self.open(ctx.clock)
        self._sink = ctx.sink
        self._metrics = ctx.metrics
        self.night_interval_s = float(ctx.options.get("night_interval_s", NIGHT_INTERVAL_S))
        self._register_metrics(ctx.metrics)
        classes: dict[float, list[DevicePoller]] = {}
        for p in self.pollers:
            classes.setdefault(p.spec.interval_s, []).append(p)
        wall = ctx.clock.factor or 1.0
        for interval, members in sorted(classes.items()):
            # simulated time runs `factor` times faster: poll at the simulated interval
            period = interval / wall
            ctx.scheduler.add_job(
                self._cycle,
                "interval",
                seconds=period,
                args=[members, period],
                id=f"modbus-{interval:g}s",
                name=f"modbus poll every {interval:g} s",
                next_run_time=_now_dt(),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(period)),
            )
        ctx.scheduler.add_job(
            self.flush,
            "interval",
            seconds=FLUSH_INTERVAL_S,
            id="modbus-flush",
            coalesce=True,
            max_instances=1,
        )
        log.info(
            "modbus: %d devices on %d endpoints, %d interval classes",
            len(self.pollers),
            len(self.endpoints),
            len(classes),
        )

    async def stop(self) -> None:
        """Cancel pending polls, flush what is buffered, close the connections.

        No poll starts once stopping has begun: a cycle job already submitted when the
        scheduler paused would otherwise launch polls after the final flush, and their
        readings would be lost with the buffer.
        """
        self._stopping = True
        while self._tasks:
            for t in list(self._tasks):
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()
        for ep in self.endpoints.values():
            ep.close()

    # -- scheduling --------------------------------------------------------------------
    async def _cycle(self, members: list[DevicePoller], period_s: float) -> None:
        """One interval-class job: spread this cycle's polls over the period.

        Per endpoint: every device the configured schedule wants now is a planned
        poll. An endpoint within its capacity polls them all, staggered over the
        cycle; an overloaded one polls only its share (planned / stretch), the
        devices polled longest ago first, evenly spaced, so each device gets the
        same longer interval instead of random skips, and no poll queues for the bus.
        """
        now_mono = time.monotonic()
        now_ms = self.clock.now_ms()
        n = len(members)
        daylight: dict[tuple[float, float], bool] = {}
        night_wall = self.night_interval_s / (self.clock.factor or 1.0)
        due: dict[str, list[tuple[int, DevicePoller]]] = {}
        planned: dict[str, int] = {}
        for i, p in enumerate(members):
            key = p.spec.endpoint
            loc = (p.spec.latitude, p.spec.longitude)
            up = daylight.get(loc)
            if up is None:
                up = daylight[loc] = _sun_up(now_ms, *loc)
            st = p.state
            wanted_s = period_s if up else max(period_s, night_wall)
            self.loads[key].plan(p.spec.device, max(wanted_s, backoff_s(st.consecutive_failures)))
            if not p.busy and now_mono < st.next_attempt_mono:
                continue  # back-off
            last = st.last_attempt_mono
            if not up and last is not None and now_mono - last < night_wall:
                continue  # night: heartbeat only
            planned[key] = planned.get(key, 0) + 1
            if p.busy:
                self.skipped_busy += 1
                continue
            due.setdefault(key, []).append((i, p))
        for key, count in planned.items():
            load = self.loads[key]
            self._count("pvledger_modbus_endpoint_polls_planned_total", key, count)
            self._report(load, load.update())
            ready = due.get(key, [])
            if load.stretch <= 1.0:
                for i, p in ready:
                    self._launch(p, period_s * STAGGER * i / n)
                continue
            k = min(load.take(period_s, count), len(ready))
            # polls still waiting for the bus (the first cycles, before durations were
            # known, or a stall of the machine): let them drain instead of queueing more
            waiting = sum(1 for p in self._by_endpoint[key] if p.busy) - 1
            k -= max(waiting, 0)
            if k <= 0:
                continue
            by_id = {p.spec.device: p for _, p in ready}
            chosen = in_turn([(p.state.last_attempt_mono, d) for d, p in by_id.items()], k)
            spacing = max(period_s / k, load.mean_bus_s())
            for j, d in enumerate(chosen):
                self._launch(by_id[d], spacing * j)

    def _launch(self, p: DevicePoller, delay_s: float) -> None:
        if self._stopping:
            return
        task = asyncio.create_task(self._poll_after(p, delay_s))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _poll_after(self, p: DevicePoller, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if p.busy:
            return
        reading = await p.poll()
        self._buffer.append(reading)
        key = p.spec.endpoint
        if p.state.last_bus_s is not None:
            self.loads[key].observe(p.spec.device, p.state.last_bus_s)
        self.loads[key].achieved += 1
        self._count("pvledger_modbus_endpoint_polls_achieved_total", key, 1)
        if len(self._buffer) >= FLUSH_AT:
            await self.flush()

    def _count(self, name: str, endpoint: str, n: int) -> None:
        if self._metrics is not None:
            self._metrics.inc(name, n, {"endpoint": endpoint})

    def _report(self, load: EndpointLoad, change: str | None) -> None:
        """Say once that an endpoint became overloaded, and once that it recovered."""
        if change == "overloaded":
            factor = self.clock.factor or 1.0
            base = min(p.spec.interval_s for p in self.pollers if p.spec.endpoint == load.key)
            log.warning(
                "modbus: endpoint %s cannot carry its planned polls: %.1f planned, "
                "%.1f achievable per minute (%d devices, %.2f s per poll, load %.0f%% of "
                "its time); polling its devices in turn, %.1fx their interval (every %.0f s "
                "instead of %.0f s)",
                load.key,
                load.planned_per_min() / factor,
                load.achievable_per_min() / factor,
                len(load.period_s),
                load.mean_bus_s(),
                100 * load.share,
                load.stretch,
                base * load.stretch,
                base,
            )
        elif change == "recovered":
            log.warning(
                "modbus: endpoint %s carries its planned polls again (load %.0f%% of its time)",
                load.key,
                100 * load.share,
            )

    async def poll_once(self) -> list[Reading]:
        """Poll every device once now (endpoints concurrently), without the scheduler."""
        by_ep: dict[str, list[DevicePoller]] = {}
        for p in self.pollers:
            by_ep.setdefault(p.spec.endpoint, []).append(p)

        async def run(ps: list[DevicePoller]) -> list[Reading]:
            return [await p.poll() for p in ps]

        results = await asyncio.gather(*(run(ps) for ps in by_ep.values()))
        return [r for rs in results for r in rs]

    # -- sink --------------------------------------------------------------------------
    async def flush(self) -> int:
        """Write buffered readings in one transaction; on failure keep them for the next try."""
        if not self._buffer or self._sink is None:
            return 0
        batch, self._buffer = self._buffer, []
        try:
            n = self._sink.write(batch)
        except Exception as exc:
            self._buffer = batch + self._buffer
            self.sink_failures += 1
            if self.sink_failures == 1:
                log.error(
                    "modbus: cannot write %d readings to the store (%s); keeping them",
                    len(batch),
                    exc,
                )
            self._set_sink_gauge()
            return 0
        if self.sink_failures:
            log.warning("modbus: store writable again after %d failed writes", self.sink_failures)
        self.sink_failures = 0
        self.written += n
        by_device = self._by_device
        for r in batch:
            p = by_device.get(r.device)
            if p is not None:
                p.state.written += 1
        self._set_sink_gauge()
        if self._metrics is not None:
            self._metrics.inc("pvledger_readings_written_total", n, {"component": "modbus"})
        return n

    def _set_sink_gauge(self) -> None:
        if self._metrics is not None:
            self._metrics.set(
                "pvledger_sink_consecutive_failures", self.sink_failures, {"component": "modbus"}
            )

    # -- metrics -----------------------------------------------------------------------
    def _register_metrics(self, m: Any) -> None:
        m.describe(
            "pvledger_readings_written_total", "counter", "samples written to the store or outbox"
        )
        m.describe(
            "pvledger_sink_consecutive_failures",
            "gauge",
            "consecutive failed writes to the store (0 = healthy)",
        )
        self._set_sink_gauge()

        def per_device(attr: str) -> Any:
            def fn() -> dict[tuple[tuple[str, str], ...], float]:
                out = {}
                for p in self.pollers:
                    v = attr_value(p, attr)
                    if v is not None:
                        out[(("device", p.spec.device), ("station", p.spec.station))] = v
                return out

            return fn

        m.gauge_callback(
            "pvledger_modbus_last_success_timestamp_seconds",
            "time of the last successful poll [s since epoch]",
            per_device("last_success"),
        )
        m.gauge_callback(
            "pvledger_modbus_consecutive_failures",
            "failed polls in a row (0 = answering)",
            per_device("failures"),
        )
        m.gauge_callback(
            "pvledger_modbus_poll_latency_seconds",
            "duration of the last poll [s]",
            per_device("latency"),
        )
        m.gauge_callback("pvledger_modbus_polls", "polls since start", per_device("polls"))
        m.describe(
            "pvledger_modbus_endpoint_polls_planned_total",
            "counter",
            "polls the configured schedule asked of the endpoint",
        )
        m.describe(
            "pvledger_modbus_endpoint_polls_achieved_total",
            "counter",
            "polls the endpoint carried (answered or not)",
        )
        for key in self.loads:
            for name in ("planned", "achieved"):
                m.inc(f"pvledger_modbus_endpoint_polls_{name}_total", 0, {"endpoint": key})

        def per_endpoint(attr: str) -> Any:
            def fn() -> dict[tuple[tuple[str, str], ...], float]:
                return {(("endpoint", k),): float(getattr(v, attr)) for k, v in self.loads.items()}

            return fn

        m.gauge_callback(
            "pvledger_modbus_endpoint_overloaded",
            f"1 while the endpoint's planned polls need more than {CAPACITY_SHARE:.0%} of "
            "its time (its devices are then polled in turn, less often)",
            per_endpoint("overloaded"),
        )
        m.gauge_callback(
            "pvledger_modbus_endpoint_load_ratio",
            "share of the endpoint's time its planned polls need (measured poll durations)",
            per_endpoint("share"),
        )
        m.gauge_callback(
            "pvledger_modbus_endpoint_stretch_ratio",
            "factor applied to the poll interval of the endpoint's devices (1 = as configured)",
            per_endpoint("stretch"),
        )
        m.gauge_callback(
            "pvledger_modbus_readings_written",
            "readings of the device written to the store since start",
            per_device("written"),
        )


def attr_value(p: DevicePoller, attr: str) -> float | None:
    """One health figure of a poller for the metrics endpoint."""
    st = p.state
    if attr == "last_success":
        return None if st.last_success_ms is None else st.last_success_ms / 1000
    if attr == "failures":
        return float(st.consecutive_failures)
    if attr == "latency":
        return st.last_latency_s
    if attr == "written":
        return float(st.written)
    return float(st.polls)


def _now_dt() -> Any:
    import datetime as dt

    return dt.datetime.now(dt.UTC)


def from_config(config: Config) -> ModbusComponent | None:
    """The component for the config's Modbus devices (None when there are none).

    Every map the config names is loaded and validated here: a bad map refuses to start.
    """
    names = {d.map for _, d in config.devices("modbus-tcp", "modbus-rtu")}  # type: ignore[union-attr]
    if not names:
        return None
    # the same checks as `pvledger check` (maps compile, bus settings possible, unique
    # addresses): a collector started without a check refuses what check would refuse
    raise_if(modbus_problems(config), "Modbus devices")
    maps = load_maps(names)
    return ModbusComponent(config, maps)
