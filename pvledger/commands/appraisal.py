"""`pvledger appraisal --month YYYY-MM [--contractor ID] [--format table|csv|json] [--xlsx FILE]`:
contractor appraisal and fleet KPIs for one month (docs/om.md)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import re
import sys
from pathlib import Path

from core.problems import BadInput, Problem
from pvledger.commands.common import config_from
from pvledger.commands.workorders import now_ms

CONTRACTOR_COLS = (
    "contractor",
    "name",
    "orders",
    "verified",
    "median_repair_h",
    "worst_repair_h",
    "within_deadline_share",
    "availability",
    "lost_kwh",
    "lost_yuan",
    "stations",
)
STATION_COLS = (
    "station",
    "village",
    "capacity_kw",
    "kwh",
    "kwh_per_kwp",
    "kwh_per_kwp_day",
    "vs_peers",
    "availability",
    "lost_kwh",
    "lost_yuan",
)
VILLAGE_COLS = (
    "village",
    "stations",
    "capacity_kw",
    "kwh",
    "kwh_per_kwp",
    "kwh_per_kwp_day",
    "availability",
    "lost_kwh",
    "lost_yuan",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "appraisal",
        help="contractor appraisal and fleet KPIs for a month",
        description="Per contractor: work orders, median and worst time to repair, share "
        "repaired within the deadline, availability of its stations (village outages "
        "excluded), energy and income lost. Per station and village: kWh/kWp per month and "
        "day, performance against the village median, availability.",
    )
    p.add_argument("--month", required=True, metavar="YYYY-MM")
    p.add_argument("--contractor", metavar="ID", help="only this contractor (om.people)")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--xlsx", type=Path, metavar="FILE", help="also write an Excel workbook")
    p.add_argument("--at", metavar="T", help="judge as at site-local time T (default now)")
    p.add_argument("--sim-clock", metavar="FILE")
    p.set_defaults(func=run)


def _rows(result):
    from alerts.income import yuan

    contractors = []
    for c in result.contractors:
        d = dataclasses.asdict(c)
        d["lost_kwh"] = round(d["lost_kwh"], 1)
        d["lost_yuan"] = yuan(d.pop("lost_fen"))
        contractors.append({k: d[k] for k in CONTRACTOR_COLS})
    stations = []
    for s in result.stations:
        d = dataclasses.asdict(s)
        d["lost_yuan"] = yuan(d.pop("lost_fen"))
        stations.append(d)
    villages = [{**v, "lost_yuan": yuan(v["lost_fen"])} for v in result.villages]
    for v in villages:
        del v["lost_fen"]
    return contractors, stations, villages


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"
    return str(v)


def run(args: argparse.Namespace) -> int:
    """Compute the month's appraisal and print or write it."""
    from alerts.state import AlertDb
    from alerts.workorders.appraisal import appraise
    from alerts.workorders.service import open_db
    from core.store import open_store

    config = config_from(args)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
        raise BadInput(
            [Problem("--month", f"cannot read {args.month!r}", "write YYYY-MM, e.g. 2018-07")],
            what="arguments",
        )
    if args.contractor and not any(
        p.id == args.contractor and p.role == "contractor" for p in config.om.people
    ):
        known = ", ".join(p.id for p in config.om.people if p.role == "contractor") or "none"
        raise BadInput(
            [
                Problem(
                    "--contractor", f"unknown contractor {args.contractor!r}", f"use one of {known}"
                )
            ],
            what="arguments",
        )
    at = now_ms(args, config)
    store = open_store(config, readonly=True)
    db = open_db(config)
    adb = AlertDb(config.resolve(config.alerts.db_path))
    try:
        result = appraise(
            config, store, db, adb.alerts(), args.month, now_ms=at, contractor=args.contractor
        )
    finally:
        adb.close()
        db.close()
        store.close()
    contractors, stations, villages = _rows(result)
    if args.xlsx:
        write_xlsx(args.xlsx, args.month, contractors, stations, villages)
    if args.format == "json":
        doc = {
            "month": args.month,
            "contractors": contractors,
            "stations": stations,
            "villages": villages,
        }
        print(json.dumps(doc, ensure_ascii=False, indent=1))
    elif args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(("table", *CONTRACTOR_COLS))
        for r in contractors:
            w.writerow(("contractor", *(r[k] for k in CONTRACTOR_COLS)))
        w.writerow(("table", *STATION_COLS))
        for r in stations:
            w.writerow(("station", *(r[k] for k in STATION_COLS)))
        w.writerow(("table", *VILLAGE_COLS))
        for r in villages:
            w.writerow(("village", *(r[k] for k in VILLAGE_COLS)))
    else:
        print(f"appraisal {args.month}")
        print(" ".join(f"{c:>12}" for c in CONTRACTOR_COLS))
        for r in contractors:
            print(" ".join(f"{_fmt(r[k]):>12}" for k in CONTRACTOR_COLS))
        print()
        print(" ".join(f"{c:>15}" for c in VILLAGE_COLS))
        for r in villages:
            print(" ".join(f"{_fmt(r[k]):>15}" for k in VILLAGE_COLS))
        print(f"\n{len(stations)} stations (--format csv|json or --xlsx for the station table)")
    return 0


def write_xlsx(path: Path, month: str, contractors, stations, villages) -> None:
    """One sheet per table (contractors, villages, stations)."""
    from openpyxl import Workbook

    wb = Workbook()
    for i, (title, cols, rows) in enumerate(
        (
            ("contractors", CONTRACTOR_COLS, contractors),
            ("villages", VILLAGE_COLS, villages),
            ("stations", STATION_COLS, stations),
        )
    ):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = f"{title} {month}"
        ws.append(list(cols))
        for r in rows:
            ws.append([r[k] for k in cols])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
