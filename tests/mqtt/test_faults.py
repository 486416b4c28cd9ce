"""Fault tests of MQTT ingestion with real processes: a broker restart, a flood of bad payloads."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from collector.metrics import Metrics
from collector.mqtt.deadletter import DeadLetters
from collector.mqtt.ingest import MqttIngest, dead_letter_path
from core.store import SqliteStore
from tests.conftest import ROOT
from tests.mqtt.helpers import Publisher, load, payload, wait_for
from tests.servers import Mosquitto, running

#: the durability settings of the shipped village broker (deploy/mosquitto) are what
#: the restart test runs with, so a change there that loses messages fails here
SHIPPED = ROOT / "deploy" / "mosquitto" / "village-broker.conf"
DURABILITY_KEYS = (
    "persistence",
    "autosave_interval",
    "max_queued_messages",
    "max_queued_bytes",
    "max_inflight_messages",
    "queue_qos0_messages",
    "persistent_client_expiration",
)


def shipped_durability() -> list[str]:
    """The durability lines of deploy/mosquitto/village-broker.conf."""
    out = []
    for line in SHIPPED.read_text().splitlines():
        words = line.split()
        if words and words[0] in DURABILITY_KEYS:
            out.append(line.strip())
    return out


@dataclass
class ShippedMosquitto(Mosquitto):
    """Mosquitto with the shipped durability settings instead of the test defaults."""

    def conf_text(self) -> str:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence_location {data}/",
            "log_dest stderr",
            "log_type error",
            *shipped_durability(),
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        return "\n".join(lines) + "\n"


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[ShippedMosquitto]:
    with running(ShippedMosquitto(tmp_path / "mosquitto")) as broker:
        yield broker


def test_mosquitto_restart_while_loggers_publish_loses_nothing(
    tmp_path: Path, shipped_broker: ShippedMosquitto
) -> None:
    mosquitto = shipped_broker
    cfg = load(tmp_path, mqtt_port=mosquitto.port, loggers=4)
    store = SqliteStore(cfg.resolve(cfg.storage.path))
    ing = MqttIngest(cfg)
    ing.open(store, Metrics())
    assert ing.wait_connected(10)
    pub = Publisher(mosquitto.port)
    n = 4000

    def publish() -> None:
        for i in range(n):
            dev = i % 4
            pub.publish(f"pv/dongpi/v-{dev}", payload(f"v-{dev}-log", i // 4))
            if i % 100 == 0:
                time.sleep(0.01)  # a steady stream, not one burst

    t = threading.Thread(target=publish)
    try:
        t.start()
        wait_for(lambda: pub.acked >= n // 4, 20, "stream under way", step_s=0.005)
        # the gateway is away (its 4G link, a reboot) while the broker restarts: what
        # loggers publish meanwhile waits in the broker's queue for the gateway's
        # session, and that queue must survive the restart and exceed 1,000 messages
        ing.close()
        wait_for(lambda: pub.acked >= n // 2, 20, "stream goes on", step_s=0.005)
        mosquitto.stop()  # graceful: the broker saves sessions and queued messages
        mosquitto.start()
        t.join()
        pub.wait_acked(n, 60)
        ing = MqttIngest(cfg)
        ing.open(store, Metrics())
        wait_for(
            lambda: len(store.series(fields=["energy_total_wh"])) == n, 60, "every reading stored"
        )
    finally:
        t.join()
        pub.close()
        ing.close()
    got = store.series(fields=["energy_total_wh"])
    assert sorted(s.value for s in got) == sorted(4_000_000 + (i // 4) * 17 for i in range(n))
    store.close()


def test_ten_thousand_malformed_payloads_in_a_valid_stream(tmp_path: Path, mosquitto) -> None:
    cfg = load(
        tmp_path,
        mqtt_port=mosquitto.port,
        loggers=4,
        mqtt_extra=", max_payload_bytes: 2048, subscribe: ['pv/#']",
    )
    store = SqliteStore(cfg.resolve(cfg.storage.path))
    ing = MqttIngest(cfg)
    ing.open(store, Metrics())
    assert ing.wait_connected(10)
    pub = Publisher(mosquitto.port)

    def bad(k: int) -> tuple[str, bytes]:
        dev = f"v-{k % 4}"
        kind = k % 7
        if kind == 0:
            return f"pv/dongpi/{dev}", b'{"sn": "%s", "pac_w": %d' % (dev.encode(), k)
        if kind == 1:
            return f"pv/dongpi/{dev}", json.dumps([k, "not an object"]).encode()
        if kind == 2:
            return f"pv/dongpi/{dev}", payload(f"ghost-{k}", k)
        if kind == 3:
            return f"pv/dongpi/unknown-{k}", payload(f"unknown-{k}", k)
        if kind == 4:
            return f"pv/dongpi/{dev}", json.dumps(
                {"sn": f"{dev}-log", "time": f"2026-13-{k}", "pac_w": 1.0}
            ).encode()
        if kind == 5:
            return f"pv/dongpi/{dev}", json.dumps(
                {"sn": f"{dev}-log", "pad": "x" * 3000, "k": k}
            ).encode()
        return f"pv/dongpi/{dev}", json.dumps({"sn": f"{dev}-log", "k": k}).encode()

    n_good = n_bad = 10_000
    try:
        for i in range(n_good):
            dev = i % 4
            pub.publish(f"pv/dongpi/v-{dev}", payload(f"v-{dev}-log", i // 4))
            pub.publish(*bad(i))
            if i % 500 == 0:
                time.sleep(0.01)
        pub.wait_acked(n_good + n_bad, 60)
        wait_for(
            lambda: ing.stored == n_good and ing.rejected >= n_bad,
            60,
            f"stored {ing.stored}, rejected {ing.rejected}",
        )
    finally:
        pub.close()
        ing.close()
    got = store.series(fields=["energy_total_wh"])
    assert sorted(s.value for s in got) == sorted(4_000_000 + (i // 4) * 17 for i in range(n_good))
    assert len(store.series()) == 6 * n_good
    store.close()
    letters = DeadLetters(dead_letter_path(cfg))
    try:
        assert letters.count() == n_bad
        by_reason = {
            r: letters.count(r)
            for r in (
                "malformed json",
                "not a json object",
                "unknown device",
                "bad timestamp",
                "oversized",
                "no usable field",
            )
        }
    finally:
        letters.close()
    assert sum(by_reason.values()) == n_bad and all(by_reason.values())
