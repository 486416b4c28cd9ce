"""What the demo's report and summary show, from the store, the alert database and the
payout run's result (never from re-parsed export files)."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from alerts.state import Alert, AlertDb
from core.config import Config
from core.counters import daily_energy_wh, series_points
from core.localday import day_number, day_of_ms, day_text, month_of_day
from core.store.base import Store
from pvledger.report import AlertRow, ReportData, yuan
from revenue.summary import result_summary


def station_daily_kwh(
    config: Config, store: Store, start_day: int, end_day: int
) -> dict[str, dict[int, float]]:
    """Energy per station and local day [kWh]: the export meter when there is one, else the
    inverters' lifetime counters (core.counters, as revenue counts them)."""
    rows = store.daily(
        fields=["export_wh", "energy_total_wh"], start_day=start_day, end_day=end_day
    )
    series = series_points(rows)
    has_meter = {st for st, _, f in series if f == "export_wh"}
    tz = config.site.tz
    out: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (station, _device, fld), points in series.items():
        if (fld == "export_wh") != (station in has_meter):
            continue
        for day, wh in daily_energy_wh(points, tz).items():
            if day > start_day:  # start_day only gives the baseline
                out[station][day] += wh / 1000
    return out


def report_data(
    config: Config,
    store: Store,
    period: str,
    result: Any,
    live_start_ms: int,
    summary: list[tuple[str, str]],
) -> ReportData:
    """Gather what report.html shows from the store, the alert database and the run's
    result (revenue.run.RunResult)."""
    tz = config.site.tz
    first = dt.datetime.strptime(period + "-01", "%Y-%m-%d").date()
    start_day = day_number(first - dt.timedelta(days=1))
    end_day = day_of_ms(live_start_ms, tz)
    daily = station_daily_kwh(config, store, start_day, end_day)
    village_name = {v.id: v.name for v in config.villages}
    monthly: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    fleet: dict[int, float] = defaultdict(float)
    for sid, days in daily.items():
        st = config.station_by_id.get(sid)
        if st is None:
            continue
        for day, kwh in days.items():
            monthly[village_name.get(st.village, st.village)][month_of_day(day)] += kwh
            fleet[day] += kwh
    fleet_daily = [(day_text(d), fleet[d]) for d in sorted(fleet)]

    run = result_summary(config, result)
    db = AlertDb(config.resolve(config.alerts.db_path))
    try:
        firing, pending = alert_rows(db.open_alerts(), village_name, tz)
    finally:
        db.close()
    return ReportData(
        site_name=config.site.name,
        period=period,
        generated_at=dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M"),
        summary=summary,
        village_monthly_kwh={v: sorted(m.items()) for v, m in sorted(monthly.items())},
        fleet_daily_kwh=fleet_daily,
        firing_alerts=firing,
        pending_alerts=pending,
        village_pools=list(run.pools),
        cooperatives=list(run.cooperatives),
        top_households=list(run.top_households),
    )


def alert_rows(
    alerts: Iterable[Alert], village_name: dict[str, str], tz: dt.tzinfo
) -> tuple[list[AlertRow], list[AlertRow]]:
    """Open alerts as the report shows them: (firing, pending), one row per station and
    kind (a village array's inverters lost together are one row), oldest first."""
    groups: dict[tuple[str, str, str], list[Alert]] = defaultdict(list)
    for a in alerts:
        if a.state in ("firing", "pending"):
            groups[(a.state, a.station or a.subject, a.kind)].append(a)
    rows: dict[str, list[tuple[int, AlertRow]]] = {"firing": [], "pending": []}
    for (state, station, kind), group in groups.items():
        group.sort(key=lambda a: (a.since_ms, a.subject))
        first = group[0]
        village = first.village or ""
        row = AlertRow(
            station=station,
            village=village_name.get(village, village),
            kind=kind,
            devices=tuple(a.subject for a in group),
            since=dt.datetime.fromtimestamp(first.since_ms / 1000, tz).strftime("%Y-%m-%d %H:%M"),
            seen=evidence_text(first.seen, tz),
        )
        rows[state].append((first.since_ms, row))
    firing, pending = (
        [r for _, r in sorted(rows[s], key=lambda x: (x[0], x[1].station, x[1].kind))]
        for s in ("firing", "pending")
    )
    return firing, pending


def evidence_text(seen: dict[str, Any], tz: dt.tzinfo) -> str:
    """An alert's evidence for people: timestamps [ms] as local times."""
    parts = []
    for k, v in sorted(seen.items()):
        if k.endswith("_ms") and isinstance(v, int):
            k, v = k.removesuffix("_ms"), f"{dt.datetime.fromtimestamp(v / 1000, tz):%m-%d %H:%M}"
        parts.append(f"{k} {v}")
    return ", ".join(parts)


def pad(text: str, width: int) -> str:
    """Left-justify to a terminal width, counting CJK characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def village_totals(data: ReportData) -> dict[str, int]:
    """What each village's pools receive in the run [fen]."""
    out: dict[str, int] = defaultdict(int)
    for village, _pool, amount in data.village_pools:
        out[village] += amount
    return dict(out)


SUMMARY_LABELS = {
    "en": (
        "fleet",
        "readings (history + live)",
        "energy",
        "distributable",
        "alert shown",
        "{v} villages, {s} stations, {kw} kW",
        "yuan",
    ),
    "zh": (
        "电站规模",
        "读数（历史＋实时）",
        "发电量",
        "可分配收益",
        "演示告警",
        "{v} 个村，{s} 座电站，{kw} 千瓦",
        "元",
    ),
}


def summarise(
    config: Config,
    outcome: Any,
    n_hist: int,
    n_live: int,
    fired: dict,
    period: str,
    lang: str = "en",
) -> list[tuple[str, str]]:
    """The summary rows shown at the top of the report."""
    fleet, readings, energy_l, dist_l, alert_l, fleet_fmt, yuan_l = SUMMARY_LABELS[lang]
    r = outcome.result
    kw = sum(s.capacity_kw for s in config.stations)
    total = sum(s.distributable_fen for s in r.stations)
    energy = sum(s.energy_wh or 0 for s in r.stations) / 1000
    return [
        (fleet, fleet_fmt.format(v=len(config.villages), s=len(config.stations), kw=f"{kw:,.0f}")),
        (readings, f"{n_hist:,} + {n_live:,}"),
        (f"{energy_l} {period}", f"{energy:,.0f} kWh"),
        (f"{dist_l} {period}", f"{yuan(total)} {yuan_l}"),
        (alert_l, f"{fired.get('kind')} {fired.get('subject')}"),
    ]
