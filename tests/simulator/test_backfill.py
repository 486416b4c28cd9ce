"""History backfill into a real SQLite store; live values continue it; past faults show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from core.config import Config
from core.store import SqliteStore
from simulator.backfill import backfill
from simulator.faults import FaultBook, make_fault
from simulator.fleet import Fleet

TZ = dt.timezone(dt.timedelta(hours=8))


def _ms(y: int, m: int, d: int, h: int = 0) -> int:
    return int(dt.datetime(y, m, d, h, tzinfo=TZ).timestamp() * 1000)


def test_backfill_writes_history_with_faults(small_config: Config, tmp_path: Path) -> None:
    start, end = _ms(2025, 7, 1), _ms(2025, 7, 4)
    stop_at = _ms(2025, 7, 2, 10)
    book = FaultBook(
        [
            make_fault(
                small_config,
                {"kind": "stop", "station": "v-vc", "start": stop_at, "duration_s": 4 * 3600},
                0,
            ),
            make_fault(
                small_config,
                {"kind": "comm_loss", "device": "s-hh-4-log", "start": stop_at, "duration_s": 3600},
                0,
            ),
        ]
    )
    store = SqliteStore(tmp_path / "h.db")
    n = backfill(small_config, store, start, end, resolution_s=900, seed=5, faults=book)
    devices = sum(1 for _, d in small_config.devices() if d.simulate)
    assert n == devices * 3 * 96 - 4  # one hour of one logger missing (comm loss)

    inv = store.series(devices=["v-va-inv1"], fields=["energy_total_wh"])
    values = [s.value for s in inv]
    assert len(values) == 3 * 96 and all(isinstance(v, int) for v in values)
    assert values == sorted(values) and values[-1] - values[0] > 100_000
    assert inv[0].village == "va" and inv[0].gateway == "gw-t"

    meter = store.series(devices=["v-va-meter"])
    assert {s.field for s in meter} == {"export_wh", "import_wh", "power_w"}
    assert meter[0].measurement == "meter"

    stopped = store.series(
        devices=["v-vc-inv1"],
        fields=["status", "power_w"],
        start_ms=stop_at,
        end_ms=stop_at + 4 * 3600_000,
    )
    assert {s.value for s in stopped if s.field == "status"} == {3}
    assert {s.value for s in stopped if s.field == "power_w"} == {0.0}

    # the live simulator (same seed) continues exactly where the history ends
    fleet = Fleet(small_config, seed=5)
    last = inv[-1]
    live = fleet.pv_state(fleet.index["v-va-inv1"], np.array([last.ts_ms]), book)
    assert int(live["energy_total_wh"][0]) == last.value
    daily = store.daily(
        fields=["energy_total_wh"], start_day=20250701, end_day=20250703, stations=["v-va"]
    )
    assert len(daily) == 2 * 3  # two inverters, three days
    store.close()


def test_cli_backfill_into_configured_store(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT
    from tests.simulator.conftest import write_config

    path, _ = write_config(tmp_path)
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        "faults:\n"
        "  - {kind: outage, village: va, start: '2025-07-01T09:00:00+08:00', duration_s: 7200}\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-c",
            str(path),
            "simulate",
            "--backfill-days",
            "1",
            "--resolution-s",
            "900",
            "--start",
            "2025-07-02T00:00:00+08:00",
            "--faults",
            str(faults),
            "--seed",
            "4",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    store = SqliteStore(tmp_path / "data" / "t.db", readonly=True)
    down = store.series(
        devices=["s-hh-1-inv"],
        fields=["power_w"],
        start_ms=_ms(2025, 7, 1, 9),
        end_ms=_ms(2025, 7, 1, 11),
    )
    up = store.series(
        devices=["s-hh-3-inv"],
        fields=["power_w"],
        start_ms=_ms(2025, 7, 1, 9),
        end_ms=_ms(2025, 7, 1, 11),
    )
    store.close()
    assert len(down) == 8 and {s.value for s in down} == {0.0}
    assert len(up) == 8 and all(s.value > 0 for s in up)
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-c",
            str(path),
            "simulate",
            "--backfill-days",
            "1",
            "--start",
            "yesterday",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "--start" in bad.stderr + bad.stdout
