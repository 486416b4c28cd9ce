"""A province slice on real engines: outbox -> vmauth -> vmagent -> two nodes, against the
same load written straight into one node, in the same run.

    python3 benchmarks/province.py [--gateways 1000] [--publishers 4] [--rate 2000]
                                   [--seconds 20]

Each publisher process stands for gateways/publishers gateways (20 stations each):
it writes `rate/publishers` six-field logger readings a second, stamped with the
time they are made, into its own on-disk outbox, drained by the real forwarder
(collector.forward) with the county's token. Probe readings (one per publisher
every 0.25 s) are polled on the nodes without a flush: their lag is the time from
reading to queryable on every node. CPU per reading comes from /proc of each
process (publishers, vmauth, vmagent, nodes). All on loopback, bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector.forward.forwarder import Forwarder
from collector.forward.outbox import Outbox
from core.reading import Reading
from core.store.influx import InfluxWriter
from core.store.victoriametrics import ExportReader
from tests.province.topology import Province, shipped_flags
from tests.servers import VictoriaMetrics

STATIONS_PER_GATEWAY = 20
TICK_S = 0.1
PROBE_EVERY_S = 0.25
CLK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU of a process so far [s]."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


# -- one publisher process -------------------------------------------------------------
def publish(args: argparse.Namespace) -> None:
    """Write readings at the given rate for the given time, drain, print a JSON summary."""
    box = Outbox(Path(args.outbox), budget_bytes=8 * 1024**3)
    writer = InfluxWriter(args.url, token=os.environ.get("BENCH_TOKEN") or None)
    fwd = Forwarder(box, writer, batch_size=5000, flush_interval_s=0.2)
    fwd.start_thread()
    stations = [
        (f"g{g:04d}", f"g{g:04d}-s{k:02d}")
        for g in range(args.first_gateway, args.first_gateway + args.gateways)
        for k in range(STATIONS_PER_GATEWAY)
    ]
    per_tick = max(1, round(args.rate * TICK_S))
    sent, i, last_ms = 0, 0, 0
    start = time.monotonic()
    next_probe = start
    while (now := time.monotonic()) - start < args.seconds:
        ts = max(int(time.time() * 1000), last_ms + 1)  # distinct per batch: no dedup merge
        last_ms = ts
        batch = []
        for _ in range(per_tick):
            gw, st = stations[i % len(stations)]
            i += 1
            batch.append(
                Reading(
                    st,
                    f"{st}-log",
                    ts,
                    {
                        "power_w": 1000.0 + i % 977,
                        "energy_today_wh": i,
                        "energy_total_wh": 4_000_000 + i,
                        "status": 1,
                        "fault_code": 0,
                        "temperature_c": 40.5,
                    },
                    village=gw,
                    gateway=gw,
                )
            )
        if now >= next_probe:
            batch.append(Reading(args.probe, f"{args.probe}-log", ts, {"power_w": float(ts)}))
            next_probe += PROBE_EVERY_S
        box.write(batch)
        fwd.wake()
        sent += per_tick
        time.sleep(max(0.0, start + (sent / per_tick) * TICK_S - time.monotonic()))
    wrote_s = time.monotonic() - start
    deadline = time.monotonic() + 60
    while box.depth() and time.monotonic() < deadline:
        time.sleep(0.05)
    drained_s = time.monotonic() - start
    fwd.stop_thread()
    left = box.depth()
    box.close()
    print(json.dumps({"sent": sent, "wrote_s": wrote_s, "drained_s": drained_s, "left": left}))


# -- the run ----------------------------------------------------------------------------
def probe_times(url: str, phase: str) -> dict[int, None]:
    """Probe timestamps of a phase visible on a node now (no flush: what a query sees)."""
    sel = f'{{__name__="pv_power_w",station=~"probe-{phase}-.*"}}'
    q = urllib.parse.urlencode({"match[]": sel, "start": "0"})
    with urllib.request.urlopen(f"{url}/api/v1/export?{q}", timeout=10) as r:
        body = r.read()
    out: dict[int, None] = {}
    for line in body.splitlines():
        if line.strip():
            for ts in json.loads(line)["timestamps"]:
                out[int(ts)] = None
    return out


def phase(
    name: str,
    url: str,
    token: str | None,
    nodes: list[str],
    pids: dict[str, int],
    args: argparse.Namespace,
    root: Path,
) -> dict:
    """One load against one entry URL; lag observed on every node in `nodes`."""
    seen: list[dict[int, float]] = [{} for _ in nodes]
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for i, n in enumerate(nodes):
                now = time.time() * 1000
                try:
                    for ts in probe_times(n, name):
                        seen[i].setdefault(ts, now)
                except OSError as exc:  # a slow answer: the next poll catches up
                    print(f"poll {n}: {exc}", file=sys.stderr)
            stop.wait(0.05)

    cpu0 = {k: cpu_s(p) for k, p in pids.items()}
    poller = threading.Thread(target=poll, name="lag-poller")
    poller.start()
    per = args.gateways // args.publishers
    procs = []
    t0 = time.monotonic()
    for k in range(args.publishers):
        env = {**os.environ, "BENCH_TOKEN": token or ""}
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--publisher",
                    "--url",
                    url,
                    "--outbox",
                    str(root / f"{name}-outbox-{k}.db"),
                    "--first-gateway",
                    str(k * per),
                    "--gateways",
                    str(per),
                    "--rate",
                    str(args.rate / args.publishers),
                    "--seconds",
                    str(args.seconds),
                    "--probe",
                    f"probe-{name}-{k}",
                ],
                stdout=subprocess.PIPE,
                env=env,
                text=True,
            )
        )
    pub_cpu = 0.0
    results = []
    for p in procs:
        out, _ = p.communicate(timeout=args.seconds + 120)
        results.append(json.loads(out.strip().splitlines()[-1]))
    wall = time.monotonic() - t0
    # children's CPU: reaped, so from resource usage of this process's children
    import resource

    pub_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    time.sleep(3)  # last probes become queryable
    stop.set()
    poller.join()
    cpu = {k: cpu_s(p) - cpu0[k] for k, p in pids.items()}
    readings = sum(r["sent"] for r in results)
    lags = []
    for ts in set().union(*[set(s) for s in seen]):
        if all(ts in s for s in seen):
            lags.append(max(s[ts] for s in seen) - ts)
    lags.sort()
    return {
        "phase": name,
        "readings": readings,
        "left_in_outboxes": sum(r["left"] for r in results),
        "readings_per_s": readings / max(r["drained_s"] for r in results),
        "wall_s": wall,
        "lag_ms_p50": statistics.median(lags) if lags else None,
        "lag_ms_p95": lags[int(0.95 * (len(lags) - 1))] if lags else None,
        "probes": len(lags),
        "cpu_us_per_reading": {k: 1e6 * v / readings for k, v in cpu.items()},
        "publishers_cpu_s_cumulative": pub_cpu.ru_utime + pub_cpu.ru_stime,
    }


def main() -> None:
    """Run both phases and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gateways", type=int, default=1000)
    ap.add_argument("--publishers", type=int, default=4)
    ap.add_argument("--rate", type=float, default=2000.0, help="readings/s offered in total")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--publisher", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--outbox", help=argparse.SUPPRESS)
    ap.add_argument("--first-gateway", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--probe", default="probe", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.publisher:
        publish(args)
        return
    with tempfile.TemporaryDirectory(prefix="pvledger-province-") as tmp:
        root = Path(tmp)
        prov = Province(root / "province")
        direct = VictoriaMetrics(root / "direct", flags=shipped_flags("pvledger-vm-node.service"))
        direct.workdir.mkdir(parents=True)
        prov.start()
        direct.start()
        try:
            pids = {
                "vmauth": prov.auth.proc.pid,
                "vmagent": prov.agent.proc.pid,
                "node1": prov.nodes[0].proc.pid,
                "node2": prov.nodes[1].proc.pid,
                "direct": direct.proc.pid,
            }
            a = phase(
                "province",
                prov.url,
                prov.tokens["jizhou"],
                [n.url for n in prov.nodes],
                pids,
                args,
                root,
            )
            rusage_a = a.pop("publishers_cpu_s_cumulative")
            b = phase("direct", direct.url, None, [direct.url], pids, args, root)
            rusage_b = b.pop("publishers_cpu_s_cumulative") - rusage_a
            a["cpu_us_per_reading"]["publishers"] = 1e6 * rusage_a / a["readings"]
            b["cpu_us_per_reading"]["publishers"] = 1e6 * rusage_b / b["readings"]
            for r in (a, b):
                got = [
                    ExportReader(u, flush_first=True).count(
                        '{__name__="pv_energy_total_wh",station=~"g.*"}'
                    )
                    for u in ([n.url for n in prov.nodes] if r is a else [direct.url])
                ]
                r["energy_samples_on_nodes"] = got
            print(json.dumps({"args": vars(args), "province": a, "direct": b}, indent=1))
        finally:
            prov.stop()
            direct.stop()


if __name__ == "__main__":
    main()
