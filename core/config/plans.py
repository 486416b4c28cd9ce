"""The `plans:` section: each village's annual distribution plan and the county's policy.

Village income may only pay public-welfare posts, small public works and awards and
subsidies, by an annual plan the village assembly adopts, the township reviews and the
county files (DOMAIN.md, 国开办发〔2017〕61号). A plan here is data; the checks of the
county policy are revenue/plans.py, run by `pvledger plans check` and `pvledger check`.

```yaml
plans:
  policy: {min_posts_percent: "60", max_idle_months: 6, forbid_equal_handouts: true}
  villages:
    - village: dongpi
      year: 2026
      income_yuan: "50000.00"          # the income the plan distributes (its budget)
      posts:
        - {name: 保洁员, holder: hh-0001, yuan_per_month: "500.00", from_month: 1, months: 12}
      projects:
        - {name: 村道修补, approval: 乡政发〔2026〕3号, budget_yuan: "3000.00", month: 6}
      awards:
        - name: 孝老爱亲奖
          month: 12
          beneficiaries: [{household: hh-0002, yuan: "200.00"}]
      approvals:
        assembly: {date: 2025-12-20, reference: 村民代表大会决议〔2025〕4号}
        township: {date: 2026-01-05, reference: 曲濑乡审〔2026〕1号}
        county: {date: 2026-01-15, reference: 吉州区备〔2026〕7号}
```

Without the section, village pools pay the posts of the allocation rules as before; with
it, posts come from the plans only (a rule's ``posts:`` for a planned village is refused).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

from pydantic import Field, model_validator

from core.config.types import DecimalStr, Identifier, PercentStr, Section

#: the approval chain, in the order the steps happen
APPROVAL_STEPS = ("assembly", "township", "county")


class Approval(Section):
    """One step of the approval chain: its date and document reference (empty: not yet)."""

    date: dt.date | None = None
    reference: str = ""


class Approvals(Section):
    """Village assembly adopts, township reviews, county files."""

    assembly: Approval = Field(default_factory=Approval)
    township: Approval = Field(default_factory=Approval)
    county: Approval = Field(default_factory=Approval)


class PlanPost(Section):
    """A public-welfare post (公益岗位): its holder household and monthly wage."""

    name: str = Field(min_length=1)
    holder: Identifier
    yuan_per_month: DecimalStr
    #: first month of the year the post is paid (1 = January)
    from_month: int = Field(default=1, ge=1, le=12)
    #: how many months from from_month
    months: int = Field(default=12, ge=1, le=12)
    #: the pool paying it; none: the village rule's jobs_pool
    pool: Identifier | None = None

    @model_validator(mode="after")
    def _within_year(self) -> PlanPost:
        if self.from_month + self.months - 1 > 12:
            raise ValueError(
                f"from_month {self.from_month} + {self.months} months runs past December; "
                "a plan covers one year: shorten months or start earlier"
            )
        return self

    def paid_months(self) -> range:
        """The months of the year (1..12) the wage is paid."""
        return range(self.from_month, self.from_month + self.months)


class PlanProject(Section):
    """A small public work (小型公益事业) with its own approval and budget, paid in a month."""

    name: str = Field(min_length=1)
    approval: str = Field(min_length=1)
    budget_yuan: DecimalStr
    month: int = Field(ge=1, le=12)
    pool: Identifier = "projects"


class Beneficiary(Section):
    """One household's award or subsidy."""

    household: Identifier
    yuan: DecimalStr


class PlanAward(Section):
    """An award or subsidy (奖励补助) line: its beneficiaries and amounts, paid in a month."""

    name: str = Field(min_length=1)
    month: int = Field(ge=1, le=12)
    pool: Identifier = "awards"
    beneficiaries: list[Beneficiary] = Field(min_length=1)


class Plan(Section):
    """A village's distribution plan for one calendar year."""

    village: Identifier
    year: int = Field(ge=2000, le=2100)
    #: the village income the plan distributes [yuan]; the posts' share is taken of it
    income_yuan: DecimalStr
    posts: list[PlanPost] = Field(default_factory=list)
    projects: list[PlanProject] = Field(default_factory=list)
    awards: list[PlanAward] = Field(default_factory=list)
    approvals: Approvals = Field(default_factory=Approvals)

    def posts_yuan(self) -> Decimal:
        """The year's post wages [yuan]."""
        return sum((p.yuan_per_month * p.months for p in self.posts), Decimal(0))

    def uses_yuan(self) -> Decimal:
        """Everything the plan spends in the year [yuan]."""
        return (
            self.posts_yuan()
            + sum((p.budget_yuan for p in self.projects), Decimal(0))
            + sum((b.yuan for a in self.awards for b in a.beneficiaries), Decimal(0))
        )


class Policy(Section):
    """The county's rules every plan is checked against."""

    #: the posts' wages must be at least this share of the plan's income [%]
    min_posts_percent: PercentStr = Decimal("60")
    #: a pool may go at most this many months in a row without a planned use
    max_idle_months: int = Field(default=6, ge=1, le=24)
    #: refuse a line giving every household of the village the same amount
    forbid_equal_handouts: bool = True


class Plans(Section):
    """The plans section: the policy and the plans, one per village and year."""

    policy: Policy = Field(default_factory=Policy)
    villages: list[Plan] = Field(default_factory=list)

    def plan_for(self, village: str, year: int) -> Plan | None:
        """The plan of a village for a year, or None."""
        for p in self.villages:
            if p.village == village and p.year == year:
                return p
        return None


def plan_households(plan: Plan) -> Iterator[tuple[tuple, str]]:
    """Every household a plan names, with the key path (under the plan) naming it."""
    for i, p in enumerate(plan.posts):
        yield ("posts", i, "holder"), p.holder
    for i, a in enumerate(plan.awards):
        for j, b in enumerate(a.beneficiaries):
            yield ("awards", i, "beneficiaries", j, "household"), b.household


def plan_problems(
    plans: Plans, villages: Iterable[str], households: Iterable[str], rule_posts: Iterable[tuple]
) -> list[tuple[tuple, str, str]]:
    """Load-time problems of the section as (key path, message, fix).

    ``rule_posts`` lists (key path, village) of every post in the allocation rules: a
    village with a plan takes its posts from the plan only.
    """
    known_v, known_h = set(villages), set(households)
    out: list[tuple[tuple, str, str]] = []
    seen: dict[tuple[str, int], int] = {}
    for i, plan in enumerate(plans.villages):
        kp = ("plans", "villages", i)
        if plan.village not in known_v:
            out.append((
                (*kp, "village"), f"unknown village {plan.village!r}",
                "use the id of one of villages:",
            ))  # fmt: skip
        key = (plan.village, plan.year)
        if key in seen:
            out.append((
                (*kp, "year"),
                f"a second plan for {plan.village} {plan.year} "
                f"(the first is villages[{seen[key]}])",
                "keep one plan per village and year: merge them",
            ))  # fmt: skip
        seen.setdefault(key, i)
        for sub, hh in plan_households(plan):
            if hh not in known_h:
                out.append((
                    (*kp, *sub), f"unknown household {hh!r}",
                    "name a household of the registry (households:)",
                ))  # fmt: skip
    planned = {p.village for p in plans.villages}
    for kp, village in rule_posts:
        if village in planned:
            out.append((
                kp,
                f"village {village} has a distribution plan (plans:), and its posts come "
                "from the plan only",
                "move this post into the village's plan (plans.villages[].posts), "
                "and remove it here",
            ))  # fmt: skip
    return out
