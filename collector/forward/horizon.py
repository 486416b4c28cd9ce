"""What the county has not acknowledged yet, read from the outbox file (read only).

A row leaves the outbox only after the database answered 2xx (outbox.py), so every
reading still in ``outbox`` is unacknowledged, and a row in ``dead_letter`` was
refused. The oldest reading timestamp among both is the retention horizon: raw
samples from before it are safe at the county.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

# the line protocol timestamp is the trailing run of digits (ms, LineEncoder.line);
# rtrim strips it, so what follows the stripped prefix is the number
_OLDEST = (
    "SELECT min(CAST(substr(line, length(rtrim(line, '0123456789')) + 1) AS INTEGER)) FROM {t}"
)


class NoOutbox(Exception):
    """The outbox file does not exist: nothing is known to be acknowledged."""


def oldest_unacknowledged_ms(path: Path) -> int | None:
    """UTC ms of the oldest reading waiting in the outbox or its dead letters; None if none.

    Raises NoOutbox when the file is missing (a gateway that never forwarded).
    """
    if not path.is_file():
        raise NoOutbox(f"{path}: no outbox")
    # opened read-write but only read from: a read-only open of a WAL file needs its
    # -shm, which the running collector owns
    db = sqlite3.connect(str(path), timeout=30)
    try:
        found = [db.execute(_OLDEST.format(t=t)).fetchone()[0] for t in ("outbox", "dead_letter")]
    finally:
        db.close()
    values = [int(v) for v in found if v is not None]
    return min(values) if values else None
