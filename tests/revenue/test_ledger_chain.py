"""The ledger covers every input and its own length (issue 12 item 4, issue 16 item 5).

Each attack is made the way the issue made it: the sqlite3 module on the real revenue.db
(dropping the guard triggers first where they would refuse), then the real CLI
`pvledger revenue verify`, which must exit 1 and name what changed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pvledger.cli import main
from revenue.chain import GENESIS, canonical, entry_hash, parse_head
from revenue.ledger import Ledger
from revenue.payout import ledger_path
from tests.revenue.helpers import setup_case

STATEMENT = (
    "station_id,account,period,export_kwh,statement_no,amount_yuan\n"
    "v-dongpi,3601001,2026-07,12390,GS-1,5133.18\n"
)
READINGS = (
    "station_id,timestamp,export_kwh\n"
    "s-hh-1,2026-07-01 00:00,1000\n"
    "s-hh-1,2026-08-01 00:00,1400.5\n"
)


def _cli(cfg, *args: str) -> int:
    return main(["-c", str(cfg.path), *args])


@pytest.fixture
def ledger_case(tmp_path):
    """worked-july with a statement and readings imported and July finalized (CLI)."""
    cfg = setup_case("worked-july", tmp_path)
    for name, text in (("stmt.csv", STATEMENT), ("readings.csv", READINGS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert _cli(cfg, "import-meter", str(tmp_path / name)) == 0
    out = tmp_path / "out"
    assert _cli(cfg, "revenue", "--period", "2026-07", "--out", str(out), "--final") == 0
    assert _cli(cfg, "revenue", "verify") == 0
    return cfg, ledger_path(cfg), out


def _sql(path: Path, *statements: str) -> None:
    db = sqlite3.connect(path)
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()


def _drop_guards(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    db.close()
    return [f"DROP TRIGGER {n}" for n in names]


def _verify_fails(cfg, capsys) -> str:
    capsys.readouterr()
    assert _cli(cfg, "revenue", "verify") == 1
    return capsys.readouterr().err


def test_triggers_refuse_edits_of_imported_rows(ledger_case):
    _cfg, path, _out = ledger_case
    db = sqlite3.connect(path)
    for stmt in (
        "UPDATE meter_statements SET export_wh=9999000",
        "DELETE FROM meter_readings",
        "UPDATE meter_imports SET file_name='x.csv'",
        "DELETE FROM grid_accounts",
        "DELETE FROM chain",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(stmt)
    db.close()


# (SQL after the triggers are dropped, what verify must name)
ATTACKS = {
    "statement edited": (
        ["UPDATE meter_statements SET export_wh=9999000"],
        ["meter_statements (v-dongpi, 2026-07): export_wh is 9999000, the chain says 12390000"],
    ),
    "statement deleted": (
        ["DELETE FROM meter_statements"],
        ["meter_statements (v-dongpi, 2026-07): deleted (imported from stmt.csv line 2)"],
    ),
    "statement added": (
        ["INSERT INTO meter_statements VALUES ('s-hh-1','2026-07',1,'',NULL,'0000',NULL)"],
        ["meter_statements (s-hh-1, 2026-07): not in the chain"],
    ),
    "reading edited": (
        ["UPDATE meter_readings SET export_wh=export_wh+1 WHERE export_wh=1400500"],
        ["meter_readings (s-hh-1, 2026-07-31T16:00:00Z): export_wh is 1400501"],
    ),
    "reading deleted": (
        ["DELETE FROM meter_readings WHERE export_wh=1000000"],
        ["meter_readings (s-hh-1, 2026-06-30T16:00:00Z): deleted (imported from readings.csv"],
    ),
    "import edited": (
        ["UPDATE meter_imports SET file_name='other.csv' WHERE file_name='stmt.csv'"],
        ["meter_imports (", "file_name is 'other.csv', the chain says 'stmt.csv'"],
    ),
    "import deleted": (
        ["DELETE FROM meter_imports WHERE file_name='readings.csv'"],
        ["meter_imports (", "deleted"],
    ),
    "grid account moved": (
        ["UPDATE grid_accounts SET station='s-hh-1'"],
        ["grid_accounts (3601001): station is 's-hh-1', the chain says 'v-dongpi'"],
    ),
    "last run deleted": (
        ["DELETE FROM run_files WHERE seq=1", "DELETE FROM runs WHERE seq=1"],
        ["runs: run 1 (2026-07 final) was deleted"],
    ),
    "last run and its chain entry deleted": (
        [
            "DELETE FROM run_files WHERE seq=1",
            "DELETE FROM runs WHERE seq=1",
            "DELETE FROM chain WHERE seq=(SELECT max(seq) FROM chain)",
        ],
        ["revenue.db.head says 3 entries", "the ledger has 2 entries", "truncated"],
    ),
    "all runs and the chain deleted": (
        ["DELETE FROM run_files", "DELETE FROM runs", "DELETE FROM chain"],
        ["truncated", "meter_statements (v-dongpi, 2026-07): not in the chain"],
    ),
    "chain table dropped": (
        ["DROP TABLE chain"],
        ["the ledger has 0 entries", "truncated", "trigger chain_no_delete had been dropped"],
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_every_attack_makes_verify_exit_1_and_name_it(ledger_case, capsys, attack):
    cfg, path, _out = ledger_case
    statements, expected = ATTACKS[attack]
    _sql(path, *_drop_guards(path), *statements)
    err = _verify_fails(cfg, capsys)
    for text in expected:
        assert text in err, (attack, err)
    assert "trigger meter_statements_no_update had been dropped" in err


def test_a_tampered_ledger_blocks_runs_and_imports(ledger_case, capsys, tmp_path):
    cfg, path, _out = ledger_case
    _sql(
        path,
        "DROP TRIGGER meter_statements_no_update",
        "UPDATE meter_statements SET export_wh=9999000",
    )
    # the issue: the next run paid 4,142.59 yuan on the edited statement; now nothing is paid
    capsys.readouterr()
    assert _cli(cfg, "revenue", "--period", "2026-08", "--out", str(tmp_path / "o2")) == 1
    assert "export_wh is 9999000" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()
    # a truncated chain refuses every write before it starts, so a new import cannot
    # rewrite the head file over the hole
    _sql(path, "DROP TRIGGER chain_no_delete", "DELETE FROM chain WHERE seq=3")
    f = tmp_path / "more.csv"
    f.write_text("station_id,timestamp,export_kwh\ns-hh-1,2026-09-01 00:00,1500\n")
    assert _cli(cfg, "import-meter", str(f)) == 1
    assert "nothing was written" in capsys.readouterr().err
    with Ledger(path) as led:
        assert led.db.execute("SELECT count(*) FROM meter_readings").fetchone() == (2,)
        assert led.read_head().entries == 3


def _rebuild_chain(path: Path) -> None:
    """What a careful attacker does: recompute every chain hash after an edit."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT seq, kind, ref, content, recorded_at FROM chain ORDER BY seq")
    prev, new = GENESIS, []
    for seq, kind, ref, content, at in rows.fetchall():
        content = bytes(content).replace(b'"export_wh":12390000', b'"export_wh":9999000')
        h = entry_hash(seq, kind, ref, content, at, prev)
        new.append((content, prev, h, seq))
        prev = h
    for t in ("chain_no_update", "meter_statements_no_update"):
        db.execute(f"DROP TRIGGER {t}")
    db.executemany("UPDATE chain SET content=?, prev_hash=?, hash=? WHERE seq=?", new)
    db.execute("UPDATE meter_statements SET export_wh=9999000")
    db.commit()
    db.close()


def test_a_rebuilt_chain_is_caught_by_the_head_file_and_by_a_runs_copy(ledger_case, capsys):
    cfg, path, out = ledger_case
    run_head = out / "ledger-head-2026-07.txt"
    with Ledger(path) as led:
        assert parse_head(run_head.read_text()) == led.head() == led.read_head()
    _rebuild_chain(path)
    err = _verify_fails(cfg, capsys)
    assert "the chain was rebuilt" in err
    assert "export_wh is" not in err  # the rows agree with the forged chain ...
    # ... and if the attacker also rewrites the head file, the run's copy still knows
    with Ledger(path) as led:
        forged = led.head()
        path.with_name("revenue.db.head").write_text(
            f"pvledger ledger head\nentries: {forged.entries}\nhash: {forged.hash}\n"
        )
    assert _cli(cfg, "revenue", "verify") == 0  # nothing inside the machine disagrees
    capsys.readouterr()
    assert _cli(cfg, "revenue", "verify", "--head", str(run_head)) == 1
    err = capsys.readouterr().err
    assert "ledger-head-2026-07.txt says entry 3 is" in err and "rebuilt" in err


def test_deleted_head_file_and_deleted_ledger_are_reported(ledger_case, capsys):
    cfg, path, _out = ledger_case
    head = path.with_name("revenue.db.head")
    saved = head.read_bytes()
    head.unlink()
    assert "revenue.db.head is missing" in _verify_fails(cfg, capsys)
    head.write_bytes(saved)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    assert "ledger: missing" in _verify_fails(cfg, capsys)


def test_verify_prints_the_head_it_checked(ledger_case, capsys):
    cfg, path, out = ledger_case
    capsys.readouterr()
    assert _cli(cfg, "revenue", "verify", "--head", str(out / "ledger-head-2026-07.txt")) == 0
    text = capsys.readouterr().out
    with Ledger(path) as led:
        h = led.head()
    assert f"chain: {h.entries} entries, head {h.hash}" in text
    assert f"head file: {h.entries} entries, head {h.hash}" in text
    assert "1 runs, 2 imports (1 statements, 2 readings, 1 grid accounts)" in text


# the schema before the chain (revenue/ledger.py at 0a94088), to test the migration
SCHEMA_0 = """
CREATE TABLE runs (seq INTEGER PRIMARY KEY, period TEXT NOT NULL, status TEXT NOT NULL,
    inputs_hash TEXT NOT NULL, outputs_hash TEXT NOT NULL, supersedes INTEGER,
    reason TEXT NOT NULL, diff TEXT NOT NULL, state TEXT NOT NULL, recorded_at TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE run_files (seq INTEGER NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    content BLOB NOT NULL, PRIMARY KEY (seq, name));
CREATE TABLE meter_imports (file_sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL,
    rows INTEGER NOT NULL, recorded_at TEXT NOT NULL);
CREATE TABLE meter_statements (station TEXT NOT NULL, month TEXT NOT NULL,
    export_wh INTEGER NOT NULL, statement_no TEXT NOT NULL, amount_fen INTEGER,
    file_sha256 TEXT NOT NULL, line INTEGER, PRIMARY KEY (station, month));
CREATE TABLE meter_readings (station TEXT NOT NULL, ts_ms INTEGER NOT NULL,
    export_wh INTEGER NOT NULL, file_sha256 TEXT NOT NULL, line INTEGER,
    PRIMARY KEY (station, ts_ms));
CREATE TABLE grid_accounts (account TEXT PRIMARY KEY, station TEXT NOT NULL,
    file_sha256 TEXT NOT NULL);
CREATE TRIGGER runs_no_update BEFORE UPDATE ON runs
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER files_no_update BEFORE UPDATE ON run_files
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
CREATE TRIGGER files_no_delete BEFORE DELETE ON run_files
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only'); END;
INSERT INTO meter_imports VALUES ('aa', 'old.csv', 2, '2026-08-02T00:00:00Z');
INSERT INTO meter_statements VALUES ('v-dongpi', '2026-07', 12390000, 'GS-1', 513318, 'aa', 2);
INSERT INTO grid_accounts VALUES ('3601001', 'v-dongpi', 'aa');
INSERT INTO meter_readings VALUES ('s-hh-1', 1782835200000, 5, 'bb', 7);
"""


def test_an_existing_ledger_is_chained_from_the_migration_on(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    path = ledger_path(cfg)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA_0)
    db.close()
    assert not path.with_name("revenue.db.head").exists()
    assert _cli(cfg, "revenue", "verify") == 0  # opening migrates; as found is intact
    with Ledger(path) as led:
        assert led.db.execute("PRAGMA user_version").fetchone() == (1,)
        kinds = [(e.kind, e.ref) for e in led.entries()]
        # one entry per import; rows of no recorded import go into the migration entry
        assert kinds == [("import", "aa"), ("migration", "migration")]
        assert b'"ts_ms":1782835200000' in led.entries()[1].content
        assert led.read_head() == led.head()
    # from now on the old rows are protected like new ones
    _sql(path, "DROP TRIGGER meter_statements_no_update", "UPDATE meter_statements SET export_wh=1")
    err = _verify_fails(cfg, capsys)
    assert "meter_statements (v-dongpi, 2026-07): export_wh is 1, the chain says 12390000" in err
    assert "imported from old.csv line 2" in err


def test_accept_head_after_a_crash_between_commit_and_head(ledger_case, capsys):
    cfg, path, _out = ledger_case
    head = path.with_name("revenue.db.head")
    with Ledger(path) as led:
        entries = led.entries()
    # as if pvledger died after committing the run but before writing the head file
    prev = entries[-2]
    head.write_text(f"pvledger ledger head\nentries: {prev.seq}\nhash: {prev.hash}\n")
    err = _verify_fails(cfg, capsys)
    assert "entries 3..3 were added after the head was written" in err
    assert _cli(cfg, "revenue", "verify", "--accept-head") == 0
    assert _cli(cfg, "revenue", "verify") == 0


def test_chain_content_is_canonical_json_of_the_rows(ledger_case):
    _cfg, path, _out = ledger_case
    with Ledger(path) as led:
        e = next(e for e in led.entries() if b"meter_statements" in e.content)
        content = json.loads(e.content)
        assert canonical(content) == e.content
        assert content["meter_statements"] == [
            {
                "station": "v-dongpi",
                "month": "2026-07",
                "export_wh": 12390000,
                "statement_no": "GS-1",
                "amount_fen": 513318,
                "file_sha256": e.ref,
                "line": 2,
            }
        ]


def test_concurrent_writers_keep_chain_and_head_in_step(ledger_case, tmp_path):
    import subprocess
    import sys

    cfg, path, _out = ledger_case
    files = []
    for i in range(4):
        f = tmp_path / f"c{i}.csv"
        f.write_text(f"station_id,timestamp,export_kwh\ns-hh-1,2026-09-0{i + 1} 00:00,{2000 + i}\n")
        files.append(f)
    cmd = [sys.executable, "-m", "pvledger.cli", "-c", str(cfg.path), "import-meter"]
    procs = [
        subprocess.Popen([*cmd, str(f)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for f in files
    ]
    outs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outs
    with Ledger(path) as led:
        assert led.verify() == []
        assert led.head() == led.read_head() and led.head().entries == 3 + 4
