"""The on-disk outbox: every reading is committed here before anyone is told "got it".

A SQLite file (WAL) holding line protocol rows in arrival order. ``write()`` is
the collector's sink for remote backends (collector/sinks.py): it returns only
after the transaction committed, so an MQTT PUBACK or the next Modbus poll
never gets ahead of the disk. The forwarder reads the oldest rows, sends them,
and deletes them only after the database answered 2xx.

Budget policy (docs/forwarding.md): each reading is split into a protected
line (energy counters, status and fault codes: never dropped) and a thinnable
line (power, DC power, temperature). Over budget, every second thinnable row
of the older half is deleted, repeatedly, until the queue fits; if only
protected rows remain the outbox grows past its budget and says so loudly.
Warnings are logged when the fill crosses 50, 80 and 95 %.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from core.reading import Reading
from core.sqlite_tx import immediate
from core.store.lineproto import LineEncoder, sample_count

if TYPE_CHECKING:
    from collector.metrics import Metrics
    from core.config import Config

log = logging.getLogger("collector.forward.outbox")

#: fields that may be thinned when the outbox is over budget (high-rate samples)
THINNABLE_FIELDS = frozenset({"power_w", "dc_power_w", "temperature_c"})
PROTECTED, THINNABLE = 0, 1
WARN_LEVELS = (0.50, 0.80, 0.95)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    enqueued_ms INTEGER NOT NULL,
    class INTEGER NOT NULL,
    line TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stats (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO stats VALUES ('bytes', 0);
CREATE TABLE IF NOT EXISTS dead_letter (
    id INTEGER PRIMARY KEY,
    moved_ms INTEGER NOT NULL,
    -- the database's HTTP status, or 0: kept back by the screen, never sent
    status INTEGER NOT NULL,
    message TEXT NOT NULL,
    line TEXT NOT NULL);
"""

_THIN = """
DELETE FROM outbox WHERE id IN (
  SELECT id FROM (
    SELECT id, row_number() OVER (ORDER BY id) AS rn
    FROM (SELECT id FROM outbox WHERE class = 1 ORDER BY id LIMIT ?))
  WHERE rn % 2 = 0)
RETURNING length(line)
"""
#: bytes counted per row on top of its line (row header, id, time, class)
ROW_OVERHEAD = 24
THIN_LOG_EVERY_S = 60.0


def split_reading(r: Reading) -> tuple[list[str], list[str]]:
    """Field names of a reading as (protected, thinnable)."""
    keep = [f for f in r.values if f not in THINNABLE_FIELDS]
    thin = [f for f in r.values if f in THINNABLE_FIELDS]
    return keep, thin


class Outbox:
    """SQLite store-and-forward queue of line protocol, with a byte budget."""

    def __init__(
        self,
        path: str | Path,
        *,
        budget_bytes: int = 512 * 1024 * 1024,
        metrics: Metrics | None = None,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.budget_bytes = budget_bytes
        self.metrics = metrics
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode survives a killed process (not a power cut) and is
        # several times faster than FULL; the gateway's fsync budget matters
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._encoder = LineEncoder()
        self._level = 0  # index into WARN_LEVELS already warned about
        self._listeners: list[Callable[[], None]] = []
        self.thinned_total = 0
        self._thin_logged = 0.0
        self._over = False

    @classmethod
    def for_config(cls, config: Config, metrics: Metrics | None = None) -> Outbox:
        """The outbox named by config.storage (outbox_path, outbox_budget_bytes)."""
        st = config.storage
        return cls(
            config.resolve(st.outbox_path), budget_bytes=st.outbox_budget_bytes, metrics=metrics
        )

    # -- the sink ------------------------------------------------------------
    def write(self, readings: Iterable[Reading]) -> int:
        """Commit readings to disk (all or none); returns the number of samples."""
        readings = list(readings)
        now = time.time_ns() // 1_000_000
        rows: list[tuple[int, int, str]] = []
        enc = self._encoder
        for r in readings:
            keep, thin = split_reading(r)
            if keep and (line := enc.line(r, keep)) is not None:
                rows.append((now, PROTECTED, line))
            if thin and (line := enc.line(r, thin)) is not None:
                rows.append((now, THINNABLE, line))
        self.enqueue_rows(rows)
        return sample_count(readings)

    def enqueue_lines(self, lines: Iterable[str], cls: int = PROTECTED) -> int:
        """Commit pre-built line protocol rows (benchmarks, imports); returns the count."""
        now = time.time_ns() // 1_000_000
        rows = [(now, cls, ln) for ln in lines]
        self.enqueue_rows(rows)
        return len(rows)

    def enqueue_rows(self, rows: list[tuple[int, int, str]]) -> None:
        """Insert (enqueued_ms, class, line) rows in one transaction, then apply the budget."""
        if not rows:
            return
        with self._lock:
            db = self._db
            with immediate(db):
                db.executemany("INSERT INTO outbox (enqueued_ms, class, line) VALUES (?,?,?)", rows)
                added = sum(len(r[2]) for r in rows) + ROW_OVERHEAD * len(rows)
                db.execute("UPDATE stats SET value = value + ? WHERE key = 'bytes'", (added,))
            self._apply_budget()
        for fn in self._listeners:
            fn()

    def close(self) -> None:
        """Close the file (committed rows stay for the next start)."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._db.close()

    # -- budget --------------------------------------------------------------
    def used_bytes(self) -> int:
        """Bytes queued: line protocol plus ROW_OVERHEAD per row. [bytes]

        Counted in the same transactions as inserts and deletes (file pages
        would not shrink when scattered rows are thinned).
        """
        with self._lock:
            return int(
                self._db.execute("SELECT value FROM stats WHERE key = 'bytes'").fetchone()[0]
            )

    def _delete(self, sql: str, args: tuple) -> int:
        """Run a DELETE ... RETURNING length(line) and keep the byte count in step."""
        with self._lock:
            db = self._db
            with immediate(db):
                lengths = [r[0] for r in db.execute(sql, args).fetchall()]
                freed = sum(lengths) + ROW_OVERHEAD * len(lengths)
                db.execute("UPDATE stats SET value = value - ? WHERE key = 'bytes'", (freed,))
        return len(lengths)

    def fill_ratio(self) -> float:
        """used_bytes / budget_bytes (may exceed 1 when only protected rows remain)."""
        return self.used_bytes() / self.budget_bytes

    def _apply_budget(self) -> None:
        used = self.used_bytes()
        thinned = 0
        while used > self.budget_bytes:
            n_thin = self._db.execute("SELECT count(*) FROM outbox WHERE class = 1").fetchone()[0]
            if n_thin == 0:
                break
            deleted = self._delete(_THIN, (max(2, n_thin // 2),))
            if deleted <= 0:
                break
            thinned += deleted
            used = self.used_bytes()
        if thinned:
            self.thinned_total += thinned
            if self.metrics is not None:
                self.metrics.inc("pvledger_outbox_thinned_total", thinned)
            now = time.monotonic()
            if now - self._thin_logged >= THIN_LOG_EVERY_S:
                self._thin_logged = now
                log.warning(
                    "outbox over its budget of %d bytes: thinning power samples "
                    "(%d deleted so far, oldest first; energy counters and alarms kept)",
                    self.budget_bytes,
                    self.thinned_total,
                )
        self._warn_levels(used / self.budget_bytes)

    def _warn_levels(self, ratio: float) -> None:
        # one warning per threshold crossed upwards; re-armed only 10 points below
        # it, so thinning around the budget does not repeat the warning each write
        while self._level < len(WARN_LEVELS) and ratio >= WARN_LEVELS[self._level]:
            log.warning(
                "outbox passed %.0f %% of its budget (now %.0f %% of %d bytes)",
                WARN_LEVELS[self._level] * 100,
                ratio * 100,
                self.budget_bytes,
            )
            self._level += 1
        while self._level > 0 and ratio < WARN_LEVELS[self._level - 1] - 0.10:
            self._level -= 1
        if ratio > 1.0 and not self._over:
            log.error(
                "outbox is %.0f %% of its budget with only protected readings (energy "
                "counters, alarms) left; they are kept: free disk or restore the uplink",
                ratio * 100,
            )
        self._over = ratio > 1.0

    # -- forwarding ----------------------------------------------------------
    def add_listener(self, fn: Callable[[], None]) -> None:
        """Call fn (no arguments) after every committed write (wakes the forwarder)."""
        self._listeners.append(fn)

    def peek(self, limit: int) -> list[tuple[int, str]]:
        """The oldest rows as (id, line), at most limit."""
        with self._lock:
            return self._db.execute(
                "SELECT id, line FROM outbox ORDER BY id LIMIT ?", (limit,)
            ).fetchall()

    def remove(self, first_id: int, last_id: int) -> int:
        """Delete rows first_id..last_id (after the database answered 2xx)."""
        return self._delete(
            "DELETE FROM outbox WHERE id BETWEEN ? AND ? RETURNING length(line)",
            (first_id, last_id),
        )

    def dead_letter(self, first_id: int, last_id: int, status: int, message: str) -> int:
        """Move rows first_id..last_id to the dead-letter table with the server's message."""
        now = time.time_ns() // 1_000_000
        with self._lock:
            db = self._db
            with immediate(db):
                cur = db.execute(
                    "INSERT INTO dead_letter (moved_ms, status, message, line) "
                    "SELECT ?, ?, ?, line FROM outbox WHERE id BETWEEN ? AND ? ORDER BY id",
                    (now, status, message, first_id, last_id),
                )
                n = cur.rowcount
                lengths = db.execute(
                    "DELETE FROM outbox WHERE id BETWEEN ? AND ? RETURNING length(line)",
                    (first_id, last_id),
                ).fetchall()
                freed = sum(r[0] for r in lengths) + ROW_OVERHEAD * len(lengths)
                db.execute("UPDATE stats SET value = value - ? WHERE key = 'bytes'", (freed,))
        return n

    def settle(self, first_id: int, last_id: int, dead: list[tuple[str, str]]) -> int:
        """Rows first_id..last_id were delivered except ``dead`` [(line, reason)], which
        the screen kept back (collector/forward/screen.py): in one transaction, keep
        those as dead letters (status 0) and delete the rows. Returns rows deleted."""
        now = time.time_ns() // 1_000_000
        with self._lock:
            db = self._db
            with immediate(db):
                db.executemany(
                    "INSERT INTO dead_letter (moved_ms, status, message, line) VALUES (?,0,?,?)",
                    [(now, reason, line) for line, reason in dead],
                )
                lengths = db.execute(
                    "DELETE FROM outbox WHERE id BETWEEN ? AND ? RETURNING length(line)",
                    (first_id, last_id),
                ).fetchall()
                freed = sum(r[0] for r in lengths) + ROW_OVERHEAD * len(lengths)
                db.execute("UPDATE stats SET value = value - ? WHERE key = 'bytes'", (freed,))
        return len(lengths)

    def requeue_dead_letters(self) -> int:
        """Move every dead-lettered row back into the outbox (after fixing the cause)."""
        with self._lock:
            db = self._db
            with immediate(db):
                rows = db.execute("SELECT line FROM dead_letter ORDER BY id").fetchall()
                now = time.time_ns() // 1_000_000
                db.executemany(
                    "INSERT INTO outbox (enqueued_ms, class, line) VALUES (?,?,?)",
                    [(now, PROTECTED, r[0]) for r in rows],
                )
                added = sum(len(r[0]) for r in rows) + ROW_OVERHEAD * len(rows)
                db.execute("UPDATE stats SET value = value + ? WHERE key = 'bytes'", (added,))
                db.execute("DELETE FROM dead_letter")
        return len(rows)

    # -- figures -------------------------------------------------------------
    def depth(self) -> int:
        """Rows waiting to be forwarded."""
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def oldest_age_s(self, now_ms: int | None = None) -> float:
        """Seconds the oldest waiting row has been in the outbox (0 when empty). [s]"""
        with self._lock:
            row = self._db.execute("SELECT enqueued_ms FROM outbox ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return 0.0
        now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        return max(0.0, (now - row[0]) / 1000)

    def dead_letters(self) -> list[tuple[int, str, str]]:
        """(status, message, line) of every dead-lettered row, oldest first."""
        with self._lock:
            return self._db.execute(
                "SELECT status, message, line FROM dead_letter ORDER BY id"
            ).fetchall()

    def register_metrics(self, metrics: Metrics) -> None:
        """Expose depth, oldest age, bytes and fill ratio as scrape-time gauges."""
        self.metrics = metrics
        metrics.describe(
            "pvledger_outbox_thinned_total",
            "counter",
            "power samples deleted from the outbox to stay in budget",
        )
        metrics.gauge_callback(
            "pvledger_outbox_depth", "rows waiting in the outbox", lambda: {(): float(self.depth())}
        )
        metrics.gauge_callback(
            "pvledger_outbox_oldest_age_seconds",
            "age of the oldest row waiting in the outbox",
            lambda: {(): self.oldest_age_s()},
        )
        metrics.gauge_callback(
            "pvledger_outbox_bytes",
            "bytes used by the outbox file",
            lambda: {(): float(self.used_bytes())},
        )
        metrics.gauge_callback(
            "pvledger_outbox_fill_ratio", "outbox bytes / budget", lambda: {(): self.fill_ratio()}
        )
