"""The shared run of the CSV import commands (import-meter, receipts import).

Not a subcommand: import_meter.py and receipts.py give it their import function and the
words of their summary line.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable

from pvledger.commands.common import config_from


def run_import(
    args: argparse.Namespace,
    import_file: Callable,
    imported: Callable[[object], str],
    known_what: str,
) -> int:
    """Import args.file into the revenue ledger and print what changed.

    ``imported(summary)`` words the new rows ("2 statements and 5 readings");
    ``known_what`` names rows an earlier import already holds. Bad rows exit 2 (BadInput),
    a broken ledger exits 1.
    """
    import sys

    from core.problems import BadInput, Problem
    from revenue.ledger import Ledger, LedgerBroken
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
        extra.append(f"{s.known} {known_what}")
    tail = f" ({'; '.join(extra)})" if extra else ""
    print(f"{s.file}: imported {imported(s)}{tail}")
    return 0
