"""The receivables computation over numpy arrays, for a national registry (tens of millions
of lines); the same rules as revenue/receivables.py, tested equal to it line by line.

Inputs are columns instead of objects: one row per accrual key (station, component,
period), unique, and the receipt shares as (row index, amount, date). Every amount is
int64 fen and every sum exact (exact_bincount: float64 sums only while provably exact,
np.add.at otherwise). Due dates come from a small table per (component, month). Dates
are days since 1970-01-01 (int), months are months since 1970-01.

``receivables_arrays(accruals, shares, as_of, cycles) -> ReceivableArrays``;
``group_totals(group, n_groups, lines) -> GroupTotals``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from revenue.receivables import ALL_BUCKETS, BUCKETS, NOT_DUE, SETTLED, Cycle

_CYCLE_MONTHS = {"monthly": 1, "quarterly": 3, "annual": 12}
EPOCH = dt.date(1970, 1, 1)
NOT_DUE_CODE = ALL_BUCKETS.index(NOT_DUE)
SETTLED_CODE = ALL_BUCKETS.index(SETTLED)
#: first day past due of each bucket after the first (91, 181, 366)
_BUCKET_STARTS = np.array([lo for _, lo, _ in BUCKETS[1:]], dtype=np.int64)


@dataclass(frozen=True)
class AccrualArrays:
    """One row per (station, component, period) key."""

    component: np.ndarray  # int code: index into the cycles sequence
    last_month: np.ndarray  # months since 1970-01 of the period's last month
    accrued_fen: np.ndarray  # int64


@dataclass(frozen=True)
class ShareArrays:
    """Receipt shares: which accrual row each pays, how much, and when it arrived."""

    row: np.ndarray  # index into the accrual rows
    amount_fen: np.ndarray  # int64
    received_day: np.ndarray  # days since 1970-01-01


@dataclass(frozen=True)
class ReceivableArrays:
    """Per accrual row; ``line`` is False for a row not shown (not yet ended, nothing in)."""

    line: np.ndarray  # bool
    accrued_fen: np.ndarray  # int64, 0 where the period has not ended by as_of
    received_fen: np.ndarray  # int64
    outstanding_fen: np.ndarray  # int64 = accrued - received
    due_day: np.ndarray  # days since 1970-01-01
    days_past_due: np.ndarray  # int64
    bucket: np.ndarray  # int8 index into ALL_BUCKETS


@dataclass(frozen=True)
class GroupTotals:
    """Exact sums per group code [fen]; by_bucket_fen[g, b] in ALL_BUCKETS order."""

    lines: np.ndarray
    accrued_fen: np.ndarray
    received_fen: np.ndarray
    outstanding_fen: np.ndarray
    by_bucket_fen: np.ndarray


def month_index(month: str) -> int:
    """ "YYYY-MM" -> months since 1970-01."""
    y, m = month.split("-")
    return (int(y) - 1970) * 12 + int(m) - 1


def _first_day(months: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of the first day of each month index."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def exact_bincount(index: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Integer sums of weights per index (0 .. n-1), exact, as int64.

    np.bincount sums in float64, which is exact while every partial sum is an integer
    below 2**53; the sum of |weights| bounds them all, so that is checked (in int64) and
    np.add.at (exact, slower) used when it does not hold.
    """
    if int(np.abs(weights).sum(dtype=np.int64)) < 2**53:
        return np.bincount(index, weights=weights, minlength=n).astype(np.int64)
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, weights.astype(np.int64))
    return out


def _due_table(base: int, span: int, cycles: Sequence[Cycle]) -> np.ndarray:
    """Due day per (component, last month - base): a small table instead of 40 M dates."""
    months = base + np.arange(span, dtype=np.int64)
    year0, moy = np.divmod(months, 12)
    out = []
    for c in cycles:
        size = _CYCLE_MONTHS[c.cycle]
        end = year0 * 12 + (moy // size) * size + size - 1  # last month of the settlement period
        out.append(_first_day(end + c.due_months + 1) - 1)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def receivables_arrays(
    acc: AccrualArrays, shares: ShareArrays, as_of: dt.date, cycles: Sequence[Cycle]
) -> ReceivableArrays:
    """revenue/receivables.receivables over arrays (module doc), for rows with unique keys."""
    today = (as_of - EPOCH).days
    n = len(acc.accrued_fen)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return ReceivableArrays(z.astype(bool), z, z, z, z, z, z.astype(np.int8))
    base = int(acc.last_month.min())
    span = int(acc.last_month.max()) - base + 1
    code = acc.component.astype(np.int32) * span + (acc.last_month - base).astype(np.int32)
    due = _due_table(base, span, cycles).astype(np.int32)[code]
    month_ends = _first_day(base + np.arange(span, dtype=np.int64) + 1) - 1
    ended_tab = np.tile(month_ends <= today, len(cycles))
    ended = ended_tab[code]
    del code
    all_ended = bool(ended_tab.all())
    accrued = acc.accrued_fen if all_ended else np.where(ended, acc.accrued_fen, 0)
    keep = shares.received_day <= today
    rows, fen = (shares.row, shares.amount_fen) if keep.all() else (
        shares.row[keep], shares.amount_fen[keep])  # fmt: skip
    received = exact_bincount(rows, fen, n)
    outstanding = accrued - received
    late = (outstanding > 0) & (due < today)
    days = np.where(late, today - due, 0).astype(np.int32)
    bucket = np.full(n, NOT_DUE_CODE, dtype=np.int8)
    bucket[outstanding <= 0] = SETTLED_CODE
    bucket[late] = 1 + np.searchsorted(_BUCKET_STARTS, days[late], side="right")
    if all_ended:
        line = np.ones(n, dtype=bool)
    else:  # a period not yet ended is shown once money came in for it
        line = ended.copy()
        line[rows] = True
    return ReceivableArrays(line, accrued, received, outstanding, due, days, bucket)


def group_totals(group: np.ndarray, n_groups: int, r: ReceivableArrays) -> GroupTotals:
    """Exact int64 sums of the shown lines per group code (0 .. n_groups-1)."""
    every = bool(r.line.all())

    def shown(a: np.ndarray) -> np.ndarray:
        return a if every else a[r.line]

    g = shown(group)
    out = {
        name: exact_bincount(g, shown(getattr(r, name)), n_groups)
        for name in ("accrued_fen", "received_fen", "outstanding_fen")
    }
    lines = np.bincount(g, minlength=n_groups).astype(np.int64)
    nb = len(ALL_BUCKETS)
    cell = g.astype(np.int64) * nb + shown(r.bucket)
    by_bucket = exact_bincount(cell, shown(r.outstanding_fen), n_groups * nb).reshape(n_groups, nb)
    return GroupTotals(lines, out["accrued_fen"], out["received_fen"], out["outstanding_fen"],
                       by_bucket)  # fmt: skip
