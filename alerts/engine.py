"""The alert engine: take a snapshot, ask every kind for its findings, apply suppression,
advance the lifecycle and hand events to delivery.

``Engine.step(now_ms)`` is one evaluation; the gateway component and `pvledger
alerts watch` call it on a schedule with the service clock (simulated time in
demos), never wall time. What a kind finds is its own business (alerts/kinds/); a
finding with ``suppressed`` set is a "hold" (the device is still at zero, but it is
dusk or cloudy; the station is under a village outage): it keeps an open alert alive
without opening new ones, so an alert does not flap with the clouds.

A kind that raises does not stop the others: it is logged when it starts failing and
when it recovers (once per change of state), and its open alerts are left as they are
(neither confirmed nor resolved) until it evaluates again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from alerts import delivery, snapshot
from alerts.fleet import FleetIndex
from alerts.kinds import Kind, kinds
from alerts.notify import Notifier
from alerts.snapshot import Snapshot
from alerts.state import Alert, AlertDb, Event, Finding
from core.config import Config
from core.config.alerts import RuleBase
from core.store.base import Store

log = logging.getLogger("alerts")


def suppress(findings: Sequence[Finding], registry: dict[str, Kind]) -> list[Finding]:
    """The findings with those under another kind's finding held (its SUPPRESSED_BY trait).

    A finding is held when, for a suppressing kind, its attribute (gateway, village,
    device) names the subject of a finding of that kind (holds included).
    """
    subjects: dict[str, set[str]] = {}
    for f in findings:
        subjects.setdefault(f.kind, set()).add(f.subject)
    out = []
    for f in findings:
        k = registry.get(f.kind)
        traits = k.suppressed_by if k is not None else {}
        under = any(getattr(f, attr) in subjects.get(by, ()) for by, attr in traits.items())
        out.append(replace(f, suppressed=True) if under and not f.suppressed else f)
    return out


class Engine:
    """Evaluates the configured rules against a store and keeps the lifecycle."""

    def __init__(
        self,
        config: Config,
        store: Store,
        db: AlertDb,
        notifiers: Sequence[Notifier] = (),
        *,
        county: bool = False,
    ):
        self.config = config
        self.store = store
        self.db = db
        self.notifiers = list(notifiers)
        self.fleet = FleetIndex(config)
        self.county = county
        registry = kinds()
        configured = {r.kind for r in config.alerts.rules}
        #: the kinds this engine evaluates, in registry order (a gateway cannot see its
        #: own silence: county-only kinds run on the county server)
        self.kinds: dict[str, Kind] = {
            n: k for n, k in registry.items() if n in configured and (county or not k.county_only)
        }
        #: kinds whose last evaluation raised (logged once when they start failing)
        self.failing: set[str] = set()
        self._snap: Snapshot | None = None
        #: first evaluation on a gateway: silence from before it is the gateway's own
        #: downtime (the county's gateway_silent), not a device's lost communication
        self.started_ms: int | None = None

    # -- one evaluation ------------------------------------------------------------------
    def step(self, now_ms: int) -> list[Event]:
        """Evaluate, advance the lifecycle, deliver what is owed; returns the new events."""
        if self.started_ms is None and not self.county:
            self.started_ms = now_ms
        findings = self.evaluate(now_ms)
        evaluated = [k for k in self.kinds if k not in self.failing]
        clear = {k: (r.clear_s if (r := self.fleet.rule(k)) else 0.0) for k in evaluated}
        events = self.db.apply(
            findings,
            now_ms=now_ms,
            kinds=evaluated,
            clear_s=clear,
            renotify_s=self.config.alerts.renotify_s,
            notifiers=[n.name for n in self.notifiers if n.takes_events],
            describe=self.describe,
        )
        for ev in events:
            log.info("alert %s %s %s", ev.event, ev.payload.get("kind"), ev.payload.get("subject"))
        self.deliver(now_ms)
        return events

    def snapshot(self, now_ms: int) -> Snapshot:
        """Read what the configured kinds need for one evaluation."""
        rules = [r for r in self.fleet.rules() if r.kind in self.kinds]
        lookback = max((self.kinds[r.kind].lookback_s(r) for r in rules), default=0.0)
        days = max((self.kinds[r.kind].history_days(r) for r in rules), default=0)
        snap = snapshot.take(
            self.store,
            self.fleet,
            now_ms,
            lookback_s=lookback,
            history_days=days,
            open_alerts=self.db.open_alerts(),
            floor_ms=self.started_ms,
        )
        if self.county:  # what the gateways' status topics said (their last wills)
            from alerts import remote

            remote.ensure_schema(self.db)
            snap.gateway_status = remote.gateway_status(self.db)
        return snap

    def evaluate(self, now_ms: int) -> list[Finding]:
        """All findings at now_ms, suppression applied (no lifecycle change)."""
        snap = self._snap = self.snapshot(now_ms)
        out: list[Finding] = []
        for name, kind in self.kinds.items():
            try:
                found = self._findings(kind, snap)
            except Exception:
                if name not in self.failing:
                    log.exception("alert kind %s failed; the other kinds still run", name)
                    self.failing.add(name)
                continue
            if name in self.failing:
                log.info("alert kind %s evaluates again", name)
                self.failing.discard(name)
            out += found
        return suppress(out, self.kinds)

    def _findings(self, kind: Kind, snap: Snapshot) -> list[Finding]:
        out: list[Finding] = []
        for rule in self._rules_of(kind.name):
            out += kind.evaluate(snap, self.fleet, rule)
        return out

    def _rules_of(self, kind: str) -> Iterable[RuleBase]:
        return (r for r in self.fleet.rules() if r.kind == kind)

    # -- what an event says, and where it goes ---------------------------------------------
    def describe(self, alert: Alert, event: str, now_ms: int) -> dict[str, Any]:
        """The payload every notifier sends for one event."""
        return delivery.describe(self.fleet, self.db, self._snap, alert, event, now_ms)

    def deliver(self, now_ms: int) -> None:
        """Send every owed event to each notifier, in order (alerts/delivery.py)."""
        delivery.deliver(self.notifiers, self.db, self.config, now_ms)
