"""The rate a station earns per kWh, exact to the fen (alerts/loss.py prices lost energy).

An estimate for the alert message, not a statement: the revenue module owns the
money that is paid. Tariff choice, the subsidy-catalogue rule and rounding come from
core, as in revenue.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from core.catalogue import earns
from core.config.model import Station
from core.config.tariffs import Tariff, tariffs_for
from core.money import energy_amount_fen as lost_fen
from core.money import fen_to_yuan_str as yuan

__all__ = ["lost_fen", "rate_yuan_per_kwh", "yuan"]


def rate_yuan_per_kwh(station: Station, tariffs: tuple[Tariff, ...], day: dt.date) -> Decimal:
    """All components a station earns per kWh on a day [yuan/kWh] (0 when no tariff applies).

    The tariff is the one revenue pays with (core.config.tariffs.tariffs_for); a
    station outside the subsidy catalogue earns only the non-subsidy components.
    """
    cands = [
        t
        for t in tariffs_for(station, tariffs)
        if t.valid_from <= day and (t.valid_until is None or day < t.valid_until)
    ]
    if not cands:
        return Decimal(0)
    t = cands[0]
    rates = t.rates()
    return sum((rates[c.name] for c in t.components if earns(station, c)), Decimal(0))
