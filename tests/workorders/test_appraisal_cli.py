"""The CLI end to end on real files: a stop becomes a work order (the engine on a set
clock), staff assign and mark it repaired through `pvledger workorders`, the data
verifies it, `pvledger appraisal` counts it for the right contractor; the caretaker log
and overdue inspections; bad input exits 2 and changes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl

from alerts.availability import fleet_availability
from alerts.fleet import FleetIndex
from tests.alerts.fleet import fill, local_ms
from tests.workorders.helpers import engine, om_config, orders_db

DAY = "2018-07-10"


def cli(cfg_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(cfg_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def steps(eng, start: str, end: str) -> None:
    for t in range(local_ms(DAY, start), local_ms(DAY, end) + 1, 300_000):
        eng.step(t)


def test_order_through_the_cli_and_the_appraisal(tmp_path: Path):
    cfg = om_config(tmp_path)
    path = tmp_path / "config.yaml"
    stop_from, stop_to = local_ms(DAY, "10:30"), local_ms(DAY, "13:00")
    store = fill(
        cfg,
        local_ms(DAY, "05:00"),
        local_ms(DAY, "19:30"),
        lambda sid, t: 0.0 if sid == "s-a1" and stop_from <= t < stop_to else 0.8,
    )
    eng = engine(cfg, store)
    try:
        steps(eng, "10:00", "12:00")
        assert (
            cli(path, "workorders", "assign", "1", "nobody", "--at", f"{DAY}T12:01").returncode == 2
        )
        r = cli(path, "workorders", "assign", "1", "care-a1", "--at", f"{DAY}T12:01")
        assert r.returncode == 0, r.stderr
        r = cli(
            path, "workorders", "repaired", "1", "--note", "breaker reset", "--at", f"{DAY}T13:05"
        )
        assert r.returncode == 0, r.stderr
        # a second "repaired" is refused: the order is repaired already
        assert cli(path, "workorders", "repaired", "1", "--note", "x").returncode == 2
        steps(eng, "13:05", "14:30")
    finally:
        eng.db.close()
    wo = orders_db(cfg)
    o = wo.get(1)
    wo.close()
    assert o.state == "verified" and o.repaired_by == "care-a1" and o.lost_fen > 0
    shown = json.loads(cli(path, "workorders", "show", "1", "--format", "json").stdout)
    assert shown["lost_fen"] == o.lost_fen and shown["history"][0]["event"] == "opened"

    xlsx = tmp_path / "appraisal.xlsx"
    r = cli(
        path,
        "appraisal",
        "--month",
        "2018-07",
        "--format",
        "json",
        "--xlsx",
        str(xlsx),
        "--at",
        f"{DAY}T20:00",
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    by = {c["contractor"]: c for c in doc["contractors"]}
    assert by["ct-1"]["orders"] == 1 and by["ct-2"]["orders"] == 0
    assert (
        by["ct-1"]["median_repair_h"]
        == by["ct-1"]["worst_repair_h"]
        == ((o.repaired_ms - o.opened_ms) / 3_600_000)
    )
    # opened 11:30 (no_output after its hour), due 2 h later, repaired 13:05: in time
    assert o.opened_ms == local_ms(DAY, "11:30")
    assert by["ct-1"]["within_deadline_share"] == 1.0
    assert by["ct-1"]["lost_yuan"] == f"{o.lost_fen // 100}.{o.lost_fen % 100:02d}"
    avail = fleet_availability(
        store, FleetIndex(cfg), local_ms("2018-07-01", "00:00"), local_ms(DAY, "20:00")
    )
    va = [avail[s] for s in ("s-a1", "s-a2", "s-a3")]
    share = sum(a.producing_min for a in va) / sum(a.daylight_min for a in va)
    assert by["ct-1"]["availability"] == share < 1.0
    assert by["ct-2"]["availability"] == 1.0
    st = {s["station"]: s for s in doc["stations"]}
    # the order's loss, summed per station and village for the month
    assert st["s-a1"]["lost_yuan"] == by["ct-1"]["lost_yuan"] and st["s-a2"]["lost_yuan"] == "0.00"
    vil = {v["village"]: v for v in doc["villages"]}
    assert vil["va"]["lost_kwh"] == round(o.lost_wh / 1000, 3) and vil["vb"]["lost_kwh"] == 0
    assert st["s-a1"]["vs_peers"] < 1.0 < st["s-a2"]["vs_peers"] + 0.01
    wb = openpyxl.load_workbook(xlsx)
    assert [ws.title for ws in wb] == [
        "contractors 2018-07",
        "villages 2018-07",
        "stations 2018-07",
    ]
    store.close()
    assert cli(path, "appraisal", "--month", "2018-13").returncode == 2


def test_caretaker_log_and_overdue(tmp_path: Path):
    om_config(tmp_path)
    path = tmp_path / "config.yaml"
    add = ["workorders", "caretaker-log", "add", "--person", "care-a1"]
    r = cli(
        path,
        *add,
        "--station",
        "s-a1",
        "--what",
        "cleaned panels",
        "--date",
        "2018-07-01",
        "--photo",
        "photos/a1.jpg",
    )
    assert r.returncode == 0, r.stderr
    assert cli(path, *add, "--station", "s-zz", "--what", "x").returncode == 2
    rows = json.loads(
        cli(
            path, "workorders", "caretaker-log", "list", "--person", "care-a1", "--format", "json"
        ).stdout
    )
    assert [(x["station"], x["day"], x["photo"]) for x in rows] == [
        ("s-a1", "2018-07-01", "photos/a1.jpg")
    ]
    overdue = json.loads(
        cli(
            path, "workorders", "overdue-inspections", "--date", "2018-07-20", "--format", "json"
        ).stdout
    )
    assert "s-a1" not in {x["station"] for x in overdue} and len(overdue) == 5
    overdue = json.loads(
        cli(
            path, "workorders", "overdue-inspections", "--date", "2018-08-05", "--format", "json"
        ).stdout
    )
    assert {x["station"]: x["days_since"] for x in overdue}["s-a1"] == 35  # over 30 days
