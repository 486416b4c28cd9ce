"""The VictoriaMetrics snapshot round trip deploy/ uses: vmbackup from a running server,
vmrestore into a new data folder, a new server on it returns every sample."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.servers import VictoriaMetrics, require_binary, running

SERIES = "pv_energy_total_wh"
SAMPLES = 2000


def _write(vm: VictoriaMetrics, lines: list[str]) -> None:
    req = urllib.request.Request(
        f"{vm.url}/api/v2/write?precision=ms", data="\n".join(lines).encode(), method="POST"
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status in (200, 204)


def _export(vm: VictoriaMetrics, start_ms: int, end_ms: int) -> dict[str, list]:
    q = urllib.parse.urlencode(
        {
            "match[]": '{__name__=~"pv_.*",station="s-backup"}',
            "start": start_ms / 1000,
            "end": end_ms / 1000,
        }
    )
    with urllib.request.urlopen(f"{vm.url}/api/v1/export?{q}", timeout=30) as r:
        rows = [json.loads(line) for line in r.read().decode().splitlines() if line]
    return {
        row["metric"]["__name__"]: sorted(zip(row["timestamps"], row["values"], strict=True))
        for row in rows
    }


def test_vmbackup_vmrestore_round_trip_keeps_every_sample(tmp_path: Path) -> None:
    vmbackup, vmrestore = require_binary("vmbackup"), require_binary("vmrestore")
    start_ms = (int(time.time()) - 3 * 86_400) * 1000  # inside the 2-day-future/100-year window
    lines = [
        f"pv,station=s-backup,device=s-backup-inv energy_total_wh={10_000_000 + 7 * i}i,"
        f"power_w={(i * 37) % 3000} {start_ms + i * 60_000}"
        for i in range(SAMPLES)
    ]
    end_ms = start_ms + SAMPLES * 60_000
    dst = tmp_path / "vmbackup" / "latest"
    with running(VictoriaMetrics(tmp_path / "vm1")) as vm:
        _write(vm, lines)
        vm.flush()
        written = _export(vm, start_ms, end_ms)
        assert len(written[SERIES]) == SAMPLES
        # the exact command line of deploy/systemd/pvledger-vmbackup.service, local paths
        proc = subprocess.run(
            [
                vmbackup,
                f"-storageDataPath={vm.workdir / 'vmdata'}",
                f"-snapshot.createURL={vm.url}/snapshot/create",
                f"-dst=fs://{dst}",
                "-loggerLevel=ERROR",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        # the server goes on; what is written after the snapshot is not in it
        _write(vm, [f"pv,station=s-backup,device=s-backup-inv power_w=1 {end_ms + 60_000}"])
    restored = VictoriaMetrics(tmp_path / "vm2")
    restored.workdir.mkdir()
    proc = subprocess.run(
        [
            vmrestore,
            f"-src=fs://{dst}",
            f"-storageDataPath={restored.workdir / 'vmdata'}",
            "-loggerLevel=ERROR",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    with running(restored) as vm2:
        got = _export(vm2, start_ms, end_ms + 120_000)
    assert got == written  # every sample of both series, exact timestamps and values
    assert len(got["pv_power_w"]) == SAMPLES
