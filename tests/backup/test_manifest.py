"""Pure backup logic: folder names, pruning, the manifest check, the retention cut-off."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core import backup as bk
from core.retention import cutoff_day, day_number

NOW = dt.datetime(2026, 12, 1, 19, 0, 5, tzinfo=dt.UTC)


def test_folder_names_sort_by_time_and_never_collide() -> None:
    first = bk.folder_name(NOW)
    assert first == "pvledger-20261201T190005Z"
    taken = [first]
    for _ in range(11):
        taken.append(bk.folder_name(NOW, taken))
    assert len(set(taken)) == 12
    later = bk.folder_name(NOW + dt.timedelta(seconds=1))
    # -10 sorts after -9 and everything sorts before the next second
    assert bk.backup_names([later, *reversed(taken)]) == [*taken, later]


def test_prune_keeps_the_newest_and_ignores_other_names() -> None:
    names = [bk.folder_name(NOW + dt.timedelta(days=d)) for d in range(5)]
    others = [".partial-" + names[0], "notes.txt", "pvledger-latest"]
    assert bk.prune_plan([*others, *names], 2) == names[:3]
    assert bk.prune_plan(names, 9) == []
    with pytest.raises(ValueError):
        bk.prune_plan(names, 0)


def _folder(tmp_path: Path) -> tuple[Path, dict]:
    f = tmp_path / "b"
    (f / "data").mkdir(parents=True)
    (f / "data" / "a.db").write_bytes(b"abc" * 1000)
    (f / "runs").mkdir()
    (f / "runs" / "x.csv").write_text("k,v\n1,2\n")
    files = [bk.entry_for(f, "data/a.db", "store"), bk.entry_for(f, "runs/x.csv", "run-final")]
    m = bk.manifest_dict(created_utc="t", config="c", files=files, ledger=None)
    bk.write_manifest(f, m)
    return f, bk.read_manifest(f)


def test_check_files_names_every_kind_of_damage(tmp_path: Path) -> None:
    f, m = _folder(tmp_path)
    assert bk.check_files(f, m) == []
    data = bytearray((f / "data" / "a.db").read_bytes())
    data[1500] ^= 0x80
    (f / "data" / "a.db").write_bytes(bytes(data))
    (f / "runs" / "x.csv").write_text("k,v\n1,22\n")
    (f / "runs" / "y.csv").write_text("stray")
    problems = bk.check_files(f, m)
    assert problems == [
        "data/a.db: SHA-256 differs from the manifest (changed or corrupt)",
        "runs/x.csv: 9 bytes, the manifest says 8",
        "runs/y.csv: not in the manifest",
    ]
    (f / "data" / "a.db").unlink()
    assert "data/a.db: missing" in bk.check_files(f, m)


def test_manifest_must_exist_and_be_whole(tmp_path: Path) -> None:
    f, _ = _folder(tmp_path)
    (f / bk.MANIFEST).write_text('{"format": 1, "files": [')
    with pytest.raises(bk.BackupError, match="unreadable"):
        bk.read_manifest(f)
    (f / bk.MANIFEST).unlink()
    with pytest.raises(bk.BackupError, match="no manifest"):
        bk.read_manifest(f)


def test_ledger_head_must_match() -> None:
    m = {"ledger": {"count": 3, "head_hash": "a" * 64}}
    assert bk.check_ledger_head(m, 3, "a" * 64) == []
    assert bk.check_ledger_head(m, 2, "b" * 64)
    assert bk.check_ledger_head({"ledger": None}, 0, "0" * 64) == []


def test_copy_of_a_missing_database_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(bk.BackupError, match="no such database"):
        bk.copy_sqlite(tmp_path / "nope.db", tmp_path / "copy.db")


@pytest.mark.parametrize(
    ("today", "days", "oldest", "first_kept"),
    [
        # nothing waiting: keep exactly the retention window
        ("2026-12-01", 7, None, "2026-11-24"),
        # a reading of 11-20 still waits for the county: it and everything after stay
        ("2026-12-01", 7, "2026-11-20", "2026-11-20"),
        # waiting readings inside the window change nothing
        ("2026-12-01", 7, "2026-11-30", "2026-11-24"),
        # across a year end and a leap day
        ("2024-03-01", 30, None, "2024-01-31"),
    ],
)
def test_retention_cutoff(today: str, days: int, oldest: str | None, first_kept: str) -> None:
    d = dt.date.fromisoformat
    got = cutoff_day(d(today), days, d(oldest) if oldest else None)
    assert got == d(first_kept)
    assert day_number(got) == int(first_kept.replace("-", ""))
