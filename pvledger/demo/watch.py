"""The demo's window on its alerts: the events the alert engine publishes on the broker."""

from __future__ import annotations

import contextlib
import json
import queue
from typing import Any


class AlertWatcher:
    """Subscribes to the demo broker's alert events (paho-mqtt, QoS 1)."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pvledger-demo")
        self._client.on_connect = lambda c, *_: c.subscribe("pvledger/alerts/events", qos=1)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with contextlib.suppress(ValueError):
            self.events.put(json.loads(msg.payload))

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()
