"""Tariffs applied to energy: one line per component, cash now apart from receivable.

A station's tariff is the dated tariff for its kind and tariff class (a class-specific
tariff wins over the kind-wide one). A period crossing a tariff change is cut into
segments, each priced with its own tariff (energy is measured per segment).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.catalogue import NOT_IN_CATALOGUE, earns
from core.config.model import Station
from core.config.tariffs import Tariff, tariffs_for
from revenue.money import energy_amount_fen

#: the payer whose components are cash in the period (grid statement); the rest is receivable
CASH_PAYERS = frozenset({"grid"})


@dataclass(frozen=True)
class Segment:
    """Part of a period [start, end) priced with one tariff."""

    start: dt.date
    end: dt.date
    tariff: Tariff


@dataclass(frozen=True)
class ComponentLine:
    """One tariff component on a station statement."""

    tariff_id: str
    name: str
    yuan_per_kwh: Decimal
    payer: str
    cycle: str
    basis: str
    energy_wh: int
    amount_fen: int
    cash_now: bool
    note: str = ""


def segments(
    station: Station, tariffs: tuple[Tariff, ...], start: dt.date, end: dt.date
) -> tuple[list[Segment], list[str]]:
    """Cut [start, end) at tariff changes; returns (segments, errors for uncovered days)."""
    out: list[Segment] = []
    errors: list[str] = []
    cursor = start
    since = station.catalogue_from if station.subsidy_catalogue else None
    for t in tariffs_for(station, tariffs):
        t_end = t.valid_until or dt.date.max
        lo, hi = max(cursor, t.valid_from), min(end, t_end)
        if lo >= hi:
            continue
        if lo > cursor:
            errors.append(f"no tariff covers {cursor} .. {lo}")
        if since is not None and lo < since < hi:  # entered the subsidy catalogue mid-way
            out.append(Segment(lo, since, t))
            lo = since
        out.append(Segment(lo, hi, t))
        cursor = hi
    if cursor < end:
        errors.append(f"no tariff covers {cursor} .. {end}")
    return out, errors


def price(
    station: Station, tariff: Tariff, energy_by_basis: dict[str, int], on: dt.date | None = None
) -> list[ComponentLine]:
    """Component lines for energy [Wh] per basis ("export", "generation") under a tariff,
    for a segment starting on `on`.

    Each line is rounded once (ROUND_HALF_UP). A station outside the subsidy catalogue
    (on that day: catalogue_from) gets its subsidy components at zero, with a note, so the
    statement still shows them.
    """
    lines = []
    for c in tariff.components:
        rate = tariff.rates()[c.name]
        wh = energy_by_basis.get(c.basis, 0)
        note = ""
        if not earns(station, c, on):
            amount, note = 0, NOT_IN_CATALOGUE
            if station.subsidy_catalogue and station.catalogue_from:
                note += f" before {station.catalogue_from}"
        else:
            amount = energy_amount_fen(wh, rate)
        lines.append(
            ComponentLine(
                tariff.id,
                c.name,
                rate,
                c.payer,
                c.cycle,
                c.basis,
                wh,
                amount,
                c.payer in CASH_PAYERS,
                note,
            )
        )
    return lines


def needs_generation(tariff: Tariff) -> bool:
    """True when a component is paid on all generated energy (self-consumption mode)."""
    return any(c.basis == "generation" for c in tariff.components)
