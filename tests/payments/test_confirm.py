"""Confirmations (issue 17 item 3): the bank's return file, checked against its batch.

Worked example: the batch of test_batch's county (lines 1 hh-1 123.45, 2 hh-3 7.00) comes
back with line 2 failed (账户已销户): paid 123.45 + failed 7.00 = 130.45, the batch total.
Every bad return file exits 2 and leaves the ledger as it was.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from revenue.bank_template import load_template
from revenue.confirm import results
from revenue.ledger import Ledger
from revenue.payments import confirm_file, make_batch
from revenue.payout import ledger_path
from tests.conftest import ROOT
from tests.payments import bank
from tests.payments.helpers import NOW, card, final_run, ledger_snapshot, write_config

HOUSEHOLDS = [
    {"id": "hh-1", "name": "张三华", "village": "dongpi", "account": card(1)},
    {"id": "hh-2", "name": "李四", "village": "dongpi"},
    {"id": "hh-3", "name": "王五", "village": "dongpi", "account": card(3)},
]


@pytest.fixture(params=["gen", "rcc"])
def batched(request, tmp_path):
    """(config, template, batch file bytes) with run 1 batched for the bank."""
    cfg = write_config(tmp_path / "county", HOUSEHOLDS)
    final_run(cfg, "2026-07", {"hh-1": 12345, "hh-2": 500, "hh-3": 700})
    with Ledger(ledger_path(cfg)) as ledger:
        out = make_batch(cfg, ledger, 1, bank_id=request.param, out_dir=tmp_path / "pay", now=NOW)
    t = load_template({"gen": "generic-csv", "rcc": "county-agri-xlsx"}[request.param], tmp_path)
    return cfg, t, out.written[0].read_bytes()


def _cli_confirm(cfg, path):
    return subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(cfg.path), "payments", "confirm", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_worked_example_paid_and_failed_tie_to_the_batch(batched, tmp_path):
    cfg, t, data = batched
    ret = tmp_path / f"return{t.suffix}"
    ret.write_bytes(bank.answer(t, data, {2: "账户已销户"}))
    proc = _cli_confirm(cfg, ret)
    assert proc.returncode == 0, proc.stderr
    assert "1 paid (123.45 yuan), 1 failed (7.00 yuan" in proc.stdout
    assert "failed: line 2 hh-3 7.00 yuan: 账户已销户" in proc.stdout
    with Ledger(ledger_path(cfg)) as ledger:
        assert results(ledger, "2026-07-r1") == {1: ("paid", ""), 2: ("failed", "账户已销户")}
        paid, failed = ledger.db.execute(
            "SELECT paid_fen, failed_fen FROM payment_confirmations"
        ).fetchone()
        assert (paid, failed) == (12345, 700) and paid + failed == 13045
        assert ledger.verify() == []


def _edit(t, data, change):
    """The bank's answer (all paid), with its rows changed by ``change(rows, line_rows)``."""
    rows = bank.read_rows(t, bank.answer(t, data))
    _, lines = bank.line_rows(t, rows)
    change(rows, lines)
    return bank.write_rows(t, rows)


def _col(t, field):
    return next(i for i, c in enumerate(t.columns) if c.field == field)


BAD = {
    "another batch": (
        lambda t, rows, lines: rows.__setitem__(
            _batch_row(t), [c.replace("2026-07-r1", "2026-06-r9") for c in rows[_batch_row(t)]]
        ),
        "batch '2026-06-r9', which this ledger does not hold",
    ),
    "unknown line": (
        lambda t, rows, lines: rows[lines[1]].__setitem__(0, "7"),
        "line 7: not a line of the batch",
    ),
    "unpaid line": (
        lambda t, rows, lines: rows[lines[1]].__setitem__(0, "3"),
        "line 3: an unpaid line, never sent",
    ),
    "line twice": (
        lambda t, rows, lines: rows[lines[1]].__setitem__(0, "1"),
        "line 1: given twice",
    ),
    "amount changed": (
        lambda t, rows, lines: rows[lines[0]].__setitem__(_col(t, "amount"), "123.46"),
        "amount '123.46' differs from the batch's 123.45",
    ),
    "account changed": (
        lambda t, rows, lines: rows[lines[0]].__setitem__(_col(t, "account"), card(9)),
        "line 1: account differs",
    ),
    "unknown status": (
        lambda t, rows, lines: rows[lines[0]].__setitem__(len(t.columns), "处理中"),
        "'处理中' is neither paid",
    ),
    "line missing": (
        lambda t, rows, lines: rows.pop(lines[1]),
        "line 2: missing",
    ),
    "header total changed": (
        lambda t, rows, lines: rows.__setitem__(
            _total_row(t), [c.replace("130.45", "130.46") for c in rows[_total_row(t)]]
        ),
        "(header total): says '130.46'",
    ),
}


def _batch_row(t):
    return next(i for i, r in enumerate(t.header) if any("{batch_id}" in c for c in r))


def _total_row(t):
    return next(i for i, r in enumerate(t.header) if any("{total}" in c for c in r))


@pytest.mark.parametrize("case", sorted(BAD))
def test_every_bad_return_file_exits_2_and_changes_nothing(batched, tmp_path, case):
    cfg, t, data = batched
    change, says = BAD[case]
    ret = tmp_path / f"bad{t.suffix}"
    ret.write_bytes(_edit(t, data, lambda rows, lines: change(t, rows, lines)))
    before = ledger_snapshot(cfg)
    proc = _cli_confirm(cfg, ret)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert says in proc.stderr
    assert ledger_snapshot(cfg) == before


def test_a_confirmation_is_recorded_once(batched, tmp_path):
    cfg, t, data = batched
    ret = tmp_path / f"return{t.suffix}"
    ret.write_bytes(bank.answer(t, data, {1: "户名不符"}))
    with Ledger(ledger_path(cfg)) as ledger:
        confirm_file(cfg, ledger, ret, now=NOW)
    before = ledger_snapshot(cfg)
    proc = _cli_confirm(cfg, ret)  # the same file again
    assert proc.returncode == 2 and "was confirmed at" in proc.stderr
    assert "(this same file)" in proc.stderr
    other = tmp_path / f"other{t.suffix}"
    other.write_bytes(bank.answer(t, data))  # a second answer, all paid this time
    proc = _cli_confirm(cfg, other)
    assert proc.returncode == 2 and "a batch is confirmed once" in proc.stderr
    assert ledger_snapshot(cfg) == before


def test_the_batch_file_itself_is_not_a_return_file(batched, tmp_path):
    cfg, t, data = batched
    f = tmp_path / f"batch{t.suffix}"
    f.write_bytes(data)
    before = ledger_snapshot(cfg)
    proc = _cli_confirm(cfg, f)
    assert proc.returncode == 2 and "not a return file" in proc.stderr
    assert ledger_snapshot(cfg) == before


def test_a_file_of_no_bank_is_refused(batched, tmp_path):
    cfg, _, _ = batched
    f = tmp_path / "notes.csv"
    f.write_bytes(b"hello,world\n")
    proc = _cli_confirm(cfg, f)
    assert proc.returncode == 2 and "names no batch of this ledger" in proc.stderr
