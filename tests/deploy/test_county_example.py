"""The county server as shipped, end to end: the monthly draft wrapper of the timer runs
the real `pvledger revenue` with deploy/examples/county-server.yaml against a real
VictoriaMetrics holding last month's counters, and the payout files come out."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deploy" / "examples"
BIN = ROOT / "deploy" / "bin"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_bounds(period: str) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight starting the month and the next one (Asia/Shanghai)."""
    y, m = map(int, period.split("-"))
    start = dt.datetime(y, m, 1, tzinfo=SHANGHAI)
    end = dt.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def counters(period: str) -> tuple[list[str], int, int]:
    """Hourly export-meter counter of v-dongpi (+15 kWh/h) and lifetime counter of
    s-hh-0001's inverter (+0.5 kWh/h) from 2 h before to 2 h after the month, with a
    sample on every local midnight. Returns lines and the month's energy of each [Wh]."""
    start, end = month_bounds(period)
    hours = int((end - start).total_seconds() // 3600)
    lines = []
    meter, inv = 5_000_000, 1_000_000
    t = start - dt.timedelta(hours=2)
    while t <= end + dt.timedelta(hours=2):
        ms = int(t.timestamp() * 1000)
        tags = "gateway=gw-dongpi,village=dongpi"
        lines.append(f"meter,{tags},station=v-dongpi,device=v-dongpi-meter export_wh={meter}i {ms}")
        lines.append(
            f"pv,{tags},station=s-hh-0001,device=s-hh-0001-inv "
            f"energy_total_wh={inv}i,power_w=1200i {ms}"
        )
        meter += 15_000
        inv += 500
        t += dt.timedelta(hours=1)
    return lines, 15_000 * hours, 500 * hours


def county_config(tmp_path: Path, db_url: str) -> Path:
    """The shipped county example, moved only: the database URL, /var/lib/pvledger and
    the notifiers' servers (to closed loopback ports: no test talks beyond 127.0.0.1)."""
    text = (EXAMPLES / "county-server.yaml").read_text(encoding="utf-8")
    text = text.replace("http://127.0.0.1:8428", db_url)
    text = text.replace("/var/lib/pvledger/", f"{tmp_path}/state/")
    text = text.replace("port: 1883", f"port: {free_port()}")
    text = text.replace("host: smtp.example.org", "host: 127.0.0.1")
    text = text.replace("port: 587", f"port: {free_port()}")
    (tmp_path / "registry").mkdir()
    csv_text = (EXAMPLES / "registry" / "households.csv").read_text(encoding="utf-8")
    (tmp_path / "registry" / "households.csv").write_text(csv_text, encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def fen(energy_wh: int, rate: str) -> int:
    """One component line: energy [Wh] x rate [yuan/kWh] in fen, half up."""
    return int((energy_wh * Decimal(rate) / 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_monthly_draft_of_the_county_example(victoriametrics, tmp_path: Path) -> None:
    """pvledger-revenue-draft -> pvledger revenue -> VictoriaMetrics -> payout files."""
    period = subprocess.run(
        [str(BIN / "pvledger-previous-month")], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines, meter_wh, inv_wh = counters(period)
    req = urllib.request.Request(
        f"{victoriametrics.url}/api/v2/write?precision=ms", "\n".join(lines).encode()
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 204
    victoriametrics.flush()

    config = county_config(tmp_path, victoriametrics.url)
    pvledger = tmp_path / "pvledger"
    pvledger.write_text(f'#!/bin/sh\nexec {sys.executable} -m pvledger "$@"\n')
    pvledger.chmod(0o755)
    out = tmp_path / "state" / "out"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PVLEDGER_CONFIG": str(config),
        "PVLEDGER_BIN": str(pvledger),
        "PVLEDGER_OUT": str(out),
    }
    proc = subprocess.run(
        [str(BIN / "pvledger-revenue-draft"), "--lang", "zh"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"draft payout run for {period}" in proc.stdout

    def rows(name: str) -> dict[str, dict[str, str]]:
        with open(out / f"{name}-{period}.csv", encoding="utf-8-sig", newline="") as f:
            return {r[next(iter(r))]: r for r in csv.DictReader(f)}

    stations = rows("stations")
    village = stations["v-dongpi"]
    assert (village["energy_source"], village["quality"]) == ("export_meter", "exact")
    assert int(village["energy_wh"]) == meter_wh
    assert int(village["cash_now_fen"]) == fen(meter_wh, "0.4143")  # coal part, paid by grid
    household = stations["s-hh-0001"]
    assert (household["energy_source"], household["quality"]) == ("inverter", "exact")
    assert int(household["energy_wh"]) == inv_wh
    assert int(rows("households")["hh-0001"]["amount_fen"]) == fen(inv_wh, "0.4143")
    assert stations["s-hh-0002"]["quality"] == "missing"  # no data: a line, not silence
    assert (out / f"payouts-{period}.xlsx").stat().st_size > 0


def test_alert_watcher_runs_on_the_county_example(victoriametrics, tmp_path: Path) -> None:
    """The alerts unit's command, one evaluation: it reads the county database, keeps its
    state in /var/lib/pvledger (here tmp) and survives notifiers that cannot be reached."""
    config = county_config(tmp_path, victoriametrics.url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PVLEDGER_MQTT_PASSWORD": "x"}
    env["PVLEDGER_SMTP_PASSWORD"] = "x"
    proc = subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(config), "alerts", "watch", "--once"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "state" / "alerts.db").exists()
