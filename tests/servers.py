"""Real servers for tests: Mosquitto and VictoriaMetrics on free ports.

Each starts in its own temporary folder and is stopped (SIGTERM, then
SIGKILL) by the fixture that started it. A missing binary skips the test on a
developer machine and fails it in CI (CI=true), as DESIGN.md §7 requires.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from core.processes import free_port, stop_process, wait_port

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

INSTALL_HINT = {
    "mosquitto": "apt-get install mosquitto mosquitto-clients",
    "victoria-metrics": "apt-get install victoria-metrics",
    "socat": "apt-get install socat",
}


def require_binary(name: str) -> str:
    """Path of a server binary; skip (or fail in CI) when it is not installed."""
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None
    )
    if path is None:
        msg = f"{name} is not installed; install it with: {INSTALL_HINT.get(name, name)}"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


ServerT = TypeVar("ServerT", "Mosquitto", "VictoriaMetrics")


@dataclass
class Mosquitto:
    """A Mosquitto broker with persistence in its own folder; restartable on the same port."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    extra_conf: str = ""

    def conf_text(self) -> str:
        """Broker config: loopback listener, persistence, generous queues."""
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {data}/",
            "autosave_interval 1",
            # the default 1,000 queued messages per offline client silently drops the rest
            "max_queued_messages 1000000",
            "max_queued_bytes 0",
            "max_inflight_messages 100",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # keep file ownership simple in a temp folder
        return "\n".join(lines) + "\n" + self.extra_conf

    def start(self) -> Mosquitto:
        """Start (or restart) the broker and wait until it accepts connections."""
        binary = require_binary("mosquitto")
        conf = self.workdir / "mosquitto.conf"
        conf.write_text(self.conf_text())
        log = open(self.workdir / "mosquitto.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        log.close()
        wait_port(self.port)
        return self

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the broker saves its persistence file."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@dataclass
class VictoriaMetrics:
    """A single-node VictoriaMetrics with dedup and unlimited retention for tests."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Base URL (also serves the InfluxDB v2 write API at /api/v2/write)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        """Start (or restart) on the same port and data folder."""
        binary = require_binary("victoria-metrics")
        log = open(self.workdir / "vm.log", "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                binary,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'vmdata'}",
                "-retentionPeriod=100y",  # the default 1 month drops backfilled history silently
                "-dedup.minScrapeInterval=1ms",  # replays of the same point count once
                "-search.latencyOffset=0s",
                "-loggerLevel=ERROR",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        wait_port(self.port)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/health", timeout=1) as r,
            ):
                if r.status == 200:
                    return self
            time.sleep(0.05)
        raise TimeoutError("VictoriaMetrics did not become healthy")

    def flush(self) -> None:
        """Make just-written samples visible to queries."""
        with urllib.request.urlopen(f"{self.url}/internal/force_flush", timeout=10):
            pass

    def stop(self) -> None:
        """Graceful stop (SIGTERM loses nothing; SIGKILL would)."""
        if self.proc is not None:
            stop_process(self.proc, 30)
            self.proc = None


@contextlib.contextmanager
def running(server: ServerT) -> Iterator[ServerT]:
    """Make the server's folder, start it, and stop it however the block ends."""
    server.workdir.mkdir(parents=True, exist_ok=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
