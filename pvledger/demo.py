"""`pvledger demo`: the whole mission on one machine, nothing to install.

1. A working copy of config.yaml under OUT/demo/ (fresh each run; free ports,
   its own store, alerts to the demo broker).
2. A broker: Mosquitto when installed, else the embedded amqtt broker.
3. History: the simulator's backfill from the start of the previous month up
   to the live start, at 15-minute resolution, straight into the store.
4. Live: `pvledger simulate` (accelerated time) and `pvledger collect` as real
   processes, Modbus TCP/RTU and MQTT; a household station is stopped through
   the simulator's control interface and its no_output alert is awaited on the
   broker's alert topic.
5. Pay: the previous month's payout run (draft), its files in OUT/.
6. OUT/report.html and a short summary on stdout.

Every process started here is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import json
import logging
import os
import queue
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from alerts.state import Alert, AlertDb
from core.config import Config, load_config
from core.processes import free_port, stop_process, wait_port
from core.store import open_store
from core.store.base import Store
from pvledger.report import AlertRow, ReportData, render_report, yuan
from revenue.period import parse_period
from simulator.control import control

log = logging.getLogger("pvledger.demo")

DAY_MS = 86_400_000
#: the household station stopped during the live phase (an MQTT logger)
STOP_STATION = "s-hh-0042"
#: local time of day the live phase starts (sun well up, peers producing)
LIVE_HOUR = 9


class DemoFailed(Exception):
    """The demo could not show what it promises (e.g. the alert never came)."""


@dataclass(frozen=True)
class DemoOptions:
    """What `pvledger demo` was asked to do."""

    config: Path
    out: Path
    days: int | None = None
    speed: float = 120.0
    live_s: float = 60.0
    lang: str = "en"
    seed: int = 1
    #: auto (Mosquitto when installed), mosquitto, or embedded (amqtt)
    broker: str = "auto"


class Processes:
    """Child processes started by the demo; all stopped (SIGTERM, then SIGKILL) on close."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str, argv: list[str], cwd: Path) -> subprocess.Popen:
        """Start argv with stdout/stderr to logs/NAME.log."""
        self.logdir.mkdir(parents=True, exist_ok=True)
        with open(self.logdir / f"{name}.log", "wb") as logf:
            proc = subprocess.Popen(
                argv, cwd=cwd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, timeout_s: float = 20) -> int | None:
        """Stop one process gracefully; returns its exit code."""
        return stop_process(proc, timeout_s)

    def close(self) -> None:
        """Stop everything still running, newest first."""
        for proc in reversed(self.procs):
            self.stop(proc)


# -- set-up -------------------------------------------------------------------------


def demo_config(src: Path, workdir: Path, mqtt_port: int) -> Path:
    """Write the demo's copy of the config: own store, free Modbus ports, demo broker."""
    raw = yaml.safe_load(src.read_text(encoding="utf-8"))
    raw["storage"] = {"backend": "sqlite", "path": "data/pvledger.db"}
    mqtt = dict(raw.get("mqtt") or {})
    mqtt.update({"host": "127.0.0.1", "port": mqtt_port, "protocol": "3.1.1"})
    for k in ("username", "password_env", "tls"):
        mqtt.pop(k, None)
    raw["mqtt"] = mqtt
    if isinstance(raw.get("households"), str):
        raw["households"] = str((src.parent / raw["households"]).resolve())
    ports: dict[int, int] = {}
    for station in raw.get("stations") or []:
        for dev in station.get("devices") or []:
            if dev.get("source") == "modbus-tcp":
                dev["host"] = "127.0.0.1"
                dev["port"] = ports.setdefault(int(dev.get("port", 502)), free_port())
            elif dev.get("source") == "modbus-rtu":
                # at 120x a 9600 baud bus cannot carry 120 minutes of polls a minute; the
                # pty behind the simulated bus ignores baud, the client's pacing does not
                dev["baud"] = 115200
    alerts = dict(raw.get("alerts") or {})
    alerts["notify"] = [{"type": "mqtt", "topic": "pvledger/alerts"}]
    alerts["db_path"] = "data/alerts.db"
    raw["alerts"] = alerts
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.yaml"
    path.write_text(
        "# generated by `pvledger demo` from "
        + str(src)
        + "\n"
        + yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return path


def find_mosquitto() -> str | None:
    """Path of the mosquitto binary (Debian puts it in /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found is None and os.path.exists("/usr/sbin/mosquitto"):
        found = "/usr/sbin/mosquitto"
    return found


def start_broker(procs: Processes, workdir: Path, choice: str = "auto") -> tuple[int, str]:
    """Mosquitto when installed (or asked for), else the embedded amqtt broker;
    returns (port, name)."""
    port = free_port()
    mosquitto = find_mosquitto() if choice in ("auto", "mosquitto") else None
    if choice == "mosquitto" and mosquitto is None:
        raise DemoFailed(
            "--broker mosquitto: mosquitto is not installed "
            "(apt-get install mosquitto), or use --broker auto"
        )
    if mosquitto:
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            "max_queued_messages 100000",
            "log_dest stderr",
            "log_type error",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        conf.write_text("\n".join(lines) + "\n")
        proc = procs.start("mosquitto", [mosquitto, "-c", str(conf)], workdir)
        name = "Mosquitto"
    else:
        conf = workdir / "amqtt.yaml"
        conf.write_text(
            yaml.safe_dump(
                {
                    "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                    "plugins": {
                        "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                            "allow_anonymous": True
                        }
                    },
                }
            )
        )
        proc = procs.start(
            "amqtt", [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)], workdir
        )
        name = "amqtt (embedded; install mosquitto for anything real)"
    wait_port(port, 20, proc)
    return port, name


def sunny_live_start(config: Config, seed: int, now_ms: int) -> int:
    """LIVE_HOUR local on a recent clear morning (so peers produce and a stop shows)."""
    from simulator.fleet import Fleet

    tz = config.site.tz
    today = dt.datetime.fromtimestamp(now_ms / 1000, tz).date()
    fleet = Fleet(config, seed)
    best, best_k = None, -1.0
    for back in range(1, 15):
        day = today - dt.timedelta(days=back)
        start = int(
            dt.datetime(day.year, day.month, day.day, LIVE_HOUR, tzinfo=tz).timestamp() * 1000
        )
        ts = np.arange(start, start + 3 * 3_600_000, 600_000, dtype=np.int64)
        k = float(fleet.weather.clearness(ts).min(axis=0).mean())
        if k >= 0.6:
            return start
        if k > best_k:
            best, best_k = start, k
    assert best is not None
    return best


def previous_month(ts_ms: int, config: Config) -> tuple[str, int]:
    """The full month before the one containing ts_ms: ("YYYY-MM", local start ms)."""
    tz = config.site.tz
    d = dt.datetime.fromtimestamp(ts_ms / 1000, tz).date().replace(day=1)
    prev = (d - dt.timedelta(days=1)).replace(day=1)
    start = int(dt.datetime(prev.year, prev.month, 1, tzinfo=tz).timestamp() * 1000)
    return f"{prev.year:04d}-{prev.month:02d}", start


# -- live phase -----------------------------------------------------------------------


class AlertWatcher:
    """Subscribes to the demo broker's alert events (paho-mqtt, QoS 1)."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="pvledger-demo")
        self._client.on_connect = lambda c, *_: c.subscribe("pvledger/alerts/events", qos=1)
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        with contextlib.suppress(ValueError):
            self.events.put(json.loads(msg.payload))

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self._client.disconnect()
        self._client.loop_stop()


# -- report ---------------------------------------------------------------------------


def station_daily_kwh(
    config: Config, store: Store, start_day: int, end_day: int
) -> dict[str, dict[int, float]]:
    """Energy per station and local day [kWh]: the export meter when there is one, else the
    inverters' lifetime counters (difference of the day's last value to the previous day's)."""
    rows = store.daily(
        fields=["export_wh", "energy_total_wh"], start_day=start_day, end_day=end_day
    )
    by_series: dict[tuple[str, str, str], list[tuple[int, Any]]] = defaultdict(list)
    for b in rows:
        if b.last_value is not None:
            by_series[(b.station, b.device, b.field)].append((b.day, b.last_value))
    has_meter = {s for s, _, f in by_series if f == "export_wh"}
    out: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for (station, _device, fld), days in by_series.items():
        if (fld == "export_wh") != (station in has_meter):
            continue
        days.sort()
        for (_, prev), (day, last) in itertools.pairwise(days):
            out[station][day] += max(0, last - prev) / 1000
    return out


def report_data(
    config: Config,
    store: Store,
    period: str,
    files: dict[str, bytes],
    live_start_ms: int,
    summary: list[tuple[str, str]],
) -> ReportData:
    """Gather what report.html shows from the store, the alert database and the run files."""
    tz = config.site.tz
    first = dt.datetime.strptime(period + "-01", "%Y-%m-%d").date()
    start_day = int((first - dt.timedelta(days=1)).strftime("%Y%m%d"))
    end_day = int(dt.datetime.fromtimestamp(live_start_ms / 1000, tz).strftime("%Y%m%d"))
    daily = station_daily_kwh(config, store, start_day, end_day)
    village_name = {v.id: v.name for v in config.villages}
    monthly: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    fleet: dict[int, float] = defaultdict(float)
    for sid, days in daily.items():
        st = config.station_by_id.get(sid)
        if st is None:
            continue
        for day, kwh in days.items():
            monthly[village_name.get(st.village, st.village)][
                f"{day // 10000}-{day // 100 % 100:02d}"
            ] += kwh
            fleet[day] += kwh
    fleet_daily = [
        (f"{d // 10000}-{d // 100 % 100:02d}-{d % 100:02d}", fleet[d]) for d in sorted(fleet)
    ]

    def table(prefix: str) -> list[dict[str, str]]:
        name = next((n for n in files if n.startswith(prefix) and n.endswith(".csv")), None)
        return list(csv.DictReader(io.StringIO(files[name].decode("utf-8-sig")))) if name else []

    pools = [
        (village_name.get(r["village_id"], r["village_id"]), r["pool"], int(r["amount_fen"]))
        for r in table("villages-")
    ]
    coops = [
        (
            r["cooperative_id"],
            int(r["distributable_fen"]),
            int(r["paid_fen"]),
            int(r["residue_fen"]),
        )
        for r in table("cooperatives-")
    ]
    from revenue.export import mask_name

    hh = sorted(table("households-"), key=lambda r: (-int(r["amount_fen"]), r["household_id"]))
    top = []
    for r in hh[:10]:
        h = config.household_by_id.get(r["household_id"])
        top.append(
            (
                mask_name(h.name) if h else r["household_id"],
                village_name.get(r["village_id"], r["village_id"]),
                int(r["amount_fen"]),
            )
        )
    db = AlertDb(config.resolve(config.alerts.db_path))
    try:
        firing, pending = alert_rows(db.open_alerts(), village_name, tz)
    finally:
        db.close()
    return ReportData(
        site_name=config.site.name,
        period=period,
        generated_at=dt.datetime.now(tz).strftime("%Y-%m-%d %H:%M"),
        summary=summary,
        village_monthly_kwh={v: sorted(m.items()) for v, m in sorted(monthly.items())},
        fleet_daily_kwh=fleet_daily,
        firing_alerts=firing,
        pending_alerts=pending,
        village_pools=pools,
        cooperatives=coops,
        top_households=top,
    )


# -- the demo -------------------------------------------------------------------------


def say(text: str = "") -> None:
    """Progress for the person watching (stdout, flushed)."""
    print(text, flush=True)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the demo the way Ctrl-C does (cleanup runs)."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run_demo(opts: DemoOptions) -> int:
    """Run every phase; returns the exit code (0 when everything was shown)."""
    t_begin = time.monotonic()
    load_config(opts.config)  # refuse a broken config before starting anything
    # absolute: the child processes run inside the work folder
    out = opts.out.resolve()
    workdir = out / "demo"
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    procs = Processes(workdir / "logs")
    watcher: AlertWatcher | None = None
    with sigterm_as_interrupt():
        try:
            port, broker = start_broker(procs, workdir, opts.broker)
            cfg_path = demo_config(opts.config, workdir, port)
            config = load_config(cfg_path)
            n_dev = sum(1 for _ in config.devices())
            say(
                f"pvledger demo: {config.site.name}, {len(config.villages)} villages, "
                f"{len(config.stations)} stations, {n_dev} devices (all simulated)"
            )
            say(f"  broker       {broker} on 127.0.0.1:{port}")

            live_start = sunny_live_start(config, opts.seed, int(time.time() * 1000))
            period, period_start = previous_month(live_start, config)
            hist_start = (live_start - opts.days * DAY_MS) if opts.days else period_start
            store = open_store(config)
            from simulator.backfill import backfill

            a = time.monotonic()
            period_end = parse_period(period).end_ms(config.site.tz)
            split = min(max(period_end, hist_start), live_start)
            # the payout month at 15 minutes; the days after it only feed the charts
            n_hist = backfill(config, store, hist_start, split, resolution_s=900, seed=opts.seed)
            n_hist += backfill(
                config, store, split, live_start - 1_800_000, resolution_s=3600, seed=opts.seed
            )
            # the last half hour at the collector's own pace, so the live phase continues
            # the history without a gap that comm_lost would rightly report
            n_hist += backfill(
                config, store, live_start - 1_800_000, live_start, resolution_s=60, seed=opts.seed
            )
            store.close()
            days = (live_start - hist_start) / DAY_MS
            say(
                f"  history      {n_hist:,} readings, {days:.1f} days, {time.monotonic() - a:.1f} s"
            )

            live_iso = dt.datetime.fromtimestamp(live_start / 1000, config.site.tz).isoformat()
            ctl = free_port()
            exe = [sys.executable, "-m", "pvledger", "-c", str(cfg_path)]
            sim = procs.start(
                "simulate",
                [
                    *exe,
                    "simulate",
                    "--speed",
                    str(opts.speed),
                    "--start",
                    live_iso,
                    "--seed",
                    str(opts.seed),
                    "--control-port",
                    str(ctl),
                ],
                workdir,
            )
            wait_port(ctl, 60, sim)
            for p in sorted({d.port for _, d in config.devices("modbus-tcp")}):
                wait_port(p, 60, sim)  # the Modbus server process starts after the clock
            watcher = AlertWatcher(port)
            coll = procs.start(
                "collect", [*exe, "collect", "--sim-clock", "run/clock.json"], workdir
            )
            say(
                f"  live         simulate + collect from {live_iso[:16]} at "
                f"{opts.speed:g}x for ~{opts.live_s:.0f} s"
            )
            t_live = time.monotonic()
            time.sleep(min(5.0, opts.live_s / 4))
            fault = control(ctl, "POST", "/faults", {"kind": "stop", "station": STOP_STATION})
            stopped_at = control(ctl, "GET", "/clock")["now_ms"]
            say(
                f"  fault        stopped household station {STOP_STATION} "
                f"(simulated {dt.datetime.fromtimestamp(stopped_at / 1000, config.site.tz):%H:%M})"
            )
            fired = None
            deadline = t_live + max(opts.live_s, 20) + 60  # the alert may come a little late
            while time.monotonic() < deadline:
                if coll.poll() is not None:
                    raise DemoFailed(
                        f"collector exited with {coll.returncode}; see "
                        f"{workdir / 'logs' / 'collect.log'}"
                    )
                try:
                    ev = watcher.events.get(timeout=0.5)
                except queue.Empty:
                    if fired and time.monotonic() - t_live >= opts.live_s:
                        break
                    continue
                when = dt.datetime.fromtimestamp(ev.get("ts_ms", 0) / 1000, config.site.tz)
                say(
                    f"  alert        {ev.get('event')}: {ev.get('kind')} {ev.get('subject')} "
                    f"at simulated {when:%H:%M}"
                    + (
                        f" ({(ev['ts_ms'] - stopped_at) / 60000:.0f} min after the stop)"
                        if ev.get("station") == STOP_STATION
                        else ""
                    )
                )
                if ev.get("station") == STOP_STATION and ev.get("event") == "firing":
                    fired = ev
            procs.stop(coll)
            procs.stop(sim)
            del fault
            if fired is None:
                raise DemoFailed(
                    f"no alert for the stopped station {STOP_STATION} within "
                    f"{deadline - t_live:.0f} s; see {workdir / 'logs'}"
                )

            store = open_store(config)
            live_readings = len(store.series(start_ms=live_start))
            say(
                f"  collected    {live_readings:,} readings live "
                f"({time.monotonic() - t_live:.0f} s)"
            )
            from revenue.payout import payout

            outcome = payout(config, store, parse_period(period), out_dir=out, lang=opts.lang)
            summary = summarise(config, outcome, n_hist, live_readings, fired, period, opts.lang)
            data = report_data(config, store, period, outcome.files, live_start, summary)
            store.close()
            (out / "report.html").write_text(render_report(data, opts.lang), encoding="utf-8")
            say()
            say(f"payout run {period} (draft): every check passed")
            for village, pools in _village_totals(data).items():
                say(f"  {pad(village, 8)} {yuan(pools):>12} yuan to village funds")
            for c, dist, paid, residue in data.cooperatives:
                say(
                    f"  {c:<14} {yuan(dist):>12} yuan distributable, {yuan(paid)} paid, "
                    f"residue {yuan(residue)}"
                )
            say("largest household amounts:")
            for name, village, amount in data.top_households[:5]:
                say(f"  {pad(name, 8)} {pad(village, 8)} {yuan(amount):>10} yuan")
            say()
            say(
                f"files in {opts.out}/: "
                + ", ".join(p.name for p in outcome.written)
                + ", report.html"
            )
            say(f"demo finished in {time.monotonic() - t_begin:.0f} s")
            return 0
        except (DemoFailed, TimeoutError, RuntimeError) as exc:
            log.error("%s", exc)
            return 1
        finally:
            if watcher is not None:
                watcher.close()
            procs.close()


def alert_rows(
    alerts: Iterable[Alert], village_name: dict[str, str], tz: dt.tzinfo
) -> tuple[list[AlertRow], list[AlertRow]]:
    """Open alerts as the report shows them: (firing, pending), one row per station and
    kind (a village array's inverters lost together are one row), oldest first."""
    groups: dict[tuple[str, str, str], list[Alert]] = defaultdict(list)
    for a in alerts:
        if a.state in ("firing", "pending"):
            groups[(a.state, a.station or a.subject, a.kind)].append(a)
    rows: dict[str, list[tuple[int, AlertRow]]] = {"firing": [], "pending": []}
    for (state, station, kind), group in groups.items():
        group.sort(key=lambda a: (a.since_ms, a.subject))
        first = group[0]
        village = first.village or ""
        row = AlertRow(
            station=station,
            village=village_name.get(village, village),
            kind=kind,
            devices=tuple(a.subject for a in group),
            since=dt.datetime.fromtimestamp(first.since_ms / 1000, tz).strftime("%Y-%m-%d %H:%M"),
            seen=seen_text(first.seen, tz),
        )
        rows[state].append((first.since_ms, row))
    firing, pending = (
        [r for _, r in sorted(rows[s], key=lambda x: (x[0], x[1].station, x[1].kind))]
        for s in ("firing", "pending")
    )
    return firing, pending


def seen_text(seen: dict[str, Any], tz: dt.tzinfo) -> str:
    """An alert's evidence for people: timestamps [ms] as local times."""
    parts = []
    for k, v in sorted(seen.items()):
        if k.endswith("_ms") and isinstance(v, int):
            k, v = k.removesuffix("_ms"), f"{dt.datetime.fromtimestamp(v / 1000, tz):%m-%d %H:%M}"
        parts.append(f"{k} {v}")
    return ", ".join(parts)


def pad(text: str, width: int) -> str:
    """Left-justify to a terminal width, counting CJK characters as two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def _village_totals(data: ReportData) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for village, _pool, amount in data.village_pools:
        out[village] += amount
    return dict(out)


SUMMARY_LABELS = {
    "en": (
        "fleet",
        "readings (history + live)",
        "energy",
        "distributable",
        "alert shown",
        "{v} villages, {s} stations, {kw} kW",
        "yuan",
    ),
    "zh": (
        "电站规模",
        "读数（历史＋实时）",
        "发电量",
        "可分配收益",
        "演示告警",
        "{v} 个村，{s} 座电站，{kw} 千瓦",
        "元",
    ),
}


def summarise(
    config: Config,
    outcome: Any,
    n_hist: int,
    n_live: int,
    fired: dict,
    period: str,
    lang: str = "en",
) -> list[tuple[str, str]]:
    """The summary rows shown at the top of the report."""
    fleet, readings, energy_l, dist_l, alert_l, fleet_fmt, yuan_l = SUMMARY_LABELS[lang]
    r = outcome.result
    kw = sum(s.capacity_kw for s in config.stations)
    total = sum(s.distributable_fen for s in r.stations)
    energy = sum(s.energy_wh or 0 for s in r.stations) / 1000
    return [
        (fleet, fleet_fmt.format(v=len(config.villages), s=len(config.stations), kw=f"{kw:,.0f}")),
        (readings, f"{n_hist:,} + {n_live:,}"),
        (f"{energy_l} {period}", f"{energy:,.0f} kWh"),
        (f"{dist_l} {period}", f"{yuan(total)} {yuan_l}"),
        (alert_l, f"{fired.get('kind')} {fired.get('subject')}"),
    ]
