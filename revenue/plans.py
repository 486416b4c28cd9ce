"""Village distribution plans: the county policy's checks and a period's planned pool uses.

Pure functions over the validated config (core/config/plans.py). ``violations`` lists
what breaks the county policy (``pvledger plans check``, ``pvledger check``);
``unapproved`` says which pools a final run may not pay from; ``period_uses`` gives the
lines a payout run pays from a village's pools (revenue/allocate.py ``village``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from core.config import Config
from core.config.plans import APPROVAL_STEPS, Plan, Plans
from revenue.allocate import rule_for
from revenue.money import yuan_to_fen
from revenue.period import Period

#: the source written on a post wage's payout line
POST_WAGE = "post wage"
#: run state key: balances [fen] of a plan's pools other than the jobs pool, "village/pool"
POOL_BALANCE_KEY = "pool_balance_fen"


@dataclass(frozen=True)
class Violation:
    """A plan line breaking the county policy: village, year, the line and what is wrong."""

    village: str
    year: int
    line: str
    message: str
    message_zh: str = ""  # the message in Chinese, for the zh web page

    def text(self, lang: str) -> str:
        """The message in lang ("zh" or "en"); English where no Chinese is given."""
        return self.message_zh if lang == "zh" and self.message_zh else self.message

    def render(self) -> str:
        """One line for the terminal: village year line: message."""
        return f"{self.village} {self.year} {self.line}: {self.message}"


@dataclass(frozen=True)
class PlanUse:
    """One planned payment from a village pool in one month [fen]."""

    pool: str
    kind: str  # post | project | award
    line: str  # the plan line: "posts[0] 保洁员"
    month: str  # YYYY-MM
    amount_fen: int
    household: str = ""  # the post holder (post wages are payout lines to the holder)


def approval_gaps(plan: Plan, before: dt.date | None = None) -> list[str]:
    """What the plan's approval chain lacks (empty: approved), each as "step: problem".

    Every step needs a date and a reference, the dates in chain order, and, with
    ``before``, every date before that day (a plan approved before the period it pays).
    """
    out, last = [], None
    for step in APPROVAL_STEPS:
        a = getattr(plan.approvals, step)
        if a.date is None:
            out.append(f"approvals.{step}: no date")
        if not a.reference.strip():
            out.append(f"approvals.{step}: no reference")
        if a.date is not None:
            if last is not None and a.date < last:
                out.append(f"approvals.{step}: dated {a.date}, before the step ahead of it")
            if before is not None and a.date >= before:
                out.append(f"approvals.{step}: dated {a.date}, not before {before}")
            last = a.date
    return out


def _gap_zh(msg: str) -> str:
    """An approval_gaps message (after "approvals.<step>: ") in Chinese."""
    if msg == "no date":
        return "没有日期"
    if msg == "no reference":
        return "没有凭证号"
    m = re.fullmatch(r"dated (\S+), before the step ahead of it", msg)
    if m:
        return f"日期 {m[1]} 早于上一环节"
    m = re.fullmatch(r"dated (\S+), not before (\S+)", msg)
    if m:
        return f"日期 {m[1]} 不早于 {m[2]}"
    return msg


def _rule(config: Config, plan: Plan):
    start = dt.date(plan.year, 1, 1)
    return rule_for(
        config.allocation.village, start, dt.date(plan.year + 1, 1, 1), plan.village, "villages"
    )


def uses_by_month(plan: Plan, jobs_pool: str) -> list[PlanUse]:
    """Every use of the plan's year, month by month, in plan order (posts, projects, awards)."""
    out: list[PlanUse] = []
    for m in range(1, 13):
        month = f"{plan.year}-{m:02d}"
        for i, p in enumerate(plan.posts):
            if m in p.paid_months():
                out.append(PlanUse(
                    p.pool or jobs_pool, "post", f"posts[{i}] {p.name}", month,
                    yuan_to_fen(p.yuan_per_month), p.holder,
                ))  # fmt: skip
        for i, j in enumerate(plan.projects):
            if j.month == m:
                out.append(PlanUse(
                    j.pool, "project", f"projects[{i}] {j.name}", month, yuan_to_fen(j.budget_yuan)
                ))  # fmt: skip
        for i, a in enumerate(plan.awards):
            if a.month == m:
                fen = sum(yuan_to_fen(b.yuan) for b in a.beneficiaries)
                out.append(PlanUse(a.pool, "award", f"awards[{i}] {a.name}", month, fen))
    return out


def _longest_gap(months: Iterable[int]) -> tuple[int, int]:
    """The longest run of months 1..12 without a use: (length, first month)."""
    used, best, run, start = set(months), (0, 0), 0, 0
    for m in range(1, 13):
        if m in used:
            run = 0
            continue
        start = m if run == 0 else start
        run += 1
        best = max(best, (run, start), key=lambda t: t[0])
    return best


def plan_violations(config: Config, plan: Plan) -> list[Violation]:
    """What one plan breaks of the county policy and of its village's allocation rule."""
    policy = config.plans.policy if config.plans else Plans().policy
    out: list[Violation] = []

    def bad(line: str, message: str, zh: str) -> None:
        out.append(Violation(plan.village, plan.year, line, message, zh))

    for gap in approval_gaps(plan):
        step, _, msg = gap.partition(": ")
        bad(
            step,
            f"{msg}: the plan is not approved, its pools pay nothing in a final run",
            f"{_gap_zh(msg)}：方案未经批准，定稿结算中其资金池不支出",
        )
    posts, income = plan.posts_yuan(), plan.income_yuan
    if posts * 100 < policy.min_posts_percent * income:
        share = f"{posts * 100 / income:.1f}" if income else "0"
        bad(
            "posts",
            f"post wages {posts} yuan are {share} % of the income {income} yuan, "
            f"below the policy's {policy.min_posts_percent} %",
            f"公益岗位工资 {posts} 元，占收益 {income} 元的 {share} %，"
            f"低于政策要求的 {policy.min_posts_percent} %",
        )
    if plan.uses_yuan() > income:
        bad(
            "income_yuan",
            f"the plan spends {plan.uses_yuan()} yuan, more than its income {income}",
            f"方案支出 {plan.uses_yuan()} 元，超过其收益 {income} 元",
        )
    households = {h.id for h in config.households if h.village == plan.village}
    for i, p in enumerate(plan.posts):
        if p.holder not in households:
            bad(
                f"posts[{i}] {p.name}",
                f"holder {p.holder} is not a household of {plan.village}",
                f"上岗人 {p.holder} 不是 {plan.village} 的农户",
            )
    for i, a in enumerate(plan.awards):
        line = f"awards[{i}] {a.name}"
        for b in a.beneficiaries:
            if b.household not in households:
                bad(
                    line,
                    f"beneficiary {b.household} is not a household of {plan.village}",
                    f"受益户 {b.household} 不是 {plan.village} 的农户",
                )
        given = {b.household for b in a.beneficiaries}
        amounts = {b.yuan for b in a.beneficiaries}
        if (
            policy.forbid_equal_handouts
            and households
            and given >= households
            and len(amounts) == 1
        ):
            same = next(iter(amounts))
            bad(
                line,
                f"gives every household of {plan.village} the same {same} yuan: "
                "an equal per-head handout, which the policy forbids",
                f"给 {plan.village} 每户同样的 {same} 元：按人头平均发放，政策不允许",
            )
    rule = _rule(config, plan)
    if rule is None:
        bad(
            "village",
            f"no village allocation rule covers the whole of {plan.year}",
            f"没有覆盖 {plan.year} 全年的村级分配规则",
        )
        return out
    uses = uses_by_month(plan, rule.jobs_pool)
    pools = [p.name for p in rule.pools]
    for u in {(u.pool, u.line) for u in uses}:
        if u[0] not in pools:
            bad(
                u[1],
                f"pays from pool {u[0]!r}, which the village rule does not have ({pools})",
                f"从资金池 {u[0]!r} 支出，但村级规则中没有该资金池（{pools}）",
            )
    for pool in pools:
        n, first = _longest_gap(int(u.month[5:]) for u in uses if u.pool == pool)
        if n > policy.max_idle_months:
            bad(
                f"pool {pool}",
                f"no use planned for {n} months from {plan.year}-{first:02d}: its balance "
                f"would lie idle beyond the policy's {policy.max_idle_months} months",
                f"自 {plan.year}-{first:02d} 起 {n} 个月没有计划支出：余额闲置将超过"
                f"政策规定的 {policy.max_idle_months} 个月",
            )
    return out


def violations(config: Config, year: int | None = None) -> list[Violation]:
    """Every violation of every plan (of one year), sorted by village, year and line."""
    if config.plans is None:
        return []
    out = [
        v
        for plan in config.plans.villages
        if year is None or plan.year == year
        for v in plan_violations(config, plan)
    ]
    return sorted(out, key=lambda v: (v.village, v.year, v.line))


def pooled_villages(config: Config) -> list[str]:
    """The villages whose own stations feed village pools."""
    return sorted({s.owner for s in config.stations if s.kind == "village"})


def unapproved(config: Config, period: Period) -> list[tuple[str, str]]:
    """(village, why) for every pool a run of the period would pay from without an
    approved plan: each year of the period needs one, approved before the period starts."""
    if config.plans is None:
        return []
    out = []
    years = sorted({int(m[:4]) for m in period.month_ids})
    for v in pooled_villages(config):
        for y in years:
            plan = config.plans.plan_for(v, y)
            if plan is None:
                out.append((v, f"no distribution plan for {y}"))
                continue
            for gap in approval_gaps(plan, before=period.start):
                out.append((v, f"plan {y} {gap}"))
    return out


def period_uses(config: Config, village: str, period: Period, jobs_pool: str) -> list[PlanUse]:
    """The planned uses of a village's pools in the period's months, in order."""
    if config.plans is None:
        return []
    months = set(period.month_ids)
    out: list[PlanUse] = []
    for y in sorted({int(m[:4]) for m in months}):
        plan = config.plans.plan_for(village, y)
        if plan is not None:
            out += [u for u in uses_by_month(plan, jobs_pool) if u.month in months]
    return out


def idle_pools(
    history: Iterable[tuple[Period, dict]],
    jobs_pool_of: Callable[[str, Period], str | None],
    max_idle_months: int,
) -> list[Violation]:
    """Pools whose balance lay unused beyond the policy, from the final runs' state.

    ``history`` is (period, run state) of the effective final runs in period order. A pool
    paid nothing in a run when its balance is its previous balance plus its income
    (``state.amounts.villages``); months of such runs with money in the pool add up until
    the next run that pays from it.
    """
    prev: dict[str, int] = {}
    idle: dict[str, tuple[int, str]] = {}  # "village/pool" -> (months, first period)
    last = None
    for period, state in history:
        last = period
        income = state.get("amounts", {}).get("villages", {})
        balances: dict[str, int] = {}
        for v, fen in state.get("jobs_balance_fen", {}).items():
            pool = jobs_pool_of(v, period)
            if pool is not None:
                balances[f"{v}/{pool}"] = int(fen)
        balances.update({k: int(f) for k, f in state.get(POOL_BALANCE_KEY, {}).items()})
        for key, fen in balances.items():
            paid = prev.get(key, 0) + int(income.get(key, 0)) - fen
            if paid > 0 or fen <= 0:
                idle.pop(key, None)
            else:
                months, since = idle.get(key, (0, period.id))
                idle[key] = (months + period.month_count, since)
        prev = balances
    out = []
    for key, (months, since) in sorted(idle.items()):
        if months > max_idle_months and last is not None:
            village, _, pool = key.partition("/")
            yuan = f"{Decimal(prev[key]).scaleb(-2):.2f}"  # exact: fen are integers
            out.append(Violation(
                village, last.start.year, f"pool {pool}",
                f"balance {yuan} yuan unused for {months} months since {since} "
                f"(final runs up to {last.id}), beyond the policy's {max_idle_months} months",
                f"余额 {yuan} 元自 {since} 起 {months} 个月未使用（定稿结算截至 {last.id}），"
                f"超过政策规定的 {max_idle_months} 个月",
            ))  # fmt: skip
    return out


def ledger_idle_pools(config: Config, finals: Iterable[tuple[Period, str]]) -> list[Violation]:
    """``idle_pools`` over final runs given as (period, state JSON), under the config's
    rules (the jobs pool of each village and period) and policy."""
    import json

    def jobs_pool_of(village: str, period: Period) -> str | None:
        rule = rule_for(config.allocation.village, period.start, period.end, village, "villages")
        return rule.jobs_pool if rule is not None else None

    policy = config.plans.policy if config.plans else Plans().policy
    history = [(p, json.loads(s or "{}")) for p, s in finals]
    return idle_pools(history, jobs_pool_of, policy.max_idle_months)
