"""Import grid meter readings and monthly settlement statements (pvledger import-meter).

Columns (header row; English or Chinese names, any order):

| column | 中文 | meaning |
|---|---|---|
| station_id | 电站编号 | our station id (or give account) |
| account | 户号 | grid account number; resolved through an earlier row giving both |
| timestamp | 抄表时间 | a meter reading: ISO 8601 (offset, or site-local time if none) |
| period | 结算期 | a settlement statement: YYYY-MM |
| export_kwh | 上网电量 | reading: counter [kWh]; statement: energy of the month [kWh] |
| statement_no | 结算单号 | optional |
| amount_yuan | 结算金额 | optional, what the grid says it pays |

UTF-8 (with or without BOM) or GBK. Every bad row is reported with file:line; nothing is
imported from a file with errors; re-importing a file (same bytes) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from revenue.csv_input import dedupe, map_header, read_bytes, records
from revenue.energy import ImportedMeter
from revenue.import_values import INT64_MAX, NotExact, kwh_to_wh, show, yuan_to_fen
from revenue.ledger import Ledger

ALIASES = {
    "station_id": "station_id",
    "电站编号": "station_id",
    "account": "account",
    "户号": "account",
    "timestamp": "timestamp",
    "抄表时间": "timestamp",
    "period": "period",
    "结算期": "period",
    "export_kwh": "export_kwh",
    "上网电量": "export_kwh",
    "statement_no": "statement_no",
    "结算单号": "statement_no",
    "amount_yuan": "amount_yuan",
    "结算金额": "amount_yuan",
}
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: new rows, identical repeats in the file, rows already imported."""

    file: str
    sha256: str
    statements: int
    readings: int
    already_imported: bool
    duplicates: int = 0  # identical rows repeated inside the file, counted once
    known: int = 0  # rows identical to ones an earlier file imported


@dataclass(frozen=True)
class _Item:
    """One parsed row: a statement (station, month) or a reading (station, ts_ms)."""

    table: str  # meter_statements | meter_readings
    key: tuple
    value: tuple  # what must agree between two rows of the same key
    line: int
    when: str  # the key's time as written in the file, for messages
    row: dict


_KEYS = {"meter_statements": ("station", "month"), "meter_readings": ("station", "ts_ms")}


_VALUE_NAMES = {
    "meter_statements": ("export_wh", "statement_no", "amount_fen"),
    "meter_readings": ("export_wh",),
}


def _header(row: list[str], name: str) -> tuple[list[str | None], list[Problem]]:
    header, problems = map_header(row, ALIASES, name)
    if "export_kwh" not in header or not ({"station_id", "account"} & set(header)):
        problems.append(
            Problem(
                "header",
                "needs export_kwh and station_id or account (户号)",
                "add the columns",
                name,
                1,
                "须有 export_kwh 列，以及 station_id 或 account（户号）列",
                "补上这些列",
            )
        )
    return header, problems


def _kwh_text(wh: int) -> str:
    return f"{Decimal(wh) / 1000:f} kWh"


def _describe(table: str, value: tuple, other: tuple, zh: bool = False) -> str:
    """The fields in which value differs from other, for humans (in Chinese with zh)."""
    parts = []
    for col, v, o in zip(_VALUE_NAMES[table], value, other, strict=True):
        if v == o:
            continue
        if col == "export_wh":
            parts.append(_kwh_text(v))
        elif col == "amount_fen":
            if v is None:
                parts.append("无金额" if zh else "no amount")
            else:
                parts.append(f"{Decimal(v) / 100:.2f} {'元' if zh else 'yuan'}")
        else:
            parts.append(f"{col} {show(v)}")
    return ("，" if zh else ", ").join(parts)


def _dedupe(items: list[_Item], name: str) -> tuple[list[_Item], int, list[Problem]]:
    """Identical repeats counted once; two lines saying different things both named."""

    def conflict(it: _Item, was: _Item) -> Problem:
        return Problem(
            "export_kwh" if was.value[0] != it.value[0] else "row",
            f"{it.key[0]} {it.when}: line {it.line} says "
            f"{_describe(it.table, it.value, was.value)}, line {was.line} says "
            f"{_describe(it.table, was.value, it.value)}",
            "a file may say one thing about a station and time: keep the right line",
            name,
            it.line,
            f"{it.key[0]} {it.when}：第 {it.line} 行为 "
            f"{_describe(it.table, it.value, was.value, zh=True)}，第 {was.line} 行为 "
            f"{_describe(it.table, was.value, it.value, zh=True)}",
            "同一文件对同一电站同一时间只能有一个说法：请保留正确的那一行",
        )

    return dedupe(items, lambda it: (it.table, it.key), lambda it: it.value, conflict)


def _against_ledger(
    ledger: Ledger, items: list[_Item], name: str
) -> tuple[list[_Item], int, list[Problem]]:
    """Rows an earlier file imported identically are skipped; a different one is refused."""
    new, known, problems = [], 0, []
    for it in items:
        cols = _VALUE_NAMES[it.table]
        where = " AND ".join(f"{c} = ?" for c in _KEYS[it.table])
        old = ledger.db.execute(
            f"SELECT {', '.join(cols)}, i.file_name, t.line FROM {it.table} t "
            f"LEFT JOIN meter_imports i USING (file_sha256) WHERE {where}",
            it.key,
        ).fetchone()
        if old is None:
            new.append(it)
        elif tuple(old[: len(cols)]) == it.value:
            known += 1
        else:
            was = tuple(old[: len(cols)])
            problems.append(
                Problem(
                    "row",
                    f"{it.key[0]} {it.when}: {_describe(it.table, it.value, was)} here, "
                    f"{_describe(it.table, was, it.value)} imported before from "
                    f"{old[-2] or 'an earlier file'} line {old[-1]}",
                    "an imported value is never silently replaced; correct it with a new "
                    "statement number if the grid company reissued it",
                    name,
                    it.line,
                    f"{it.key[0]} {it.when}：此处为 {_describe(it.table, it.value, was, zh=True)}，"
                    f"此前已从 {old[-2] or '此前的文件'} 第 {old[-1]} 行导入 "
                    f"{_describe(it.table, was, it.value, zh=True)}",
                    "已导入的数值不会被悄悄替换；若电网公司重开了结算单，请用新的结算单号更正",
                )
            )
    return new, known, problems


def import_file(config: Config, ledger: Ledger, path: str | Path, now: str) -> ImportSummary:
    """Validate every row, then import all of them in one chained transaction (or none)."""
    path = Path(path)
    name = path.name
    data = read_bytes(path)
    sha = hashlib.sha256(data).hexdigest()
    if ledger.db.execute("SELECT 1 FROM meter_imports WHERE file_sha256=?", (sha,)).fetchone():
        return ImportSummary(name, sha, 0, 0, True)
    rows = records(data, name)
    header, problems = _header(rows[0][1], name)
    if problems:
        raise BadInput(problems, what=name)
    accounts = dict(ledger.db.execute("SELECT account, station FROM grid_accounts"))
    new_accounts: dict[str, tuple[str, int]] = {}  # account -> (station, line)
    items: list[_Item] = []
    latest_ms = _latest_plausible_ms(config, now)
    for lineno, raw in rows[1:]:
        if not any(c.strip() for c in raw):
            continue
        item = _parse_row(config, header, raw, lineno, name, sha, accounts, new_accounts, problems)
        if item is not None and _in_future(item, latest_ms, config):
            problems.append(
                Problem(
                    "timestamp" if item.table == "meter_readings" else "period",
                    f"{show(item.when)} is in the future (imported at {now})",
                    "a meter reading or a statement can only be of the past: check the date",
                    name,
                    item.line,
                    f"{show(item.when)} 在未来（导入时间 {now}）",
                    "抄表与结算单只能是过去的：请检查日期",
                )
            )
        elif item is not None:
            items.append(item)
    items, dups, more = _dedupe(items, name)
    problems += more
    if problems:
        raise BadInput(problems, what=name)
    items, known, problems = _against_ledger(ledger, items, name)
    if problems:
        raise BadInput(problems, what=name)
    st = [i.row for i in items if i.table == "meter_statements"]
    rd = [i.row for i in items if i.table == "meter_readings"]
    accts = [
        {"account": a, "station": s, "file_sha256": sha}
        for a, (s, _ln) in sorted(new_accounts.items())
        if a not in accounts
    ]
    imp = {"file_sha256": sha, "file_name": name, "rows": len(items), "recorded_at": now}
    rows_by_table = {
        "meter_imports": [imp],
        "meter_statements": st,
        "meter_readings": rd,
        "grid_accounts": accts,
    }
    ledger.record("import", sha, rows_by_table, now)
    return ImportSummary(name, sha, len(st), len(rd), False, dups, known)


def _latest_plausible_ms(config: Config, now: str) -> int:
    """The newest reading time an import accepts: now plus the gate's clock tolerance."""
    t = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
    return int(t.timestamp() * 1000 + config.storage.limits.future_s * 1000)


def _in_future(item: _Item, latest_ms: int, config: Config) -> bool:
    """Whether a reading lies after latest_ms, or a statement's month starts after it."""
    if item.table == "meter_readings":
        return int(item.row["ts_ms"]) > latest_ms
    y, m = map(int, str(item.row["month"]).split("-"))
    start = dt.datetime(y, m, 1, tzinfo=config.site.tz)
    return start.timestamp() * 1000 > latest_ms


def _parse_row(
    config: Config,
    header: list[str | None],
    raw: list[str],
    lineno: int,
    name: str,
    sha: str,
    accounts: dict[str, str],
    new_accounts: dict[str, tuple[str, int]],
    problems: list[Problem],
) -> _Item | None:
    """One data row -> an item, or None with its problems appended."""

    def bad(where: str, msg: str, fix: str = "", zh: str = "", fix_zh: str = "") -> None:
        problems.append(Problem(where, msg, fix, name, lineno, zh, fix_zh))

    if len(raw) != len(header):
        bad(
            "row",
            f"{len(raw)} fields, header has {len(header)}",
            "one value per column",
            f"{len(raw)} 个字段，表头有 {len(header)} 列",
            "每列一个值",
        )
        return None
    rec = {k: v.strip() for k, v in zip(header, raw, strict=True) if k}
    st, acct = rec.get("station_id", ""), rec.get("account", "")
    if st and st not in config.station_by_id:
        bad(
            "station_id",
            f"unknown station {show(st)}",
            "use a station id from config.yaml",
            f"未知电站 {show(st)}",
            "请使用 config.yaml 中的电站编号",
        )
        return None
    if st and acct:
        linked = new_accounts.get(acct, (accounts.get(acct, st), 0))
        if linked[0] != st:
            where = f"line {linked[1]}" if linked[1] else "an earlier import"
            where_zh = f"第 {linked[1]} 行" if linked[1] else "此前的导入"
            bad(
                "account",
                f"account {show(acct)} belongs to {linked[0]} ({where}), not {st}",
                zh=f"户号 {show(acct)} 属于 {linked[0]}（{where_zh}），不是 {st}",
            )
            return None
        new_accounts.setdefault(acct, (st, lineno))
    if not st:
        st = accounts.get(acct) or new_accounts.get(acct, ("", 0))[0]
        if not st:
            bad(
                "account",
                f"account {show(acct)} is not linked to a station",
                "give station_id once with it",
                f"户号 {show(acct)} 未关联电站",
                "请至少一次同时给出 station_id",
            )
            return None
    try:
        wh = kwh_to_wh(rec.get("export_kwh", ""))
    except NotExact as exc:
        bad(
            "export_kwh",
            f"{show(rec.get('export_kwh', ''))} is not a kWh amount ({exc})",
            "write the kWh as a plain number, e.g. 12390.5 (at most 3 decimals, "
            f"at most {INT64_MAX // 1000:,} kWh)",
            f"{show(rec.get('export_kwh', ''))} 不是有效的 kWh 电量（{exc.zh}）",
            f"请写成普通数字，例如 12390.5（最多 3 位小数，不超过 {INT64_MAX // 1000:,} kWh）",
        )
        return None
    amount_fen = None
    if rec.get("amount_yuan"):
        try:
            amount_fen = yuan_to_fen(rec["amount_yuan"])
        except NotExact as exc:
            bad(
                "amount_yuan",
                f"{show(rec['amount_yuan'])} is not a yuan amount ({exc})",
                "write e.g. 5133.18 (at most 2 decimals)",
                f"{show(rec['amount_yuan'])} 不是有效的元金额（{exc.zh}）",
                "请写成例如 5133.18（最多 2 位小数）",
            )
            return None
    ts, period = rec.get("timestamp", ""), rec.get("period", "")
    if bool(ts) == bool(period):
        bad(
            "row",
            "give exactly one of timestamp (a reading) or period (a statement)",
            zh="timestamp（抄表）与 period（结算单）须且只能给出一个",
        )
        return None
    if period:
        if not _PERIOD.fullmatch(period):
            bad(
                "period",
                f"{show(period)} is not YYYY-MM",
                "e.g. 2026-07",
                f"{show(period)} 不是 YYYY-MM 格式",
                "例如 2026-07",
            )
            return None
        no = rec.get("statement_no", "")
        row = {
            "station": st,
            "month": period,
            "export_wh": wh,
            "statement_no": no,
            "amount_fen": amount_fen,
            "file_sha256": sha,
            "line": lineno,
        }
        return _Item("meter_statements", (st, period), (wh, no, amount_fen), lineno, period, row)
    try:
        t = dt.datetime.fromisoformat(ts)
        if t.tzinfo is None:
            t = t.replace(tzinfo=config.site.tz)
        ts_ms = int(t.timestamp() * 1000)
    except (ValueError, OverflowError):
        bad(
            "timestamp",
            f"{show(ts)} is not an ISO 8601 time",
            "e.g. 2026-08-01 00:00 or 2026-08-01T00:00+08:00",
            f"{show(ts)} 不是 ISO 8601 时间",
            "例如 2026-08-01 00:00 或 2026-08-01T00:00+08:00",
        )
        return None
    row = {"station": st, "ts_ms": ts_ms, "export_wh": wh, "file_sha256": sha, "line": lineno}
    return _Item("meter_readings", (st, ts_ms), (wh,), lineno, ts, row)


def load_imported(ledger: Ledger) -> ImportedMeter:
    """Everything imported so far, for the energy reader."""
    out = ImportedMeter()
    for st, month, wh, fen in ledger.db.execute(
        "SELECT station, month, export_wh, amount_fen FROM meter_statements"
    ):
        out.statements[(st, month)] = wh
        if fen is not None:
            out.amounts[(st, month)] = fen
    for st, ts, wh in ledger.db.execute(
        "SELECT station, ts_ms, export_wh FROM meter_readings ORDER BY station, ts_ms"
    ):
        out.readings.setdefault(st, []).append((ts, wh))
    return out
