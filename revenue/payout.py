"""The payout workflow: guard the ledger and the period, compute a run, publish it.

Publishing (revenue/publish.py) checks the result again, records it in the ledger and
writes its files; nothing is exported while a mandatory check fails.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from core.store.base import Store
from revenue import adjustments, plans
from revenue.ledger import Ledger, LedgerBroken
from revenue.meter_import import load_imported
from revenue.period import Period
from revenue.publish import ChecksFailed, Outcome, publish, write_run_head
from revenue.run import compute

__all__ = [
    "ChecksFailed",
    "Outcome",
    "carried_in",
    "ledger_path",
    "payout",
    "unapproved_rules",
    "write_run_head",
]


def ledger_path(config: Config) -> Path:
    """data/revenue.db next to the store file (the store path's folder)."""
    return config.resolve(config.storage.path).parent / "revenue.db"


def carried_in(ledger: Ledger, period: Period) -> dict[str, int] | None:
    """Jobs pool balances [fen] left by the effective final run of the previous period.

    None when the previous period has no final run (the run then warns).
    """
    prev = ledger.effective_final(period.previous().id)
    if prev is None:
        return None
    state = json.loads(prev.state)
    out = {k: int(v) for k, v in state.get("jobs_balance_fen", {}).items()}
    # the other pools of a distribution plan, keyed "village/pool" (revenue/plans.py)
    out.update({k: int(v) for k, v in state.get("pool_balance_fen", {}).items()})
    return out


def unapproved_rules(config: Config, period: Period) -> list[str]:
    """Rules applying to the period without an approval reference (key paths)."""
    from revenue.allocate import rule_for

    alloc = config.allocation
    used: dict[str, object] = {}
    hh = rule_for(alloc.household, period.start, period.end)
    if hh is not None and any(s.kind == "household" for s in config.stations):
        used[f"household[{alloc.household.index(hh)}]"] = hh
    for s in config.stations:
        rules = {
            "cooperative": (alloc.cooperative, "cooperatives"),
            "village": (alloc.village, "villages"),
        }.get(s.kind)
        if rules is None:
            continue
        r = rule_for(rules[0], period.start, period.end, s.owner, rules[1])
        if r is not None:
            used[f"{s.kind}[{rules[0].index(r)}]"] = r
    return sorted(k for k, r in used.items() if not getattr(r, "approval", "").strip())


def payout(
    config: Config,
    store: Store | None,
    period: Period,
    *,
    out_dir: Path | None,
    final: bool = False,
    supersede: bool = False,
    reason: str = "",
    lang: str = "en",
    ledger: Ledger | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Compute, check, record and write one run (see docs/revenue.md)."""
    own = ledger is None
    ledger = ledger or Ledger(ledger_path(config))
    try:
        broken = ledger.verify()
        if broken:
            # a run on edited inputs would pay what the edit says (issue 12 item 4)
            raise LedgerBroken(
                f"{ledger.path}: the ledger fails verification, no run computed:\n"
                + "\n".join(f"  {p}" for p in broken[:20])
                + "\nrun `pvledger revenue verify` for every problem"
            )
        existing = ledger.effective_final(period.id)
        if existing is not None and not supersede:
            raise BadInput(
                [
                    Problem(
                        "--period",
                        f"{period.id} was finalized in run {existing.seq}",
                        "a final run never changes; to correct it use --supersede --reason TEXT",
                    )
                ]
            )
        if supersede and (existing is None or not reason.strip()):
            raise BadInput(
                [
                    Problem(
                        "--supersede",
                        "needs a finalized period and a non-empty --reason",
                        "finalize first, and say why the correction is made",
                    )
                ]
            )
        if final or supersede:
            unapproved = unapproved_rules(config, period)
            if unapproved:
                raise BadInput(
                    [
                        Problem(
                            f"allocation.{r}",
                            "has no approval reference: payouts are "
                            "blocked until the allocation plan is approved",
                            "add approval: <document number> to the rule",
                        )
                        for r in unapproved
                    ]
                )
            unplanned = plans.unapproved(config, period)
            if unplanned:
                raise BadInput(
                    [
                        Problem(
                            f"plans: village {v}",
                            f"{why}: payouts from its pools are blocked until the "
                            "distribution plan is approved",
                            "add the plan's approvals (assembly, township, county) with dates "
                            "before the period, see docs/payments.md",
                        )
                        for v, why in unplanned
                    ]
                )
        result = compute(
            config,
            store,
            period,
            imported=load_imported(ledger),
            carried_in=carried_in(ledger, period),
            adjustments=adjustments.collect(config, ledger, period),
            paid_before=frozenset(adjustments.paid_keys(ledger, except_period=period.id)),
        )
        status = "final" if final or supersede else "draft"
        return publish(
            config,
            ledger,
            result,
            status=status,
            supersedes=existing if supersede else None,
            reason=reason,
            lang=lang,
            out_dir=out_dir,
            now=now,
        )
    finally:
        if own:
            ledger.close()
