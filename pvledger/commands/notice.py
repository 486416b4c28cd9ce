"""`pvledger notice --run N [--village ID] [--out DIR] [--date D]`: the printable 公示 PDF;
`pvledger notice --check CODE`: which notice a check code belongs to."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from pvledger.commands.common import config_from
from pvledger.commands.printed import existing_ledger, ready_to_write


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "notice",
        help="the printable village notice (公示 PDF) of a final run; --check CODE checks one",
        description="One A4 PDF per village of a final payout run, from what the ledger "
        "recorded: masked names, amounts in figures and capital numerals, the village pools, "
        "totals, the notice period (notice.days from --date), the complaint telephone and a "
        "check code. See docs/payments.md.",
    )
    p.add_argument("--run", type=int, metavar="N", help="the final run's number (ledger seq)")
    p.add_argument("--village", metavar="ID", help="one village (default: every village)")
    p.add_argument(
        "--out", metavar="DIR", type=Path, default=Path("out"), help="folder for the PDFs (out/)"
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="publication date, first day of the notice period (default: today, site time)",
    )
    p.add_argument("--check", metavar="CODE", help="say which notice a check code belongs to")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the notices, or check a code; bad input exits 2, an unknown code exits 1."""
    from core.problems import BadInput, Problem
    from revenue import notice
    from revenue.ledger import Ledger
    from revenue.money import fen_to_yuan_str
    from revenue.notice_pdf import file_name, render_notice

    config = config_from(args)
    path = existing_ledger(config)
    if args.check is not None:
        code = notice.normalize_code(args.check)
        if code is None:
            raise BadInput([Problem("--check", f"{args.check!r} is not a check code", "")])
        with Ledger(path) as ledger:
            n = notice.find(config, ledger, code)
        if n is None:
            print(f"{code}: matches no notice of any final run in the ledger")
            return 1
        state = "final" if n.superseded_by is None else f"superseded by run {n.superseded_by}"
        print(
            f"{code}: {n.village_name} {n.period} run {n.run_seq} ({state}): "
            f"{len(n.lines)} households {fen_to_yuan_str(n.households_fen)} yuan, "
            f"village pools {fen_to_yuan_str(n.pools_fen)} yuan"
        )
        return 0
    if args.run is None:
        raise BadInput([Problem("--run", "missing", "give --run N (pvledger revenue prints it)")])
    published = _date(args.date, config)
    with Ledger(path) as ledger:
        record = notice.final_run(ledger, args.run)
        later = notice.superseded_by(ledger, record)
        if later is not None:
            raise BadInput(
                [
                    Problem(
                        "--run",
                        f"run {record.seq} was superseded by run {later}",
                        f"print the notice of run {later}",
                    )
                ]
            )
        files = notice.notice_files(ledger, record)
        villages = [args.village] if args.village else notice.villages_of(files, record.period)
        notices = [notice.build(config, ledger, record, v) for v in villages]
    if not ready_to_write(args.out):
        return 1
    for n in notices:
        p = args.out / file_name(n)
        p.write_bytes(render_notice(config, n, published))
        print(f"{p}  check code {n.check_code}")
    return 0


def _date(text: str | None, config) -> dt.date:
    from core.problems import BadInput, Problem

    if text is None:
        return dt.datetime.now(config.site.tz).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput([Problem("--date", f"{text!r} is not a date", "write YYYY-MM-DD")]) from None
