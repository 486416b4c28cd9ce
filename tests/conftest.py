"""Shared fixtures: real servers on free ports, and guards against leaked threads,
child processes and asyncio tasks."""

from __future__ import annotations

import asyncio
import asyncio.runners
import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import Mosquitto, VictoriaMetrics, running

ROOT = Path(__file__).resolve().parent.parent

# each xdist worker (and every server or CLI it starts) picks free ports from its own
# residue class, so two workers never start servers on one port (core/processes.py)
if os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    os.environ["PVLEDGER_PORT_SLOT"] = (
        f"{int(os.environ['PYTEST_XDIST_WORKER'][2:])}/"
        f"{int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))}"
    )


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


def child_processes() -> dict[int, str]:
    """Living child processes of this one (pid -> command), zombies excluded."""
    me = os.getpid()
    out: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and state != "Z":
            out[int(entry.name)] = comm
    return out


@pytest.fixture(autouse=True)
def no_leaked_processes() -> Iterator[None]:
    """Fail a test that leaves a child process running (a server or a CLI it started)."""
    before = set(child_processes())
    yield
    deadline = time.monotonic() + 5  # a child that was just signalled may need a moment
    leaked = {p: c for p, c in child_processes().items() if p not in before}
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = {p: c for p, c in child_processes().items() if p not in before}
    for pid in leaked:  # do not let one leak break every later test
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not leaked, f"test leaked child processes: {leaked}"


@pytest.fixture(autouse=True)
def no_leaked_tasks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fail a test whose asyncio.run() ends with tasks still pending.

    asyncio.run cancels whatever is left when the main coroutine returns, silently; a
    task left behind is a component that did not stop what it started.
    """
    leaked: list[str] = []
    original = asyncio.runners._cancel_all_tasks  # type: ignore[attr-defined]

    def checking(loop: asyncio.AbstractEventLoop) -> None:
        leaked.extend(repr(t.get_coro()) for t in asyncio.all_tasks(loop) if not t.done())
        original(loop)

    monkeypatch.setattr(asyncio.runners, "_cancel_all_tasks", checking)
    yield leaked
    assert not leaked, f"test left asyncio tasks pending: {leaked}"
