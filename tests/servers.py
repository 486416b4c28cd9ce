"""Real servers for tests: Mosquitto, VictoriaMetrics, vmagent and vmauth on free ports.

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
    "vmagent": "apt-get install victoria-metrics",
    "vmauth": "apt-get install victoria-metrics",
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


ServerT = TypeVar("ServerT", "Mosquitto", "VictoriaMetrics", "VmAgent", "VmAuth")


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
    #: flags instead of the defaults below (listen address and data path are always set)
    flags: list[str] | None = None

    @property
    def url(self) -> str:
        """Base URL (also serves the InfluxDB v2 write API at /api/v2/write)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VictoriaMetrics:
        """Start (or restart) on the same port and data folder."""
        binary = require_binary("victoria-metrics")
        log = open(self.workdir / "vm.log", "ab")  # noqa: SIM115 - closed with the process
        flags = self.flags or [
            "-retentionPeriod=100y",  # the default 1 month drops backfilled history silently
            "-dedup.minScrapeInterval=1ms",  # replays of the same point count once
            "-search.latencyOffset=0s",
            "-loggerLevel=ERROR",
        ]
        self.proc = subprocess.Popen(
            [
                binary,
                *flags,
                f"-httpListenAddr=127.0.0.1:{self.port}",
                f"-storageDataPath={self.workdir / 'vmdata'}",
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


def wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 15.0) -> None:
    """Block until url/health answers 200; RuntimeError if proc exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/health", timeout=1) as r:
            if r.status == 200:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not become healthy")


def _start(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    try:
        return subprocess.Popen(argv, stdout=log, stderr=log, env=env)
    finally:
        log.close()


@dataclass
class VmAgent:
    """vmagent replicating every sample to each of ``remote_write_urls`` (the nodes'
    /api/v1/write), with its on-disk buffer in its folder; restartable on the same port."""

    workdir: Path
    remote_write_urls: list[str]
    #: further flags (e.g. from the shipped unit); listen address, buffer path and
    #: remote-write URLs are always set here
    flags: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """Base URL (InfluxDB v2 write API at /api/v2/write)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VmAgent:
        """Start (or restart) and wait until healthy."""
        argv = [
            require_binary("vmagent"),
            *self.flags,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-remoteWrite.tmpDataPath={self.workdir / 'buffer'}",
            *(f"-remoteWrite.url={u}" for u in self.remote_write_urls),
        ]
        self.proc = _start(argv, self.workdir / "vmagent.log")
        wait_healthy(self.url, self.proc)
        return self

    def kill(self) -> None:
        """SIGKILL: the crash under test (its memory queue is lost)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM): the memory queue goes to the on-disk buffer."""
        if self.proc is not None:
            stop_process(self.proc, 30)
            self.proc = None


@dataclass
class VmAuth:
    """vmauth with an auth config file; ``env`` fills its %{NAME} placeholders."""

    workdir: Path
    config: Path
    env: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The one URL clients see."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> VmAuth:
        """Start and wait until healthy."""
        argv = [
            require_binary("vmauth"),
            *self.flags,
            f"-auth.config={self.config}",
            f"-httpListenAddr=127.0.0.1:{self.port}",
        ]
        self.proc = _start(argv, self.workdir / "vmauth.log", {**os.environ, **self.env})
        wait_healthy(self.url, self.proc)
        return self

    def stop(self) -> None:
        """SIGTERM."""
        if self.proc is not None:
            stop_process(self.proc, 10)
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
