"""Allocation: distributable cash -> households, cooperative members, village pools.

Pure functions over integer fen; every rule comes from config (allocation:), dated.
Percent deductions are taken on the gross cash of the period (DOMAIN.md worked examples);
fixed deductions are yuan per month x months in the period; deductions stop at the cash
available (a shortfall is noted, a line is never negative).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from core.config.allocation import (
    CooperativeRule,
    Deduction,
    HouseholdRule,
    VillageRule,
)
from core.config.model import Cooperative
from revenue.money import (
    percent_fen,
    round_fen,
    shares_half_up,
    split_largest_remainder,
    yuan_to_fen,
)


@dataclass(frozen=True)
class DeductionLine:
    """A cost or withholding taken from a station's (or cooperative's) cash [fen]."""

    owner: str
    name: str
    amount_fen: int
    note: str = ""


@dataclass(frozen=True)
class PayoutLine:
    """Money for one household from one source (a station, a cooperative, a legacy share)."""

    household: str
    village: str
    source: str
    kind: str  # station | cooperative | legacy
    amount_fen: int
    flags: str = ""


@dataclass(frozen=True)
class PoolLine:
    """A village pool's share of the period; the jobs pool pays posts and carries its balance."""

    village: str
    pool: str
    amount_fen: int
    carried_in_fen: int = 0
    paid_fen: int = 0
    balance_fen: int = 0
    flags: str = ""
    #: the plan lines this pool paid or could not pay this period (revenue/plans.py)
    uses: tuple[UseLine, ...] = ()


@dataclass(frozen=True)
class UseLine:
    """A planned use of a pool in a month: paid whole, or unpaid when the pool ran short [fen]."""

    village: str
    pool: str
    kind: str  # post | project | award
    line: str
    month: str
    amount_fen: int
    household: str = ""
    paid: bool = True


@dataclass(frozen=True)
class CoopLine:
    """A cooperative's distributable amount, what its members got, and the residue."""

    cooperative: str
    distributable_fen: int
    paid_fen: int
    residue_fen: int
    residue_to: str
    members: int


def rule_for(rules: Sequence, start: dt.date, end: dt.date, key: str | None = None, attr: str = ""):
    """The dated rule covering [start, end) whole (specific lists win over catch-alls).

    Returns None when no single rule covers the period (a rule change mid-period is refused).
    """
    best = None
    for r in rules:
        scope = getattr(r, attr, None) if attr else None
        if scope is not None and key not in scope:
            continue
        covers = r.valid_from <= start and (r.valid_until is None or r.valid_until >= end)
        more_specific = best is None or (scope is not None and getattr(best, attr, None) is None)
        if covers and more_specific:
            best = r
    return best


def deduct(
    owner: str, cash_fen: int, deductions: Sequence[Deduction], months: int
) -> tuple[list[DeductionLine], int]:
    """Apply deductions in order to gross cash [fen]; returns (lines, distributable [fen])."""
    lines, left = [], cash_fen
    for d in deductions:
        if d.percent is not None:
            want = percent_fen(cash_fen, d.percent)
        else:
            want = yuan_to_fen(d.yuan_per_month) * months  # type: ignore[arg-type]
        take = min(want, left)
        note = "" if take == want else f"short by {want - take} fen (cash exhausted)"
        lines.append(DeductionLine(owner, d.name, take, note))
        left -= take
    return lines, left


def household_station(
    station_id: str,
    household: str,
    village: str,
    cash_fen: int,
    rule: HouseholdRule | None,
    months: int,
    withheld_so_far: dict[str, int],
) -> tuple[list[DeductionLine], int, PayoutLine]:
    """A household station: withholdings of its owner first, the rest to the household.

    ``withheld_so_far`` [fen] per withholding name carries across a household's stations so
    a monthly amount is withheld once per household, not once per station.
    """
    lines, left = [], cash_fen
    for w in rule.withholdings if rule else ():
        if w.household != household:
            continue
        key = f"{household}/{w.name}"
        want = yuan_to_fen(w.yuan_per_month) * months - withheld_so_far.get(key, 0)
        take = max(min(want, left), 0)
        withheld_so_far[key] = withheld_so_far.get(key, 0) + take
        note = w.reference + ("" if take == want else f"; short by {want - take} fen")
        lines.append(DeductionLine(station_id, w.name, take, note))
        left -= take
    return lines, left, PayoutLine(household, village, station_id, "station", left)


def cooperative(
    coop: Cooperative, distributable_fen: int, rule: CooperativeRule, village_of: dict[str, str]
) -> tuple[list[PayoutLine], CoopLine]:
    """Per share to members (ROUND_HALF_UP per line); the residue goes where the rule says."""
    shares = {m.household: m.shares for m in coop.members}
    lines, residue = shares_half_up(distributable_fen, shares)
    payouts = [
        PayoutLine(h, village_of.get(h, coop.village), coop.id, "cooperative", amt)
        for h, amt in sorted(lines.items())
    ]
    paid = sum(lines.values())
    return payouts, CoopLine(coop.id, distributable_fen, paid, residue, rule.residue_to, len(lines))


def village(
    village_id: str,
    distributable_fen: int,
    rule: VillageRule,
    months: int,
    carried_in_fen: int,
    village_of: dict[str, str],
    uses: Sequence | None = None,
    carried_pools_fen: dict[str, int] | None = None,
) -> tuple[list[PayoutLine], list[PoolLine]]:
    """Legacy share (flagged, if the policy allows), then pools, then what the pools pay.

    Percent pools are rounded half-up each; the remainder pool takes exactly what is left.
    Without a remainder pool the percentages add up to 100 and the split is by largest
    remainder. Without a plan (``uses`` None) the rule's posts are paid from the jobs
    pool's balance (carried in + this period). With a plan, ``uses`` (revenue/plans.py
    PlanUse) are paid in order from their pool's balance, each whole or not at all; the
    jobs pool's carried balance is ``carried_in_fen``, the others' ``carried_pools_fen``
    by pool name; post wages become payout lines to the holders (source "post wage").
    What is left carries forward.
    """
    payouts: list[PayoutLine] = []
    left = distributable_fen
    legacy = rule.legacy_beneficiary_share
    flag = ""
    if legacy is not None and legacy.policy_flag:
        flag = f"legacy_beneficiary_share:{legacy.reference}"
        each = yuan_to_fen(legacy.yuan_per_household_per_month) * months
        for h in sorted(legacy.households):
            if village_of.get(h) != village_id:
                continue
            amt = min(each, left)
            left -= amt
            payouts.append(PayoutLine(h, village_id, village_id, "legacy", amt, flag))
    pools: dict[str, int]
    rest = [p for p in rule.pools if p.remainder]
    if rest:
        pools = {p.name: round_fen(left * p.percent / 100) for p in rule.pools if not p.remainder}
        pools[rest[0].name] = left - sum(pools.values())
    else:
        pools = split_largest_remainder(left, {p.name: p.percent for p in rule.pools})
    if uses is not None:
        carried = dict(carried_pools_fen or {})
        carried[rule.jobs_pool] = carried_in_fen
        out = [
            _planned_pool(village_id, p.name, pools[p.name], carried.get(p.name, 0), uses, flag)
            for p in rule.pools
        ]
        return payouts + _wage_lines(village_id, out), out
    wages = sum(
        yuan_to_fen(p.yuan_per_month) * p.count * months
        for p in rule.posts
        if p.village == village_id
    )
    out = []
    for p in rule.pools:
        amt = pools[p.name]
        if p.name == rule.jobs_pool:
            avail = carried_in_fen + amt
            paid = min(wages, max(avail, 0))
            note = "" if paid == wages else f"posts short by {wages - paid} fen"
            out.append(
                PoolLine(
                    village_id, p.name, amt, carried_in_fen, paid, avail - paid, _join(flag, note)
                )
            )
        else:
            out.append(PoolLine(village_id, p.name, amt, 0, 0, amt, flag))
    return payouts, out


def _planned_pool(
    village_id: str, pool: str, amount_fen: int, carried_fen: int, uses: Sequence, flag: str
) -> PoolLine:
    """One pool paying its planned uses in order, each whole while the balance lasts."""
    avail, lines = carried_fen + amount_fen, []
    for u in uses:
        if u.pool != pool:
            continue
        paid = u.amount_fen <= avail
        avail -= u.amount_fen if paid else 0
        lines.append(
            UseLine(village_id, pool, u.kind, u.line, u.month, u.amount_fen, u.household, paid)
        )
    short = sum(u.amount_fen for u in lines if not u.paid)
    note = f"plan lines short by {short} fen (unpaid, balance too small)" if short else ""
    paid_fen = sum(u.amount_fen for u in lines if u.paid)
    return PoolLine(
        village_id, pool, amount_fen, carried_fen, paid_fen, avail, _join(flag, note), tuple(lines)
    )


def _wage_lines(village_id: str, pools: list[PoolLine]) -> list[PayoutLine]:
    """The paid post wages as one payout line per holder (source "post wage")."""
    fen: dict[str, int] = {}
    for p in pools:
        for u in p.uses:
            if u.kind == "post" and u.paid:
                fen[u.household] = fen.get(u.household, 0) + u.amount_fen
    return [PayoutLine(h, village_id, "post wage", "post", fen[h]) for h in sorted(fen)]


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
