"""low_performance 发电量偏低: daily yield below a share of the village peers' median on
several judged days in a row (soiling, shading, a failed string).

Days too dull to judge are skipped; a station whose output stopped (an open no_output,
comm_lost, device_fault or village_outage alert) only holds: that incident is told.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.fleet import PRODUCING_ROLES
from alerts.signals import Condition
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase, Share
from core.localday import day_of_ms, day_start_ms

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A station that yields less than its peers, day after day."""

    kind: Literal["low_performance"]
    #: share of the village peer median [%] ...
    peer_median_share: Share = Decimal("60")
    #: ... on this many consecutive judged days
    days: int = Field(default=3, ge=1, le=31)
    #: days when the peer median is below this are too dull to judge (skipped, they
    #: neither count nor break a run) [kWh/kWp]
    min_day_kwh_per_kwp: float = Field(default=1.0, ge=0)


NAMES = {"zh": "发电量偏低", "en": "low performance"}
SUPPRESSED_BY = {"village_outage": "village"}
LOSS = "shortfall"
#: kinds whose open alert on a station makes its low_performance redundant
STOPPED_KINDS = ("no_output", "comm_lost", "device_fault", "village_outage")


@dataclass(frozen=True, slots=True)
class DayYield:
    """One local day of one station: its yield and its village peers' median [kWh/kWp]."""

    day_start_ms: int
    own_kwh_per_kwp: float | None
    peer_median_kwh_per_kwp: float | None


def history_days(rule: Rule) -> int:
    """The judged days and a week to spare for dull ones [days]."""
    return rule.days + 7


def condition(
    days: Sequence[DayYield], *, share: float, n_days: int, min_peer_kwh_per_kwp: float
) -> Condition | None:
    """Yield below share of the village peer median on n_days consecutive judged days.

    days: oldest first, the newest may be today so far. Days too dull to judge
    (peer median below min_peer_kwh_per_kwp) or without data are skipped: they
    neither count nor break the run. since = start of the oldest low day counted.
    """
    low: list[DayYield] = []
    for d in reversed(days):
        if d.own_kwh_per_kwp is None or d.peer_median_kwh_per_kwp is None:
            continue
        if d.peer_median_kwh_per_kwp < min_peer_kwh_per_kwp:
            continue
        if d.own_kwh_per_kwp >= share * d.peer_median_kwh_per_kwp:
            break
        low.append(d)
        if len(low) >= n_days:
            break
    if len(low) < n_days:
        return None
    low.reverse()
    return Condition(
        low[0].day_start_ms,
        {
            "days": len(low),
            "own_kwh_per_kwp": [round(d.own_kwh_per_kwp or 0, 2) for d in low],
            "peer_median_kwh_per_kwp": [round(d.peer_median_kwh_per_kwp or 0, 2) for d in low],
            "share_pct": round(100 * share),
        },
    )


def daily_yields(snap: Snapshot, fleet: FleetIndex) -> dict[str, dict[int, float]]:
    """kWh/kWp per station and local day of the snapshot's roll-up, today so far included
    (up to now only); a day on which a producing device is missing is left out."""
    tz = fleet.config.site.tz
    today = day_of_ms(snap.now_ms, tz)
    energy: dict[tuple[str, int], float] = defaultdict(float)
    devs_seen: dict[tuple[str, int], int] = defaultdict(int)
    for b in snap.daily:
        info = fleet.devices.get(b.device)
        if b.field != "energy_total_wh" or info is None or info.role not in PRODUCING_ROLES:
            continue
        if b.first_value is None or b.first_ts_ms is None:
            continue
        last = b.last_value
        if b.day == today:
            # the roll-up may hold later readings (a backfilled store): stop at now
            pts = snap.fields(b.device).get("energy_total_wh", [])
            if not pts or b.first_ts_ms > snap.now_ms:
                continue
            last = pts[-1].value
        if last is None:
            continue
        energy[(b.station, b.day)] += max(float(last) - float(b.first_value), 0.0)
        devs_seen[(b.station, b.day)] += 1
    out: dict[str, dict[int, float]] = defaultdict(dict)
    for (sid, day), wh in energy.items():
        if devs_seen[(sid, day)] < len(fleet.producing.get(sid, [])):
            continue  # a device missing that day: not comparable
        out[sid][day] = wh / 1000 / fleet.stations[sid].capacity_kw
    return out


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per station low on rule.days judged days (a hold when it stopped)."""
    tz = fleet.config.site.tz
    yields = daily_yields(snap, fleet)
    stopped = {a.station for a in snap.open_alerts if a.kind in STOPPED_KINDS}
    all_days = sorted({d for per in yields.values() for d in per})
    out = []
    for sid in fleet.producing:
        if not fleet.applies(rule, sid) or sid not in yields:
            continue
        st = fleet.stations[sid]
        peers = [p for p in fleet.village_stations.get(st.village, []) if p != sid]
        if not peers:
            peers = [p for p in yields if p != sid]
        days = []
        for day in all_days:
            vals = [yields[p][day] for p in peers if day in yields.get(p, {})]
            days.append(
                DayYield(
                    day_start_ms(day, tz),
                    yields[sid].get(day),
                    statistics.median(vals) if vals else None,
                )
            )
        cond = condition(
            days,
            share=float(rule.peer_median_share) / 100,
            n_days=rule.days,
            min_peer_kwh_per_kwp=rule.min_day_kwh_per_kwp,
        )
        if cond is not None:
            out.append(
                fleet.finding("low_performance", sid, cond, 0.0, hold=sid in stopped, station=sid)
            )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """The low days' yields against the peer median."""
    s = alert.seen
    own = ", ".join(f"{v:.2f}" for v in s.get("own_kwh_per_kwp", []))
    peer = ", ".join(f"{v:.2f}" for v in s.get("peer_median_kwh_per_kwp", []))
    if lang == "zh":
        return (
            f"连续 {s.get('days')} 天日发电 {own} kWh/kWp,低于同村中位数 {peer} 的 "
            f"{s.get('share_pct')}%"
        )
    return (
        f"{s.get('days')} days at {own} kWh/kWp, below {s.get('share_pct')}% of "
        f"the village median {peer}"
    )
