"""Property (issue 16): a late receipt is paid exactly once, to the owners of its period.

Pure: the late-money case's config (tests/revenue/cases/late-money: coop-a's hh-2 leaves
and hh-3 joins on 2026-08-01), random receipt shares, and a run for every month after
them; each run pays what ``revenue.late_money`` finds less the keys earlier runs paid
(``revenue.adjustments.unpaid``), as ``adjustments.collect`` does with the ledger.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from core.config import load_config
from revenue.adjustments import unpaid
from revenue.late_money import Share, allocate_late, allocate_share, period_of
from revenue.period import parse_period
from tests.revenue.helpers import CASES

CFG = load_config(CASES / "late-money" / "config.yaml")
MONTHS = [f"2026-{m:02d}" for m in range(1, 11)]
RUNS = [parse_period(p) for p in [*(f"2026-{m:02d}" for m in range(2, 13)), "2027-01"]]
COMPONENTS = ("national_subsidy", "coal_benchmark")


@st.composite
def shares(draw) -> list[Share]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        month = draw(st.sampled_from(MONTHS))
        start = parse_period(month).start
        out.append(
            Share(
                "finance_bureau",
                f"R{i}",
                start + dt.timedelta(days=draw(st.integers(0, 200))),
                draw(st.sampled_from(("v-dongpi", "s-hh-1", "c-a"))),
                draw(st.sampled_from(COMPONENTS)),
                month,
                draw(st.integers(1, 50_000_000)),
            )
        )
    return out


@settings(max_examples=150, deadline=None)
@given(shares())
def test_a_late_receipt_is_paid_exactly_once_to_the_owners_of_its_period(got: list[Share]):
    paid: dict[str, str] = {}
    for run in RUNS:
        found = [ln for a in allocate_late(CFG, got, run) for ln in a.lines]
        for ln in unpaid(found, paid):
            assert ln.key not in paid
            paid[ln.key] = run.id
    for sh in got:
        a = allocate_share(CFG, sh)
        # not a fen created or lost: lines + deductions = the share
        assert sum(ln.amount_fen for ln in a.lines) + a.deductions_fen == sh.amount_fen
        assert all(ln.amount_fen >= 0 for ln in a.lines)
        runs = {paid.get(ln.key) for ln in a.lines}
        if sh.component == "coal_benchmark":
            assert runs <= {None}  # cash now in its own period: never late money
            continue
        # every line by one run: the first after the share's period once the money is in
        p = period_of(sh.period)
        first = next((r.id for r in RUNS if r.start >= p.end and r.end > sh.received_on), None)
        assert runs == {first}  # None: received after the last run, not paid yet
        if sh.station == "c-a":
            then = {
                m.household for m in CFG.cooperative_by_id["coop-a"].members_during(p.start, p.end)
            }
            hh = {ln.payee for ln in a.lines if ln.payee_kind == "household"}
            assert hh == then  # the members of that period, each with a line
            assert ("hh-3" in hh) == (p.start >= dt.date(2026, 8, 1))
            assert ("hh-2" in hh) == (p.start < dt.date(2026, 8, 1))
