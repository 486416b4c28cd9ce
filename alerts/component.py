"""The alerts component of the gateway service, and the county-side watch loop.

On a gateway it evaluates against the local store on an APScheduler job every
alerts.evaluate_every_s of the service clock (simulated seconds in demos); on
the county server `pvledger alerts watch` runs the same engine against the
central store, with gateway_silent enabled.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from alerts.engine import Engine
from alerts.notify import build_notifiers
from alerts.state import AlertDb
from core.clock import Clock
from core.config import Config
from core.store import open_store
from core.store.base import Store

log = logging.getLogger("alerts")


def open_engine(config: Config, store: Store, *, county: bool = False) -> Engine:
    """An engine over store with the configured notifiers and lifecycle database; its
    step also runs the work orders (alerts/workorders/loop.py)."""
    from alerts.workorders.loop import WorkOrderEngine

    db = AlertDb(config.resolve(config.alerts.db_path))
    return WorkOrderEngine(config, store, db, build_notifiers(config), county=county)


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
        self._stopping = False
        self._metrics: Any = None

    async def start(self, ctx: Any) -> None:
        """Open the lifecycle database and schedule the evaluation job."""
        sink = ctx.sink
        self._clock = ctx.clock
        self._stopping = False
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
        self._metrics = getattr(ctx, "metrics", None)
        if self._metrics is not None:
            self._metrics.describe(
                "pvledger_alert_evaluations_total", "counter", "alert evaluations run"
            )
            self._metrics.gauge_callback(
                "pvledger_alerts_open", "open alerts by state and kind", self._open_counts
            )
        every_s = ctx.clock.sleep_s(self.config.alerts.evaluate_every_s)
        self._job = ctx.scheduler.add_job(
            self.tick, "interval", seconds=max(every_s, 0.2), id="alerts", name="alerts"
        )

    def tick(self) -> None:
        """One evaluation (runs in the scheduler's thread pool: it may block on the network)."""
        if self.engine is None or not self._busy.acquire(blocking=False):
            return
        try:
            if self._stopping:
                return  # handed to the thread pool before stop(): the service is ending
            self.engine.step(self._clock.now_ms())
            if self._metrics is not None:
                self._metrics.inc("pvledger_alert_evaluations_total")
        except Exception:
            log.exception("alert evaluation failed")
        finally:
            self._busy.release()

    def _open_counts(self) -> dict[tuple[tuple[str, str], ...], float]:
        """Open alerts per (state, kind), for the scrape (every kind listed, zeros too)."""
        out: dict[tuple[tuple[str, str], ...], float] = {}
        engine = self.engine
        if engine is None:
            return out
        for state in ("pending", "firing"):
            for kind in sorted(engine.kinds):
                out[(("kind", kind), ("state", state))] = 0.0
        for a in engine.db.open_alerts():
            key = (("kind", a.kind), ("state", a.state))
            out[key] = out.get(key, 0.0) + 1
        return out

    async def stop(self) -> None:
        """End the evaluations (no new one starts; one under way finishes, judged at the
        time it started), drop the pending alerts nothing will confirm now, then close
        what was opened."""
        self._stopping = True
        if self._job is not None:
            try:
                self._job.remove()
            except Exception:
                log.debug("alerts job already gone")
            self._job = None
        # wait without blocking the event loop: the other components keep collecting
        # until their own stop (polls under way, the MQTT flusher)
        while not self._busy.acquire(blocking=False):
            await asyncio.sleep(0.02)
        try:
            if self.engine is not None:
                dropped = self.engine.db.drop_pending()
                if dropped:
                    log.info("alerts: %d pending (unconfirmed, not notified) dropped", dropped)
                close_engine(self.engine)
                self.engine = None
        finally:
            self._busy.release()
        if self._own_store is not None:
            self._own_store.close()
            self._own_store = None


def from_config(config: Config) -> AlertsComponent | None:
    """The component, or None when no rule is configured."""
    return AlertsComponent(config) if config.alerts.rules else None
