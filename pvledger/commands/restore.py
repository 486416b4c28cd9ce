"""`pvledger restore DIR --to FOLDER`: restore a backup into a new folder and prove it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.problems import BadInput, Problem


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "restore",
        help="restore a backup folder into a new, empty folder and run `revenue verify` on it",
        description="Checks the backup against its manifest, copies it into FOLDER (which must "
        "not exist or be empty: never over live data) with a config.yaml pointing at the "
        "restored files, runs the ledger check there and compares every run file with the "
        "ledger; on any mismatch FOLDER is not created (exit 1). See docs/operations.md.",
    )
    p.add_argument(
        "backup", metavar="DIR", type=Path, help="one backup folder (with manifest.json)"
    )
    p.add_argument("--to", metavar="FOLDER", type=Path, required=True, help="new or empty folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Restore; a non-empty target exits 2, a failed check exits 1."""
    from core.backup import BackupError
    from pvledger.restore import RestoreRefused, restore, target_problem

    if (why := target_problem(args.to)) is not None:
        raise BadInput([Problem("--to", why, "name a new or empty folder")])
    try:
        result = restore(args.backup, args.to)
    except (RestoreRefused, BackupError) as exc:
        print(f"restore: {exc}; nothing restored", file=sys.stderr)
        for p in getattr(exc, "problems", []):
            print(f"  {p}", file=sys.stderr)
        return 1
    led = result.ledger
    print(
        f"restored {result.files} files into {result.folder}; "
        + (f"ledger intact, {led['count']} entries, head {led['head_hash'][:16]}; " if led else "")
        + f"use it with: pvledger -c {result.folder / 'config.yaml'} revenue verify"
    )
    return 0
