"""The work order file is backed up and restored with the other databases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.workorders.helpers import om_config


def cli(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(cfg), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_orders_survive_backup_and_restore(tmp_path: Path):
    (tmp_path / "site").mkdir()
    om_config(tmp_path / "site")
    cfg = tmp_path / "site" / "config.yaml"
    r = cli(cfg, "workorders", "open", "--station", "s-b2", "--at", "2018-07-10T09:00")
    assert r.returncode == 0, r.stderr
    r = cli(cfg, "backup", str(tmp_path / "bk"))
    assert r.returncode == 0, r.stderr
    (folder,) = (tmp_path / "bk").iterdir()
    roles = {
        e["file"]: e["role"] for e in json.loads((folder / "manifest.json").read_text())["files"]
    }
    assert roles["data/workorders.db"] == "workorders"
    r = cli(cfg, "restore", "--to", str(tmp_path / "restored"), str(folder))
    assert r.returncode == 0, r.stderr
    listed = cli(tmp_path / "restored" / "config.yaml", "workorders", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [(o["station"], o["state"]) for o in json.loads(listed.stdout)] == [("s-b2", "open")]
