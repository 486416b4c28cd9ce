"""Server time of the fleet and station pages of a province's `pvledger serve`.

Builds (once, cached in --dir) the province of benchmarks/revenue_province.py's shape:
3,000 villages x 20 stations = 60,000 stations (a village array with its meter, a
cooperative array, 18 households), a month of daily roll-ups (two counter readings per
PV device and day, 2026-06-01 .. 06-14), today 2026-06-15 with a morning and a 13:25
reading of every PV device (energy and power), today every 5 minutes for the stations of
the first STATION_VILLAGES villages (their power curves), 1 % of the stations stopped with
an open no_output alert. Then starts the real `pvledger serve --sim-clock` (clock 13:30),
logs in as admin and times, over localhost, --requests requests each of:

- fleet page 1 (worst first), fleet by village (a different village each time), fleet by
  state (stopped; producing page 7), and a station page (a different station each time);
- the first fleet request after the start (the cache is empty: the roll-up is read);
- in this process, compute_fleet alone (what a cache miss costs), --compute-runs times.

Reports median and 95th percentile per page and the server's peak RSS (VmHWM).

    python3 benchmarks/web_pages.py                      # 60,000 stations, 200 requests
    python3 benchmarks/web_pages.py --villages 300       # 6,000 stations (quick)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 6, 15)
HISTORY_DAYS = 14
STATION_VILLAGES = 20
STOPPED_EVERY = 100
PASSWORD = "Bench-pass-2026!"
#: the machine's load average when the measurement starts (printed with the figures)
LOAD: list[str] = []


def ms(day: dt.date, hour: int, minute: int = 0) -> int:
    """Site-local day and time as UTC ms."""
    t = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)
    return int(t.timestamp() * 1000)


NOW_MS = ms(DAY, 13, 30)


def write_config(folder: Path, n_villages: int) -> Path:
    """The province config of benchmarks/revenue_province.py (its writer, reused)."""
    import revenue_province as rp

    real_fill = rp._fill_store
    rp._fill_store = lambda cfg_path: None  # this benchmark fills its own store
    try:
        cfg_path = rp.build(folder, n_villages)
    finally:
        rp._fill_store = real_fill
    # there a village array is read at its meter only; here it has an inverter too, so
    # its power says whether it produces
    text = re.sub(
        r"\{id: (sv\d+)-m, source: mqtt, role: meter, topic: (pv/v\d+/sv\d+)\}",
        r"{id: \1-m, source: mqtt, role: meter, topic: \2}, "
        r"{id: \1-i, source: mqtt, account: \1-i, topic: \2-i}",
        cfg_path.read_text(encoding="utf-8"),
    )
    cfg_path.write_text(text, encoding="utf-8")
    return cfg_path


def fill_store(cfg_path: Path) -> int:
    """The month of roll-ups, today's readings and the power curves; readings written."""
    from core.config import load_config
    from core.reading import Reading
    from core.store import open_store

    cfg = load_config(cfg_path)
    pv = [(s.id, d.id, s.village, s.capacity_kw) for s in cfg.stations for d in s.devices]
    pv = [p for p in pv if not p[1].endswith("-m")]
    stopped = {p[0] for i, p in enumerate(pv) if i % STOPPED_EVERY == 7}
    curves = {f"v{v}" for v in range(STATION_VILLAGES)}
    n = 0
    with open_store(cfg) as store:
        for k in range(HISTORY_DAYS + 1):
            day = DAY - dt.timedelta(days=HISTORY_DAYS - k)
            t6, t19 = ms(day, 6), ms(day, 19)
            today = day == DAY
            batch = []
            for i, (sid, did, vid, kw) in enumerate(pv):
                per_day = int(kw * (3000 + (i * 37) % 1000))
                base = 1_000_000 + i * 10 + k * per_day
                if not today:
                    batch.append(Reading(sid, did, t6, {"energy_total_wh": base}))
                    batch.append(Reading(sid, did, t19, {"energy_total_wh": base + per_day}))
                    continue
                off = sid in stopped
                steps = range(6 * 12, 13 * 12 + 6) if vid in curves else (6 * 12, 13 * 12 + 5)
                for step in steps:
                    t = ms(day, 0) + step * 300_000
                    share = max(0.0, 1 - abs(step / 12 - 12.5) / 6.5)
                    p = 0.0 if off and step >= 9 * 12 else round(kw * 800 * share, 1)
                    e = base + int(per_day * (step - 72) / 156) if not off else base
                    batch.append(Reading(sid, did, t, {"energy_total_wh": e, "power_w": p}))
            n += store.write(batch)
    return n


def fill_alerts(cfg_path: Path) -> int:
    """An open no_output alert for every stopped station (as the engine records them)."""
    from alerts.state import AlertDb, Finding
    from core.config import load_config

    cfg = load_config(cfg_path)
    pv = [(s.id, d.id, s.village) for s in cfg.stations for d in s.devices]
    pv = [p for p in pv if not p[1].endswith("-m")]
    findings = [
        Finding("no_output", did, ms(DAY, 9), 0, {"max_power_w": 0}, sid, vid, did)
        for i, (sid, did, vid) in enumerate(pv)
        if i % STOPPED_EVERY == 7
    ]
    db = AlertDb(cfg.resolve(cfg.alerts.db_path))
    db.apply(
        findings,
        now_ms=ms(DAY, 10),
        kinds=["no_output"],
        clear_s={},
        renotify_s=7200,
        notifiers=[],
        describe=lambda a, e, n: {"kind": a.kind, "subject": a.subject, "event": e},
    )
    db.close()
    return len(findings)


def build(folder: Path, n_villages: int) -> Path:
    """Config, store, alerts and the clock anchor (skipped when already built)."""
    cfg_path = folder / "config.yaml"
    marker = folder / "data" / "web_bench.done"
    if marker.exists():
        return cfg_path
    shutil.rmtree(folder, ignore_errors=True)
    t0 = time.perf_counter()
    write_config(folder, n_villages)
    n = fill_store(cfg_path)
    a = fill_alerts(cfg_path)
    from core.clock import ScaledClock

    # frozen at 13:30 (factor ~0): every request sees the same instant
    ScaledClock(int(time.time() * 1000), NOW_MS, 1e-9).save(folder / "run" / "clock.json")
    marker.write_text(json.dumps({"readings": n, "alerts": a}))
    print(f"built {folder}: {n:,} readings, {a} open alerts in {time.perf_counter() - t0:.0f} s")
    return cfg_path


_MAKE_ADMIN = """
import sys
from core.config import load_config
from web.setup import configure
configure(load_config(sys.argv[1]))
from web import accounts
from web.models import User
if not User.objects.filter(username="bench").exists():
    accounts.create("bench", "admin", [], sys.argv[2])
User.objects.filter(username="bench").update(must_change_password=False)
"""


def env() -> dict[str, str]:
    """Child environment: the repository on the path."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def start(cfg_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`pvledger serve --port 0 --sim-clock run/clock.json`; (process, url, log)."""
    subprocess.run(
        [sys.executable, "-c", _MAKE_ADMIN, str(cfg_path), PASSWORD],
        check=True,
        cwd=cfg_path.parent,
        env=env(),
    )
    log = cfg_path.parent / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pvledger.cli", "-c", str(cfg_path)),
                *("serve", "--port", "0", "--sim-clock", "run/clock.json"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=cfg_path.parent,
            env=env(),
        )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if "serving http://" in line:
                return proc, line.split("serving ", 1)[1].split()[0].rstrip("/"), log
        if proc.poll() is not None:
            raise SystemExit(f"serve exited {proc.returncode}: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("serve did not start in 300 s")


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process [MB]."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed(client, path: str) -> float:
    """One GET's time to the whole response on localhost [ms]; it must be a 200."""
    t0 = time.perf_counter()
    r = client.get(path)
    took = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        raise SystemExit(f"GET {path}: {r.status} {r.body[:300]}")
    return took


def p95(xs: list[float]) -> float:
    """95th percentile (nearest rank)."""
    s = sorted(xs)
    return s[max(0, round(0.95 * len(s)) - 1)]


def in_process_compute(cfg_path: Path, runs: int = 5) -> list[float]:
    """compute_fleet alone, as a cache miss runs it [ms]."""
    from alerts.state import AlertDb
    from core.config import load_config
    from core.store import open_store
    from web.monitoring import compute_fleet

    cfg = load_config(cfg_path)
    out = []
    with open_store(cfg, readonly=True) as store:
        db = AlertDb(cfg.resolve(cfg.alerts.db_path))
        for _ in range(runs):
            t0 = time.perf_counter()
            fleet = compute_fleet(cfg, store, db.open_alerts(), NOW_MS)
            out.append((time.perf_counter() - t0) * 1000)
        db.close()
    assert fleet.rows[0].state == "stopped" and len(fleet.rows) == len(cfg.stations)
    return out


def main() -> None:
    """Build, serve, measure, print a table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--villages", type=int, default=3000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/pvledger-web-bench"))
    ap.add_argument("--compute-runs", type=int, default=3, help="in-process cache misses")
    args = ap.parse_args()
    folder = args.dir / f"v{args.villages}"
    cfg_path = build(folder, args.villages)

    from tests.web.client import Client

    LOAD.append(f"{os.getloadavg()[0]:.1f}")
    proc, url, _log = start(cfg_path)
    try:
        c = Client(url, {})
        c.get("/login/")
        r = c.post("/login/", {"username": "bench", "password": PASSWORD})
        assert r.status == 302, r.body[:300]
        first = timed(c, "/fleet/")
        n = args.requests
        villages = [f"v{(i * 7919) % args.villages}" for i in range(n)]
        stations = [f"sh{v}-{h}" for v in range(STATION_VILLAGES) for h in range(10)] or ["sv0"]
        cases = {
            "fleet, page 1 (worst first)": ["/fleet/"] * n,
            "fleet, by village": [f"/fleet/?village={v}" for v in villages],
            "fleet, by state (stopped)": ["/fleet/?state=stopped"] * n,
            "fleet, by state (producing, page 7)": ["/fleet/?state=producing&page=7"] * n,
            "station page": [f"/stations/{stations[i % len(stations)]}/" for i in range(n)],
        }
        results = {}
        for name, paths in cases.items():
            results[name] = [timed(c, p) for p in paths]
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    compute = in_process_compute(cfg_path, args.compute_runs)
    print(f"\n{args.villages * 20:,} stations, {args.villages:,} villages; {n} requests each")
    print(f"load average before/after: {LOAD[0]} / {os.getloadavg()[0]:.1f}")
    print(f"{'page':<40} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    for name, xs in results.items():
        print(f"{name:<40} {statistics.median(xs):>10.1f} {p95(xs):>8.1f} {max(xs):>8.1f}")
    print(f"{'first fleet request (empty cache)':<40} {first:>10.1f}")
    label = f"compute_fleet alone (cache miss), x{len(compute)}"
    print(f"{label:<40} {statistics.median(compute):>10.1f} {max(compute):>8.1f}")
    print(f"server peak RSS (VmHWM): {rss:.0f} MB")


if __name__ == "__main__":
    main()
