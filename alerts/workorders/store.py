"""Work orders and the caretaker log in SQLite (om.db_path, default data/workorders.db).

``orders`` holds each order's current record; ``order_events`` its append-only history
(triggers refuse UPDATE and DELETE there); ``order_alerts`` which alerts each order
covers (an alert id appears once: an engine restart never opens a second order for it);
``inspections`` the caretaker log (管护台账). A change of an order and its history entry
are written in one transaction.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

from alerts.workorders.model import ACTIVE, OrderEvent, WorkOrder
from core.sqlite_tx import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, station TEXT, village TEXT,
    alert_id INTEGER, opened_ms INTEGER NOT NULL, opened_by TEXT NOT NULL,
    fault_start_ms INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN
        ('open', 'assigned', 'on_site', 'repaired', 'verified', 'reopened')),
    assignee TEXT, level INTEGER NOT NULL DEFAULT 0, onsite_ms INTEGER,
    repaired_ms INTEGER, repaired_by TEXT, repair_note TEXT,
    verified_ms INTEGER, restored_ms INTEGER,
    reopened_count INTEGER NOT NULL DEFAULT 0, lost_wh INTEGER, lost_fen INTEGER,
    updated_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS orders_station ON orders (station, state);
CREATE TABLE IF NOT EXISTS order_alerts (
    alert_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id));
CREATE TABLE IF NOT EXISTS order_events (
    id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders (id),
    ts_ms INTEGER NOT NULL, event TEXT NOT NULL, actor TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS order_events_no_update BEFORE UPDATE ON order_events
    BEGIN SELECT RAISE(ABORT, 'work order history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS order_events_no_delete BEFORE DELETE ON order_events
    BEGIN SELECT RAISE(ABORT, 'work order history is append-only'); END;
CREATE TABLE IF NOT EXISTS inspections (
    id INTEGER PRIMARY KEY, station TEXT NOT NULL, day TEXT NOT NULL,
    person TEXT NOT NULL, what TEXT NOT NULL, photo TEXT, recorded_ms INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS inspections_station ON inspections (station, day);
"""

_COLS = [f.name for f in fields(WorkOrder)]


class WorkOrderDb:
    """The work order file (WAL; safe to share between threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    # -- orders ------------------------------------------------------------------------
    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[WorkOrder]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLS)} FROM orders {where} ORDER BY id", args
            ).fetchall()
        return [WorkOrder(**dict(zip(_COLS, r, strict=True))) for r in rows]

    def get(self, order_id: int) -> WorkOrder | None:
        """One order by id."""
        rows = self._rows("WHERE id = ?", (order_id,))
        return rows[0] if rows else None

    def orders(
        self, *, station: str | None = None, states: tuple[str, ...] | None = None
    ) -> list[WorkOrder]:
        """Orders, oldest first, optionally of one station and some states."""
        cond, args = [], []
        if station is not None:
            cond.append("station = ?")
            args.append(station)
        if states is not None:
            cond.append(f"state IN ({', '.join('?' * len(states))})")
            args += list(states)
        return self._rows(("WHERE " + " AND ".join(cond)) if cond else "", tuple(args))

    def active_for(self, station: str | None, village: str | None) -> WorkOrder | None:
        """The order still open (not verified) for a station, or for a village's order."""
        states = (*ACTIVE, "repaired")
        q = f"state IN ({', '.join('?' * len(states))})"
        if station is not None:
            rows = self._rows(f"WHERE {q} AND station = ?", (*states, station))
        else:
            rows = self._rows(f"WHERE {q} AND station IS NULL AND village = ?", (*states, village))
        return rows[0] if rows else None

    def has_alert(self, alert_id: int) -> bool:
        """Whether an alert already belongs to an order."""
        with self._lock:
            return (
                self._db.execute(
                    "SELECT 1 FROM order_alerts WHERE alert_id = ?", (alert_id,)
                ).fetchone()
                is not None
            )

    def alert_ids(self, order_id: int) -> list[int]:
        """The alerts an order covers."""
        with self._lock:
            return [
                r[0]
                for r in self._db.execute(
                    "SELECT alert_id FROM order_alerts WHERE order_id = ? ORDER BY alert_id",
                    (order_id,),
                )
            ]

    def open_order(
        self,
        *,
        kind: str,
        station: str | None,
        village: str | None,
        fault_start_ms: int,
        now_ms: int,
        opened_by: str,
        alert_id: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> WorkOrder:
        """Create an order (state open) and its first history entry."""
        with self._lock, immediate(self._db):
            cur = self._db.execute(
                "INSERT INTO orders (kind, station, village, alert_id, opened_ms, opened_by, "
                "fault_start_ms, state, updated_ms) VALUES (?,?,?,?,?,?,?, 'open', ?)",
                (kind, station, village, alert_id, now_ms, opened_by, fault_start_ms, now_ms),
            )
            oid = int(cur.lastrowid or 0)
            if alert_id is not None:
                self._db.execute(
                    "INSERT INTO order_alerts (alert_id, order_id) VALUES (?, ?)", (alert_id, oid)
                )
            self._append(OrderEvent(oid, now_ms, "opened", opened_by, dict(detail or {})))
        got = self.get(oid)
        assert got is not None
        return got

    def link_alert(self, order_id: int, alert_id: int, *, now_ms: int, kind: str) -> None:
        """Record that an alert belongs to an existing order (no second order for it)."""
        with self._lock, immediate(self._db):
            self._db.execute(
                "INSERT OR IGNORE INTO order_alerts (alert_id, order_id) VALUES (?, ?)",
                (alert_id, order_id),
            )
            self._append(
                OrderEvent(
                    order_id, now_ms, "alert", "alerts", {"alert_id": alert_id, "kind": kind}
                )
            )

    def save(self, order: WorkOrder, event: OrderEvent) -> WorkOrder:
        """Store an order's new record (model.transition / escalate) with its history entry."""
        values = [getattr(order, c) for c in _COLS if c != "id"]
        sets = ", ".join(f"{c} = ?" for c in _COLS if c != "id")
        with self._lock, immediate(self._db):
            self._db.execute(f"UPDATE orders SET {sets} WHERE id = ?", (*values, order.id))
            self._append(event)
        return order

    def set_loss(self, order_id: int, lost_wh: int | None, lost_fen: int | None) -> None:
        """Store the order's lost energy and income (an estimate, recomputed until verified)."""
        with self._lock:
            self._db.execute(
                "UPDATE orders SET lost_wh = ?, lost_fen = ? WHERE id = ?",
                (lost_wh, lost_fen, order_id),
            )

    def _append(self, ev: OrderEvent) -> None:
        self._db.execute(
            "INSERT INTO order_events (order_id, ts_ms, event, actor, detail) VALUES (?,?,?,?,?)",
            (ev.order_id, ev.ts_ms, ev.event, ev.actor, json.dumps(ev.detail, ensure_ascii=False)),
        )

    def history(self, order_id: int) -> list[OrderEvent]:
        """An order's history, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT order_id, ts_ms, event, actor, detail FROM order_events "
                "WHERE order_id = ? ORDER BY id",
                (order_id,),
            ).fetchall()
        return [OrderEvent(o, t, e, a, json.loads(d)) for o, t, e, a, d in rows]

    # -- caretaker log -------------------------------------------------------------------
    def add_inspection(
        self, *, station: str, day: str, person: str, what: str, photo: str | None, now_ms: int
    ) -> int:
        """Record one inspection or cleaning; returns its id."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO inspections (station, day, person, what, photo, recorded_ms) "
                "VALUES (?,?,?,?,?,?)",
                (station, day, person, what, photo, now_ms),
            )
        return int(cur.lastrowid or 0)

    def inspections(
        self, *, station: str | None = None, person: str | None = None
    ) -> list[dict[str, Any]]:
        """Log entries, by date, optionally of one station or one person."""
        cond, args = [], []
        if station is not None:
            cond.append("station = ?")
            args.append(station)
        if person is not None:
            cond.append("person = ?")
            args.append(person)
        where = ("WHERE " + " AND ".join(cond)) if cond else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT id, station, day, person, what, photo, recorded_ms FROM inspections "
                f"{where} ORDER BY day, id",
                tuple(args),
            ).fetchall()
        keys = ("id", "station", "day", "person", "what", "photo", "recorded_ms")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def last_inspection_days(self) -> dict[str, str]:
        """station -> the date of its last inspection (YYYY-MM-DD)."""
        with self._lock:
            return dict(
                self._db.execute("SELECT station, MAX(day) FROM inspections GROUP BY station")
            )
