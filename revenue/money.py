"""Money: integer fen, Decimal rates, ONE rounding function, exact splits.

Rules (docs/revenue.md "Rounding"):
- every amount is an integer number of fen (分); rates are Decimal parsed from strings;
- a line is computed exactly in Decimal fen and rounded once, ROUND_HALF_UP, by
  :func:`round_fen`; nothing else in revenue rounds money;
- a total split into parts without a "takes the rest" part uses the largest-remainder
  method (:func:`split_largest_remainder`): floor every part, then hand the missing
  fen one each to the largest fractional remainders, ties broken by the key (ascending),
  so the parts always add up to the total and the result never depends on input order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from core.money import (  # the primitives live in core: alerts price lost income too
    FEN_PER_YUAN,
    WH_PER_KWH,
    energy_amount_fen,
    fen_to_yuan_str,
    round_fen,
)

__all__ = [
    "FEN_PER_YUAN",
    "WH_PER_KWH",
    "energy_amount_fen",
    "fen_to_yuan_str",
    "percent_fen",
    "round_fen",
    "split_largest_remainder",
    "yuan_to_fen",
]


def percent_fen(base_fen: int, percent: Decimal) -> int:
    """A percentage [%] of an amount [fen], rounded once."""
    return round_fen(Decimal(base_fen) * percent / 100)


def yuan_to_fen(yuan: Decimal) -> int:
    """A configured yuan amount [yuan] as fen; refuses sub-fen precision instead of rounding."""
    fen = yuan * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise ValueError(f"{yuan} yuan is not a whole number of fen")
    return int(fen)


def split_largest_remainder(total_fen: int, weights: Mapping[str, int | Decimal]) -> dict[str, int]:
    """Split total [fen] >= 0 in proportion to weights (>= 0), summing exactly to total.

    Floors every exact share, then gives one fen each to the largest remainders; ties go
    to the smaller key. Zero weights get zero. With all weights zero the split is refused.
    Shares and remainders are exact fractions, so equal remainders really tie.
    """
    if total_fen < 0:
        raise ValueError("cannot split a negative amount")
    keys = sorted(weights)
    w = {k: Fraction(weights[k]) for k in keys}
    if any(v < 0 for v in w.values()):
        raise ValueError("negative weight")
    wsum = sum(w.values(), Fraction(0))
    if wsum == 0:
        if total_fen == 0:
            return dict.fromkeys(keys, 0)
        raise ValueError("all weights are zero")
    out: dict[str, int] = {}
    rems: list[tuple[Fraction, str]] = []
    for k in keys:
        exact = total_fen * w[k] / wsum
        out[k] = math.floor(exact)
        rems.append((exact - out[k], k))
    missing = total_fen - sum(out.values())
    # largest remainder first, then key ascending; zero-weight keys have remainder 0 and
    # come last, and missing < number of non-zero remainders, so they never get a fen
    rems.sort(key=lambda rk: (-rk[0], rk[1]))
    for _, k in rems[:missing]:
        out[k] += 1
    return out


def shares_half_up(total_fen: int, shares: Mapping[str, int]) -> tuple[dict[str, int], int]:
    """Per-share payout: each holder gets ROUND_HALF_UP(total x shares / all shares) [fen].

    Returns (lines, residue_fen). The residue (total minus the lines) is what the written
    residue rule disposes of. It is never negative: when half-up lines overshoot the total,
    the overshoot is taken back one fen at a time from the lines rounded up the most
    (ties: larger key first), so no holder is paid money that does not exist.
    """
    if total_fen < 0:
        raise ValueError("cannot split a negative amount")
    keys = sorted(shares)
    n = sum(shares[k] for k in keys)
    if n <= 0:
        raise ValueError("no shares")
    lines: dict[str, int] = {}
    up: list[tuple[int, str]] = []
    for k in keys:
        lines[k] = round_fen(Decimal(total_fen * shares[k]) / n)
        # how far the line was rounded up, exactly, in units of 1/n fen
        up.append((lines[k] * n - total_fen * shares[k], k))
    over = sum(lines.values()) - total_fen
    if over > 0:
        up.sort(key=lambda uk: uk[1], reverse=True)
        up.sort(key=lambda uk: -uk[0])  # stable: equal round-ups keep larger key first
        for _, k in up[:over]:
            lines[k] -= 1
    return lines, total_fen - sum(lines.values())
