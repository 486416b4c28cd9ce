"""Receivables: what each station accrued, what was received, what is still owed (pure).

API (used by `pvledger receivables`, the revenue alerts and late-money lines):

- ``Accrual(station, village, component, payer, period, last_month, accrued_fen, catalogue)``:
  one (station, component, accrual period) of a final payout run (revenue/accruals.py
  builds them from the ledger). ``period`` is the run's period id ("2025-07" or "2025Q3"),
  ``last_month`` its last month ("2025-09"), ``payer`` the tariff component's payer (who
  owes it: grid, renewable_fund, ...).
- ``Received(payer, reference, received_on, station, component, period, amount_fen)``: one
  share of a receipt, as split at import (revenue/receipts.py, table receipt_allocations).
- ``Cycle(cycle, due_months)``: a component's settlement cycle (core/config/receivables.py):
  money for a month is due at the end of the ``due_months``-th month after the end of the
  monthly / quarterly / annual settlement period containing it.
- ``receivables(accruals, receipts, as_of, cycles) -> list[ReceivableLine]``: one line per
  (station, component, period) accrued or received by ``as_of``; ``outstanding_fen`` is
  exactly ``accrued_fen - received_fen``; ``days_past_due`` counts from the due date while
  something is outstanding; ``bucket`` is one of BUCKETS.
- ``totals(lines, by) -> list[Total]``: per group (station, village, payer or component),
  the exact sums of the lines'.

Everything here is integers and dates: no I/O, no rounding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

#: ageing buckets of days past due: (name, first day, last day or None)
BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-90", 0, 90),
    ("91-180", 91, 180),
    ("181-365", 181, 365),
    ("over 365", 366, None),
)
NOT_DUE = "not due"
SETTLED = "settled"  # nothing outstanding (or more received than accrued)
#: every bucket a line can be in, in display order
ALL_BUCKETS = (NOT_DUE, *(b[0] for b in BUCKETS), SETTLED)

_CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
GROUPS = ("station", "village", "payer", "component")


@dataclass(frozen=True)
class Cycle:
    """A component's settlement cycle and how many months after its end money is due."""

    cycle: str  # monthly | quarterly | annual
    due_months: int


@dataclass(frozen=True)
class Accrual:
    """What a final run accrued for one station, component and period [fen]."""

    station: str
    village: str
    component: str
    payer: str
    period: str
    last_month: str  # YYYY-MM, the period's last month
    accrued_fen: int
    catalogue: str = ""  # in | not in | from YYYY-MM-DD | "" (not a subsidy component)


@dataclass(frozen=True)
class Received:
    """One share of a receipt: what it paid for a station, component and period [fen]."""

    payer: str  # who paid: grid_company | finance_bureau | transfer_agency
    reference: str
    received_on: dt.date
    station: str
    component: str
    period: str
    amount_fen: int


@dataclass(frozen=True)
class ReceivableLine:
    """One station, component and period: accrued, received, outstanding, its age."""

    station: str
    village: str
    component: str
    payer: str
    period: str
    accrued_fen: int
    received_fen: int
    outstanding_fen: int
    due: dt.date | None  # None: the component has no cycle (received for nothing accrued)
    days_past_due: int
    bucket: str
    catalogue: str
    last_received: dt.date | None


@dataclass(frozen=True)
class Total:
    """Sums of the lines of one group [fen]."""

    group: str
    lines: int
    accrued_fen: int
    received_fen: int
    outstanding_fen: int
    by_bucket_fen: tuple[tuple[str, int], ...]  # outstanding per bucket, ALL_BUCKETS order


def _month(text: str) -> tuple[int, int]:
    y, m = text.split("-")
    return int(y), int(m)


def due_date(last_month: str, cycle: Cycle) -> dt.date:
    """Due date of money for a period ending in `last_month` under a settlement cycle.

    The settlement period is the month, quarter or year containing last_month; money is due
    on the last day of the ``due_months``-th month after it ends (quarterly, 1: Q1 -> 30 April;
    annual, 3: 2025 -> 31 March 2026, "before Q1 of the next year").
    """
    y, m = _month(last_month)
    size = _CYCLE_MONTHS[cycle.cycle]
    end = ((m - 1) // size + 1) * size  # last month of the settlement period, 1-based
    k = y * 12 + (end - 1) + cycle.due_months + 1  # month index after the due month
    return dt.date(k // 12, k % 12 + 1, 1) - dt.timedelta(days=1)


def bucket(outstanding_fen: int, days_past_due: int, due: dt.date | None, as_of: dt.date) -> str:
    """The ageing bucket of a line (see BUCKETS)."""
    if outstanding_fen <= 0:
        return SETTLED
    if due is None or as_of <= due:
        return NOT_DUE
    for name, lo, hi in BUCKETS:
        if days_past_due >= lo and (hi is None or days_past_due <= hi):
            return name
    raise AssertionError(days_past_due)  # BUCKETS cover every day >= 0


def receivables(
    accruals: Iterable[Accrual],
    receipts: Iterable[Received],
    as_of: dt.date,
    cycles: Mapping[str, Cycle],
) -> list[ReceivableLine]:
    """Per (station, component, period): accrued, received by as_of, outstanding, age.

    Accruals of periods ending after as_of count 0 (not yet earned), receipts dated after
    it are left out. Money received for a key nothing accrued (yet) is a line with accrued
    0 (outstanding negative: received ahead of, or without, a final run). Lines are sorted
    by station, component, period.
    """
    acc: dict[tuple[str, str, str], Accrual] = {}
    for a in accruals:
        k = (a.station, a.component, a.period)
        if k in acc:  # one component in two tariff segments of a period: one line
            a = replace(a, accrued_fen=acc[k].accrued_fen + a.accrued_fen)
        acc[k] = a
    got: dict[tuple[str, str, str], list[Received]] = {}
    for r in receipts:
        if r.received_on <= as_of:
            got.setdefault((r.station, r.component, r.period), []).append(r)
    ended = {k for k, a in acc.items() if _month_end(a.last_month) <= as_of}
    out = []
    for k in sorted(ended | set(got)):
        a = acc.get(k)
        rs = got.get(k, [])
        accrued = a.accrued_fen if k in ended else 0  # a period not yet ended: not yet earned
        received = sum(r.amount_fen for r in rs)
        outstanding = accrued - received
        cyc = cycles.get(k[1])
        due = due_date(a.last_month, cyc) if a and cyc else None
        days = (as_of - due).days if due and outstanding > 0 and as_of > due else 0
        out.append(
            ReceivableLine(
                station=k[0],
                village=a.village if a else "",
                component=k[1],
                payer=a.payer if a else "",
                period=k[2],
                accrued_fen=accrued,
                received_fen=received,
                outstanding_fen=outstanding,
                due=due,
                days_past_due=days,
                bucket=bucket(outstanding, days, due, as_of),
                catalogue=a.catalogue if a else "",
                last_received=max((r.received_on for r in rs), default=None),
            )
        )
    return out


def _month_end(month: str) -> dt.date:
    y, m = _month(month)
    return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def totals(lines: Iterable[ReceivableLine], by: str) -> list[Total]:
    """Exact sums per group of `by` (station, village, payer, component), sorted by group."""
    if by not in GROUPS:
        raise ValueError(f"by must be one of {GROUPS}")
    acc: dict[str, list[int]] = {}
    buckets: dict[str, dict[str, int]] = {}
    for ln in lines:
        g = getattr(ln, by)
        t = acc.setdefault(g, [0, 0, 0, 0])
        t[0] += 1
        t[1] += ln.accrued_fen
        t[2] += ln.received_fen
        t[3] += ln.outstanding_fen
        b = buckets.setdefault(g, dict.fromkeys(ALL_BUCKETS, 0))
        b[ln.bucket] += ln.outstanding_fen
    return [
        Total(g, *acc[g], tuple(buckets[g].items()))  # type: ignore[arg-type]
        for g in sorted(acc)
    ]
