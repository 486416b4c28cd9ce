"""`pvledger receipts import FILE.csv`: money received, recorded in the ledger (all or none).

Columns (header row; English or Chinese names, any order):

| column | 中文 | meaning |
|---|---|---|
| received_on | 到账日期 | the date the money arrived: 2026-11-05 (or 2026/11/05) |
| payer | 付款方 | grid_company (电网公司), finance_bureau (财政局), transfer_agency (结转机构) |
| station_id | 电站编号 | our station id; several joined with ";" (or give account) |
| account | 户号 | grid account number(s) from meter imports, several joined with ";" |
| component | 电价组成 | a tariff component name (coal_benchmark, national_subsidy, ...) |
| period | 所属期 | 2025-07, 2025-Q3, 2025, a range 2025-01..2025-06; several joined with ";" |
| amount_fen | 金额(分) | integer fen, > 0 (or amount_yuan) |
| amount_yuan | 金额(元) | yuan with at most 2 decimals, > 0 (or amount_fen) |
| reference | 凭证号 | the payer's reference; unique per payer |

UTF-8 (BOM optional) or GBK. Refused, each with file:line, and then nothing is imported:
an unknown station or account, an unknown component or payer, a bad or future date, a
period not yet begun on the date received, an amount that is not a positive whole fen,
a quarter run only partly covered, a month with no final run (nothing accrued to split
by: its money would land on the other months), one reference saying two things (both
lines named; in the ledger: the earlier file and line). Importing the same file again
(same bytes), or a receipt identical to one already imported, changes nothing. Each
receipt is split over what it covers by the accrued amounts (revenue/receipts.py); the
receipt rows and their shares are one chain entry (revenue/ledger.py), so `revenue
verify` sees an edited or deleted receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from revenue.accruals import accruals_from_ledger
from revenue.csv_input import dedupe, map_header, read_bytes, records
from revenue.import_values import NotExact, scaled_int, show
from revenue.ledger import Ledger, LedgerBroken
from revenue.period import parse_period
from revenue.receipts import PAYERS, Key, cover_months, month_start, split

ALIASES = {
    "received_on": "received_on",
    "date": "received_on",
    "到账日期": "received_on",
    "收款日期": "received_on",
    "payer": "payer",
    "付款方": "payer",
    "station_id": "station_id",
    "电站编号": "station_id",
    "account": "account",
    "户号": "account",
    "component": "component",
    "电价组成": "component",
    "period": "period",
    "所属期": "period",
    "amount_fen": "amount_fen",
    "金额(分)": "amount_fen",
    "amount_yuan": "amount_yuan",
    "金额(元)": "amount_yuan",
    "reference": "reference",
    "凭证号": "reference",
}
PAYER_ALIASES = {
    "电网公司": "grid_company",
    "财政局": "finance_bureau",
    "结转机构": "transfer_agency",
}
_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
REQUIRED = ("received_on", "payer", "component", "period", "reference")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: new receipts and their shares, repeats, already imported."""

    file: str
    sha256: str
    receipts: int
    shares: int
    already_imported: bool
    duplicates: int = 0  # identical rows repeated inside the file, counted once
    known: int = 0  # receipts identical to ones imported before


@dataclass(frozen=True)
class _Receipt:
    """One parsed row."""

    line: int
    payer: str
    reference: str
    received_on: dt.date
    stations: tuple[str, ...]
    component: str
    periods: str
    months: tuple[str, ...]
    amount_fen: int

    @property
    def same(self) -> tuple:
        """What must agree between two rows of one (payer, reference)."""
        return (self.received_on, self.stations, self.component, self.months, self.amount_fen)


def describe(r: _Receipt | tuple) -> str:
    """A receipt's content for a message: date, stations, component, periods, amount."""
    on, stations, comp, months, fen = r.same if isinstance(r, _Receipt) else r
    span = months[0] if len(months) == 1 else f"{months[0]}..{months[-1]} ({len(months)} months)"
    return f"{on} {';'.join(stations)} {comp} {span} {fen} fen"


def _header(row: list[str], name: str) -> tuple[list[str | None], list[Problem]]:
    header, problems = map_header(row, ALIASES, name)
    missing = [k for k in REQUIRED if k not in header]
    if not {"station_id", "account"} & set(header):
        missing.append("station_id or account")
    if not {"amount_fen", "amount_yuan"} & set(header):
        missing.append("amount_fen or amount_yuan")
    if missing:
        problems.append(
            Problem(
                "header",
                f"missing columns: {', '.join(missing)}",
                "add them",
                name,
                1,
                f"缺少列：{'、'.join(missing)}",
                "请补上这些列",
            )
        )
    if {"amount_fen", "amount_yuan"} <= set(header):
        problems.append(
            Problem(
                "header",
                "both amount_fen and amount_yuan",
                "keep one amount column",
                name,
                1,
                "同时有 amount_fen 与 amount_yuan 两列",
                "只保留一个金额列",
            )
        )
    return header, problems


def parse_date(text: str) -> dt.date:
    """2026-11-05 or 2026/11/05; ValueError otherwise."""
    m = _DATE.match(text.strip())
    if not m:
        raise ValueError("not a date")
    return dt.date(int(m[1]), int(m[2]), int(m[3]))


def _parse_row(
    config: Config,
    header: list[str | None],
    raw: list[str],
    lineno: int,
    name: str,
    accounts: dict[str, str],
    today: dt.date,
    problems: list[Problem],
) -> _Receipt | None:
    cells = {k: v.strip() for k, v in zip(header, raw, strict=False) if k}
    before = len(problems)

    def bad(col: str, msg: str, fix: str, zh: str = "", fix_zh: str = "") -> None:
        problems.append(Problem(col, msg, fix, name, lineno, zh, fix_zh))

    if len(raw) > len(header) and any(c.strip() for c in raw[len(header) :]):
        bad(
            "row",
            f"{len(raw)} cells, the header has {len(header)}",
            "remove the extra cells",
            f"{len(raw)} 个单元格，表头只有 {len(header)} 列",
            "删去多余的单元格",
        )
    on = None
    try:
        on = parse_date(cells.get("received_on", ""))
        if on > today:
            bad(
                "received_on",
                f"{on} is in the future (today is {today})",
                "check the date",
                f"{on} 在未来（今天是 {today}）",
                "请检查日期",
            )
    except ValueError:
        bad(
            "received_on",
            f"{show(cells.get('received_on', ''))} is not a date",
            "write YYYY-MM-DD, e.g. 2026-11-05",
            f"{show(cells.get('received_on', ''))} 不是日期",
            "请写成 YYYY-MM-DD，例如 2026-11-05",
        )
    payer = PAYER_ALIASES.get(cells.get("payer", ""), cells.get("payer", ""))
    if payer not in PAYERS:
        bad(
            "payer",
            f"{show(cells.get('payer', ''))} is not a payer",
            f"use one of {PAYERS}",
            f"{show(cells.get('payer', ''))} 不是付款方",
            f"请使用其中之一：{PAYERS}",
        )
    stations: list[str] = []
    for sid in filter(None, (s.strip() for s in cells.get("station_id", "").split(";"))):
        if sid in config.station_by_id:
            stations.append(sid)
        else:
            bad(
                "station_id",
                f"unknown station {show(sid)}",
                "use a station id of config.yaml",
                f"未知电站 {show(sid)}",
                "请使用 config.yaml 中的电站编号",
            )
    for acct in filter(None, (s.strip() for s in cells.get("account", "").split(";"))):
        if acct in accounts:
            stations.append(accounts[acct])
        else:
            bad(
                "account",
                f"unknown grid account {show(acct)}",
                "import a meter file giving station_id and account (户号) first, or give "
                "station_id",
                f"未知电网户号 {show(acct)}",
                "请先导入同时给出 station_id 与 account（户号）的抄表文件，或直接给出 station_id",
            )
    if not stations and len(problems) == before:
        bad(
            "station_id",
            "no station or account given",
            "name the station(s) paid for",
            "未给出电站或户号",
            "请写明这笔款项对应的电站",
        )
    components = {c.name for t in config.tariffs for c in t.components}
    comp = cells.get("component", "")
    if comp not in components:
        bad(
            "component",
            f"{show(comp)} is not a tariff component",
            f"use {sorted(components)}",
            f"{show(comp)} 不是电价组成部分",
            f"请使用 {sorted(components)}",
        )
    months: list[str] = []
    try:
        months = cover_months(cells.get("period", ""))
    except ValueError as exc:
        bad(
            "period",
            str(exc),
            "write 2025-07, 2025-Q3, 2025 or 2025-01..2025-06",
            f"期间无效：{exc}",
            "请写成 2025-07、2025-Q3、2025 或 2025-01..2025-06",
        )
    if months and on is not None and month_start(months[-1]) > on:
        bad(
            "period",
            f"{months[-1]} had not begun on {on}, the date received (a period in the future)",
            "check the period and the date",
            f"到账日期 {on} 时 {months[-1]} 尚未开始（期间在未来）",
            "请检查期间与日期",
        )
    amount = _amount(cells, bad)
    ref = cells.get("reference", "")
    if not ref:
        bad(
            "reference",
            "empty",
            "give the payer's reference (凭证号) of the payment",
            "为空",
            "请填写付款方的凭证号",
        )
    if len(problems) > before or on is None or amount is None:
        return None
    return _Receipt(
        lineno,
        payer,
        ref,
        on,
        tuple(sorted(set(stations))),
        comp,
        cells.get("period", ""),
        tuple(months),
        amount,
    )


def _amount(cells: dict[str, str], bad) -> int | None:
    col = "amount_fen" if "amount_fen" in cells else "amount_yuan"
    text = cells.get(col, "")
    try:
        fen = scaled_int(text, 0 if col == "amount_fen" else 2)
    except NotExact as exc:
        unit = "whole fen" if col == "amount_fen" else "yuan with at most 2 decimals"
        unit_zh = "整数分" if col == "amount_fen" else "最多 2 位小数的元"
        bad(
            col,
            f"{show(text)}: {exc}",
            f"write the amount as {unit}",
            f"{show(text)}：{exc.zh}",
            f"金额请写成{unit_zh}",
        )
        return None
    if fen <= 0:
        bad(
            col,
            f"{show(text)} is not positive",
            "a receipt is money received: amount > 0",
            f"{show(text)} 不是正数",
            "到账是收到的钱：金额须大于 0",
        )
        return None
    return fen


def _dedupe(items: list[_Receipt], name: str) -> tuple[list[_Receipt], int, list[Problem]]:
    def conflict(it: _Receipt, was: _Receipt) -> Problem:
        return Problem(
            "reference",
            f"{it.payer} {it.reference}: line {it.line} says {describe(it)}, "
            f"line {was.line} says {describe(was)}",
            "one reference is one payment: keep the right line",
            name,
            it.line,
        )

    return dedupe(items, lambda it: (it.payer, it.reference), lambda it: it.same, conflict)


def _against_ledger(
    ledger: Ledger, items: list[_Receipt], name: str
) -> tuple[list[_Receipt], int, list[Problem]]:
    new, known, problems = [], 0, []
    for it in items:
        old = ledger.db.execute(
            "SELECT r.received_on, r.stations, r.component, r.periods, r.amount_fen, "
            "i.file_name, r.line FROM receipts r LEFT JOIN receipt_imports i USING "
            "(file_sha256) WHERE r.payer = ? AND r.reference = ?",
            (it.payer, it.reference),
        ).fetchone()
        if old is None:
            new.append(it)
            continue
        was = (
            dt.date.fromisoformat(old[0]),
            tuple(old[1].split(";")),
            old[2],
            tuple(cover_months(old[3])),
            old[4],
        )
        if was == it.same:
            known += 1
        else:
            problems.append(
                Problem(
                    "reference",
                    f"{it.payer} {it.reference}: {describe(it)} here, {describe(was)} "
                    f"imported before from {old[5] or 'an earlier file'} line {old[6]}",
                    "an imported receipt is never replaced; a correction by the payer has "
                    "its own reference",
                    name,
                    it.line,
                )
            )
    return new, known, problems


def _shares(
    items: list[_Receipt], accrued: dict[Key, int], name: str
) -> tuple[dict[tuple[str, str], dict[Key, int]], list[Problem]]:
    """Each receipt split over the accrual keys it covers; problems for what cannot be."""
    by_station: dict[tuple[str, str], list[tuple[Key, frozenset[str]]]] = {}
    finalized: set[str] = set()
    for k in accrued:
        ms = frozenset(parse_period(k[2]).month_ids)
        by_station.setdefault((k[0], k[1]), []).append((k, ms))
        finalized |= ms
    out, problems = {}, []
    for it in items:
        months = set(it.months)
        missing = sorted(months - finalized)
        if missing:
            # split over the finalized months only, money of the others would land on them
            span = missing[0] if len(missing) == 1 else f"{missing[0]}..{missing[-1]}"
            problems.append(
                Problem(
                    "period",
                    f"covers {span} ({len(missing)} month{'s' * (len(missing) > 1)}) with no "
                    "final run: nothing accrued to split the receipt by",
                    "finalize the payout runs of those periods first "
                    "(pvledger revenue --period P --final), then import",
                    name,
                    it.line,
                )
            )
            continue
        covered: dict[Key, int] = {}
        partial = []
        for st in it.stations:
            for k, ms in by_station.get((st, it.component), []):
                if ms <= months:
                    covered[k] = accrued[k]
                elif ms & months:
                    partial.append(f"{k[0]} {k[2]}")
        if partial:
            problems.append(
                Problem(
                    "period",
                    f"covers part of final run period(s) {', '.join(sorted(partial))}",
                    "cover whole run periods (the split is by what each run accrued)",
                    name,
                    it.line,
                )
            )
            continue
        if not covered or (len(covered) > 1 and not any(covered.values())):
            what = "is in no final run" if not covered else "accrued nothing"
            problems.append(
                Problem(
                    "period",
                    f"{it.component} of {';'.join(it.stations)} for {it.periods} {what}: "
                    "no amounts to split the receipt by",
                    "finalize the payout runs of those periods first "
                    "(pvledger revenue --period P --final), then import",
                    name,
                    it.line,
                )
            )
            continue
        out[(it.payer, it.reference)] = split(it.amount_fen, covered)
    return out, problems


def import_file(config: Config, ledger: Ledger, path: str | Path, now: str) -> ImportSummary:
    """Validate every row, then import all of them in one chained transaction (or none).

    ``now``: the import time, ISO 8601 UTC (2026-11-05T08:00:00Z); receipts dated after
    its local date (site time zone) are refused.
    """
    path = Path(path)
    name = path.name
    data = read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    broken = ledger.verify()
    if broken:
        # the split reads the final runs' files: on an edited ledger it would split by the edit
        raise LedgerBroken(
            f"{ledger.path}: the ledger fails verification, nothing imported:\n"
            + "\n".join(f"  {p}" for p in broken[:20])
            + "\nrun `pvledger revenue verify` for every problem"
        )
    if ledger.db.execute("SELECT 1 FROM receipt_imports WHERE file_sha256=?", (sha,)).fetchone():
        return ImportSummary(name, sha, 0, 0, True)
    rows = records(data, name)
    header, problems = _header(rows[0][1], name)
    if problems:
        raise BadInput(problems, what=name)
    today = dt.datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(config.site.tz).date()
    accounts = dict(ledger.db.execute("SELECT account, station FROM grid_accounts"))
    items = []
    for lineno, raw in rows[1:]:
        if any(c.strip() for c in raw):
            it = _parse_row(config, header, raw, lineno, name, accounts, today, problems)
            if it is not None:
                items.append(it)
    items, dups, more = _dedupe(items, name)
    problems += more
    if problems:
        raise BadInput(problems, what=name)
    items, known, problems = _against_ledger(ledger, items, name)
    if problems:
        raise BadInput(problems, what=name)
    accruals, _warnings = accruals_from_ledger(config, ledger)
    accrued: dict[Key, int] = {}
    for a in accruals:
        k = (a.station, a.component, a.period)
        accrued[k] = accrued.get(k, 0) + a.accrued_fen
    shares, problems = _shares(items, accrued, name)
    if problems:
        raise BadInput(problems, what=name)
    receipts = [
        {
            "payer": it.payer,
            "reference": it.reference,
            "received_on": it.received_on.isoformat(),
            "stations": ";".join(it.stations),
            "component": it.component,
            "periods": it.periods,
            "amount_fen": it.amount_fen,
            "file_sha256": sha,
            "line": it.line,
        }
        for it in items
    ]
    allocations = [
        {
            "payer": payer,
            "reference": ref,
            "station": k[0],
            "component": k[1],
            "period": k[2],
            "amount_fen": fen,
            "file_sha256": sha,
        }
        for (payer, ref), split_ in shares.items()
        for k, fen in split_.items()
    ]
    imp = {"file_sha256": sha, "file_name": name, "rows": len(items), "recorded_at": now}
    ledger.record(
        "import",
        sha,
        {"receipt_imports": [imp], "receipts": receipts, "receipt_allocations": allocations},
        now,
    )
    return ImportSummary(name, sha, len(receipts), len(allocations), False, dups, known)
