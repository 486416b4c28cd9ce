"""`pvledger import-meter FILE.csv`: grid meter readings and settlement statements."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand (module import_meter, command import-meter)."""
    p = sub.add_parser(
        "import-meter",
        help="import grid meter readings / monthly settlement statements (CSV)",
        description="Columns: station_id or account (户号), timestamp (a reading) or period "
        "(a statement, YYYY-MM), export_kwh, optional statement_no and amount_yuan. UTF-8 "
        "(BOM optional) or GBK. A file with any bad row imports nothing (exit 2, each row "
        "listed as file:line); two rows saying different things about one station and time "
        "are refused with both lines, identical repeats count once; importing the same file "
        "again changes nothing. Every import is chained in the ledger (revenue verify).",
    )
    p.add_argument("file", type=Path)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import one file into the revenue ledger; bad rows exit 2, a broken ledger exits 1."""
    import sys

    from core.problems import BadInput, Problem
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.meter_import import import_file
    from revenue.payout import ledger_path

    config = config_from(args)
    if not args.file.exists():
        raise BadInput([Problem(str(args.file), "no such file", "check the path")])
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        with Ledger(ledger_path(config)) as ledger:
            s = import_file(config, ledger, args.file, now)
    except LedgerBroken as exc:
        print(str(exc), file=sys.stderr)
        return 1
    if s.already_imported:
        print(f"{s.file}: already imported (sha256 {s.sha256[:12]}), nothing changed")
        return 0
    extra = []
    if s.duplicates:
        extra.append(f"{s.duplicates} identical repeated rows counted once")
    if s.known:
        extra.append(f"{s.known} rows already imported by an earlier file")
    tail = f" ({'; '.join(extra)})" if extra else ""
    print(f"{s.file}: imported {s.statements} statements and {s.readings} readings{tail}")
    return 0
