"""Modbus collector benchmark: the whole collector path against a libmodbus server.

Compiles a tiny libmodbus server and client (benchmarks/modbus_bench_*.c) into a
temporary folder, serves 1,000 devices (50 ports x 20 unit ids) answering 50-register
reads, and measures side by side in one run:

1. the collector path: plan, read (pymodbus through our adapter), decode, quality,
   Reading, SQLite store write -- reads/s and collector CPU us per read;
2. a raw-socket Python Modbus TCP client (sequential 50-register reads, no decode);
3. the libmodbus C client (sequential reads): the floor on this machine;

then the resident memory of `pvledger collect` polling 250 devices, and requests per
cycle of the SunSpec and Huawei maps against one request per value.

Run: python3 benchmarks/modbus_collector.py [--devices 1000] [--cycles 5] [--runs 5]
Needs: gcc, libmodbus-dev (apt-get install libmodbus-dev).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HERE = Path(__file__).resolve().parent
UNITS_PER_PORT = 20
BLOCK = 50

BENCH_MAP = """\
# benchmark map: one 50-register block, SunSpec-style scale factors inside it
map: bench-50
vendor: benchmark
document: benchmarks/modbus_collector.py
function: 3
default_sentinels: true
limits: {max_registers: 125, max_gap: 50}
points:
  - {field: power_w, address: 0, type: int16, sf: 1}
  - {field: energy_total_wh, address: 2, type: acc32, sf: 4}
  - {field: dc_power_w, address: 5, type: int16, sf: 6}
  - {field: temperature_c, address: 7, type: int16, sf: 8}
  - {field: status, address: 9, type: enum16, enum: {1: 0, 4: 1, 5: 2, 7: 3}}
  - {field: fault_code, address: 10, type: bitfield32}
  - {field: energy_today_wh, address: 48, type: uint32}
"""
# register image served by the C server (words 0..49 matter)
IMAGE = [4567, 1, 0x0012, 0xD687, 0, 4700, 1, 412, 0xFFFF, 4, 0, 0] + [0] * 36 + [0, 23456]

CONFIG_HEAD = """\
site: {name: bench, timezone: Asia/Shanghai, latitude: 27.11, longitude: 114.98, gateway: gw-b}
storage: {backend: sqlite, path: data/bench.db}
villages: [{id: dongpi, name: Dongpi}]
tariffs:
  - id: village-2018
    applies_to: {kind: village}
    shape: benchmark-total
    from: 2018-01-01
    total_yuan_per_kwh: "0.85"
    components:
      - {name: coal_benchmark, yuan_per_kwh: "0.4143", payer: grid, cycle: monthly}
      - {name: national_subsidy, yuan_per_kwh: remainder, payer: renewable_fund,
         cycle: annual, subsidy: true}
stations:
"""


def build(tmp: Path) -> tuple[Path, Path]:
    """Compile the C server and client; returns their paths."""
    flags = subprocess.run(
        ["pkg-config", "--cflags", "--libs", "libmodbus"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    out = []
    for name in ("modbus_bench_server", "modbus_bench_client"):
        exe = tmp / name
        subprocess.run(["gcc", "-O2", "-o", str(exe), str(HERE / f"{name}.c"), *flags], check=True)
        out.append(exe)
    return out[0], out[1]


def free_base_port(n: int) -> int:
    """A base port with n free ports after it (best effort)."""
    for base in range(21000, 60000, 211):
        ok = True
        for p in range(base, base + n):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise RuntimeError("no free port range")


def start_server(exe: Path, base: int, nports: int) -> subprocess.Popen:
    """Start the C server and wait for 'ready'."""
    proc = subprocess.Popen(
        [str(exe), str(base), str(nports)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdin and proc.stdout
    proc.stdin.write("\n".join(str(w) for w in IMAGE) + "\n")
    proc.stdin.close()
    assert proc.stdout.readline().strip() == "ready"
    return proc


def write_config(folder: Path, n: int, base: int, interval_s: float) -> Path:
    """A config with n bench devices, 20 unit ids per port, 20 devices per station."""
    lines = [CONFIG_HEAD]
    for i in range(n):
        if i % 20 == 0:
            lines.append(
                f"  - {{id: st-{i // 20:03d}, kind: village, capacity_kw: 100, "
                f"owner: dongpi, village: dongpi, devices: [\n"
            )
        port = base + i // UNITS_PER_PORT
        unit = 1 + i % UNITS_PER_PORT
        lines.append(
            f"      {{id: dev-{i:04d}, source: modbus-tcp, host: 127.0.0.1, "
            f"port: {port}, unit: {unit}, map: bench-50, interval_s: {interval_s}}},\n"
        )
        if i % 20 == 19 or i == n - 1:
            lines.append("    ]}\n")
    path = folder / "config.yaml"
    path.write_text("".join(lines))
    return path


async def collector_path(config_path: Path, cycles: int) -> dict[str, float]:
    """Poll every device `cycles` times through the component; each cycle's readings go
    through the plausibility gate into the SQLite store in one transaction (as a flush)."""
    from collector.modbus.component import from_config
    from collector.sinks import GatedSink
    from core.clock import Clock
    from core.config import load_config
    from core.store import SqliteStore

    cfg = load_config(config_path)
    comp = from_config(cfg)
    assert comp is not None
    clock = Clock()
    comp.open(clock)
    db = config_path.parent / "bench.db"
    db.unlink(missing_ok=True)
    sink = GatedSink.for_config(cfg, SqliteStore(db, timezone=cfg.site.timezone), clock)
    sink.write(await comp.poll_once())  # connect, create the series (not timed)
    reads = samples = bad = 0
    store_cpu = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(cycles):
        readings = await comp.poll_once()
        s0 = time.process_time()
        samples += sink.write(readings)
        store_cpu += time.process_time() - s0
        reads += len(readings)
        bad += sum(1 for r in readings if r.quality)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    for ep in comp.endpoints.values():
        ep.close()
    sink.close()
    requests = sum(len(p.requests) for p in comp.pollers) * cycles
    return {
        "reads": reads,
        "samples": samples,
        "wall": wall,
        "cpu": cpu,
        "store_cpu": store_cpu,
        "bad": bad,
        "requests": requests,
        "refused": sink.refused_total,
    }


def raw_python(port: int, reads: int) -> dict[str, float]:
    """Sequential 50-register reads over a plain socket (no decode): Python's floor."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    hdr = struct.Struct(">HHHBBHH")
    regs = struct.Struct(f">{BLOCK}H")
    need = 9 + 2 * BLOCK
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(reads):
        s.sendall(hdr.pack(i & 0xFFFF, 0, 6, 1 + i % UNITS_PER_PORT, 3, 0, BLOCK))
        buf = b""
        while len(buf) < need:
            buf += s.recv(need - len(buf))
        regs.unpack_from(buf, 9)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s.close()
    return {"reads": reads, "wall": wall, "cpu": cpu}


def c_client(exe: Path, port: int, reads: int) -> dict[str, float]:
    """The libmodbus C client's sequential reads."""
    out = subprocess.run(
        [str(exe), str(port), str(reads), str(BLOCK)], check=True, capture_output=True, text=True
    ).stdout.split()
    return {"reads": int(out[0]), "wall": float(out[1]), "cpu": float(out[2])}


ALERT_RULES = "alerts:\n  rules:\n    - {kind: comm_lost, for_s: 1800}\n"


def rss_of_collect(
    folder: Path, base: int, n: int, seconds: float, rules: bool = False
) -> dict[str, float]:
    """Peak resident memory of `pvledger collect` polling n devices for `seconds`
    (with one alert rule when `rules`: the alert evaluation then loads numpy)."""
    import signal

    sub = folder / ("rss-rules" if rules else "rss")
    sub.mkdir()
    cfg = write_config(sub, n, base, 5)
    if rules:
        cfg.write_text(cfg.read_text() + ALERT_RULES)
    env = dict(os.environ, PVLEDGER_MODBUS_MAPS=str(folder / "maps"), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "pvledger", "-q", "-c", str(cfg), "collect"], env=env, cwd=str(sub)
    )
    peak = 0
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end and proc.poll() is None:
        try:
            for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    peak = max(peak, int(line.split()[1]))
        except FileNotFoundError:
            break
        time.sleep(0.25)
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(30)
    from core.store import SqliteStore

    with SqliteStore(sub / "data" / "bench.db", readonly=True) as st:
        devices = {s.device for s in st.latest()}
    return {"rss_mb": peak / 1024, "exit": rc, "devices_stored": len(devices)}


def plan_counts() -> list[tuple[str, int, int]]:
    """(map, planned requests per cycle, one-request-per-value) for SunSpec and Huawei."""
    from collector.modbus.plan import naive_request_count, plan_requests
    from collector.modbus.regmap import load_map
    from collector.modbus.sunspec import place_points, typical

    out = []
    sun = load_map("sunspec")
    for role, name in (("inverter", "sunspec (1+103+120)"),):
        pts = place_points(typical(sun), sun, role)
        out.append((name, len(plan_requests(pts, sun.limits)), naive_request_count(pts)))
    for m in ("huawei-sun2000", "dtsu666"):
        rm = load_map(m)
        out.append((m, len(plan_requests(rm.points, rm.limits)), naive_request_count(rm.points)))
    return out


def median(xs: list[float]) -> float:
    """The median of xs."""
    return statistics.median(xs)


def main() -> int:
    """Run the three clients `--runs` times interleaved, then RSS; print medians beside anchors."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=5)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rss-devices", type=int, default=250)
    ap.add_argument("--rss-seconds", type=float, default=15)
    ap.add_argument("--uvloop", action="store_true", help="run the collector path on uvloop")
    args = ap.parse_args()
    load0 = os.getloadavg()
    runs: list[dict[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="pvl-modbus-bench-") as tmpd:
        tmp = Path(tmpd)
        srv_exe, cli_exe = build(tmp)
        (tmp / "maps").mkdir()
        (tmp / "maps" / "bench-50.yaml").write_text(BENCH_MAP)
        os.environ["PVLEDGER_MODBUS_MAPS"] = str(tmp / "maps")
        nports = (args.devices + UNITS_PER_PORT - 1) // UNITS_PER_PORT
        base = free_base_port(nports)
        srv = start_server(srv_exe, base, nports)
        try:
            cfg = write_config(tmp, args.devices, base, 30)
            for _ in range(args.runs):
                if args.uvloop:
                    import uvloop

                    col = uvloop.run(collector_path(cfg, args.cycles))
                else:
                    col = asyncio.run(collector_path(cfg, args.cycles))
                n = int(col["reads"])
                # the counts the figures claim: every device read every cycle, every
                # reading's 7 fields good and stored, nothing refused by the gate
                assert n == args.devices * args.cycles, col
                assert col["bad"] == 0 and col["refused"] == 0, col
                assert col["samples"] == 7 * n, col
                raw = raw_python(base, n)
                cc = c_client(cli_exe, base, n)
                assert raw["reads"] == n and cc["reads"] == n, (raw, cc)
                runs.append({"col": col, "raw": raw, "c": cc})
            rss = rss_of_collect(tmp, base, args.rss_devices, args.rss_seconds)
            rss_rules = rss_of_collect(tmp, base, args.rss_devices, args.rss_seconds, rules=True)
        finally:
            srv.terminate()
            srv.wait(10)
    load1 = os.getloadavg()
    for r in (rss, rss_rules):
        assert r["exit"] == 0 and r["devices_stored"] == args.rss_devices, r

    def us(r: dict[str, float]) -> float:
        return r["cpu"] / r["reads"] * 1e6

    loop = "uvloop" if args.uvloop else "asyncio"
    print(
        f"{args.devices} devices on {nports} ports x {UNITS_PER_PORT} units, "
        f"{BLOCK}-register reads, {args.cycles} cycles ({loop}), median of {args.runs} runs; "
        f"load average {load0[0]:.2f} before, {load1[0]:.2f} after"
    )
    print(f"{'client (same server, same run)':<48}{'reads':>7}{'reads/s':>9}{'CPU us/read':>13}")
    rows = [
        ("collector path (plan+read+decode+gate+store)", "col"),
        ("raw-socket Python client (sequential)", "raw"),
        ("libmodbus C client (sequential)", "c"),
    ]
    for name, key in rows:
        rate = median([r[key]["reads"] / r[key]["wall"] for r in runs])
        cpu = median([us(r[key]) for r in runs])
        print(f"{name:<48}{int(runs[0][key]['reads']):>7}{rate:>9.0f}{cpu:>13.1f}")
    ratios = [us(r["col"]) / us(r["raw"]) for r in runs]
    store = [r["col"]["store_cpu"] / r["col"]["reads"] * 1e6 for r in runs]
    print(
        f"  collector / raw socket: {median(ratios):.1f}x (runs: "
        + ", ".join(f"{x:.1f}" for x in ratios)
        + f"); goal <= 5x; collector / C client: "
        f"{median([us(r['col']) / us(r['c']) for r in runs]):.1f}x"
    )
    print(
        f"  of which gate + store write: {median(store):.1f} us/read "
        f"({median(store) / median([us(r['raw']) for r in runs]):.1f}x the raw socket); "
        f"samples stored per run: {int(runs[0]['col']['samples'])}; "
        f"requests per run: {int(runs[0]['col']['requests'])}"
    )
    print(
        f"pvledger collect, {args.rss_devices} devices, no alert rules: peak RSS "
        f"{rss['rss_mb']:.1f} MB; with one alert rule (numpy): {rss_rules['rss_mb']:.1f} MB "
        f"(exit 0 after SIGTERM, {args.rss_devices} devices stored, both)"
    )
    print("requests per cycle (planned vs one request per value):")
    for name, planned, naive in plan_counts():
        print(f"  {name:<24}{planned:>3} vs {naive}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
