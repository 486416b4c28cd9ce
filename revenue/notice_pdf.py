"""The printable village notice (公示): one A4 PDF per village and final run.

Title, period, every household with its name masked, the sources, the amount in figures and
in capital numerals, the village pools (income, carried in, paid out, balance), the totals,
the notice period, the complaint telephone (config ``notice:``), the signer, and the check
code (revenue/notice.py) on the sheet and at the foot of every page.
"""

from __future__ import annotations

import datetime as dt

from reportlab.lib.units import mm
from reportlab.platypus import Spacer

from core.config import Config
from revenue.capital_numerals import capital_yuan
from revenue.money import fen_to_yuan_str
from revenue.notice import PLAN_KIND_ZH, Notice, date_zh
from revenue.pdf import para, render, table

CHECK_PATH = "/notice/check"


def notice_period(published: dt.date, days: int) -> tuple[dt.date, dt.date]:
    """First and last day of the notice period: ``days`` days from the publication date."""
    return published, published + dt.timedelta(days=days - 1)


def file_name(n: Notice) -> str:
    """notice-PERIOD-VILLAGE.pdf."""
    return f"notice-{n.period}-{n.village_id}.pdf"


def render_notice(config: Config, n: Notice, published: dt.date) -> bytes:
    """The PDF bytes of a notice published on ``published`` (a local date)."""
    cfg = config.notice
    first, last = notice_period(published, cfg.days)
    issuer = cfg.issuer or f"{n.village_name}村民委员会"
    title = f"{n.village_name}光伏扶贫收益分配公示"
    if cfg.complaint_office:
        complain = f"向{cfg.complaint_office}反映（投诉电话 {cfg.complaint_phone}）"
    else:
        complain = f"拨打投诉电话 {cfg.complaint_phone} 反映"

    def story():
        hh_rows = [["序号", "户主", "收入来源", "金额（元）", "大写金额"]]
        for i, ln in enumerate(n.lines, start=1):
            src = "、".join(ln.sources) or "—"
            src += f"（{ln.note}）" if ln.note else ""
            hh_rows.append(
                [
                    str(i),
                    ln.name_masked,
                    src,
                    fen_to_yuan_str(ln.amount_fen),
                    capital_yuan(ln.amount_fen),
                ]
            )
        hh_rows.append(
            [
                "合计",
                f"{len(n.lines)} 户",
                "",
                fen_to_yuan_str(n.households_fen),
                capital_yuan(n.households_fen),
            ]
        )
        pool_rows = [["用途", "本期收入（元）", "上期结转（元）", "本期支出（元）", "结余（元）"]]
        for p in n.pools:
            pool_rows.append(
                [
                    p.label,
                    *(
                        fen_to_yuan_str(f)
                        for f in (p.amount_fen, p.carried_in_fen, p.paid_fen, p.balance_fen)
                    ),
                ]
            )
        pool_rows.append(
            [
                "合计",
                *(
                    fen_to_yuan_str(sum(getattr(p, a) for p in n.pools))
                    for a in ("amount_fen", "carried_in_fen", "paid_fen", "balance_fen")
                ),
            ]
        )
        out = [
            para(title, 18, align=1),
            Spacer(1, 3 * mm),
            para(
                f"结算期：{n.period_zh}（{n.period}）　结算批次：第 {n.run_seq} 次结算（定稿）",
                10,
                align=1,
            ),
            Spacer(1, 5 * mm),
            para("一、农户收益", 12),
            Spacer(1, 2 * mm),
            table(hh_rows, (12, 20, 62, 26, 60), right=(3,), total_rows=1),
            Spacer(1, 5 * mm),
            para("二、村集体收益及使用", 12),
            Spacer(1, 2 * mm),
        ]
        if n.pools:
            out.append(table(pool_rows, (56, 31, 31, 31, 31), right=(1, 2, 3, 4), total_rows=1))
            out.append(Spacer(1, 2 * mm))
            out.append(
                para(
                    f"村集体本期收益合计 {fen_to_yuan_str(n.pools_fen)} 元"
                    f"（{capital_yuan(n.pools_fen)}），只用于公益岗位、小型公益事业和奖励补助。",
                    10,
                )
            )
        else:
            out.append(para("本期无村集体收益。", 10))
        if n.plan_uses:
            rows = [["分配计划项目", "用途", "月份", "岗位或受益人", "金额（元）", "状态"]]
            for u in n.plan_uses:
                rows.append(
                    [
                        u.name,
                        PLAN_KIND_ZH.get(u.kind, u.kind),
                        u.month,
                        u.holder_masked or "—",
                        fen_to_yuan_str(u.amount_fen),
                        "已付" if u.paid else "未付：资金池余额不足",
                    ]
                )
            paid = sum(u.amount_fen for u in n.plan_uses if u.paid)
            rows.append(["合计（已付）", "", "", "", fen_to_yuan_str(paid), ""])
            out += [
                Spacer(1, 3 * mm),
                para("村集体收益按分配计划使用：", 10),
                Spacer(1, 1 * mm),
                table(rows, (40, 28, 20, 28, 26, 38), right=(4,), total_rows=1),
            ]
        out += [
            Spacer(1, 5 * mm),
            para(_grand_total(n), 10),
            Spacer(1, 3 * mm),
            para(
                f"公示期：{date_zh(first)}至{date_zh(last)}（{cfg.days} 天）。"
                f"如有异议，请在公示期内{complain}。",
                10,
            ),
            Spacer(1, 2 * mm),
            para(
                f"核对码：{n.check_code}　在公示核对页（{CHECK_PATH}）输入核对码，"
                "可核对本公示与收益台账是否一致。",
                10,
            ),
            Spacer(1, 8 * mm),
            para(issuer, 11, align=2),
            para(date_zh(published), 11, align=2),
        ]
        return out

    return render(
        story, title=title, footer=lambda page: f"{title} {n.period} 核对码 {n.check_code}"
    )


def _grand_total(n: Notice) -> str:
    """The sentence with the period's total; post wages come out of the pools: once."""
    total = f"{fen_to_yuan_str(n.total_fen)} 元（{capital_yuan(n.total_fen)}）"
    if not n.post_wages_fen:
        return f"本期农户收益与村集体收益合计 {total}。"
    return (
        f"本期农户收益 {fen_to_yuan_str(n.households_fen)} 元（其中公益岗位工资 "
        f"{fen_to_yuan_str(n.post_wages_fen)} 元由村集体收益支付），与村集体收益合计 {total}。"
    )
