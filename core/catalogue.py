"""The subsidy-catalogue rule (补贴目录): which tariff components a station earns.

A station outside the catalogue earns the non-subsidy components only (the coal-benchmark
price the grid pays); its subsidy components are zero. The payout run shows them at zero
with a note; the alerts price lost income without them.
"""

from __future__ import annotations

from core.config.model import Station
from core.config.tariffs import Component

NOT_IN_CATALOGUE = "not in subsidy catalogue"


def earns(station: Station, component: Component) -> bool:
    """True when the station is paid this tariff component (subsidy needs the catalogue)."""
    return station.subsidy_catalogue or not component.subsidy
