"""Each command imports only what it uses (issue 14): `--help` and `pvledger check` start
without numpy, openpyxl or the simulator, and a running `pvledger collect` never loads
openpyxl or the simulator, so a gateway's footprint cannot creep back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pvledger.commands import COMMANDS
from tests.clocks import write_daytime_clock
from tests.conftest import ROOT
from tests.modbus.conftest import write_config
from tests.servers import free_port

#: never needed to print help or to check a config
NOT_FOR_HELP = ("numpy", "openpyxl", "simulator", "simulator", "pydantic", "yaml")
NOT_FOR_CHECK = ("numpy", "openpyxl", "simulator", "simulator")
NOT_ON_A_GATEWAY = ("openpyxl", "simulator", "simulator", "revenue")

_PROBE = """
import json, sys
from pvledger.cli import main
try:
    rc = main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def modules_after(*argv: str, cwd: Path = ROOT) -> tuple[int, set[str]]:
    """Run the CLI in a fresh interpreter; its exit code and every module it imported."""
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    last = proc.stdout.strip().splitlines()[-1]
    got = json.loads(last)
    return got["rc"], set(got["modules"])


def loaded(modules: set[str], banned: tuple[str, ...]) -> list[str]:
    """The banned packages (or their submodules) among modules."""
    return sorted(b for b in banned if any(m == b or m.startswith(b + ".") for m in modules))


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_imports_nothing_heavy(command: str | None) -> None:
    argv = ["--help"] if command is None else [command.replace("_", "-"), "--help"]
    rc, modules = modules_after(*argv)
    assert rc == 0
    assert loaded(modules, NOT_FOR_HELP) == []


def test_check_imports_neither_numpy_nor_openpyxl_nor_the_simulator() -> None:
    rc, modules = modules_after("-q", "-c", str(ROOT / "config.yaml"), "check")
    assert rc == 0
    assert "core.config" in modules  # it did load and check the config
    assert loaded(modules, NOT_FOR_CHECK) == []


_COLLECT = """
import json, logging, os, signal, sys, threading
started = threading.Event()

class Started(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("started modbus"):
            started.set()

def dump_then_stop():
    started.wait(60)
    with open(sys.argv[1], "w") as f:
        json.dump(sorted(sys.modules), f)
    os.kill(os.getpid(), signal.SIGTERM)

logging.getLogger("collector.service").addHandler(Started())
threading.Thread(target=dump_then_stop, daemon=True).start()
from pvledger.cli import main
sys.exit(main(sys.argv[2:]))
"""


def test_running_collector_loads_neither_openpyxl_nor_the_simulator(tmp_path: Path) -> None:
    # a Modbus device that does not answer: the service runs all the same
    device = {
        "id": "d1",
        "source": "modbus-tcp",
        "host": "127.0.0.1",
        "port": free_port(),
        "unit": 1,
        "map": "sunspec",
        "interval_s": 1,
    }
    cfg = write_config(tmp_path, [device])
    clock = write_daytime_clock(tmp_path / "clock.json")
    out = tmp_path / "modules.json"
    argv = ["-c", str(cfg), "collect", "--sim-clock", str(clock)]
    proc = subprocess.run(
        [sys.executable, "-c", _COLLECT, str(out), *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set(json.loads(out.read_text()))
    assert "collector.modbus.component" in modules  # the service really ran
    assert loaded(modules, NOT_ON_A_GATEWAY) == []
