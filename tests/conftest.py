"""Shared fixtures: real servers on free ports, and a guard against leaked threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Mosquitto, VictoriaMetrics, running

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A running Mosquitto on a free port (stopped after the test)."""
    with running(Mosquitto(tmp_path / "mosquitto")) as broker:
        yield broker


@pytest.fixture
def victoriametrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    """A running VictoriaMetrics on a free port (stopped after the test)."""
    with running(VictoriaMetrics(tmp_path / "vm")) as vm:
        yield vm


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    """Fail a test that leaves non-daemon threads running (pymodbus's rule, ours too)."""
    before = set(threading.enumerate())
    yield
    leaked = []
    for t in threading.enumerate():
        if t in before or t.daemon or not t.is_alive():
            continue
        t.join(timeout=5)
        if t.is_alive():
            leaked.append(t.name)
    assert not leaked, f"test leaked threads: {leaked}"
