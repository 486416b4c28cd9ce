"""Gateway retention: raw days leave the SQLite store only when older than
storage.raw_retention_days AND the county acknowledged them (nothing of that day or
later waits in the real outbox or its dead letters); the daily roll-up stays."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from collector.forward.outbox import Outbox
from core.config import load_config
from core.reading import Reading
from core.store import SqliteStore
from pvledger.backup import apply_retention
from pvledger.cli import main

TZ = ZoneInfo("Asia/Shanghai")
TODAY = dt.date(2026, 12, 1)  # set explicitly: nothing here depends on the wall clock


def _noon_ms(d: dt.date) -> int:
    return int(dt.datetime(d.year, d.month, d.day, 12, tzinfo=TZ).timestamp() * 1000)


def _reading(d: dt.date, wh: int) -> Reading:
    return Reading("s-1", "s-1-inv", _noon_ms(d), {"energy_total_wh": wh, "power_w": 100})


def _gateway(tmp_path: Path, retention_days: int) -> tuple:
    raw = {
        "site": {"name": "t", "timezone": "Asia/Shanghai", "latitude": 27.1, "longitude": 115.0},
        "storage": {
            "backend": "victoriametrics",
            "url": "http://127.0.0.1:9",  # never contacted: retention only reads the outbox
            "path": "data/pvledger.db",
            "outbox_path": "data/outbox.db",
            "raw_retention_days": retention_days,
        },
        "villages": [{"id": "v", "name": "v"}],
        "households": [],
        "stations": [],
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(raw))
    cfg = load_config(tmp_path / "config.yaml")
    return cfg, cfg.resolve("data/pvledger.db"), cfg.resolve("data/outbox.db")


def _days(store_path: Path) -> list[int]:
    con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    try:
        days = sorted(d for (d,) in con.execute("SELECT day FROM partitions"))
        tables = sorted(
            int(n[2:])
            for (n,) in con.execute("SELECT name FROM sqlite_master WHERE name GLOB 's_*'")
        )
    finally:
        con.close()
    assert days == tables, "a dropped day leaves neither its table nor its catalog row"
    return days


def _num(d: dt.date) -> int:
    return d.year * 10000 + d.month * 100 + d.day


def test_days_go_only_after_the_county_acknowledged_them(tmp_path: Path) -> None:
    cfg, store_path, outbox_path = _gateway(tmp_path, 7)
    days = [TODAY - dt.timedelta(days=n) for n in range(40, 0, -1)]
    store = SqliteStore(store_path, timezone="Asia/Shanghai")
    store.write(_reading(d, 1000 * i) for i, d in enumerate(days))
    store.close()
    # no outbox yet: nothing is known to be acknowledged, nothing goes
    assert apply_retention(cfg, today=TODAY) == []
    outbox = Outbox(outbox_path)
    try:
        waiting = TODAY - dt.timedelta(days=20)
        outbox.write([_reading(waiting, 5)])  # the uplink is down since 20 days
        dropped = apply_retention(cfg, today=TODAY)
        assert dropped == [_num(d) for d in days if d < waiting]
        assert _days(store_path)[0] == _num(waiting)
        # a refused (dead-lettered) reading is not acknowledged either
        first, last = (r[0] for r in (outbox.peek(1)[0], outbox.peek(100)[-1]))
        assert outbox.dead_letter(first, last, 400, "bad line") >= 1
        assert apply_retention(cfg, today=TODAY) == []
        outbox.requeue_dead_letters()
        # the county acknowledged everything: only the retention window stays
        for row_id, _line in outbox.peek(100):
            outbox.remove(row_id, row_id)
        assert outbox.depth() == 0
        dropped = apply_retention(cfg, today=TODAY)
        keep_from = TODAY - dt.timedelta(days=7)
        assert dropped == [_num(d) for d in days if waiting <= d < keep_from]
        assert _days(store_path) == [_num(d) for d in days if d >= keep_from]
    finally:
        outbox.close()
    store = SqliteStore(store_path, timezone="Asia/Shanghai")
    try:
        # the roll-up (what revenue and alerts read) still has every day
        rows = store.daily(fields=["energy_total_wh"], start_day=0, end_day=99_999_999)
        assert [b.day for b in rows] == [_num(d) for d in days]
        assert [b.last_value for b in rows] == [1000 * i for i in range(len(days))]
        assert all(s.ts_ms >= _noon_ms(keep_from) for s in store.series())
    finally:
        store.close()


def test_nightly_backup_applies_the_retention(tmp_path: Path, capsys) -> None:
    cfg, store_path, outbox_path = _gateway(tmp_path, 7)
    now = dt.datetime.now(TZ).date()  # the command uses today; margins of days, not hours
    old, recent = now - dt.timedelta(days=40), now - dt.timedelta(days=2)
    store = SqliteStore(store_path, timezone="Asia/Shanghai")
    store.write([_reading(old, 1), _reading(recent, 2)])
    store.close()
    Outbox(outbox_path).close()  # forwarded everything
    code = main(["-c", str(cfg.path), "backup", str(tmp_path / "b")])
    assert code == 0
    assert "raw readings dropped" in capsys.readouterr().out
    assert _days(store_path) == [_num(recent)]
    # the backup taken first still holds the dropped day
    (backup,) = (tmp_path / "b").iterdir()
    assert _days(backup / "data" / "pvledger.db") == [_num(old), _num(recent)]
