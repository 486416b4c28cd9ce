"""The printable notice (公示): a real final run in a real ledger, the CLI, the PDF read back
with pdftotext and rendered with pdftoppm."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from core.config import load_config
from core.store import open_store
from pvledger.cli import main
from revenue.capital_numerals import capital_yuan
from revenue.ledger import Ledger
from revenue.money import fen_to_yuan_str
from revenue.notice import check_code, normalize_code
from revenue.payout import ledger_path, payout
from revenue.period import parse_period
from tests.revenue.helpers import read_csv, setup_case

AUGUST = parse_period("2026-08")
PHONE = "0796-8221234"


def _needs(tool: str) -> None:
    if shutil.which(tool) is None:  # scripts/test installs poppler-utils
        pytest.fail(f"{tool} is missing: apt-get install poppler-utils")


def _case(tmp_path: Path):
    cfg = setup_case("several-schemes", tmp_path)
    with cfg.path.open("a", encoding="utf-8") as f:
        f.write(
            f'notice: {{days: 7, complaint_phone: "{PHONE}", complaint_office: 测试县乡村振兴局}}\n'
        )
    return load_config(cfg.path)


def _final(cfg, tmp_path: Path, **kw):
    with open_store(cfg, readonly=True) as store:
        return payout(cfg, store, AUGUST, out_dir=tmp_path / "run", final=True, **kw)


def _text(pdf: Path) -> str:
    _needs("pdftotext")
    return subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout


def test_notice_pdf_text_png_and_check_code(tmp_path, capsys):
    cfg = _case(tmp_path)
    out = _final(cfg, tmp_path)
    seq = out.record.seq
    rc = main(
        ["-c", str(cfg.path), "notice", "--run", str(seq), "--village", "dongpi",
         "--out", str(tmp_path / "n"), "--date", "2026-09-05"]
    )  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    pdf = tmp_path / "n" / "notice-2026-08-dongpi.pdf"
    text = _text(pdf)
    flat = "".join(text.split())  # pdftotext wraps long cells: compare without spaces

    # names masked, never in full; the other village's household is not on this sheet
    households = read_csv(out.files["households-2026-08.csv"])
    mine = [r for r in households if r["village_id"] == "dongpi"]
    assert {r["household_id"] for r in mine} == {"hh-1", "hh-2"}
    for h in cfg.households:
        assert h.name not in flat
    assert "张*华" in flat and "李*" in flat and "欧**明" not in flat
    # each household's amount in figures and in capital numerals, as the ledger recorded it
    for r in mine:
        fen = int(r["amount_fen"])
        assert fen_to_yuan_str(fen) in flat and capital_yuan(fen) in flat
    total = sum(int(r["amount_fen"]) for r in mine)
    assert f"合计2户{fen_to_yuan_str(total)}{capital_yuan(total)}" in flat
    pools = [r for r in read_csv(out.files["villages-2026-08.csv"]) if r["village_id"] == "dongpi"]
    pools_fen = sum(int(r["amount_fen"]) for r in pools)
    for r in pools:
        assert fen_to_yuan_str(int(r["amount_fen"])) in flat
    assert f"村集体本期收益合计{fen_to_yuan_str(pools_fen)}元（{capital_yuan(pools_fen)}）" in flat
    assert "公益岗位" in flat and "小型公益事业" in flat and "奖励补助" in flat
    assert "公示期：2026年9月5日至2026年9月11日（7天）" in flat
    assert PHONE in flat and "测试县乡村振兴局" in flat
    code = check_code(out.record.hash, "dongpi")
    assert f"核对码：{code}" in flat
    assert text.count(code) >= 2  # on the sheet and in the page footer

    # the font is embedded (a printed sheet looks the same anywhere)
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True)
    rows = fonts.stdout.splitlines()[2:]
    cjk = [r for r in rows if "TrueType" in r]
    assert cjk and all(r.split()[-5] == "yes" for r in cjk), fonts.stdout  # emb column
    # reportlab's document always lists base-14 Helvetica; nothing else may go unembedded
    assert all(r.startswith("Helvetica ") for r in rows if r not in cjk), fonts.stdout

    # rendered: an A4 page (portrait) with ink on it
    _needs("pdftoppm")
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "p")], check=True)
    pngs = sorted(tmp_path.glob("p*.png"))
    assert len(pngs) == 1
    img = Image.open(pngs[0]).convert("L")
    w, h = img.size
    assert abs(h / w - 297 / 210) < 0.02
    dark = img.histogram()[:128]
    dark = sum(dark)
    assert dark > w * h * 0.005, "the page is blank"

    # the same code checked from the command line: the run, the village and the totals
    capsys.readouterr()
    assert main(["-c", str(cfg.path), "notice", "--check", code.upper()]) == 0
    said = capsys.readouterr().out
    assert f"run {seq} (final)" in said and fen_to_yuan_str(total) in said
    assert fen_to_yuan_str(pools_fen) in said
    assert main(["-c", str(cfg.path), "notice", "--check", "0" * 10]) == 1


def test_every_village_by_default_and_byte_identical(tmp_path, capsys):
    cfg = _case(tmp_path)
    seq = str(_final(cfg, tmp_path).record.seq)
    args = ["-c", str(cfg.path), "notice", "--run", seq, "--date", "2026-09-05", "--out"]
    assert main([*args, str(tmp_path / "a")]) == 0
    assert main([*args, str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["notice-2026-08-dongpi.pdf", "notice-2026-08-shangxi.pdf"]
    for n in names:
        assert (tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes()
    flat = "".join(_text(tmp_path / "a" / "notice-2026-08-shangxi.pdf").split())
    assert "欧**明" in flat and "本期无村集体收益" in flat


def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    cfg = _case(tmp_path)
    c = ["-c", str(cfg.path), "notice", "--out", str(tmp_path / "x")]
    assert main([*c, "--run", "1"]) == 2  # no ledger yet
    with open_store(cfg, readonly=True) as store:
        draft = payout(cfg, store, AUGUST, out_dir=None)
    assert main([*c, "--run", str(draft.record.seq)]) == 2  # a draft is not published
    assert "only a final run" in capsys.readouterr().err
    first = _final(cfg, tmp_path)
    assert main([*c, "--run", "99"]) == 2
    assert main([*c, "--run", str(first.record.seq), "--village", "nowhere"]) == 2
    assert "one of: dongpi, shangxi" in capsys.readouterr().err
    assert main([*c, "--run", str(first.record.seq), "--date", "2026-13-01"]) == 2
    assert main([*c, "--check", "not-a-code"]) == 2
    assert not (tmp_path / "x").exists()

    # a correction supersedes the run: its notice is refused, its code says so
    with open_store(cfg, readonly=True) as store:
        fix = payout(cfg, store, AUGUST, out_dir=None, supersede=True, reason="re-checked")
    assert main([*c, "--run", str(first.record.seq)]) == 2
    assert f"superseded by run {fix.record.seq}" in capsys.readouterr().err
    old = check_code(first.record.hash, "dongpi")
    assert main(["-c", str(cfg.path), "notice", "--check", old]) == 0
    assert f"superseded by run {fix.record.seq}" in capsys.readouterr().out
    with Ledger(ledger_path(cfg)) as led:
        assert led.verify() == []


def test_normalize_code() -> None:
    assert normalize_code(" 78DC0-088F9 ") == "78dc0088f9"
    assert normalize_code("78dc0088f") is None and normalize_code("78dc0088fg") is None


def test_late_money_on_the_notice_with_its_label_and_unpaid_line(tmp_path, capsys):
    """A late subsidy (revenue/late_money.py) is on the sheet with its zh label; a line the
    run could not pay (no account) is listed with the reason and not counted."""
    from tests.revenue.test_late_money import RECEIPTS

    cfg = setup_case("late-money", tmp_path)
    c = ["-c", str(cfg.path)]
    assert (
        main([*c, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "7")]) == 0
    )
    (tmp_path / "r.csv").write_text(RECEIPTS, encoding="utf-8")
    assert main([*c, "receipts", "import", str(tmp_path / "r.csv")]) == 0
    out = tmp_path / "8"
    assert main([*c, "revenue", "--period", "2026-08", "--final", "--out", str(out)]) == 0
    with Ledger(ledger_path(cfg)) as led:
        seq = led.effective_final("2026-08").seq
    n = tmp_path / "n"
    assert main([*c, "notice", "--run", str(seq), "--out", str(n), "--date", "2026-09-05"]) == 0
    flat = "".join(_text(n / "notice-2026-08-dongpi.pdf").split())
    adj = read_csv((out / "adjustment-lines-2026-08.csv").read_bytes())
    unpaid = [a for a in adj if a["unpaid_reason"]]
    assert unpaid and all(a["payee"] == "hh-2" for a in unpaid)
    label = "".join(adj[0]["label_zh"].split())
    assert label in flat
    for a in unpaid:
        # the cell wraps around the name column: its two parts, each whole
        assert f"{label}{fen_to_yuan_str(int(a['amount_fen']))}元" in flat
        assert "未付：无银行账户" in flat
    households = read_csv((out / "households-2026-08.csv").read_bytes())
    total = sum(int(r["amount_fen"]) for r in households)
    assert total > 0
    assert f"合计{len(households)}户{fen_to_yuan_str(total)}{capital_yuan(total)}" in flat


def test_without_a_cjk_font_nothing_is_written(tmp_path, capsys, monkeypatch):
    """No TrueType CJK font installed: exit 1 naming the package, no file, no folder."""
    import revenue.pdf as pdf

    cfg = _case(tmp_path)
    seq = str(_final(cfg, tmp_path).record.seq)
    monkeypatch.setattr(pdf, "FONTS", (("/nonexistent/font.ttc", 0, "fonts-wqy-microhei"),))
    pdf.cjk_font.cache_clear()
    try:
        out = tmp_path / "n"
        assert main(["-c", str(cfg.path), "notice", "--run", seq, "--out", str(out)]) == 1
        assert "apt-get install fonts-wqy-microhei" in capsys.readouterr().err
        st = tmp_path / "st"
        assert main(["-c", str(cfg.path), "statements", "--year", "2026", "--out", str(st)]) == 1
        assert not out.exists() and not st.exists()
    finally:
        monkeypatch.undo()
        pdf.cjk_font.cache_clear()


def test_a_year_of_late_money_is_one_entry_per_kind_and_pool() -> None:
    """Twelve months of late subsidy on one household (or one pool) print as one entry with
    its range and the sum, so a notice stays a sheet; one line keeps its own label."""
    from revenue.notice import _pools, _sources

    late = [
        {"source": f"2025-{m:02d}补贴 2026-10到账", "line_kind": "adjustment",
         "adjustment": "late_receipt", "period_of": f"2025-{m:02d}", "amount_fen": str(100 + m)}
        for m in range(1, 13)
    ]  # fmt: skip
    own = {"source": "s-1", "line_kind": "station", "amount_fen": "12407"}
    got = _sources([own, *late], {})
    assert got == (
        "户用电站 124.07",
        f"补发补贴（2025-01至2025-12，12 笔） {fen_to_yuan_str(1278)}",
    )
    assert _sources([own, late[0]], {}) == ("户用电站 124.07", "2025-01补贴 2026-10到账 1.01")

    adj = [
        {"label_en": f"2025-{m:02d} subsidy", "label_zh": f"2025-{m:02d}补贴",
         "source": "late_receipt", "period_of": f"2025-{m:02d}"}
        for m in (1, 2)
    ]  # fmt: skip
    rows = [
        {"pool": "jobs", "amount_fen": "500", "carried_in_fen": "100", "posts_paid_fen": "300",
         "balance_fen": "300", "flags": ""},
        {"pool": "jobs", "amount_fen": "70", "carried_in_fen": "0", "posts_paid_fen": "0",
         "balance_fen": "70", "flags": "2025-01 subsidy"},
        {"pool": "jobs", "amount_fen": "80", "carried_in_fen": "0", "posts_paid_fen": "0",
         "balance_fen": "80", "flags": "2025-02 subsidy"},
    ]  # fmt: skip
    main_line, extra = _pools(rows, adj)
    assert (main_line.label, main_line.amount_fen, main_line.balance_fen) == ("公益岗位", 500, 300)
    assert extra.label == "公益岗位（补发补贴 2025-01至2025-02，2 笔）"
    assert (extra.amount_fen, extra.balance_fen) == (150, 150)


def test_pool_uses_by_the_distribution_plan(tmp_path, capsys):
    """With a village plan (tests/revenue/test_plans.py's worked July), the notice lists each
    plan line the run paid from the pools, holders masked, and the total paid."""
    from tests.revenue.test_plans import GOOD_PLAN, _config

    path = _config(tmp_path, GOOD_PLAN)
    c = ["-c", str(path)]
    stmt = tmp_path / "statement.csv"
    stmt.write_text(
        "station_id,period,export_kwh,statement_no\nv-dongpi,2026-07,12390,GS-7\n", "utf-8"
    )
    assert main([*c, "import-meter", str(stmt)]) == 0
    assert (
        main([*c, "revenue", "--period", "2026-07", "--final", "--out", str(tmp_path / "r")]) == 0
    )
    plan = read_csv((tmp_path / "r" / "plan-lines-2026-07.csv").read_bytes())
    assert {r["use_kind"] for r in plan} == {"post", "project", "award"}
    n = tmp_path / "n"
    assert main([*c, "notice", "--run", "1", "--village", "dongpi", "--out", str(n)]) == 0
    flat = "".join(_text(n / "notice-2026-07-dongpi.pdf").split())
    assert "村集体收益按分配计划使用" in flat
    for name in ("保洁员", "护林员", "村道修补", "孝老爱亲奖"):
        assert name in flat
    assert "张*华" in flat and "李*" in flat and "张三华" not in flat
    paid = sum(int(r["amount_fen"]) for r in plan if r["paid"] == "yes")
    assert paid > 0 and f"合计（已付）{fen_to_yuan_str(paid)}" in flat
    unpaid = [r for r in plan if r["paid"] == "no"]  # the works: the pool was too small
    assert unpaid and "未付：资金池余额不足" in flat
    # post wages are paid to households out of the pools: the period's total counts them once
    wages = sum(
        int(r["amount_fen"]) for r in plan if r["use_kind"] == "post" and r["paid"] == "yes"
    )
    hh = sum(
        int(r["amount_fen"])
        for r in read_csv((tmp_path / "r" / "households-2026-07.csv").read_bytes())
    )
    pools = sum(
        int(r["amount_fen"])
        for r in read_csv((tmp_path / "r" / "villages-2026-07.csv").read_bytes())
    )
    total = hh + pools - wages
    assert f"其中公益岗位工资{fen_to_yuan_str(wages)}元由村集体收益支付" in flat
    assert f"合计{fen_to_yuan_str(total)}元（{capital_yuan(total)}）" in flat
