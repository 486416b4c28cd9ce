"""The VictoriaMetrics flags deploy/victoriametrics/README.md tells a county to set
are accepted by the Debian binary and do what the README says: backfilled history
is kept and an outbox replay counts once."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

from tests.servers import free_port, require_binary, stop_process, wait_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "deploy" / "victoriametrics" / "README.md"


def readme_args() -> list[str]:
    """The ARGS="..." line of the README, split into flags."""
    m = re.search(r'^ARGS="([^"]+)"$', README.read_text(), flags=re.M)
    assert m, "no ARGS line in the README"
    return m.group(1).split()


def test_readme_flags_keep_history_and_deduplicate(tmp_path: Path) -> None:
    """A sample from 3 months ago survives (default retention would drop it) and the same
    batch written twice is exported once."""
    args = readme_args()
    flags = {a.split("=", 1)[0] for a in args}
    assert {"-retentionPeriod", "-dedup.minScrapeInterval", "-httpListenAddr"} <= flags
    port = free_port()
    local = {
        "-storageDataPath": f"-storageDataPath={tmp_path / 'vm'}",
        "-httpListenAddr": f"-httpListenAddr=127.0.0.1:{port}",
    }
    argv = [local.get(a.split("=", 1)[0], a) for a in args]
    log = open(tmp_path / "vm.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [require_binary("victoria-metrics"), *argv, "-loggerLevel=ERROR"], stdout=log, stderr=log
    )
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}"
        old_ms = int(time.time() * 1000) - 90 * 86_400_000
        body = "\n".join(
            f"pv,station=s-hh-0001 energy_total_wh={1000 + i}i {old_ms + i * 60_000}"
            for i in range(100)
        ).encode()
        for _ in range(2):  # the outbox replays a batch whose answer was lost
            req = urllib.request.Request(f"{url}/api/v2/write?precision=ms", body, method="POST")
            deadline = time.monotonic() + 10
            while True:
                try:
                    with urllib.request.urlopen(req, timeout=5) as r:
                        assert r.status == 204
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
        with urllib.request.urlopen(f"{url}/internal/force_flush", timeout=10):
            pass
        q = urllib.parse.urlencode({"match[]": "pv_energy_total_wh", "start": old_ms // 1000 - 60})
        with urllib.request.urlopen(f"{url}/api/v1/export?{q}", timeout=10) as r:
            rows = [json.loads(line) for line in r.read().splitlines()]
        assert len(rows) == 1
        assert rows[0]["values"] == [1000 + i for i in range(100)]
    finally:
        stop_process(proc, 30)
        log.close()
