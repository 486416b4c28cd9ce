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

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from core.config import Config
from core.problems import BadInput, Problem
from core.sqlite_tx import immediate
from revenue.energy import ImportedMeter
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
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did."""

    file: str
    sha256: str
    statements: int
    readings: int
    already_imported: bool


def decode(data: bytes) -> str:
    """UTF-8 (BOM optional), else GBK; BadInput if neither."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gbk")
    except UnicodeDecodeError:
        raise BadInput(
            [Problem("file", "neither UTF-8 nor GBK", "save the file as UTF-8 or GBK")]
        ) from None


def _kwh_to_wh(text: str) -> int:
    d = Decimal(text.replace(",", ""))
    if d < 0 or not d.is_finite():
        raise ValueError("negative")
    wh = d * 1000
    if wh != wh.to_integral_value():
        raise ValueError("finer than 1 Wh")
    return int(wh)


def import_file(config: Config, ledger: Ledger, path: str | Path, now: str) -> ImportSummary:
    """Validate every row, then import all of them in one transaction (or none)."""
    path = Path(path)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    name = path.name
    if ledger.db.execute("SELECT 1 FROM meter_imports WHERE file_sha256=?", (sha,)).fetchone():
        return ImportSummary(name, sha, 0, 0, True)
    text = decode(data)
    rows = list(csv.reader(io.StringIO(text)))
    problems: list[Problem] = []
    if not rows:
        raise BadInput([Problem("file", "empty file", "add a header row", file=name)])
    header = [ALIASES.get(h.strip()) for h in rows[0]]
    unknown = [h for h, k in zip(rows[0], header, strict=True) if k is None and h.strip()]
    if unknown:
        problems.append(
            Problem("header", f"unknown columns {unknown}", f"use {sorted(set(ALIASES))}", name, 1)
        )
    if "export_kwh" not in header or not ({"station_id", "account"} & set(header)):
        problems.append(
            Problem(
                "header",
                "needs export_kwh and station_id or account (户号)",
                "add the columns",
                name,
                1,
            )
        )
    if problems:
        raise BadInput(problems, what=name)
    accounts = dict(ledger.db.execute("SELECT account, station FROM grid_accounts"))
    stations = config.station_by_id
    tz = config.site.tz
    statements, readings, new_accounts = [], [], {}
    for lineno, raw in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            problems.append(
                Problem("row", f"{len(raw)} fields, header has {len(header)}", "", name, lineno)
            )
            continue
        rec = {k: v.strip() for k, v in zip(header, raw, strict=True) if k}

        def bad(msg: str, fix: str = "", ln: int = lineno) -> None:
            problems.append(Problem("row", msg, fix, name, ln))

        st, acct = rec.get("station_id", ""), rec.get("account", "")
        if st and st not in stations:
            bad(f"unknown station {st!r}", "use a station id from config.yaml")
            continue
        if st and acct:
            if accounts.get(acct, st) != st or new_accounts.get(acct, st) != st:
                bad(f"account {acct} already belongs to another station")
                continue
            new_accounts[acct] = st
        if not st:
            st = accounts.get(acct) or new_accounts.get(acct, "")
            if not st:
                bad(f"account {acct!r} is not linked to a station", "give station_id once with it")
                continue
        try:
            wh = _kwh_to_wh(rec.get("export_kwh", ""))
        except (InvalidOperation, ValueError) as exc:
            bad(
                f"export_kwh {rec.get('export_kwh')!r} is not a kWh amount ({exc})",
                "write e.g. 12390.5",
            )
            continue
        amount_fen = None
        if rec.get("amount_yuan"):
            try:
                y = Decimal(rec["amount_yuan"].replace(",", ""))
                if y * 100 != (y * 100).to_integral_value():
                    raise InvalidOperation
                amount_fen = int(y * 100)
            except InvalidOperation:
                bad(f"amount_yuan {rec['amount_yuan']!r} is not a yuan amount", "e.g. 5133.18")
                continue
        ts, period = rec.get("timestamp", ""), rec.get("period", "")
        if bool(ts) == bool(period):
            bad("give exactly one of timestamp (a reading) or period (a statement)")
            continue
        if period:
            if not _PERIOD.match(period):
                bad(f"period {period!r} is not YYYY-MM")
                continue
            statements.append(
                (st, period, wh, rec.get("statement_no", ""), amount_fen, sha, lineno)
            )
        else:
            try:
                t = dt.datetime.fromisoformat(ts)
            except ValueError:
                bad(
                    f"timestamp {ts!r} is not ISO 8601",
                    "e.g. 2026-08-01 00:00 or 2026-08-01T00:00+08:00",
                )
                continue
            if t.tzinfo is None:
                t = t.replace(tzinfo=tz)
            readings.append((st, int(t.timestamp() * 1000), wh, sha, lineno))
    keys: dict[tuple, int] = {}
    for row in statements:
        k = ("s", row[0], row[1])
        if k in keys:
            problems.append(
                Problem("row", f"{row[0]} {row[1]} also on line {keys[k]}", "", name, row[6])
            )
        keys[k] = row[6]
        old = ledger.db.execute(
            "SELECT export_wh FROM meter_statements WHERE station=? AND month=?", row[:2]
        ).fetchone()
        if old and old[0] != row[2]:
            problems.append(
                Problem(
                    "row",
                    f"{row[0]} {row[1]}: {row[2]} Wh differs from the {old[0]} Wh imported before",
                    "a statement is never silently replaced",
                    name,
                    row[6],
                )
            )
    for row in readings:
        old = ledger.db.execute(
            "SELECT export_wh FROM meter_readings WHERE station=? AND ts_ms=?", row[:2]
        ).fetchone()
        if old and old[0] != row[2]:
            problems.append(
                Problem(
                    "row",
                    f"{row[0]}: reading differs from the one imported before",
                    "",
                    name,
                    row[4],
                )
            )
    if problems:
        raise BadInput(problems, what=name)
    db = ledger.db
    with immediate(db):
        db.executemany("INSERT OR IGNORE INTO meter_statements VALUES (?,?,?,?,?,?,?)", statements)
        db.executemany("INSERT OR IGNORE INTO meter_readings VALUES (?,?,?,?,?)", readings)
        db.executemany(
            "INSERT OR IGNORE INTO grid_accounts VALUES (?,?,?)",
            [(a, s, sha) for a, s in new_accounts.items()],
        )
        db.execute(
            "INSERT INTO meter_imports VALUES (?,?,?,?)",
            (sha, name, len(statements) + len(readings), now),
        )
    return ImportSummary(name, sha, len(statements), len(readings), False)


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
