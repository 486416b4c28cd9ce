"""The demo's two years of money (pvledger/demo/arrears.py) on a small fleet, fast.

The late-money case (a village array, a household roof, a cooperative array) with the
household roof outside the subsidy catalogue; the payout month 2026-11, the live phase
on 2026-11-24: 24 months 2024-11 .. 2026-10 finalized from synthesised statements, the
coal of each quarter received on time, the first year's subsidy received 2026-11-10.
"""

from __future__ import annotations

import datetime as dt

from core.config import load_config
from pvledger.demo.arrears import outstanding, synthesise
from revenue import adjustments
from revenue.accruals import accruals_from_ledger
from revenue.ledger import Ledger
from revenue.payout import ledger_path
from revenue.period import parse_period
from revenue.receipts import load_received
from tests.revenue.helpers import local_ms, setup_case


def test_two_years_synthesised_coal_on_time_first_year_subsidy_only(tmp_path):
    cfg = setup_case("late-money", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace("    owner: hh-1\n    village: dongpi\n", "    owner: hh-1\n    village: dongpi\n    subsidy_catalogue: false\n", 1)  # fmt: skip # noqa: E501
    cfg.path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg.path)
    assert not cfg.station_by_id["s-hh-1"].subsidy_catalogue
    live = local_ms("2026-11-24 09:00")
    h = synthesise(cfg, tmp_path / "history", "2026-11", live)
    assert h.months[0] == "2024-11" and h.months[-1] == "2026-10" and len(h.months) == 24
    assert h.statements == 3 * 24
    # quarters ending before the payout month: 2024Q4 (Nov, Dec) .. 2026Q3 = 8, each
    # received on the 20th of the month after it; 2026Q4 is not over
    assert h.coal_receipts == 8 and h.subsidy_receipts == 1
    assert h.subsidy_received_on == dt.date(2026, 11, 10)
    with Ledger(ledger_path(cfg)) as led:
        accruals, _ = accruals_from_ledger(cfg, led)
        got = load_received(led)
        assert {r.period for r in led.runs() if r.status == "final"} == set(h.months)
    acc = {(a.station, a.component, a.period): a.accrued_fen for a in accruals}
    rec: dict[tuple[str, str, str], int] = {}
    for r in got:
        k = (r.station, r.component, r.period)
        rec[k] = rec.get(k, 0) + r.amount_fen
    coal = {k for k in acc if k[1] == "coal_benchmark"}
    # coal received in full for every month but October 2026 (its quarter is not over)
    assert {k for k in coal if rec.get(k) == acc[k]} == {k for k in coal if k[2] != "2026-10"}
    first_year = set(h.months[:12])
    sub = {k for k in acc if k[1] == "national_subsidy" and acc[k] > 0}
    assert {k[0] for k in sub} == {"v-dongpi", "c-a"}  # s-hh-1 is outside the catalogue
    assert {k for k in sub if rec.get(k) == acc[k]} == {k for k in sub if k[2] in first_year}
    owed = outstanding(cfg, dt.date(2026, 11, 24))
    assert owed.subsidy_fen == sum(acc[k] for k in sub if k[2] not in first_year)
    assert owed.subsidy_periods == 12 and owed.oldest_period == "2025-11"
    # due 2026-03-31 (annual, 3 months after 2025): April .. October 214 days + 24 = 238
    assert owed.oldest_days_past_due == 238
    assert sum(fen for _, fen in owed.by_bucket_fen) == sum(
        acc[k] - rec.get(k, 0) for k in acc if acc[k] > rec.get(k, 0)
    )
    # the payout month's run pays the first year's subsidy as late money, once
    with Ledger(ledger_path(cfg)) as led:
        late = adjustments.collect(cfg, led, parse_period("2026-11"))
    assert {a.period_of for a in late} == first_year
    assert {a.station for a in late} == {"v-dongpi", "c-a"}
