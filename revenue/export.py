"""Output files of a run: CSV (UTF-8 with BOM) and xlsx, byte-identical for equal inputs.

Machine columns are integer fen (``*_fen``); each has a ``*_yuan`` twin with two decimals
for people. CSV headers stay English (stable for machines); ``lang="zh"`` gives the xlsx
Chinese headers. The xlsx has a 公示 sheet per village with masked names (张*华).
Adjustment lines (money of other periods, revenue/adjustments.py) have their own table
and appear on the household, village and 公示 lines with their label; a line with an
``unpaid_reason`` is listed, not counted in what a household is paid now.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from core.config import Config
from revenue.money import fen_to_yuan_str
from revenue.run import RunResult

BOM = "\ufeff"

ZH = {
    "station_id": "电站编号",
    "kind": "类型",
    "owner_id": "产权人",
    "village_id": "村",
    "energy_wh": "上网电量(Wh)",
    "energy_kwh": "上网电量(kWh)",
    "energy_source": "电量来源",
    "quality": "数据质量",
    "start_wh": "期初读数(Wh)",
    "end_wh": "期末读数(Wh)",
    "accrued_fen": "应计收入(分)",
    "cash_now_fen": "本期到账(分)",
    "receivable_fen": "应收补贴(分)",
    "deductions_fen": "扣除(分)",
    "distributable_fen": "可分配(分)",
    "accrued_yuan": "应计收入(元)",
    "cash_now_yuan": "本期到账(元)",
    "receivable_yuan": "应收补贴(元)",
    "deductions_yuan": "扣除(元)",
    "distributable_yuan": "可分配(元)",
    "deductions": "扣除明细",
    "notes": "备注",
    "household_id": "户编号",
    "name": "户主",
    "amount_fen": "金额(分)",
    "amount_yuan": "金额(元)",
    "sources": "收入来源",
    "flags": "标记",
    "source": "来源",
    "line_kind": "来源类型",
    "cooperative_id": "合作社",
    "members": "社员数",
    "paid_fen": "已分配(分)",
    "paid_yuan": "已分配(元)",
    "residue_fen": "尾差(分)",
    "residue_yuan": "尾差(元)",
    "residue_to": "尾差去向",
    "pool": "资金池",
    "carried_in_fen": "上期结转(分)",
    "carried_in_yuan": "上期结转(元)",
    "posts_paid_fen": "岗位工资(分)",
    "posts_paid_yuan": "岗位工资(元)",
    "balance_fen": "结余(分)",
    "balance_yuan": "结余(元)",
    "tariff_id": "电价",
    "component": "电价组成",
    "payer": "支付方",
    "cycle": "结算周期",
    "basis": "计量",
    "yuan_per_kwh": "单价(元/kWh)",
    "cash_now": "本期到账",
    "note": "说明",
    "meter_wh": "关口表电量(Wh)",
    "inverter_wh": "逆变器电量(Wh)",
    "inverter_vs_meter_pct": "逆变器对关口表(%)",
    "statement_wh": "结算单电量(Wh)",
    "statement_amount_fen": "结算单金额(分)",
    "statement_amount_yuan": "结算单金额(元)",
    "cash_vs_statement_fen": "本期到账差额(分)",
    "cash_vs_statement_yuan": "本期到账差额(元)",
    "check": "检查",
    "ok": "通过",
    "ref": "编号",
    "payee_kind": "收款类型",
    "payee": "收款方",
    "period_of": "所属期间",
    "label_zh": "说明(中文)",
    "label_en": "说明(英文)",
    "unpaid_reason": "未付原因",
    "month": "月份",
    "use_kind": "用途",
    "plan_line": "分配计划项目",
    "paid": "已付",
}

SHEETS_ZH = {
    "stations": "电站",
    "components": "电价明细",
    "households": "农户",
    "household-lines": "农户收入明细",
    "cooperatives": "合作社",
    "villages": "村集体资金",
    "reconciliation": "对账",
    "checks": "检查",
    "adjustment-lines": "补发明细",
    "plan-lines": "分配计划执行",
}

#: the three uses 国开办发〔2017〕61号 allows, for the notice board
POOLS_ZH = {"jobs": "公益岗位", "projects": "小型公益事业", "awards": "奖励补助"}


#: why an adjustment line is unpaid, for the notice board (revenue/late_money.py reasons)
UNPAID_ZH = {
    "no bank account on file (households[].account is empty)": "无银行账户",
    "household no longer in the registry": "已不在登记名册",
}


def _sources_yuan(sources: str) -> str:
    """ "s-hh-1=15412;coop-a=13991" -> "s-hh-1 154.12; coop-a 139.91" for people."""
    parts = (p.split("=") for p in sources.split(";") if p)
    return "; ".join(f"{k} {fen_to_yuan_str(int(v))}" for k, v in parts)


def mask_name(name: str) -> str:
    """Mask a person's name for public lists: 张三华 -> 张*华, 张三 -> 张*, 欧阳三华 -> 欧**华."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _village_row(
    village: str,
    pool: str,
    amount_fen: int,
    carried_in_fen: int,
    posts_paid_fen: int,
    balance_fen: int,
    flags: str,
) -> dict:
    """One row of villages-PERIOD.csv (fen and yuan columns, then the flags)."""
    row = {
        "village_id": village,
        "pool": pool,
        "amount_fen": amount_fen,
        "carried_in_fen": carried_in_fen,
        "posts_paid_fen": posts_paid_fen,
        "balance_fen": balance_fen,
    }
    _fen_cols(row, "amount", "carried_in", "posts_paid", "balance")
    row["flags"] = flags
    return row


def _fen_cols(row: dict, *names: str) -> dict:
    for n in names:
        v = row[n + "_fen"]
        row[n + "_yuan"] = "" if v is None else fen_to_yuan_str(v)
    return row


def tables(config: Config, r: RunResult) -> dict[str, list[dict]]:
    """The rows of every output table (name -> list of dicts with ordered columns)."""
    stations = []
    for s in r.stations:
        row = {
            "station_id": s.station,
            "kind": s.kind,
            "owner_id": s.owner,
            "village_id": s.village,
            "energy_wh": "" if s.energy_wh is None else s.energy_wh,
            "energy_source": s.energy_source,
            "quality": s.quality,
            "start_wh": "" if s.start_wh is None else s.start_wh,
            "end_wh": "" if s.end_wh is None else s.end_wh,
            "accrued_fen": s.accrued_fen,
            "cash_now_fen": s.cash_now_fen,
            "receivable_fen": s.receivable_fen,
            "deductions_fen": s.deductions_fen,
            "distributable_fen": s.distributable_fen,
        }
        _fen_cols(row, "accrued", "cash_now", "receivable", "deductions", "distributable")
        row["deductions"] = ";".join(f"{d.name}={d.amount_fen}" for d in s.deductions)
        row["notes"] = s.notes
        stations.append(row)
    components = []
    for s in r.stations:
        for c in s.components:
            row = {
                "station_id": s.station,
                "tariff_id": c.tariff_id,
                "component": c.name,
                "payer": c.payer,
                "cycle": c.cycle,
                "basis": c.basis,
                "yuan_per_kwh": str(c.yuan_per_kwh),
                "energy_wh": c.energy_wh,
                "amount_fen": c.amount_fen,
                "cash_now": "yes" if c.cash_now else "no",
            }
            _fen_cols(row, "amount")
            row["note"] = c.note
            components.append(row)
    by_hh: dict[str, list] = defaultdict(list)
    for p in r.payouts:
        by_hh[p.household].append(p)
    adj_hh: dict[str, list] = defaultdict(list)
    for a in r.adjustments:
        if a.payee_kind == "household":
            adj_hh[a.payee].append(a)
    households, hh_lines = [], []
    for h in sorted(set(by_hh) | set(adj_hh)):
        lines = by_hh.get(h, [])
        adjs = adj_hh.get(h, [])
        flags = sorted({p.flags for p in lines if p.flags} | {_unpaid_flag(a) for a in adjs} - {""})
        row = {
            "household_id": h,
            "village_id": lines[0].village if lines else adjs[0].village,
            # what is paid now: unpaid adjustment lines are listed, not counted
            "amount_fen": sum(p.amount_fen for p in lines)
            + sum(a.amount_fen for a in adjs if not a.unpaid_reason),
        }
        _fen_cols(row, "amount")
        row["sources"] = ";".join(
            [f"{p.source}={p.amount_fen}" for p in lines]
            + [f"{a.station or a.payee}@{a.period_of}={a.amount_fen}" for a in adjs]
        )
        row["flags"] = ";".join(flags)
        households.append(row)
        for p in lines:
            line = {
                "household_id": h,
                "village_id": p.village,
                "source": p.source,
                "line_kind": p.kind,
                "amount_fen": p.amount_fen,
            }
            _fen_cols(line, "amount")
            line["flags"] = p.flags
            hh_lines.append(line)
        for a in adjs:
            line = {
                "household_id": h,
                "village_id": a.village,
                "source": a.station or a.payee,
                "line_kind": a.source,
                "amount_fen": a.amount_fen,
            }
            _fen_cols(line, "amount")
            line["flags"] = "; ".join(x for x in (a.label_en, _unpaid_flag(a)) if x)
            hh_lines.append(line)
    coops = []
    for c in r.cooperatives:
        row = {
            "cooperative_id": c.cooperative,
            "village_id": config.cooperative_by_id[c.cooperative].village,
            "members": c.members,
            "distributable_fen": c.distributable_fen,
            "paid_fen": c.paid_fen,
            "residue_fen": c.residue_fen,
        }
        _fen_cols(row, "distributable", "paid", "residue")
        row["residue_to"] = c.residue_to
        coops.append(row)
    villages = [
        _village_row(
            p.village, p.pool, p.amount_fen, p.carried_in_fen, p.paid_fen, p.balance_fen, p.flags
        )
        for p in r.pools
    ]
    # a late receipt for a village pool is a pool line of its own, nothing carried or paid
    villages += [
        _village_row(a.payee, adjustment_pool(a), a.amount_fen, 0, 0, a.amount_fen, a.label_en)
        for a in r.adjustments
        if a.payee_kind == "village"
    ]
    adjustment_lines = []
    for a in r.adjustments:
        row = {
            "source": a.source,
            "ref": a.ref,
            "payee_kind": a.payee_kind,
            "payee": a.payee,
            "village_id": a.village,
            "station_id": a.station,
            "period_of": a.period_of,
            "amount_fen": a.amount_fen,
        }
        _fen_cols(row, "amount")
        row.update(label_zh=a.label_zh, label_en=a.label_en, unpaid_reason=a.unpaid_reason)
        adjustment_lines.append(row)
    checks = [{"check": c.name, "ok": "yes" if c.ok else "no"} for c in r.checks]
    recon = []
    for row in r.reconciliation:
        row = dict(row)
        for k in ("statement_amount", "cash_now", "cash_vs_statement"):
            v = row[k + "_fen"]
            row[k + "_yuan"] = "" if v == "" else fen_to_yuan_str(v)
        recon.append(row)
    out = {
        "stations": stations,
        "components": components,
        "households": households,
        "household-lines": hh_lines,
        "cooperatives": coops,
        "villages": villages,
        "reconciliation": recon,
        "checks": checks,
        "adjustment-lines": adjustment_lines,
    }
    plan_lines = _plan_lines(r)
    if plan_lines:  # only with distribution plans: the files of earlier runs are unchanged
        out["plan-lines"] = plan_lines
    return out


def _plan_lines(r: RunResult) -> list[dict]:
    """Each planned use of a village pool this run: paid, or unpaid when the pool was short."""
    rows = []
    for p in r.pools:
        for u in p.uses:
            row = {
                "village_id": u.village,
                "pool": u.pool,
                "month": u.month,
                "use_kind": u.kind,
                "plan_line": u.line,
                "household_id": u.household,
                "amount_fen": u.amount_fen,
            }
            _fen_cols(row, "amount")
            row["paid"] = "yes" if u.paid else "no"
            rows.append(row)
    return rows


def _unpaid_flag(a) -> str:
    return f"unpaid {a.amount_fen} fen: {a.unpaid_reason}" if a.unpaid_reason else ""


def adjustment_pool(a) -> str:
    """The pool a village's adjustment line goes to (its ref ends in "pool:<name>")."""
    last = a.ref.rsplit("/", 1)[-1]
    return last.removeprefix("pool:") if last.startswith("pool:") else a.source


def to_csv(rows: list[dict], columns: list[str] | None = None) -> bytes:
    """Rows as CSV bytes, UTF-8 with BOM, LF line ends (stable across platforms)."""
    buf = io.StringIO()
    cols = columns or (list(rows[0]) if rows else [])
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return (BOM + buf.getvalue()).encode("utf-8")


_EMPTY_COLUMNS = {
    "cooperatives": ["cooperative_id", "distributable_fen", "paid_fen", "residue_fen"],
    "villages": ["village_id", "pool", "amount_fen"],
    "households": ["household_id", "village_id", "amount_fen", "sources"],
    "household-lines": ["household_id", "village_id", "source", "line_kind", "amount_fen"],
    "components": ["station_id", "component", "amount_fen"],
    "adjustment-lines": [
        "source", "ref", "payee_kind", "payee", "village_id", "station_id", "period_of",
        "amount_fen", "amount_yuan", "label_zh", "label_en", "unpaid_reason",
    ],
}  # fmt: skip


def render(config: Config, r: RunResult, lang: str = "en") -> dict[str, bytes]:
    """Every output file of a run, name -> bytes. Refuses while a check fails."""
    if not r.ok:
        raise RuntimeError("a mandatory check failed: nothing is exported")
    t = tables(config, r)
    out = {
        f"{name}-{r.period.id}.csv": to_csv(rows, None if rows else _EMPTY_COLUMNS.get(name))
        for name, rows in t.items()
    }
    out[f"payouts-{r.period.id}.xlsx"] = to_xlsx(config, r, t, lang)
    return out


def to_xlsx(config: Config, r: RunResult, t: dict[str, list[dict]], lang: str) -> bytes:
    """The workbook: one sheet per table (yuan formatted), plus 公示 per village."""
    from revenue.xlsx import BOLD, PLAIN, YUAN, Sheet, write_workbook

    head = (lambda c: ZH.get(c, c)) if lang == "zh" else (lambda c: c)

    def table_rows(rows: list[dict]):
        cols = list(rows[0])
        styles = [YUAN if c.endswith("_yuan") else PLAIN for c in cols]
        yield [(head(c), BOLD) for c in cols]
        for row in rows:
            yield [(_cell(c, row[c]), st) for c, st in zip(cols, styles, strict=True)]

    sheets = [
        Sheet(
            SHEETS_ZH.get(name, name) if lang == "zh" else name,
            table_rows(rows) if rows else iter(()),
            freeze_header=bool(rows),
        )
        for name, rows in t.items()
    ]
    names = config.household_by_id
    vname = {v.id: v.name for v in config.villages}
    by_village: dict[str, list[dict]] = defaultdict(list)
    for row in t["households"]:
        by_village[row["village_id"]].append(row)
    pools_of: dict[str, list] = defaultdict(list)
    for p in r.pools:
        pools_of[p.village].append(p)

    def notice_rows(v: str):
        def num(value) -> tuple[object, int]:  # from row 3 on, numbers are yuan
            return value, YUAN if isinstance(value, float) else PLAIN

        yield [(f"{vname.get(v, v)} 光伏扶贫收益 {r.period.id} 公示", PLAIN)]
        yield [(c, PLAIN) for c in ("户主", "收入来源", "金额(元)", "标记")]
        for row in by_village.get(v, []):
            hh = names.get(row["household_id"])
            yield [
                num(mask_name(hh.name) if hh else row["household_id"]),
                num(_sources_yuan(row["sources"])),
                num(_cell("amount_yuan", row["amount_yuan"])),
                num(row["flags"]),
            ]
        late = [a for a in r.adjustments if a.village == v]
        if late:  # late money, each line with its label ("2025年补贴 2026-11到账")
            yield []
            yield [(c, PLAIN) for c in ("户主/资金池", "补发说明", "金额(元)", "标记")]
            for a in late:
                hh = names.get(a.payee) if a.payee_kind == "household" else None
                who = mask_name(hh.name) if hh else POOLS_ZH.get(adjustment_pool(a), a.payee)
                yield [
                    num(who),
                    num(a.label_zh),
                    num(_cell("x_yuan", fen_to_yuan_str(a.amount_fen))),
                    num(f"未付：{UNPAID_ZH.get(a.unpaid_reason, a.unpaid_reason)}"
                        if a.unpaid_reason else ""),
                ]  # fmt: skip
        yield []
        yield [(c, PLAIN) for c in ("资金池", "本期金额(元)", "岗位工资(元)", "结余(元)")]
        for p in pools_of.get(v, []):
            yield [
                num(POOLS_ZH.get(p.pool, p.pool)),
                *(
                    num(_cell("x_yuan", fen_to_yuan_str(f)))
                    for f in (p.amount_fen, p.paid_fen, p.balance_fen)
                ),
            ]
        uses = [u for p in pools_of.get(v, []) for u in p.uses]
        if uses:  # the pool uses by the distribution plan (names masked like the lines above)
            yield []
            yield [(c, PLAIN) for c in ("分配计划项目", "月份", "金额(元)", "标记")]
            for u in uses:
                hh = names.get(u.household)
                who = f"（{mask_name(hh.name)}）" if hh else ""
                yield [
                    num(u.line.split(" ", 1)[-1] + who),
                    num(u.month),
                    num(_cell("x_yuan", fen_to_yuan_str(u.amount_fen))),
                    num("" if u.paid else "未付：资金池余额不足"),
                ]

    adj_villages = {a.village for a in r.adjustments if a.village}
    sheets += [
        Sheet(f"公示-{vname.get(v, v)}"[:31], notice_rows(v))
        for v in sorted(set(by_village) | set(pools_of) | adj_villages)
    ]
    return write_workbook(sheets)


def _cell(col: str, value):
    # yuan for people: a number cell; its text came from exact fen, two decimals fit a float
    if col.endswith("_yuan") and value not in ("", None):
        return float(value)
    return value
