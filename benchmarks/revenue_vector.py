"""The same money rules over numpy int64 arrays: a benchmark of national-scale arithmetic only.

Not used by any payout run: a province of 60,000 stations spends well under a second in
the Decimal money path (docs/benchmarks.md "A province's payout run"), so payout runs keep
the one Decimal implementation (revenue/money.py) and these kernels stay with the
benchmark that measures them (benchmarks/revenue_national.py).

Every function here matches its Decimal twin in revenue/money.py exactly (tests compare
them line by line): integer arithmetic only, ROUND_HALF_UP as ``(2n + d) // 2d`` on
non-negative amounts, per-group half-up shares with the same overshoot take-back rule.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np

I64 = np.int64


def _ratio(rate: Decimal) -> tuple[int, int]:
    """A Decimal as an exact integer fraction (numerator, 10**k)."""
    sign, digits, exp = rate.as_tuple()
    if sign:
        raise ValueError("negative rate")
    num = int("".join(map(str, digits)) or "0")
    if exp >= 0:  # type: ignore[operator]
        return num * 10**exp, 1  # type: ignore[operator]
    return num, 10**-exp  # type: ignore[operator]


def _half_up(num: np.ndarray, den: int | np.ndarray) -> np.ndarray:
    """ROUND_HALF_UP of num / den for num >= 0, den > 0 (int64)."""
    return (2 * num + den) // (2 * den)


def energy_amount_fen(energy_wh: np.ndarray, yuan_per_kwh: Decimal) -> np.ndarray:
    """Component amounts [fen] for energies [Wh] at a rate [yuan/kWh]; = money.energy_amount_fen."""
    n, d = _ratio(yuan_per_kwh)
    if np.any(energy_wh < 0):
        raise ValueError("negative energy")
    # fen = Wh * rate * 100 / 1000 = Wh * n / (10 * d)
    return _half_up(energy_wh.astype(I64) * n, 10 * d)


def percent_fen(base_fen: np.ndarray, percent: Decimal) -> np.ndarray:
    """A percentage of amounts [fen]; = money.percent_fen."""
    n, d = _ratio(percent)
    return _half_up(base_fen.astype(I64) * n, 100 * d)


def shares_half_up(
    group: np.ndarray, key_rank: np.ndarray, shares: np.ndarray, total_fen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-share lines for members of groups; = money.shares_half_up per group.

    group[i] is member i's group index, key_rank[i] its key's rank inside the group
    (ascending id order), shares[i] > 0; total_fen[g] >= 0. Returns (lines per member,
    residue per group).
    """
    group = group.astype(I64)
    shares = shares.astype(I64)
    n_shares = np.zeros(len(total_fen), dtype=I64)
    np.add.at(n_shares, group, shares)
    num = total_fen[group] * shares
    den = n_shares[group]
    lines = _half_up(num, den)
    paid = np.zeros(len(total_fen), dtype=I64)
    np.add.at(paid, group, lines)
    over = paid - total_fen
    if np.any(over > 0):
        # take back from the largest round-ups (lines - exact) first, larger key first
        up = lines * den - num  # in units of 1/den, same den inside a group
        order = np.lexsort((-key_rank, -up, group))
        g_sorted = group[order]
        starts = np.searchsorted(g_sorted, np.arange(len(total_fen)))
        rank = np.arange(len(order)) - starts[g_sorted]
        take = rank < np.maximum(over, 0)[g_sorted]
        lines[order[take]] -= 1
        paid = np.zeros(len(total_fen), dtype=I64)
        np.add.at(paid, group, lines)
    return lines, total_fen - paid
