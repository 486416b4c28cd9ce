"""The Grafana dashboard parses, every panel has a query, and every query runs on a real
VictoriaMetrics holding pvledger-shaped series, giving the answers the panels promise."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "pvledger-dashboard.json"
HOUR_MS = 3_600_000


def load() -> dict[str, Any]:
    """The dashboard document."""
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def query_panels() -> list[dict[str, Any]]:
    """Every panel that is not a row."""
    return [p for p in load()["panels"] if p["type"] != "row"]


def test_dashboard_parses_and_every_panel_has_a_query() -> None:
    """Unique ids, a grid position and at least one non-empty PromQL/MetricsQL target."""
    dash = load()
    assert dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    panels = query_panels()
    assert len(panels) >= 6
    for p in panels:
        assert {"x", "y", "w", "h"} <= p["gridPos"].keys(), p["title"]
        assert p["targets"], f"panel {p['title']!r} has no query"
        for t in p["targets"]:
            assert t["expr"].strip(), f"panel {p['title']!r} has an empty query"
            assert t["datasource"]["uid"] == "${datasource}"
    exprs = " ".join(t["expr"] for p in panels for t in p["targets"])
    for series in ("pv_power_w", "pv_energy_total_wh", "meter_export_wh"):
        assert series in exprs
    names = [v["name"] for v in dash["templating"]["list"]]
    assert names == ["datasource", "village"]


def line(measurement: str, tags: dict[str, str], fields: dict[str, int], ts_ms: int) -> str:
    """One InfluxDB line-protocol point as pvledger writes it (integer fields, ms stamps)."""
    t = ",".join(f"{k}={v}" for k, v in tags.items())
    f = ",".join(f"{k}={v}i" for k, v in fields.items())
    return f"{measurement},{t} {f} {ts_ms}"


def fleet_lines(now_ms: int) -> tuple[list[str], dict[str, int]]:
    """Two villages over the last 2 days, 10-minute samples, with three faults injected:
    s-silent stops reporting 2 h ago, s-zero reports 0 W for the last 2 h while its
    village produces, s-fault reports status 3. Returns lines and each village's rise [Wh]."""
    step = 600_000
    start = now_ms - 48 * HOUR_MS - 60_000  # the newest sample a minute old, not on the edge
    stations = {
        "s-ok-1": ("dongpi", "gw-dongpi"),
        "s-zero": ("dongpi", "gw-dongpi"),
        "s-silent": ("dongpi", "gw-dongpi"),
        "s-ok-2": ("shangxi", "gw-shangxi"),
        "s-fault": ("shangxi", "gw-shangxi"),
    }
    out: list[str] = []
    rise = {"dongpi": 0, "shangxi": 0}
    for station, (village, gw) in stations.items():
        tags = {"gateway": gw, "village": village, "station": station, "device": f"{station}-inv"}
        counter = 1_000_000
        first = None
        ts = start
        while ts <= now_ms:
            if station == "s-silent" and ts > now_ms - 2 * HOUR_MS:
                break
            zero = station == "s-zero" and ts > now_ms - 2 * HOUR_MS
            power = 0 if zero else 2000
            counter += power * step // HOUR_MS
            first = counter if first is None else first
            status = 3 if station == "s-fault" and ts > now_ms - HOUR_MS else 1
            fields = {"power_w": power, "energy_total_wh": counter, "status": status}
            fields["fault_code"] = 4001 if status == 3 else 0
            out.append(line("pv", tags, fields, ts))
            ts += step
        rise[village] += counter - first
    meter = {"gateway": "gw-dongpi", "village": "dongpi", "station": "v-dongpi"}
    meter["device"] = "v-dongpi-meter"
    for i in range(0, 48 * 6 + 1):
        out.append(line("meter", meter, {"export_wh": 5_000_000 + i * 1000}, start + i * step))
    return out, rise


def get(url: str) -> dict[str, Any]:
    """GET a VictoriaMetrics API URL as JSON."""
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def run_target(vm_url: str, target: dict[str, Any], now_s: int) -> list[dict[str, Any]]:
    """Evaluate a panel target as Grafana would (variables filled in); return its result."""
    expr = target["expr"].replace("$village", ".*").replace("$__range", "3d")
    if target.get("instant"):
        q = {"query": expr, "time": str(now_s)}
        doc = get(f"{vm_url}/api/v1/query?{urllib.parse.urlencode(q)}")
    else:
        step = {"1d": 86400}.get(target.get("interval", ""), 600)
        q = {"query": expr, "start": str(now_s - 3 * 86400), "end": str(now_s), "step": step}
        doc = get(f"{vm_url}/api/v1/query_range?{urllib.parse.urlencode(q)}")
    assert doc["status"] == "success", (expr, doc)
    return doc["data"]["result"]


@pytest.fixture
def loaded_vm(victoriametrics) -> tuple[Any, int, dict[str, int]]:
    """VictoriaMetrics with the synthetic fleet written through its InfluxDB write API."""
    now_ms = int(time.time() * 1000) // 60_000 * 60_000
    lines, rise = fleet_lines(now_ms)
    req = urllib.request.Request(
        f"{victoriametrics.url}/api/v2/write?precision=ms&bucket=pvledger&org=pvledger",
        data="\n".join(lines).encode(),
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204
    victoriametrics.flush()
    return victoriametrics, now_ms // 1000, rise


def by_title(title_start: str) -> dict[str, Any]:
    """The one panel whose title starts with title_start."""
    (p,) = [p for p in query_panels() if p["title"].startswith(title_start)]
    return p


def test_every_panel_query_runs_and_answers(loaded_vm) -> None:
    """Each target is valid MetricsQL on this VictoriaMetrics; the key panels give the
    stations and amounts the synthetic fleet was built with."""
    vm, now_s, rise = loaded_vm
    results = {}
    for p in query_panels():
        for t in p["targets"]:
            results[(p["title"], t["refId"])] = run_target(vm.url, t, now_s)

    def one(title: str, ref: str = "A") -> list[dict[str, Any]]:
        return results[(by_title(title)["title"], ref)]

    assert one("Stations reporting")[0]["value"][1] == "4"
    assert one("Stations silent > 30")[0]["value"][1] == "1"
    assert one("Gateways reporting")[0]["value"][1] == "2"
    assert float(one("Fleet power now")[0]["value"][1]) == pytest.approx(6.0)  # 3 x 2 kW
    silent = one("Silent stations")
    assert [r["metric"]["station"] for r in silent] == ["s-silent"]
    last_ms = float(silent[0]["value"][1])
    assert now_s * 1000 - 3 * HOUR_MS < last_ms <= now_s * 1000 - 2 * HOUR_MS
    assert [r["metric"]["station"] for r in one("No output")] == ["s-zero"]
    assert [r["metric"]["station"] for r in one("Devices reporting a fault", "A")] == ["s-fault"]
    assert [r["metric"]["station"] for r in one("Devices reporting a fault", "B")] == ["s-fault"]
    got = {r["metric"]["village"]: float(r["value"][1]) for r in one("Generation per village over")}
    # increase() over a window holding the whole series: last minus first sample [kWh]
    assert got == pytest.approx({v: wh / 1000 for v, wh in rise.items()}, rel=1e-9)
    daily = one("Generation per village per day")
    assert {r["metric"]["village"] for r in daily} == {"dongpi", "shangxi"}
    export = one("Grid export per station")
    assert [r["metric"]["station"] for r in export] == ["v-dongpi"]
