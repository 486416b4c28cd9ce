"""What a report shows of a payout run, taken from the run's result (not its files).

``result_summary`` gives the demo's report (pvledger/report.py) its per-village pools,
cooperatives and the households paid most, with names masked as on every public list.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from core.config import Config
from revenue.export import adjustment_pool, mask_name
from revenue.run import RunResult


@dataclass(frozen=True)
class RunSummary:
    """A run's totals for a report [fen]."""

    #: (village name, pool, amount [fen]) in the run's order
    pools: tuple[tuple[str, str, int], ...]
    #: (cooperative id, distributable [fen], paid [fen], residue [fen])
    cooperatives: tuple[tuple[str, int, int, int], ...]
    #: (masked household name, village name, amount [fen]), highest first, then by id
    top_households: tuple[tuple[str, str, int], ...]


def result_summary(config: Config, result: RunResult, *, top: int = 10) -> RunSummary:
    """Pools per village, cooperatives and the ``top`` households paid most in a run."""
    village_name = {v.id: v.name for v in config.villages}
    pools = tuple(
        (village_name.get(p.village, p.village), p.pool, p.amount_fen) for p in result.pools
    ) + tuple(  # late money to a village's pools, as villages.csv lists it
        (village_name.get(a.payee, a.payee), adjustment_pool(a), a.amount_fen)
        for a in result.adjustments
        if a.payee_kind == "village"
    )
    coops = tuple(
        (c.cooperative, c.distributable_fen, c.paid_fen, c.residue_fen) for c in result.cooperatives
    )
    amount: dict[str, int] = defaultdict(int)
    village: dict[str, str] = {}
    for p in result.payouts:  # sorted by household: its first line names its village
        amount[p.household] += p.amount_fen
        village.setdefault(p.household, p.village)
    for a in result.adjustments:  # what households.csv counts: payable late money too
        if a.payee_kind == "household" and not a.unpaid_reason:
            amount[a.payee] += a.amount_fen
            village.setdefault(a.payee, a.village)
    ranked = sorted(amount, key=lambda h: (-amount[h], h))[:top]
    tops = []
    for h in ranked:
        hh = config.household_by_id.get(h)
        v = village[h]
        tops.append((mask_name(hh.name) if hh else h, village_name.get(v, v), amount[h]))
    return RunSummary(pools, coops, tuple(tops))
