"""Contractor appraisal and fleet KPIs for one month (考核).

Per contractor: its work orders opened in the month (an order is the contractor's whose
assignee is it or one of its caretakers, else the contractor of the station's village or
station in om.people), median and worst time to repair (opened -> the repair the data
verified) [h], the share repaired within the deadline (of the orders whose repair was
verified or whose deadline passed unrepaired), availability of its stations, and the
energy and income lost on its orders. Per station and village: kWh, kWh/kWp for the
month and per day, performance against the village median kWh/kWp, availability.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from alerts.availability import Availability, fleet_availability, outage_intervals
from alerts.fleet import FleetIndex
from alerts.workorders import evidence
from alerts.workorders.loop import busy_stations, order_due_ms
from alerts.workorders.model import WorkOrder
from alerts.workorders.store import WorkOrderDb
from core.config import Config
from core.counters import daily_energy_wh, series_points
from core.localday import day_number, local_midnight_ms
from core.store.base import Store

_H = 3_600_000


@dataclass
class ContractorRow:
    """One contractor's month."""

    contractor: str
    name: str
    orders: int = 0
    verified: int = 0
    median_repair_h: float | None = None
    worst_repair_h: float | None = None
    within_deadline_share: float | None = None
    availability: float | None = None
    lost_kwh: float = 0.0
    lost_fen: int = 0
    stations: int = 0


@dataclass
class StationKpi:
    """One station's month."""

    station: str
    village: str
    capacity_kw: float
    kwh: float
    kwh_per_kwp: float
    kwh_per_kwp_day: float
    vs_peers: float | None
    availability: float | None
    #: energy and income lost on the station's work orders opened in the month
    lost_kwh: float = 0.0
    lost_fen: int = 0


@dataclass
class Appraisal:
    """The month's appraisal: contractors, stations, villages."""

    month: str
    contractors: list[ContractorRow] = field(default_factory=list)
    stations: list[StationKpi] = field(default_factory=list)
    villages: list[dict[str, Any]] = field(default_factory=list)


def month_bounds(month: str, config: Config) -> tuple[int, int, dt.date, dt.date]:
    """(start, end) [ms] and (first day, first day of next month) of a YYYY-MM month."""
    first = dt.date.fromisoformat(month + "-01")
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    tz = config.site.tz
    return local_midnight_ms(first, tz), local_midnight_ms(nxt, tz), first, nxt


def area_contractor(config: Config) -> dict[str, str]:
    """station -> the contractor responsible for it (its station or village in om.people)."""
    out: dict[str, str] = {}
    people = [p for p in config.om.people if p.role == "contractor"]
    for st in config.stations:
        for p in people:
            if (p.stations and st.id in p.stations) or (p.villages and st.village in p.villages):
                out[st.id] = p.id
                break
    return out


def order_contractor(config: Config, order: WorkOrder, area: dict[str, str]) -> str | None:
    """Whose an order is: its assignee's (or the assignee's contractor), else the area's."""
    who = config.om.person(order.assignee or "")
    if who is not None:
        if who.role == "contractor":
            return who.id
        if who.contractor:
            return who.contractor
    if order.station:
        return area.get(order.station)
    stations = [s.id for s in config.stations if s.village == order.village]
    return area.get(stations[0]) if stations else None


def station_kwh(config: Config, store: Store, first: dt.date, nxt: dt.date) -> dict[str, float]:
    """Energy per station over the month [kWh]: the export meter when there is one, else
    the inverters' lifetime counters (core.counters, as revenue counts them)."""
    start_day = day_number(first - dt.timedelta(days=1))
    end_day = day_number(nxt - dt.timedelta(days=1))
    rows = store.daily(
        fields=["export_wh", "energy_total_wh"], start_day=start_day, end_day=end_day
    )
    series = series_points(rows)
    has_meter = {st for st, _, f in series if f == "export_wh"}
    out: dict[str, float] = defaultdict(float)
    for (station, _dev, fld), points in series.items():
        if (fld == "export_wh") != (station in has_meter):
            continue
        for day, wh in daily_energy_wh(points, config.site.tz).items():
            if start_day < day <= end_day:
                out[station] += wh / 1000
    return out


def appraise(
    config: Config,
    store: Store,
    db: WorkOrderDb,
    alerts: list[Any],
    month: str,
    *,
    now_ms: int,
    contractor: str | None = None,
) -> Appraisal:
    """The month's appraisal (alerts: the alert history, for the village outages)."""
    fleet = FleetIndex(config)
    start, end, first, nxt = month_bounds(month, config)
    until = min(end, now_ms)
    avail = fleet_availability(store, fleet, start, until, outage_intervals(alerts, until))
    area = area_contractor(config)
    orders = [o for o in db.orders() if start <= o.opened_ms < end]
    losses = {o.id: order_loss(store, fleet, db, o, now_ms) for o in orders}
    result = Appraisal(month)
    for p in config.om.people:
        if p.role != "contractor" or (contractor and p.id != contractor):
            continue
        mine = [o for o in orders if order_contractor(config, o, area) == p.id]
        row = ContractorRow(p.id, p.name, orders=len(mine))
        repair_h, within, judged = [], 0, 0
        for o in mine:
            due = order_due_ms(config, o)
            if o.state == "verified" and o.repaired_ms is not None:
                repair_h.append((o.repaired_ms - o.opened_ms) / _H)
                judged += 1
                within += o.repaired_ms <= due
            elif o.state != "repaired" and now_ms > due:
                judged += 1  # past its deadline, unrepaired
            wh, fen = losses[o.id]
            row.lost_kwh += wh / 1000
            row.lost_fen += fen
        row.verified = len(repair_h)
        if repair_h:
            row.median_repair_h = statistics.median(repair_h)
            row.worst_repair_h = max(repair_h)
        row.within_deadline_share = within / judged if judged else None
        stations = [s for s, c in area.items() if c == p.id]
        row.stations = len(stations)
        row.availability = _share([avail[s] for s in stations if s in avail])
        result.contractors.append(row)
    kwh = station_kwh(config, store, first, nxt)
    days = max((until - start) / (24 * _H), 1e-9)
    per_kwp: dict[str, float] = {}
    for st in config.stations:
        if st.id in fleet.village_stations.get(st.village, []):
            per_kwp[st.id] = kwh.get(st.id, 0.0) / st.capacity_kw
    village_median = {
        v: statistics.median([per_kwp[s] for s in sts if s in per_kwp])
        for v, sts in fleet.village_stations.items()
        if any(s in per_kwp for s in sts)
    }
    for sid, k in per_kwp.items():
        st = fleet.stations[sid]
        med = village_median.get(st.village)
        a = avail.get(sid)
        result.stations.append(
            StationKpi(
                sid,
                st.village,
                st.capacity_kw,
                round(kwh.get(sid, 0.0), 3),
                round(k, 3),
                round(k / days, 3),
                round(k / med, 3) if med else None,
                a.share if a else None,
                round(sum(losses[o.id][0] for o in orders if o.station == sid) / 1000, 3),
                sum(losses[o.id][1] for o in orders if o.station == sid),
            )
        )
    for v, sts in fleet.village_stations.items():
        kw = sum(fleet.stations[s].capacity_kw for s in sts)
        total = sum(kwh.get(s, 0.0) for s in sts)
        result.villages.append(
            {
                "village": v,
                "stations": len(sts),
                "capacity_kw": kw,
                "kwh": round(total, 3),
                "kwh_per_kwp": round(total / kw, 3) if kw else None,
                "kwh_per_kwp_day": round(total / kw / days, 3) if kw else None,
                "availability": _share([avail[s] for s in sts if s in avail]),
                "lost_kwh": round(sum(losses[o.id][0] for o in orders if o.village == v) / 1000, 3),
                "lost_fen": sum(losses[o.id][1] for o in orders if o.village == v),
            }
        )
    return result


def order_loss(
    store: Store, fleet: FleetIndex, db: WorkOrderDb, order: WorkOrder, now_ms: int
) -> tuple[int, int]:
    """(energy [Wh], income [fen]) an order lost: stored once verified, else estimated."""
    if order.lost_wh is not None:
        return order.lost_wh, order.lost_fen or 0
    busy = busy_stations(db, order, order.fault_start_ms, now_ms)
    return evidence.estimate(store, fleet, order, now_ms, exclude=busy)


def _share(rows: list[Availability]) -> float | None:
    day = sum(a.daylight_min for a in rows)
    return sum(a.producing_min for a in rows) / day if day else None
