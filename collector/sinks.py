"""Choose where the collector's readings go, from config.storage, behind the plausibility gate.

sqlite: straight into the embedded store (one transaction per batch).
influxdb / victoriametrics: into the on-disk outbox first; the forwarder
component drains it to the database (store-and-forward, nothing lost).

Either way the sink is a ``GatedSink``: every reading of every component
(Modbus, MQTT) and of the backfill passes core/plausibility.py on its way in,
with "now" from the service clock (the simulated clock in the demo and tests).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from core.clock import Clock
from core.config import Config
from core.plausibility import Assessment, Gate
from core.reading import Reading
from core.store import SqliteStore
from core.store.base import Store

if TYPE_CHECKING:
    from collector.metrics import Metrics

log = logging.getLogger("collector.sinks")

LOG_EVERY_S = 3600.0


class GatedSink:
    """A store or outbox behind the plausibility gate (the collector's one sink).

    ``write()`` stores what the gate lets through (implausible values flagged)
    and logs what it refused; ``write_checked()`` also returns the refusals, for a
    caller with a dead-letter table (MQTT).
    """

    def __init__(self, inner: Any, gate: Gate, clock: Clock | None = None):
        self.inner = inner
        self.gate = gate
        self.clock = clock or Clock()
        self.metrics: Metrics | None = None
        self.refused_total = 0
        self.flagged_total = 0
        self._lock = threading.Lock()
        self._seeded = False
        self._last_log: dict[str, float] = {}

    @classmethod
    def for_config(cls, config: Config, inner: Any, clock: Clock | None = None) -> GatedSink:
        """The gate of config.storage.limits with every station's nameplate."""
        gate = Gate(config.storage.limits, {s.id: s.capacity_kw for s in config.stations})
        return cls(inner, gate, clock)

    def write(self, readings: Iterable[Reading]) -> int:
        """Store the readings the gate accepts; returns the number of samples written."""
        return self.write_checked(readings)[0]

    def write_checked(self, readings: Iterable[Reading]) -> tuple[int, list[tuple[int, str]]]:
        """(samples written, [(index, reason)] of readings refused). Raises when the inner
        store fails; then nothing of this batch was stored."""
        batch = list(readings)
        with self._lock:
            self._seed()
            a = self.gate.assess(batch, self.clock.now_ms())
            n = self.inner.write(a.readings) if a.readings else 0
            self.gate.accept(a)
        self._note(batch, a)
        return n, a.refused

    def _seed(self) -> None:
        # the last good counters of a local store, so a restart does not forget them
        if self._seeded:
            return
        self._seeded = True
        if isinstance(self.inner, SqliteStore):
            self.gate.seed(self.inner.latest())

    def _note(self, batch: list[Reading], a: Assessment) -> None:
        self.refused_total += len(a.refused)
        self.flagged_total += len(a.flagged)
        m = self.metrics
        for i, field, problem in a.flagged:
            if m is not None:
                m.inc("pvledger_implausible_total", 1, {"field": field})
            self._log_once(batch[i].device, f"{batch[i].device}: flagged implausible: {problem}")
        for i, reason in a.refused:
            if m is not None:
                m.inc("pvledger_gate_refused_total")
            self._log_once(batch[i].device, f"{batch[i].device}: reading refused: {reason}")

    def _log_once(self, key: str, text: str) -> None:
        now = time.monotonic()
        last = self._last_log.get(key)
        if last is None or now - last >= LOG_EVERY_S:  # once per device per hour
            self._last_log[key] = now
            log.warning("%s (more from this device are counted, not logged, for an hour)", text)

    def register_metrics(self, metrics: Metrics) -> None:
        """Count flagged values and refused readings in the service's metrics."""
        self.metrics = metrics
        metrics.describe(
            "pvledger_implausible_total", "counter", "values flagged implausible, by field"
        )
        metrics.describe(
            "pvledger_gate_refused_total", "counter", "readings the plausibility gate refused"
        )

    def close(self) -> None:
        """Close the inner store or outbox."""
        self.inner.close()


def unwrap(sink: Any) -> Any:
    """The store or outbox behind a GatedSink (the sink itself otherwise)."""
    return sink.inner if isinstance(sink, GatedSink) else sink


def open_sink(config: Config, clock: Clock | None = None) -> GatedSink:
    """The durable sink readings are written to by the collector's components."""
    return GatedSink.for_config(config, open_inner(config), clock)


def open_inner(config: Config) -> Store | Any:
    """The store (sqlite) or outbox (remote backends) of config.storage, ungated."""
    st = config.storage
    if st.backend == "sqlite":
        return SqliteStore(config.resolve(st.path), timezone=config.site.timezone)
    # imported here: only remote backends need the outbox
    from collector.forward.outbox import Outbox

    return Outbox.for_config(config)
