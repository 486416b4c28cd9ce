"""Energy edge cases against a real SqliteStore: boundaries, gaps, replacement, jumps."""

from __future__ import annotations

import datetime as dt

import pytest

from core.store import open_store
from revenue.energy import EnergyReader, ImportedMeter, boundary
from revenue.payout import ChecksFailed, payout
from revenue.period import parse_period
from revenue.run import compute
from tests.revenue.helpers import local_ms, setup_case, write_rows

JULY = parse_period("2026-07")


def _utc_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp() * 1000)


def _meter(rows):
    return [
        {
            "station": "v-dongpi",
            "device": "v-dongpi-meter",
            "field": "export_wh",
            "measurement": "meter",
            "local_time": t,
            "value": v,
        }
        for t, v in rows
    ]


def test_month_starts_at_1600_utc():
    # local midnight 07-01 is 2026-06-30T16:00Z: a reading there is exact and belongs to July
    start = JULY.start_ms(dt.timezone(dt.timedelta(hours=8)))  # type: ignore[arg-type]
    assert start == _utc_ms("2026-06-30T16:00:00")
    pts = [(_utc_ms("2026-06-30T15:00:00"), 100), (_utc_ms("2026-06-30T17:00:00"), 300)]
    b = boundary(pts, start, 6 * 3_600_000)
    assert (b.value_wh, b.quality) == (200, "interpolated")
    assert boundary(pts, start, 3_600_000).startswith("readings around")


def test_interpolated_boundary_in_a_run(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    station = cfg.station_by_id["v-dongpi"]
    with open_store(cfg) as store:
        # a meter in a new station-less store world: readings 2 h either side of 08-01 00:00
        write_rows(
            store, _meter([("2026-07-31 22:00", 62_390_000), ("2026-08-01 02:00", 62_390_400)])
        )
        tz = cfg.site.tz
        r = EnergyReader(cfg, store, JULY.start_ms(tz), JULY.end_ms(tz))
        line = r.line(station, JULY.start_ms(tz), JULY.end_ms(tz))
    # the exact reading at 08-01 00:00 still wins over interpolation
    assert (line.energy_wh, line.quality, line.source) == (12_390_000, "exact", "export_meter")


def test_gap_beyond_limit_falls_back_to_inverter_with_a_note(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    s = cfg.station_by_id["s-hh-1"]
    tz = cfg.site.tz
    with open_store(cfg) as store:
        write_rows(
            store,
            [
                {
                    "station": "s-hh-1",
                    "device": "s-hh-1-inv",
                    "field": "energy_total_wh",
                    "local_time": "2026-07-31 12:00",
                    "value": 1_371_000,
                }
            ],
        )
        # move the limit below the night gap (20:00 -> 06:00 = 10 h) around 08-01
        settings = cfg.allocation.energy.model_copy(update={"gap_limit_h": 4})
        r = EnergyReader(cfg, store, JULY.start_ms(tz), JULY.end_ms(tz), settings=settings)
        line = r.line(s, JULY.start_ms(tz), JULY.end_ms(tz))
        power = [
            {
                "station": "s-hh-1",
                "device": "s-hh-1-inv",
                "field": "power_w",
                "local_time": f"2026-07-10 {m // 60:02d}:{m % 60:02d}",
                "value": 1000,
            }
            for m in range(600, 781, 10)  # 10:00 .. 13:00 every 10 min at 1 kW
        ]
        write_rows(store, power)
        r2 = EnergyReader(cfg, store, JULY.start_ms(tz), JULY.end_ms(tz), settings=settings)
        est = r2.line(s, JULY.start_ms(tz), JULY.end_ms(tz))
    assert line.quality == "missing" and line.energy_wh is None
    assert any("above the 4 h limit" in n for n in line.notes)
    assert (est.source, est.quality, est.energy_wh) == ("integrated_power", "estimated", 3000)


def test_station_without_data_gets_a_missing_line(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    aug = parse_period("2026-09")
    with open_store(cfg, readonly=True) as store:
        r = compute(cfg, store, aug)
    assert r.ok
    assert {s.station: s.quality for s in r.stations} == {
        "s-hh-1": "missing",
        "v-dongpi": "missing",
    }
    assert all(s.distributable_fen == 0 for s in r.stations)
    assert sum("missing-data line" in w for w in r.warnings) == 2
    assert any(w.startswith("no final run for 2026-08") for w in r.warnings)


def test_meter_replacement_is_an_error_until_decided(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    with open_store(cfg) as store:
        # the meter was swapped on 07-20: the new one starts near zero
        write_rows(store, _meter([("2026-07-20 12:00", 58_000_000), ("2026-07-21 08:00", 120)]))
    with open_store(cfg, readonly=True) as store, pytest.raises(ChecksFailed) as exc:
        payout(cfg, store, JULY, out_dir=tmp_path / "out")
    assert "went backwards" in "\n".join(exc.value.result.errors)
    assert not (tmp_path / "out").exists()  # nothing exported
    # the decision: the grid company's statement for the month
    imported = ImportedMeter(statements={("v-dongpi", "2026-07"): 12_390_000})
    with open_store(cfg, readonly=True) as store:
        r = compute(cfg, store, JULY, imported=imported)
    assert r.ok
    v = next(s for s in r.stations if s.station == "v-dongpi")
    assert (v.energy_source, v.energy_wh, v.distributable_fen) == ("statement", 12_390_000, 473166)


def test_jump_beyond_nameplate_is_an_error(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    with open_store(cfg) as store:
        write_rows(
            store,
            [
                # +100 kWh from 12:00 to 13:00; the 12:00 value may have been reached any
                # time after the reading before it (core.counter_anomaly: stale registers),
                # so the limit counts from 07-14 19:00: 18 h x 3 kW = 54 kWh + 50 Wh
                {
                    "station": "s-hh-1",
                    "device": "s-hh-1-inv",
                    "field": "energy_total_wh",
                    "local_time": t,
                    "value": v,
                }
                for t, v in (("2026-07-14 19:00", 1_199_000), ("2026-07-15 13:00", 1_300_000))
            ],
        )
    with open_store(cfg, readonly=True) as store:
        r = compute(cfg, store, JULY)
    assert not r.ok
    assert any("jumped" in e and "s-hh-1" in e for e in r.errors)
    assert local_ms("2026-07-01 00:00") == JULY.start_ms(cfg.site.tz)
