"""SQLite-specific store behaviour: atomic batches, schema stamp, reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.reading import Reading
from core.store import SqliteStore, StoreError

T0 = 1782835200000


def _r(i: int, total: object = None) -> Reading:
    return Reading("s1", "d1", T0 + i * 60_000, {"energy_total_wh": i if total is None else total})


class Boom(Exception):
    pass


def _exploding(n: int):
    for i in range(n):
        yield _r(i)
    raise Boom


def test_a_failed_batch_writes_nothing(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    store.write([_r(0)])
    with pytest.raises(Boom):
        store.write(_exploding(10))
    assert [s.value for s in store.series()] == [0]
    # the store stays usable, and series created in the failed batch are not half-known
    store.write([Reading("s2", "d2", T0, {"power_w": 1.0})])
    assert {s.station for s in store.series()} == {"s1", "s2"}
    store.close()


def test_unstorable_value_rolls_back_the_whole_batch(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.db")
    with pytest.raises(StoreError):
        store.write([_r(0), _r(1, total=object())])
    assert store.series() == []
    store.close()


def test_reopen_keeps_data_and_catalog(tmp_path: Path) -> None:
    p = tmp_path / "s.db"
    with SqliteStore(p) as s:
        s.write([_r(i) for i in range(3)])
    with SqliteStore(p) as s:
        s.write([_r(3)])
        assert [x.value for x in s.series()] == [0, 1, 2, 3]
        assert s.stats()["series"] == 1


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.db"
    SqliteStore(p).close()
    db = sqlite3.connect(p)
    db.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SqliteStore(p)


def test_changing_the_time_zone_of_a_store_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "s.db"
    SqliteStore(p, timezone="Asia/Shanghai").close()
    with pytest.raises(StoreError, match="day boundaries"):
        SqliteStore(p, timezone="UTC")


def test_readonly_open_of_a_missing_store_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no such store"):
        SqliteStore(tmp_path / "missing.db", readonly=True)


def test_a_reader_sees_what_another_connection_wrote(tmp_path: Path) -> None:
    p = tmp_path / "s.db"
    writer = SqliteStore(p)
    reader = SqliteStore(p, readonly=True)
    writer.write([_r(0)])
    assert [s.value for s in reader.series()] == [0]
    writer.write([Reading("s9", "d9", T0, {"power_w": 5.0})])
    assert {s.station for s in reader.latest()} == {"s1", "s9"}
    reader.close()
    writer.close()


def test_selecting_by_station_finds_exactly_its_series(tmp_path: Path) -> None:
    """The station index gives what a scan of every series gives: in this process's new
    series, after a failed batch's rollback, and in what another connection added."""
    p = tmp_path / "s.db"
    writer = SqliteStore(p)
    reader = SqliteStore(p, readonly=True)
    writer.write(
        [
            Reading(f"s{i % 3}", f"d{i}", T0, {"power_w": float(i), "energy_total_wh": i})
            for i in range(9)
        ]
    )
    with pytest.raises(Boom):
        writer.write(
            Reading("s0", "new", T0, {"power_w": 1.0}) if i else _r(0) for i in _boom_after(2)
        )
    writer.write([Reading("s1", "late", T0 + 60_000, {"power_w": 7.0})])
    for store in (writer, reader):
        for wanted in (["s0"], ["s1", "s2"], ["nope"], ["s1", "s1"]):
            got = {(s.station, s.device, s.field) for s in store.latest(stations=wanted)}
            scan = {(s.station, s.device, s.field) for s in store.latest() if s.station in wanted}
            assert got == scan
        assert ("s1", "late", "power_w") in {
            (s.station, s.device, s.field) for s in store.latest(stations=["s1"])
        }
        assert not any(s.device == "new" for s in store.latest(stations=["s0"]))
    reader.close()
    writer.close()


def _boom_after(n: int):
    yield from range(n)
    raise Boom
