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
        "listed as file:line); importing the same file again changes nothing.",
    )
    p.add_argument("file", type=Path)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import one file into the revenue ledger."""
    from core.problems import BadInput, Problem
    from revenue.ledger import Ledger
    from revenue.meter_import import import_file
    from revenue.payout import ledger_path

    config = config_from(args)
    if not args.file.exists():
        raise BadInput([Problem(str(args.file), "no such file", "check the path")])
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Ledger(ledger_path(config)) as ledger:
        s = import_file(config, ledger, args.file, now)
    if s.already_imported:
        print(f"{s.file}: already imported (sha256 {s.sha256[:12]}), nothing changed")
    else:
        print(f"{s.file}: imported {s.statements} statements and {s.readings} readings")
    return 0
