"""County side: the gateways' alert events and status, taken from the county broker.

A gateway forwards each alert event (alerts/notify/county.py) at least once; a copy
may come again after a gateway restart, a lost PUBACK or a redelivery to our
persistent session. Each carries its id (gateway : alert database : alert id : event
seq), and ``ingest_event`` records it in the county's alert database once: the event id
is the primary key of ``gateway_events`` and the insert and everything it causes are
one transaction, so a copy changes nothing. A gateway's alert becomes one county alert
(``origin`` = gateway : database : alert id) with its events in the county's history
and owed to the county's notifiers (routing, escalation, work orders read them there).
If the county already has an open alert of the same kind and subject, the gateway's
events are recorded on it (one incident, not two).

The gateway's status topic (pvledger/gateway/<id>/status: retained "online", and its
last will "offline" that the broker publishes when the gateway vanishes) is kept per
gateway with the county time it changed; gateway_silent reads it (alerts/kinds/
gateway_silent.py).

``GatewayInbox`` is the MQTT client of `pvledger alerts watch`: a persistent session
(the broker keeps what arrives while the county service is down), QoS 1, and each
message acknowledged only after its transaction committed.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from alerts.notify.county import db_instance, event_uid
from alerts.state import NOTIFIED_EVENTS, AlertDb
from core.config import Config

log = logging.getLogger("alerts.remote")

EVENTS_FILTER = "pvledger/gateway/+/alerts/events"
STATUS_FILTER = "pvledger/gateway/+/status"
#: the broker keeps the county's session this long while it is away (MQTT 5) [s]
SESSION_EXPIRY_S = 7 * 24 * 3600

SCHEMA = """
CREATE TABLE IF NOT EXISTS gateway_events (
    uid TEXT PRIMARY KEY, gateway TEXT NOT NULL, origin TEXT NOT NULL,
    event TEXT NOT NULL, ts_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
    alert_id INTEGER, event_id INTEGER) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gateway_alerts (
    origin TEXT PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts (id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gateway_status (
    gateway TEXT PRIMARY KEY, state TEXT NOT NULL, clean INTEGER,
    since_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL) WITHOUT ROWID;
"""

#: keys a forwarded event must carry (alerts/notify/county.py envelope)
ENVELOPE_KEYS = ("uid", "gateway", "instance", "alert_id", "event_id", "event", "ts_ms", "payload")


class BadMessage(ValueError):
    """A message that is not a gateway alert event (logged and acknowledged, not kept)."""


def ensure_schema(db: AlertDb) -> None:
    """Create the gateway tables in the alert database (idempotent)."""
    with db.transaction() as c:
        for stmt in SCHEMA.split(";"):
            if stmt.strip():
                c.execute(stmt)


def topic_gateway(topic: str) -> str | None:
    """The <id> of pvledger/gateway/<id>/..., or None."""
    parts = topic.split("/")
    return parts[2] if len(parts) >= 4 and parts[:2] == ["pvledger", "gateway"] else None


def check_envelope(msg: Any, topic_gw: str | None) -> dict[str, Any]:
    """The envelope when it is whole and consistent with its topic; else BadMessage."""
    if not isinstance(msg, dict) or any(k not in msg for k in ENVELOPE_KEYS):
        raise BadMessage(f"not an alert event envelope (needs {', '.join(ENVELOPE_KEYS)})")
    if topic_gw is not None and msg["gateway"] != topic_gw:
        raise BadMessage(f"gateway {msg['gateway']!r} published on the topic of {topic_gw!r}")
    if not isinstance(msg["alert_id"], int) or not isinstance(msg["event_id"], int):
        raise BadMessage("alert_id and event_id must be integers")
    if msg["uid"] != event_uid(msg["gateway"], msg["instance"], msg["alert_id"], msg["event_id"]):
        raise BadMessage(f"uid {msg['uid']!r} does not match its gateway, alert and event")
    p = msg["payload"]
    if not isinstance(p, dict) or not p.get("kind") or not p.get("subject"):
        raise BadMessage("payload lacks kind and subject")
    if not isinstance(msg["ts_ms"], int):
        raise BadMessage("ts_ms must be an integer")
    return msg


def ingest_event(
    db: AlertDb, msg: dict[str, Any], *, now_ms: int, notifiers: Sequence[str]
) -> int | None:
    """Record one forwarded event; returns the county event id, or None for a copy
    already recorded. msg must have passed check_envelope."""
    gw, p, name = msg["gateway"], msg["payload"], msg["event"]
    origin = f"{gw}:{msg['instance']}:{msg['alert_id']}"
    with db.transaction() as c:
        cur = c.execute(
            "INSERT OR IGNORE INTO gateway_events (uid, gateway, origin, event, ts_ms, "
            "received_ms) VALUES (?,?,?,?,?,?)",
            (msg["uid"], gw, origin, name, msg["ts_ms"], now_ms),
        )
        if cur.rowcount == 0:
            return None
        alert_id = _county_alert(c, origin, gw, p, name, msg["ts_ms"])
        if name == "resolved":
            c.execute(
                "UPDATE alerts SET state = 'resolved', resolved_ms = ? "
                "WHERE id = ? AND origin = ? AND state != 'resolved'",
                (p.get("resolved_ms") or msg["ts_ms"], alert_id, origin),
            )
        elif name in ("firing", "reminder"):
            c.execute(
                "UPDATE alerts SET state = 'firing', fired_ms = COALESCE(fired_ms, ?), "
                "last_seen_ms = max(last_seen_ms, ?) WHERE id = ? AND origin = ?",
                (p.get("fired_ms") or msg["ts_ms"], msg["ts_ms"], alert_id, origin),
            )
        payload = {**p, "id": alert_id, "gateway_alert_id": msg["alert_id"], "uid": msg["uid"]}
        cur = c.execute(
            "INSERT INTO events (alert_id, ts_ms, event, payload) VALUES (?,?,?,?)",
            (alert_id, msg["ts_ms"], name, json.dumps(payload, ensure_ascii=False)),
        )
        event_id = int(cur.lastrowid or 0)
        db.queue(event_id, alert_id, name, now_ms, notifiers if name in NOTIFIED_EVENTS else ())
        c.execute(
            "UPDATE gateway_events SET alert_id = ?, event_id = ? WHERE uid = ?",
            (alert_id, event_id, msg["uid"]),
        )
    return event_id


def _county_alert(c: Any, origin: str, gw: str, p: dict[str, Any], name: str, ts: int) -> int:
    """The county alert of a gateway's alert: known, adopted (an open alert of the same
    kind and subject), or new."""
    row = c.execute("SELECT alert_id FROM gateway_alerts WHERE origin = ?", (origin,)).fetchone()
    if row is not None:
        return int(row[0])
    row = c.execute(
        "SELECT id FROM alerts WHERE kind = ? AND subject = ? AND state != 'resolved'",
        (p["kind"], p["subject"]),
    ).fetchone()
    if row is not None:
        alert_id = int(row[0])
    else:
        resolved = name == "resolved"
        since = p.get("since_ms") or ts
        cur = c.execute(
            "INSERT INTO alerts (kind, subject, station, village, device, gateway, state, "
            "since_ms, opened_ms, fired_ms, resolved_ms, last_seen_ms, seen, origin) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                p["kind"],
                p["subject"],
                p.get("station"),
                p.get("village"),
                p.get("device"),
                p.get("gateway") or gw,
                "resolved" if resolved else "firing",
                since,
                ts,
                p.get("fired_ms") or ts,
                (p.get("resolved_ms") or ts) if resolved else None,
                ts,
                json.dumps(p.get("seen") or {}, ensure_ascii=False, sort_keys=True),
                origin,
            ),
        )
        alert_id = int(cur.lastrowid or 0)
    c.execute("INSERT INTO gateway_alerts (origin, alert_id) VALUES (?, ?)", (origin, alert_id))
    return alert_id


def ingest_status(db: AlertDb, gateway: str, msg: Any, *, now_ms: int) -> bool:
    """Record a gateway's status message; returns True when its state changed.

    The county's own clock dates the change: a last will's body was written when the
    gateway connected, long before the broker published it.
    """
    if not isinstance(msg, dict) or msg.get("state") not in ("online", "offline"):
        raise BadMessage("a status needs state online or offline")
    state, clean = msg["state"], msg.get("clean")
    with db.transaction() as c:
        row = c.execute("SELECT state FROM gateway_status WHERE gateway = ?", (gateway,)).fetchone()
        if row is not None and row[0] == state:
            c.execute(
                "UPDATE gateway_status SET received_ms = ? WHERE gateway = ?", (now_ms, gateway)
            )
            return False
        c.execute(
            "INSERT OR REPLACE INTO gateway_status VALUES (?, ?, ?, ?, ?)",
            (gateway, state, None if clean is None else int(bool(clean)), now_ms, now_ms),
        )
    log.info("gateway %s is %s", gateway, state)
    return True


def gateway_status(db: AlertDb) -> dict[str, tuple[str, int]]:
    """gateway -> (state, since_ms) as last told by its status topic."""
    with db.transaction() as c:
        rows = c.execute("SELECT gateway, state, since_ms FROM gateway_status").fetchall()
    return {g: (s, int(t)) for g, s, t in rows}


class GatewayInbox:
    """The county's MQTT client for gateway alert events and status (persistent session,
    QoS 1, acknowledged after the commit)."""

    def __init__(
        self,
        config: Config,
        db: AlertDb,
        notifiers: Sequence[str],
        now_ms: Callable[[], int],
        *,
        client_id: str | None = None,
    ):
        self.config = config
        self.db = db
        self.notifiers = list(notifiers)
        self.now_ms = now_ms
        b = config.mqtt
        self.client_id = client_id or f"{b.client_id or 'pvledger-county'}-gateway-events"
        self.subscribed = threading.Event()
        self.recorded = 0
        self.duplicates = 0
        self.refused = 0
        self._client: mqtt.Client | None = None
        ensure_schema(db)
        #: this database's own id: an event of its own is never taken as a gateway's
        self.instance = db_instance(db)

    def start(self) -> None:
        """Connect in the background (paho reconnects on its own, with back-off)."""
        b = self.config.mqtt
        v5 = b.protocol == "5"
        kw: dict[str, Any] = {
            "callback_api_version": CallbackAPIVersion.VERSION2,
            "client_id": self.client_id,
            "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            "manual_ack": True,
        }
        if not v5:
            kw["clean_session"] = False
        c = mqtt.Client(**kw)
        c.reconnect_delay_set(1, 60)
        if b.username:
            c.username_pw_set(b.username, os.environ.get(b.password_env or "", None))
        if b.tls is not None:
            t = b.tls
            c.tls_set(
                ca_certs=str(self.config.resolve(t.ca_file)) if t.ca_file else None,
                certfile=str(self.config.resolve(t.cert_file)) if t.cert_file else None,
                keyfile=str(self.config.resolve(t.key_file)) if t.key_file else None,
            )
            c.tls_insecure_set(t.insecure)
        c.on_connect = self._on_connect
        c.on_subscribe = lambda *a: self.subscribed.set()
        c.on_disconnect = lambda *a: self.subscribed.clear()
        c.on_message = self._on_message
        conn: dict[str, Any] = {}
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            conn = {"clean_start": False, "properties": props}
        c.connect_async(b.host, b.port, b.keepalive_s, **conn)
        c.loop_start()
        self._client = c

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("county broker refused the gateway-events client: %s", reason_code)
            return
        client.subscribe([(EVENTS_FILTER, 1), (STATUS_FILTER, 1)])

    def _on_message(self, client, userdata, m) -> None:
        gw = topic_gateway(m.topic)
        try:
            try:
                body = json.loads(m.payload)
            except ValueError:
                raise BadMessage("not JSON") from None
            if m.topic.endswith("/status") and gw is not None:
                ingest_status(self.db, gw, body, now_ms=self.now_ms())
            else:
                msg = check_envelope(body, gw)
                if msg["instance"] == self.instance:
                    raise BadMessage("an event of this county's own alert database came back")
                got = ingest_event(self.db, msg, now_ms=self.now_ms(), notifiers=self.notifiers)
                if got is None:
                    self.duplicates += 1
                else:
                    self.recorded += 1
        except BadMessage as exc:
            self.refused += 1
            log.warning("refused a message on %s: %s", m.topic, exc)
        except Exception:
            # not committed: leave it unacknowledged, the broker sends it again
            log.exception("could not record a message on %s; it will come again", m.topic)
            return
        client.ack(m.mid, m.qos)

    def stop(self) -> None:
        """Disconnect (the broker keeps the session and what arrives meanwhile)."""
        c, self._client = self._client, None
        if c is not None:
            c.disconnect()
            c.loop_stop()
