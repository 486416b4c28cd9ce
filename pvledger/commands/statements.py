"""`pvledger statements --year Y [--household ID | --village ID] [--out DIR]`: annual
statements (xlsx and PDF) from the final runs of a year."""

from __future__ import annotations

import argparse
from pathlib import Path

from pvledger.commands.common import config_from
from pvledger.commands.printed import existing_ledger, ready_to_write


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "statements",
        help="annual statements per household and per village (xlsx and PDF)",
        description="From the effective final runs of the year in the ledger: per household, "
        "income by period and source, deductions, bank payments and unpaid lines; per "
        "village, station income, pools (opening, income, paid, balance carried), receipts "
        "and households (names masked). Without --household or --village: every one the "
        "runs name. See docs/payments.md.",
    )
    p.add_argument("--year", type=int, required=True, metavar="Y")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--household", metavar="ID", help="only this household")
    who.add_argument("--village", metavar="ID", help="only this village")
    p.add_argument(
        "--out", metavar="DIR", type=Path, default=Path("out"), help="folder for the files (out/)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the statements; bad input (no final run, unknown id) exits 2."""
    from revenue import statements as st
    from revenue import statements_out as so
    from revenue.ledger import Ledger
    from revenue.money import fen_to_yuan_str

    config = config_from(args)
    path = existing_ledger(config)
    with Ledger(path) as ledger:
        households = (
            []
            if args.village
            else st.household_statements(config, ledger, args.year, args.household)
        )
        villages = (
            [] if args.household else st.village_statements(config, ledger, args.year, args.village)
        )
    if not ready_to_write(args.out):
        return 1
    for s in households:
        _write(args.out, so.file_stem(s), so.household_xlsx(s), so.household_pdf(s))
    for v in villages:
        _write(args.out, so.file_stem(v), so.village_xlsx(v), so.village_pdf(v))
    total = sum(s.total_fen for s in households)
    print(
        f"{args.year}: {len(households)} household and {len(villages)} village statements "
        f"in {args.out}"
        + (f"; households paid {fen_to_yuan_str(total)} yuan" if households else "")
    )
    return 0


def _write(out: Path, stem: str, xlsx: bytes, pdf: bytes) -> None:
    (out / f"{stem}.xlsx").write_bytes(xlsx)
    (out / f"{stem}.pdf").write_bytes(pdf)
