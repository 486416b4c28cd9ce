"""Case folders: config + readings + expected CSVs (arithmetic in ARITHMETIC.md beside them)."""

from __future__ import annotations

import csv

import pytest

from core.store import open_store
from revenue.payout import payout
from revenue.period import parse_period
from tests.revenue.helpers import CASES, read_csv, setup_case

CASE_NAMES = sorted(p.name for p in CASES.iterdir() if (p / "config.yaml").exists())


@pytest.mark.parametrize("case", CASE_NAMES)
def test_case_folder(case, tmp_path):
    cfg = setup_case(case, tmp_path)
    period = parse_period((CASES / case / "period.txt").read_text().strip())
    with open_store(cfg, readonly=True) as store:
        out = payout(cfg, store, period, out_dir=tmp_path / "out")
    assert out.result.ok, [c for c in out.result.checks if not c.ok]
    for exp in sorted((CASES / case / "expected").glob("*.csv")):
        got = read_csv(out.files[f"{exp.stem}-{period.id}.csv"])
        want = list(csv.DictReader(exp.open(encoding="utf-8")))
        cols = list(want[0])
        # rows come in a fixed order (sorted ids; pools and components in config order)
        assert [{c: g[c] for c in cols} for g in got] == want, exp.name
        assert len(got) == len(want), f"{exp.name}: {len(got)} rows, expected {len(want)}"
