"""Delivery: what an event says (its payload) and sending the owed events to notifiers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from alerts import digest, loss, routing
from alerts.fleet import FleetIndex
from alerts.kinds import kinds
from alerts.message import build_payload
from alerts.notify import Notifier
from alerts.snapshot import Snapshot
from alerts.state import Alert, AlertDb
from core.config import Config

log = logging.getLogger("alerts")


def lost_income(
    fleet: FleetIndex, snap: Snapshot | None, alert: Alert, now_ms: int
) -> tuple[int | None, int | None]:
    """(expected energy [Wh], income lost [fen]) since the alert began, by its kind's LOSS."""
    k = kinds().get(alert.kind)
    return loss.lost_income(k.loss if k else None, alert, fleet, snap, now_ms)


def describe(
    fleet: FleetIndex,
    db: AlertDb,
    snap: Snapshot | None,
    alert: Alert,
    event: str,
    now_ms: int,
) -> dict[str, Any]:
    """The payload every notifier sends for one event (with the station's firing alerts)."""
    wh, fen = lost_income(fleet, snap, alert, now_ms)
    station_state = None
    if alert.station:
        station_state = [
            {"id": a.id, "kind": a.kind, "subject": a.subject, "since_ms": a.since_ms}
            for a in db.open_alerts()
            if a.station == alert.station and a.state == "firing"
        ]
    return build_payload(
        fleet.config,
        alert,
        event,
        now_ms,
        expected_wh=wh,
        lost_fen=fen,
        station_state=station_state,
    )


def deliver(notifiers: Sequence[Notifier], db: AlertDb, config: Config, now_ms: int) -> None:
    """Send every owed event to each notifier, in order, as routing decides (contacts,
    escalation, quiet hours: alerts/routing.py); stop a notifier at its first failure
    (retried next round); then the contacts' digests and each notifier's own, when due."""
    routed = routing.routed_channels(config)
    for n in notifiers:
        if not n.takes_events:
            continue
        for ev in db.undelivered(n.name):
            decision = routing.Decision("send")
            if n.name in routed:
                alert = db.get(ev.alert_id)
                decision = routing.decide(
                    config,
                    n.name,
                    ev.payload,
                    now_ms=now_ms,
                    acked_ms=alert.acked_ms if alert else None,
                    resolved_ms=alert.resolved_ms if alert else None,
                )
            if decision.action == "hold":
                continue  # still owed: asked again next round (quiet hours, escalation)
            if decision.action == "skip":
                db.skipped(ev.id, n.name, now_ms=now_ms, reason=decision.reason)
                continue
            try:
                send_event = getattr(n, "send_event", None)
                if send_event is not None:
                    send_event(ev, db)
                else:
                    n.send(routing.labelled(config, ev.payload, decision))
            except Exception as exc:  # one notifier failing never stalls the rest
                log.warning("notifier %s: event %d not delivered: %s", n.name, ev.id, exc)
                db.failed(ev.id, n.name, str(exc))
                break
            db.delivered(ev.id, n.name, now_ms=now_ms)
    digest.send_digests(notifiers, db, config, now_ms)
    for n in notifiers:
        try:
            n.maybe_digest(db, now_ms, config)
        except Exception as exc:
            log.warning("notifier %s: digest not sent: %s", n.name, exc)
