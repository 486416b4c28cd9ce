"""A station's page: its state, today's power curve, 60 days of energy beside its village's
peers, its devices' last readings with their quality flags, and its alert history.

404 for a station outside the user's villages, by link or by a guessed URL
(policy.station_or_404). Every number comes from the store in four small reads.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

from alerts.message import owner_name
from core.localday import day_date, day_number, day_start_ms
from core.reading import Quality
from web import monitoring, policy, runtime, svg
from web.labels import (
    ALERT_STATE_LABELS,
    DEVICE_ROLE_LABELS,
    KIND_LABELS,
    QUALITY_LABELS,
    STATE_LABELS,
    alert_kind_label,
    local_time,
)
from web.station_data import (
    daily_wh_by_station,
    peer_median,
    power_curve_w,
    specific_yield,
)

#: days of daily energy on the page
DAYS = 60
#: alerts of the history shown, newest first
HISTORY = 50


def _days(today: int, n: int) -> list[int]:
    """The n local days ending with today, oldest first (YYYYMMDD)."""
    last = day_date(today)
    return [day_number(last - dt.timedelta(days=n - 1 - i)) for i in range(n)]


def _power_chart(samples, day0_ms: int) -> str:
    points = [((ts - day0_ms) / 3_600_000, w / 1000) for ts, w in power_curve_w(samples)]
    return svg.line_chart(
        points,
        x_min=0,
        x_max=24,
        x_ticks=[(h, f"{h:02d}:00") for h in range(0, 25, 3)],
        title=gettext("Power today") + " (kW)",
        empty_text=gettext("No power readings today"),
    )


def _energy_chart(days: list[int], mine: list, peers: list, has_peers: bool) -> str:
    return svg.bars_with_line(
        mine,
        peers,
        labels=[f"{d // 100 % 100}-{d % 100:02d}" for d in days],
        label_every=10,
        title=gettext("Daily energy, last 60 days") + " (kWh/kWp)",
        bar_name=gettext("this station"),
        line_name=(
            gettext("village peers (median)") if has_peers else gettext("no peers in the village")
        ),
        empty_text=gettext("No energy readings in these 60 days"),
    )


def _devices(station, latest) -> list[dict]:
    by_device: dict[str, list] = {}
    for s in latest:
        by_device.setdefault(s.device, []).append(s)
    config = runtime.config()
    out = []
    for d in station.devices:
        got = by_device.get(d.id, [])
        out.append(
            {
                "device": d,
                "role": DEVICE_ROLE_LABELS.get(d.role, d.role),
                "last": local_time(max((s.ts_ms for s in got), default=None), config),
                "fields": [
                    {
                        "field": s.field,
                        "value": s.value,
                        "quality": s.quality.label,
                        "quality_label": QUALITY_LABELS.get(s.quality.label, s.quality.label),
                        "good": s.quality == Quality.GOOD,
                    }
                    for s in got
                ],
            }
        )
    return out


@policy.requires("station.view")
def station(request: HttpRequest, station_id: str) -> HttpResponse:
    """One station (404 outside the user's villages)."""
    s = policy.station_or_404(request.user, station_id)
    config = runtime.config()
    tz = config.site.tz
    fleet = monitoring.fleet()
    now = fleet.by_station.get(s.id)
    today = fleet.today
    day0 = day_start_ms(today, tz)
    store = monitoring.store()
    days = _days(today, DAYS)
    peers_cfg = monitoring.stations_of_village(config, s.village)
    devices = monitoring.pv_devices(config)
    samples, latest, daily = [], [], {}
    if store is not None:
        samples = [
            x
            for x in store.series(
                stations=[s.id], fields=["power_w"], start_ms=day0, end_ms=fleet.now_ms + 1
            )
            if x.device in devices
        ]
        latest = store.latest(stations=[s.id])
        rows = store.daily(
            fields=["energy_total_wh"],
            start_day=_days(days[0], 2)[0],
            end_day=today,
            stations=[p.id for p in peers_cfg],
        )
        daily = daily_wh_by_station(rows, devices, tz)
    capacity = {p.id: p.capacity_kw for p in peers_cfg}
    others = {p.id: daily.get(p.id, {}) for p in peers_cfg if p.id != s.id}
    mine = specific_yield(days, daily.get(s.id, {}), s.capacity_kw)
    alerts = sorted(
        monitoring.alert_db().alerts(station=s.id), key=lambda a: a.since_ms, reverse=True
    )[:HISTORY]
    village = config.village_by_id.get(s.village)
    return render(
        request,
        "station/station.html",
        {
            "station": s,
            "village": village,
            "kind_label": KIND_LABELS.get(s.kind, s.kind),
            "owner": owner_name(config, s.id)[1] or s.owner,
            "now": now,
            "state_label": STATE_LABELS[now.state] if now else "—",
            "as_of": local_time(fleet.now_ms, config),
            "today_kwh": (now.today_wh / 1000) if now else 0,
            "month_kwh": (now.month_wh / 1000) if now else 0,
            "power_svg": mark_safe(_power_chart(samples, day0)),  # numbers and escaped labels only
            "energy_svg": mark_safe(  # the same
                _energy_chart(days, mine, peer_median(days, others, capacity), bool(others))
            ),
            "peers": len(others),
            "devices": _devices(s, latest),
            "alerts": [
                {
                    "alert": a,
                    "kind": alert_kind_label(a.kind),
                    "state": ALERT_STATE_LABELS.get(a.state, a.state),
                    "since": local_time(a.since_ms, config),
                    "resolved": local_time(a.resolved_ms, config),
                    "acked": local_time(a.acked_ms, config) if a.acked_ms else "",
                }
                for a in alerts
            ],
        },
    )


urlpatterns = [path("stations/<str:station_id>/", station, name="station")]
