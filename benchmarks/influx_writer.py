"""Readings per second into VictoriaMetrics: our writer vs a plain POST vs influxdb-client batching.

    python3 benchmarks/influx_writer.py [--lines 600000] [--batch 5000]

Every mode sends the same pre-built line protocol (one reading of a logger
per line: power, two energy counters, status, fault code, temperature) to a
fresh VictoriaMetrics started for it, and the sample count is checked through
the export API afterwards (not timed). Modes:

- plain-post: http.client keep-alive POSTs of the joined lines, no gzip (the limit);
- writer: core.store.influx.InfluxWriter (influxdb-client's synchronous v2 write
  binding driven by our batching loop), gzip level 1 and without gzip;
- client-batching: influxdb-client's own batching mode (WriteOptions batch_size),
  timed until close() returns;
- outbox+forwarder: readings written to the on-disk outbox, then drained by the
  forwarder (what `pvledger collect` does), timed from the first write to empty.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from influxdb_client import InfluxDBClient, WriteOptions

from collector.forward.forwarder import Forwarder
from collector.forward.outbox import Outbox
from core.reading import Reading
from core.store.influx import InfluxWriter
from core.store.lineproto import LineEncoder
from core.store.victoriametrics import ExportReader
from tests.servers import VictoriaMetrics

T0 = 1782864000000
FIELDS = 6


def readings(n: int, stations: int = 200) -> list[Reading]:
    """n logger readings, one minute apart per station."""
    out = []
    for i in range(n):
        s = i % stations
        k = i // stations
        out.append(
            Reading(
                f"s-hh-{s:04d}",
                f"s-hh-{s:04d}-log",
                T0 + k * 60_000,
                {
                    "power_w": 1000.0 + (i % 977) / 4,
                    "energy_today_wh": k * 40,
                    "energy_total_wh": 4_000_000 + k * 40,
                    "status": 1,
                    "fault_code": 0,
                    "temperature_c": 40.5,
                },
                village="dongpi",
                gateway="gw-bench",
            )
        )
    return out


def fresh_vm(root: Path, name: str) -> VictoriaMetrics:
    """A new VictoriaMetrics in its own folder."""
    vm = VictoriaMetrics(root / name)
    vm.workdir.mkdir()
    return vm.start()


def plain_post(url: str, lines: list[str], batch: int) -> None:
    """POST joined lines with http.client keep-alive, no compression."""
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    for i in range(0, len(lines), batch):
        body = "\n".join(lines[i : i + batch]).encode()
        conn.request(
            "POST",
            "/api/v2/write?org=o&bucket=b&precision=ms",
            body,
            {"Content-Type": "text/plain; charset=utf-8"},
        )
        r = conn.getresponse()
        r.read()
        if r.status >= 300:
            raise RuntimeError(f"HTTP {r.status}")
    conn.close()


def ours(url: str, lines: list[str], batch: int, gzip_level: int) -> None:
    """Our writer: one synchronous influxdb-client write per batch."""
    w = InfluxWriter(url, gzip_level=gzip_level)
    for i in range(0, len(lines), batch):
        w.write_lines(lines[i : i + batch])
    w.close()


def client_batching(url: str, lines: list[str], batch: int) -> None:
    """influxdb-client's batching mode, closed (flushed) at the end."""
    with InfluxDBClient(url=url, token="", org="o") as c:
        api = c.write_api(write_options=WriteOptions(batch_size=batch, flush_interval=1000))
        for i in range(0, len(lines), batch):
            api.write(bucket="b", record=lines[i : i + batch], write_precision="ms")
        api.close()


def outbox_forwarder(url: str, rs: list[Reading], batch: int, folder: Path) -> None:
    """Readings -> on-disk outbox -> forwarder -> VictoriaMetrics, until the outbox is empty."""
    box = Outbox(folder / "outbox.db", budget_bytes=10**10)
    fwd = Forwarder(box, InfluxWriter(url), batch_size=batch, flush_interval_s=0.05)
    fwd.start_thread()
    for i in range(0, len(rs), 1000):  # collector-sized commits
        box.write(rs[i : i + 1000])
    while box.depth():
        time.sleep(0.01)
    fwd.stop_thread()
    box.close()


def main() -> int:
    """Run every mode --runs times, interleaved; print medians beside the plain POST."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=600_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    rs = readings(args.lines)
    lines = LineEncoder().lines(rs)
    size = sum(len(x) + 1 for x in lines)
    modes = [
        ("plain-post (http.client, no gzip)", lambda u, d: plain_post(u, lines, args.batch)),
        ("writer, gzip level 1 (default)", lambda u, d: ours(u, lines, args.batch, 1)),
        ("writer, no gzip", lambda u, d: ours(u, lines, args.batch, 0)),
        ("influxdb-client batching mode", lambda u, d: client_batching(u, lines, args.batch)),
        (
            "outbox + forwarder (from Reading objects)",
            lambda u, d: outbox_forwarder(u, rs, args.batch, d),
        ),
    ]
    load_before = os.getloadavg()[0]
    # per mode: [(readings/s, client CPU us/reading)] over the runs
    results: list[list[tuple[float, float]]] = [[] for _ in modes]
    missing = 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for run in range(args.runs):
            for k, (_name, fn) in enumerate(modes):
                folder = f"vm{run}-{k}"
                vm = fresh_vm(root, folder)
                try:
                    t, cpu = time.perf_counter(), time.process_time()
                    fn(vm.url, root / folder)
                    elapsed = time.perf_counter() - t
                    cpu_us = (time.process_time() - cpu) / len(lines) * 1e6
                    n = ExportReader(vm.url, flush_first=True).count('{__name__=~"pv_.*"}')
                finally:
                    vm.stop()
                missing += FIELDS * len(lines) - n
                results[k].append((len(lines) / elapsed, cpu_us))
    med = statistics.median
    print(
        f"{len(lines)} readings ({FIELDS} fields each), {size / len(lines):.0f} B/line, "
        f"batches of {args.batch}, median of {args.runs} interleaved runs, load average "
        f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1 min)"
    )
    print(f"{'mode':45} {'readings/s':>11} {'CPU us/reading':>15} {'x plain POST':>13}")
    for (name, _), runs in zip(modes, results, strict=True):
        ratio = med(c / p[1] for (_, c), p in zip(runs, results[0], strict=True))
        print(
            f"{name:45} {med(r for r, _ in runs):11,.0f} {med(c for _, c in runs):15.2f} "
            f"{ratio:12.1f}x"
        )
    want = FIELDS * len(lines) * len(modes) * args.runs
    print(f"samples stored: {want - missing} of {want}")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
