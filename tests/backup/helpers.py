"""Helpers for the backup tests: the real CLI as a process, awaiting a writer's progress."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 300  # generous: 2 shared cores; nothing below waits for a fixed time


def pvledger(*args: str, config: Path | None = None) -> subprocess.CompletedProcess:
    """Run `python -m pvledger [-c CONFIG] ARGS` to completion."""
    return subprocess.run(
        pvledger_argv(*args, config=config),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=TIMEOUT_S,
    )


def pvledger_argv(*args: str, config: Path | None = None) -> list[str]:
    """The argv of a pvledger command."""
    return [sys.executable, "-m", "pvledger", *(["-c", str(config)] if config else []), *args]


def spawn(argv: list[str]) -> subprocess.Popen:
    """Start a process in the source tree, output captured."""
    return subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ
    )


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = TIMEOUT_S) -> None:
    """Poll check() until true; fail naming what was awaited."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def batches(progress: Path) -> int:
    """Batches the writer process has committed so far."""
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0
