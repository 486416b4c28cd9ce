"""`pvledger check`: validate the config and summarise the fleet on one screen."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING

from pvledger.commands.common import config_from

if TYPE_CHECKING:
    from core.config import Config


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "check",
        help="validate the config; exit 0 or list every problem",
        description="Validate config.yaml (and the registry CSV files it names), "
        "then each protocol's checks (register maps, RS485 line settings, unit ids), "
        "without touching the network. Exit 0 with a fleet summary, "
        "or 2 listing every problem with its key path and fix.",
    )
    p.set_defaults(func=run)


def summary(cfg: Config) -> str:
    """The one-screen fleet summary."""
    lines = [
        f"{cfg.path}: OK",
        f"site      {cfg.site.name} ({cfg.site.timezone}, "
        f"{cfg.site.latitude:.2f}N {cfg.site.longitude:.2f}E), gateway {cfg.site.gateway}",
    ]
    lines.append(f"villages  {len(cfg.villages)}")
    coop_members = sum(len(c.members) for c in cfg.cooperatives)
    shares = sum(m.shares for c in cfg.cooperatives for m in c.members)
    lines.append(
        f"registry  {len(cfg.households)} households; {len(cfg.cooperatives)} "
        f"cooperatives with {coop_members} members holding {shares} shares"
    )
    by_kind: Counter[str] = Counter()
    kw: Counter[str] = Counter()
    for s in cfg.stations:
        by_kind[s.kind] += 1
        kw[s.kind] += s.capacity_kw
    lines.append(f"stations  {len(cfg.stations)}, {sum(kw.values()):,.0f} kW")
    for kind in ("village", "cooperative", "household"):
        if by_kind[kind]:
            lines.append(f"  {kind:<12}{by_kind[kind]:>5}  {kw[kind]:>9,.0f} kW")
    by_src: Counter[str] = Counter(d.source for _, d in cfg.devices())
    endpoints = {getattr(d, "endpoint", None) for _, d in cfg.devices("modbus-tcp", "modbus-rtu")}
    lines.append(f"devices   {sum(by_src.values())} on {len(endpoints)} Modbus endpoints")
    for src in ("modbus-tcp", "modbus-rtu", "mqtt"):
        if by_src[src]:
            lines.append(f"  {src:<12}{by_src[src]:>5}")
    lines.append(f"tariffs   {', '.join(t.id for t in cfg.tariffs) or 'none'}")
    lines.append(
        f"storage   {cfg.storage.backend}"
        f" {cfg.storage.path if cfg.storage.backend == 'sqlite' else cfg.storage.url}"
    )
    lines.append(
        f"alerts    {len(cfg.alerts.rules)} rules, "
        f"{len(cfg.alerts.notify)} notifiers ({cfg.alerts.language})"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Validate (config, then each protocol's checks) and print the summary.

    BadInput propagates to exit 2 before anything is printed.
    """
    from pvledger.checks import check_protocols

    cfg = config_from(args)
    check_protocols(cfg)
    print(summary(cfg))
    _payee_warnings(cfg)
    return _plan_violations(cfg)


def _plan_violations(cfg: Config) -> int:
    """The distribution plans against the county policy (`pvledger plans check`): 1 when
    any plan breaks it, each violation listed."""
    from pvledger.commands.plans import violation_lines

    if cfg.plans is None:
        return 0
    lines = violation_lines(cfg)
    print(f"plans     {len(cfg.plans.villages)}, {len(lines)} policy violations")
    for line in lines:
        print(f"  {line}")
    return 1 if lines else 0


def _payee_warnings(cfg: Config, shown: int = 20) -> None:
    """Missing or invalid accounts and ID numbers: warnings (the lines stay unpaid and are
    carried to the next run, docs/payments.md), not problems that refuse the config."""
    import sys

    from core.config.payees import registry_problems

    warnings = registry_problems(cfg)
    for w in warnings[:shown]:
        print(f"warning: {w.render()}", file=sys.stderr)
    if len(warnings) > shown:
        print(f"warning: ... and {len(warnings) - shown} more payee warnings", file=sys.stderr)
    if warnings:
        print(f"payees    {len(warnings)} warnings (accounts, ID numbers)")
