"""Late money: receipts for an earlier period, paid out by the run of the current one.

A payout run pays the cash-now components (the grid's coal-benchmark part) of its own
period when it is computed; the receivable components (the subsidy) are only accrued.
When a receipt for such a component of an earlier period is imported
(revenue/receipt_import.py splits it into shares per station, component and accrual
period, table ``receipt_allocations``), the next run pays it as adjustment lines
(revenue/adjustments.py), allocated with the rules **and the ownership** in force in the
period the money belongs to:

- a household station: to its owner household (withholdings are monthly amounts already
  taken in that period's run, so none is taken again);
- a cooperative station: the cooperative rule's percent deductions, then per share to the
  members who held shares for the whole of that period (``Member.since`` / ``until``),
  the residue to the cooperative (its ``residue_to``);
- a village station: the village rule's percent deductions, then its pools.

Fixed monthly deductions, withholdings, legacy shares and post wages belong to months
and were settled by that period's own run: late money is allocated with ``months = 0``
through the same functions of revenue/allocate.py, which makes each of them zero.

A share is late money when its accrual period ended on or before the current period's
start, it was received before the current period's end (a rerun pays the same lines), its
component is not paid by a cash-now payer (revenue/tariff.py CASH_PAYERS: that money was
paid in its own period), and no effective final run has paid its key yet
(adjustments.collect). A household without a bank account on file any more is still
given its line, with ``unpaid_reason`` saying why, never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.config import Config
from core.config.model import Station
from core.config.tariffs import tariffs_for
from core.problems import BadInput, Problem
from revenue import allocate as al
from revenue.adjustments import AdjustmentLine, labels
from revenue.period import Period, parse_period
from revenue.receivables import Received
from revenue.tariff import CASH_PAYERS

SOURCE = "late_receipt"
NO_ACCOUNT = "no bank account on file (households[].account is empty)"
NOT_REGISTERED = "household no longer in the registry"

_YEAR = re.compile(r"^\d{4}$")


@dataclass(frozen=True)
class Share(Received):
    """One share of a receipt (revenue/receivables.py Received), keyed for the lines it pays."""

    @property
    def ref(self) -> str:
        """The share's part of every line's never-pay-twice key."""
        return f"{self.payer}/{self.reference}/{self.station}/{self.component}/{self.period}"


@dataclass(frozen=True)
class Allocated:
    """A share allocated: its lines and the deductions taken from it [fen]."""

    share: Share
    lines: tuple[AdjustmentLine, ...]
    deductions_fen: int


def period_of(text: str) -> Period:
    """An accrual period id as a Period: YYYY-MM, YYYYQn or a year YYYY."""
    if _YEAR.match(text):
        y = int(text)
        return Period(text, dt.date(y, 1, 1), dt.date(y + 1, 1, 1))
    return parse_period(text)


def read_shares(ledger) -> list[Share]:
    """Every receipt share in the ledger, with its receipt's date."""
    rows = ledger.db.execute(
        "SELECT a.payer, a.reference, r.received_on, a.station, a.component, a.period,"
        " a.amount_fen FROM receipt_allocations a JOIN receipts r"
        " ON r.payer = a.payer AND r.reference = a.reference"
        " ORDER BY a.payer, a.reference, a.station, a.component, a.period"
    )
    return [
        Share(p, ref, dt.date.fromisoformat(on), st, comp, per, int(amt))
        for p, ref, on, st, comp, per, amt in rows
    ]


def cash_now_component(station: Station, config: Config, component: str, p: Period) -> bool:
    """True when the component was paid as cash now in its period (a cash-now payer)."""
    for t in tariffs_for(station, config.tariffs):
        if t.valid_from >= p.end or (t.valid_until is not None and t.valid_until <= p.start):
            continue
        for c in t.components:
            if c.name == component:
                return c.payer in CASH_PAYERS
    return False


def is_late(share: Share, config: Config, current: Period) -> bool:
    """A share the run of ``current`` pays (module docstring), before the paid-keys filter."""
    p = period_of(share.period)
    station = config.station_by_id.get(share.station)
    if station is None or share.amount_fen <= 0:
        return False
    return (
        p.end <= current.start
        and share.received_on < current.end
        and not cash_now_component(station, config, share.component, p)
    )


def _household_line(
    config: Config, share: Share, hh: str, amount: int, suffix: str, station: str
) -> AdjustmentLine:
    h = config.household_by_id.get(hh)
    reason = NOT_REGISTERED if h is None else ("" if h.account.strip() else NO_ACCOUNT)
    return _line(share, "household", hh, h.village if h else "", station, amount, suffix, reason)


def _line(
    share: Share,
    kind: str,
    payee: str,
    village: str,
    station: str,
    amount: int,
    suffix: str,
    reason: str = "",
) -> AdjustmentLine:
    zh, en = labels(
        SOURCE,
        share.period,
        component=share.component,
        received=share.received_on.strftime("%Y-%m"),
    )
    return AdjustmentLine(
        SOURCE,
        f"{share.ref}/{suffix}",
        kind,
        payee,
        village,
        station,
        share.period,
        amount,
        zh,
        en,
        reason,
    )


def _no_rule(share: Share, kind: str) -> BadInput:
    return BadInput(
        [
            Problem(
                f"allocation.{kind}",
                f"no {kind} rule covers {share.period}, the period receipt "
                f"{share.payer}/{share.reference} pays for {share.station}",
                f"add a dated {kind} rule covering {share.period} (the rule of then)",
            )
        ]
    )


def allocate_share(
    config: Config, share: Share, village_of: dict[str, str] | None = None
) -> Allocated:
    """A share's lines under the rules and membership of its period (module docstring).

    ``village_of``: household -> village, when the caller has it (built once per run).
    """
    s = config.station_by_id[share.station]
    p = period_of(share.period)
    a = config.allocation
    amount = share.amount_fen
    if village_of is None:
        village_of = {h.id: h.village for h in config.households}
    lines: list[AdjustmentLine] = []
    if s.kind == "household":
        rule = al.rule_for(a.household, p.start, p.end)
        if rule is None:
            raise _no_rule(share, "household")
        deds, left, _ = al.household_station(s.id, s.owner, s.village, amount, rule, 0, {})
        lines.append(_household_line(config, share, s.owner, left, f"household:{s.owner}", s.id))
        return Allocated(share, tuple(lines), sum(d.amount_fen for d in deds))
    if s.kind == "cooperative":
        rule = al.rule_for(a.cooperative, p.start, p.end, s.owner, "cooperatives")
        if rule is None:
            raise _no_rule(share, "cooperative")
        deds, dist = al.deduct(s.id, amount, rule.deductions, 0)
        coop = config.cooperative_by_id[s.owner]
        members = coop.members_during(p.start, p.end)
        if not members:
            raise BadInput(
                [
                    Problem(
                        f"cooperatives.{coop.id}.members",
                        f"no member held shares for the whole of {share.period}",
                        "give the members of then with since:/until: dates",
                    )
                ]
            )
        then = coop.model_copy(update={"members": members})
        payouts, cl = al.cooperative(then, dist, rule, village_of)
        for po in payouts:
            lines.append(
                _household_line(config, share, po.household, po.amount_fen, po.household, s.id)
            )
        if cl.residue_fen:
            suffix = f"residue:{cl.residue_to}"
            lines.append(
                _line(share, "cooperative", coop.id, coop.village, s.id, cl.residue_fen, suffix)
            )
        return Allocated(share, tuple(lines), sum(d.amount_fen for d in deds))
    rule = al.rule_for(a.village, p.start, p.end, s.owner, "villages")
    if rule is None:
        raise _no_rule(share, "village")
    deds, dist = al.deduct(s.id, amount, rule.deductions, 0)
    _, pools = al.village(s.owner, dist, rule, 0, 0, village_of)
    for pl in pools:
        if pl.amount_fen:
            lines.append(
                _line(share, "village", s.owner, s.owner, s.id, pl.amount_fen, f"pool:{pl.pool}")
            )
    return Allocated(share, tuple(lines), sum(d.amount_fen for d in deds))


def allocate_late(config: Config, shares: Iterable[Share], current: Period) -> list[Allocated]:
    """Every late share of ``current`` allocated (pure: no ledger)."""
    village_of = {h.id: h.village for h in config.households}
    return [allocate_share(config, sh, village_of) for sh in shares if is_late(sh, config, current)]


def adjustments(config: Config, ledger, period: Period) -> list[AdjustmentLine]:
    """The provider of revenue/adjustments.py: the late-money lines of a run of ``period``."""
    return [ln for a in allocate_late(config, read_shares(ledger), period) for ln in a.lines]
