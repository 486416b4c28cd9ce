"""Embedded SQLite store: day partitions, idempotent upserts, a daily roll-up.

Why this shape (../shared/TECH-NOTES.md): readings arrive time-major (every
station once per cycle). One big index clustered by station collapses once it
outgrows the page cache, so samples go into one small WITHOUT ROWID table per
site-local day, keyed (series, ts): the current day's index stays hot and a
replayed sample overwrites itself. The daily roll-up (first/last good value
and the newest sample of each series per day) is upserted in the same
transaction, so revenue and "latest" queries never scan raw rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from zoneinfo import ZoneInfo

from core.reading import MEASUREMENT_PV, Quality, Reading, Sample
from core.sqlite_tx import immediate
from core.store.base import DayBounds, Store, StoreError

SCHEMA_VERSION = 2
_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    station TEXT NOT NULL, device TEXT NOT NULL, field TEXT NOT NULL,
    measurement TEXT NOT NULL, village TEXT NOT NULL, gateway TEXT NOT NULL,
    UNIQUE (station, device, field));
CREATE TABLE IF NOT EXISTS partitions (day INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS daily (
    series INTEGER NOT NULL, day INTEGER NOT NULL,
    first_ts INTEGER, first_value, last_ts INTEGER, last_value,
    seen_ts INTEGER NOT NULL, seen_value, seen_quality INTEGER NOT NULL,
    PRIMARY KEY (day, series)) WITHOUT ROWID;
-- day-major, so one cycle's roll-up updates touch a few contiguous pages (series-major
-- spreads them over the whole table: one page per series, growing every day); the
-- (series, day) index only changes when a series starts a new day
CREATE INDEX IF NOT EXISTS daily_series ON daily (series, day);
"""

# In an UPDATE, every right-hand side sees the old row, so the order of the
# assignments does not matter. first/last track GOOD values only; seen_* the
# newest sample of any quality (what a device last said).
_UPSERT_DAILY = """
INSERT INTO daily (series, day, first_ts, first_value, last_ts, last_value,
    seen_ts, seen_value, seen_quality) VALUES (?,?,?,?,?,?,?,?,?)
ON CONFLICT (day, series) DO UPDATE SET
  first_value = CASE WHEN excluded.first_ts IS NOT NULL
      AND (first_ts IS NULL OR excluded.first_ts <= first_ts)
      THEN excluded.first_value ELSE first_value END,
  first_ts = CASE WHEN excluded.first_ts IS NOT NULL
      AND (first_ts IS NULL OR excluded.first_ts <= first_ts)
      THEN excluded.first_ts ELSE first_ts END,
  last_value = CASE WHEN excluded.last_ts IS NOT NULL
      AND (last_ts IS NULL OR excluded.last_ts >= last_ts)
      THEN excluded.last_value ELSE last_value END,
  last_ts = CASE WHEN excluded.last_ts IS NOT NULL
      AND (last_ts IS NULL OR excluded.last_ts >= last_ts)
      THEN excluded.last_ts ELSE last_ts END,
  seen_value = CASE WHEN excluded.seen_ts >= seen_ts THEN excluded.seen_value
      ELSE seen_value END,
  seen_quality = CASE WHEN excluded.seen_ts >= seen_ts THEN excluded.seen_quality
      ELSE seen_quality END,
  seen_ts = max(seen_ts, excluded.seen_ts)
"""


class SqliteStore(Store):
    """The embedded default store in one SQLite file (WAL)."""

    def __init__(
        self,
        path: str | Path,
        *,
        timezone: str = "Asia/Shanghai",
        cache_mb: int = 64,
        readonly: bool = False,
    ):
        self.path = Path(path)
        self.tz = ZoneInfo(timezone)
        self._lock = threading.RLock()
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(
                f"{self.path}: no such store; run `pvledger collect` or "
                "`pvledger simulate --backfill` first"
            )
        uri = f"file:{self.path}?mode=ro" if readonly else str(self.path)
        try:
            self._db = sqlite3.connect(
                uri, uri=readonly, isolation_level=None, check_same_thread=False, timeout=30
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(f"PRAGMA cache_size=-{cache_mb * 1024}")
            self._db.execute("PRAGMA temp_store=MEMORY")
            # fewer, larger checkpoints: each one fsyncs the main file
            self._db.execute("PRAGMA wal_autocheckpoint=16384")
            if not readonly:
                self._db.executescript(_SCHEMA)
            self._check_version(readonly)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc})") from exc
        self._series: dict[tuple[str, str, str], int] = {}
        self._series_rev: dict[int, tuple[str, str, str]] = {}
        #: station -> its series ids: a station page reads a handful of a province's
        #: 120,000 series without scanning them all
        self._by_station: dict[str, list[int]] = {}
        self._partitions: set[int] = set()
        self._offsets: dict[int, int] = {}
        self._seen_version: int | None = None
        self._load_catalog()

    # -- setup ---------------------------------------------------------------
    def _check_version(self, readonly: bool) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            if readonly:
                raise StoreError(f"{self.path}: not a pvledger store (no schema version)")
            self._db.execute(
                "INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('timezone', ?)", (str(self.tz),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: schema version {row[0]}, this pvledger reads "
                f"{SCHEMA_VERSION}; upgrade pvledger or use a new file"
            )
        tz = self._db.execute("SELECT value FROM meta WHERE key='timezone'").fetchone()
        if tz and tz[0] != str(self.tz):
            raise StoreError(
                f"{self.path}: written with day boundaries in {tz[0]}, "
                f"not {self.tz}; keep site.timezone unchanged for one store"
            )

    def _load_catalog(self) -> None:
        by_station: dict[str, list[int]] = {}  # rebuilt whole: a reload sees every series
        for sid, st, dev, fld in self._db.execute("SELECT id, station, device, field FROM series"):
            self._series[(st, dev, fld)] = sid
            self._series_rev[sid] = (st, dev, fld)
            by_station.setdefault(st, []).append(sid)
        self._by_station = by_station
        self._partitions = {d for (d,) in self._db.execute("SELECT day FROM partitions")}

    # -- time ----------------------------------------------------------------
    def local_day(self, ts_ms: int) -> int:
        """Site-local date of a UTC timestamp, as YYYYMMDD."""
        hour = ts_ms // _HOUR_MS
        off = self._offsets.get(hour)
        if off is None:
            when = dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC)
            delta = self.tz.utcoffset(when.replace(tzinfo=None))
            off = int(delta.total_seconds() * 1000) if delta else 0
            self._offsets[hour] = off
        d = dt.date(1970, 1, 1) + dt.timedelta(days=(ts_ms + off) // _DAY_MS)
        return d.year * 10000 + d.month * 100 + d.day

    def day_start_ms(self, day: int) -> int:
        """UTC epoch ms of local midnight starting the day YYYYMMDD."""
        d = dt.datetime(day // 10000, day // 100 % 100, day % 100, tzinfo=self.tz)
        return int(d.timestamp() * 1000)

    # -- write ---------------------------------------------------------------
    def _series_id(self, r: Reading, fld: str) -> int:
        key = (r.station, r.device, fld)
        sid = self._series.get(key)
        if sid is None:
            cur = self._db.execute(
                "INSERT INTO series (station, device, field, measurement, village, gateway) "
                "VALUES (?,?,?,?,?,?)",
                (r.station, r.device, fld, r.measurement or MEASUREMENT_PV, r.village, r.gateway),
            )
            sid = int(cur.lastrowid or 0)
            self._series[key] = sid
            self._series_rev[sid] = key
            self._by_station.setdefault(r.station, []).append(sid)
        return sid

    def write(self, readings: Iterable[Reading]) -> int:
        """Upsert readings in one transaction; a failure leaves the store unchanged."""
        with self._lock:
            try:
                with immediate(self._db):
                    return self._write_locked(readings)
            except BaseException as exc:
                # keep the in-memory catalog in step with what the rollback undid
                self._series.clear()
                self._series_rev.clear()
                self._by_station.clear()
                self._load_catalog()
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(
                        f"{self.path}: write failed ({exc})",
                        transient=isinstance(exc, sqlite3.OperationalError),
                    ) from exc
                raise

    def _write_locked(self, readings: Iterable[Reading]) -> int:
        by_day: dict[int, list[tuple[int, int, object, int]]] = {}
        # (series, day) -> [first_ts, first_v, last_ts, last_v, seen_ts, seen_v, seen_q]
        roll: dict[tuple[int, int], list[object]] = {}
        sid_cache = self._series
        local_day = self.local_day
        n = 0
        good = Quality.GOOD
        implausible = Quality.IMPLAUSIBLE
        last_day_key = (-1, 0)
        for r in readings:
            ts = r.ts_ms
            if last_day_key[0] == ts // _HOUR_MS:
                day = last_day_key[1]
            else:
                day = local_day(ts)
                last_day_key = (ts // _HOUR_MS, day)
            rows = by_day.get(day)
            if rows is None:
                rows = by_day[day] = []
            qmap = r.quality
            for fld, value in r.values.items():
                sid = sid_cache.get((r.station, r.device, fld))
                if sid is None:
                    sid = self._series_id(r, fld)
                q = qmap.get(fld, good) if qmap else good
                if value is None and q == good:
                    q = Quality.DECODE_ERROR
                rows.append((sid, ts, value, int(q)))
                n += 1
                if q == implausible:
                    continue  # kept raw for the record; never a first/last/latest value
                key = (sid, day)
                acc = roll.get(key)
                ok = q == good and value is not None
                if acc is None:
                    roll[key] = [
                        ts if ok else None,
                        value if ok else None,
                        ts if ok else None,
                        value if ok else None,
                        ts,
                        value,
                        int(q),
                    ]
                    continue
                if ok:
                    if acc[0] is None or ts <= acc[0]:  # type: ignore[operator]
                        acc[0], acc[1] = ts, value
                    if acc[2] is None or ts >= acc[2]:  # type: ignore[operator]
                        acc[2], acc[3] = ts, value
                if ts >= acc[4]:  # type: ignore[operator]
                    acc[4], acc[5], acc[6] = ts, value, int(q)
        db = self._db
        for day, rows in by_day.items():
            if day not in self._partitions:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS s_{day} (series INTEGER NOT NULL, "
                    "ts INTEGER NOT NULL, value, quality INTEGER NOT NULL, "
                    "PRIMARY KEY (series, ts)) WITHOUT ROWID"
                )
                db.execute("INSERT OR IGNORE INTO partitions VALUES (?)", (day,))
                self._partitions.add(day)
            db.executemany(f"INSERT OR REPLACE INTO s_{day} VALUES (?,?,?,?)", rows)
        db.executemany(_UPSERT_DAILY, [(sid, day, *acc) for (sid, day), acc in roll.items()])
        return n

    # -- read ----------------------------------------------------------------
    def _select_series(
        self,
        stations: Sequence[str] | None,
        devices: Sequence[str] | None,
        fields: Sequence[str] | None,
    ) -> dict[int, tuple[str, str, str]]:
        dv = set(devices) if devices is not None else None
        fl = set(fields) if fields is not None else None
        if stations is None:
            candidates = self._series_rev.items()
        else:  # through the station index, not a scan of every series
            rev = self._series_rev
            candidates = (
                (sid, rev[sid]) for st in set(stations) for sid in self._by_station.get(st, ())
            )
        return {
            sid: key
            for sid, key in candidates
            if (dv is None or key[1] in dv) and (fl is None or key[2] in fl)
        }

    def _refresh(self) -> None:
        # another connection (the collector) may have added series or days; data_version
        # changes only when one committed, so a quiet store costs one pragma, not a reload
        with self._lock:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._seen_version:
                self._seen_version = version
                self._load_catalog()

    def series(
        self,
        *,
        stations: Sequence[str] | None = None,
        devices: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Sample]:
        """Raw samples over a time range (see Store.series)."""
        self._refresh()
        wanted = self._select_series(stations, devices, fields)
        if not wanted:
            return []
        lo = self.local_day(start_ms) if start_ms is not None else None
        hi = self.local_day(end_ms) if end_ms is not None else None
        days = sorted(
            d for d in self._partitions if (lo is None or d >= lo) and (hi is None or d <= hi)
        )
        meta = self._meta(wanted)
        out: list[Sample] = []
        ids = ",".join(str(s) for s in wanted)
        cond, args = "", []
        if start_ms is not None:
            cond += " AND ts >= ?"
            args.append(start_ms)
        if end_ms is not None:
            cond += " AND ts < ?"
            args.append(end_ms)
        with self._lock:
            for day in days:
                for sid, ts, value, q in self._db.execute(
                    f"SELECT series, ts, value, quality FROM s_{day} WHERE series IN ({ids}){cond}",
                    args,
                ):
                    st, dev, fld = wanted[sid]
                    m, v, g = meta[sid]
                    out.append(Sample(st, dev, fld, ts, value, Quality(q), m, v, g))
        out.sort(key=lambda s: (s.station, s.device, s.field, s.ts_ms))
        return out

    def _meta(self, wanted: dict[int, tuple[str, str, str]]) -> dict[int, tuple[str, str, str]]:
        ids = ",".join(str(s) for s in wanted)
        with self._lock:
            return {
                sid: (m, v, g)
                for sid, m, v, g in self._db.execute(
                    f"SELECT id, measurement, village, gateway FROM series WHERE id IN ({ids})"
                )
            }

    def latest(
        self, *, stations: Sequence[str] | None = None, devices: Sequence[str] | None = None
    ) -> list[Sample]:
        """Newest sample of each series, from the roll-up (no raw scan)."""
        self._refresh()
        wanted = self._select_series(stations, devices, None)
        if not wanted:
            return []
        meta = self._meta(wanted)
        ids = ",".join(str(s) for s in wanted)
        out = []
        with self._lock:
            rows = self._db.execute(
                "SELECT d.series, d.seen_ts, d.seen_value, d.seen_quality FROM daily d "
                "JOIN (SELECT series, max(day) AS day FROM daily "
                f"WHERE series IN ({ids}) GROUP BY series) m "
                "ON d.series = m.series AND d.day = m.day"
            ).fetchall()
        for sid, ts, value, q in rows:
            st, dev, fld = wanted[sid]
            m, v, g = meta[sid]
            out.append(Sample(st, dev, fld, ts, value, Quality(q), m, v, g))
        out.sort(key=lambda s: (s.station, s.device, s.field))
        return out

    def daily(
        self,
        *,
        fields: Sequence[str],
        start_day: int,
        end_day: int,
        stations: Sequence[str] | None = None,
    ) -> list[DayBounds]:
        """Roll-up rows (first/last good value per series and local day)."""
        self._refresh()
        wanted = self._select_series(stations, None, fields)
        if not wanted:
            return []
        ids = ",".join(str(s) for s in wanted)
        with self._lock:
            # (series, day) order comes from the daily_series index, no sort step; each
            # series' rows are then one run, and only the runs are put in name order
            rows = self._db.execute(
                "SELECT series, day, first_ts, first_value, last_ts, last_value FROM daily "
                f"WHERE series IN ({ids}) AND day BETWEEN ? AND ? ORDER BY series, day",
                (start_day, end_day),
            ).fetchall()
        runs = [(wanted[sid], list(run)) for sid, run in groupby(rows, key=itemgetter(0))]
        runs.sort(key=itemgetter(0))
        make = DayBounds._make
        return [make((*key, *row[1:])) for key, run in runs for row in run]

    def drop_raw_days_before(self, day: int) -> list[int]:
        """Drop the raw-sample partitions of local days before ``day`` (YYYYMMDD).

        Gateway retention: the daily roll-up (what revenue and alerts read) and the
        series catalog stay; only raw samples go. Returns the days dropped, oldest
        first. The caller decides which days the county has acknowledged.
        """
        with self._lock:
            self._refresh()
            old = sorted(d for d in self._partitions if d < day)
            if not old:
                return []
            with immediate(self._db):
                for d in old:
                    self._db.execute(f"DROP TABLE IF EXISTS s_{d}")
                self._db.executemany("DELETE FROM partitions WHERE day = ?", [(d,) for d in old])
            self._partitions.difference_update(old)
        return old

    def stats(self) -> dict[str, int]:
        """Series, partition and file-size figures for check/benchmarks."""
        self._refresh()
        size = self.path.stat().st_size if self.path.exists() else 0
        wal = self.path.with_name(self.path.name + "-wal")
        return {
            "series": len(self._series_rev),
            "days": len(self._partitions),
            "bytes": size + (wal.stat().st_size if wal.exists() else 0),
        }

    def close(self) -> None:
        """Checkpoint the WAL and close the file."""
        with self._lock:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            self._db.close()
