"""The MQTT dead-letter table: every refused payload, with its reason, kept on disk.

One row per distinct (topic, payload): a broker redelivery of the same bad
message bumps ``seen`` instead of adding a row, so duplicates stay harmless
here too. Rows are committed before the message is acknowledged.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.sqlite_tx import immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mqtt_dead_letter (
    id INTEGER PRIMARY KEY,
    received_ms INTEGER NOT NULL,
    topic TEXT NOT NULL,
    device TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload BLOB NOT NULL,
    sha256 BLOB NOT NULL,
    seen INTEGER NOT NULL DEFAULT 1,
    UNIQUE (topic, sha256));
"""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused payload."""

    received_ms: int
    topic: str
    device: str  # "" when the topic names no configured device
    reason: str
    detail: str
    payload: bytes


class DeadLetters:
    """The dead-letter table in its own SQLite file (next to the store or outbox)."""

    def __init__(self, path: str | Path, *, max_payload_kept: int = 65536):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.max_payload_kept = max_payload_kept
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def add(self, letters: Sequence[DeadLetter]) -> None:
        """Commit refused payloads (one transaction)."""
        if not letters:
            return
        rows = []
        for d in letters:
            kept = d.payload[: self.max_payload_kept]  # an oversized payload is kept truncated
            rows.append(
                (
                    d.received_ms,
                    d.topic,
                    d.device,
                    d.reason,
                    d.detail,
                    kept,
                    hashlib.sha256(d.payload).digest(),
                )
            )
        with self._lock, immediate(self._db):
            self._db.executemany(
                "INSERT INTO mqtt_dead_letter "
                "(received_ms, topic, device, reason, detail, payload, sha256) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT (topic, sha256) DO UPDATE SET "
                "seen = seen + 1",
                rows,
            )

    def count(self, reason: str | None = None) -> int:
        """Rows in the table (optionally of one reason)."""
        with self._lock:
            if reason is None:
                return int(self._db.execute("SELECT count(*) FROM mqtt_dead_letter").fetchone()[0])
            return int(
                self._db.execute(
                    "SELECT count(*) FROM mqtt_dead_letter WHERE reason = ?", (reason,)
                ).fetchone()[0]
            )

    def rows(self) -> list[tuple[str, str, str, bytes]]:
        """(topic, device, reason, payload) of every row, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT topic, device, reason, payload FROM mqtt_dead_letter ORDER BY id"
            ).fetchall()

    def details(self) -> list[tuple[str, str, int]]:
        """(reason, detail, times seen) of every row, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT reason, detail, seen FROM mqtt_dead_letter ORDER BY id"
            ).fetchall()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
