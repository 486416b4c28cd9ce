"""The alerts component of the gateway service, and the county-side watch loop.

On a gateway it evaluates against the local store on an APScheduler job every
alerts.evaluate_every_s of the service clock (simulated seconds in demos); on
the county server `pvledger alerts watch` runs the same engine against the
central store, with gateway_silent enabled.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from collector.alerts.engine import Engine
from collector.alerts.notify import build_notifiers
from collector.alerts.state import AlertDb
from core.clock import Clock
from core.config import Config
from core.store import open_store
from core.store.base import Store

log = logging.getLogger("collector.alerts")


def open_engine(config: Config, store: Store, *, county: bool = False) -> Engine:
    """An engine over store with the configured notifiers and lifecycle database."""
    db = AlertDb(config.resolve(config.alerts.db_path))
    return Engine(config, store, db, build_notifiers(config), county=county)


def close_engine(engine: Engine) -> None:
    """Close the notifiers and the lifecycle database."""
    for n in engine.notifiers:
        try:
            n.close()
        except Exception:
            log.exception("closing notifier %s", n.name)
    engine.db.close()


class AlertsComponent:
    """Evaluates the alert rules on a schedule inside `pvledger collect`."""

    name = "alerts"

    def __init__(self, config: Config):
        self.config = config
        self.engine: Engine | None = None
        self._own_store: Store | None = None
        self._job: Any = None
        self._clock: Clock = Clock()
        self._busy = threading.Lock()

    async def start(self, ctx: Any) -> None:
        """Open the lifecycle database and schedule the evaluation job."""
        sink = ctx.sink
        self._clock = ctx.clock
        try:
            if isinstance(sink, Store):
                store = sink
            else:  # an outbox in front of a remote database: read the database
                store = self._own_store = open_store(self.config, readonly=True)
            self.engine = open_engine(self.config, store)
        except Exception:
            # alerts failing to start must not stop the collection of readings
            log.exception("alerts disabled: cannot open their store or database")
            return
        every_s = ctx.clock.sleep_s(self.config.alerts.evaluate_every_s)
        self._job = ctx.scheduler.add_job(
            self.tick, "interval", seconds=max(every_s, 0.2), id="alerts", name="alerts"
        )

    def tick(self) -> None:
        """One evaluation (runs in the scheduler's thread pool: it may block on the network)."""
        if self.engine is None or not self._busy.acquire(blocking=False):
            return
        try:
            self.engine.step(self._clock.now_ms())
        except Exception:
            log.exception("alert evaluation failed")
        finally:
            self._busy.release()

    async def stop(self) -> None:
        """Remove the job and close what was opened."""
        if self._job is not None:
            try:
                self._job.remove()
            except Exception:
                log.debug("alerts job already gone")
            self._job = None
        with self._busy:
            if self.engine is not None:
                close_engine(self.engine)
                self.engine = None
        if self._own_store is not None:
            self._own_store.close()
            self._own_store = None


def from_config(config: Config) -> AlertsComponent | None:
    """The component, or None when no rule is configured."""
    return AlertsComponent(config) if config.alerts.rules else None
