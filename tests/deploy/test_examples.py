"""Every shipped example config passes `pvledger check` as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "deploy" / "examples").glob("*.yaml"))


def test_the_examples_are_there() -> None:
    """The gateway and county examples the deploy guide refers to."""
    names = {p.name for p in EXAMPLES}
    assert {"gateway-village.yaml", "county-server.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_passes_check(path: Path, tmp_path: Path) -> None:
    """`pvledger -c FILE check` exits 0, run from elsewhere (paths resolve to the file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PVLEDGER_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(path), "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{path}: OK" in proc.stdout


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_writes_only_under_var_lib(path: Path) -> None:
    """Under ProtectSystem=strict only /var/lib/pvledger is writable: no relative data paths."""
    cfg = load_config(path)
    written = [cfg.alerts.db_path, cfg.storage.path, cfg.storage.outbox_path]
    for p in written:
        assert p.startswith("/var/lib/pvledger/"), (
            f"{path.name}: {p} is not under /var/lib/pvledger"
        )
