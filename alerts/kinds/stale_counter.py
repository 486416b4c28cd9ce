"""stale_counter 电量计数停滞: the energy counter stood still for a whole sunny day while
power was reported: the register is frozen (logger firmware, a map pointing at the
wrong register), so the energy paid from counters is missing though the station runs.

Judged on the last whole local day D from the daily roll-up (the counter's first and
last value on D are equal; D was sunny: the village peers' median yield reached
``min_day_kwh_per_kwp``) and on the recent readings (the counter still shows D's value
while the device reports power above ``zero_power_share`` of its nameplate). A stopped
device is no_output's case (held under it). Claims no income lost: the station
produces, only the counting is wrong.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.fleet import PRODUCING_ROLES
from alerts.signals import Condition, Sample
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase, Seconds, Share
from core.localday import DAY_MS, day_of_ms
from core.store.base import DayBounds

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A counter frozen while the device produces."""

    kind: Literal["stale_counter"]
    #: the day is already the wait: fire when seen [s]
    for_s: Seconds = 0
    #: a day counts as sunny when the village peers' median yield reaches this [kWh/kWp]
    min_day_kwh_per_kwp: float = Field(default=2.0, ge=0)
    #: power above this share of nameplate counts as produced [%]
    zero_power_share: Share = Decimal("1")


NAMES = {"zh": "电量计数停滞", "en": "energy counter stale"}
SUPPRESSED_BY = {"no_output": "device", "comm_lost": "device", "village_outage": "village"}


def history_days(rule: Rule) -> int:
    """Yesterday and today [days]."""
    return 2


def frozen(day: DayBounds | None, energy: Sequence[Sample]) -> bool:
    """The counter [Wh] did not move over day D (its roll-up row, two readings at least)
    and the recent readings still show D's value."""
    if day is None or day.first_ts_ms is None or day.last_ts_ms is None:
        return False
    if day.first_value is None or day.first_ts_ms >= day.last_ts_ms:
        return False
    if day.first_value != day.last_value or not energy:
        return False
    return all(p.value == day.last_value for p in energy)


def condition(
    day: DayBounds | None,
    energy: Sequence[Sample],
    power: Sequence[Sample],
    *,
    zero_w: float,
    peer_kwh_per_kwp: float | None,
    min_day_kwh_per_kwp: float,
) -> Condition | None:
    """A frozen counter (see frozen()) on a sunny day D while recent power [W] rises above
    zero_w; since = D's first reading."""
    if day is None or day.first_ts_ms is None or not frozen(day, energy):
        return None
    if peer_kwh_per_kwp is None or peer_kwh_per_kwp < min_day_kwh_per_kwp:
        return None
    if not any(p.value > zero_w for p in power):
        return None
    seen = {
        "counter_wh": int(day.last_value),  # type: ignore[arg-type]
        "peer_kwh_per_kwp": round(peer_kwh_per_kwp, 2),
        "max_power_w": round(max(p.value for p in power)),
    }
    return Condition(day.first_ts_ms, seen)


def _yields(snap: Snapshot, fleet: FleetIndex, d: int) -> dict[str, float]:
    """kWh/kWp per station on day d from the roll-up (counters' last - first)."""
    wh: dict[str, float] = {}
    for b in snap.daily:
        info = fleet.devices.get(b.device)
        if b.day != d or b.field != "energy_total_wh" or info is None:
            continue
        if info.role in PRODUCING_ROLES and None not in (b.first_value, b.last_value):
            wh[b.station] = wh.get(b.station, 0.0) + max(b.last_value - b.first_value, 0)  # type: ignore[operator]
    return {s: v / 1000 / fleet.stations[s].capacity_kw for s, v in wh.items()}


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per producing device whose counter stood still yesterday and since."""
    day = day_of_ms(snap.now_ms - DAY_MS, fleet.config.site.tz)
    rows = {b.device: b for b in snap.daily if b.day == day and b.field == "energy_total_wh"}
    yields = _yields(snap, fleet, day)
    out = []
    for sid, devs in fleet.producing.items():
        if not fleet.applies(rule, sid):
            continue
        village = fleet.village_stations.get(fleet.stations[sid].village, [])
        peers = [yields[p] for p in village if p != sid and p in yields]
        peers = peers or [v for p, v in yields.items() if p != sid]
        median = statistics.median(peers) if peers else None
        for d in devs:
            f = snap.fields(d.id)
            cond = condition(
                rows.get(d.id),
                f.get("energy_total_wh", []),
                f.get("power_w", []),
                zero_w=float(rule.zero_power_share) / 100 * d.capacity_kw * 1000,
                peer_kwh_per_kwp=median,
                min_day_kwh_per_kwp=rule.min_day_kwh_per_kwp,
            )
            hold = False
            row = rows.get(d.id)
            if cond is None and row is not None and frozen(row, f.get("energy_total_wh", [])):
                # still frozen, but dark or dull now: keep an open alert, open none
                cond, hold = Condition(row.first_ts_ms or snap.now_ms, {"hold": True}), True
            if cond is not None:
                out.append(
                    fleet.finding(
                        "stale_counter", d.id, cond, rule.for_s, hold=hold, station=sid, device=d.id
                    )
                )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """The frozen value, against the power reported and the peers' day."""
    s = alert.seen
    if lang == "zh":
        return (
            f"电量计数停在 {s.get('counter_wh')} Wh 已超过一整天(同村日发电 "
            f"{s.get('peer_kwh_per_kwp')} kWh/kWp),而设备仍报告功率 {s.get('max_power_w')} W"
        )
    return (
        f"energy counter stuck at {s.get('counter_wh')} Wh for over a day (village peers "
        f"{s.get('peer_kwh_per_kwp')} kWh/kWp) while the device reports {s.get('max_power_w')} W"
    )
