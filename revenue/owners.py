"""The allocation stage: a station's cash goes where its owner kind says (a table, not branches).

Per station, ``OWNER_KINDS[station.kind].station`` takes its deductions and returns what is
distributable; household stations pay their household at once, cooperative and village
stations add to their owner's total. After every station, ``OWNER_KINDS[kind].owners``
shares those totals out: cooperatives to their members by shares, villages to their
pools. The money rules themselves are the pure functions of revenue/allocate.py.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from core.config import Config
from core.config.model import Station
from revenue import allocate as al
from revenue import plans
from revenue.period import Period


@dataclass(frozen=True)
class StationShare:
    """What allocation did with one station's cash now [fen]."""

    deductions: tuple[al.DeductionLine, ...]
    distributable_fen: int
    flags: tuple[str, ...] = ()


@dataclass
class Allocation:
    """One period's allocation in progress: lines so far and the totals per owner [fen]."""

    config: Config
    period: Period
    carried_in_fen: dict[str, int]
    household_rule: object = None
    #: monthly withholdings [fen] taken so far per "household/name" (once per household)
    withheld_fen: dict[str, int] = field(default_factory=dict)
    #: owner kind -> owner id -> distributable of its stations [fen]
    owner_fen: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    payouts: list[al.PayoutLine] = field(default_factory=list)
    cooperatives: list[al.CoopLine] = field(default_factory=list)
    pools: list[al.PoolLine] = field(default_factory=list)
    #: what the next period starts from (jobs pool balances)
    state: dict = field(default_factory=lambda: {"jobs_balance_fen": {}})
    errors: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, config: Config, period: Period, carried_in_fen: dict[str, int]) -> Allocation:
        """An empty allocation for a period, with the household rule looked up once."""
        p = period
        hh = al.rule_for(config.allocation.household, p.start, p.end)
        return cls(config, period, carried_in_fen, household_rule=hh)

    def rule(self, kind: str, owner: str):
        """The dated rule of a cooperative or village owner covering the period, or None."""
        rules, attr = _RULES[kind]
        return al.rule_for(
            getattr(self.config.allocation, rules), self.period.start, self.period.end, owner, attr
        )

    def add_to_owner(self, kind: str, owner: str, fen: int) -> None:
        """Add a station's distributable [fen] to its owner's total."""
        totals = self.owner_fen[kind]
        totals[owner] = totals.get(owner, 0) + fen


_RULES = {"cooperative": ("cooperative", "cooperatives"), "village": ("village", "villages")}


def _household_station(a: Allocation, s: Station, cash_fen: int) -> StationShare:
    if a.household_rule is None:
        a.errors.append(f"{s.id}: no household allocation rule covers {a.period.id}")
    deds, dist, line = al.household_station(
        s.id,
        s.owner,
        s.village,
        cash_fen,
        a.household_rule,  # type: ignore[arg-type]
        a.period.month_count,
        a.withheld_fen,
    )
    a.payouts.append(line)
    return StationShare(tuple(deds), dist)


def _owned_station(kind: str) -> Callable[[Allocation, Station, int], StationShare]:
    """Cooperative and village stations: deductions by the owner's rule, the rest to it."""

    def share(a: Allocation, s: Station, cash_fen: int) -> StationShare:
        rule = a.rule(kind, s.owner)
        if rule is None:
            a.errors.append(f"{s.id}: no {kind} allocation rule covers {a.period.id}")
        deds, dist = al.deduct(
            s.id, cash_fen, rule.deductions if rule else (), a.period.month_count
        )
        a.add_to_owner(kind, s.owner, dist)
        legacy = getattr(rule, "legacy_beneficiary_share", None)
        flags = (
            (f"legacy_beneficiary_share:{legacy.reference}",)
            if legacy and legacy.policy_flag
            else ()
        )
        return StationShare(tuple(deds), dist, flags)

    return share


def _cooperatives(a: Allocation, village_of: dict[str, str]) -> None:
    totals = a.owner_fen.get("cooperative", {})
    for c in sorted(a.config.cooperatives, key=lambda c: c.id):
        rule = a.rule("cooperative", c.id)
        if rule is None:
            continue
        # the members of the period (dated membership, core/config/model.py Member)
        members = c.members_during(a.period.start, a.period.end)
        if not members:
            a.errors.append(f"{c.id}: no member holds shares for the whole of {a.period.id}")
            continue
        coop = c if len(members) == len(c.members) else c.model_copy(update={"members": members})
        lines, line = al.cooperative(coop, totals.get(c.id, 0), rule, village_of)
        a.payouts += lines
        a.cooperatives.append(line)


def _villages(a: Allocation, village_of: dict[str, str]) -> None:
    totals = a.owner_fen.get("village", {})
    for v in sorted(totals):
        rule = a.rule("village", v)
        if rule is None:
            continue
        planned = a.config.plans is not None  # then pools pay by the plans only
        uses = plans.period_uses(a.config, v, a.period, rule.jobs_pool) if planned else None
        carried = {
            k.split("/", 1)[1]: fen for k, fen in a.carried_in_fen.items() if k.startswith(f"{v}/")
        }
        lines, pools = al.village(
            v, totals[v], rule, a.period.month_count, a.carried_in_fen.get(v, 0), village_of,
            uses, carried,
        )  # fmt: skip
        a.payouts += lines
        a.pools += pools
        for p in pools:
            if p.pool == rule.jobs_pool:
                a.state["jobs_balance_fen"][v] = p.balance_fen
            elif planned:  # a plan's other pools carry their balance too
                a.state.setdefault(plans.POOL_BALANCE_KEY, {})[f"{v}/{p.pool}"] = p.balance_fen


@dataclass(frozen=True)
class OwnerKind:
    """How one owner kind is allocated: per station, then per owner after every station."""

    station: Callable[[Allocation, Station, int], StationShare]
    owners: Callable[[Allocation, dict[str, str]], None] | None = None


#: station kind -> its allocation; a new kind of owner is one entry here
OWNER_KINDS: dict[str, OwnerKind] = {
    "household": OwnerKind(_household_station),
    "cooperative": OwnerKind(_owned_station("cooperative"), _cooperatives),
    "village": OwnerKind(_owned_station("village"), _villages),
}


def allocate_station(a: Allocation, s: Station, cash_fen: int) -> StationShare:
    """Deductions and distributable of one station's cash now [fen], by its owner kind."""
    return OWNER_KINDS[s.kind].station(a, s, cash_fen)


def finish(a: Allocation) -> None:
    """Share the owners' totals out (cooperatives, then villages); payouts sorted."""
    village_of = {h.id: h.village for h in a.config.households}
    for kind in OWNER_KINDS.values():
        if kind.owners is not None:
            kind.owners(a, village_of)
    a.payouts.sort(key=lambda p: (p.household, p.kind, p.source))
