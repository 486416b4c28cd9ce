"""Allocation rules as dated data (DOMAIN.md "Who owns the money")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from core.config.types import DecimalStr, Identifier, PercentStr, Section


class Deduction(Section):
    """A cost taken before distribution: a percentage of cash, or a fixed yuan per month."""

    name: Identifier
    percent: PercentStr | None = None
    yuan_per_month: DecimalStr | None = None

    @model_validator(mode="after")
    def _one_basis(self) -> Deduction:
        if (self.percent is None) == (self.yuan_per_month is None):
            raise ValueError('give exactly one of percent: "2.9" or yuan_per_month: "25.00"')
        return self


class Withholding(Section):
    """An amount withheld from one household's income first (e.g. loan interest)."""

    household: Identifier
    name: Identifier
    yuan_per_month: DecimalStr
    reference: str = ""  # loan contract number, approval document


class Pool(Section):
    """A village fund pool; one pool per rule takes the remainder."""

    name: Identifier
    percent: PercentStr | None = None
    remainder: bool = False

    @model_validator(mode="after")
    def _percent_or_remainder(self) -> Pool:
        if (self.percent is None) == (not self.remainder):
            raise ValueError('a pool has either percent: "60" or remainder: true')
        return self


class Post(Section):
    """A public-welfare job (公益岗位) paid monthly from the jobs pool."""

    village: Identifier
    name: str
    count: int = Field(default=1, gt=0)
    yuan_per_month: DecimalStr


class LegacyShare(Section):
    """Pre-2018 fixed payments to beneficiary households (flagged in every output)."""

    policy_flag: bool = False
    reference: str
    households: list[Identifier] = Field(min_length=1)
    yuan_per_household_per_month: DecimalStr


class _Dated(Section):
    valid_from: dt.date = Field(alias="from")
    valid_until: dt.date | None = Field(default=None, alias="until")
    approval: str = ""  # approval reference (village assembly / township / county filing)


class HouseholdRule(_Dated):
    """Household stations: the household gets the cash after its withholdings."""

    withholdings: list[Withholding] = Field(default_factory=list)


class CooperativeRule(_Dated):
    """Cooperative arrays: deductions, then per share; the residue goes where written."""

    cooperatives: list[Identifier] | None = None  # None = every cooperative
    deductions: list[Deduction] = Field(default_factory=list)
    residue_to: Literal["reserve", "carry_forward"] = "reserve"


class VillageRule(_Dated):
    """Village arrays: deductions, then pools by percentage, posts paid from the jobs pool."""

    villages: list[Identifier] | None = None  # None = every village
    deductions: list[Deduction] = Field(default_factory=list)
    pools: list[Pool] = Field(min_length=1)
    jobs_pool: Identifier = "jobs"
    posts: list[Post] = Field(default_factory=list)
    legacy_beneficiary_share: LegacyShare | None = None

    @model_validator(mode="after")
    def _pools_add_up(self) -> VillageRule:
        remainders = [p for p in self.pools if p.remainder]
        total = sum((p.percent or Decimal(0) for p in self.pools), Decimal(0))
        if len(remainders) > 1:
            raise ValueError("only one pool may take the remainder")
        if not remainders and total != 100:
            raise ValueError(
                f"pool percentages add up to {total}, not 100; "
                "make them add up or mark one pool remainder: true"
            )
        if remainders and total > 100:
            raise ValueError(f"pool percentages add up to {total}, above 100")
        if self.posts and self.jobs_pool not in {p.name for p in self.pools}:
            raise ValueError(
                f"posts are paid from jobs_pool {self.jobs_pool!r}, which is not one of the pools"
            )
        if self.legacy_beneficiary_share and not self.legacy_beneficiary_share.policy_flag:
            raise ValueError(
                "legacy_beneficiary_share is only accepted with policy_flag: true "
                "(国开办发〔2017〕61号 forbids cash handouts from village stations)"
            )
        return self


class EnergySettings(Section):
    """How period energy is read from counters (revenue/energy.py)."""

    #: longest gap between the readings around a period boundary that may be interpolated;
    #: loggers sleep at night, so this must span a winter night
    gap_limit_h: float = Field(default=16, gt=0, le=24 * 31)
    #: a counter step above nameplate x elapsed time x this factor is an error to decide
    jump_factor: DecimalStr = Decimal("1.0")
    #: power samples further apart than this are not integrated across (estimates only)
    power_gap_limit_s: int = Field(default=900, gt=0)


class Allocation(Section):
    """All allocation rules, per station kind, each dated."""

    energy: EnergySettings = Field(default_factory=EnergySettings)
    household: list[HouseholdRule] = Field(default_factory=list)
    cooperative: list[CooperativeRule] = Field(default_factory=list)
    village: list[VillageRule] = Field(default_factory=list)


def rule_overlaps(allocation: Allocation) -> list[tuple[tuple, str]]:
    """Dated rules of one kind that overlap for the same scope, as (key path, message).

    Two rules overlap when their date ranges intersect and their scopes (the listed
    cooperatives/villages, or every one when not listed) share a member. A specific rule
    next to a catch-all rule is allowed: the specific one wins for its members.
    """
    out: list[tuple[tuple, str]] = []
    for kind, scope_attr in (
        ("household", ""),
        ("cooperative", "cooperatives"),
        ("village", "villages"),
    ):
        rules = getattr(allocation, kind)
        for i, a in enumerate(rules):
            for j in range(i + 1, len(rules)):
                b = rules[j]
                sa = getattr(a, scope_attr, None) if scope_attr else None
                sb = getattr(b, scope_attr, None) if scope_attr else None
                if (sa is None) != (sb is None):
                    continue
                if sa is not None and not set(sa) & set(sb):
                    continue
                a_end, b_end = a.valid_until or dt.date.max, b.valid_until or dt.date.max
                if a.valid_from < b_end and b.valid_from < a_end:
                    out.append(
                        (
                            ("allocation", kind, j, "from"),
                            f"{kind} rule {j} overlaps rule {i} (dates {b.valid_from} .. "
                            f"{b.valid_until or 'open end'} and {a.valid_from} .. "
                            f"{a.valid_until or 'open end'})",
                        )
                    )
    return out
