"""The demo's payment step (pvledger/demo/payments.py) on a real final run: batch, the
bank's answer with its first transfers failed, confirmation, the next run's carried lines
and the summary page report.html links (names and accounts masked)."""

from __future__ import annotations

import stat

from pvledger.cli import main
from pvledger.demo.payments import FAILURES, next_period_id, write_payments
from revenue.ledger import Ledger
from revenue.payout import ledger_path
from tests.payments.helpers import card
from tests.revenue.helpers import setup_case


def test_next_period():
    assert next_period_id("2026-07") == "2026-08"
    assert next_period_id("2026-12") == "2027-01"
    assert next_period_id("2026Q4") == "2027Q1"


def test_demo_payment_step_on_a_final_run(tmp_path):
    cfg = setup_case("late-money", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace('account: "6217000000000001"', f'account: "{card(1)}"')
    text += "payments:\n  banks:\n    - {id: rcc, template: county-agri-xlsx}\n"
    cfg.path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-c", str(cfg.path), "revenue", "--period", "2026-07", "--final",
                 "--out", str(out)]) == 0  # fmt: skip
    from core.config import load_config

    cfg = load_config(cfg.path)
    with Ledger(ledger_path(cfg)) as ledger:
        record = ledger.effective_final("2026-07")
    p, links = write_payments(cfg, record, out, "zh")
    assert p.batch_id == "2026-07-r1" and p.transfers == 1 and p.unpaid == 1
    assert p.failed == ((1, "hh-1", 38565, FAILURES[0]),)
    assert p.paid_fen == 0
    carried = {(a.source, a.ref, a.amount_fen) for a in p.carried}
    assert carried == {
        ("carried_failed", "2026-07-r1/1", 38565),
        ("carried_unpaid", "2026-07-r1/2", 13076),
    }
    assert p.next_period == "2026-08"
    batch_file = out / "payments" / "batch-2026-07-r1-rcc.xlsx"
    assert stat.S_IMODE(batch_file.stat().st_mode) == 0o600
    _, name = links[0]
    page = (out / name).read_text(encoding="utf-8")
    assert "账户已销户" in page and "385.65" in page and "2026-08" in page
    assert "张*华" in page and "张三华" not in page and card(1) not in page
