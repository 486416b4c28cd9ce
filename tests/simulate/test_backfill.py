"""History backfill into a real SQLite store; live values continue it; past faults show."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from collector.simulate.backfill import backfill
from collector.simulate.faults import FaultBook, make_fault
from collector.simulate.fleet import Fleet
from core.config import Config
from core.store import SqliteStore

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
