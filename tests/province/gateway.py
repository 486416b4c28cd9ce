"""A county gateway for the province tests: a config whose storage is vmauth with the
county's token, the real collector as its own process, and a QoS 1 logger stream."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from core.config import Config
from tests.mqtt.helpers import Publisher, load, payload
from tests.province.topology import ROOT, Province, token_env

FIELDS = 6  # power, energy today, energy total, status, fault, temperature per reading


def storage(p: Province, county: str) -> str:
    """The storage section of a county's gateway: one URL (vmauth) and its token."""
    return (
        f"{{backend: victoriametrics, url: '{p.url}', token_env: {token_env(county)},"
        " outbox_path: data/outbox.db, batch_size: 500, flush_interval_s: 0.2}"
    )


def gateway_config(folder: Path, p: Province, county: str, mqtt_port: int, loggers: int) -> Config:
    """config.yaml of a gateway with `loggers` MQTT loggers writing to the province."""
    folder.mkdir(parents=True, exist_ok=True)
    return load(folder, mqtt_port=mqtt_port, loggers=loggers, storage=storage(p, county))


def env_with_tokens(p: Province) -> dict[str, str]:
    """The environment a gateway process gets (its token variable set)."""
    return {**os.environ, "PYTHONPATH": str(ROOT), **p.env()}


def start_collector(config: Config, p: Province, log: Path) -> subprocess.Popen:
    """The collector's MQTT and forwarder components (tests/forward/collector_proc.py)."""
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.forward.collector_proc", str(config.path), "1"],
            cwd=ROOT,
            stdout=out,
            stderr=out,
            env=env_with_tokens(p),
        )
    finally:
        out.close()


def outbox_depth(config: Config) -> int:
    """Rows waiting in the gateway's outbox."""
    path = config.path.parent / "data" / "outbox.db"
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=30) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


class Stream:
    """Loggers v-0..v-(n-1) publishing one reading each in turn until stopped."""

    def __init__(self, mqtt_port: int, loggers: int, pause_s: float = 0.02):
        self.pub = Publisher(mqtt_port)
        self.loggers = loggers
        self.pause_s = pause_s
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logger-stream")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            dev, k = self.sent % self.loggers, self.sent // self.loggers
            self.pub.publish(f"pv/dongpi/v-{dev}", payload(f"v-{dev}-log", k))
            self.sent += 1
            time.sleep(self.pause_s)

    def stop(self) -> int:
        """Stop publishing; returns how many readings were sent (all acknowledged)."""
        self._stop.set()
        self._thread.join()
        self.pub.wait_acked(self.sent, 30)
        return self.sent

    def close(self) -> None:
        """Stop (if running) and disconnect."""
        self._stop.set()
        self._thread.join()
        self.pub.close()
