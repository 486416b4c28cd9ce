"""Bank batches (issue 17 item 3): the file of a final run, per the bank's template.

Worked example (three households of 东陂村, run 1 final for 2026-07):
  hh-1 张三华  valid card      12,345 fen -> line 1, 123.45 yuan
  hh-2 李四    no account          500 fen -> unpaid line 3 (no valid account)
  hh-3 王五    valid card          700 fen -> line 2,   7.00 yuan
  hh-4 赵六    valid card            0 fen -> no line (nothing owed)
  control total 123.45 + 7.00 = 130.45 yuan in 2 lines; unpaid 5.00 yuan;
  130.45 + 5.00 = 135.45 = 12,345 + 500 + 700 fen, the run's household lines.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from core.problems import BadInput
from revenue.bank_template import decode, load_template
from revenue.batch import load
from revenue.ledger import Ledger
from revenue.payments import make_batch
from revenue.payout import ledger_path
from tests.conftest import ROOT
from tests.payments.helpers import NOW, card, final_run, ledger_snapshot, write_config

VALID_ID = "11010519491231002X"


@pytest.fixture
def county(tmp_path):
    cfg = write_config(
        tmp_path / "county",
        [
            {"id": "hh-1", "name": "张三华", "village": "dongpi", "account": card(1),
             "id_number": VALID_ID},
            {"id": "hh-2", "name": "李四", "village": "dongpi"},
            {"id": "hh-3", "name": "王五", "village": "dongpi", "account": card(3)},
            {"id": "hh-4", "name": "赵六", "village": "dongpi", "account": card(4)},
        ],
        default="gen",
    )  # fmt: skip
    final_run(cfg, "2026-07", {"hh-1": 12345, "hh-2": 500, "hh-3": 700, "hh-4": 0})
    return cfg


def _batch(cfg, out, run=1, bank=None):
    with Ledger(ledger_path(cfg)) as ledger:
        return make_batch(cfg, ledger, run, bank_id=bank, out_dir=out, now=NOW)


def test_worked_example_generic_gbk_csv(county, tmp_path):
    out = _batch(county, tmp_path / "pay")
    b = out.batch
    assert b.batch_id == "2026-07-r1"
    assert [(ln.line_no, ln.payee, ln.amount_fen) for ln in b.transfers] == [
        (1, "hh-1", 12345),
        (2, "hh-3", 700),
    ]
    assert [(ln.line_no, ln.payee, ln.amount_fen) for ln in b.unpaid] == [(3, "hh-2", 500)]
    assert b.unpaid[0].reason.startswith("unpaid: no valid account")
    assert (b.total_fen, b.unpaid_fen) == (13045, 500)
    assert b.total_fen + b.unpaid_fen == 12345 + 500 + 700
    bank_file = tmp_path / "pay" / "batch-2026-07-r1-gen.csv"
    assert out.written[0] == bank_file
    text = bank_file.read_bytes().decode("gbk")  # GBK: what the bank's import screen reads
    rows = [r.split(",") for r in text.splitlines()]
    assert rows[0] == ["批次号", "2026-07-r1"]
    assert rows[2] == ["笔数", "2", "总金额", "130.45"]
    assert rows[3] == ["序号", "收款账号", "收款户名", "金额", "用途", "业务参考号"]
    assert rows[4] == ["1", card(1), "张三华", "123.45", "光伏扶贫收益 2026-07", "run1/hh-1"]
    assert rows[5] == ["2", card(3), "王五", "7.00", "光伏扶贫收益 2026-07", "run1/hh-3"]
    assert rows[6] == ["合计", "2", "130.45"]
    assert len(rows) == 7  # hh-2 (unpaid) and hh-4 (nothing owed) are not in the file
    unpaid = (tmp_path / "pay" / "unpaid-2026-07-r1.csv").read_text(encoding="utf-8-sig")
    assert "hh-2" in unpaid and "no valid account" in unpaid and card(1) not in unpaid


def test_agricultural_bank_xlsx_keeps_every_digit_and_the_id_number(county, tmp_path):
    out = _batch(county, tmp_path / "pay", bank="rcc")
    t = load_template("county-agri-xlsx", county.base_dir)
    rows = decode(t, out.written[0].read_bytes(), "x")
    assert rows[0][0] == "代发业务批量明细"
    assert rows[2][:2] == ["批次号", "2026-07-r1"]
    assert rows[3] == ["总笔数", "2", "总金额(元)", "130.45"]
    line = rows[5]
    assert line[:5] == ["1", card(1), "张三华", "123.45", VALID_ID]
    assert len(card(1)) == 19  # text cells: a number would have lost the last digits


def test_files_are_written_0600_whatever_the_umask(county, tmp_path):
    old = os.umask(0)
    try:
        out = _batch(county, tmp_path / "pay")
    finally:
        os.umask(old)
    for p in out.written:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_a_second_batch_of_the_run_writes_the_same_file_and_records_nothing(county, tmp_path):
    first = _batch(county, tmp_path / "a")
    before = ledger_snapshot(county)
    again = _batch(county, tmp_path / "b")
    assert not again.new and first.new
    assert again.written[0].read_bytes() == first.written[0].read_bytes()
    assert ledger_snapshot(county) == before


@pytest.mark.parametrize(
    ("setup", "args", "says"),
    [
        ("draft", ["--run", "2"], "run 2 is a draft run"),
        ("none", ["--run", "9"], "there is no run 9"),
        ("superseded", ["--run", "1"], "superseded by run 2"),
        ("batched", ["--run", "1", "--bank", "rcc"], "was batched for bank gen"),
        ("none", ["--run", "1", "--bank", "nosuch"], "no bank 'nosuch'"),
        ("corrected after batch", ["--run", "2"], "which batch 2026-07-r1 already paid"),
    ],
)
def test_bad_batch_requests_exit_2_and_change_nothing(county, tmp_path, setup, args, says):
    if setup == "draft":
        final_run(county, "2026-08", {"hh-1": 1}, status="draft")
    elif setup == "superseded":
        final_run(county, "2026-07", {"hh-1": 12346}, supersedes=1)
    elif setup == "batched":
        _batch(county, tmp_path / "first")
    elif setup == "corrected after batch":
        _batch(county, tmp_path / "first")
        final_run(county, "2026-07", {"hh-1": 12346}, supersedes=1)
    before = ledger_snapshot(county)
    proc = subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(county.path), "payments", "batch", *args,
         "--out", str(tmp_path / "refused")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert says in proc.stderr
    assert ledger_snapshot(county) == before
    assert not (tmp_path / "refused").exists()


def test_recorded_batches_are_covered_by_revenue_verify(county, tmp_path):
    _batch(county, tmp_path / "pay")
    with Ledger(ledger_path(county)) as ledger:
        assert ledger.verify() == []
        assert load(ledger, "2026-07-r1").total_fen == 13045
    # someone drops the guard and raises a line's amount
    db = sqlite3.connect(ledger_path(county))
    db.execute("DROP TRIGGER payment_lines_no_update")
    db.execute("UPDATE payment_lines SET amount_fen = 99999 WHERE line_no = 1")
    db.commit()
    db.close()
    with Ledger(ledger_path(county)) as ledger:
        problems = ledger.verify()
    assert any("payment_lines (2026-07-r1, 1): amount_fen is 99999" in p for p in problems)
    # and no further money moves on that ledger
    proc = subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(county.path), "payments", "batch",
         "--run", "1", "--out", str(tmp_path / "again")],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1 and "fails verification" in proc.stderr


def test_a_template_is_data_beside_the_config(county, tmp_path):
    (county.base_dir / "mybank.yaml").write_text(
        "name: mybank\nformat: csv\nencoding: utf-8\ndelimiter: '|'\namount_unit: fen\n"
        "header:\n  - ['H', '{batch_id}', '{count}', '{total}']\n"
        'columns:\n  - {title: "no", field: line_no}\n  - {title: acct, field: account}\n'
        "  - {title: fen, field: amount}\n"
        "trailer: []\n"
        "return: {status_title: st, reason_title: why, paid: [OK], failed: [NG]}\n",
        encoding="utf-8",
    )
    text = county.path.read_text(encoding="utf-8").replace(
        "  banks:\n", "  banks:\n    - {id: my, template: mybank.yaml}\n"
    )
    county.path.write_text(text, encoding="utf-8")
    from core.config import load_config

    cfg = load_config(county.path)
    out = _batch(cfg, tmp_path / "pay", bank="my")
    assert out.written[0].read_text(encoding="utf-8").splitlines() == [
        "H|2026-07-r1|2|13045",
        "no|acct|fen",
        f"1|{card(1)}|12345",
        f"2|{card(3)}|700",
    ]


def test_a_bad_template_exits_2_naming_the_file_and_key(county, tmp_path):
    (county.base_dir / "bad.yaml").write_text(
        "name: bad\nformat: csv\nheader: [['{batch}']]\n"
        "columns:\n  - {title: no, field: line_no}\n  - {title: a, field: iban}\n"
        "return: {status_title: s, reason_title: r, paid: [y], failed: [n]}\n",
        encoding="utf-8",
    )
    text = county.path.read_text(encoding="utf-8").replace(
        "  banks:\n", "  banks:\n    - {id: bad, template: bad.yaml}\n"
    )
    county.path.write_text(text, encoding="utf-8")
    from core.config import load_config

    cfg = load_config(county.path)
    with pytest.raises(BadInput) as exc:
        _batch(cfg, tmp_path / "pay", bank="bad")
    msg = exc.value.render()
    assert "bad.yaml" in msg and "columns.1.field" in msg
    with Ledger(ledger_path(cfg)) as ledger:
        assert load(ledger, "2026-07-r1") is None
