"""The demo's payments after its final run: the bank batch, the bank's answer with two
failed transfers (a closed account, a wrong name), the confirmation, and the lines the
next run carries over; a summary page beside report.html (docs/payments.md)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from revenue.adjustments import AdjustmentLine
from revenue.ledger import RunRecord

#: the bank's answer in the demo: the first two transfers fail, with these reasons
FAILURES = ("账户已销户", "户名不符")  # closed account, wrong name


@dataclass(frozen=True)
class DemoPayments:
    """What the demo's payment step did."""

    batch_id: str
    transfers: int
    total_fen: int
    unpaid: int
    unpaid_fen: int
    paid_fen: int
    failed: tuple[tuple[int, str, int, str], ...]  # (line, household, fen, bank's reason)
    next_period: str
    carried: tuple[AdjustmentLine, ...]
    files: tuple[Path, ...]


def next_period_id(period: str) -> str:
    """The period after a monthly or quarterly one (its end date's month or quarter)."""
    from revenue.period import parse_period

    p = parse_period(period)
    if "Q" in period:
        return f"{p.end.year}Q{(p.end.month - 1) // 3 + 1}"
    return f"{p.end.year}-{p.end.month:02d}"


def bank_answer(template, batch_file: bytes, failed: dict[int, str]) -> bytes:
    """The bank's return file: the batch file with a result and reason per line."""
    from revenue.bank_template import decode, encode

    rows = decode(template, batch_file, "batch")
    titles = template.titles()
    at = next(i for i, r in enumerate(rows) if r[: len(titles)] == titles)
    ret = template.returns
    rows[at] = [*rows[at][: len(titles)], ret.status_title, ret.reason_title]
    for i in range(at + 1, len(rows)):
        if not rows[i] or not rows[i][0].isdigit():
            break
        no = int(rows[i][0])
        result = [ret.failed[0], failed[no]] if no in failed else [ret.paid[0], ""]
        rows[i] = [*rows[i][: len(titles)], *result]
    return encode(template, rows)


def pay(config: Config, record: RunRecord, out: Path) -> DemoPayments:
    """Batch the final run, answer as the bank, confirm, and collect the next run's lines."""
    from revenue.adjustments import collect
    from revenue.batch import write_private
    from revenue.ledger import Ledger
    from revenue.payments import bank_of, confirm_file, make_batch, template_of
    from revenue.payout import ledger_path
    from revenue.period import parse_period

    folder = out / "payments"
    with Ledger(ledger_path(config)) as ledger:
        made = make_batch(config, ledger, record.seq, bank_id=None, out_dir=folder)
        b = made.batch
        t = template_of(config, bank_of(config, b.bank))
        failed = {ln.line_no: why for ln, why in zip(b.transfers, FAILURES, strict=False)}
        ret = folder / f"return-{b.batch_id}{t.suffix}"
        # the bank's copy holds the accounts too: owner only, like the batch file
        write_private(ret, bank_answer(t, made.written[0].read_bytes(), failed))
        _, n = confirm_file(config, ledger, ret)
        nxt = next_period_id(b.period)
        carried = tuple(collect(config, ledger, parse_period(nxt)))
    lines = {ln.line_no: ln for ln in b.lines}
    return DemoPayments(
        b.batch_id,
        len(b.transfers),
        b.total_fen,
        len(b.unpaid),
        b.unpaid_fen,
        n["paid_fen"],
        tuple((no, lines[no].payee, lines[no].amount_fen, why) for no, why in failed.items()),
        nxt,
        carried,
        (*made.written, ret),
    )


def summary_html(config: Config, p: DemoPayments, lang: str = "en") -> str:
    """payments-PERIOD.html: the batch, the confirmation and the carried lines (masked)."""
    from revenue.export import mask_name
    from revenue.money import fen_to_yuan_str as yuan

    zh = lang == "zh"

    def who(h: str) -> str:
        hh = config.household_by_id.get(h)
        return f"{h} {mask_name(hh.name)}" if hh else h

    def table(head: list[str], rows: list[list[str]]) -> str:
        th = "".join(f"<th>{html.escape(c)}</th>" for c in head)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
        )
        return f"<table><tr>{th}</tr>{body}</table>"

    files = "".join(f"<li>payments/{html.escape(f.name)}</li>" for f in p.files)
    parts = [
        f"<h1>{'银行代发批次' if zh else 'Bank batch'} {html.escape(p.batch_id)}</h1>",
        "<p>"
        + (
            f"{p.transfers} 笔转账，合计 {yuan(p.total_fen)} 元；{p.unpaid} 笔无有效账户未付 "
            f"{yuan(p.unpaid_fen)} 元（结转下期）。银行回单：成功 {yuan(p.paid_fen)} 元，"
            f"失败 {len(p.failed)} 笔。"
            if zh
            else f"{p.transfers} transfers, total {yuan(p.total_fen)} yuan; {p.unpaid} lines "
            f"unpaid (no valid account) {yuan(p.unpaid_fen)} yuan, carried over. The bank's "
            f"return: {yuan(p.paid_fen)} yuan paid, {len(p.failed)} transfers failed."
        )
        + "</p>",
        f"<h2>{'失败的转账' if zh else 'Failed transfers'}</h2>",
        table(
            ["序号", "农户", "金额(元)", "银行原因"]
            if zh
            else ["line", "household", "yuan", "bank's reason"],
            [[no, who(h), yuan(fen), why] for no, h, fen, why in p.failed],
        ),
        f"<h2>{'下期' if zh else 'Carried into the next run,'} {html.escape(p.next_period)}"
        f"{'结转明细' if zh else ''}</h2>",
        table(
            ["来源", "编号", "农户", "金额(元)", "说明"]
            if zh
            else ["source", "ref", "household", "yuan", "label"],
            [
                [
                    a.source,
                    a.ref,
                    who(a.payee),
                    yuan(a.amount_fen),
                    a.label_zh if zh else a.label_en,
                ]
                for a in p.carried
            ],
        ),
        f"<h2>{'文件' if zh else 'Files'}</h2><ul>{files}</ul>",
        "<p>"
        + (
            "批次文件含完整账号，仅文件所有者可读（0600）；本页账号与姓名已脱敏。"
            if zh
            else "The batch file holds full account numbers and is readable by its owner only "
            "(0600); names on this page are masked."
        )
        + "</p>",
    ]
    style = (
        "body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0;width:100%}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
    )
    return (
        f'<!doctype html><html lang="{"zh" if zh else "en"}"><meta charset="utf-8">'
        f"<title>{html.escape(p.batch_id)}</title><style>{style}</style>"
        + "".join(parts)
        + "</html>"
    )


def write_payments(
    config: Config, record: RunRecord, out: Path, lang: str = "en"
) -> tuple[DemoPayments, list[tuple[str, str]]]:
    """Run the payment step and write its summary page; (what it did, report links)."""
    p = pay(config, record, out)
    name = f"payments-{p.batch_id}.html"
    (out / name).write_text(summary_html(config, p, lang), encoding="utf-8")
    text = (
        f"银行代发批次 {p.batch_id} 与回单（2 笔失败，结转 {p.next_period}）"
        if lang == "zh"
        else f"Bank batch {p.batch_id} and its confirmation "
        f"({len(p.failed)} failed, carried into {p.next_period})"
    )
    return p, [(text, name)]


def payments_line(p: DemoPayments) -> str:
    """One line for the demo's summary."""
    from revenue.money import fen_to_yuan_str as yuan

    return (
        f"bank batch {p.batch_id}: {p.transfers} transfers {yuan(p.total_fen)} yuan, "
        f"{len(p.failed)} failed at the bank, {p.unpaid} unpaid (no valid account); "
        f"{len(p.carried)} lines carried into {p.next_period}"
    )
