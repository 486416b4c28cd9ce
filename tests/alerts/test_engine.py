"""The engine against a real SQLite store filled with hand-shaped days: one stop gives one
alert, a village outage or a silent gateway gives one incident, night and uniform cloud
give nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from alerts.engine import Engine
from alerts.state import AlertDb
from core import solar
from core.config import Config, load_config
from core.store import SqliteStore
from tests.alerts.fleet import LAT, LON, comm_error, fill, local_ms, write_config

DAY = "2018-07-10"


def engine(config: Config, store, *, county: bool = False) -> Engine:
    return Engine(config, store, AlertDb(config.resolve(config.alerts.db_path)), county=county)


def run(eng: Engine, times: list[str], day: str = DAY) -> list:
    events = []
    for t in times:
        events += eng.step(local_ms(day, t))
    return events


def every(start: str, end: str, minutes: int = 5) -> list[str]:
    h, m = map(int, start.split(":"))
    eh, em = map(int, end.split(":"))
    out = []
    while h * 60 + m <= eh * 60 + em:
        out.append(f"{h:02d}:{m:02d}")
        m += minutes
        h, m = h + m // 60, m % 60
    return out


def fired(events, kind=None):
    return [
        e for e in events if e.event == "firing" and (kind is None or e.payload["kind"] == kind)
    ]


def test_one_stopped_station_raises_one_no_output_then_resolves(tmp_path: Path):
    cfg = write_config(tmp_path)
    stop_from, stop_to = local_ms(DAY, "10:30"), local_ms(DAY, "12:30")

    def stopped(sid, t):
        return sid == "s-a1" and stop_from <= t < stop_to

    # as the simulator's "stop": zero output, fault status and a vendor fault code
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "14:00"),
        lambda sid, t: 0.0 if stopped(sid, t) else 0.8,
        status=lambda sid, t: 3 if stopped(sid, t) else 1,
        fault_code=lambda sid, t: 2062 if stopped(sid, t) else 0,
    )
    eng = engine(cfg, store)
    try:
        events = run(eng, every("10:00", "11:25"))
        assert fired(events) == []  # 55 min of zero: still pending
        assert [a.kind for a in eng.db.open_alerts()] == ["no_output"]
        events = run(eng, every("11:30", "12:25"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(events)] == [
            ("no_output", "s-a1-log")
        ]
        p = fired(events)[0].payload
        assert p["station"] == "s-a1" and p["village"] == "va" and p["owner_name"] == "Owner a1"
        assert p["since"] == f"{DAY} 10:30"
        assert "fault code 2062" in p["text"]  # the device's own report, in the same alert
        # the clear-sky output of a 3 kW roof since 10:30, times the peers' 80 %
        grid = np.arange(local_ms(DAY, "10:30"), fired(events)[0].ts_ms, 60_000)
        clear_wh = float(np.sum(solar.expected_power_w(3.0, grid, LAT, LON))) / 60
        assert abs(p["expected_energy_wh"] - 0.8 * clear_wh) < 0.05 * clear_wh
        assert p["lost_income_fen"] == round(p["expected_energy_wh"] * 0.085)
        events = run(eng, every("12:30", "13:00"))
        assert [e.event for e in events] == ["resolved"]
        assert eng.db.open_alerts() == []
    finally:
        eng.db.close()
        store.close()


def test_uniformly_cloudy_day_and_night_give_nothing(tmp_path: Path):
    cfg = write_config(tmp_path)

    def share(sid, t):
        # heavy overcast: 4..12 % of clear sky, a bit different per roof
        return 0.04 + 0.02 * (ord(sid[-1]) % 5)

    store = fill(cfg, local_ms(DAY, "00:00"), local_ms(DAY, "23:59"), share)
    eng = engine(cfg, store, county=True)
    try:
        events = run(eng, every("00:05", "23:55", 10))
        assert events == []
        assert eng.db.open_alerts() == []
    finally:
        eng.db.close()
        store.close()


def test_loggers_asleep_at_night_are_not_comm_lost(tmp_path: Path):
    cfg = write_config(tmp_path)
    dark = local_ms(DAY, "19:30")

    def share(sid, t):
        return None if t >= dark else 0.8  # loggers switch off with the inverter

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "23:59"), share)
    eng = engine(cfg, store, county=True)
    try:
        assert run(eng, every("19:00", "23:55", 10)) == []
    finally:
        eng.db.close()
        store.close()


def test_comm_lost_after_its_time(tmp_path: Path):
    cfg = write_config(tmp_path)
    gone = local_ms(DAY, "10:00")

    def share(sid, t):
        return None if sid == "s-b2" and t >= gone else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "12:00"), share)
    eng = engine(cfg, store)
    try:
        assert fired(run(eng, every("10:00", "10:25"))) == []
        events = run(eng, every("10:30", "11:00"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(events)] == [
            ("comm_lost", "s-b2-log")
        ]
        assert events[0].payload["lost_income_yuan"] is None  # generation may continue
    finally:
        eng.db.close()
        store.close()


def _polled_b2(tmp_path: Path) -> Config:
    """The test fleet with s-b2's device read over Modbus (asked, not pushing)."""
    write_config(tmp_path)
    path = tmp_path / "config.yaml"
    text = path.read_text(encoding="utf-8")
    mqtt = "{id: s-b2-log, source: mqtt, topic: pv/vb/s-b2, interval_s: 60}"
    assert mqtt in text
    modbus = (
        "{id: s-b2-log, source: modbus-tcp, host: 127.0.0.1, port: 1502, unit: 1, "
        "map: sunspec, interval_s: 60}"
    )
    path.write_text(text.replace(mqtt, modbus), encoding="utf-8")
    return load_config(path)


def test_a_polled_device_is_comm_lost_only_from_its_failed_requests(tmp_path: Path):
    # s-b2 is read over Modbus; from 10:00 its polls are late (a saturated bus): one
    # request times out at 10:30, one late poll answers at 10:40, nothing else until
    # 11:00; from 11:00 every request fails (the collector stores COMM_ERROR readings)
    cfg = _polled_b2(tmp_path)
    assert Engine(cfg, None, None).fleet.devices["s-b2-log"].polled  # type: ignore[arg-type]
    gone, answered, failing = (local_ms(DAY, t) for t in ("10:00", "10:40", "11:00"))

    def share(sid, t):
        return None if sid == "s-b2" and t >= gone and t != answered else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "12:30"), share)
    fails = [local_ms(DAY, "10:30"), *range(failing, local_ms(DAY, "12:30"), 60_000)]
    store.write([comm_error("s-b2", "s-b2-log", t) for t in fails])
    eng = engine(cfg, store)
    try:
        # an hour with one late answer and one timeout: late polls are not a lost device
        # (the same silence from an MQTT logger fires at 10:30: the test above)
        late = run(eng, every("10:00", "11:00"))
        assert late == [] and eng.db.open_alerts() == []
        # failures spanning more than the grace open it, since the first of them;
        # it fires once they have lasted for_s (30 min)
        events = run(eng, every("11:05", "12:00"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(events)] == [
            ("comm_lost", "s-b2-log")
        ]
        f = fired(events)[0]
        assert f.ts_ms == local_ms(DAY, "11:30")
        assert f.payload["since"] == f"{DAY} 11:00"
        assert f.payload["seen"]["last_failed_ms"] <= f.ts_ms
    finally:
        eng.db.close()
        store.close()


def test_a_gateway_counts_silence_from_when_it_started_collecting(tmp_path: Path):
    # the history stops at 10:00 for everyone: the gateway itself was down (the county's
    # gateway_silent tells that story). From 11:00 it collects again and every device
    # answers but s-b2: s-b2 gets its full time from 11:00 before it is called lost.
    cfg = write_config(tmp_path)
    down, back = local_ms(DAY, "10:00"), local_ms(DAY, "11:00")

    def share(sid: str, t: int) -> float | None:
        silent = down <= t < back or (sid == "s-b2" and t >= down)
        return None if silent else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "12:30"), share)
    eng = engine(cfg, store)
    try:
        assert fired(run(eng, every("11:00", "11:25"))) == []
        later = run(eng, every("11:30", "12:30"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(later)] == [
            ("comm_lost", "s-b2-log")
        ]
    finally:
        eng.db.close()
        store.close()
    # the county side did not start the devices: its watcher counts from the last reading
    county = Engine(
        cfg,
        SqliteStore(cfg.resolve(cfg.storage.path), timezone="Asia/Shanghai"),
        AlertDb(tmp_path / "county-alerts.db"),
        county=True,
    )
    try:
        assert ("comm_lost", "s-b2-log") in [
            (e.payload["kind"], e.payload["subject"]) for e in fired(run(county, ["11:00"]))
        ]
    finally:
        county.db.close()
        county.store.close()


def test_village_outage_is_one_incident(tmp_path: Path):
    cfg = write_config(tmp_path)
    out_from = local_ms(DAY, "11:00")

    def share(sid, t):
        return 0.0 if sid.startswith("s-a") and t >= out_from else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "13:30"), share)
    eng = engine(cfg, store)
    try:
        events = run(eng, every("10:30", "13:30"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(events)] == [
            ("village_outage", "va")
        ]
        assert {a.kind for a in eng.db.open_alerts()} == {"village_outage"}
        assert fired(events)[0].payload["lost_income_fen"] > 0
    finally:
        eng.db.close()
        store.close()


def test_a_dark_cloud_over_one_village_is_not_an_outage(tmp_path: Path):
    cfg = write_config(tmp_path)

    def share(sid, t):
        # a morning under a thick local cloud: ~3 % of clear sky (about 1 % of nameplate)
        # while the next village makes half its clear-sky output
        return 0.03 if sid.startswith("s-a") else 0.5

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "10:00"), share)
    eng = engine(cfg, store)
    try:
        assert run(eng, every("06:30", "10:00")) == []
    finally:
        eng.db.close()
        store.close()


def test_silent_gateway_is_one_incident_on_the_county_side(tmp_path: Path):
    cfg = write_config(tmp_path, gateways=True)
    gone = local_ms(DAY, "10:00")

    def share(sid, t):
        return None if sid.startswith("s-b") and t >= gone else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "12:00"), share)
    eng = engine(cfg, store, county=True)
    try:
        events = run(eng, every("10:00", "12:00"))
        assert [(e.payload["kind"], e.payload["subject"]) for e in fired(events)] == [
            ("gateway_silent", "gw-vb")
        ]
    finally:
        eng.db.close()
        store.close()


def test_low_performance_after_three_days(tmp_path: Path):
    cfg = write_config(tmp_path)
    days = ["2018-07-06", "2018-07-07", "2018-07-08", "2018-07-09", "2018-07-10"]
    degraded_from = local_ms(days[1], "00:00")

    def share(sid, t):
        return 0.35 if sid == "s-a2" and t >= degraded_from else 0.8

    store = fill(cfg, local_ms(days[0], "05:00"), local_ms(days[-1], "20:00"), share, step_s=600)
    eng = engine(cfg, store)
    try:
        # at the end of day 2 of the degradation: two low days only
        assert fired(run(eng, ["19:00"], days[2])) == []
        events = run(eng, ["11:00"], days[3])  # day 3 so far is low as well
        f = fired(events, "low_performance")
        assert [e.payload["subject"] for e in f] == ["s-a2"]
        assert f[0].payload["since"] == f"{days[1]} 00:00"
        assert f[0].payload["lost_income_fen"] > 0
        assert fired(events, "no_output") == []
    finally:
        eng.db.close()
        store.close()


def test_device_fault_and_counter_anomaly(tmp_path: Path):
    cfg = write_config(tmp_path)
    fault_from = local_ms(DAY, "11:00")

    def status(sid, t):
        return 3 if sid == "s-b3" and t >= fault_from else 1

    store = fill(
        cfg, local_ms(DAY, "08:00"), local_ms(DAY, "11:30"), lambda s, t: 0.8, status=status
    )
    from core.reading import Reading

    store.write(
        [
            Reading(
                "s-a3",
                "s-a3-log",
                local_ms(DAY, "11:30"),
                {"energy_total_wh": 5, "power_w": 2000.0},
            )
        ]
    )
    eng = engine(cfg, store)
    try:
        events = run(eng, ["11:31"])
        got = sorted((e.payload["kind"], e.payload["subject"]) for e in fired(events))
        assert got == [("counter_anomaly", "s-a3-log"), ("device_fault", "s-b3-log")]
        a = next(e for e in events if e.payload["kind"] == "counter_anomaly")
        assert a.payload["seen"]["anomaly"] == "backwards"
    finally:
        eng.db.close()
        store.close()


def test_comm_lost_held_overnight_and_late_waking_loggers_are_quiet(tmp_path: Path):
    cfg = write_config(tmp_path)
    day2 = "2018-07-11"
    lost, back = local_ms(DAY, "15:00"), local_ms(day2, "10:00")
    asleep = (local_ms(DAY, "19:20"), local_ms(day2, "06:15"))  # loggers sleep in the dark

    def share(sid, t):
        if asleep[0] <= t < asleep[1] or (sid == "s-b2" and lost <= t < back):
            return None
        return 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(day2, "11:00"), share)
    eng = engine(cfg, store)
    try:
        events = run(eng, every("15:00", "16:00"))
        assert [(e.event, e.payload["subject"]) for e in events] == [("firing", "s-b2-log")]
        # held overnight (a reminder while it is light, none in the dark); the loggers
        # that sleep in the dark and wake 40 min after sunrise are not comm_lost
        evening = run(eng, every("19:00", "23:50", 30))
        assert [(e.event, e.payload["subject"]) for e in evening] == [("reminder", "s-b2-log")]
        assert evening[0].ts_ms == local_ms(DAY, "19:00")  # before sunset (19:14)
        morning = run(eng, every("00:00", "09:50", 10), day2)
        assert {(e.event, e.payload["subject"]) for e in morning} == {("reminder", "s-b2-log")}
        assert min(e.ts_ms for e in morning) > local_ms(day2, "06:00")  # not in the dark
        events = run(eng, every("10:00", "10:40"), day2)
        assert [(e.event, e.payload["subject"]) for e in events] == [("resolved", "s-b2-log")]
    finally:
        eng.db.close()
        store.close()
