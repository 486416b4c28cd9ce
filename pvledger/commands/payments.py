"""`pvledger payments`: bank batches of final runs and the bank's confirmations."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "payments",
        help="bank batches of final runs (`payments batch`), the bank's return (`confirm`)",
        description="batch: write the bank file of a final run (template per bank in "
        "payments.banks, mode 0600) and its unpaid lines; confirm: import the bank's return "
        "file, failed lines go to the next run; list / show: status. Bad input exits 2 and "
        "changes nothing. See docs/payments.md.",
    )
    acts = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    b = acts.add_parser("batch", help="write the bank batch file of a final run")
    b.add_argument("--run", type=int, required=True, metavar="RUN_ID", help="the final run")
    b.add_argument("--bank", metavar="NAME", help="a bank of payments.banks (default: its bank)")
    b.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("out/payments"),
        help="folder for the batch and unpaid files (out/payments/)",
    )
    c = acts.add_parser("confirm", help="import the bank's return file of a batch")
    c.add_argument("file", metavar="FILE", type=Path)
    c.add_argument("--bank", metavar="NAME", help="read it with this bank's template only")
    acts.add_parser("list", help="every batch and its confirmation")
    s = acts.add_parser("show", help="one batch, line by line (accounts masked)")
    s.add_argument("batch", metavar="BATCH")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch; BadInput -> exit 2, a ledger failing verification -> exit 1."""
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.payout import ledger_path

    config = config_from(args)
    with Ledger(ledger_path(config)) as ledger:
        try:
            return _ACTIONS[args.action](config, ledger, args)
        except LedgerBroken as exc:
            print(str(exc), file=sys.stderr)
            return 1


def _batch(config, ledger, args) -> int:
    from revenue.money import fen_to_yuan_str
    from revenue.payments import make_batch

    out = make_batch(config, ledger, args.run, bank_id=args.bank, out_dir=args.out)
    b = out.batch
    said = "recorded" if out.new else "recorded before; file written again"
    print(
        f"batch {b.batch_id} ({said}): run {b.run_seq} {b.period}, bank {b.bank}: "
        f"{len(b.transfers)} transfers, total {fen_to_yuan_str(b.total_fen)} yuan; "
        f"{len(b.unpaid)} unpaid lines, {fen_to_yuan_str(b.unpaid_fen)} yuan "
        "(carried to the next run)"
    )
    for p in out.written:
        print(f"  {p}")
    return 0


def _confirm(config, ledger, args) -> int:
    from revenue.money import fen_to_yuan_str
    from revenue.payments import confirm_file

    b, n = confirm_file(config, ledger, args.file, bank_id=args.bank)
    print(
        f"batch {b.batch_id} confirmed: {n['paid']} paid ({fen_to_yuan_str(n['paid_fen'])} "
        f"yuan), {n['failed']} failed ({fen_to_yuan_str(n['failed_fen'])} yuan, carried to "
        f"the next run); total {fen_to_yuan_str(b.total_fen)} yuan"
    )
    from revenue.confirm import results

    lines = {ln.line_no: ln for ln in b.lines}
    for no, (status, why) in sorted(results(ledger, b.batch_id).items()):
        if status == "failed":
            ln = lines[no]
            print(f"  failed: line {no} {ln.payee} {fen_to_yuan_str(ln.amount_fen)} yuan: {why}")
    return 0


def _list(config, ledger, args) -> int:
    from revenue.money import fen_to_yuan_str
    from revenue.payments import status

    rows = status(ledger)
    if not rows:
        print("no batches yet (`pvledger payments batch --run RUN_ID`)")
    for r in rows:
        conf = (
            f"confirmed {r['confirmed_at']}: paid {fen_to_yuan_str(r['paid_fen'])}, "
            f"{r['failed']} failed {fen_to_yuan_str(r['failed_fen'])}"
            if r["confirmed_at"]
            else "awaiting the bank's return file"
        )
        print(
            f"{r['batch_id']:<16} run {r['run_seq']:<4} {r['bank']:<16} {r['count']:>5} lines "
            f"{fen_to_yuan_str(r['total_fen']):>14} yuan, {r['unpaid']} unpaid; {conf}"
        )
    return 0


def _show(config, ledger, args) -> int:
    from core.problems import BadInput, Problem
    from revenue import batch as rb
    from revenue.confirm import results
    from revenue.money import fen_to_yuan_str
    from revenue.payees import mask_number

    b = rb.load(ledger, args.batch)
    if b is None:
        raise BadInput(
            [Problem("BATCH", f"no batch {args.batch!r}", "see `pvledger payments list`")]
        )
    res = results(ledger, b.batch_id)
    print(f"batch {b.batch_id}: run {b.run_seq} {b.period}, bank {b.bank}")
    for ln in b.lines:
        st, why = res.get(ln.line_no, (ln.status if ln.status == "unpaid" else "sent", ""))
        note = why or ln.reason
        print(
            f"{ln.line_no:>5} {ln.payee:<12} {mask_number(ln.account) or '-':<20} "
            f"{fen_to_yuan_str(ln.amount_fen):>12} {st:<7} {ln.ref}{'  ' + note if note else ''}"
        )
    return 0


_ACTIONS = {"batch": _batch, "confirm": _confirm, "list": _list, "show": _show}
