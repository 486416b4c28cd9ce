"""Annual statements on a real ledger: the late-money case finalized for July and August
2026 through the CLI (a late subsidy, a line unpaid for want of an account). Every total
is held against the files the ledger recorded with the runs."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import defaultdict

import pytest
from openpyxl import load_workbook

from core.config import load_config
from pvledger.cli import main
from revenue.capital_numerals import capital_yuan
from revenue.ledger import Ledger
from revenue.money import fen_to_yuan_str
from revenue.payout import ledger_path
from revenue.statements import household_statements, village_statements, year_runs
from tests.revenue.helpers import read_csv, setup_case
from tests.revenue.test_late_money import RECEIPTS


@pytest.fixture
def year(tmp_path):
    """The late-money case with 2026-07 and 2026-08 final (the July subsidy paid late)."""
    cfg = setup_case("late-money", tmp_path)
    c = ["-c", str(cfg.path)]
    assert (
        main([*c, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "7")]) == 0
    )
    (tmp_path / "r.csv").write_text(RECEIPTS, encoding="utf-8")
    assert main([*c, "receipts", "import", str(tmp_path / "r.csv")]) == 0
    assert (
        main([*c, "revenue", "--period", "2026-08", "--final", "--out", str(tmp_path / "8")]) == 0
    )
    return cfg


def _recorded(cfg, table: str) -> dict[str, list[dict]]:
    """period -> rows of a table, from the files the ledger recorded with the final runs."""
    with Ledger(ledger_path(cfg)) as led:
        return {
            r.period: read_csv(led.files(r.seq)[f"{table}-{r.period}.csv"])
            for r in year_runs(led, 2026)
        }


def test_totals_tie_to_the_runs(year):
    cfg = year
    households = _recorded(cfg, "households")
    pools = _recorded(cfg, "villages")
    assert sorted(households) == ["2026-07", "2026-08"]
    paid: dict[str, dict[str, int]] = defaultdict(dict)
    for period, rows in households.items():
        for r in rows:
            paid[r["household_id"]][period] = int(r["amount_fen"])
    with Ledger(ledger_path(cfg)) as led:
        hs = household_statements(cfg, led, 2026)
        (vs,) = village_statements(cfg, led, 2026)
    assert {s.household_id for s in hs} == set(paid)
    for s in hs:
        repaid = sum(r.amount_fen for r in s.repaid)
        assert s.total_fen + repaid == sum(paid[s.household_id].values())
        by = s.by_period()
        for period, fen in paid[s.household_id].items():
            again = sum(r.amount_fen for r in s.repaid if r.period == period)
            assert sum(by[period].values()) + again == fen, (s.household_id, period)
    # hh-2 has no account: its late subsidy is listed unpaid, not counted
    hh2 = next(s for s in hs if s.household_id == "hh-2")
    assert [u.category for u in hh2.unpaid] == ["late_subsidy"] and hh2.unpaid[0].amount_fen > 0
    # hh-1's late subsidy is income of its own category, from the August run
    hh1 = next(s for s in hs if s.household_id == "hh-1")
    assert hh1.by_period()["2026-08"]["late_subsidy"] > 0
    assert any(d.name == "loan_interest" and d.amount_fen == 3000 for d in hh1.deductions)

    # the village: pools' income is the runs' pool rows; jobs closing = what the last run left
    rows = [r for p in pools.values() for r in p if r["village_id"] == "dongpi"]
    assert sum(p.income_fen for p in vs.pools) == sum(int(r["amount_fen"]) for r in rows)
    assert sum(p.paid_fen for p in vs.pools) == sum(int(r["posts_paid_fen"]) for r in rows)
    jobs = next(p for p in vs.pools if p.pool == "jobs")
    aug_jobs = [r for r in pools["2026-08"] if r["pool"] == "jobs"]
    assert jobs.closing_fen == sum(int(r["balance_fen"]) for r in aug_jobs)
    assert vs.households_fen == sum(sum(v.values()) for v in paid.values())
    assert [r[4] for r in vs.receipts] == [100000]  # the receipt of v-dongpi only


def test_cli_writes_xlsx_and_pdf(year, tmp_path, capsys):
    cfg = year
    out = tmp_path / "st"
    assert main(["-c", str(cfg.path), "statements", "--year", "2026", "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        f"statement-2026-{who}.{ext}"
        for who in ("household-hh-1", "household-hh-2", "household-hh-3", "village-dongpi")
        for ext in ("xlsx", "pdf")
    )
    with Ledger(ledger_path(cfg)) as led:
        hh1 = household_statements(cfg, led, 2026, "hh-1")[0]
    wb = load_workbook(io.BytesIO((out / "statement-2026-household-hh-1.xlsx").read_bytes()))
    ws = wb["按月汇总"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[-1][0] == "全年合计" and round(rows[-1][-1] * 100) == hh1.total_fen
    assert ws.cell(row=len(rows), column=len(rows[0])).number_format == "#,##0.00"

    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: apt-get install poppler-utils")

    def text(name: str) -> str:
        pdf = str(out / name)
        got = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True)
        return "".join(got.stdout.split())

    t = text("statement-2026-household-hh-2.pdf")
    assert "李四" in t  # the household's own statement
    assert "未付款项" in t and "无银行账户" in t
    v = text("statement-2026-village-dongpi.pdf")
    for h in cfg.households:  # the village's is public: names masked
        assert h.name not in v
    assert "张*华" in v and "年度公开" in v
    assert f"全年收益合计{fen_to_yuan_str(hh1.total_fen)}元（{capital_yuan(hh1.total_fen)}）" in (
        text("statement-2026-household-hh-1.pdf")
    )


def test_one_household_or_village_and_bad_input(year, tmp_path, capsys):
    cfg = year
    c = ["-c", str(cfg.path), "statements", "--out"]
    one = tmp_path / "one"
    assert main([*c, str(one), "--year", "2026", "--household", "hh-1"]) == 0
    assert sorted(p.name for p in one.iterdir()) == [
        "statement-2026-household-hh-1.pdf",
        "statement-2026-household-hh-1.xlsx",
    ]
    vil = tmp_path / "vil"
    assert main([*c, str(vil), "--year", "2026", "--village", "dongpi"]) == 0
    assert len(list(vil.iterdir())) == 2
    bad = tmp_path / "bad"
    assert main([*c, str(bad), "--year", "2025"]) == 2
    assert "no final payout run of 2025" in capsys.readouterr().err
    assert main([*c, str(bad), "--year", "2026", "--household", "nobody"]) == 2
    assert main([*c, str(bad), "--year", "2026", "--village", "nowhere"]) == 2
    assert "one of: dongpi" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:  # argparse: one or the other
        main([*c, str(bad), "--year", "2026", "--household", "hh-1", "--village", "dongpi"])
    assert e.value.code == 2
    assert not bad.exists()
    # a quarter finalized beside its months would count their money twice
    q = ["-c", str(cfg.path), "revenue", "--period", "2026Q3", "--final", "--out"]
    assert main([*q, str(tmp_path / "q")]) == 0
    assert main([*c, str(bad), "--year", "2026"]) == 2
    assert "cover the same days" in capsys.readouterr().err


def test_bank_lines_and_a_returned_transfer(tmp_path):
    """July's batch: hh-1's transfer comes back (户名不符), hh-2 has no account; August pays
    hh-1 again as a carried line: on the statement once as income, once as paid again."""
    from revenue.bank_template import load_template
    from revenue.payments import confirm_file, make_batch
    from tests.payments import bank
    from tests.payments.helpers import NOW, card

    cfg = setup_case("late-money", tmp_path)
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace('"6217000000000001"', f'"{card(1)}"')
    text = text.replace('"6217000000000003"', f'"{card(3)}"')
    text += (
        "payments:\n  banks:\n    - {id: gen, template: generic-csv, payer_name: 测试县乡村振兴局, "
        'payer_account: "3624010012345678"}\n'
    )
    cfg.path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg.path)
    c = ["-c", str(cfg.path), "revenue", "--final", "--out"]
    assert main([*c, str(tmp_path / "7"), "--period", "2026-07"]) == 0
    with Ledger(ledger_path(cfg)) as led:
        made = make_batch(cfg, led, 1, bank_id="gen", out_dir=tmp_path / "pay", now=NOW)
        (line,) = [n for n, p in led.db.execute("SELECT line_no, payee FROM payment_lines")
                   if p == "hh-1"]  # fmt: skip
    t = load_template("generic-csv", tmp_path)
    ret = tmp_path / "return.csv"
    ret.write_bytes(bank.answer(t, made.written[0].read_bytes(), {line: "户名不符"}))
    with Ledger(ledger_path(cfg)) as led:
        confirm_file(cfg, led, ret, now=NOW)
    assert main([*c, str(tmp_path / "8"), "--period", "2026-08"]) == 0
    july = {
        r["household_id"]: int(r["amount_fen"]) for r in _recorded(cfg, "households")["2026-07"]
    }
    with Ledger(ledger_path(cfg)) as led:
        hh = {s.household_id: s for s in household_statements(cfg, led, 2026)}
    (pay,) = [p for p in hh["hh-1"].payments if p.period == "2026-07"]
    assert (pay.status, pay.reason, pay.date, pay.amount_fen) == (
        "failed",
        "户名不符",
        NOW.date().isoformat(),
        july["hh-1"],
    )
    assert [(p.status, p.amount_fen) for p in hh["hh-2"].payments] == [("unpaid", july["hh-2"])]
    # paid again in August, and counted as income once (in July)
    assert [(r.period, r.amount_fen) for r in hh["hh-1"].repaid] == [("2026-08", july["hh-1"])]
    assert hh["hh-1"].by_period()["2026-07"] and sum(
        hh["hh-1"].by_period()["2026-07"].values()) == july["hh-1"]  # fmt: skip
    assert main(["-c", str(cfg.path), "statements", "--year", "2026", "--household", "hh-1",
                 "--out", str(tmp_path / "st")]) == 0  # fmt: skip
    got = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "st" / "statement-2026-household-hh-1.pdf"), "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    flat = "".join(got.stdout.split())
    assert "退票" in flat and "户名不符" in flat and "结转重付" in flat


def test_village_uses_by_the_plan(tmp_path, capsys):
    """With a village plan (tests/revenue/test_plans.py), July and August final: each plan
    line's year paid and unpaid, tied to the runs' plan-lines and to the pools' paid."""
    from tests.revenue.test_plans import GOOD_PLAN, _config

    path = _config(tmp_path, GOOD_PLAN)
    c = ["-c", str(path)]
    stmt = tmp_path / "statement.csv"
    stmt.write_text(
        "station_id,period,export_kwh,statement_no\n"
        "v-dongpi,2026-07,12390,GS-7\nv-dongpi,2026-08,11800,GS-8\n",
        encoding="utf-8",
    )
    assert main([*c, "import-meter", str(stmt)]) == 0
    for month in ("2026-07", "2026-08"):
        out = str(tmp_path / month)
        assert main([*c, "revenue", "--period", month, "--final", "--out", out]) == 0
    cfg = load_config(path)
    plan = [r for rows in _recorded(cfg, "plan-lines").values() for r in rows]
    with Ledger(ledger_path(cfg)) as led:
        (vs,) = village_statements(cfg, led, 2026, "dongpi")
        hs = {s.household_id: s for s in household_statements(cfg, led, 2026)}
    by_line = {name: (paid, unpaid) for name, _, paid, unpaid in vs.plan_uses}
    assert set(by_line) == {"保洁员", "护林员", "村道修补", "孝老爱亲奖"}
    for name, (paid, unpaid) in by_line.items():
        mine = [r for r in plan if r["plan_line"].endswith(" " + name)]
        assert paid == sum(int(r["amount_fen"]) for r in mine if r["paid"] == "yes")
        assert unpaid == sum(int(r["amount_fen"]) for r in mine if r["paid"] == "no")
    assert sum(p for p, _ in by_line.values()) == sum(p.paid_fen for p in vs.pools)
    # the post holder's statement has the wages as income of their own kind
    wages = sum(
        int(r["amount_fen"]) for r in plan if "保洁员" in r["plan_line"] and r["paid"] == "yes"
    )
    assert sum(by["post_wages"] for by in hs["hh-1"].by_period().values()) == wages > 0
    st = tmp_path / "st"
    assert main([*c, "statements", "--year", "2026", "--village", "dongpi", "--out", str(st)]) == 0
    got = subprocess.run(
        ["pdftotext", "-layout", str(st / "statement-2026-village-dongpi.pdf"), "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "按分配计划使用" in got.stdout and "村道修补" in got.stdout
