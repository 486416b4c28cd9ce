"""A real SqliteStore writer in its own process, standing in for `pvledger collect`.

    python -m tests.backup.writer STORE PROGRESS

Writes one batch of readings per transaction (series of an unconfigured station, so
payout runs are unaffected) until SIGTERM, and after each commit rewrites PROGRESS
with the number of batches committed, so a test can await progress instead of
sleeping. Each batch is BATCH readings of FIELDS fields.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from core.reading import Reading
from core.store import SqliteStore

STATION = "s-writer"
BATCH = 200
START_MS = 1_788_000_000_000  # 2026-08-29 UTC: after the July test period
STEP_MS = 1000


def main(argv: list[str]) -> int:
    """Write until SIGTERM; returns 0 after closing the store."""
    store = SqliteStore(argv[0], timezone="Asia/Shanghai")
    progress = Path(argv[1])
    stop = False

    def on_term(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    batches = 0
    try:
        while not stop:
            base = START_MS + batches * BATCH * STEP_MS
            store.write(
                Reading(
                    STATION,
                    "s-writer-inv",
                    base + i * STEP_MS,
                    {"power_w": i, "energy_total_wh": batches * BATCH + i},
                )
                for i in range(BATCH)
            )
            batches += 1
            tmp = progress.with_suffix(".tmp")
            tmp.write_text(str(batches))
            os.replace(tmp, progress)
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
