"""Benchmark the embedded SQLite store (issue 2 figures for docs/benchmarks.md).

1. Sustained batch insert: a month of 5-minute readings for N stations x 3 fields,
   loaded in arrival order (every station once per cycle, --cycles-per-write cycles
   per write(), default 1),
   into a file that keeps growing. Throughput is reported per tenth of the load
   so a collapse late in the month would show. Beside it, the limit: the same
   rows through a bare executemany into one table without index or roll-up.
2. Database size per million readings.
3. Counters at the boundaries of every day of one month for M stations (the
   revenue query), read from the daily roll-up.

    python benchmarks/store_sqlite.py          # 1,000 stations x 30 days; 10,000 for the query
    python benchmarks/store_sqlite.py --quick  # 200 stations x 3 days; 1,000 for the query
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import tempfile
import time
from pathlib import Path

from core.reading import Reading
from core.store import SqliteStore

T0 = 1782835200000  # 2026-07-01 00:00 Asia/Shanghai
STEP_MS = 300_000


def rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycle(stations: int, k: int) -> list[Reading]:
    """One polling cycle: every station once, three fields."""
    ts = T0 + k * STEP_MS
    return [
        Reading(
            f"s-{i:05d}",
            f"s-{i:05d}-inv",
            ts,
            {
                "power_w": 1500.0 + (i % 100),
                "energy_total_wh": 1_000_000 + k * 250 + i,
                "energy_today_wh": (k % 288) * 250,
            },
            village=f"v{i % 19}",
            gateway="gw",
        )
        for i in range(stations)
    ]


def bench_insert(path: Path, stations: int, days: int, per_write: int = 1) -> dict[str, float]:
    cycles = days * 288
    store = SqliteStore(path)
    tenths: list[float] = []
    write_s = total_s = 0.0
    n = 0
    chunk_n, chunk_t, chunk_cpu = 0, 0.0, 0.0
    cpu_s = 0.0
    cpu_tenths: list[float] = []
    t_start = time.perf_counter()
    batch: list[Reading] = []
    for k in range(cycles):
        batch += cycle(stations, k)
        if (k + 1) % per_write:
            continue
        a = time.perf_counter()
        c = time.process_time()
        got = store.write(batch)
        batch = []
        dt = time.perf_counter() - a
        dcpu = time.process_time() - c
        cpu_s += dcpu
        chunk_cpu += dcpu
        write_s += dt
        n += got
        chunk_n += got
        chunk_t += dt
        if (k + 1) % max(1, cycles // 10) == 0:
            tenths.append(chunk_n / chunk_t)
            cpu_tenths.append(chunk_n / chunk_cpu)
            chunk_n, chunk_t, chunk_cpu = 0, 0.0, 0.0
            print(
                f"  {k + 1:>6}/{cycles} cycles  {tenths[-1]:>9,.0f} readings/s in write(), "
                f"{cpu_tenths[-1]:>9,.0f} per CPU-second",
                flush=True,
            )
    total_s = time.perf_counter() - t_start
    store.close()
    # the claim checked: every value written is in the file, once
    expected = 3 * stations * (cycles - cycles % per_write)
    with sqlite3.connect(path) as db:
        days_in = [d for (d,) in db.execute("SELECT day FROM partitions")]
        counted = sum(db.execute(f"SELECT count(*) FROM s_{d}").fetchone()[0] for d in days_in)
    assert n == expected == counted, f"written {n}, expected {expected}, in the file {counted}"
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return {
        "readings": n,
        "write_s": write_s,
        "total_s": total_s,
        "cpu_s": cpu_s,
        "rate_write": n / write_s,
        "rate_total": n / total_s,
        "min_tenth": min(tenths),
        "last_tenth": tenths[-1],
        "cpu_first_tenth": cpu_tenths[0],
        "cpu_last_tenth": cpu_tenths[-1],
        "bytes_per_million": size / (n / 1e6),
        "size_mb": size / 1e6,
    }


def bench_limit(path: Path, stations: int, cycles: int) -> float:
    """Bare executemany of the same row tuples into an unindexed table [rows/s]."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (series INTEGER, ts INTEGER, value, quality INTEGER)")
    n, spent = 0, 0.0
    for k in range(cycles):
        ts = T0 + k * STEP_MS
        rows = [(i * 3 + f, ts, 1.0, 0) for i in range(stations) for f in range(3)]
        a = time.perf_counter()
        db.execute("BEGIN")
        db.executemany("INSERT INTO t VALUES (?,?,?,?)", rows)
        db.execute("COMMIT")
        spent += time.perf_counter() - a
        n += len(rows)
    db.close()
    return n / spent


def bench_month_query(path: Path, stations: int, days: int) -> dict[str, float]:
    """Load hourly counters for many stations, then read every day's first/last counter."""
    store = SqliteStore(path)
    load_start = time.perf_counter()
    for h in range(days * 24):
        ts = T0 + h * 3_600_000
        store.write(
            [
                Reading(
                    f"s-{i:05d}",
                    f"s-{i:05d}-inv",
                    ts,
                    {"energy_total_wh": 1_000_000 + h * 2000 + i},
                )
                for i in range(stations)
            ]
        )
    load_s = time.perf_counter() - load_start
    store.close()
    store = SqliteStore(path)  # cold-ish: a fresh connection, as `pvledger revenue` would
    a = time.perf_counter()
    rows = store.daily(fields=["energy_total_wh"], start_day=20260701, end_day=20260700 + days)
    query_s = time.perf_counter() - a
    store.close()
    assert len(rows) == stations * days, len(rows)
    return {"rows": len(rows), "query_s": query_s, "load_s": load_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a small run for a smoke test")
    ap.add_argument("--stations", type=int, default=None)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--query-stations", type=int, default=None)
    ap.add_argument(
        "--cycles-per-write",
        type=int,
        default=1,
        help="polling cycles buffered into one write() (one transaction)",
    )
    args = ap.parse_args()
    stations = args.stations or (200 if args.quick else 1000)
    days = args.days or (3 if args.quick else 30)
    qstations = args.query_stations or (1000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory(prefix="pvledger-bench-") as tmp:
        d = Path(tmp)
        print(
            f"insert: {stations} stations x 3 fields x {days} days of 5-minute cycles, "
            f"arrival order, {args.cycles_per_write} cycle(s) per write()"
        )
        ins = bench_insert(d / "insert.db", stations, days, args.cycles_per_write)
        limit = bench_limit(d / "limit.db", stations, min(days * 288, 864))
        print(f"month query: {qstations} stations x {days} days, counters at day boundaries")
        q = bench_month_query(d / "query.db", qstations, days)
    print()
    print("| figure | value |")
    print("|---|---|")
    print(f"| readings loaded | {ins['readings']:,} |")
    print(f"| insert rate inside write() | {ins['rate_write']:,.0f} readings/s |")
    print(
        f"| CPU per reading inside write() | {ins['cpu_s'] / ins['readings'] * 1e6:.2f} µs "
        f"({ins['readings'] / ins['cpu_s']:,.0f} readings per CPU-second) |"
    )
    print(f"| insert rate incl. building Reading objects | {ins['rate_total']:,.0f} readings/s |")
    print(
        f"| slowest tenth of the load / last tenth | {ins['min_tenth']:,.0f} / "
        f"{ins['last_tenth']:,.0f} readings/s |"
    )
    print(
        f"| readings per CPU-second, first / last tenth of the load | "
        f"{ins['cpu_first_tenth']:,.0f} / {ins['cpu_last_tenth']:,.0f} |"
    )
    print(f"| limit: bare executemany, no index, no roll-up | {limit:,.0f} rows/s |")
    print(
        f"| database size | {ins['size_mb']:,.0f} MB, "
        f"{ins['bytes_per_million'] / 1e6:,.1f} MB per million readings |"
    )
    print(
        f"| day-boundary counters, {qstations:,} stations x {days} days | "
        f"{q['rows']:,} rows in {q['query_s']:.2f} s |"
    )
    print(f"| peak RSS of the benchmark process | {rss_mb():,.0f} MB |")


if __name__ == "__main__":
    main()
