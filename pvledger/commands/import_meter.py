"""`pvledger import-meter FILE.csv`: grid meter readings and settlement statements."""

from __future__ import annotations

import argparse
from pathlib import Path

from pvledger.commands.csv_import import run_import


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
    from revenue.meter_import import import_file

    return run_import(
        args,
        import_file,
        lambda s: f"{s.statements} statements and {s.readings} readings",
        "rows already imported by an earlier file",
    )
