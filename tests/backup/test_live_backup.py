"""Back up while a real writer commits and a payout run finalizes; restore; prove it.

Real processes: the SqliteStore writer (tests/backup/writer.py, as `collect` would
write), `pvledger revenue --final`, `pvledger backup`, `pvledger restore` and
`pvledger revenue verify` on the restored folder.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from core.processes import stop_process
from pvledger.cli import main
from tests.backup.helpers import batches, pvledger, pvledger_argv, spawn, wait_until
from tests.backup.writer import STATION
from tests.revenue.helpers import setup_case

PERIOD = "2026-07"


def _only_backup(root: Path) -> Path:
    found = sorted(p for p in root.iterdir() if p.name.startswith("pvledger-"))
    assert len(found) == 1, found
    return found[0]


def _writer_rows(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        days = [d for (d,) in con.execute("SELECT day FROM partitions")]
        sid = con.execute("SELECT id FROM series WHERE station=? AND field='power_w'", (STATION,))
        (sid,) = sid.fetchone()
        return sum(
            con.execute(f"SELECT count(*) FROM s_{d} WHERE series=?", (sid,)).fetchone()[0]
            for d in days
        )
    finally:
        con.close()


def test_backup_during_writes_and_a_final_run_restores_exactly(tmp_path: Path) -> None:
    cfg = setup_case("worked-july", tmp_path)
    store = cfg.resolve(cfg.storage.path)
    progress = tmp_path / "writer.progress"
    out = tmp_path / "out"
    root = tmp_path / "backups"
    writer = spawn([pvledger_argv()[0], "-m", "tests.backup.writer", str(store), str(progress)])
    try:
        wait_until(lambda: batches(progress) >= 3, "the writer's first commits")
        before = batches(progress)
        final = spawn(
            pvledger_argv(
                "revenue", "--period", PERIOD, "--out", str(out), "--final", config=cfg.path
            )
        )
        during = pvledger("backup", str(root), config=cfg.path)
        assert during.returncode == 0, during.stderr
        assert final.wait(300) == 0, final.stderr.read() if final.stderr else ""
        after = batches(progress)
        # the writer went on committing while the copy was taken
        wait_until(lambda: batches(progress) >= after + 3, "more commits after the backup")
    finally:
        stop_process(writer)
        for p in (writer,):
            for s in (p.stdout, p.stderr):
                if s:
                    s.close()
    first = _only_backup(root)
    # a consistent snapshot: at least what was committed before it started, not the end state
    copied = _writer_rows(first / "data" / "pvledger.db")
    assert before * 200 <= copied < _writer_rows(store)
    assert copied % 200 == 0, "a copy holds whole transactions only"

    # a second backup after the run finalized holds the final run for certain
    root2 = tmp_path / "backups2"
    again = pvledger("backup", str(root2), "--keep", "1", config=cfg.path)
    assert again.returncode == 0, again.stderr
    for backup in (first, _only_backup(root2)):
        verify = pvledger("backup", "verify", str(backup))
        assert verify.returncode == 0, verify.stderr
        to = tmp_path / f"restored-{backup.parent.name}"
        restored = pvledger("restore", str(backup), "--to", str(to))
        assert restored.returncode == 0, restored.stderr
        check = pvledger("revenue", "verify", config=to / "config.yaml")
        assert check.returncode == 0, check.stdout + check.stderr
        manifest = json.loads((backup / "manifest.json").read_text())
        finals = [f["file"] for f in manifest["files"] if f["role"] == "run-final"]
        if backup.parent == root2:
            assert finals, "the final run is in the backup taken after it"
        for rel in finals:
            # the exported file, restored, is byte for byte the file finance staff got
            assert (to / rel).read_bytes() == (out / Path(rel).name).read_bytes(), rel
        con = sqlite3.connect(f"file:{to / 'data' / 'pvledger.db'}?mode=ro", uri=True)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        con.close()
    assert _writer_rows(to / "data" / "pvledger.db") == _writer_rows(store)


def test_one_changed_byte_fails_verify_and_restore(tmp_path: Path, capsys) -> None:
    """In-process CLI (the process round trip is the test above): one flipped bit in the
    ledger, a final run file or the store is named by `backup verify` and stops `restore`."""
    cfg = setup_case("worked-july", tmp_path)
    out = tmp_path / "out"
    run = pvledger("revenue", "--period", PERIOD, "--out", str(out), "--final", config=cfg.path)
    assert run.returncode == 0, run.stderr
    assert main(["-c", str(cfg.path), "backup", str(tmp_path / "b")]) == 0
    good = _only_backup(tmp_path / "b")
    manifest = json.loads((good / "manifest.json").read_text())
    targets = [
        f["file"] for f in manifest["files"] if f["role"] in ("ledger", "run-final", "store")
    ]
    assert len(targets) >= 3
    capsys.readouterr()
    for rel in targets:
        bad = tmp_path / "bad" / rel.replace("/", "_")
        shutil.copytree(good, bad)
        path = bad / rel
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01  # one bit of one byte
        path.write_bytes(bytes(data))
        assert main(["backup", "verify", str(bad)]) == 1, rel
        err = capsys.readouterr().err
        assert f"{rel}: SHA-256 differs" in err, err
        to = tmp_path / "restored" / rel.replace("/", "_")
        assert main(["restore", str(bad), "--to", str(to)]) == 1, rel
        assert "nothing restored" in capsys.readouterr().err
        assert not to.exists(), "a refused restore leaves nothing behind"
        assert not list(to.parent.glob(".*restoring*")), "nor a staging folder"
    assert main(["backup", "verify", str(good)]) == 0


def test_restore_never_writes_over_data(tmp_path: Path) -> None:
    cfg = setup_case("worked-july", tmp_path)
    assert pvledger("backup", str(tmp_path / "b"), config=cfg.path).returncode == 0
    backup = _only_backup(tmp_path / "b")
    target = tmp_path / "live"
    target.mkdir()
    (target / "pvledger.db").write_bytes(b"live data")
    proc = pvledger("restore", str(backup), "--to", str(target))
    assert proc.returncode == 2
    assert "not empty" in proc.stderr
    assert (target / "pvledger.db").read_bytes() == b"live data"
    assert sorted(p.name for p in target.iterdir()) == ["pvledger.db"]


def test_a_tampered_ledger_is_copied_as_evidence_and_fails(tmp_path: Path, capsys) -> None:
    """The backup still holds every database, but exits 1 and verify names the ledger."""
    cfg = setup_case("worked-july", tmp_path)
    run = pvledger("revenue", "--period", PERIOD, "--out", str(tmp_path / "o"), config=cfg.path)
    assert run.returncode == 0, run.stderr
    from revenue.payout import ledger_path

    con = sqlite3.connect(ledger_path(cfg), isolation_level=None)
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        con.execute(f"DROP TRIGGER {name}")
    con.execute("UPDATE runs SET reason = 'edited afterwards'")
    con.close()
    assert main(["-c", str(cfg.path), "backup", str(tmp_path / "b")]) == 1
    backup = _only_backup(tmp_path / "b")
    assert (backup / "data" / "pvledger.db").is_file()
    capsys.readouterr()
    assert main(["backup", "verify", str(backup)]) == 1
    assert "ledger: run 1" in capsys.readouterr().err
