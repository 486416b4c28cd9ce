"""Village distribution plans (issue 17 item 1): the list and one plan per village and year.

/plans/ lists the plans of the villages a user may see (?year=Y for one year), each with
its totals, whether its approval chain is complete and how many policy violations it has;
/plans/<village>/<year>/ shows one plan: posts (holder masked as on the notice), works
with their approval and budget, awards, the approval chain, the county policy's check
(revenue/plans.py, the functions `pvledger plans check` runs) and the pool balances of
the latest final run in the ledger. Action ``plans.view``; read-only; a village user
gets 404 for another village's plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from web import policy, runtime
from web.nav import NavItem
from web.pages.runs_text import lang

nav = NavItem(_("Plans"), "plans", "plans.view", order=46)

#: the approval chain's steps as the page names them, in chain order
STEP_LABELS = {
    "assembly": _("Village assembly"),
    "township": _("Township review"),
    "county": _("County filing"),
}

#: the pools the shipped allocation rules name; another pool shows its config id
POOL_LABELS = {
    "jobs": _("posts pool"),
    "projects": _("public works pool"),
    "awards": _("awards pool"),
}


def pool_label(pool: str) -> str:
    """The page's name of a village pool (its config id when it has none)."""
    return str(POOL_LABELS.get(pool, pool))


def yuan(amount: Decimal) -> str:
    """A config amount [yuan] with two decimals, for the page."""
    from revenue.money import fen_to_yuan_str, yuan_to_fen

    return fen_to_yuan_str(yuan_to_fen(amount))


def masked_holder(config, household_id: str) -> str:
    """The household's name masked as on the notice (张*三); the id when unknown."""
    from revenue.export import mask_name

    h = config.household_by_id.get(household_id)
    return mask_name(h.name) if h is not None else household_id


@dataclass(frozen=True)
class PoolBalance:
    """A pool's balance after a final run [fen shown as yuan]."""

    pool: str  # the config id
    label: str  # the page's name
    yuan: str


def _final_runs(config):
    """(period, run) of every effective final run in period order; [] without a ledger."""
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path
    from revenue.period import parse_period

    p = ledger_path(config)
    if not p.exists():  # never create a ledger from a page
        return []
    with Ledger(p) as ledger:
        finals = [ledger.effective_final(x) for x in sorted({r.period for r in ledger.runs()})]
    return sorted(
        ((parse_period(r.period), r) for r in finals if r is not None),
        key=lambda t: t[0].start,
    )


def latest_balances(config, village: str, finals) -> tuple[object, list[PoolBalance]]:
    """(the latest final run, the village's pool balances after it); (None, []) if none."""
    import json

    from revenue.allocate import rule_for
    from revenue.money import fen_to_yuan_str
    from revenue.plans import POOL_BALANCE_KEY

    if not finals:
        return None, []
    period, run = finals[-1]
    state = json.loads(run.state or "{}")
    out: dict[str, int] = {}
    if village in state.get("jobs_balance_fen", {}):
        rule = rule_for(config.allocation.village, period.start, period.end, village, "villages")
        if rule is not None:
            out[rule.jobs_pool] = int(state["jobs_balance_fen"][village])
    for key, fen in state.get(POOL_BALANCE_KEY, {}).items():
        v, _, pool = key.partition("/")
        if v == village:
            out[pool] = int(fen)
    return run, [PoolBalance(k, pool_label(k), fen_to_yuan_str(f)) for k, f in sorted(out.items())]


def plan_check(config, plan, finals) -> list:
    """The plan's violations: its own (plan_violations) and its pools idle in the ledger's
    final runs (ledger_idle_pools), as `pvledger plans check` lists them."""
    from revenue.plans import ledger_idle_pools, plan_violations

    found = plan_violations(config, plan)
    history = [(p, r.state) for p, r in finals]
    found += [
        v
        for v in ledger_idle_pools(config, history)
        if v.village == plan.village and v.year == plan.year
    ]
    return sorted(found, key=lambda v: v.line)


def _plans(config):
    return list(config.plans.villages) if config.plans is not None else []


@policy.requires("plans.view")
def plans(request: HttpRequest) -> HttpResponse:
    """The plans of the user's villages (one year with ?year=), with their check counts."""
    from revenue.plans import approval_gaps, plan_violations

    config = runtime.config()
    allowed = _plans(config)
    allowed = policy.visible(request.user, allowed, lambda p: p.village)
    years = sorted({p.year for p in allowed})
    try:
        year = int(request.GET["year"]) if request.GET.get("year") else None
    except ValueError:
        raise Http404("no such year") from None
    names = {v.id: v.name for v in config.villages}
    rows = [
        {
            "village": p.village,
            "village_name": names.get(p.village, p.village),
            "year": p.year,
            "income": yuan(p.income_yuan),
            "posts": yuan(p.posts_yuan()),
            "uses": yuan(p.uses_yuan()),
            "approved": not approval_gaps(p),
            "violations": len(plan_violations(config, p)),
        }
        for p in sorted(allowed, key=lambda p: (p.year, p.village))
        if year is None or p.year == year
    ]
    return render(
        request,
        "plans/list.html",
        {"rows": rows, "years": years, "year": year, "configured": config.plans is not None},
    )


@policy.requires("plans.view")
def plan(request: HttpRequest, village_id: str, year: int) -> HttpResponse:
    """One village's plan of one year; 404 outside the user's villages or without a plan."""
    from revenue.plans import approval_gaps

    v = policy.village_or_404(request.user, village_id)
    config = runtime.config()
    found = config.plans.plan_for(village_id, year) if config.plans is not None else None
    if found is None:
        raise Http404("no such plan")
    finals = _final_runs(config)
    run, balances = latest_balances(config, village_id, finals)
    posts = [
        {
            "name": p.name,
            "holder": masked_holder(config, p.holder),
            "wage": yuan(p.yuan_per_month),
            "months": f"{p.from_month}–{p.from_month + p.months - 1}",
            "count": p.months,
            "total": yuan(p.yuan_per_month * p.months),
            "pool": pool_label(p.pool) if p.pool else "",
        }
        for p in found.posts
    ]
    awards = [
        {
            "name": a.name,
            "month": a.month,
            "pool": pool_label(a.pool),
            "lines": [(masked_holder(config, b.household), yuan(b.yuan)) for b in a.beneficiaries],
            "total": yuan(sum((b.yuan for b in a.beneficiaries), Decimal(0))),
        }
        for a in found.awards
    ]
    steps = [
        {"label": label, "date": getattr(found.approvals, s).date,
         "reference": getattr(found.approvals, s).reference}
        for s, label in STEP_LABELS.items()
    ]  # fmt: skip
    pol = config.plans.policy
    projects = [
        {"name": j.name, "approval": j.approval, "budget": yuan(j.budget_yuan),
         "month": j.month, "pool": pool_label(j.pool)}
        for j in found.projects
    ]  # fmt: skip
    return render(
        request,
        "plans/plan.html",
        {
            "village": v,
            "plan": found,
            "income": yuan(found.income_yuan),
            "posts_total": yuan(found.posts_yuan()),
            "uses_total": yuan(found.uses_yuan()),
            "posts": posts,
            "projects": projects,
            "awards": awards,
            "steps": steps,
            "approved": not approval_gaps(found),
            "violations": [  # Chinese on the zh page (revenue/plans.Violation.message_zh)
                {"line": v.line, "message": v.text(lang())}
                for v in plan_check(config, found, finals)
            ],
            "policy": pol,
            "min_posts": f"{pol.min_posts_percent} %",
            "run": run,
            "balances": balances,
        },
    )


urlpatterns = [
    path("plans/", plans, name="plans"),
    path("plans/<str:village_id>/<int:year>/", plan, name="plan"),
]
