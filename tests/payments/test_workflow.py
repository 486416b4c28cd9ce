"""The monthly workflow through the real CLI on the late-money case (docs/payments.md):
revenue --final -> payments batch -> the bank -> payments confirm -> next run.

The case (tests/revenue/cases/late-money) has three households; here hh-1 and hh-3 get
valid cards and hh-2 keeps none. 2026-07: hh-1 is owed 385.65 yuan, hh-2 130.76 (the
numbers the case's run computes; hh-3 joins the cooperative in August). The batch sends
hh-1's line and lists hh-2's as unpaid; the bank fails hh-1's (户名不符, a wrong name).
The 2026-08 run then carries both, labelled, and its batch sends hh-1's 385.65 again;
hh-2's stays unpaid and is carried on. The ledger verifies throughout.
"""

from __future__ import annotations

import csv
import io

from stdnum import luhn

from pvledger.cli import main
from revenue.bank_template import load_template
from tests.payments import bank
from tests.revenue.helpers import setup_case


def _card(n: int) -> str:
    body = f"621700000000{n:03d}"
    return body + luhn.calc_check_digit(body)


def test_final_run_batch_confirm_and_the_next_run_carries_the_failures(tmp_path, capsys):
    cfg = setup_case("late-money", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace('account: "6217000000000001"', f'account: "{_card(1)}"')
    text = text.replace('account: "6217000000000003"', f'account: "{_card(3)}"')
    text += (
        "payments:\n  banks:\n    - {id: gen, template: generic-csv, payer_name: 测试县,"
        " payer_account: '3624010012345678'}\n"
    )
    cfg.path.write_text(text, encoding="utf-8")
    c = ["-c", str(cfg.path)]
    pay = tmp_path / "pay"
    assert (
        main([*c, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "7")]) == 0
    )
    hh7 = {
        r["household_id"]: int(r["amount_fen"])
        for r in csv.DictReader(
            io.StringIO((tmp_path / "7" / "households-2026-07.csv").read_text("utf-8-sig"))
        )
    }
    assert hh7 == {"hh-1": 38565, "hh-2": 13076}
    assert main([*c, "payments", "batch", "--run", "1", "--out", str(pay)]) == 0
    out = capsys.readouterr().out
    assert "1 transfers, total 385.65 yuan; 1 unpaid lines, 130.76 yuan" in out
    t = load_template("generic-csv", tmp_path)
    batch1 = pay / "batch-2026-07-r1-gen.csv"
    (tmp_path / "ret1.csv").write_bytes(bank.answer(t, batch1.read_bytes(), {1: "户名不符"}))
    assert main([*c, "payments", "confirm", str(tmp_path / "ret1.csv")]) == 0
    assert "0 paid (0.00 yuan), 1 failed (385.65 yuan" in capsys.readouterr().out

    assert (
        main([*c, "revenue", "--period", "2026-08", "--final", "--out", str(tmp_path / "8")]) == 0
    )
    adj = list(
        csv.DictReader(
            io.StringIO((tmp_path / "8" / "adjustment-lines-2026-08.csv").read_text("utf-8-sig"))
        )
    )
    carried = {(a["source"], a["ref"], a["payee"], int(a["amount_fen"])) for a in adj}
    assert ("carried_failed", "2026-07-r1/1", "hh-1", 38565) in carried
    assert ("carried_unpaid", "2026-07-r1/2", "hh-2", 13076) in carried
    labels = {a["ref"]: a["label_zh"] for a in adj}
    assert labels["2026-07-r1/1"] == "2026-07 退票重付（户名不符）"
    assert labels["2026-07-r1/2"] == "2026-07 未付结转（无有效银行账户）"

    assert main([*c, "payments", "batch", "--run", "2", "--out", str(pay)]) == 0
    rows = bank.read_rows(t, (pay / "batch-2026-08-r2-gen.csv").read_bytes())
    _, lines = bank.line_rows(t, rows)
    sent = {rows[i][5]: rows[i][3] for i in lines}
    assert sent["carried_failed/2026-07-r1/1"] == "385.65"
    assert "carried_unpaid/2026-07-r1/2" not in sent  # still no account: unpaid again
    unpaid = (pay / "unpaid-2026-08-r2.csv").read_text(encoding="utf-8-sig")
    assert "carried_unpaid/2026-07-r1/2" in unpaid
    capsys.readouterr()
    assert main([*c, "payments", "list"]) == 0
    listing = capsys.readouterr().out
    assert "2026-07-r1" in listing and "1 failed" in listing and "2026-08-r2" in listing
    assert main([*c, "revenue", "verify"]) == 0
