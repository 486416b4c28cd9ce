"""The default Jizhou fleet: simulator history backfill -> SqliteStore -> pvledger revenue.

Only 6 h around each period boundary are backfilled (counters carry the energy in
between), at 30-minute steps, to stay inside the test budget.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from core.config import load_config
from core.store import open_store
from revenue.period import parse_period
from simulator.backfill import backfill
from simulator.fleet import Fleet
from tests.revenue.helpers import read_csv

ROOT = Path(__file__).resolve().parents[2]
WINDOW_MS = 6 * 3_600_000  # 6 h either side of each boundary
# DOMAIN.md monthly shape at Ji'an [kWh per kWp]
JULY_KWH_PER_KWP = 124


def test_default_fleet_month_after_backfill(tmp_path, capsys):
    cfg = load_config(ROOT / "config.yaml")
    store_path = tmp_path / "data" / "pvledger.db"
    cfg = dataclasses.replace(
        cfg, storage=cfg.storage.model_copy(update={"path": str(store_path)}), _idx={}
    )
    period = parse_period("2026-07")
    tz = cfg.site.tz
    lo, hi = period.start_ms(tz), period.end_ms(tz)
    with open_store(cfg) as store:
        fleet = Fleet(cfg, 1)
        n = backfill(cfg, store, lo - WINDOW_MS, lo + WINDOW_MS, 1800, seed=1, fleet=fleet)
        n += backfill(cfg, store, hi - WINDOW_MS, hi + WINDOW_MS, 1800, seed=1, fleet=fleet)
    assert n > 0
    from revenue.payout import payout

    out_dir = tmp_path / "out"
    with open_store(cfg, readonly=True) as store:
        out = payout(cfg, store, period, out_dir=out_dir, lang="zh")
    r = out.result
    assert r.ok, [c for c in r.checks if not c.ok]
    by_id = {s.station: s for s in r.stations}
    assert len(by_id) == len(cfg.stations) == 223
    for s in cfg.stations:
        line = by_id[s.id]
        assert line.quality in ("exact", "interpolated"), (s.id, line.quality, line.notes)
        want = "inverter" if s.kind == "household" else "export_meter"
        assert line.energy_source == want, (s.id, line.energy_source)
        kwh_per_kwp = line.energy_wh / 1000 / s.capacity_kw
        # the simulator's weather is its own; the month must still look like a Ji'an July
        assert 0.4 * JULY_KWH_PER_KWP < kwh_per_kwp < 1.6 * JULY_KWH_PER_KWP, (s.id, kwh_per_kwp)
    files = {p.name: p.read_bytes() for p in out_dir.iterdir()}
    st = read_csv(files["stations-2026-07.csv"])
    hh = read_csv(files["households-2026-07.csv"])
    co = read_csv(files["cooperatives-2026-07.csv"])
    vi = read_csv(files["villages-2026-07.csv"])
    # post wages (distribution plans) are paid out of the village pools, counted there
    hl = read_csv(files["household-lines-2026-07.csv"])
    wages = sum(int(x["amount_fen"]) for x in hl if x["line_kind"] == "post")
    paid = sum(int(x["amount_fen"]) for x in hh + vi) + sum(int(x["residue_fen"]) for x in co)
    paid -= wages
    assert paid == sum(int(x["distributable_fen"]) for x in st) > 0
    assert {x["village_id"] for x in vi} == {v.id for v in cfg.villages}
    members = {m.household for c in cfg.cooperatives for m in c.members}
    assert members <= {x["household_id"] for x in hh}
    assert "payouts-2026-07.xlsx" in files
    # inverter vs meter kWh for finance staff: the meter sees the inverters minus losses
    for row in read_csv(files["reconciliation-2026-07.csv"]):
        if row["meter_wh"]:
            assert -5 < float(row["inverter_vs_meter_pct"]) < 5, row
