"""The validated configuration as one frozen record, with its indexes by id."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from core.config.alerts import Alerts
from core.config.allocation import Allocation
from core.config.devices import Device
from core.config.model import Cooperative, Household, Mqtt, Site, Station, Storage, Village
from core.config.notice import Notice
from core.config.om import Om
from core.config.paths import PathOutside, confine, fix_for
from core.config.payments import Payments
from core.config.plans import Plans
from core.config.receivables import Receivables
from core.config.tariffs import Tariff
from core.config.web import Web
from core.problems import BadInput, Problem


@dataclass(frozen=True)
class Config:
    """The validated configuration and its fleet registry."""

    path: Path
    site: Site
    storage: Storage
    mqtt: Mqtt
    villages: tuple[Village, ...]
    households: tuple[Household, ...]
    cooperatives: tuple[Cooperative, ...]
    stations: tuple[Station, ...]
    tariffs: tuple[Tariff, ...]
    allocation: Allocation
    alerts: Alerts
    web: Web = field(default_factory=Web)
    notice: Notice = field(default_factory=Notice)
    receivables: Receivables = field(default_factory=Receivables)
    payments: Payments = field(default_factory=Payments)
    om: Om = field(default_factory=Om)
    #: village distribution plans; None (no section): pools pay the rules' posts
    plans: Plans | None = None
    _idx: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def base_dir(self) -> Path:
        """Folder of config.yaml; relative paths in the config start here."""
        return self.path.parent

    def resolve(self, value: str) -> Path:
        """A path from the config (or a command line), made absolute against base_dir;
        BadInput when a relative one leads outside base_dir."""
        try:
            return confine(self.base_dir, value)
        except PathOutside as exc:
            raise BadInput(
                [Problem("(path)", str(exc), fix_for("it", self.base_dir), file=self.path.name)],
                what=str(self.path),
            ) from None

    @cached_property
    def village_by_id(self) -> dict[str, Village]:
        """Villages indexed by id."""
        return {v.id: v for v in self.villages}

    @cached_property
    def household_by_id(self) -> dict[str, Household]:
        """Households indexed by id."""
        return {h.id: h for h in self.households}

    @cached_property
    def cooperative_by_id(self) -> dict[str, Cooperative]:
        """Cooperatives indexed by id."""
        return {c.id: c for c in self.cooperatives}

    @cached_property
    def station_by_id(self) -> dict[str, Station]:
        """Stations indexed by id."""
        return {s.id: s for s in self.stations}

    @cached_property
    def device_index(self) -> dict[str, tuple[Station, Device]]:
        """Every device id -> (its station, the device)."""
        return {d.id: (s, d) for s in self.stations for d in s.devices}

    def devices(self, *sources: str) -> Iterator[tuple[Station, Device]]:
        """(station, device) pairs, optionally only of the given sources."""
        for s in self.stations:
            for d in s.devices:
                if not sources or d.source in sources:
                    yield s, d


def default_config_path() -> Path:
    """$PVLEDGER_CONFIG, else ./config.yaml."""
    return Path(os.environ.get("PVLEDGER_CONFIG") or "config.yaml")
