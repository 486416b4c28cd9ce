"""Household registry kept as a CSV file (finance staff keep it in Excel)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pydantic import ValidationError

from core.config.model import Household
from core.problems import Problem

REQUIRED = ("id", "name", "village")
OPTIONAL = ("card", "account")


def read_text_any(path: Path) -> str:
    """File text as UTF-8 (BOM or not), falling back to GBK as exported by Chinese Excel."""
    raw = path.read_bytes()
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
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
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
                f"unknown column(s) {', '.join(unknown)}",
                f"use only {', '.join(REQUIRED + OPTIONAL)}",
                file=shown,
                line=1,
            )
        )
    if problems:
        return [], problems
    out: list[tuple[Household, int]] = []
    for row in reader:
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
