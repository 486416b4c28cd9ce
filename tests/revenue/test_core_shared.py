"""The shared kernel revenue stands on: local days, counters, counter anomalies, catalogue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from core import localday
from core.catalogue import earns
from core.config.model import Station
from core.config.tariffs import Component
from core.counter_anomaly import BACKWARDS, JUMP, SLACK_WH, counter_anomalies
from core.counters import daily_energy_wh, series_points
from core.store.base import DayBounds

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")  # has DST: a 23-hour and a 25-hour day
MIN = 60_000


def test_local_days_round_trip_across_dst():
    for tz in (SHANGHAI, BERLIN):
        for day in (20260101, 20260329, 20261025, 20261231):
            start = localday.day_start_ms(day, tz)
            assert localday.day_of_ms(start, tz) == day
            assert localday.day_of_ms(start - 1, tz) != day
            nxt = localday.day_start_ms(localday.next_day(day), tz)
            assert localday.day_of_ms(nxt - 1, tz) == day
    # 2026-03-29 in Berlin lost an hour
    d = 20260329
    berlin_len = localday.day_start_ms(localday.next_day(d), BERLIN) - localday.day_start_ms(
        d, BERLIN
    )
    assert berlin_len == 23 * 3_600_000
    assert localday.next_day(20261231) == 20270101
    assert localday.day_number(dt.date(2026, 7, 5)) == 20260705
    assert localday.day_text(20260705) == "2026-07-05"
    assert localday.month_of_day(20260705) == "2026-07"


def test_series_points_and_daily_energy():
    t = localday.day_start_ms(20260715, SHANGHAI)
    rows = [
        DayBounds(
            "s",
            "inv",
            "energy_total_wh",
            20260715,
            t + 6 * 3_600_000,
            1000,
            t + 19 * 3_600_000,
            9000,
        ),
        DayBounds(
            "s",
            "inv",
            "energy_total_wh",
            20260716,
            t + 30 * 3_600_000,
            9000,
            t + 43 * 3_600_000,
            14000,
        ),
        # a day with one reading: first == last, kept once
        DayBounds(
            "s",
            "inv",
            "energy_total_wh",
            20260717,
            t + 55 * 3_600_000,
            15000,
            t + 55 * 3_600_000,
            15000,
        ),
        DayBounds("s", "inv", "energy_total_wh", 20260718, None, None, None, None),
    ]
    pts = series_points(rows)[("s", "inv", "energy_total_wh")]
    assert [v for _, v in pts] == [1000, 9000, 9000, 14000, 15000]
    # day 1: 9000 - 1000; day 2: 14000 - 9000 (night flat); day 3: from day 2's last
    assert daily_energy_wh(pts, SHANGHAI) == {20260715: 8000, 20260716: 5000, 20260717: 1000}


def _pts(values, step_ms=MIN):
    return [(i * step_ms, v) for i, v in enumerate(values)]


def test_counter_anomalies_one_rule():
    # 3 kW for one minute: 50 Wh x 1.5 + SLACK_WH
    limit = Decimal(50) * Decimal("1.5") + SLACK_WH
    ok = _pts([1000, 1000 + int(limit)])
    assert counter_anomalies(ok, 3000, Decimal("1.5")) == []
    (a,) = counter_anomalies(_pts([1000, 1001 + int(limit)]), 3000, Decimal("1.5"))
    assert (a.kind, a.max_wh) == (JUMP, limit)
    (b,) = counter_anomalies(_pts([1000, 1050, 900, 950]), 3000, 1.5)
    assert (b.kind, b.from_wh, b.to_wh, b.to_ts_ms) == (BACKWARDS, 1050, 900, 2 * MIN)
    # a stale register repeated for 3 readings then caught up: 4 minutes, not one
    assert counter_anomalies(_pts([950, 1000, 1000, 1000, 1190]), 3000, 1.5) == []
    assert [x.kind for x in counter_anomalies(_pts([950, 1000, 1300]), 3000, 1.5)] == [JUMP]


def test_catalogue_rule():
    st = Station.model_validate(
        {"id": "s", "kind": "household", "capacity_kw": 3, "owner": "h", "village": "v"}
    )
    out = st.model_copy(update={"subsidy_catalogue": False})
    sub = Component.model_validate(
        {
            "name": "national_subsidy",
            "yuan_per_kwh": "0.42",
            "payer": "renewable_fund",
            "subsidy": True,
        }
    )
    coal = Component.model_validate(
        {"name": "coal_benchmark", "yuan_per_kwh": "0.4143", "payer": "grid"}
    )
    assert earns(st, sub) and earns(st, coal) and earns(out, coal)
    assert not earns(out, sub)
