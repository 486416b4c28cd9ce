"""The gateway service: APScheduler wiring of the collector's components.

A component (Modbus polling, MQTT ingestion, outbox forwarding, alert
evaluation) is one object with ``start(ctx)`` / ``stop()``; COMPONENTS names
the factories, so a new protocol is one module plus one line here. Components
write readings through ``ctx.sink`` and register metrics in ``ctx.metrics``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from collector.metrics import Metrics
from core.clock import Clock
from core.config import Config
from core.reading import Reading

log = logging.getLogger("collector.service")


class Sink(Protocol):
    """Where components put readings (the store, or the outbox in front of it)."""

    def write(self, readings: Iterable[Reading]) -> int:
        """Durably accept readings; returns the number of samples. Raises on failure."""
        ...


@dataclass
class ServiceContext:
    """What every component gets at start."""

    config: Config
    sink: Sink
    scheduler: AsyncIOScheduler
    clock: Clock
    metrics: Metrics
    options: dict[str, Any] = field(default_factory=dict)


class Component(Protocol):
    """One part of the service."""

    name: str

    async def start(self, ctx: ServiceContext) -> None:
        """Register jobs / open connections."""
        ...

    async def stop(self) -> None:
        """Stop cleanly, flushing what it holds."""
        ...


#: "module:factory" for each component; a factory takes the Config and returns
#: a Component or None when the config has nothing for it.
COMPONENTS: list[str] = [
    "collector.modbus.component:from_config",
    "alerts.component:from_config",
    "collector.mqtt.ingest:component",
    "collector.forward.forwarder:component",
]

#: a cheap test of the config per component, asked before its module is imported: a
#: gateway without rules, MQTT or a remote backend then never loads numpy (alerts),
#: paho or influxdb_client (~19 + 2 + 31 MB resident). Each is true whenever its
#: factory could return a component; the factory still decides.
WANTED: dict[str, Callable[[Config], bool]] = {
    "alerts.component:from_config": lambda c: bool(c.alerts.rules),
    "collector.mqtt.ingest:component": lambda c: (
        bool(c.mqtt.subscribe) or any(True for _ in c.devices("mqtt"))
    ),
    "collector.forward.forwarder:component": lambda c: c.storage.backend != "sqlite",
}

#: components stopped before all the others, in this order (the rest in reverse start
#: order): the alert evaluation judges silence, and stopping the sources of readings
#: makes silence, so it ends while every source still runs
STOP_FIRST: tuple[str, ...] = ("alerts",)


def build_components(config: Config, only: Iterable[str] | None = None) -> list[Component]:
    """Instantiate the registered components that the config needs."""
    out: list[Component] = []
    wanted = set(only) if only is not None else None
    for spec in COMPONENTS:
        needed = WANTED.get(spec)
        if needed is not None and not needed(config):
            continue
        mod_name, _, factory_name = spec.partition(":")
        factory: Callable[[Config], Component | None] = getattr(
            importlib.import_module(mod_name), factory_name
        )
        comp = factory(config)
        if comp is not None and (wanted is None or comp.name in wanted):
            out.append(comp)
    return out


def stop_order(started: list[Component]) -> list[Component]:
    """The order in which to stop started components: STOP_FIRST, then the rest newest
    first (a component stops before those it was started after)."""
    first = [c for name in STOP_FIRST for c in started if c.name == name]
    return first + [c for c in reversed(started) if c not in first]


class Service:
    """Runs components under one AsyncIOScheduler until stopped (SIGTERM/SIGINT)."""

    def __init__(
        self,
        config: Config,
        sink: Sink,
        components: list[Component],
        *,
        clock: Clock | None = None,
        metrics: Metrics | None = None,
        options: dict[str, Any] | None = None,
    ):
        self.config = config
        self.sink = sink
        self.components = components
        self.clock = clock or Clock()
        self.metrics = metrics or Metrics()
        self.options = options or {}
        self._stop = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None

    def request_stop(self) -> None:
        """Ask run() to stop (safe from a signal handler)."""
        self._stop.set()

    async def run(self, *, install_signals: bool = True) -> None:
        """Start every component, wait for a stop request, then stop them (stop_order)."""
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop)
        self.scheduler = AsyncIOScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30}
        )
        ctx = ServiceContext(
            self.config, self.sink, self.scheduler, self.clock, self.metrics, self.options
        )
        started: list[Component] = []
        try:
            self.scheduler.start()
            for comp in self.components:
                await comp.start(ctx)
                started.append(comp)
                log.info("started %s", comp.name)
            await self._stop.wait()
            log.info("stopping")
        finally:
            # no new runs, but let a job already running finish inside its component's
            # stop(): shutting the scheduler down first would cancel it mid-run
            if self.scheduler.running:
                self.scheduler.pause()
            for comp in stop_order(started):
                try:
                    await comp.stop()
                except Exception:
                    log.exception("stopping %s failed", comp.name)
            if self.scheduler.running:
                self.scheduler.shutdown(wait=False)
            if install_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
