"""The demo's child processes and its broker: every process it starts is stopped on the
way out (SIGTERM, then SIGKILL), Ctrl-C and SIGTERM included."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from core.processes import free_port, stop_process, wait_port


class DemoFailed(Exception):
    """The demo could not show what it promises (e.g. the alert never came)."""


class Processes:
    """Child processes started by the demo; all stopped (SIGTERM, then SIGKILL) on close."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], cwd: Path) -> subprocess.Popen:
        """Start argv with stdout/stderr to logs/NAME.log."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        with open(self.logdir / f"{name}.log", "wb") as logf:
            proc = subprocess.Popen(
                argv, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout_s: float = 20) -> int | None:
        """Stop one process gracefully; returns its exit code."""
        return stop_process(proc, timeout_s)

    def close(self) -> None:
        """Stop everything still running, newest first."""
        for proc in reversed(self.procs):
            self.stop(proc)


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found is None and os.path.exists("/usr/sbin/mosquitto"):
        found = "/usr/sbin/mosquitto"
    return found


def start_broker(procs: Processes, workdir: Path, choice: str = "auto") -> tuple[int, str]:
    """Mosquitto when installed (or asked for), else the embedded amqtt broker;
    returns (port, name)."""
    port = free_port()
    mosquitto = find_mosquitto() if choice in ("auto", "mosquitto") else None
    if choice == "mosquitto" and mosquitto is None:
        raise DemoFailed(
            "--broker mosquitto: mosquitto is not installed "
            "(apt-get install mosquitto), or use --broker auto"
        )
    if mosquitto:
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        proc = procs.start("mosquitto", [mosquitto, "-c", str(conf)], workdir)
        name = "Mosquitto"
    else:
        conf = workdir / "amqtt.yaml"
        conf.write_text(
            yaml.safe_dump(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                    "plugins": {
                        "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                            "allow_anonymous": True
                        }
                    },
                }
            )
        )
        proc = procs.start(
            "amqtt", [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)], workdir
        )
        name = "amqtt (embedded; install mosquitto for anything real)"
    wait_port(port, 20, proc)
    return port, name


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the demo the way Ctrl-C does (cleanup runs)."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
