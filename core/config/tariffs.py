"""Dated tariff components (DOMAIN.md "Tariffs"): rates as Decimal, each with its payer."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from core.config.model import Station
from core.config.types import DecimalStr, Identifier, Section, decimal_from_string


def _rate_or_remainder(value: Any) -> Decimal | str:
    if value == "remainder":
        return value
    d = decimal_from_string(value)
    if d < 0:
        raise ValueError(f'"{d}" is negative; rates must be >= 0')
    return d


RateOrRemainder = Annotated[Any, BeforeValidator(_rate_or_remainder)]

Payer = Literal["grid", "renewable_fund", "province", "county"]


class Component(Section):
    """One part of a tariff: a rate per kWh, who pays it and when."""

    name: Identifier
    #: yuan per kWh as a quoted string; "remainder" = total minus the other components
    yuan_per_kwh: RateOrRemainder
    payer: Payer
    cycle: Literal["monthly", "quarterly", "annual"] = "monthly"
    #: export = kWh sold to the grid (关口表); generation = all kWh generated
    basis: Literal["export", "generation"] = "export"
    #: part of the subsidy catalogue; a station outside the catalogue does not earn it
    subsidy: bool = False


class AppliesTo(Section):
    """Which stations a tariff covers: a station kind, optionally one tariff class."""

    kind: Literal["household", "village", "cooperative"]
    tariff_class: str | None = None


class Tariff(Section):
    """A set of components valid from a date (inclusive) until a date (exclusive)."""

    id: Identifier
    applies_to: AppliesTo
    shape: Literal["benchmark-total", "fixed-subsidy"]
    valid_from: dt.date = Field(alias="from")
    valid_until: dt.date | None = Field(default=None, alias="until")
    #: for benchmark-total: the fixed total price; the "remainder" component moves with coal
    total_yuan_per_kwh: DecimalStr | None = None
    components: list[Component] = Field(min_length=1)

    @model_validator(mode="after")
    def _shape_rules(self) -> Tariff:
        remainders = [c for c in self.components if c.yuan_per_kwh == "remainder"]
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError("component names must be unique within a tariff")
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("until must be after from")
        if self.shape == "benchmark-total":
            if self.total_yuan_per_kwh is None or len(remainders) != 1:
                raise ValueError(
                    'benchmark-total needs total_yuan_per_kwh: "0.85" and exactly one component '
                    "with yuan_per_kwh: remainder (the subsidy = total - coal benchmark)"
                )
            fixed = sum(
                (c.yuan_per_kwh for c in self.components if c not in remainders), Decimal(0)
            )
            if fixed > self.total_yuan_per_kwh:
                raise ValueError(
                    f"components sum to {fixed}, above the total {self.total_yuan_per_kwh}"
                )
        elif remainders or self.total_yuan_per_kwh is not None:
            raise ValueError(
                "fixed-subsidy tariffs give every component a rate; "
                "total_yuan_per_kwh and 'remainder' belong to benchmark-total"
            )
        return self

    def rates(self) -> dict[str, Decimal]:
        """Each component's yuan/kWh, with the remainder resolved."""
        fixed = {c.name: c.yuan_per_kwh for c in self.components if c.yuan_per_kwh != "remainder"}
        out: dict[str, Decimal] = {}
        for c in self.components:
            if c.yuan_per_kwh == "remainder":
                assert self.total_yuan_per_kwh is not None
                out[c.name] = self.total_yuan_per_kwh - sum(fixed.values(), Decimal(0))
            else:
                out[c.name] = c.yuan_per_kwh  # type: ignore[assignment]
        return out


def timeline_problems(tariffs: list[tuple[int, Tariff]]) -> list[tuple[int, str]]:
    """Overlaps and gaps between tariffs covering the same stations, as (index, message)."""
    by_key: dict[tuple[str, str | None], list[tuple[int, Tariff]]] = {}
    for i, t in tariffs:
        by_key.setdefault((t.applies_to.kind, t.applies_to.tariff_class), []).append((i, t))
    out: list[tuple[int, str]] = []
    for (kind, cls), items in by_key.items():
        items.sort(key=lambda it: it[1].valid_from)
        label = kind + (f"/{cls}" if cls else "")
        for (_, prev), (j, cur) in itertools.pairwise(items):
            if prev.valid_until is None or prev.valid_until > cur.valid_from:
                out.append(
                    (
                        j,
                        f"overlaps tariff {prev.id!r} for {label}: {prev.id!r} runs "
                        f"until {prev.valid_until or 'open end'}, {cur.id!r} starts "
                        f"{cur.valid_from}",
                    )
                )
            elif prev.valid_until < cur.valid_from:
                out.append(
                    (
                        j,
                        f"gap after tariff {prev.id!r} for {label}: nothing covers "
                        f"{prev.valid_until} .. {cur.valid_from}",
                    )
                )
    return out


def tariffs_for(station: Station, tariffs: tuple[Tariff, ...]) -> list[Tariff]:
    """The dated tariffs covering a station, oldest first."""
    own = [
        t
        for t in tariffs
        if t.applies_to.kind == station.kind
        and station.tariff_class is not None
        and t.applies_to.tariff_class == station.tariff_class
    ]
    if not own:
        own = [
            t
            for t in tariffs
            if t.applies_to.kind == station.kind and t.applies_to.tariff_class is None
        ]
    return sorted(own, key=lambda t: t.valid_from)
