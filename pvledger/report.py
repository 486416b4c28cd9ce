"""A self-contained HTML report (no network): generation, alerts and payouts.

Charts are inline SVG drawn here, so the file opens in any browser on a
county office PC without internet. Labels in Chinese (`zh`) or English (`en`).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.money import fen_to_yuan_str

LABELS = {
    "en": {
        "title": "pvledger report",
        "fleet": "Fleet",
        "village_monthly": "Generation per village and month [kWh]",
        "fleet_daily": "Daily generation of the fleet [kWh]",
        "alerts": "Stations with open alerts",
        "no_alerts": "No open alerts.",
        "pending": "Pending: condition seen, not yet long enough to alert (nobody notified)",
        "device": "Devices",
        "payouts_village": "Village funds by pool [yuan]",
        "payouts_coop": "Cooperatives [yuan]",
        "top_households": "Largest household amounts [yuan]",
        "receivables": "Receivables by age (days past due) [yuan]",
        "bucket": "Days past due",
        "documents": "Notice and annual statement",
        "village": "Village",
        "station": "Station",
        "kind": "Alert",
        "since": "Since",
        "seen": "What was seen",
        "cooperative": "Cooperative",
        "distributable": "Distributable",
        "paid": "Paid to members",
        "residue": "Residue",
        "household": "Household",
        "amount": "Amount",
        "total": "Total",
        "pool": "Pool",
        "generated": "Generated",
        "period": "Payout period",
        "month": "Month",
        "day": "Day",
        "energy": "Energy [kWh]",
        "summary": "Summary",
    },
    "zh": {
        "title": "光伏扶贫收益报告",
        "fleet": "电站概况",
        "village_monthly": "各村逐月发电量 [千瓦时]",
        "fleet_daily": "全区逐日发电量 [千瓦时]",
        "alerts": "有未处理告警的电站",
        "no_alerts": "当前没有未处理告警。",
        "pending": "待确认：已出现异常，持续时间未达告警条件（未发送通知）",
        "device": "设备",
        "payouts_village": "村级电站收益分配（按资金池）[元]",
        "payouts_coop": "合作社收益 [元]",
        "top_households": "户用收益最高的农户 [元]",
        "receivables": "应收款账龄（逾期天数）[元]",
        "bucket": "逾期天数",
        "documents": "公示与年度对账单",
        "village": "村",
        "station": "电站",
        "kind": "告警类型",
        "since": "开始时间",
        "seen": "现象",
        "cooperative": "合作社",
        "distributable": "可分配",
        "paid": "已分配给社员",
        "residue": "尾差",
        "household": "农户",
        "amount": "金额",
        "total": "合计",
        "pool": "资金池",
        "generated": "生成时间",
        "period": "结算期",
        "month": "月份",
        "day": "日期",
        "energy": "电量 [千瓦时]",
        "summary": "摘要",
    },
}


@dataclass(frozen=True)
class AlertRow:
    """One station and alert kind in the report (its devices' alerts merged)."""

    station: str
    village: str
    kind: str
    #: the alerts' subjects (devices), in order
    devices: tuple[str, ...]
    #: the earliest start of the condition, local time as shown
    since: str
    #: what was seen, for people (the earliest alert's evidence)
    seen: str


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows; amounts in integer fen, energy in kWh."""

    site_name: str
    period: str
    generated_at: str
    summary: Sequence[tuple[str, str]] = ()
    #: village name -> [(month "YYYY-MM", kWh)]
    village_monthly_kwh: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    #: [(day "YYYY-MM-DD", kWh)]
    fleet_daily_kwh: Sequence[tuple[str, float]] = ()
    #: firing alerts, one row per station and kind
    firing_alerts: Sequence[AlertRow] = ()
    #: pending alerts (not confirmed, nobody told), one row per station and kind
    pending_alerts: Sequence[AlertRow] = ()
    #: [(village, pool, amount_fen)]
    village_pools: Sequence[tuple[str, str, int]] = ()
    #: [(cooperative, distributable_fen, paid_fen, residue_fen)]
    cooperatives: Sequence[tuple[str, int, int, int]] = ()
    #: [(masked household name, village, amount_fen)]
    top_households: Sequence[tuple[str, str, int]] = ()
    #: [(ageing bucket, outstanding_fen)] as of the report (revenue/receivables.py)
    receivables_by_bucket: Sequence[tuple[str, int]] = ()
    #: one sentence under the receivables chart (the subsidy owed, the oldest)
    receivables_note: str = ""
    #: [(link text, file name beside report.html)]: the notice PDF, a statement
    documents: Sequence[tuple[str, str]] = ()


def yuan(amount_fen: int) -> str:
    """Integer fen as yuan with two decimals and thousands separators (exact)."""
    return fen_to_yuan_str(amount_fen, thousands=True)


def _e(text: object) -> str:
    return html.escape(str(text))


def bar_chart_svg(
    series: Sequence[tuple[str, float]],
    *,
    width: int = 900,
    height: int = 260,
    color: str = "#2f7d32",
    label_every: int = 1,
) -> str:
    """A bar chart as inline SVG; labels under bars, value on hover (title)."""
    if not series:
        return "<p>—</p>"
    top = max((v for _, v in series), default=0) or 1.0
    pad_l, pad_b, pad_t = 60, 40, 10
    inner_w, inner_h = width - pad_l - 10, height - pad_b - pad_t
    bw = inner_w / len(series)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">'
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = pad_t + inner_h * (1 - frac)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{top * frac:,.0f}</text>"
        )
    for i, (label, v) in enumerate(series):
        h = inner_h * (v / top)
        x = pad_l + i * bw
        parts.append(
            f'<rect x="{x + bw * 0.1:.1f}" y="{pad_t + inner_h - h:.1f}" '
            f'width="{bw * 0.8:.1f}" height="{h:.1f}" fill="{color}">'
            f"<title>{_e(label)}: {v:,.1f}</title></rect>"
        )
        if i % label_every == 0:
            parts.append(
                f'<text x="{x + bw / 2:.1f}" y="{height - pad_b + 14}" '
                f'text-anchor="middle" fill="#333">{_e(label)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


PALETTE = ("#90caf9", "#1565c0", "#2f7d32", "#f9a825", "#8e24aa", "#6d4c41")


def grouped_bar_chart_svg(
    groups: dict[str, list[tuple[str, float]]], *, width: int = 900, height: int = 280
) -> str:
    """One cluster per group (village), one bar per month inside it, with a legend."""
    months = sorted({m for rows in groups.values() for m, _ in rows})
    if not groups or not months:
        return "<p>—</p>"
    top = max((v for rows in groups.values() for _, v in rows), default=0) or 1.0
    pad_l, pad_b, pad_t = 60, 40, 28
    inner_w, inner_h = width - pad_l - 10, height - pad_b - pad_t
    cw = inner_w / len(groups)
    bw = cw * 0.8 / len(months)
    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">'
    ]
    for i, m in enumerate(months):
        x = pad_l + i * 110
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{color}"/>')
        parts.append(f'<text x="{x + 16}" y="16" fill="#333">{_e(m)}</text>')
    for frac in (0, 0.25, 0.5, 0.75, 1.0):
        y = pad_t + inner_h * (1 - frac)
        parts.append(
            f'<line x1="{pad_l}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{pad_l - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{top * frac:,.0f}</text>"
        )
    for g, (name, rows) in enumerate(groups.items()):
        values = dict(rows)
        x0 = pad_l + g * cw + cw * 0.1
        for i, m in enumerate(months):
            v = values.get(m, 0.0)
            h = inner_h * (v / top)
            parts.append(
                f'<rect x="{x0 + i * bw:.1f}" y="{pad_t + inner_h - h:.1f}" width="{bw:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[i % len(PALETTE)]}">'
                f"<title>{_e(name)} {_e(m)}: {v:,.1f}</title></rect>"
            )
        parts.append(
            f'<text x="{pad_l + g * cw + cw / 2:.1f}" y="{height - pad_b + 14}" '
            f'text-anchor="middle" fill="#333">{_e(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    numeric: set[int],
    table_id: str | None = None,
) -> str:
    head = "".join(
        f'<th class="{"num" if i in numeric else ""}">{_e(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"num" if i in numeric else ""}">{_e(c)}</td>' for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    ident = f' id="{_e(table_id)}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _alert_table(rows: Sequence[AlertRow], t: dict[str, str], table_id: str) -> str:
    return _table(
        [t["station"], t["village"], t["kind"], t["device"], t["since"], t["seen"]],
        [[r.station, r.village, r.kind, ", ".join(r.devices), r.since, r.seen] for r in rows],
        set(),
        table_id,
    )


def render_report(data: ReportData, lang: str = "en") -> str:
    """The whole report as one HTML document (UTF-8, no external resources)."""
    t = LABELS[lang]
    months = sorted({m for rows in data.village_monthly_kwh.values() for m, _ in rows})
    village_rows = [
        [v, *[f"{dict(rows).get(m, 0):,.0f}" for m in months], f"{sum(x for _, x in rows):,.0f}"]
        for v, rows in sorted(data.village_monthly_kwh.items())
    ]
    pools = sorted({p for _, p, _ in data.village_pools})
    by_village: dict[str, dict[str, int]] = {}
    for v, p, amount in data.village_pools:
        by_village.setdefault(v, {})[p] = by_village.get(v, {}).get(p, 0) + amount
    pool_rows = [
        [v, *[yuan(d.get(p, 0)) for p in pools], yuan(sum(d.values()))]
        for v, d in sorted(by_village.items())
    ]
    n_days = len(data.fleet_daily_kwh)
    sections = [
        f"<h1>{_e(t['title'])} · {_e(data.site_name)}</h1>",
        f'<p class="meta">{_e(t["period"])}: {_e(data.period)} · {_e(t["generated"])}: '
        f"{_e(data.generated_at)}</p>",
        f"<h2>{_e(t['summary'])}</h2>",
        _table(["", ""], [list(r) for r in data.summary], {1}),
        f"<h2>{_e(t['village_monthly'])}</h2>",
        grouped_bar_chart_svg(data.village_monthly_kwh),
        _table([t["village"], *months, t["total"]], village_rows, set(range(1, len(months) + 2))),
        f"<h2>{_e(t['fleet_daily'])}</h2>",
        bar_chart_svg(
            [(d[5:], v) for d, v in data.fleet_daily_kwh],
            color="#f9a825",
            label_every=max(1, n_days // 15),
        ),
        f"<h2>{_e(t['alerts'])}</h2>",
        _alert_table(data.firing_alerts, t, "firing-alerts")
        if data.firing_alerts
        else f"<p>{_e(t['no_alerts'])}</p>",
        (f"<h3>{_e(t['pending'])}</h3>" + _alert_table(data.pending_alerts, t, "pending-alerts"))
        if data.pending_alerts
        else "",
        f"<h2>{_e(t['payouts_village'])}</h2>",
        _table([t["village"], *pools, t["total"]], pool_rows, set(range(1, len(pools) + 2))),
        f"<h2>{_e(t['payouts_coop'])}</h2>",
        _table(
            [t["cooperative"], t["distributable"], t["paid"], t["residue"]],
            [[c, yuan(d), yuan(p), yuan(r)] for c, d, p, r in data.cooperatives],
            {1, 2, 3},
        ),
        f"<h2>{_e(t['top_households'])}</h2>",
        _table(
            [t["household"], t["village"], t["amount"]],
            [[n, v, yuan(a)] for n, v, a in data.top_households],
            {2},
        ),
    ]
    if data.receivables_by_bucket:
        sections += [
            f"<h2>{_e(t['receivables'])}</h2>",
            bar_chart_svg(
                [(b, fen / 100) for b, fen in data.receivables_by_bucket], color="#c62828"
            ),
            _table(
                [t["bucket"], t["amount"]],
                [[b, yuan(fen)] for b, fen in data.receivables_by_bucket],
                {1},
            ),
            f'<p id="receivables-note">{_e(data.receivables_note)}</p>',
        ]
    if data.documents:
        links = "".join(
            f'<li><a href="{_e(href)}">{_e(text)}</a></li>' for text, href in data.documents
        )
        sections += [f"<h2>{_e(t['documents'])}</h2>", f'<ul id="documents">{links}</ul>']
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;width:100%}"
        "th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}"
        "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}"
        "h2{margin-top:2em;border-bottom:2px solid #2f7d32}.meta{color:#666}"
    )
    return (
        f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{_e(t["title"])}</title><style>{style}</style>'
        f"</head><body>{''.join(sections)}</body></html>\n"
    )
