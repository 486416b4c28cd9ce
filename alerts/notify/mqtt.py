"""MQTT notifier: events at QoS 1 on <topic>/events, and a retained state per station on
<topic>/state/<station> (the list of its firing alerts; empty when all is well)."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.config import Config
from core.config.alerts import CountyNotifier, MqttNotifier
from core.config.model import Mqtt


class MqttPublisher:
    """Publishes alert events through one persistent paho client (connected lazily)."""

    takes_events = True
    #: ends the client id (two publishers in one process must not share an id)
    client_suffix = "alerts"

    def __init__(self, name: str, cfg: MqttNotifier | CountyNotifier, broker: Mqtt):
        self.name = name
        self.cfg = cfg
        self.broker = broker
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._lock = threading.Lock()

    def _connect(self) -> mqtt.Client:
        if self._client is not None and self._connected.is_set():
            return self._client
        self.close()
        b = self.broker
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{b.client_id or 'pvledger'}-{self.client_suffix}-{os.getpid()}",
            protocol=mqtt.MQTTv5 if b.protocol == "5" else mqtt.MQTTv311,
        )
        if b.username:
            c.username_pw_set(b.username, os.environ.get(b.password_env or "", None))
        if b.tls is not None:
            c.tls_set(ca_certs=b.tls.ca_file, certfile=b.tls.cert_file, keyfile=b.tls.key_file)
            c.tls_insecure_set(b.tls.insecure)

        def on_connect(client, userdata, flags, reason_code, properties):
            if not reason_code.is_failure:
                self._connected.set()

        def on_disconnect(client, userdata, flags, reason_code, properties):
            self._connected.clear()

        c.on_connect = on_connect
        c.on_disconnect = on_disconnect
        c.connect(self.cfg.host or b.host, self.cfg.port or b.port, keepalive=b.keepalive_s)
        c.loop_start()
        self._client = c
        if not self._connected.wait(self.cfg.timeout_s):
            self.close()
            raise RuntimeError("MQTT broker did not accept the connection")
        return c

    def _publish(self, c: mqtt.Client, topic: str, payload: Any, retain: bool) -> None:
        info = c.publish(topic, json.dumps(payload, ensure_ascii=False), qos=1, retain=retain)
        info.wait_for_publish(self.cfg.timeout_s)
        if not info.is_published():
            raise RuntimeError(f"MQTT publish to {topic} not acknowledged")

    def send(self, payload: dict[str, Any]) -> None:
        """Publish the event, then the station's retained state; raise unless both are acked."""
        with self._lock:
            try:
                c = self._connect()
                self._publish(c, f"{self.cfg.topic}/events", payload, retain=False)
                state_key = (
                    payload.get("station") or payload.get("village") or payload.get("gateway")
                )
                if payload.get("station_state") is not None and state_key:
                    state = {
                        "station": payload.get("station"),
                        "ts_ms": payload.get("ts_ms"),
                        "firing": payload["station_state"],
                    }
                    self._publish(c, f"{self.cfg.topic}/state/{state_key}", state, retain=True)
            except Exception:
                self.close()
                raise

    def maybe_digest(self, db: Any, now_ms: int, config: Config) -> None:
        """No digest over MQTT."""

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        c, self._client = self._client, None
        self._connected.clear()
        if c is not None:
            c.disconnect()
            c.loop_stop()
