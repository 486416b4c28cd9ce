"""`pvledger plans check|import`: village distribution plans against the county policy."""

from __future__ import annotations

import argparse
from pathlib import Path

from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand and its two actions."""
    p = sub.add_parser(
        "plans",
        help="village distribution plans: check them against the policy, import a sheet",
        description="Village income pays only public-welfare posts, small public works and "
        "awards, by an annual plan approved by the village assembly, the township and the "
        "county (config plans:, docs/payments.md).",
    )
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    c = acts.add_parser(
        "check",
        help="list every policy violation with its village and line",
        description="Exit 0 when every plan keeps the policy, 1 listing each violation "
        "(village, year, plan line, what is wrong), 2 for bad input. With a ledger, the "
        "final runs' pool balances are checked too: a pool unused beyond "
        "policy.max_idle_months is listed.",
    )
    c.add_argument("--year", type=int, help="only the plans of this year")
    c.set_defaults(func=run_check)
    i = acts.add_parser(
        "import",
        help="turn a village's plan sheet (xlsx) into a plans.villages entry",
        description="Read the first sheet of FILE.xlsx (layout: docs/payments.md, example "
        "docs/examples/plan-dongpi-2026.xlsx), check it against the registry, and print "
        "the YAML entry for plans.villages (or write it to --out). A bad cell exits 2 "
        "naming the cell and writes nothing.",
    )
    i.add_argument("file", type=Path)
    i.add_argument("--out", type=Path, help="write the YAML here instead of printing it")
    i.set_defaults(func=run_import)


def violation_lines(config, year: int | None = None) -> list[str]:
    """Every policy violation of the config's plans, one rendered line each."""
    from revenue.plans import violations

    return [v.render() for v in violations(config, year)]


def idle_lines(config, year: int | None = None) -> list[str]:
    """Pools whose balance lay unused beyond the policy in the ledger's final runs (none
    when there is no ledger yet; the ledger is only read)."""
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path
    from revenue.period import parse_period
    from revenue.plans import ledger_idle_pools

    path = ledger_path(config)
    if not path.exists():
        return []
    with Ledger(path) as ledger:
        finals = [ledger.effective_final(p) for p in sorted({r.period for r in ledger.runs()})]
    history = sorted(
        ((parse_period(r.period), r.state) for r in finals if r is not None),
        key=lambda t: t[0].start,
    )
    found = ledger_idle_pools(config, history)
    return [v.render() for v in found if year is None or v.year == year]


def run_check(args: argparse.Namespace) -> int:
    """Print each violation; exit 1 when there is any."""
    config = config_from(args)
    if config.plans is None:
        print(f"{config.path}: no plans: section (village pools pay the rules' posts)")
        return 0
    lines = violation_lines(config, args.year) + idle_lines(config, args.year)
    for line in lines:
        print(line)
    n = sum(1 for p in config.plans.villages if args.year is None or p.year == args.year)
    if lines:
        print(f"{len(lines)} violations in {n} plans")
        return 1
    print(f"{n} plans keep the policy")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Print (or write) the plan of a sheet as YAML; bad cells exit 2."""
    from core.problems import BadInput, Problem
    from revenue.plan_import import read_plan, to_yaml

    config = config_from(args)
    if not args.file.exists():
        raise BadInput([Problem(str(args.file), "no such file", "check the path")])
    text = to_yaml(read_plan(config, args.file))
    if args.out is None:
        print(text, end="")
    else:
        args.out.write_text(text, encoding="utf-8")
        print(f"{args.out}: the plan of {args.file.name}; add it under plans.villages:")
    return 0
