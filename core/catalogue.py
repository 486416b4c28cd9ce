"""The subsidy-catalogue rule (补贴目录): which tariff components a station earns.

A station outside the catalogue earns the non-subsidy components only (the coal-benchmark
price the grid pays); its subsidy components are zero. A station added to the catalogue
later (``catalogue_from``) earns them from that date on: a payout period is cut there
(revenue/tariff.py segments) and the days before it are priced as outside. The payout
run shows them at zero with a note; the alerts price lost income without them.
"""

from __future__ import annotations

import datetime as dt

from core.config.model import Station
from core.config.tariffs import Component

NOT_IN_CATALOGUE = "not in subsidy catalogue"


def earns(station: Station, component: Component, on: dt.date | None = None) -> bool:
    """True when the station is paid this tariff component (subsidy needs the catalogue),
    on a given day (None: from today on, as the alerts price lost income)."""
    if not component.subsidy:
        return True
    if not station.subsidy_catalogue:
        return False
    since = station.catalogue_from
    return since is None or on is None or on >= since
