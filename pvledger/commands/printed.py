"""What the commands printing from the final runs share (notice, statements): the ledger
they read and the check that the CJK font is there before anything is written."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # `pvledger --help` loads this module: no pydantic at import
    from core.config import Config


def existing_ledger(config: Config) -> Path:
    """The revenue ledger's path; BadInput (exit 2) if no run has created it yet."""
    from core.problems import BadInput, Problem
    from revenue.payout import ledger_path

    path = ledger_path(config)
    if not path.exists():
        raise BadInput([Problem(str(path), "no ledger yet", "finalize a payout run first")])
    return path


def ready_to_write(out: Path) -> bool:
    """Whether the PDFs can be made (the CJK font is found; else the error is printed);
    if so, out exists afterwards."""
    from revenue.pdf import FontMissing, cjk_font

    try:
        cjk_font()  # before anything is written: without the font nothing is
    except FontMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return False
    out.mkdir(parents=True, exist_ok=True)
    return True
