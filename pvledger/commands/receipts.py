"""`pvledger receipts import FILE.csv`: money received from the grid, bureau or agency."""

from __future__ import annotations

import argparse
from pathlib import Path

from pvledger.commands.csv_import import run_import


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand (receipts import FILE)."""
    p = sub.add_parser(
        "receipts",
        help="import receipts: money actually received (CSV)",
        description="Columns: received_on, payer (grid_company | finance_bureau | "
        "transfer_agency), station_id or account (several joined with ;), component (a tariff "
        "component), period (2025-07, 2025-Q3, 2025, 2025-01..2025-06; several joined with ;), "
        "amount_fen or amount_yuan, reference. UTF-8 (BOM optional) or GBK. A file with any bad "
        "row imports nothing (exit 2, each row listed as file:line); a reference saying "
        "something else than before is refused with both named; importing the same file again "
        "changes nothing. Each receipt is split over the stations and periods it covers by "
        "what their final runs accrued (largest remainder to the fen) and chained in the "
        "ledger (revenue verify). See docs/revenue.md.",
    )
    p.add_argument("action", choices=["import"])
    p.add_argument("file", type=Path)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import one file into the revenue ledger; bad rows exit 2, a broken ledger exits 1."""
    from revenue.receipt_import import import_file

    return run_import(
        args,
        import_file,
        lambda s: f"{s.receipts} receipts as {s.shares} shares",
        "receipts already imported before",
    )
