"""Alert lifecycle in SQLite: pending -> firing -> resolved, with its history.

One row per occurrence of a (kind, subject) condition; at most one open row
(pending or firing) per key, so a condition seen on every evaluation is one
alert, not a storm. Transitions, the events they cause and the deliveries still
owed to each notifier are written in ONE transaction: after a crash or restart
nothing is forgotten and nothing already sent is sent again (a delivery that
had not been confirmed is retried).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from core.sqlite_tx import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, subject TEXT NOT NULL,
    station TEXT, village TEXT, device TEXT, gateway TEXT,
    state TEXT NOT NULL CHECK (state IN ('pending', 'firing', 'resolved')),
    since_ms INTEGER NOT NULL, opened_ms INTEGER NOT NULL,
    fired_ms INTEGER, resolved_ms INTEGER,
    last_seen_ms INTEGER NOT NULL, clear_since_ms INTEGER,
    seen TEXT NOT NULL DEFAULT '{}',
    acked_ms INTEGER, ack_note TEXT,
    last_notified_ms INTEGER, notify_count INTEGER NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_open ON alerts (kind, subject)
    WHERE state != 'resolved';
CREATE INDEX IF NOT EXISTS alerts_opened ON alerts (opened_ms);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, alert_id INTEGER NOT NULL REFERENCES alerts (id),
    ts_ms INTEGER NOT NULL, event TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    event_id INTEGER NOT NULL REFERENCES events (id), notifier TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, sent_ms INTEGER, error TEXT,
    PRIMARY KEY (event_id, notifier)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: events that are sent to notifiers (an ack is recorded, not sent)
NOTIFIED_EVENTS = ("firing", "resolved", "reminder")


@dataclass(frozen=True)
class Finding:
    """A rule's condition for one subject at one evaluation, ready for the lifecycle."""

    kind: str
    subject: str
    since_ms: int
    for_s: float
    seen: dict[str, Any] = field(default_factory=dict)
    station: str | None = None
    village: str | None = None
    device: str | None = None
    gateway: str | None = None
    #: under a village_outage / gateway_silent: keeps an open alert alive, opens none
    suppressed: bool = False


@dataclass(frozen=True)
class Alert:
    """One alert occurrence as stored."""

    id: int
    kind: str
    subject: str
    station: str | None
    village: str | None
    device: str | None
    gateway: str | None
    state: str
    since_ms: int
    opened_ms: int
    fired_ms: int | None
    resolved_ms: int | None
    last_seen_ms: int
    clear_since_ms: int | None
    seen: dict[str, Any]
    acked_ms: int | None
    ack_note: str | None
    last_notified_ms: int | None
    notify_count: int

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON output)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class Event:
    """A transition that notifiers hear about (payload built when it happened)."""

    id: int
    alert_id: int
    ts_ms: int
    event: str
    payload: dict[str, Any]


_COLS = [f.name for f in fields(Alert)]

#: builds an event's payload: (alert after the transition, event name, now [ms]) -> dict
Describe = Callable[[Alert, str, int], dict[str, Any]]


class AlertDb:
    """The lifecycle database (one SQLite file, WAL; safe to share between threads)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(alerts)")}
        if "origin" not in cols:  # files made before gateways forwarded their events
            self._db.execute("ALTER TABLE alerts ADD COLUMN origin TEXT")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one immediate transaction (for alerts/remote.py)."""
        with self._lock, immediate(self._db):
            yield self._db

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    # -- reading -------------------------------------------------------------------------
    def _rows(self, where: str = "", args: Sequence[Any] = ()) -> list[Alert]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLS)} FROM alerts {where} ORDER BY id", args
            ).fetchall()
        out = []
        for r in rows:
            d = dict(zip(_COLS, r, strict=True))
            d["seen"] = json.loads(d["seen"])
            out.append(Alert(**d))
        return out

    def get(self, alert_id: int) -> Alert | None:
        """One alert by id."""
        rows = self._rows("WHERE id = ?", (alert_id,))
        return rows[0] if rows else None

    def open_alerts(self) -> list[Alert]:
        """Pending and firing alerts."""
        return self._rows("WHERE state != 'resolved'")

    def alerts(
        self, *, open_only: bool = False, since_ms: int | None = None, station: str | None = None
    ) -> list[Alert]:
        """History: every alert (or only open ones) opened or still open since since_ms
        (only those of one station when station is given)."""
        cond, args = [], []
        if open_only:
            cond.append("state != 'resolved'")
        if station is not None:
            cond.append("station = ?")
            args.append(station)
        if since_ms is not None:
            cond.append("(opened_ms >= ? OR resolved_ms IS NULL OR resolved_ms >= ?)")
            args += [since_ms, since_ms]
        return self._rows(("WHERE " + " AND ".join(cond)) if cond else "", args)

    def events(self, *, since_ms: int | None = None) -> list[Event]:
        """Events in order (since_ms inclusive)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, alert_id, ts_ms, event, payload FROM events WHERE ts_ms >= ? "
                "ORDER BY id",
                (since_ms if since_ms is not None else -(2**62),),
            ).fetchall()
        return [Event(i, a, t, e, json.loads(p)) for i, a, t, e, p in rows]

    def events_of(self, alert_id: int) -> list[Event]:
        """One alert's events in order: the evidence the engine recorded, and staff actions."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, alert_id, ts_ms, event, payload FROM events WHERE alert_id = ? "
                "ORDER BY id",
                (alert_id,),
            ).fetchall()
        return [Event(i, a, t, e, json.loads(p)) for i, a, t, e, p in rows]

    # -- the lifecycle -------------------------------------------------------------------
    def apply(
        self,
        findings: Iterable[Finding],
        *,
        now_ms: int,
        kinds: Iterable[str],
        clear_s: dict[str, float],
        renotify_s: float,
        notifiers: Sequence[str],
        describe: Describe,
    ) -> list[Event]:
        """Advance every open alert of the evaluated kinds by one evaluation.

        findings: the conditions seen now. kinds: the kinds evaluated (open alerts
        of other kinds are left alone). clear_s: hysteresis per kind [s]. Returns
        the events created (already queued for each name in notifiers).
        """
        kinds = set(kinds)
        with self._lock, immediate(self._db):
            events = self._apply_locked(
                list(findings), now_ms, kinds, clear_s, renotify_s, notifiers, describe
            )
        return events

    def _apply_locked(
        self,
        findings: list[Finding],
        now: int,
        kinds: set[str],
        clear_s: dict[str, float],
        renotify_s: float,
        notifiers: Sequence[str],
        describe: Describe,
    ) -> list[Event]:
        db = self._db
        # an open alert a gateway raised and forwarded (alerts/remote.py) is the gateway's:
        # its events say when it fires and resolves, this evaluation neither resolves it
        # nor opens a second one for the same (kind, subject)
        remote = set(
            db.execute(
                "SELECT kind, subject FROM alerts WHERE state != 'resolved' AND origin IS NOT NULL"
            ).fetchall()
        )
        open_rows = {
            (a.kind, a.subject): a
            for a in self.open_alerts()
            if a.kind in kinds and (a.kind, a.subject) not in remote
        }
        events: list[Event] = []
        seen_keys = set()
        for f in findings:
            key = (f.kind, f.subject)
            if key in remote:
                continue
            seen_keys.add(key)
            row = open_rows.get(key)
            seen = json.dumps(f.seen, ensure_ascii=False, sort_keys=True)
            if row is None:
                if f.suppressed:
                    continue
                fires = now - f.since_ms >= f.for_s * 1000
                cur = db.execute(
                    "INSERT INTO alerts (kind, subject, station, village, device, gateway, "
                    "state, since_ms, opened_ms, fired_ms, last_seen_ms, seen) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        f.kind,
                        f.subject,
                        f.station,
                        f.village,
                        f.device,
                        f.gateway,
                        "firing" if fires else "pending",
                        f.since_ms,
                        now,
                        now if fires else None,
                        now,
                        seen,
                    ),
                )
                if fires:
                    events.append(
                        self._event(int(cur.lastrowid or 0), "firing", now, notifiers, describe)
                    )
                continue
            # a hold keeps the alert alive but says less: keep what the full rule saw
            db.execute(
                "UPDATE alerts SET last_seen_ms = ?, clear_since_ms = NULL, "
                "seen = CASE WHEN ? THEN seen ELSE ? END WHERE id = ?",
                (now, f.suppressed, seen, row.id),
            )
            if row.state == "pending":
                if not f.suppressed and f.since_ms != row.since_ms:
                    # not yet confirmed: it counts from where the condition stands now (a
                    # logger heard between two silences starts a new silence), so gaps
                    # shorter than for_s never add up to an alert
                    db.execute("UPDATE alerts SET since_ms = ? WHERE id = ?", (f.since_ms, row.id))
                if not f.suppressed and now - f.since_ms >= f.for_s * 1000:
                    db.execute(
                        "UPDATE alerts SET state = 'firing', fired_ms = ? WHERE id = ?",
                        (now, row.id),
                    )
                    events.append(self._event(row.id, "firing", now, notifiers, describe))
            elif (
                row.acked_ms is None
                and not f.suppressed
                and row.last_notified_ms is not None
                and now - row.last_notified_ms >= renotify_s * 1000
            ):
                events.append(self._event(row.id, "reminder", now, notifiers, describe))
        for key, row in open_rows.items():
            if key in seen_keys:
                continue
            if row.state == "pending":
                # never fired: nobody was told, so it leaves no history
                db.execute("DELETE FROM alerts WHERE id = ?", (row.id,))
                continue
            clear_from = row.clear_since_ms if row.clear_since_ms is not None else now
            if row.clear_since_ms is None:
                db.execute("UPDATE alerts SET clear_since_ms = ? WHERE id = ?", (now, row.id))
            if now - clear_from >= clear_s.get(row.kind, 0) * 1000:
                db.execute(
                    "UPDATE alerts SET state = 'resolved', resolved_ms = ? WHERE id = ?",
                    (now, row.id),
                )
                events.append(self._event(row.id, "resolved", now, notifiers, describe))
        return events

    def _event(
        self, alert_id: int, name: str, now: int, notifiers: Sequence[str], describe: Describe
    ) -> Event:
        alert = self.get(alert_id)
        assert alert is not None
        payload = describe(alert, name, now)
        cur = self._db.execute(
            "INSERT INTO events (alert_id, ts_ms, event, payload) VALUES (?,?,?,?)",
            (alert_id, now, name, json.dumps(payload, ensure_ascii=False)),
        )
        eid = int(cur.lastrowid or 0)
        self.queue(eid, alert_id, name, now, notifiers)
        return Event(eid, alert_id, now, name, payload)

    def queue(
        self, event_id: int, alert_id: int, name: str, now: int, notifiers: Sequence[str]
    ) -> None:
        """Owe a notified event to each notifier (inside the caller's transaction)."""
        if name in NOTIFIED_EVENTS:
            self._db.execute(
                "UPDATE alerts SET last_notified_ms = ?, notify_count = notify_count + 1 "
                "WHERE id = ?",
                (now, alert_id),
            )
            self._db.executemany(
                "INSERT INTO deliveries (event_id, notifier) VALUES (?, ?)",
                [(event_id, n) for n in notifiers],
            )

    def drop_pending(self) -> int:
        """Delete the pending alerts nobody acknowledged; returns how many.

        For an evaluator that stops: a pending alert is a condition seen but not yet
        confirmed, kept only while evaluations keep seeing it, and nobody was told. With
        no evaluation left to confirm or clear it, it would stand as if still watched;
        the next evaluator finds again whatever the data still shows.
        """
        with self._lock, immediate(self._db):
            cur = self._db.execute(
                "DELETE FROM alerts WHERE state = 'pending' AND acked_ms IS NULL"
            )
        return cur.rowcount

    def ack(
        self, alert_id: int, *, now_ms: int, note: str | None = None, by: str | None = None
    ) -> Alert:
        """Acknowledge an alert (stops reminders); raises KeyError for an unknown id.

        by: who acknowledged (a web user); the command line leaves it out.
        """
        with self._lock:
            alert = self.get(alert_id)
            if alert is None:
                raise KeyError(alert_id)
            payload: dict[str, Any] = {"note": note}
            if by is not None:
                payload["by"] = by
            with immediate(self._db):
                self._db.execute(
                    "UPDATE alerts SET acked_ms = ?, ack_note = ? WHERE id = ?",
                    (now_ms, note, alert_id),
                )
                self._action_event(alert_id, now_ms, "ack", payload)
            got = self.get(alert_id)
            assert got is not None
            return got

    def assign(self, alert_id: int, *, now_ms: int, to: str, by: str | None = None) -> Alert:
        """Record who is to handle an alert (an "assign" event; the latest one counts).

        Raises KeyError for an unknown id. Nothing is sent: assignment is bookkeeping for
        the O&M team; work orders (alerts/workorders) keep their own assignee.
        """
        with self._lock:
            if self.get(alert_id) is None:
                raise KeyError(alert_id)
            with immediate(self._db):
                self._action_event(alert_id, now_ms, "assign", {"to": to, "by": by})
            got = self.get(alert_id)
            assert got is not None
            return got

    def resolve_by_hand(
        self, alert_id: int, *, now_ms: int, note: str | None = None, by: str | None = None
    ) -> Alert:
        """Close an open alert by hand (a "resolved_by_hand" event, not sent to notifiers).

        Raises KeyError for an unknown id and ValueError when it is already resolved. If
        the engine still sees the condition, its next evaluation opens a new alert.
        """
        with self._lock:
            alert = self.get(alert_id)
            if alert is None:
                raise KeyError(alert_id)
            if alert.state == "resolved":
                raise ValueError(f"alert {alert_id} is already resolved")
            with immediate(self._db):
                self._db.execute(
                    "UPDATE alerts SET state = 'resolved', resolved_ms = ? WHERE id = ?",
                    (now_ms, alert_id),
                )
                self._action_event(alert_id, now_ms, "resolved_by_hand", {"note": note, "by": by})
            got = self.get(alert_id)
            assert got is not None
            return got

    def _action_event(self, alert_id: int, now_ms: int, name: str, payload: dict) -> None:
        # inside the caller's transaction; staff actions are recorded, never notified
        self._db.execute(
            "INSERT INTO events (alert_id, ts_ms, event, payload) VALUES (?,?,?,?)",
            (alert_id, now_ms, name, json.dumps(payload, ensure_ascii=False)),
        )

    # -- deliveries ----------------------------------------------------------------------
    def undelivered(self, notifier: str, *, max_attempts: int = 50) -> list[Event]:
        """Events still owed to one notifier, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT e.id, e.alert_id, e.ts_ms, e.event, e.payload FROM deliveries d "
                "JOIN events e ON e.id = d.event_id WHERE d.notifier = ? AND d.sent_ms IS NULL "
                "AND d.attempts < ? ORDER BY e.id",
                (notifier, max_attempts),
            ).fetchall()
        return [Event(i, a, t, e, json.loads(p)) for i, a, t, e, p in rows]

    def delivered(self, event_id: int, notifier: str, *, now_ms: int) -> None:
        """Record a confirmed delivery."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET sent_ms = ?, attempts = attempts + 1, error = NULL "
                "WHERE event_id = ? AND notifier = ?",
                (now_ms, event_id, notifier),
            )

    def skipped(self, event_id: int, notifier: str, *, now_ms: int, reason: str) -> None:
        """Record that routing keeps an event from a notifier (settled, never sent):
        sent_ms set with the reason in error, so it is owed no more and says why."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET sent_ms = ?, error = ? WHERE event_id = ? AND notifier = ?",
                (now_ms, f"not sent: {reason}"[:500], event_id, notifier),
            )

    def failed(self, event_id: int, notifier: str, error: str) -> None:
        """Record a failed attempt (retried on the next round)."""
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, error = ? "
                "WHERE event_id = ? AND notifier = ?",
                (error[:500], event_id, notifier),
            )

    # -- small persistent settings ---------------------------------------------------------
    def meta(self, key: str) -> str | None:
        """A stored setting (e.g. the day of the last digest)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting."""
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
