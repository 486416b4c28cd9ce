"""Imports are exact (issue 12 items 1 and 5): contradictions refused with both lines,
identical repeats counted once, undecodable bytes and huge numbers refused naming the
file, line and column, exit 2 and nothing imported. Real CLI, real revenue.db."""

from __future__ import annotations

import sqlite3

import pytest

from pvledger.cli import main
from revenue.import_values import INT64_MAX, NotExact, kwh_to_wh, scaled_int, yuan_to_fen
from revenue.payout import ledger_path
from tests.revenue.helpers import setup_case


@pytest.fixture
def cfg(tmp_path):
    return setup_case("worked-july", tmp_path)


def _import(cfg, tmp_path, name: str, data: bytes | str, capsys) -> tuple[int, str, str]:
    f = tmp_path / name
    f.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    capsys.readouterr()
    rc = main(["-c", str(cfg.path), "import-meter", str(f)])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _count(cfg, table: str) -> int:
    path = ledger_path(cfg)
    if not path.exists():
        return 0
    db = sqlite3.connect(path)
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_contradicting_rows_are_refused_with_both_lines(cfg, tmp_path, capsys):
    # the file: exit 0, "imported 2 readings", kept 16000
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "two.csv",
        "station_id,timestamp,export_kwh\n"
        "s-hh-1,2026-11-02T00:00:00,16000\n"
        "s-hh-1,2026-11-02T00:00:00,16001\n",
        capsys,
    )
    assert rc == 2
    assert "two.csv:3: export_kwh:" in err
    assert "line 3 says 16001 kWh, line 2 says 16000 kWh" in err
    assert _count(cfg, "meter_readings") == 0 and _count(cfg, "meter_imports") == 0


def test_the_same_instant_written_two_ways_is_one_key(cfg, tmp_path, capsys):
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "tz.csv",
        "station_id,timestamp,export_kwh\n"
        "s-hh-1,2026-11-02 08:00,16000\n"  # site time (Asia/Shanghai)
        "s-hh-1,2026-11-02T00:00:00+00:00,16000.001\n",
        capsys,
    )
    assert rc == 2 and "line 3 says 16000.001 kWh, line 2 says 16000 kWh" in err


def test_statements_contradicting_in_any_field_name_both_lines(cfg, tmp_path, capsys):
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "st.csv",
        "station_id,period,export_kwh,statement_no,amount_yuan\n"
        "v-dongpi,2026-07,12390,GS-1,5133.18\n"
        "v-dongpi,2026-07,12390,GS-1,5133.19\n"
        "v-dongpi,2026-07,12390,GS-2,5133.18\n",
        capsys,
    )
    assert rc == 2
    assert "st.csv:3: row: v-dongpi 2026-07: line 3 says 5133.19 yuan, line 2 says 5133.18" in err
    assert "st.csv:4: row: v-dongpi 2026-07: line 4 says statement_no 'GS-2'" in err
    assert _count(cfg, "meter_statements") == 0


def test_identical_repeats_count_once(cfg, tmp_path, capsys):
    rc, out, err = _import(
        cfg,
        tmp_path,
        "dup.csv",
        "station_id,timestamp,export_kwh\n"
        "s-hh-1,2026-11-02T00:00:00,16000\n"
        "s-hh-1,2026-11-02T00:00:00,16000\n"
        "s-hh-1,2026-11-02 00:00,16000.000\n"  # the same value written another way
        "s-hh-1,2026-11-03T00:00:00,16010\n",
        capsys,
    )
    assert rc == 0, err
    assert "imported 0 statements and 2 readings (2 identical repeated rows counted once)" in out
    assert _count(cfg, "meter_readings") == 2
    # another file repeating one of them: counted as already there, not twice
    rc, out, err = _import(
        cfg,
        tmp_path,
        "again.csv",
        "station_id,timestamp,export_kwh\n"
        "s-hh-1,2026-11-03T00:00:00,16010\n"
        "s-hh-1,2026-11-04T00:00:00,16020\n",
        capsys,
    )
    assert rc == 0, err
    assert "imported 0 statements and 1 readings (1 rows already imported" in out
    assert _count(cfg, "meter_readings") == 3
    # and one contradicting an earlier file names that file and line
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "later.csv",
        "station_id,timestamp,export_kwh\ns-hh-1,2026-11-04T00:00:00,16021\n",
        capsys,
    )
    assert rc == 2
    assert "later.csv:2: row: s-hh-1 2026-11-04T00:00:00: 16021 kWh here, 16020 kWh" in err
    assert "imported before from again.csv line 3" in err


def test_undecodable_bytes_name_the_file_and_byte(cfg, tmp_path, capsys):
    data = "电站编号,抄表时间,上网电量\n".encode("gbk") + b"s-hh-1,\xff\xff,1\n"
    rc, _out, err = _import(cfg, tmp_path, "garbled.csv", data, capsys)
    assert rc == 2
    at = data.index(b"\xff")
    assert f"garbled.csv:2: encoding: neither UTF-8 nor GBK at byte {at} (0xff)" in err
    assert "Traceback" not in err


HUGE = [
    ("1e20", "too large for a 64-bit counter"),
    (str(2**64), "too large for a 64-bit counter"),
    (str(INT64_MAX // 1000 + 1), "too large for a 64-bit counter"),
    ("1e999", "too large"),
    ("1e-999", "finer than 1/1000"),
    ("12390.0001", "finer than 1/1000"),
    ("NaN", "not a number"),
    ("Infinity", "not a number"),
    ("-5", "negative"),
    ("１２３", "not a number"),  # full-width digits: Decimal() would take them
    ("1" * 60, "longer than 40 characters"),
    ("1,23,4", "not a number"),
]


@pytest.mark.parametrize(("cell", "why"), HUGE)
def test_huge_and_special_numbers_exit_2_naming_file_line_column(cfg, tmp_path, capsys, cell, why):
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "big.csv",
        "station_id,timestamp,export_kwh\n"
        "s-hh-1,2026-11-01 00:00,5\n"
        f's-hh-1,2026-11-02 00:00,"{cell}"\n',  # quoted, as Excel quotes 1,234.5
        capsys,
    )
    assert rc == 2, err
    assert "big.csv:3: export_kwh:" in err and why in err
    assert "fix: write the kWh as a plain number" in err
    assert "Traceback" not in err
    assert _count(cfg, "meter_readings") == 0  # the good line 2 is not imported either


def test_a_huge_amount_is_refused_too(cfg, tmp_path, capsys):
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "amt.csv",
        f"station_id,period,export_kwh,amount_yuan\nv-dongpi,2026-07,1,{2**64}\n",
        capsys,
    )
    assert rc == 2 and "amt.csv:2: amount_yuan:" in err and "too large" in err


def test_malformed_csv_and_unreadable_paths_exit_2(cfg, tmp_path, capsys):
    long_cell = "x" * 200_000  # above the csv module's field limit
    rc, _out, err = _import(
        cfg, tmp_path, "long.csv", f'station_id,timestamp,export_kwh\n"{long_cell}",1,1\n', capsys
    )
    assert rc == 2 and "long.csv:2: csv: field larger than field limit" in err
    assert "xxxxxxxxxx" not in err  # contents are not echoed
    (tmp_path / "adir.csv").mkdir()
    assert main(["-c", str(cfg.path), "import-meter", str(tmp_path / "adir.csv")]) == 2
    rc, _out, err = _import(
        cfg, tmp_path, "cols.csv", "station_id,电站编号,timestamp,export_kwh\n", capsys
    )
    assert rc == 2 and "column station_id given twice" in err


def test_scaled_int_is_exact():
    # hand arithmetic: 12,390.5 kWh = 12,390,500 Wh; 1.2390E+04 kWh = 12,390,000 Wh
    assert kwh_to_wh("12,390.5") == 12_390_500
    assert kwh_to_wh("1.2390E+04") == 12_390_000
    assert kwh_to_wh(".5") == 500 and kwh_to_wh("5.") == 5000 and kwh_to_wh("+0") == 0
    assert kwh_to_wh(str(INT64_MAX // 1000)) == INT64_MAX // 1000 * 1000
    assert kwh_to_wh("9223372036854775.807") == INT64_MAX
    assert yuan_to_fen("-0.01") == -1 and yuan_to_fen("5133.18") == 513318
    assert scaled_int("1e-3", 3) == 1
    with pytest.raises(NotExact):
        kwh_to_wh("9223372036854775.808")


def test_readings_and_statements_from_the_future_are_refused(cfg, tmp_path, capsys):
    # the plausibility gate's rule for imports: nothing a payout rests on is of the future
    rc, _out, err = _import(
        cfg,
        tmp_path,
        "future.csv",
        "station_id,timestamp,period,export_kwh\n"
        "s-hh-1,2026-07-01T00:00:00,,100\n"
        "s-hh-1,2100-01-01T00:00:00,,200\n"
        "s-hh-1,,2099-01,300\n",
        capsys,
    )
    assert rc == 2
    assert "future.csv:3: timestamp:" in err and "in the future" in err
    assert "future.csv:4: period:" in err
    assert _count(cfg, "meter_readings") == 0 and _count(cfg, "meter_statements") == 0
