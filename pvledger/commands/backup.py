"""`pvledger backup DIR [--keep N]` and `pvledger backup verify DIR`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.problems import BadInput, Problem
from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "backup",
        help="consistent copy of every database, the run files and the ledger head; "
        "`backup verify DIR` checks one",
        description="pvledger backup DIR writes DIR/pvledger-YYYYMMDDTHHMMSSZ/ with a manifest "
        "(file, size, SHA-256, ledger head). Safe while collect, alerts watch and serve run "
        "(SQLite backup API, never a file copy). With storage.raw_retention_days, raw days "
        "the county acknowledged are then dropped from the gateway's store. "
        "pvledger backup verify DIR checks a backup folder (or every one in DIR) against its "
        "manifest and runs the ledger check on the copy. See docs/operations.md.",
    )
    p.add_argument(
        "words", nargs="+", metavar="[verify] DIR", help="DIR to back up into, or verify DIR"
    )
    p.add_argument(
        "--keep", type=int, metavar="N", help="keep the newest N backups in DIR, delete older ones"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Back up or verify; bad arguments exit 2, a failed copy or check exits 1."""
    from core.backup import BackupError

    words = args.words
    verify = words[0] == "verify" and len(words) == 2
    if len(words) != 1 and not verify:
        raise BadInput(
            [
                Problem(
                    "arguments",
                    f"`{' '.join(words)}` is not a backup command line",
                    "give `backup DIR` or `backup verify DIR`",
                )
            ]
        )
    if args.keep is not None and (verify or args.keep < 1):
        raise BadInput(
            [
                Problem(
                    "--keep",
                    f"--keep {args.keep} is not valid here",
                    "use --keep N (N >= 1) with backup DIR",
                )
            ]
        )
    try:
        return _verify(Path(words[1])) if verify else _backup(args, Path(words[0]))
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1


def _backup(args: argparse.Namespace, root: Path) -> int:
    from pvledger.backup import apply_retention, make_backup, prune, verify_folder

    config = config_from(args)
    result = make_backup(config, root)
    problems, _ = verify_folder(result.folder)
    if problems:  # read back from disk: what was written is what will be restored
        print(f"{result.folder}: FAILED its check after writing", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    led = result.ledger
    print(
        f"{result.folder}: {len(result.files)} files, {result.size_bytes} bytes in "
        f"{result.seconds:.1f} s; ledger "
        + (f"{led['count']} {led['of']} entries, head {led['head_hash'][:16]}" if led else "none")
    )
    if args.keep:
        for name in prune(root, args.keep):
            print(f"  deleted old backup {root / name}")
    dropped = apply_retention(config)
    if dropped:
        print(
            f"  raw readings dropped from the store (acknowledged, older than "
            f"{config.storage.raw_retention_days} days): {dropped[0]}..{dropped[-1]} "
            f"({len(dropped)} days)"
        )
    return 0


def _verify(path: Path) -> int:
    from pvledger.backup import folders_to_verify, verify_folder

    bad = 0
    for folder in folders_to_verify(path):
        problems, manifest = verify_folder(folder)
        if problems:
            bad += 1
            print(f"{folder}: FAILED", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            continue
        led = manifest.get("ledger")
        print(
            f"{folder}: {len(manifest['files'])} files match the manifest"
            + (
                f"; ledger intact, {led['count']} entries, head {led['head_hash'][:16]}"
                if led
                else ""
            )
        )
    return 1 if bad else 0
