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
5. Pay: the previous month's payout run (final), its files in OUT/, the notice (公示 PDF)
   of one village and one household's annual statement.
6. OUT/report.html and a short summary on stdout.

Every process started here is stopped on the way out, Ctrl-C included.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import queue
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.config import load_config
from core.processes import free_port, wait_port
from core.store import open_store
from pvledger.demo.prepare import DAY_MS, demo_config, previous_month, sunny_live_start
from pvledger.demo.processes import DemoFailed, Processes, sigterm_as_interrupt, start_broker
from pvledger.demo.report_data import pad, report_data, summarise, village_totals
from pvledger.demo.watch import AlertWatcher
from pvledger.report import render_report, yuan
from revenue.period import parse_period
from simulator.control import control

log = logging.getLogger("pvledger.demo")

#: the household station stopped during the live phase (an MQTT logger)
STOP_STATION = "s-hh-0042"


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


def say(text: str = "") -> None:
    """Progress for the person watching (stdout, flushed)."""
    print(text, flush=True)


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
            if fired is not None:  # the stop's work order: restored, repaired, verified
                from pvledger.demo.workorder import follow_work_order

                follow_work_order(config, ctl, fault, coll, STOP_STATION, say)
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
            from pvledger.demo.arrears import late_money_line, money_history, with_receivables
            from revenue.payout import payout

            # two years of statements, final runs and receipts, synthesised (arrears.py)
            owed = money_history(config, workdir, period, live_start, opts.seed, say)

            # final: the notice and the statement are printed only from a final run (the
            # demo's ledger is new each time, in its own work folder)
            outcome = payout(
                config, store, parse_period(period), out_dir=out, lang=opts.lang, final=True
            )
            summary = summarise(config, outcome, n_hist, live_readings, fired, period, opts.lang)
            data = report_data(config, store, period, outcome.result, live_start, summary)
            data = with_receivables(data, owed, opts.lang)
            store.close()
            from pvledger.demo.paperwork import write_paperwork
            from revenue.pdf import FontMissing

            today = dt.datetime.now(config.site.tz).date()
            try:
                docs = write_paperwork(config, outcome.record, out, today, opts.lang)
            except FontMissing as exc:  # the demo still shows the rest
                docs = []
                say(f"notice and statement not written: {exc}")
            from pvledger.demo.payments import payments_line, write_payments

            # the bank batch, two failed transfers, their confirmation (docs/payments.md)
            banked, pay_docs = write_payments(config, outcome.record, out, opts.lang)
            docs = [*docs, *pay_docs]
            data = dataclasses.replace(data, documents=docs)
            (out / "report.html").write_text(render_report(data, opts.lang), encoding="utf-8")
            say()
            say(f"payout run {period} ({outcome.record.status}): every check passed")
            say(late_money_line(outcome.result))
            say(payments_line(banked))
            for village, pools in village_totals(data).items():
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
                + ", ".join([*(p.name for p in outcome.written), *(f for _, f in docs)])
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
