"""The `pvledger` command: one entry point, subcommands in pvledger/commands/.

Exit codes (DESIGN.md §6): 0 ok, 1 runtime failure, 2 bad input (config, CSV,
arguments). Logs go to stderr; -v for debug, -q for warnings only.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from core.problems import BadInput
from pvledger.commands import COMMANDS

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2

log = logging.getLogger("pvledger")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its wording
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = _Parser(
        prog="pvledger",
        description="Solar income for the families it was built for: collect PV readings, "
        "pay exact to the fen, alert within the hour.",
        epilog="Config: -c FILE, else $PVLEDGER_CONFIG, else ./config.yaml. "
        "Exit codes: 0 ok, 1 runtime failure, 2 bad input. Docs: docs/ in the source.",
    )
    parser.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        help="config file (default: $PVLEDGER_CONFIG or ./config.yaml)",
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for library debug)"
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"pvledger.commands.{name}").add_parser(sub)
    return parser


def setup_logging(verbose: int, quiet: bool) -> None:
    """Log to stderr; our loggers at INFO by default, libraries at WARNING."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.WARNING if verbose < 2 else logging.DEBUG,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%Y-%m-%d %H:%M:%S",
    )
    for name in ("pvledger", "core", "collector", "alerts", "revenue"):
        logging.getLogger(name).setLevel(level)


def _store_error() -> type[Exception]:
    """The store's failure class (its module is imported only when it is needed)."""
    from core.store.base import StoreError

    return StoreError


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    setup_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or EXIT_OK)
    except BadInput as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_BAD_INPUT
    except _store_error() as exc:  # imported only when something failed
        log.error("%s", exc)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        log.warning("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
