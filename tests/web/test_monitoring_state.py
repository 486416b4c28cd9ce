"""The monitoring pages' pure parts: station state, energy from roll-ups, the SVG charts,
and the alert lifecycle's staff actions (assign, resolve by hand, ack by whom)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.state import AlertDb, Finding
from core.counters import daily_energy_wh, series_points
from core.localday import day_number
from core.store.base import DayBounds
from web import svg
from web.fleet_state import (
    STATES,
    PowerNow,
    StationNow,
    energy_by_series,
    matches,
    past_energy,
    power_by_station,
    sort_key,
    state_of,
    today_energy,
)
from web.station_data import peer_median, power_curve_w, specific_yield

TZ = ZoneInfo("Asia/Shanghai")
NOW = 1_781_500_000_000


def _state(kinds=(), sun=True, power=None, cap=3.0, quiet=1_800_000):
    return state_of(
        open_kinds=kinds,
        sun_up=sun,
        power=power,
        capacity_kw=cap,
        now_ms=NOW,
        silent_after_ms=quiet,
    )


def test_state_open_alerts_decide_then_the_sun_then_the_data() -> None:
    fresh = PowerNow(NOW - 60_000, 1500.0)
    assert _state(power=fresh) == "producing"
    assert _state(("no_output",), power=fresh) == "stopped"
    assert _state(("village_outage",), sun=False) == "stopped"
    assert _state(("device_fault",), power=fresh) == "fault"
    assert _state(("comm_lost",), power=fresh) == "silent"
    assert _state(("device_fault", "no_output")) == "stopped"  # the worse one
    assert _state(sun=False, power=None) == "night"  # a logger asleep is no silence
    assert _state(power=None) == "silent"
    assert _state(power=PowerNow(NOW - 1_800_001, 1500.0)) == "silent"
    assert _state(power=PowerNow(NOW - 1_800_000, 1500.0)) == "producing"
    assert _state(power=PowerNow(NOW, 2.9), cap=3.0) == "stopped"  # < 1 W per kWp
    assert _state(power=PowerNow(NOW, 3.0), cap=3.0) == "producing"
    assert _state(("low_performance",), power=fresh) == "producing"


def _row(sid: str, state: str, today_wh: int, village: str = "va", kind: str = "household"):
    return StationNow(sid, village, kind, 3.0, state, None, None, today_wh, today_wh, ())


def test_worst_first_then_lowest_yield_then_id_and_filters() -> None:
    rows = [
        _row("b", "producing", 9000),
        _row("a", "producing", 9000),
        _row("c", "night", 0),
        _row("d", "silent", 100),
        _row("e", "stopped", 5000),
        _row("f", "producing", 1000),
        _row("g", "fault", 0, village="vb"),
    ]
    assert [r.station for r in sorted(rows, key=sort_key)] == ["e", "g", "d", "f", "a", "b", "c"]
    seen = frozenset({"va"})
    assert [r.station for r in rows if matches(r, villages=seen, state="fault")] == []
    both = frozenset({"va", "vb"})
    assert [r.station for r in rows if matches(r, villages=both, state="fault")] == ["g"]
    assert [r.station for r in rows if matches(r, villages=seen, village="vb")] == []
    assert STATES[0] == "stopped"


def _bounds(device: str, points: list[tuple[int, int]]) -> list[DayBounds]:
    """Roll-up rows (first/last per local day) of one counter's readings."""
    by_day: dict[int, list[tuple[int, int]]] = {}
    for ts, v in points:
        d = day_number(dt.datetime.fromtimestamp(ts / 1000, TZ).date())
        by_day.setdefault(d, []).append((ts, v))
    return [
        DayBounds("s1", device, "energy_total_wh", d, p[0][0], p[0][1], p[-1][0], p[-1][1])
        for d, p in sorted(by_day.items())
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 40 * 86_400_000), st.integers(0, 50_000)),
        min_size=1,
        max_size=60,
    )
)
def test_month_and_today_energy_equal_the_counters_daily_energy(steps) -> None:
    start = 1_780_000_000_000
    points, t, v = [], start, 1_000_000
    for dt_ms, dv in steps:
        t += dt_ms + 1
        v += dv
        points.append((t, v))
    rows = _bounds("inv", points)
    per_day = daily_energy_wh(series_points(rows)[("s1", "inv", "energy_total_wh")], TZ)
    today = rows[-1].day
    month_start = today // 100 * 100 + 1
    got = energy_by_series(rows, month_start=month_start, today=today)
    # the server's split: the month before today kept for the day, today's rows on top
    past = past_energy([r for r in rows if r.day < today], month_start=month_start)
    split = today_energy([r for r in rows if r.day == today], past)
    assert split == got
    assert got[("s1", "inv")] == (
        sum(e for d, e in per_day.items() if d >= month_start),
        per_day.get(today, 0),
    )


def test_power_now_sums_pv_devices_and_leaves_the_meter_out() -> None:
    rows = [
        DayBounds("s1", "inv1", "power_w", 20260615, 1, 10.0, 5_000, 1200.0),
        DayBounds("s1", "inv2", "power_w", 20260615, 1, 10.0, 6_000, 800.0),
        DayBounds("s1", "meter", "power_w", 20260615, 1, 10.0, 9_000, -2000.0),
        DayBounds("s2", "log", "power_w", 20260615, None, None, None, None),
    ]
    got = power_by_station(rows, {"inv1": "s1", "inv2": "s1", "log": "s2"})
    assert got == {"s1": PowerNow(6_000, 2000.0)}


def test_power_curve_averages_each_device_per_bin_then_adds_them() -> None:
    from core.reading import Quality, Sample

    def s(dev, ts, v, q=Quality.GOOD):
        return Sample("s1", dev, "power_w", ts, v, q, "pv", "va", "gw")

    got = power_curve_w(
        [
            s("inv1", 0, 100.0),
            s("inv1", 60_000, 300.0),
            s("inv2", 30_000, 50.0),
            s("inv2", 90_000, 9999.0, Quality.COMM_ERROR),
            s("inv1", 300_000, 10.0),
        ]
    )
    assert got == [(0, 250.0), (300_000, 10.0)]


def test_specific_yield_and_peer_median() -> None:
    days = [20260601, 20260602, 20260603]
    assert specific_yield(days, {20260601: 6000, 20260603: 3000}, 3.0) == [2.0, None, 1.0]
    peers = {"p1": {20260601: 3000, 20260602: 6000}, "p2": {20260601: 9000}, "p3": {}}
    assert peer_median(days, peers, {"p1": 3.0, "p2": 3.0, "p3": 3.0}) == [2.0, 2.0, None]


def test_svg_charts_scale_to_their_data_and_say_when_empty() -> None:
    assert [svg.nice_max(v) for v in (0, 0.7, 3, 38, 51, 100)] == [1, 1, 5, 50, 100, 100]
    line = svg.line_chart(
        [(6.0, 10.0), (12.0, 40.0), (18.0, 0.0)],
        x_min=0,
        x_max=24,
        x_ticks=[(0, "00:00"), (24, "24:00")],
        title="Power <today>",
        empty_text="none",
    )
    assert "Power &lt;today&gt;" in line and "<today>" not in line
    pts = re.search(r'<polyline class="line" points="([^"]+)"', line).group(1).split()
    ys = [float(p.split(",")[1]) for p in pts]
    h = svg.HEIGHT - svg.TOP - svg.BOTTOM
    # the axis runs to 50 kW: 40 kW is 80 % up, 0 kW on the base line
    assert ys[1] == pytest.approx(svg.TOP + 0.2 * h, abs=0.1)
    assert ys[2] == pytest.approx(svg.TOP + h, abs=0.1)
    empty = svg.line_chart([], x_min=0, x_max=24, x_ticks=[], title="t", empty_text="no data")
    assert "no data" in empty and "polyline" not in empty
    bars = svg.bars_with_line(
        [1.0, None, 3.0],
        [2.0, None, 2.0],
        labels=["a", "b", "c"],
        label_every=1,
        title="t",
        bar_name="me",
        line_name="peers",
        empty_text="none",
    )
    assert bars.count('class="bar"') == 2 + 1  # two days and the legend's swatch
    assert bars.count('<polyline class="peer"') == 2  # the gap breaks the line


def _db(tmp_path: Path) -> AlertDb:
    db = AlertDb(tmp_path / "alerts.db")
    f = Finding("no_output", "s1-log", NOW - 3_600_000, 0, {"p": 0}, station="s1", village="va")
    db.apply(
        [f],
        now_ms=NOW,
        kinds=["no_output"],
        clear_s={},
        renotify_s=7200,
        notifiers=["mqtt"],
        describe=lambda a, e, n: {"kind": a.kind, "event": e},
    )
    return db


def test_assign_and_resolve_by_hand_are_recorded_and_never_notified(tmp_path: Path) -> None:
    db = _db(tmp_path)
    (a,) = db.open_alerts()
    owed = len(db.undelivered("mqtt"))
    db.ack(a.id, now_ms=NOW + 1, note="seen", by="om1")
    db.assign(a.id, now_ms=NOW + 2, to="care-va", by="om1")
    got = db.resolve_by_hand(a.id, now_ms=NOW + 3, note="restarted", by="om1")
    assert got.state == "resolved" and got.resolved_ms == NOW + 3
    assert got.acked_ms == NOW + 1 and got.ack_note == "seen"
    events = [(e.event, e.payload) for e in db.events_of(a.id)]
    assert events[1:] == [
        ("ack", {"note": "seen", "by": "om1"}),
        ("assign", {"to": "care-va", "by": "om1"}),
        ("resolved_by_hand", {"note": "restarted", "by": "om1"}),
    ]
    assert len(db.undelivered("mqtt")) == owed  # staff actions are not sent
    with pytest.raises(ValueError):
        db.resolve_by_hand(a.id, now_ms=NOW + 4)
    with pytest.raises(KeyError):
        db.assign(999, now_ms=NOW, to="x")
    assert db.alerts(station="s1")[0].id == a.id and db.alerts(station="s2") == []
    db.close()


def test_the_command_line_ack_keeps_its_payload(tmp_path: Path) -> None:
    db = _db(tmp_path)
    (a,) = db.open_alerts()
    db.ack(a.id, now_ms=NOW + 1, note=None)
    assert db.events_of(a.id)[-1].payload == {"note": None}
    db.close()
