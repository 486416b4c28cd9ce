"""A tariff change inside a period: two segments, each measured and priced on its own."""

from __future__ import annotations

import shutil

from core.config import load_config
from core.store import open_store
from revenue.period import parse_period
from revenue.run import compute
from tests.revenue.helpers import CASES, read_csv, write_rows

FIXED_2026 = """  - id: household-2026
    applies_to: {kind: household}
    shape: fixed-subsidy
    from: 2026-07-16
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid}
      - {name: household_subsidy, yuan_per_kwh: "0.42", payer: renewable_fund,
         basis: generation, subsidy: true}
allocation:
"""


def test_mid_month_change_splits_energy_and_prices(tmp_path):
    shutil.copytree(CASES / "worked-july", tmp_path / "c")
    p = tmp_path / "c" / "config.yaml"
    text = p.read_text(encoding="utf-8")
    marker = (
        "  - id: household-2018\n    applies_to: {kind: household}\n"
        "    shape: benchmark-total\n    from: 2018-01-01\n"
    )
    assert marker in text
    text = text.replace(marker, marker + "    until: 2026-07-16\n").replace(
        "allocation:\n", FIXED_2026, 1
    )
    p.write_text(text, encoding="utf-8")
    cfg = load_config(p)
    rows = [
        ("2026-06-30 23:00", 1_000_000),
        ("2026-07-01 01:00", 1_000_000),
        ("2026-07-15 20:00", 1_250_000),
        ("2026-07-16 06:00", 1_250_000),
        ("2026-07-31 20:00", 1_372_000),
        ("2026-08-01 06:00", 1_372_000),
    ]
    with open_store(cfg) as store:
        write_rows(
            store,
            [
                {
                    "station": "s-hh-1",
                    "device": "s-hh-1-inv",
                    "field": "energy_total_wh",
                    "local_time": t,
                    "value": v,
                }
                for t, v in rows
            ],
        )
    with open_store(cfg, readonly=True) as store:
        r = compute(cfg, store, parse_period("2026-07"))
    assert r.ok, r.errors
    s = next(x for x in r.stations if x.station == "s-hh-1")
    got = [(c.tariff_id, c.name, c.basis, c.energy_wh, c.amount_fen) for c in s.components]
    # 250 kWh at the 2018 prices, then 122 kWh at coal + 0.42 on generation
    assert got == [
        ("household-2018", "coal_benchmark", "export", 250_000, 10358),  # 103.575 -> 103.58
        ("household-2018", "national_subsidy", "export", 250_000, 10893),  # 108.925 -> 108.93
        ("household-2026", "coal_benchmark", "export", 122_000, 5054),  # 50.5446 -> 50.54
        ("household-2026", "household_subsidy", "generation", 122_000, 5124),  # 51.24
    ]
    assert (s.energy_wh, s.cash_now_fen, s.receivable_fen) == (372_000, 15412, 16017)
    from revenue.export import render

    files = render(cfg, r)
    comps = read_csv(files["components-2026-07.csv"])
    assert [c["amount_yuan"] for c in comps if c["station_id"] == "s-hh-1"] == [
        "103.58",
        "108.93",
        "50.54",
        "51.24",
    ]
