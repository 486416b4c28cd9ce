"""`pvledger plans import FILE.xlsx`: the sheet a village keeps -> a plans.villages entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from openpyxl import Workbook

from core.config import load_config
from core.config.plans import Plan
from pvledger.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "plan-dongpi-2026.xlsx"
HEADER = ["kind", "name", "household", "yuan", "month", "months", "reference", "date"]


def _sheet(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "plan"
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_the_shipped_example_is_the_demo_plan_of_dongpi(tmp_path: Path, capsys):
    out = tmp_path / "dongpi-2026.yaml"
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(EXAMPLE), "--out",
                 str(out)]) == 0  # fmt: skip
    entries = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert len(entries) == 1
    got = Plan.model_validate(entries[0])
    want = load_config(ROOT / "config.yaml").plans.plan_for("dongpi", 2026)
    assert got == want
    assert "add it under plans.villages" in capsys.readouterr().out


def test_english_headers_numbers_and_dates_as_cells(tmp_path: Path, capsys):
    f = _sheet(tmp_path / "p.xlsx", [
        ["village", "dongpi"], ["year", 2027], ["income", None, None, 20000],
        ["post", "保洁员", "hh-0001", 600.5, 3, 6],
        ["assembly", None, None, None, None, None, "决议1", dt.datetime(2026, 12, 1)],
        ["township", None, None, None, None, None, "审核1", "2026-12-02"],
        ["county", None, None, None, None, None, "备案1", dt.date(2026, 12, 3)],
    ])  # fmt: skip
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(f)]) == 0
    plan = Plan.model_validate(yaml.safe_load(capsys.readouterr().out)[0])
    assert plan.year == 2027 and str(plan.income_yuan) == "20000.00"
    post = plan.posts[0]
    assert (str(post.yuan_per_month), post.from_month, post.months) == ("600.50", 3, 6)
    assert plan.approvals.township.date == dt.date(2026, 12, 2)
    assert plan.approvals.assembly.date == dt.date(2026, 12, 1)


def test_bad_cells_exit_2_naming_each_cell_and_write_nothing(tmp_path: Path, capsys):
    f = _sheet(tmp_path / "bad.xlsx", [
        ["village", "dongpi"], ["year", 2027], ["income", None, None, "20000.00"],
        ["post", "保洁员", "hh-0001", "6oo"],             # row 5: D5 not an amount
        ["bonus", "过节费"],                               # row 6: A6 unknown kind
        ["post", "护林员", "hh-0020", 600.123],           # row 7: D7 three decimals
        ["project", "村道", None, "100.00", "June"],      # row 8: E8 not a month number
        ["county", None, None, None, None, None, "备案1", "2026-13-01"],  # row 9: H9
    ])  # fmt: skip
    out = tmp_path / "out.yaml"
    code = main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(f), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    for cell, words in [
        ("plan!D5", "'6oo' is not an amount"),
        ("plan!A6", "unknown row kind 'bonus'"),
        ("plan!D7", "at most two decimals"),
        ("plan!E8", "'June' is not a whole number"),
        ("plan!H9", "is not a date"),
    ]:
        assert cell in err and words in err, (cell, err)
    assert not out.exists()


def test_unknown_household_and_model_errors_are_named(tmp_path: Path, capsys):
    f = _sheet(tmp_path / "p.xlsx", [
        ["village", "dongpi"], ["year", 2027], ["income", None, None, "1000.00"],
        ["post", "保洁员", "hh-9999", "600.00"],
        ["award", "助学", "hh-0058", "100.00", 13],
    ])  # fmt: skip
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(f)]) == 2
    err = capsys.readouterr().err
    assert "awards.0.month" in err  # 13 is no month: the model's check, by key path
    f = _sheet(tmp_path / "q.xlsx", [
        ["village", "dongpi"], ["year", 2027], ["income", None, None, "1000.00"],
        ["post", "保洁员", "hh-9999", "600.00"],
    ])  # fmt: skip
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(f)]) == 2
    assert "posts.0.holder" in (e := capsys.readouterr().err) and "unknown household" in e


def test_missing_rows_and_not_a_workbook(tmp_path: Path, capsys):
    f = _sheet(tmp_path / "p.xlsx", [["village", "dongpi"]])
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(f)]) == 2
    err = capsys.readouterr().err
    assert "no year row" in err and "no income_yuan row" in err
    g = tmp_path / "x.xlsx"
    g.write_text("not a workbook", encoding="utf-8")
    assert main(["-c", str(ROOT / "config.yaml"), "plans", "import", str(g)]) == 2
    assert "not a readable xlsx workbook" in capsys.readouterr().err
