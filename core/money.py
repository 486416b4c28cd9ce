"""Money primitives shared by revenue and alerts: integer fen, one rounding rule.

Every amount is an integer number of fen (分); rates are Decimal parsed from
strings. A line is computed exactly in Decimal and rounded once, ROUND_HALF_UP,
by :func:`round_fen`; nothing else rounds money.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN_PER_YUAN = 100
WH_PER_KWH = 1000
_ONE = Decimal(1)


def round_fen(amount_fen: Decimal) -> int:
    """The one rounding function: an exact Decimal amount [fen] -> int [fen], ROUND_HALF_UP."""
    return int(amount_fen.quantize(_ONE, rounding=ROUND_HALF_UP))


def energy_amount_fen(energy_wh: int, yuan_per_kwh: Decimal) -> int:
    """Amount [fen] for energy [Wh] at a rate [yuan/kWh], rounded once."""
    return round_fen(Decimal(energy_wh) * yuan_per_kwh * FEN_PER_YUAN / WH_PER_KWH)


def fen_to_yuan_str(fen: int, *, thousands: bool = False) -> str:
    """Fen [fen] as yuan with exactly two decimals ("-1.05"; "1,234.05" with thousands)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{whole:,}.{cents:02d}" if thousands else f"{sign}{whole}.{cents:02d}"
