"""Demo-like data for the monitoring pages' tests, on a set clock (never the wall's hour).

The shipped Jizhou fleet (tests/web/server.make_site copies it): HISTORY_DAYS of hourly
simulated history, then today (DAY) every 5 minutes until NOW; the village array
v-shangxi stops at STOP (the simulator's "stop" fault: zero output, fault status) and the
real alert engine, stepped on the same clock, opens its no_output alerts. The server
reads the same instant through `serve --sim-clock` (a clock anchored at NOW).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
DAY = "2026-06-15"
HISTORY_DAYS = 12
STOPPED = "v-shangxi"
#: the village user of tests/web/server.USERS (vil1) sees only this village
OWN_VILLAGE = "dongpi"
OWN_STATION = "v-dongpi"


def local_ms(day: str, hour: int, minute: int = 0) -> int:
    """Site-local day and time as UTC ms."""
    t = dt.datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TZ)
    return int(t.timestamp() * 1000)


STOP_MS = local_ms(DAY, 9)
NOW_MS = local_ms(DAY, 13, 30)


def clock_file(site: Path) -> Path:
    """Where prepare() writes the clock anchor serve reads (--sim-clock)."""
    return site / "run" / "clock.json"


def prepare(site: Path) -> None:
    """Fill site/data with the store and alerts described above; write the clock anchor."""
    from alerts.engine import Engine
    from alerts.state import AlertDb
    from core.clock import ScaledClock
    from core.config import load_config
    from core.store import SqliteStore
    from simulator.backfill import backfill
    from simulator.faults import FaultBook, make_fault

    config = load_config(site / "config.yaml")
    store = SqliteStore(config.resolve(config.storage.path), timezone=config.site.timezone)
    day0 = local_ms(DAY, 0)
    try:
        backfill(config, store, day0 - HISTORY_DAYS * 86_400_000, day0, 3600, seed=3)
        book = FaultBook(
            [
                make_fault(
                    config,
                    {"kind": "stop", "station": STOPPED, "start": STOP_MS, "duration_s": 86_400},
                    0,
                )
            ]
        )
        backfill(config, store, day0, NOW_MS, 300, seed=3, faults=book)
        engine = Engine(config, store, AlertDb(config.resolve(config.alerts.db_path)))
        # the engine's own schedule, shortened: before the stop, then after for_s has passed
        for t in (STOP_MS - 600_000, NOW_MS - 3_600_000, NOW_MS):
            engine.step(t)
        engine.db.close()
    finally:
        store.close()
    # sim time runs at wall speed from NOW: a test's minutes do not change the day's picture
    path = clock_file(site)
    path.parent.mkdir(parents=True, exist_ok=True)
    ScaledClock.starting(NOW_MS, 1.0).save(path)


def open_alert_ids(site: Path, station: str) -> list[int]:
    """Ids of the open alerts of a station, from the alert database itself."""
    from alerts.state import AlertDb

    db = AlertDb(site / "data" / "alerts.db")
    try:
        return [a.id for a in db.open_alerts() if a.station == station]
    finally:
        db.close()


def alert_events(site: Path, alert_id: int) -> list[dict]:
    """An alert's events as the database holds them (event, ts_ms, payload)."""
    from alerts.state import AlertDb

    db = AlertDb(site / "data" / "alerts.db")
    try:
        return [
            {"event": e.event, "ts_ms": e.ts_ms, "payload": json.loads(json.dumps(e.payload))}
            for e in db.events_of(alert_id)
        ]
    finally:
        db.close()
