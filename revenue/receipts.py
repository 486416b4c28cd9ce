"""Receipts: money actually received, and how one receipt is split over what it covers.

A receipt (one row of `pvledger receipts import`, revenue/receipt_import.py) is one
payment by one payer under its own reference: a date, the station(s) it is for, one
tariff component, the period(s) it covers, an amount [fen]. It is split over the
(station, component, accrual period) keys it covers **in proportion to what each accrued**
in the final runs (revenue/accruals.py), by the largest-remainder method to the fen
(revenue/money.split_largest_remainder: floor each exact share, the missing fen one each
to the largest remainders, ties to the smaller key "station|component|period"), so the
shares always add up to the receipt. The shares are the ``receipt_allocations`` rows.

Periods a receipt covers (``cover_months``), several joined with ";":
``2025-07`` a month, ``2025-Q3`` or ``2025Q3`` a quarter, ``2025`` a year, and
``2025-01..2025-06`` / ``2024-Q3..2025-Q2`` / ``2023..2024`` an inclusive range.
An accrual period is covered when all its months are; a final run's quarter only partly
covered is refused (the split would guess).

API: ``cover_months(text) -> list[str]`` (ValueError with the reason), ``split(amount_fen,
accrued) -> dict[key, fen]`` (pure), ``load_received(ledger) -> list[Received]``,
``PAYERS``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping

from revenue.ledger import Ledger
from revenue.money import split_largest_remainder
from revenue.receivables import Received

#: who pays money in (DOMAIN.md): the grid company (coal part, and the subsidy it passes
#: on), the county finance bureau, the transfer agency (结转机构) of 61号 Art. 5
PAYERS = ("grid_company", "finance_bureau", "transfer_agency")

Key = tuple[str, str, str]  # (station, component, accrual period)

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MAX_COVER_MONTHS = 120  # ten years in one receipt is a typo, not a payment


def _unit(text: str) -> list[str]:
    """The months of one month, quarter or year; ValueError otherwise."""
    t = text.strip()
    if m := _MONTH.match(t):
        return [t]
    if m := _QUARTER.match(t):
        y, q = int(m[1]), int(m[2])
        return [f"{y:04d}-{mm:02d}" for mm in range(3 * q - 2, 3 * q + 1)]
    if m := _YEAR.match(t):
        return [f"{t}-{mm:02d}" for mm in range(1, 13)]
    raise ValueError(f"{text.strip()!r} is not a month (2025-07), quarter (2025-Q3) or year (2025)")


def _index(month: str) -> int:
    y, m = month.split("-")
    return int(y) * 12 + int(m) - 1


def cover_months(text: str) -> list[str]:
    """The months a receipt's period text covers, sorted, each once (see module doc)."""
    months: set[str] = set()
    parts = [p for p in text.split(";") if p.strip()]
    if not parts:
        raise ValueError("no period given")
    for part in parts:
        if ".." in part:
            a, b = part.split("..", 1)
            lo, hi = _index(_unit(a)[0]), _index(_unit(b)[-1])
            if hi < lo:
                raise ValueError(f"{part.strip()!r} ends before it starts")
            if hi - lo >= MAX_COVER_MONTHS:
                raise ValueError(f"{part.strip()!r} covers more than {MAX_COVER_MONTHS} months")
            months.update(f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(lo, hi + 1))
        else:
            months.update(_unit(part))
    if len(months) > MAX_COVER_MONTHS:
        raise ValueError(f"covers more than {MAX_COVER_MONTHS} months")
    return sorted(months)


def month_start(month: str) -> dt.date:
    """The first day of a YYYY-MM month."""
    y, m = month.split("-")
    return dt.date(int(y), int(m), 1)


def _key_text(k: Key) -> str:
    return "|".join(k)


def split(amount_fen: int, accrued: Mapping[Key, int]) -> dict[Key, int]:
    """Split a receipt [fen] over keys in proportion to their accrued amounts [fen].

    Largest remainder to the fen (module doc); the shares sum to amount_fen exactly.
    ValueError when nothing accrued (there is no proportion to split by) or an amount
    is negative.
    """
    if any(v < 0 for v in accrued.values()):
        raise ValueError("negative accrual")
    by_text = {_key_text(k): k for k in accrued}
    if len(accrued) == 1:
        return {next(iter(accrued)): amount_fen}  # one key takes it all, accrued or not
    shares = split_largest_remainder(amount_fen, {t: accrued[k] for t, k in by_text.items()})
    return {by_text[t]: v for t, v in shares.items()}


def load_received(ledger: Ledger) -> list[Received]:
    """Every receipt share in the ledger (receipt_allocations joined with receipts)."""
    rows = ledger.db.execute(
        "SELECT a.payer, a.reference, r.received_on, a.station, a.component, a.period, "
        "a.amount_fen FROM receipt_allocations a JOIN receipts r USING (payer, reference) "
        "ORDER BY a.payer, a.reference, a.station, a.component, a.period"
    )
    return [
        Received(p, ref, dt.date.fromisoformat(on), st, comp, per, fen)
        for p, ref, on, st, comp, per, fen in rows
    ]
