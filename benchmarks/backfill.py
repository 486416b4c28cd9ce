"""Simulator history backfill: time to write N days of the default fleet into SQLite.

    python3 benchmarks/backfill.py [--days 30] [--resolution-s 900] [--config config.yaml]

Prints the model build time (history prefix since commissioning), the backfill
time, readings and samples per second, and the store size. Each run writes a
fresh SQLite file in a temporary folder.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.config import load_config
from core.store import SqliteStore
from simulator.backfill import backfill
from simulator.fleet import Fleet


class NullStore:
    """Counts what it is given: measures the simulator's own cost."""

    def write(self, readings: list) -> int:
        """Accept and drop."""
        return len(readings)

    def close(self) -> None:
        """Nothing to release."""


def stored_samples(path: Path) -> int:
    """Samples in a closed store file, counted over its day partitions."""
    with sqlite3.connect(path) as db:
        days = [d for (d,) in db.execute("SELECT day FROM partitions")]
        return sum(db.execute(f"SELECT count(*) FROM s_{d}").fetchone()[0] for d in days)


def main() -> None:
    """Run one backfill and print its figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="config.yaml")
    ap.add_argument("--days", type=float, default=30)
    ap.add_argument("--resolution-s", type=int, default=900)
    ap.add_argument("--end", default="2026-11-01T00:00:00+08:00")
    ap.add_argument("--null-store", action="store_true", help="build readings only (no database)")
    a = ap.parse_args()
    import datetime as dt

    cfg = load_config(a.config)
    end = int(dt.datetime.fromisoformat(a.end).timestamp() * 1000)
    start = end - int(a.days * 86_400_000)
    t0 = time.perf_counter()
    fleet = Fleet(cfg)
    fleet.model.ecum([0], [end])
    t_model = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        store = (
            NullStore()
            if a.null_store
            else SqliteStore(Path(d) / "bench.db", timezone=cfg.site.timezone)
        )
        t1 = time.perf_counter()
        n = backfill(cfg, store, start, end, a.resolution_s, fleet=fleet)
        t_fill = time.perf_counter() - t1
        stats = store.stats() if not a.null_store else {"bytes": 0}
        store.close()
        counted = None if a.null_store else stored_samples(Path(d) / "bench.db")
    meters = sum(1 for d in fleet.devices if d.is_meter)
    per_step = n / len(fleet.devices)
    samples = round(per_step * ((len(fleet.devices) - meters) * 5 + meters * 3))
    print(
        f"devices {len(fleet.devices)}, {a.days:g} days at {a.resolution_s} s: "
        f"{n:,} readings ({samples:,} samples)\n"
        f"model build {t_model:.1f} s; backfill {t_fill:.1f} s "
        f"({n / t_fill:,.0f} readings/s); total {t_model + t_fill:.1f} s; "
        f"store {stats['bytes'] / 1e6:.0f} MB"
    )
    if counted is not None:
        # the claim checked: every sample the backfill reports is in the file
        print(f"samples counted in the store: {counted:,} (expected {samples:,})")
        if counted != samples:
            sys.exit(1)


if __name__ == "__main__":
    main()
