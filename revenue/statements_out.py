"""Annual statements as files: an xlsx (openpyxl) and an A4 PDF (revenue/pdf.py) each.

Amounts are exact: the xlsx holds yuan as numbers formatted ``#,##0.00`` made from integer
fen (two decimals fit a float exactly enough to show), the PDF prints fen_to_yuan_str.
"""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from revenue.capital_numerals import capital_yuan
from revenue.money import fen_to_yuan_str
from revenue.notice import period_zh
from revenue.pdf import para, render, table
from revenue.statements import (
    CATEGORY_ORDER,
    CATEGORY_ZH,
    HouseholdStatement,
    IncomeLine,
    PaymentLine,
    VillageStatement,
    deduction_zh,
    unpaid_zh,
)

YUAN_FORMAT = "#,##0.00"
STATUS_ZH = {"paid": "已到账", "failed": "退票", "unpaid": "未付", "sent": "已提交银行"}


def file_stem(s: HouseholdStatement | VillageStatement) -> str:
    """statement-YEAR-household-ID / statement-YEAR-village-ID."""
    if isinstance(s, HouseholdStatement):
        return f"statement-{s.year}-household-{s.household_id}"
    return f"statement-{s.year}-village-{s.village_id}"


def _categories(s: HouseholdStatement) -> list[str]:
    used = {ln.category for ln in s.income}
    return [c for c in CATEGORY_ORDER if c in used] + sorted(used - set(CATEGORY_ORDER))


def household_rows(s: HouseholdStatement) -> list[list[object]]:
    """The summary table: one row per period, one column per source, totals (fen)."""
    cats = _categories(s)
    by = s.by_period()
    rows: list[list[object]] = [["结算期", *(CATEGORY_ZH.get(c, c) for c in cats), "合计"]]
    for p in s.periods:
        vals = [by[p].get(c, 0) for c in cats]
        rows.append([p, *vals, sum(vals)])
    totals = [sum(by[p].get(c, 0) for p in s.periods) for c in cats]
    rows.append(["全年合计", *totals, sum(totals)])
    return rows


def village_income_rows(s: VillageStatement) -> list[list[object]]:
    """Per period: the village stations' cash, deductions and distributable (fen)."""
    rows: list[list[object]] = [["结算期", "电费收入", "扣除（运维、租金等）", "可分配"]]
    for p, cash, ded, dist in s.income:
        rows.append([p, cash, ded, dist])
    rows.append(
        ["全年合计", *(sum(r[i] for r in s.income) for i in (1, 2, 3))]  # type: ignore[misc]
    )
    return rows


def village_pool_rows(s: VillageStatement) -> list[list[object]]:
    """Per pool over the year: opening, income, paid, balance carried (fen)."""
    rows: list[list[object]] = [["用途", "年初结转", "全年收入", "全年支出", "结余结转"]]
    for p in s.pools:
        rows.append([p.label, p.opening_fen, p.income_fen, p.paid_fen, p.closing_fen])
    rows.append(
        [
            "合计",
            sum(p.opening_fen for p in s.pools),
            sum(p.income_fen for p in s.pools),
            sum(p.paid_fen for p in s.pools),
            sum(p.closing_fen for p in s.pools),
        ]
    )
    return rows


def _line_row(ln: IncomeLine) -> list[object]:
    cat = CATEGORY_ZH.get(ln.category, ln.category)
    reason = unpaid_zh(ln.unpaid_reason)
    return [ln.period, ln.run_seq, cat, ln.source, ln.label, ln.amount_fen, reason]


def _payment_row(p: PaymentLine, amount: object) -> list[object]:
    return [p.period, p.batch_id, amount, STATUS_ZH.get(p.status, p.status), p.date, p.reason]


# -- xlsx -----------------------------------------------------------------------------


def _sheet(wb, title: str, rows: list[list[object]], money_from: int) -> None:
    """A sheet; columns from ``money_from`` on hold fen, written as yuan."""
    from openpyxl.styles import Font

    ws = wb.create_sheet(title)
    for i, row in enumerate(rows):
        out = []
        for j, v in enumerate(row):
            if i > 0 and j >= money_from and isinstance(v, int):
                out.append(v / 100)  # exact fen -> yuan for display only
            else:
                out.append(v)
        ws.append(out)
        if i > 0:
            for j in range(money_from, len(row)):
                ws.cell(row=i + 1, column=j + 1).number_format = YUAN_FORMAT
    for c in ws[1]:
        c.font = Font(bold=True)
    ws.freeze_panes = "A2"


def _workbook_bytes(wb) -> bytes:
    del wb[wb.sheetnames[0]]  # the empty default sheet
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def household_xlsx(s: HouseholdStatement) -> bytes:
    """The household's statement workbook."""
    from openpyxl import Workbook

    wb = Workbook()
    _sheet(wb, "按月汇总", household_rows(s), 1)
    _sheet(
        wb,
        "收入明细",
        [["结算期", "结算批次", "来源类型", "来源", "说明", "金额", "未付原因"]]
        + [_line_row(ln) for ln in s.lines],
        5,
    )
    _sheet(
        wb,
        "扣除",
        [["结算期", "电站", "扣除项目", "金额"]]
        + [[d.period, d.station, deduction_zh(d.name), d.amount_fen] for d in s.deductions],
        3,
    )
    _sheet(
        wb,
        "银行付款",
        [["结算期", "批次", "金额", "状态", "日期", "原因"]]
        + [_payment_row(p, p.amount_fen) for p in s.payments],
        2,
    )
    return _workbook_bytes(wb)


def village_xlsx(s: VillageStatement) -> bytes:
    """The village's statement workbook."""
    from openpyxl import Workbook

    wb = Workbook()
    _sheet(wb, "村级电站收入", village_income_rows(s), 1)
    _sheet(wb, "资金使用", village_pool_rows(s), 1)
    if s.plan_uses:
        _sheet(
            wb,
            "分配计划执行",
            [["分配计划项目", "用途", "已付", "未付"]] + [list(u) for u in s.plan_uses],
            2,
        )
    _sheet(
        wb,
        "分期明细",
        [["结算期", "用途", "本期收入", "上期结转", "本期支出", "结余"]]
        + [list(r) for r in s.pool_lines],
        2,
    )
    _sheet(
        wb,
        "到账记录",
        [["到账日期", "付款方", "电站", "电价组成", "金额"]] + [list(r) for r in s.receipts],
        4,
    )
    _sheet(
        wb,
        "农户收益",
        [["户主", "全年支付"]] + [list(r) for r in s.households] + [["合计", s.households_fen]],
        1,
    )
    return _workbook_bytes(wb)


# -- PDF ------------------------------------------------------------------------------


def _yuan_rows(rows: list[list[object]]) -> list[list[object]]:
    return [
        [fen_to_yuan_str(v) if i and j and isinstance(v, int) else v for j, v in enumerate(r)]
        for i, r in enumerate(rows)
    ]


def _widths(n: int, first: float = 28, total: float = 180) -> tuple[float, ...]:
    return (first, *([(total - first) / (n - 1)] * (n - 1)))


def household_pdf(s: HouseholdStatement) -> bytes:
    """The household's statement, A4."""
    title = f"{s.year}年光伏扶贫收益年度对账单"

    def story():
        summary = household_rows(s)
        out = [
            para(title, 16, align=1),
            Spacer(1, 3 * mm),
            para(f"户主：{s.name}　户编号：{s.household_id}　村：{s.village_name}", 10),
            Spacer(1, 4 * mm),
            para("一、各期收益（元）", 12),
            table(_yuan_rows(summary), _widths(len(summary[0])), right=range(1, 99), total_rows=1),
            Spacer(1, 2 * mm),
            para(
                f"全年收益合计 {fen_to_yuan_str(s.total_fen)} 元（{capital_yuan(s.total_fen)}）。",
                10,
            ),
            Spacer(1, 4 * mm),
            para("二、扣除（自有电站）", 12),
        ]
        if s.deductions:
            rows = [["结算期", "电站", "扣除项目", "金额（元）"]] + [
                [d.period, d.station, deduction_zh(d.name), fen_to_yuan_str(d.amount_fen)]
                for d in s.deductions
            ]
            out.append(table(rows, (30, 50, 60, 40), right=(3,)))
        else:
            out.append(para("无。", 10))
        out += [Spacer(1, 4 * mm), para("三、银行付款", 12)]
        if s.payments:
            rows = [["结算期", "批次", "金额（元）", "状态", "日期", "原因"]] + [
                _payment_row(p, fen_to_yuan_str(p.amount_fen)) for p in s.payments
            ]
            out.append(table(rows, (22, 40, 24, 22, 24, 48), right=(2,)))
        else:
            out.append(para("本年度尚无银行批次记录。", 10))
        out += [Spacer(1, 4 * mm), para("四、结转重付（前期款项再次支付，不重复计入收入）", 12)]
        if s.repaid:
            rows = [["结算期", "说明", "金额（元）"]] + [
                [r.period, r.label, fen_to_yuan_str(r.amount_fen)] for r in s.repaid
            ]
            out.append(table(rows, (30, 110, 40), right=(2,)))
        else:
            out.append(para("无。", 10))
        out += [Spacer(1, 4 * mm), para("五、未付款项", 12)]
        if s.unpaid:
            rows = [["结算期", "说明", "金额（元）", "原因"]] + [
                [u.period, u.label, fen_to_yuan_str(u.amount_fen), unpaid_zh(u.unpaid_reason)]
                for u in s.unpaid
            ]
            out.append(table(rows, (24, 66, 30, 60), right=(2,)))
        else:
            out.append(para("无。", 10))
        return out

    return render(story, title=title, footer=lambda _: f"{s.household_id} {title}")


def village_pdf(s: VillageStatement) -> bytes:
    """The village's statement for the annual disclosure, A4 (names masked)."""
    title = f"{s.village_name}{s.year}年光伏扶贫收益年度公开"

    def story():
        inc = village_income_rows(s)
        pools = village_pool_rows(s)
        periods = "、".join(period_zh(p) for p in s.periods)
        out = [
            para(title, 16, align=1),
            Spacer(1, 3 * mm),
            para(f"结算期：{periods}", 10),
            Spacer(1, 4 * mm),
            para("一、村级电站收益（元）", 12),
            table(_yuan_rows(inc), (40, 46, 48, 46), right=(1, 2, 3), total_rows=1),
            Spacer(1, 4 * mm),
            para("二、村集体收益使用（元）", 12),
            table(_yuan_rows(pools), _widths(5, 40), right=(1, 2, 3, 4), total_rows=1),
            Spacer(1, 4 * mm),
            para("三、到账记录", 12),
        ]
        if s.receipts:
            rows = [["到账日期", "付款方", "电站", "电价组成", "金额（元）"]] + [
                [d, payer, st, comp, fen_to_yuan_str(fen)] for d, payer, st, comp, fen in s.receipts
            ]
            out.append(table(rows, (28, 40, 40, 40, 32), right=(4,)))
        else:
            out.append(para("本年度无到账记录导入。", 10))
        if s.plan_uses:
            rows = [["分配计划项目", "用途", "已付（元）", "未付（元）"]] + [
                [name, kind, fen_to_yuan_str(paid), fen_to_yuan_str(unpaid)]
                for name, kind, paid, unpaid in s.plan_uses
            ]
            rows.append(
                [
                    "合计",
                    "",
                    fen_to_yuan_str(sum(u[2] for u in s.plan_uses)),
                    fen_to_yuan_str(sum(u[3] for u in s.plan_uses)),
                ]
            )
            out += [
                Spacer(1, 3 * mm),
                para("按分配计划使用（全年）：", 10),
                table(rows, (60, 40, 40, 40), right=(2, 3), total_rows=1),
            ]
        out += [Spacer(1, 4 * mm), para("四、农户收益（各期结算支付，含结转重付）", 12)]
        rows = [["户主", "全年支付（元）"]] + [[n, fen_to_yuan_str(f)] for n, f in s.households]
        rows.append([f"合计 {len(s.households)} 户", fen_to_yuan_str(s.households_fen)])
        out.append(table(rows, (60, 40), right=(1,), total_rows=1))
        return out

    return render(story, title=title, footer=lambda _: title)
