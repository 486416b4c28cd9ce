"""Shared helpers: a case folder copied to tmp, its readings written into a real SqliteStore."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

from core.config import Config, load_config
from core.reading import Reading
from core.store import SqliteStore, open_store

CASES = Path(__file__).parent / "cases"
TZ = ZoneInfo("Asia/Shanghai")


def local_ms(text: str) -> int:
    """'2026-07-01 00:00' in Asia/Shanghai -> UTC epoch ms."""
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp() * 1000)


def setup_case(name: str, tmp: Path) -> Config:
    """Copy a case folder to tmp, load its config and write its readings into the store."""
    dst = tmp / name
    shutil.copytree(CASES / name, dst)
    cfg = load_config(dst / "config.yaml")
    rows = list(csv.DictReader((dst / "readings.csv").open(encoding="utf-8")))
    with open_store(cfg) as store:
        write_rows(store, rows)
    return cfg


def write_rows(store: SqliteStore, rows: list[dict]) -> None:
    """Write reading rows (station, device, field, measurement, local_time, value)."""
    store.write(
        Reading(
            r["station"],
            r["device"],
            local_ms(r["local_time"]),
            {r["field"]: int(r["value"])},
            measurement=r.get("measurement") or "pv",
        )
        for r in rows
    )


def read_csv(data: bytes) -> list[dict]:
    """CSV bytes (UTF-8 with BOM) -> rows."""
    assert data.startswith("\ufeff".encode()), "CSV must start with a UTF-8 BOM"
    return list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
