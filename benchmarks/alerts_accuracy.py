"""Alert accuracy on a simulated month of the default fleet with injected faults.

    python3 benchmarks/alerts_accuracy.py [--month 2019-05] [--seed 7] [--step-min 10]

Builds a copy of config.yaml in a temporary folder where every village has its own
gateway (so one can fall silent) and every device is read every 5 minutes (the
backfill resolution), schedules faults at random times (stops, communication losses,
degradations, one village outage, one silent gateway), writes the month with the
simulator's backfill (simulator.backfill, its weather with cloudy spells),
then steps the county-side alert engine (gateway_silent on) through the month on the
simulated clock. Prints detection rate, false alerts (at night, on fault-free cloudy
days) and detection latency per fault kind.

Work orders (issue 18): the engine runs with its work order stage (alerts/workorders);
when an injected fault ends, its order is marked repaired as a caretaker would, and the
data verifies it. Prints the lost energy each stop's order estimated against the
simulator's true loss (the same devices with and without the fault, simulator.fleet),
median and worst relative error (goal: median within 10 %), and each station's
availability (alerts/availability.py) against the truth (daylight bins without a stop
of the station over daylight bins outside its village's outage).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.availability import fleet_availability, outage_intervals  # noqa: E402
from alerts.fleet import FleetIndex  # noqa: E402
from alerts.state import Alert, AlertDb  # noqa: E402
from alerts.workorders.loop import WorkOrderEngine  # noqa: E402
from alerts.workorders.model import ACTIVE, transition  # noqa: E402
from alerts.workorders.store import WorkOrderDb  # noqa: E402
from core import solar  # noqa: E402
from core.config import Config, load_config  # noqa: E402
from core.store import SqliteStore  # noqa: E402
from simulator.backfill import backfill  # noqa: E402
from simulator.faults import Fault, FaultBook, make_fault  # noqa: E402
from simulator.fleet import DEFAULT_SEED, Fleet  # noqa: E402

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
RESOLUTION_S = 300


def bench_config(folder: Path) -> Config:
    """config.yaml with a gateway per village and 5-minute reads, in folder."""
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    text = re.sub(r"interval_s: \d+", f"interval_s: {RESOLUTION_S}", text)
    text = re.sub(
        r"^(  - \{id: ([a-z]+), name: [^,]+, town: [^}]+)\}$",
        r"\1, gateway: gw-\2}",
        text,
        flags=re.M,
    )
    text = text.replace("path: data/pvledger.db", f"path: {folder / 'pv.db'}")
    raw = yaml.safe_load(text)
    raw["alerts"].pop("notify", None)  # count, do not send
    raw["alerts"]["db_path"] = str(folder / "alerts.db")
    (folder / "registry").mkdir(exist_ok=True)
    shutil.copy(ROOT / "registry" / "households.csv", folder / "registry" / "households.csv")
    (folder / "config.yaml").write_text(
        yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return load_config(folder / "config.yaml")


@dataclass
class Planned:
    """A scheduled fault and what should detect it."""

    fault: Fault
    kind: str  # stop | comm_loss | degrade | outage | silent_gateway
    subject: str  # station, device, village or gateway


def plan_faults(cfg: Config, start: int, end: int, rng: np.random.Generator) -> list[Planned]:
    """≥20 stops, 10 comm losses, 5 degradations, 1 village outage, 1 silent gateway."""
    villages = [v.id for v in cfg.villages]
    outage_v, silent_v = rng.choice(villages, 2, replace=False).tolist()
    busy = {outage_v, silent_v}
    stations = [s for s in cfg.stations if s.village not in busy]
    picks = rng.permutation(len(stations)).tolist()
    out: list[Planned] = []
    now = start

    def at(day_frac_lo: float, day_frac_hi: float) -> int:
        return int(start + rng.uniform(day_frac_lo, day_frac_hi) * (end - start))

    def daytime(t: int) -> int:
        # a random local time between 09:00 and 15:00 on t's day
        day0 = int(solar.local_day_start_ms(t, cfg.site.tz))
        return day0 + int(rng.uniform(9, 15) * HOUR)

    k = 0
    for i in range(22):  # stops at any hour, 3..36 h
        s = stations[picks[k]]
        k += 1
        spec = {
            "kind": "stop",
            "station": s.id,
            "start": at(0.02, 0.9),
            "duration_s": int(rng.uniform(3, 36) * 3600),
            "id": f"stop{i}",
        }
        out.append(Planned(make_fault(cfg, spec, now), "stop", s.id))
    for i in range(10):  # communication losses at any hour, 2..20 h
        s = stations[picks[k]]
        k += 1
        dev = s.devices[int(rng.integers(len(s.devices)))]
        spec = {
            "kind": "comm_loss",
            "device": dev.id,
            "start": at(0.02, 0.9),
            "duration_s": int(rng.uniform(2, 20) * 3600),
            "id": f"comm{i}",
        }
        out.append(Planned(make_fault(cfg, spec, now), "comm_loss", dev.id))
    hh = [s for s in stations[k:] if s.kind == "household"]
    for i in range(5):  # degradations (string failure, soiling): half output to the end
        s = hh[i]
        spec = {
            "kind": "degrade",
            "station": s.id,
            "start": at(0.05, 0.6),
            "factor": 0.5,
            "id": f"degrade{i}",
        }
        out.append(Planned(make_fault(cfg, spec, now), "degrade", s.id))
    spec = {
        "kind": "outage",
        "village": outage_v,
        "start": daytime(at(0.1, 0.9)),
        "duration_s": 3 * 3600,
        "id": "outage",
    }
    out.append(Planned(make_fault(cfg, spec, now), "outage", outage_v))
    spec = {
        "kind": "comm_loss",
        "village": silent_v,
        "start": daytime(at(0.1, 0.9)),
        "duration_s": 4 * 3600,
        "id": "silent",
    }
    gw = cfg.village_by_id[silent_v].gateway or cfg.site.gateway
    out.append(Planned(make_fault(cfg, spec, now), "silent_gateway", gw))
    return out


class Sun:
    """Sunrise/sunset per local day for the site (cached)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self._cache: dict[int, tuple[int, int]] = {}

    def day(self, t: int) -> tuple[int, int]:
        d0 = int(solar.local_day_start_ms(t, self.cfg.site.tz))
        if d0 not in self._cache:
            r, s = solar.sunrise_sunset_ms(
                d0 + 12 * HOUR, self.cfg.site.latitude, self.cfg.site.longitude, self.cfg.site.tz
            )
            self._cache[d0] = (int(r), int(s))
        return self._cache[d0]

    def up(self, t: int, margin_ms: int = 0) -> bool:
        r, s = self.day(t)
        return r + margin_ms <= t <= s - margin_ms

    def minutes_up(
        self, a: int, b: int, margin_ms: int = 0, end_margin_ms: int | None = None
    ) -> float:
        """Minutes of [a, b] inside sunrise+margin .. sunset-end_margin (default margin)."""
        end_margin_ms = margin_ms if end_margin_ms is None else end_margin_ms
        total = 0.0
        t = a
        while t < b:
            r, s = self.day(t)
            d_end = int(solar.local_day_start_ms(t, self.cfg.site.tz)) + DAY
            lo, hi = max(t, r + margin_ms), min(b, s - end_margin_ms, d_end)
            if hi > lo:
                total += (hi - lo) / MIN
            t = d_end
        return total


def schedule(start: int, end: int, sun: Sun, step_min: int) -> list[int]:
    """Evaluation times: every step_min in daylight (±1 h), every 30 min at night."""
    out, t = [], start
    while t < end:
        out.append(t)
        t += step_min * MIN if sun.up(t, -HOUR) else 30 * MIN
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--month", default="2019-05", help="YYYY-MM (plum-rain May by default)")
    ap.add_argument("--seed", type=int, default=7, help="fault schedule seed")
    ap.add_argument("--step-min", type=int, default=10, help="daylight evaluation step [min]")
    ap.add_argument("--days", type=int, default=None, help="only the first N days (quick look)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="pvledger-alerts-bench-"))
    cfg = bench_config(folder)
    tz = cfg.site.tz
    y, m = map(int, args.month.split("-"))
    start = int(dt.datetime(y, m, 1, tzinfo=tz).timestamp() * 1000)
    end = int(dt.datetime(y + m // 12, m % 12 + 1, 1, tzinfo=tz).timestamp() * 1000)
    if args.days:
        end = min(end, start + args.days * DAY)
    rng = np.random.default_rng(args.seed)
    planned = plan_faults(cfg, start, end, rng)
    sun = Sun(cfg)

    t0 = time.perf_counter()
    store = SqliteStore(cfg.resolve(cfg.storage.path), timezone=cfg.site.timezone)
    # three days of history before the month, so day-to-day rules have something to compare
    n = backfill(cfg, store, start - 3 * DAY, end, RESOLUTION_S, faults=[p.fault for p in planned])
    t_fill = time.perf_counter() - t0

    db = AlertDb(cfg.resolve(cfg.alerts.db_path))
    eng = WorkOrderEngine(cfg, store, db, county=True)
    wo = WorkOrderDb(cfg.resolve(cfg.om.db_path))
    times = schedule(start, end, sun, args.step_min)
    t0 = time.perf_counter()
    for t in times:
        eng.step(t)
        mark_repairs(cfg, wo, planned, t)
    t_eval = time.perf_counter() - t0
    alerts = [a for a in db.alerts() if a.fired_ms is not None]

    report(cfg, planned, alerts, sun, store, start, end)
    t0 = time.perf_counter()
    report_orders(cfg, wo, planned, store, end)
    report_availability(cfg, planned, store, db.alerts(), start, end)
    print(f"work order figures in {time.perf_counter() - t0:.0f} s")
    wo.close()
    print(
        f"\nbackfill {n:,} readings in {t_fill:.0f} s; {len(times)} evaluations in "
        f"{t_eval:.0f} s ({1000 * t_eval / len(times):.0f} ms each, {len(cfg.stations)} "
        f"stations, {sum(len(s.devices) for s in cfg.stations)} devices)"
    )
    db.close()
    store.close()
    if not args.keep:
        shutil.rmtree(folder)
    else:
        print(f"kept {folder}")
    return 0


def _fault_stations(cfg: Config, p: Planned) -> set[str]:
    return {cfg.device_index[d][0].id for d in p.fault.devices}


def order_fault(cfg: Config, planned: list[Planned], o) -> Planned | None:
    """The injected fault a work order is about: on its station (or its village, for a
    village order), begun before the order's fault start + 1 h, not ended before it."""
    for p in planned:
        f = p.fault
        on = (o.station in _fault_stations(cfg, p)) if o.station else (p.subject == o.village)
        if on and f.start_ms - HOUR <= o.fault_start_ms <= (f.end_ms or 2**62):
            return p
    return None


def mark_repairs(cfg: Config, wo: WorkOrderDb, planned: list[Planned], now: int) -> None:
    """A caretaker's part: an order whose fault has ended is marked repaired."""
    for o in wo.orders(states=ACTIVE):
        p = order_fault(cfg, planned, o)
        if p is not None and p.fault.end_ms is not None and p.fault.end_ms <= now:
            wo.save(*transition(o, "repaired", now_ms=now, actor="bench", note="fault ended"))


def true_loss_wh(cfg: Config, fl: Fleet, book: FaultBook, p: Planned, end: int) -> float:
    """Energy the fault cost per the simulator: its stations' devices with and without it."""
    f = p.fault
    ts = np.arange(
        f.start_ms // (RESOLUTION_S * 1000) * RESOLUTION_S * 1000,
        min(f.end_ms or end, end),
        RESOLUTION_S * 1000,
        dtype=np.int64,
    )
    stations = _fault_stations(cfg, p)
    lost = 0.0
    for i, dev in enumerate(fl.devices):
        if dev.station not in stations or dev.is_meter:
            continue
        with_f = fl.state(i, ts, book)["power_w"]
        without = fl.state(i, ts, FaultBook())["power_w"]
        lost += float(np.sum(np.asarray(without) - np.asarray(with_f))) * RESOLUTION_S / 3600
    return lost


def report_orders(cfg: Config, wo: WorkOrderDb, planned: list[Planned], store, end: int) -> None:
    """Lost kWh per stop's work order against the simulator's true loss."""
    fl = Fleet(cfg, DEFAULT_SEED)
    book = FaultBook([p.fault for p in planned])
    orders = wo.orders()
    states: dict[str, int] = {}
    for o in orders:
        states[o.state] = states.get(o.state, 0) + 1
    print(
        f"\nwork orders: {len(orders)} ("
        + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
        + ")"
    )
    rows = []
    for o in orders:
        p = order_fault(cfg, planned, o)
        if p is None or p.kind != "stop" or o.state != "verified":
            continue
        truth = true_loss_wh(cfg, fl, book, p, end)
        if truth < 1000:  # under 1 kWh (a night stop): a relative error says nothing
            continue
        rows.append((o, p, truth, (o.lost_wh - truth) / truth))
    if not rows:
        print("  no verified stop orders with a loss to compare")
        return
    errs = [abs(r[3]) for r in rows]
    print(f"lost energy per stop order, {len(rows)} verified orders with >= 1 kWh true loss:")
    print(
        f"  relative error median {100 * statistics.median(errs):.1f} %, "
        f"worst {100 * max(errs):.1f} % (goal: median within 10 %)"
    )
    for o, _p, truth, err in sorted(rows, key=lambda r: -abs(r[3]))[:5]:
        print(
            f"  #{o.id} {o.station}: estimated {o.lost_wh / 1000:.1f} kWh "
            f"({o.lost_fen / 100:.2f} yuan), true {truth / 1000:.1f} kWh, {100 * err:+.1f} %"
        )


def report_availability(
    cfg: Config, planned: list[Planned], store, alerts, start: int, end: int
) -> None:
    """Availability per station (alerts/availability.py) against the injected truth."""
    fleet = FleetIndex(cfg)
    got = fleet_availability(store, fleet, start, end, outage_intervals(alerts, end))
    bin_ms = cfg.om.bin_s * 1000
    mid = np.arange(start, end, bin_ms, dtype=np.int64) + bin_ms // 2
    clear = np.asarray(solar.expected_power_w(1.0, mid, cfg.site.latitude, cfg.site.longitude))
    day = clear >= cfg.om.daylight_w_per_kwp
    errs = []
    for sid, a in got.items():
        if a.share is None:
            continue
        village = fleet.stations[sid].village
        counted = day.copy()
        stopped = np.zeros(mid.shape, dtype=bool)
        for p in planned:
            f = p.fault
            on = (mid >= f.start_ms) & (mid < (f.end_ms or 2**62))
            if p.kind == "outage" and p.subject == village:
                counted &= ~on
            elif p.kind == "stop" and sid in _fault_stations(cfg, p):
                stopped |= on
        n = int(counted.sum())
        if n == 0:
            continue
        truth = 1 - int((stopped & counted).sum()) / n
        errs.append((abs(a.share - truth), sid, a.share, truth))
    errs.sort(reverse=True)
    e = [x[0] for x in errs]
    print(
        f"availability of {len(errs)} stations against the truth: |error| median "
        f"{100 * statistics.median(e):.2f} pp, worst {100 * max(e):.2f} pp"
    )
    for err, sid, share, truth in errs[:3]:
        print(
            f"  {sid}: measured {100 * share:.2f} %, true {100 * truth:.2f} % ({100 * err:.2f} pp)"
        )


def _latency(kind: str, start_ms: int, fired_ms: int, sun: Sun) -> float:
    """Detection latency: days for degradations; else minutes of daylight (inside the
    no_output window for stops and outages, sunrise..sunset for comms)."""
    if kind == "degrade":
        return (fired_ms - start_ms) / DAY
    margin = HOUR if kind in ("stop", "outage") else 0
    return sun.minutes_up(start_ms, fired_ms, margin)


def _station_of(cfg: Config, subject: str) -> str | None:
    if subject in cfg.station_by_id:
        return subject
    if subject in cfg.device_index:
        return cfg.device_index[subject][0].id
    return None


def report(cfg, planned: list[Planned], alerts: list[Alert], sun: Sun, store, start, end) -> None:
    """Match alerts to faults and print the figures."""
    used: set[int] = set()
    rows = []
    by_kind: dict[str, list[tuple[str, float | None, bool, str]]] = {}
    for p in planned:
        f = p.fault
        f_end = f.end_ms or end
        fdevs = set(f.devices)
        fstations = {cfg.device_index[d][0].id for d in fdevs}
        if p.kind == "stop":
            want = [
                a for a in alerts if a.kind in ("no_output", "device_fault") and a.device in fdevs
            ]
            observable = sun.minutes_up(f.start_ms, f_end, HOUR) >= 60
            unit = "daylight min"
        elif p.kind == "comm_loss":
            want = [a for a in alerts if a.kind == "comm_lost" and a.device in fdevs]
            interval = cfg.device_index[p.subject][1].interval_s
            need = max(1800, 3 * interval) / 60 + 15
            # silence counts from sunrise + 30 min (loggers wake with the light)
            observable = sun.minutes_up(f.start_ms, f_end, HOUR // 2, 0) >= need
            unit = "daylight min"
        elif p.kind == "degrade":
            want = [a for a in alerts if a.kind == "low_performance" and a.station in fstations]
            observable = True
            unit = "days"
        elif p.kind == "outage":
            want = [a for a in alerts if a.kind == "village_outage" and a.subject == p.subject]
            observable = sun.minutes_up(f.start_ms, f_end, HOUR) >= 30
            unit = "daylight min"
        else:
            want = [a for a in alerts if a.kind == "gateway_silent" and a.subject == p.subject]
            observable = sun.minutes_up(f.start_ms, f_end, HOUR // 2, 0) >= 45
            unit = "daylight min"
        hit = [a for a in want if f.start_ms <= a.fired_ms <= f_end + HOUR]
        hit.sort(key=lambda a: a.fired_ms)
        latency = _latency(p.kind, f.start_ms, hit[0].fired_ms, sun) if hit else None
        for a in hit:
            used.add(a.id)
        # everything else a fault explains: alerts on its stations while it holds (+ a day
        # for daily rules), and the stations of an outage village / silent gateway
        for a in alerts:
            st = a.station or _station_of(cfg, a.subject)
            on_it = st in fstations or a.device in fdevs or a.subject == p.subject
            if p.kind in ("outage", "silent_gateway"):
                on_it = on_it or a.village in {cfg.device_index[d][0].village for d in fdevs}
            if on_it and f.start_ms - HOUR <= a.fired_ms <= f_end + DAY:
                used.add(a.id)
        extra = 0
        if p.kind in ("outage", "silent_gateway"):
            extra = sum(
                1
                for a in alerts
                if a.kind not in ("village_outage", "gateway_silent")
                and (a.village in {cfg.device_index[d][0].village for d in fdevs})
                and f.start_ms <= a.fired_ms <= f_end
            )
        by_kind.setdefault(p.kind, []).append((p.subject, latency, observable, unit))
        rows.append((p, hit, latency, observable, unit, extra))

    print(
        f"Alert accuracy: {cfg.site.name}, {len(cfg.stations)} stations, "
        f"{dt.datetime.fromtimestamp(start / 1000, cfg.site.tz):%Y-%m}"
    )
    print(f"{'fault':<16}{'injected':>9}{'observable':>11}{'detected':>9}  latency (median / max)")
    for kind in ("stop", "comm_loss", "degrade", "outage", "silent_gateway"):
        items = by_kind.get(kind, [])
        obs = [x for x in items if x[2]]
        det = [x for x in obs if x[1] is not None]
        lats = [x[1] for x in det]
        unit = items[0][3] if items else ""
        lat_s = f"{statistics.median(lats):.1f} / {max(lats):.1f} {unit}" if lats else "-"
        print(f"{kind:<16}{len(items):>9}{len(obs):>11}{len(det):>9}  {lat_s}")
    for p, hit, _latency_v, observable, _unit, extra in rows:
        if observable and not hit:
            print(
                f"  MISSED {p.kind} {p.subject} from "
                f"{dt.datetime.fromtimestamp(p.fault.start_ms / 1000, cfg.site.tz):%m-%d %H:%M}"
            )
        if p.kind in ("outage", "silent_gateway"):
            print(
                f"  {p.kind} {p.subject}: {len(hit)} incident(s), {extra} other alerts "
                "in its village while it held"
            )

    false = [a for a in alerts if a.id not in used]
    night = [a for a in false if not sun.up(a.fired_ms)]
    cloudy_days = cloudy(cfg, store, start, end)
    on_cloudy = [a for a in false if _day(cfg, a.fired_ms) in cloudy_days]
    print(f"\nalerts fired: {len(alerts)}; explained by an injected fault: {len(used)}")
    print(
        f"false alerts: {len(false)} (at night: {len(night)}; on the {len(cloudy_days)} "
        f"cloudy days: {len(on_cloudy)})"
    )
    for a in false:
        print(
            f"  FALSE {a.kind} {a.subject} fired "
            f"{dt.datetime.fromtimestamp(a.fired_ms / 1000, cfg.site.tz):%m-%d %H:%M} "
            f"seen {a.seen}"
        )


def _day(cfg: Config, ts: int) -> str:
    return dt.datetime.fromtimestamp(ts / 1000, cfg.site.tz).strftime("%Y%m%d")


def cloudy(cfg: Config, store, start: int, end: int) -> set[str]:
    """Days whose fleet median yield is below half of the month's best day (cloudy)."""
    days: dict[int, list[float]] = {}
    first = int(_day(cfg, start))
    last = int(_day(cfg, end - 1))
    kw = {s.id: s.capacity_kw for s in cfg.stations}
    per: dict[tuple[str, int], float] = {}
    for b in store.daily(fields=("energy_total_wh",), start_day=first, end_day=last):
        if b.first_value is None or b.last_value is None:
            continue
        key = (b.station, b.day)
        per[key] = per.get(key, 0.0) + (b.last_value - b.first_value) / 1000 / kw[b.station]
    for (_s, d), v in per.items():
        days.setdefault(d, []).append(v)
    med = {d: statistics.median(v) for d, v in days.items()}
    best = max(med.values())
    return {str(d) for d, v in med.items() if v < 0.5 * best}


if __name__ == "__main__":
    sys.exit(main())
