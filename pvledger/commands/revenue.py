"""`pvledger revenue`: compute (and finalize) a payout run; `pvledger revenue verify`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "revenue",
        help="compute a payout run for a month or quarter; `revenue verify` checks the ledger",
        description="Energy per station -> tariff components -> allocation -> mandatory checks "
        "-> files in --out. Nothing is written while a check fails (exit 1). A final run never "
        "changes; a correction needs --supersede --reason. See docs/revenue.md.",
    )
    p.add_argument(
        "action",
        nargs="?",
        choices=["run", "verify"],
        default="run",
        help="run (default): compute a payout run; verify: check the ledger's hash chain",
    )
    p.add_argument("--period", help="YYYY-MM or YYYYQn (site time zone)")
    p.add_argument(
        "--out", metavar="DIR", type=Path, default=Path("out"), help="folder for the files (out/)"
    )
    p.add_argument("--final", action="store_true", help="finalize the run (immutable)")
    p.add_argument("--supersede", action="store_true", help="correct a finalized period")
    p.add_argument(
        "--reason", metavar="TEXT", default="", help="why the correction is made (with --supersede)"
    )
    p.add_argument(
        "--lang",
        choices=["zh", "en"],
        default=None,
        help="language of the xlsx headers and sheets (default: site.language of the config)",
    )
    p.add_argument(
        "--head",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="verify: also check an earlier head, e.g. a run's ledger-head-PERIOD.txt",
    )
    p.add_argument(
        "--accept-head",
        action="store_true",
        help="verify: after an investigation, write the head file from the chain as it is",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run or verify; BadInput -> exit 2, failed checks or a broken ledger -> exit 1."""
    from core.problems import BadInput, Problem
    from core.store import open_store
    from revenue.ledger import LedgerBroken
    from revenue.payout import ChecksFailed, ledger_path, payout
    from revenue.period import parse_period

    config = config_from(args)
    if args.action == "verify":
        return _verify(ledger_path(config), args.head, args.accept_head)
    if not args.period:
        raise BadInput([Problem("--period", "missing", "give --period YYYY-MM or YYYYQn")])
    period = parse_period(args.period)
    store = open_store(config, readonly=True) if _store_exists(config) else None
    try:
        out = payout(
            config,
            store,
            period,
            out_dir=args.out,
            final=args.final,
            supersede=args.supersede,
            reason=args.reason,
            lang=args.lang or config.site.language,
        )
    except LedgerBroken as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except ChecksFailed as exc:
        print(str(exc), file=sys.stderr)
        for e in exc.result.errors[:50]:
            print(f"  error: {e}", file=sys.stderr)
        return 1
    finally:
        if store is not None:
            store.close()
    r = out.result
    for w in r.warnings[:10]:
        print(f"warning: {w}", file=sys.stderr)
    if len(r.warnings) > 10:
        print(
            f"warning: ... and {len(r.warnings) - 10} more (see notes in stations-*.csv)",
            file=sys.stderr,
        )
    total = sum(s.distributable_fen for s in r.stations)
    from revenue.money import fen_to_yuan_str

    print(
        f"run {out.record.seq} {out.record.status} {period.id}: {len(r.stations)} stations, "
        f"{len({p.household for p in r.payouts})} households, distributable "
        f"{fen_to_yuan_str(total)} yuan; all {len(r.checks)} checks passed; "
        f"inputs {r.inputs_hash[:12]}"
    )
    if r.adjustments:  # late money and carried-over lines (revenue/adjustments.py)
        unpaid = [a for a in r.adjustments if a.unpaid_reason]
        print(
            f"  + {len(r.adjustments)} adjustment lines of other periods, "
            f"{fen_to_yuan_str(sum(a.amount_fen for a in r.adjustments))} yuan "
            f"({len(unpaid)} listed unpaid): adjustment-lines-{period.id}.csv"
        )
    for p in out.written:
        print(f"  {p}")
    return 0


def _verify(path: Path, head_files: list[Path], accept: bool) -> int:
    """Check the whole ledger (revenue/ledger_check.py); 0 intact, 1 with every problem named."""
    from core.problems import BadInput, Problem
    from revenue.chain import parse_head
    from revenue.ledger import Ledger
    from revenue.ledger_check import summary

    if not path.exists():
        head = path.with_name(path.name + ".head")
        if head.exists():
            print(f"{path}: TAMPERED\n  ledger: missing, but {head} exists", file=sys.stderr)
            return 1
        print(f"{path}: no ledger yet (no run or import recorded)")
        return 0
    heads = []
    for f in head_files:
        try:
            h = parse_head(f.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise BadInput([Problem("--head", f"{f}: cannot be read ({exc})", "")]) from None
        if h is None:
            raise BadInput(
                [Problem("--head", f"{f}: not a ledger head file", "give a ledger-head-*.txt")]
            )
        heads.append((f.name, h))
    with Ledger(path) as ledger:
        problems = ledger.verify(tuple(heads))
        n, head, stored = summary(ledger), ledger.head(), ledger.read_head()
        if accept and not any(p.startswith("chain") for p in problems):
            stored = ledger.accept_head()
            print(f"{ledger.head_path}: written from the chain ({head.entries} entries)")
            problems = ledger.verify(tuple(heads))
    print(
        f"{path}: {n['runs']} runs, {n['imports']} imports ({n['statements']} statements, "
        f"{n['readings']} readings, {n['accounts']} grid accounts), "
        f"{n['receipt_imports']} receipt imports ({n['receipts']} receipts)"
    )
    print(f"  chain: {head.entries} entries, head {head.hash}")
    if stored is not None:
        print(f"  head file: {stored.entries} entries, head {stored.hash}")
    for name, h in heads:
        print(f"  {name}: {h.entries} entries, head {h.hash}")
    if problems:
        print(f"{path}: TAMPERED ({len(problems)} problems)", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(f"{path}: hash chain intact; every run, file, statement, reading and import matches")
    return 0


def _store_exists(config) -> bool:
    if config.storage.backend != "sqlite":
        return True
    return config.resolve(config.storage.path).exists()
