"""A province's payout run end to end: `pvledger revenue --period` as a user runs it.

Builds (once, cached in --dir) a registry of 3,000 villages and 60,000 stations (per
village: one 100 kW village array with an export meter, one cooperative array, 18 household
stations; households in registry/households.csv, cooperatives of 10 members) and a month of
daily roll-ups in the SQLite store (two counter readings per device and day, July 2026
plus the days around it). Then:

- anchors in the same run: ``python -c pass`` (interpreter start) and the Decimal money
  path alone (one component line, ``energy_amount_fen``) [µs per line];
- the end-to-end command in a fresh process, files included, N times on a fresh ledger:
  wall time and peak RSS (``wait4``), median;
- the split, in this process, stage by stage as revenue.run/revenue.publish run them:
  config, store reads, money (energy + tariffs + allocation), reconciliation, inputs hash,
  checks, each export, ledger verify and append.

    python3 benchmarks/revenue_province.py                   # 60,000 stations, 5 runs
    python3 benchmarks/revenue_province.py --villages 300    # 6,000 stations (quick)
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = "2026-07"
HH_PER_VILLAGE = 18  # household stations per village; + 1 village + 1 cooperative array
COOP_MEMBERS = 10

HEAD = """site: {name: 某省, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98}
storage: {backend: sqlite, path: data/store.db}
households: registry/households.csv
tariffs:
"""
TARIFF = """  - id: {kind}-2018
    applies_to: {{kind: {kind}}}
    shape: benchmark-total
    from: 2018-01-01
    total_yuan_per_kwh: "0.85"
    components:
      - {{name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid}}
      - {{name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund,
          cycle: annual, subsidy: true}}
"""
ALLOCATION = """allocation:
  household:
    - from: 2018-01-01
      approval: 省扶贫办〔2026〕1号
      withholdings:
        - {household: h0-1, name: loan_interest, yuan_per_month: "30.00", reference: 贷款-0001}
  cooperative:
    - from: 2018-01-01
      approval: 省扶贫办〔2026〕1号
      deductions:
        - {name: om, percent: "2.9"}
        - {name: reserve, percent: "5"}
      residue_to: reserve
  village:
    - from: 2018-01-01
      approval: 省扶贫办〔2026〕1号
      deductions:
        - {name: om, percent: "2.9"}
        - {name: land_rent, yuan_per_month: "100.00"}
      pools:
        - {name: projects, percent: "30"}
        - {name: jobs, percent: "50"}
        - {name: awards, remainder: true}
      jobs_pool: jobs
"""


def build(folder: Path, n_villages: int) -> Path:
    """Write config.yaml, registry/households.csv and the store (skipped when present)."""
    cfg_path = folder / "config.yaml"
    if (folder / "data" / "store.db").exists() and cfg_path.exists():
        return cfg_path
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "registry").mkdir(parents=True)
    (folder / "data").mkdir()
    with (folder / "registry" / "households.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "name", "village"])
        for v in range(n_villages):
            for h in range(HH_PER_VILLAGE):
                w.writerow([f"h{v}-{h}", f"张{'三四五六'[h % 4]}华", f"v{v}"])
    parts = [HEAD, *(TARIFF.format(kind=k) for k in ("village", "household", "cooperative"))]
    parts.append(ALLOCATION)
    parts.append("villages:\n")
    parts += [f"  - {{id: v{v}, name: 村{v}}}\n" for v in range(n_villages)]
    parts.append("cooperatives:\n")
    for v in range(n_villages):
        members = ", ".join(
            f"{{household: h{v}-{h}, shares: {1 + h % 2}}}" for h in range(COOP_MEMBERS)
        )
        parts.append(f"  - {{id: c{v}, name: 合作社{v}, village: v{v}, members: [{members}]}}\n")
    parts.append("stations:\n")
    for v in range(n_villages):
        parts.append(
            f"  - {{id: sv{v}, kind: village, capacity_kw: 100, owner: v{v}, village: v{v}, "
            f"devices: [{{id: sv{v}-m, source: mqtt, role: meter, topic: pv/v{v}/sv{v}}}]}}\n"
        )
        parts.append(
            f"  - {{id: sc{v}, kind: cooperative, capacity_kw: 30, owner: c{v}, village: v{v}, "
            f"devices: [{{id: sc{v}-i, source: mqtt, topic: pv/v{v}/sc{v}}}]}}\n"
        )
        for h in range(HH_PER_VILLAGE):
            parts.append(
                f"  - {{id: sh{v}-{h}, kind: household, capacity_kw: 3, owner: h{v}-{h}, "
                f"village: v{v}, devices: [{{id: sh{v}-{h}-i, source: mqtt, "
                f"topic: pv/v{v}/sh{v}-{h}}}]}}\n"
            )
    cfg_path.write_text("".join(parts), encoding="utf-8")
    _fill_store(cfg_path)
    return cfg_path


def _fill_store(cfg_path: Path) -> None:
    """Two counter readings per device and local day, 2026-06-29 .. 2026-08-02."""
    from core.config import load_config
    from core.reading import Reading
    from core.store import open_store

    cfg = load_config(cfg_path)
    devices = [(s.id, d.id, d.role, s.capacity_kw) for s in cfg.stations for d in s.devices]
    first = dt.date(2026, 6, 29)
    with open_store(cfg) as store:
        for n in range(35):
            day = first + dt.timedelta(days=n)
            t6 = int(dt.datetime(day.year, day.month, day.day, 6, tzinfo=TZ).timestamp() * 1000)
            t19 = t6 + 13 * 3_600_000
            batch = []
            for i, (sid, did, role, kw) in enumerate(devices):
                # 3.5 kWh per kWp and day, varied per station; the counter never goes back
                per_day = int(kw * (3000 + (i * 37) % 1000))
                base = 1_000_000 + i * 10 + n * per_day
                fld = "export_wh" if role == "meter" else "energy_total_wh"
                m = "meter" if role == "meter" else "pv"
                batch.append(Reading(sid, did, t6, {fld: base}, measurement=m))
                batch.append(Reading(sid, did, t19, {fld: base + per_day}, measurement=m))
            store.write(batch)


def anchor_money_us(n: int = 200_000) -> float:
    """The Decimal money path alone: one component line [µs per line]."""
    from core.money import energy_amount_fen

    rate = Decimal("0.4143")
    t = time.perf_counter()
    for i in range(n):
        energy_amount_fen(300_000 + i, rate)
    return (time.perf_counter() - t) / n * 1e6


def timed_child(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Run a command; (wall [s], peak RSS [MB]) of that process."""
    t = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    err = p.stderr.read().decode() if p.stderr else ""
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({p.returncode}):\n{err[-3000:]}")
    return wall, ru.ru_maxrss / 1024


def fresh_ledger(folder: Path) -> None:
    """Remove the ledger and the output folder, so every timed run starts the same."""
    for p in (folder / "data").glob("revenue.db*"):
        p.unlink()
    shutil.rmtree(folder / "out", ignore_errors=True)


def split(cfg_path: Path) -> dict[str, float]:
    """Stage by stage in this process [s], the way revenue.payout runs them."""
    from core.store import open_store
    from revenue import export
    from revenue.checks import run_checks
    from revenue.energy import EnergyReader, ImportedMeter
    from revenue.ledger import Ledger
    from revenue.meter_import import load_imported
    from revenue.owners import Allocation, finish
    from revenue.payout import ledger_path
    from revenue.period import parse_period
    from revenue.run import RunResult, inputs_hash, reconcile, station_line

    out: dict[str, float] = {}

    def lap(name: str, t0: float) -> float:
        t = time.perf_counter()
        out[name] = t - t0
        return t

    from core.config import load_config

    t = time.perf_counter()
    cfg = load_config(cfg_path)
    t = lap("config", t)
    period = parse_period(PERIOD)
    fresh_ledger(cfg_path.parent)
    led = Ledger(ledger_path(cfg))
    problems = led.verify()
    assert not problems, problems
    imported = load_imported(led) or ImportedMeter()
    t = lap("ledger verify + imports", t)
    store = open_store(cfg, readonly=True)
    reader = EnergyReader(cfg, store, period.start_ms(TZ), period.end_ms(TZ), imported=imported)
    t = lap("store reads", t)
    alloc = Allocation.start(cfg, period, {})
    lines, energy, errors = [], [], []
    for s in sorted(cfg.stations, key=lambda s: s.id):
        line, en, errs, _ = station_line(cfg, reader, period, s, alloc)
        lines.append(line)
        energy += en
        errors += errs
    finish(alloc)
    t = lap("money (energy, tariffs, allocation)", t)
    recon = reconcile(cfg, reader, period, lines, imported)
    t = lap("reconciliation", t)
    h = inputs_hash(cfg, period, energy, {})
    t = lap("inputs hash", t)
    r = RunResult(
        period,
        h,
        tuple(lines),
        tuple(alloc.payouts),
        tuple(alloc.cooperatives),
        tuple(alloc.pools),
        (),
        tuple(errors),
        (),
        alloc.state,
        tuple(recon),
    )
    checks = run_checks(cfg, r)
    t = lap("checks", t)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    import dataclasses

    r = dataclasses.replace(r, checks=checks)
    tables = export.tables(cfg, r)
    t = lap("export: tables", t)
    files = {}
    for name, rows in tables.items():
        files[f"{name}-{period.id}.csv"] = export.to_csv(rows)
        t = lap(f"export: {name}.csv", t)
    files[f"payouts-{period.id}.xlsx"] = export.to_xlsx(cfg, r, tables, "zh")
    t = lap("export: payouts.xlsx", t)
    from revenue import diff as rdiff

    led.append(
        period=period.id,
        status="draft",
        inputs_hash=r.inputs_hash,
        files=files,
        state={**r.state, "amounts": rdiff.amounts(r)},
        recorded_at="2026-08-05T00:00:00Z",
    )
    t = lap("ledger append", t)
    # what the next run's verify pays for this one (every run verifies the whole ledger)
    assert not led.verify()
    out["_verify_per_run_s"] = time.perf_counter() - t
    led.close()
    store.close()
    out["_stations"] = len(lines)
    out["_lines"] = len(r.payouts)
    out["_bytes"] = sum(len(b) for b in files.values())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--villages", type=int, default=3000, help="20 stations each")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/pvledger-province"))
    ap.add_argument("--no-split", action="store_true")
    a = ap.parse_args()
    folder = a.dir / f"v{a.villages}"
    t = time.perf_counter()
    cfg_path = build(folder, a.villages)
    print(f"registry + store ready in {time.perf_counter() - t:.1f} s: {folder}")
    n_st = a.villages * (HH_PER_VILLAGE + 2)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    start = [timed_child([sys.executable, "-c", "pass"], folder)[0] for _ in range(5)]
    money = [anchor_money_us() for _ in range(5)]
    cmd = [
        str(ROOT / ".venv" / "bin" / "pvledger"),
        "--config",
        str(cfg_path),
        "revenue",
        "--period",
        PERIOD,
        "--out",
        str(folder / "out"),
        "--lang",
        "zh",
    ]
    walls, rss = [], []
    for _ in range(a.runs):
        fresh_ledger(folder)
        w, m = timed_child(cmd, folder)
        walls.append(w)
        rss.append(m)
        print(f"  run: {w:.2f} s, peak RSS {m:.0f} MB", flush=True)
    out_files = sorted(p.name for p in (folder / "out").iterdir())
    assert len(out_files) == 10, out_files  # 8 CSV + xlsx + ledger head
    with (folder / "out" / f"stations-{PERIOD}.csv").open(encoding="utf-8-sig") as f:
        assert sum(1 for _ in f) == n_st + 1, "one line per station"
    wall, peak = statistics.median(walls), statistics.median(rss)
    m_us = statistics.median(money)
    print(f"anchor python -c pass: {statistics.median(start) * 1000:.0f} ms (median of 5)")
    print(f"anchor Decimal money path: {m_us:.2f} µs per component line (median of 5)")
    print(
        f"pvledger revenue --period {PERIOD}, {n_st:,} stations: {wall:.2f} s "
        f"(median of {a.runs}; min {min(walls):.2f}, max {max(walls):.2f}), "
        f"peak RSS {peak:.0f} MB; {wall * 1e6 / n_st:.0f} µs per station = "
        f"{wall * 1e6 / n_st / m_us:.0f} x the money anchor"
    )
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if a.no_split:
        return
    parts = split(cfg_path)
    total = sum(v for k, v in parts.items() if not k.startswith("_"))
    print(
        f"split in one process ({parts['_stations']:,} stations, {parts['_lines']:,} payout "
        f"lines, {parts['_bytes'] / 1e6:.1f} MB of files), total {total:.2f} s:"
    )
    for k, v in parts.items():
        if not k.startswith("_"):
            print(f"  {k:<40} {v:7.2f} s  {100 * v / total:5.1f} %")
    print(
        f"ledger verify of one recorded run this size: {parts['_verify_per_run_s']:.2f} s "
        "(each later run pays it again for every run before it)"
    )


if __name__ == "__main__":
    main()
