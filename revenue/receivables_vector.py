"""The receivables computation over numpy arrays, for a national registry (tens of millions
of lines); the same rules as revenue/receivables.py, tested equal to it line by line.

Inputs are columns instead of objects: one row per accrual key (station, component,
period), unique, and the receipt shares as (row index, amount, date). Every amount is
int64 fen and every sum is an integer sum (np.add.at, np.add.reduceat): nothing passes
through a float. Dates are days since 1970-01-01 (int), months are months since 1970-01.

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


def receivables_arrays(
    acc: AccrualArrays, shares: ShareArrays, as_of: dt.date, cycles: Sequence[Cycle]
) -> ReceivableArrays:
    """revenue/receivables.receivables over arrays (module doc), for rows with unique keys."""
    today = (as_of - EPOCH).days
    last = acc.last_month.astype(np.int64)
    ended = _first_day(last + 1) - 1 <= today
    accrued = np.where(ended, acc.accrued_fen, 0).astype(np.int64)
    received = np.zeros(len(accrued), dtype=np.int64)
    got = np.zeros(len(accrued), dtype=bool)
    keep = shares.received_day <= today
    rows = shares.row[keep]
    np.add.at(received, rows, shares.amount_fen[keep].astype(np.int64))
    got[rows] = True
    outstanding = accrued - received
    size = np.array([_CYCLE_MONTHS[c.cycle] for c in cycles], dtype=np.int64)[acc.component]
    due_m = np.array([c.due_months for c in cycles], dtype=np.int64)[acc.component]
    year0, moy = np.divmod(last, 12)
    end = year0 * 12 + (moy // size) * size + size - 1  # last month of the settlement period
    due = _first_day(end + due_m + 1) - 1
    late = (outstanding > 0) & (today > due)
    days = np.where(late, today - due, 0)
    bucket = np.where(
        outstanding <= 0,
        SETTLED_CODE,
        np.where(late, 1 + np.searchsorted(_BUCKET_STARTS, days, side="right"), NOT_DUE_CODE),
    ).astype(np.int8)
    return ReceivableArrays(ended | got, accrued, received, outstanding, due, days, bucket)


def group_totals(group: np.ndarray, n_groups: int, r: ReceivableArrays) -> GroupTotals:
    """Exact int64 sums of the shown lines per group code (0 .. n_groups-1)."""
    g = group[r.line].astype(np.int64)
    out = {}
    for name in ("accrued_fen", "received_fen", "outstanding_fen"):
        s = np.zeros(n_groups, dtype=np.int64)
        np.add.at(s, g, getattr(r, name)[r.line])
        out[name] = s
    lines = np.bincount(g, minlength=n_groups).astype(np.int64)
    by_bucket = np.zeros((n_groups, len(ALL_BUCKETS)), dtype=np.int64)
    np.add.at(by_bucket, (g, r.bucket[r.line].astype(np.int64)), r.outstanding_fen[r.line])
    return GroupTotals(lines, out["accrued_fen"], out["received_fen"], out["outstanding_fen"],
                       by_bucket)  # fmt: skip
