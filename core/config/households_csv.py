"""Household registry kept as a CSV file (finance staff keep it in Excel).

The config names this file, and a wrong name can point at any file (a key, a
password file). So until its first row is recognised as a households header,
errors name the file, the line and the column number and quote nothing from it.
Once it is a registry, row errors may quote an id cell (to find the row); names,
cards, accounts and ID numbers are never quoted. Accounts and ID numbers are
checked by core/config/payees.py (warnings at `pvledger check`, not load errors).
"""

from __future__ import annotations

import csv
import io
import stat
from pathlib import Path

from pydantic import ValidationError

from core.config.model import Household
from core.problems import Problem

REQUIRED = ("id", "name", "village")
OPTIONAL = ("card", "account", "id_number")


#: a registry of a county's households is a few MB; a bigger "CSV" is another file
MAX_FILE_BYTES = 64 * 1024 * 1024


class NotARegistry(ValueError):
    """The path names something that cannot be a registry file (a device, a FIFO, huge)."""


def read_text_any(path: Path) -> str:
    """File text as UTF-8 (BOM or not), falling back to GBK as exported by Chinese Excel."""
    # a FIFO (open would wait for a writer) or /dev/zero named by mistake must not
    # hang or fill memory
    if path.exists() and not stat.S_ISREG(path.stat().st_mode):
        raise NotARegistry("not a regular file" if not path.is_dir() else "a folder")
    with path.open("rb") as f:
        raw = f.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise NotARegistry(f"larger than {MAX_FILE_BYTES:,} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gbk")


def load_households_csv(path: Path) -> tuple[list[tuple[Household, int]], list[Problem]]:
    """Parse the CSV; every bad row is a problem with file:line, good rows come with their line."""
    shown = str(path)
    try:
        text = read_text_any(path)
    except FileNotFoundError:
        return [], [
            Problem(
                "households",
                f"registry file {path} does not exist",
                "create it or fix the path (relative to config.yaml)",
                file=shown,
            )
        ]
    except UnicodeDecodeError:
        return [], [
            Problem(
                "households",
                "neither UTF-8 nor GBK text",
                "save the sheet as CSV UTF-8",
                file=shown,
            )
        ]
    except (OSError, ValueError) as exc:  # a folder, no permission, a NUL in the name
        if isinstance(exc, NotARegistry):
            reason = str(exc)
        elif isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        else:
            reason = "not a file name"
        return [], [
            Problem(
                "households",
                f"cannot read registry file {path}: {reason}",
                "give the path of the households CSV file (relative to config.yaml)",
                file=shown,
            )
        ]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error:  # e.g. a NUL byte: not a spreadsheet export
        header = ["?"]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [n for n, c in enumerate(header, 1) if c not in REQUIRED + OPTIONAL]
    problems: list[Problem] = []
    if missing:
        problems.append(
            Problem(
                "header",
                f"missing column(s) {', '.join(missing)}",
                f"the first row must name the columns {', '.join(REQUIRED)} "
                f"(optional: {', '.join(OPTIONAL)})",
                file=shown,
                line=1,
            )
        )
    if unknown:
        problems.append(
            Problem(
                "header",
                # by number only: this row may be the first line of any file
                f"column(s) {', '.join(map(str, unknown))} of the first row "
                "are not households columns",
                f"name the columns in the first row with only {', '.join(REQUIRED + OPTIONAL)}",
                file=shown,
                line=1,
            )
        )
    if problems:
        return [], problems
    out: list[tuple[Household, int]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a cell over the csv module's size limit, say
            problems.append(
                Problem(
                    "row",
                    f"cannot be read as CSV ({type(exc).__name__})",
                    "export the sheet again as CSV UTF-8",
                    file=shown,
                    line=reader.line_num,
                )
            )
            break
        line = reader.line_num
        clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            problems.append(
                Problem(
                    "row",
                    "more cells than columns",
                    "remove the extra cells or quote a value with a comma",
                    file=shown,
                    line=line,
                )
            )
            continue
        if not any(clean.values()):
            continue
        try:
            out.append((Household.model_validate(clean), line))
        except ValidationError as exc:
            for err in exc.errors():
                col = ".".join(str(p) for p in err["loc"]) or "row"
                problems.append(
                    Problem(
                        col,
                        err["msg"].removeprefix("Value error, "),
                        "correct the cell",
                        file=shown,
                        line=line,
                    )
                )
    return out, problems
