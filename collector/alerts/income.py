"""Estimated income lost: expected energy × the station's tariff rate, exact to the fen.

An estimate for the alert message, not a statement: the revenue module owns the
money that is paid. (collector must not import revenue, so the small tariff
look-up is repeated here.)
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from core.config.model import Station
from core.config.tariffs import Tariff


def rate_yuan_per_kwh(station: Station, tariffs: tuple[Tariff, ...], day: dt.date) -> Decimal:
    """All components a station earns per kWh on a day [yuan/kWh] (0 when no tariff applies).

    A class-specific tariff wins over the kind-wide one; a station outside the
    subsidy catalogue earns only the non-subsidy components.
    """

    def valid(t: Tariff) -> bool:
        return t.valid_from <= day and (t.valid_until is None or day < t.valid_until)

    cands = [
        t
        for t in tariffs
        if t.applies_to.kind == station.kind
        and station.tariff_class is not None
        and t.applies_to.tariff_class == station.tariff_class
        and valid(t)
    ] or [
        t
        for t in tariffs
        if t.applies_to.kind == station.kind and t.applies_to.tariff_class is None and valid(t)
    ]
    if not cands:
        return Decimal(0)
    t = cands[0]
    rates = t.rates()
    subsidy = {c.name for c in t.components if c.subsidy}
    return sum(
        (r for n, r in rates.items() if station.subsidy_catalogue or n not in subsidy), Decimal(0)
    )


def lost_fen(energy_wh: int, rate: Decimal) -> int:
    """Income for energy_wh [Wh] at rate [yuan/kWh] in fen, ROUND_HALF_UP."""
    return int((Decimal(energy_wh) * rate / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals (no float)."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
