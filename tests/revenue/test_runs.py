"""Payout runs: byte-identical drafts, final immutability, corrections, ledger tampering,
meter imports, the xlsx, and the CLI."""

from __future__ import annotations

import io
import sqlite3

import pytest
from openpyxl import load_workbook

from core.problems import BadInput
from core.store import open_store
from pvledger.cli import main
from revenue.export import mask_name
from revenue.ledger import Ledger
from revenue.meter_import import import_file
from revenue.payout import ledger_path, payout
from revenue.period import parse_period
from tests.revenue.helpers import read_csv, setup_case

JULY = parse_period("2026-07")


def _run(cfg, out, **kw):
    with open_store(cfg, readonly=True) as store:
        return payout(cfg, store, JULY, out_dir=out, **kw)


def test_draft_rerun_is_byte_identical(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    a = _run(cfg, tmp_path / "a", lang="zh")
    b = _run(cfg, tmp_path / "b", lang="zh")
    assert sorted(a.files) == sorted(b.files)
    for name in a.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert a.record.status == b.record.status == "draft"
    assert a.result.inputs_hash == b.result.inputs_hash


def test_final_refuses_then_supersede_records_the_difference(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    first = _run(cfg, tmp_path / "f", final=True)
    assert first.record.status == "final"
    with pytest.raises(BadInput, match="finalized"):
        _run(cfg, tmp_path / "again")
    with pytest.raises(BadInput):
        _run(cfg, tmp_path / "again", supersede=True, reason=" ")
    # the grid statement arrives and says 12,000 kWh, not 12,390
    csv_file = tmp_path / "stmt.csv"
    csv_file.write_text("station_id,period,export_kwh,statement_no\nv-dongpi,2026-07,12000,GS-7\n")
    with Ledger(ledger_path(cfg)) as led:
        import_file(cfg, led, csv_file, "2026-08-03T00:00:00Z")
    fix = _run(cfg, tmp_path / "fix", supersede=True, reason="grid statement GS-7")
    assert fix.record.supersedes == first.record.seq
    diff = {r["key"]: r for r in read_csv(fix.files["correction-2026-07.csv"])}
    assert int(diff["v-dongpi"]["old_fen"]) == 473166
    new = next(s for s in fix.result.stations if s.station == "v-dongpi")
    assert int(diff["v-dongpi"]["new_fen"]) == new.distributable_fen < 473166
    with Ledger(ledger_path(cfg)) as led:
        assert led.verify() == []
        assert [r.status for r in led.runs()] == ["final", "final"]


def test_verify_detects_tampering(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    _run(cfg, tmp_path / "a", final=True)
    path = ledger_path(cfg)
    assert main(["-c", str(cfg.path), "revenue", "verify"]) == 0
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE runs SET status='draft'")
    # someone drops the guard and edits a household's amount inside a stored file
    db.execute("DROP TRIGGER files_no_update")
    (content,) = db.execute(
        "SELECT content FROM run_files WHERE name LIKE 'households%'"
    ).fetchone()
    db.execute(
        "UPDATE run_files SET content=? WHERE name LIKE 'households%'",
        (bytes(content).replace(b"15412", b"25412"),),
    )
    db.commit()
    db.close()
    with Ledger(path) as led:
        problems = led.verify()
    assert any("households-2026-07.csv was changed" in p for p in problems)
    assert main(["-c", str(cfg.path), "revenue", "verify"]) == 1


def test_import_meter_gbk_errors_and_idempotence(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    good = tmp_path / "grid.csv"
    good.write_bytes(
        "电站编号,户号,结算期,上网电量,结算单号,结算金额\n"
        "v-dongpi,3601001,2026-07,12390,GS-1,5133.18\n".encode("gbk")
    )
    assert main(["-c", str(cfg.path), "import-meter", str(good)]) == 0
    assert main(["-c", str(cfg.path), "import-meter", str(good)]) == 0
    assert "already imported" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "\ufeffaccount,timestamp,export_kwh\n"
        "3601001,2026-08-01 00:00,62390\n"  # fine: 户号 linked by the first file
        "9999,2026-08-01 00:00,1\n"  # unknown account
        "3601001,yesterday,1\n"  # bad time
        "3601001,2026-08-02 00:00,-5\n",  # negative
        encoding="utf-8",
    )
    assert main(["-c", str(cfg.path), "import-meter", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:3" in err and "bad.csv:4" in err and "bad.csv:5" in err
    with Ledger(ledger_path(cfg)) as led:
        assert led.db.execute("SELECT count(*) FROM meter_readings").fetchone() == (0,)
        assert led.db.execute("SELECT count(*) FROM meter_statements").fetchone() == (1,)
    out = _run(cfg, tmp_path / "o")
    v = next(s for s in out.result.stations if s.station == "v-dongpi")
    assert v.energy_source == "statement"
    rec = {r["station_id"]: r for r in read_csv(out.files["reconciliation-2026-07.csv"])}
    v = rec["v-dongpi"]
    # the meter agrees with the statement, and so does the computed coal cash, to the fen
    assert (v["meter_wh"], v["statement_wh"]) == ("12390000", "12390000")
    assert (v["statement_amount_fen"], v["cash_now_fen"], v["cash_vs_statement_fen"]) == (
        "513318",
        "513318",
        "0",
    )


def test_xlsx_public_sheet_masks_names_and_zh_headers(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    out = _run(cfg, tmp_path / "x", lang="zh")
    wb = load_workbook(io.BytesIO(out.files["payouts-2026-07.xlsx"]))
    assert "公示-东陂村" in wb.sheetnames
    ws = wb["公示-东陂村"]
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "张*华" in cells and "张三华" not in cells
    assert 154.12 in cells
    assert wb["电站"]["A1"].value == "电站编号"
    assert mask_name("欧阳三华") == "欧**华" and mask_name("张三") == "张*"


def test_cli_run_and_invariant(tmp_path, capsys):
    cfg = setup_case("worked-july", tmp_path)
    rc = main(["-c", str(cfg.path), "revenue", "--period", "2026-07", "--out", str(tmp_path / "o")])
    assert rc == 0, capsys.readouterr().err
    files = {p.name: p.read_bytes() for p in (tmp_path / "o").iterdir()}
    st = read_csv(files["stations-2026-07.csv"])
    hh = read_csv(files["households-2026-07.csv"])
    co = read_csv(files["cooperatives-2026-07.csv"])
    vi = read_csv(files["villages-2026-07.csv"])
    lhs = sum(int(r["amount_fen"]) for r in hh + vi) + sum(int(r["residue_fen"]) for r in co)
    assert lhs == sum(int(r["distributable_fen"]) for r in st) == 488578
    assert main(["-c", str(cfg.path), "revenue", "--period", "2026-13"]) == 2


def test_grid_readings_outrank_the_station_meter(tmp_path):
    cfg = setup_case("worked-july", tmp_path)
    f = tmp_path / "readings.csv"
    f.write_text(
        "station_id,timestamp,export_kwh\n"
        "v-dongpi,2026-07-01T00:00+08:00,50000\n"
        "v-dongpi,2026-07-31 23:00,62000\n"
        "v-dongpi,2026-08-01 01:00,62000.5\n",
        encoding="utf-8",
    )
    with Ledger(ledger_path(cfg)) as led:
        s = import_file(cfg, led, f, "2026-08-02T00:00:00Z")
        assert (s.statements, s.readings) == (0, 3)
        # the ledger refuses a second final for a period even when asked directly
        _run(cfg, tmp_path / "f", final=True, ledger=led)
        from revenue.ledger import FinalExists

        with pytest.raises(FinalExists):
            led.append(
                period="2026-07",
                status="final",
                inputs_hash="x",
                files={},
                state={},
                recorded_at="t",
            )
        run = led.runs()[-1]
    v = next(x for x in _run_result(cfg, tmp_path) if x.station == "v-dongpi")
    # 62,000,250 Wh interpolated at 08-01 00:00 (half-way), minus 50,000,000 exact
    assert (v.energy_source, v.quality, v.energy_wh) == ("grid_reading", "interpolated", 12_000_250)
    assert run.status == "final"


def _run_result(cfg, tmp_path):
    from revenue.meter_import import load_imported
    from revenue.run import compute

    with Ledger(ledger_path(cfg)) as led, open_store(cfg, readonly=True) as store:
        return compute(cfg, store, JULY, imported=load_imported(led)).stations


def test_progress_bar_on_large_runs(capsys):
    from revenue.run import progress

    assert list(progress(list(range(5)), "stations")) == list(range(5))
    assert capsys.readouterr().err == ""  # small runs stay quiet
    assert list(progress(list(range(100)), "stations", min_total=50)) == list(range(100))
    err = capsys.readouterr().err
    assert "stations [" in err and "100/100" in err


def test_final_is_blocked_until_the_plan_is_approved(tmp_path):
    from core.config import load_config

    p = setup_case("worked-july", tmp_path).path
    p.write_text(
        p.read_text(encoding="utf-8").replace("      approval: 测试县扶贫办〔2026〕1号\n", ""),
        encoding="utf-8",
    )
    cfg = load_config(p)
    assert _run(cfg, tmp_path / "draft").record.status == "draft"  # drafts are fine
    with pytest.raises(BadInput, match=r"allocation.village\[0\].*approval"):
        _run(cfg, tmp_path / "final", final=True)
