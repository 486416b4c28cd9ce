"""On a gateway: every alert event forwarded to the county over MQTT, at least once.

The event is owed to this notifier in the gateway's alert database (alerts/state.py)
until the broker acknowledged it (PUBACK at QoS 1): a bad uplink, a broker restart or
a gateway restart leaves it owed, and it is sent again at the next evaluation. From
the village broker its bridge carries it to the county broker with QoS 1 and a
persistent queue (deploy/mosquitto/village-bridge.conf: pvledger/gateway/# out 1),
where `pvledger alerts watch` takes it with a persistent session and acknowledges
only after its own commit (alerts/remote.py). Each message has a unique id, so the
copies that at-least-once delivery brings are recorded once.
"""

from __future__ import annotations

import secrets
from typing import Any

from alerts.notify.mqtt import MqttPublisher
from core.config import Config
from core.config.alerts import CountyNotifier

#: where a gateway's alert events go (the county subscribes to the + of every gateway)
EVENTS_TOPIC = "pvledger/gateway/{gateway}/alerts/events"
#: the alert database's own id: ids restart when the file is recreated, and an event id
#: must never name two events
INSTANCE_KEY = "instance"


def events_topic(gateway: str) -> str:
    """The topic a gateway's alert events are published on."""
    return EVENTS_TOPIC.format(gateway=gateway)


def event_uid(gateway: str, instance: str, alert_id: int, event_id: int) -> str:
    """The id of one event everywhere: gateway, its alert database, alert id, event seq."""
    return f"{gateway}:{instance}:{alert_id}:{event_id}"


def db_instance(db: Any) -> str:
    """The alert database's instance id (made once, kept in its meta table)."""
    inst = db.meta(INSTANCE_KEY)
    if inst is None:
        inst = secrets.token_hex(4)
        db.set_meta(INSTANCE_KEY, inst)
    return inst


def envelope(gateway: str, instance: str, event: Any) -> dict[str, Any]:
    """The message for one stored event (alerts/state.py Event)."""
    return {
        "uid": event_uid(gateway, instance, event.alert_id, event.id),
        "gateway": gateway,
        "instance": instance,
        "alert_id": event.alert_id,
        "event_id": event.id,
        "event": event.event,
        "ts_ms": event.ts_ms,
        "payload": event.payload,
    }


class CountyForwarder(MqttPublisher):
    """Publishes each event (QoS 1, not retained) on events_topic(site gateway)."""

    client_suffix = "alerts-county"

    def __init__(self, name: str, cfg: CountyNotifier, config: Config):
        super().__init__(name, cfg, config.mqtt)
        self.gateway = config.site.gateway

    def send_event(self, event: Any, db: Any) -> None:
        """Publish one stored event; raise unless the broker acknowledged it."""
        msg = envelope(self.gateway, db_instance(db), event)
        with self._lock:
            try:
                c = self._connect()
                self._publish(c, events_topic(self.gateway), msg, retain=False)
            except Exception:
                self.close()
                raise

    def send(self, payload: dict[str, Any]) -> None:
        """Digests and other unstored messages are not the county's: refused."""
        raise RuntimeError("the county forwarder sends stored events only (send_event)")
