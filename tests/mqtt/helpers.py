"""Small fleets of MQTT loggers for the ingestion and forwarding tests."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from core.config import Config, load_config

TARIFF = """tariffs:
  - id: village-2018
    applies_to: {kind: village}
    shape: benchmark-total
    from: 2018-01-01
    total_yuan_per_kwh: "0.85"
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid, cycle: monthly}
      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund,
         cycle: annual, subsidy: true}
"""


def write_config(
    folder: Path,
    *,
    mqtt_port: int,
    loggers: int = 3,
    storage: str = "{backend: sqlite, path: data/pv.db}",
    mqtt_extra: str = "",
    modbus: str = "",
    simulate: bool = False,
) -> Path:
    """config.yaml with one village and `loggers` MQTT loggers (village stations v-0..)."""
    lines = [
        "site: {name: test, latitude: 27.11, longitude: 114.98, gateway: gw-test}",
        f"storage: {storage}",
        f"mqtt: {{host: 127.0.0.1, port: {mqtt_port}, client_id: pvledger-test{mqtt_extra}}}",
        "villages: [{id: dongpi, name: 东陂村}]",
        "stations:",
    ]
    sim = ", simulate: mqtt-logger-3kw, interval_s: 60" if simulate else ""
    for i in range(loggers):
        lines.append(
            f"  - {{id: v-{i}, kind: village, capacity_kw: 3, owner: dongpi, village: dongpi, "
            f"devices: [{{id: v-{i}-log, source: mqtt, topic: pv/dongpi/v-{i}, decoder: json"
            f"{sim}}}]}}"
        )
    if modbus:
        lines.append(modbus)
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n" + TARIFF, encoding="utf-8")
    return path


def load(folder: Path, **kw: object) -> Config:
    """write_config + load_config."""
    return load_config(write_config(folder, **kw))  # type: ignore[arg-type]


T0_MS = 1782864000000  # 2026-07-01 08:00 Asia/Shanghai


def payload(device: str, i: int, t0_ms: int = T0_MS) -> bytes:
    """The i-th reading of a logger: one minute apart, counters rising."""
    ts = dt.datetime.fromtimestamp(
        (t0_ms + i * 60_000) / 1000, tz=dt.timezone(dt.timedelta(hours=8))
    )
    return json.dumps(
        {
            "sn": device,
            "time": ts.isoformat(),
            "pac_w": 1000.0 + (i % 500),
            "etoday_kwh": round(i * 0.01, 2),
            "etotal_wh": 4_000_000 + i * 17,
            "state": "run",
            "fault": 0,
            "temp_c": 40.5,
        }
    ).encode()


class Publisher:
    """A logger-side QoS 1 publisher that counts broker acknowledgements."""

    def __init__(self, port: int, client_id: str = "logger-sim"):
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.acked = 0
        self._lock = threading.Lock()
        self.client.on_publish = self._on_publish
        self.client.reconnect_delay_set(0.1, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_publish(
        self, client: object, userdata: object, mid: int, rc: object, props: object
    ) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, topic: str, data: bytes) -> None:
        """Queue one QoS 1 message (paho resends it after a reconnect)."""
        self.client.publish(topic, data, qos=1)

    def wait_acked(self, n: int, timeout_s: float = 30.0) -> None:
        """Block until n messages were acknowledged by the broker."""
        wait_for(lambda: self.acked >= n, timeout_s, f"broker acked {self.acked} of {n}")

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(cond: Callable[[], bool], timeout_s: float, what: str, step_s: float = 0.05) -> None:
    """Poll cond until true; fail with `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(step_s)
    raise AssertionError(f"timed out after {timeout_s} s: {what}")


class StatusWatcher:
    """Subscribes to a gateway's retained status topic and keeps what it sees."""

    def __init__(self, port: int, gateway: str = "gw-test"):
        self.seen: list[dict] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"watch-{gateway}")
        self.client.on_message = lambda c, u, m: self.seen.append(json.loads(m.payload))
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            f"pvledger/gateway/{gateway}/status", qos=1
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def wait_state(self, state: str, timeout_s: float = 10.0) -> dict:
        """The newest status once its state is `state`."""
        wait_for(
            lambda: bool(self.seen) and self.seen[-1]["state"] == state,
            timeout_s,
            f"gateway status {state} (seen {self.seen[-3:]})",
        )
        return self.seen[-1]

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()
