"""The fleet as the alert kinds see it: who produces, how big, whose peers, which gateway,
and which rule instance applies where."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from alerts.signals import Condition
from alerts.state import Finding
from core.config import Config
from core.config.alerts import RuleBase
from core.config.model import Station

#: devices whose output counts (meters only count for comm_lost and counter_anomaly)
PRODUCING_ROLES = ("inverter", "logger")
#: sources the collector asks (request/response): a lost device leaves failed requests
POLLED_SOURCES = ("modbus-tcp", "modbus-rtu")


@dataclass(frozen=True)
class DeviceInfo:
    """One device with what the rules need about it."""

    id: str
    station: str
    village: str
    gateway: str
    role: str
    interval_s: float
    #: share of the station's nameplate behind this device [kW] (meters: the station's)
    capacity_kw: float
    #: read by request/response (Modbus): comm_lost needs failed requests as evidence
    polled: bool = False


class FleetIndex:
    """Indexes over the config for the engine and the kinds (built once per config)."""

    def __init__(self, config: Config):
        self.config = config
        vgw = {v.id: v.gateway for v in config.villages}
        self.devices: dict[str, DeviceInfo] = {}
        for s in config.stations:
            producing = [d for d in s.devices if d.role in PRODUCING_ROLES]
            for d in s.devices:
                kw = s.capacity_kw / len(producing) if d.role in PRODUCING_ROLES else s.capacity_kw
                self.devices[d.id] = DeviceInfo(
                    d.id,
                    s.id,
                    s.village,
                    vgw.get(s.village) or config.site.gateway,
                    d.role,
                    d.interval_s,
                    kw,
                    d.source in POLLED_SOURCES,
                )

    @cached_property
    def stations(self) -> dict[str, Station]:
        """Stations by id."""
        return dict(self.config.station_by_id)

    @cached_property
    def producing(self) -> dict[str, list[DeviceInfo]]:
        """Producing devices per station."""
        out: dict[str, list[DeviceInfo]] = {s: [] for s in self.stations}
        for d in self.devices.values():
            if d.role in PRODUCING_ROLES:
                out[d.station].append(d)
        return out

    @cached_property
    def village_stations(self) -> dict[str, list[str]]:
        """Station ids per village (stations with producing devices only)."""
        out: dict[str, list[str]] = {}
        for s in self.config.stations:
            if self.producing.get(s.id):
                out.setdefault(s.village, []).append(s.id)
        return out

    @cached_property
    def gateway_devices(self) -> dict[str, list[str]]:
        """Device ids per gateway."""
        out: dict[str, list[str]] = {}
        for d in self.devices.values():
            out.setdefault(d.gateway, []).append(d.id)
        return out

    def station_gateway(self, station: str) -> str:
        """The gateway that reads a station."""
        s = self.stations[station]
        v = self.config.village_by_id.get(s.village)
        return (v.gateway if v else None) or self.config.site.gateway

    def rule(self, kind: str, station: str | None = None) -> RuleBase | None:
        """The rule of a kind that applies to a station (a station-limited rule first);
        without a station, the fleet-wide rule."""
        fleet_wide = None
        for r in self.config.alerts.rules:
            if r.kind != kind:
                continue
            if r.stations is None:
                fleet_wide = fleet_wide or r
            elif station is not None and station in r.stations:
                return r
        return fleet_wide

    def applies(self, rule: RuleBase, station: str | None = None) -> bool:
        """True when rule is the one of its kind for station (None: the fleet-wide one)."""
        return self.rule(rule.kind, station) is rule

    def rules(self) -> list[RuleBase]:
        """Every configured rule, in config order."""
        return list(self.config.alerts.rules)

    def finding(
        self,
        kind: str,
        subject: str,
        cond: Condition,
        for_s: float,
        *,
        hold: bool = False,
        station: str | None = None,
        device: str | None = None,
        village: str | None = None,
        gateway: str | None = None,
    ) -> Finding:
        """A Finding for the lifecycle; a station's village and gateway filled in."""
        if station and not village:
            village = self.stations[station].village
        if station and not gateway:
            gateway = self.station_gateway(station)
        return Finding(
            kind,
            subject,
            cond.since_ms,
            for_s,
            dict(cond.seen),
            station,
            village,
            device,
            gateway,
            suppressed=hold,
        )
