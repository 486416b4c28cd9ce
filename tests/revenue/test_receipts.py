"""Receipts (issue 16 item 1): import all or nothing, split by accruals to the fen, chained.

worked-july (DOMAIN.md examples 1 and 2) finalized for 2026-07 gives the accruals:
v-dongpi coal 5,133.18 and subsidy 5,398.32 yuan, s-hh-1 coal 154.12 and subsidy 162.08.
Real CLI, real revenue.db; a few cases through a subprocess.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pvledger.cli import main
from revenue.payout import ledger_path
from revenue.receipts import cover_months, split
from tests.revenue.helpers import setup_case

HEAD = "received_on,payer,station_id,component,period,amount_yuan,reference\n"
COAL_JULY = HEAD + "2026-10-20,grid_company,v-dongpi;s-hh-1,coal_benchmark,2026-07,5000.00,GD-001\n"


def _cli(cfg, *args: str) -> int:
    return main(["-c", str(cfg.path), *args])


@pytest.fixture
def july(tmp_path):
    """worked-july with 2026-07 finalized."""
    cfg = setup_case("worked-july", tmp_path)
    assert _cli(cfg, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "o")) == 0
    return cfg


def _write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    f = tmp_path / name
    f.write_bytes(text.encode(encoding))
    return f


def _import(cfg, f, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = _cli(cfg, "receipts", "import", str(f))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _state(cfg) -> tuple:
    """Everything an import could change: the receipt tables and the chain's length."""
    db = sqlite3.connect(ledger_path(cfg))
    try:
        return tuple(
            db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("receipt_imports", "receipts", "receipt_allocations", "chain")
        )
    finally:
        db.close()


def _shares(cfg) -> dict[tuple[str, str, str], int]:
    db = sqlite3.connect(ledger_path(cfg))
    try:
        return {
            (s, c, p): fen
            for s, c, p, fen in db.execute(
                "SELECT station, component, period, amount_fen FROM receipt_allocations"
            )
        }
    finally:
        db.close()


def test_worked_example_split_by_accrued_amounts(july, tmp_path, capsys):
    rc, out, err = _import(july, _write(tmp_path, "r.csv", COAL_JULY), capsys)
    assert rc == 0, err
    assert "imported 1 receipts as 2 shares" in out
    # coal accrued: v-dongpi 513,318 + s-hh-1 15,412 = 528,730 fen; receipt 500,000 fen
    # v-dongpi: 500,000 x 513,318 / 528,730 = 485,425.453... -> floor 485,425
    # s-hh-1:   500,000 x  15,412 / 528,730 =  14,574.546... -> floor  14,574
    # 485,425 + 14,574 = 499,999: the missing fen goes to the larger remainder (.546, s-hh-1)
    assert _shares(july) == {
        ("v-dongpi", "coal_benchmark", "2026-07"): 485_425,
        ("s-hh-1", "coal_benchmark", "2026-07"): 14_575,
    }


def test_same_file_twice_and_same_receipt_in_another_file_change_nothing(july, tmp_path, capsys):
    f = _write(tmp_path, "r.csv", COAL_JULY)
    assert _import(july, f, capsys)[0] == 0
    before = _state(july)
    rc, out, _ = _import(july, f, capsys)
    assert rc == 0 and "already imported" in out
    assert _state(july) == before
    # another file (other bytes: a blank line and CRLF) with the identical receipt
    g = _write(tmp_path, "again.csv", COAL_JULY.replace("\n", "\r\n") + "\r\n")
    rc, out, _ = _import(july, g, capsys)
    assert rc == 0 and "1 receipts already imported before" in out
    assert _state(july)[1:3] == before[1:3]  # no receipt, no share added


def test_same_reference_with_another_amount_is_refused_naming_both(july, tmp_path, capsys):
    assert _import(july, _write(tmp_path, "first.csv", COAL_JULY), capsys)[0] == 0
    before = _state(july)
    other = COAL_JULY.replace("5000.00", "5000.01")
    rc, _, err = _import(july, _write(tmp_path, "second.csv", other), capsys)
    assert rc == 2
    assert "second.csv:2: reference: grid_company GD-001:" in err
    assert "500001 fen here" in err and "500000 fen imported before from first.csv line 2" in err
    assert _state(july) == before


def test_a_reference_twice_in_one_file_saying_two_things_names_both_lines(july, tmp_path, capsys):
    text = COAL_JULY + COAL_JULY.splitlines()[1].replace("v-dongpi;s-hh-1", "v-dongpi") + "\n"
    rc, _, err = _import(july, _write(tmp_path, "two.csv", text), capsys)
    assert rc == 2
    assert "two.csv:3: reference:" in err and "line 3 says" in err and "line 2 says" in err
    assert _state(july)[:3] == (0, 0, 0)


ROW = "2026-10-20,grid_company,v-dongpi,coal_benchmark,2026-07,100.00,R-1"
BAD = {
    "unknown station": (ROW.replace("v-dongpi", "v-nowhere"), "unknown station 'v-nowhere'"),
    "negative amount": (ROW.replace("100.00", "-100.00"), "'-100.00' is not positive"),
    "zero amount": (ROW.replace("100.00", "0"), "'0' is not positive"),
    "sub-fen amount": (ROW.replace("100.00", "100.005"), "finer than 1/100"),
    "bad date": (ROW.replace("2026-10-20", "2026-13-01"), "'2026-13-01' is not a date"),
    "date in the future": (ROW.replace("2026-10-20", "2099-01-01"), "2099-01-01 is in the future"),
    "period in the future": (
        ROW.replace("2026-07", "2026-11"),
        "2026-11 had not begun on 2026-10-20",
    ),
    "unknown component": (ROW.replace("coal_benchmark", "coal"), "'coal' is not a tariff"),
    "unknown payer": (ROW.replace("grid_company", "bank"), "'bank' is not a payer"),
    "bad period": (ROW.replace("2026-07", "2026-7"), "'2026-7' is not a month"),
    "no final run": (ROW.replace("2026-07", "2026-06"), "covers 2026-06 (1 month) with no final"),
    "a month of the range without a final run": (
        ROW.replace("2026-07", "2026-05..2026-07"),
        "covers 2026-05..2026-06 (2 months) with no final run",
    ),
    "empty reference": (ROW.replace("R-1", ""), "reference: empty"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_bad_row_exits_2_names_the_line_and_imports_nothing(july, tmp_path, capsys, case):
    row, message = BAD[case]
    # a good row first: the bad one must stop it too (all or nothing)
    text = HEAD + "2026-10-20,grid_company,s-hh-1,coal_benchmark,2026-07,10.00,OK-1\n" + row + "\n"
    rc, _, err = _import(july, _write(tmp_path, "bad.csv", text), capsys)
    assert rc == 2, err
    assert "bad.csv:3:" in err and message in err, err
    assert _state(july)[:3] == (0, 0, 0)


def test_the_real_cli_exits_2_on_a_bad_file_and_0_on_a_good_gbk_one(july, tmp_path):
    def run(f) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pvledger", "-c", str(july.path), "receipts", "import", str(f)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    bad = run(_write(tmp_path, "neg.csv", HEAD + ROW.replace("100.00", "-1") + "\n"))
    assert bad.returncode == 2 and "neg.csv:2: amount_yuan" in bad.stderr
    assert _state(july)[:3] == (0, 0, 0)
    zh = "到账日期,付款方,电站编号,电价组成,所属期,金额(分),凭证号\n"
    zh += "2026-10-20,电网公司,v-dongpi,coal_benchmark,2026-07,513318,国网-七月\n"
    ok = run(_write(tmp_path, "gbk.csv", zh, encoding="gbk"))
    assert ok.returncode == 0, ok.stderr
    assert _shares(july) == {("v-dongpi", "coal_benchmark", "2026-07"): 513_318}
    db = sqlite3.connect(ledger_path(july))
    assert db.execute("SELECT reference, payer FROM receipts").fetchall() == [
        ("国网-七月", "grid_company")
    ]
    db.close()


def test_a_grid_account_from_a_meter_import_names_the_station(july, tmp_path, capsys):
    meter = "station_id,account,period,export_kwh\nv-dongpi,3601001,2026-07,12390\n"
    assert _cli(july, "import-meter", str(_write(tmp_path, "m.csv", meter))) == 0
    text = (
        "received_on,payer,account,component,period,amount_fen,reference\n"
        "2026-10-20,grid_company,3601001,coal_benchmark,2026-07,1000,A-1\n"
        "2026-10-20,grid_company,3609999,coal_benchmark,2026-07,1000,A-2\n"
    )
    rc, _, err = _import(july, _write(tmp_path, "acct.csv", text), capsys)
    assert rc == 2 and "acct.csv:3: account: unknown grid account '3609999'" in err
    rc, _, err = _import(
        july, _write(tmp_path, "acct1.csv", text.rsplit("2026-10-20", 1)[0]), capsys
    )
    assert rc == 0, err
    assert _shares(july) == {("v-dongpi", "coal_benchmark", "2026-07"): 1000}


TAMPER = {
    "receipt amount edited": (
        "UPDATE receipts SET amount_fen=1",
        "receipts (grid_company, GD-001): amount_fen is 1, the chain says 500000",
    ),
    "receipt deleted": (
        "DELETE FROM receipts",
        "receipts (grid_company, GD-001): deleted (imported from r.csv line 2)",
    ),
    "share moved": (
        "UPDATE receipt_allocations SET amount_fen=amount_fen+1 WHERE station='s-hh-1'",
        "receipt_allocations (grid_company, GD-001, s-hh-1, coal_benchmark, 2026-07): "
        "amount_fen is 14576, the chain says 14575",
    ),
    "share deleted": (
        "DELETE FROM receipt_allocations WHERE station='v-dongpi'",
        "receipt_allocations (grid_company, GD-001, v-dongpi, coal_benchmark, 2026-07): deleted",
    ),
    "statement edited": (
        "UPDATE meter_statements SET export_wh=999000 WHERE station='v-dongpi'",
        "meter_statements (v-dongpi, 2026-07): export_wh is 999000, the chain says 12390000",
    ),
    "statement deleted": (
        "DELETE FROM meter_statements",
        "meter_statements (v-dongpi, 2026-07): deleted",
    ),
}


@pytest.mark.parametrize("case", sorted(TAMPER))
def test_verify_detects_an_edited_or_deleted_receipt_or_statement(july, tmp_path, capsys, case):
    meter = "station_id,account,period,export_kwh\nv-dongpi,3601001,2026-07,12390\n"
    assert _cli(july, "import-meter", str(_write(tmp_path, "m.csv", meter))) == 0
    assert _import(july, _write(tmp_path, "r.csv", COAL_JULY), capsys)[0] == 0
    capsys.readouterr()
    assert _cli(july, "revenue", "verify") == 0
    assert "1 receipt imports (1 receipts)" in capsys.readouterr().out
    sql, expected = TAMPER[case]
    path = ledger_path(july)
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(sql)  # the guard refuses first
    for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
        db.execute(f"DROP TRIGGER {t}")
    db.execute(sql)
    db.commit()
    db.close()
    capsys.readouterr()
    assert _cli(july, "revenue", "verify") == 1
    err = capsys.readouterr().err
    assert expected in err, err
    # nothing is built on the edit: receivables and a further import refuse (exit 1)
    assert _cli(july, "receivables", "--as-of", "2027-01-01") == 1
    more = HEAD + "2026-10-21,grid_company,s-hh-1,coal_benchmark,2026-07,1.00,GD-002\n"
    assert _import(july, _write(tmp_path, "more.csv", more), capsys)[0] == 1


def test_cover_months_of_every_documented_form():
    assert cover_months("2025-07") == ["2025-07"]
    assert cover_months("2025-Q3") == cover_months("2025Q3") == ["2025-07", "2025-08", "2025-09"]
    assert cover_months("2025") == [f"2025-{m:02d}" for m in range(1, 13)]
    assert cover_months("2024-Q4..2025-Q1") == [
        "2024-10", "2024-11", "2024-12", "2025-01", "2025-02", "2025-03",
    ]  # fmt: skip
    assert cover_months("2025-11;2025-12;2025-12") == ["2025-11", "2025-12"]
    assert len(cover_months("2023..2024")) == 24
    for bad in ("2025-13", "25-07", "2025-Q5", "2025-06..2025-01", "", "2000..2020"):
        with pytest.raises(ValueError):
            cover_months(bad)


keys = st.tuples(
    st.sampled_from(["s-a", "s-b", "s-c", "s-d"]),
    st.sampled_from(["coal_benchmark", "national_subsidy"]),
    st.sampled_from(["2025-01", "2025Q2", "2025-12"]),
)


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    accrued=st.dictionaries(keys, st.integers(min_value=0, max_value=10**10), min_size=1),
)
def test_splitting_never_creates_or_loses_a_fen(amount, accrued):
    if len(accrued) > 1 and not any(accrued.values()):
        with pytest.raises(ValueError):
            split(amount, accrued)
        return
    shares = split(amount, accrued)
    assert set(shares) == set(accrued)
    assert sum(shares.values()) == amount
    total = sum(accrued.values())
    for k, fen in shares.items():
        assert fen >= 0
        if total and len(accrued) > 1:
            exact = Fraction(amount * accrued[k], total)
            assert exact - 1 < fen < exact + 1  # largest remainder: within a fen of exact


def test_a_quarter_run_is_covered_whole_or_refused(tmp_path, capsys):
    # worked-quarter (DOMAIN.md example 3): 2026Q3 final, coal 12,843.30, subsidy 13,506.70
    cfg = setup_case("worked-quarter", tmp_path)
    assert _cli(cfg, "revenue", "--period", "2026Q3", "--final", "--out", str(tmp_path / "o")) == 0
    part = HEAD + "2026-10-20,grid_company,c-hexia,coal_benchmark,2026-07,4000.00,Q-1\n"
    rc, _, err = _import(cfg, _write(tmp_path, "part.csv", part), capsys)
    assert (
        rc == 2 and "part.csv:2: period: covers part of final run period(s) c-hexia 2026Q3" in err
    )
    assert _state(cfg)[:3] == (0, 0, 0)
    # the subsidy, paid by the transfer agency for July to September, covers it whole
    year = HEAD + "2026-11-10,transfer_agency,c-hexia,national_subsidy,2026-07..2026-09,"
    year += "13506.70,JZ-2026\n"
    rc, _, err = _import(cfg, _write(tmp_path, "year.csv", year), capsys)
    assert rc == 0, err
    assert _shares(cfg) == {("c-hexia", "national_subsidy", "2026Q3"): 1_350_670}
    capsys.readouterr()
    assert _cli(cfg, "receivables", "--as-of", "2027-06-01", "--format", "json") == 0
    import json

    rows = {r["component"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["national_subsidy"]["outstanding_fen"] == 0
    assert rows["national_subsidy"]["bucket"] == "settled"
    # coal of Q3 was due 2026-10-31 (quarter + 1 month) and nothing came: 213 days late
    assert (rows["coal_benchmark"]["outstanding_fen"], rows["coal_benchmark"]["days_past_due"]) == (
        1_284_330, 213,
    )  # fmt: skip


def test_a_ledger_from_before_receipts_gains_the_tables_without_a_false_alarm(july, capsys):
    # a schema-1 file as pvledger wrote it before receipts: no receipt tables, no triggers
    path = ledger_path(july)
    db = sqlite3.connect(path)
    for t in ("receipt_imports", "receipts", "receipt_allocations"):
        db.execute(f"DROP TRIGGER {t}_no_update")
        db.execute(f"DROP TRIGGER {t}_no_delete")
        db.execute(f"DROP TABLE {t}")
    db.commit()
    db.close()
    capsys.readouterr()
    assert _cli(july, "revenue", "verify") == 0, capsys.readouterr().err
    db = sqlite3.connect(path)
    names = {n for (n,) in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    assert {"receipts", "receipts_no_update", "receipt_allocations_no_delete"} <= names
    # once there, a dropped receipt trigger is reported like any other
    db = sqlite3.connect(path)
    db.execute("DROP TRIGGER receipts_no_delete")
    db.commit()
    db.close()
    assert _cli(july, "revenue", "verify") == 1
    assert "trigger receipts_no_delete had been dropped" in capsys.readouterr().err
