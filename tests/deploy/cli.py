"""Ask the real CLI parser about a command line, in-process (fast, no subprocess)."""

from __future__ import annotations

import contextlib
import io

from pvledger.cli import build_parser


def cli_help(*words: str) -> tuple[int, str]:
    """Exit code and output of `pvledger WORDS --help` (0 when the command line parses)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            build_parser().parse_args([*words, "--help"])
        except SystemExit as exc:
            return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()
