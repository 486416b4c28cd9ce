"""Work orders inside the alert engine's step: open from alerts, escalate past the
deadline, verify or reopen a repair by the data.

``WorkOrderEngine`` is the alert engine with one more stage after the lifecycle: the
gateway's alert component and `pvledger alerts watch` both build it (alerts/component.py
open_engine), so work orders follow the same simulated clock as the alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from alerts.engine import Engine
from alerts.fleet import FleetIndex
from alerts.state import AlertDb, Event
from alerts.workorders import evidence
from alerts.workorders.deadline import due_ms, level_due, working_ms
from alerts.workorders.model import ACTIVE, WorkOrder, escalate, transition
from alerts.workorders.notify import enqueue, payload
from alerts.workorders.store import WorkOrderDb
from core.config import Config
from core.store.base import Store

log = logging.getLogger("alerts.workorders")

#: work order events sent to the notifiers: those that ask someone to act (an order's
#: opening and verification follow the alert's own firing and resolution messages, and
#: stay in the order's history)
NOTIFIED = ("workorder_escalated", "workorder_reopened")


def order_kind_subject(alert_kind: str, station: str | None, village: str | None, subject: str):
    """(station, village) a work order for an alert is about: a village outage is the
    village's order, everything else its station's."""
    if alert_kind == "village_outage":
        return None, subject
    return station, village


def max_level(config: Config) -> int:
    """The highest contact level configured (1 when none is above 0)."""
    return max([c.level for c in config.alerts.contacts] + [1])


def order_due_ms(config: Config, order: WorkOrder) -> int:
    """When an order's repair is due (its kind's deadline on the deadline clock)."""
    om = config.om
    hours = om.deadline_h.get(order.kind, om.deadline_h["manual"])
    return due_ms(order.opened_ms, hours, om.working_hours, config.site.tz)


def busy_stations(db: WorkOrderDb, order: WorkOrder, start_ms: int, end_ms: int) -> set[str]:
    """Stations under another order overlapping [start, end]: not fair peers then."""
    out = set()
    for o in db.orders():
        if o.id == order.id or o.station is None:
            continue
        o_end = o.restored_ms if o.restored_ms is not None else end_ms
        if o.fault_start_ms < end_ms and o_end > start_ms:
            out.add(o.station)
    return out


class WorkOrderLoop:
    """One pass over the work orders per alert evaluation (opens its file each pass)."""

    def __init__(self, config: Config, fleet: FleetIndex, store: Store, alert_db: AlertDb):
        self.config = config
        self.fleet = fleet
        self.store = store
        self.alert_db = alert_db

    def step(self, now_ms: int, notifiers: Sequence[str]) -> list[dict[str, Any]]:
        """Open, escalate, verify/reopen; returns the payloads of what happened (those in
        NOTIFIED are queued for the notifiers)."""
        db = WorkOrderDb(self.config.resolve(self.config.om.db_path))
        out: list[dict[str, Any]] = []
        try:
            out += self.open_from_alerts(db, now_ms)
            out += self.escalate(db, now_ms)
            out += self.verify(db, now_ms)
        finally:
            db.close()
        for doc in out:
            log.info("work order %s #%s %s", doc["event"], doc["workorder"], doc["subject"])
            if doc["event"] in NOTIFIED:
                enqueue(self.alert_db.path, doc, now_ms=now_ms, notifiers=notifiers)
        return out

    def _doc(self, order: WorkOrder, event: str, now_ms: int, level: int) -> dict[str, Any]:
        return payload(
            self.config, order, event, now_ms, level=level, due_ms=order_due_ms(self.config, order)
        )

    def open_from_alerts(self, db: WorkOrderDb, now_ms: int) -> list[dict[str, Any]]:
        """A firing alert of a configured kind, firing long enough, opens an order once;
        one on a station that has an order already joins it."""
        open_on = self.config.om.open_on
        out = []
        for a in self.alert_db.open_alerts():
            if a.state != "firing" or a.kind not in open_on:
                continue
            if now_ms - a.since_ms < open_on[a.kind] * 1000 or db.has_alert(a.id):
                continue
            station, village = order_kind_subject(a.kind, a.station, a.village, a.subject)
            if station is None and village is None:
                continue
            existing = db.active_for(station, village)
            if existing is not None:
                db.link_alert(existing.id, a.id, now_ms=now_ms, kind=a.kind)
                continue
            order = db.open_order(
                kind=a.kind,
                station=station,
                village=village or (self.fleet.stations[station].village if station else None),
                fault_start_ms=a.since_ms,
                now_ms=now_ms,
                opened_by=f"alert #{a.id}",
                alert_id=a.id,
                detail={"alert_id": a.id, "alert_kind": a.kind},
            )
            out.append(self._doc(order, "workorder_opened", now_ms, 0))
        return out

    def escalate(self, db: WorkOrderDb, now_ms: int) -> list[dict[str, Any]]:
        """An active order past its deadline goes one contact level up per period."""
        om = self.config.om
        top = max_level(self.config)
        out = []
        for o in db.orders(states=ACTIVE):
            elapsed = working_ms(o.opened_ms, now_ms, om.working_hours, self.config.site.tz)
            hours = om.deadline_h.get(o.kind, om.deadline_h["manual"])
            level = level_due(elapsed, hours, om.escalate_every_h, top)
            if level > o.level:
                new, ev = escalate(o, level, now_ms=now_ms, elapsed_h=round(elapsed / 3.6e6, 2))
                db.save(new, ev)
                out.append(self._doc(new, "workorder_escalated", now_ms, level))
        return out

    def verify(self, db: WorkOrderDb, now_ms: int) -> list[dict[str, Any]]:
        """Judge each repaired order by the data since the repair."""
        out = []
        for o in db.orders(states=("repaired",)):
            start = o.repaired_ms or o.updated_ms
            busy = busy_stations(db, o, start, now_ms)
            ev = evidence.gather(self.store, self.fleet, o, start, now_ms, exclude=busy)
            v = evidence.verdict(self.fleet, ev)
            if v is None:
                continue
            if v.outcome == "reopened":
                new, hist = transition(
                    o, "reopened", now_ms=now_ms, actor="data", daylight_min_low=v.index
                )
                db.save(new, hist)
                out.append(self._doc(new, "workorder_reopened", now_ms, new.level))
                continue
            restored = ev.bin_start_ms(v.index if v.restored_index is None else v.restored_index)
            new, hist = transition(o, "verified", now_ms=now_ms, actor="data", restored_ms=restored)
            wh, fen = evidence.estimate(
                self.store,
                self.fleet,
                new,
                now_ms,
                exclude=busy_stations(db, o, o.fault_start_ms, restored),
            )
            db.save(new, hist)
            db.set_loss(new.id, wh, fen)
            got = db.get(new.id)
            assert got is not None
            out.append(self._doc(got, "workorder_verified", now_ms, 0))
        return out


class WorkOrderEngine(Engine):
    """The alert engine with the work order stage after each evaluation."""

    def __init__(self, config: Config, store: Store, db: AlertDb, *args: Any, **kw: Any):
        super().__init__(config, store, db, *args, **kw)
        self.orders = WorkOrderLoop(config, self.fleet, store, db)

    def step(self, now_ms: int) -> list[Event]:
        """Evaluate the alerts, then the work orders; deliver what both owe."""
        events = super().step(now_ms)
        try:
            self.orders.step(now_ms, [n.name for n in self.notifiers if n.takes_events])
        except Exception:  # work orders failing never stop the alerts themselves
            log.exception("work order pass failed")
        self.deliver(now_ms)
        return events
