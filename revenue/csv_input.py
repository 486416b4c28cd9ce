"""Reading an imported CSV file: bytes, UTF-8/GBK text, line-numbered records, the header.

Shared by the meter and receipt imports (revenue/meter_import.py, revenue/receipt_import.py):
every problem names the file and the line, and raises BadInput (exit 2).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TypeVar

from core.problems import BadInput, Problem
from revenue.import_values import show

T = TypeVar("T")


def read_bytes(path: Path) -> bytes:
    """The file's bytes; BadInput naming the path if it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(
            [Problem("file", exc.strerror or "cannot be read", "check the path", str(path))],
            what=str(path),
        ) from None


def decode(data: bytes, name: str = "input") -> str:
    """UTF-8 (BOM optional), else GBK; BadInput naming the file and byte if neither."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        utf8_at = exc.start
    try:
        return data.decode("gbk")
    except UnicodeDecodeError as exc:
        # the encoding that got further is the file's, and its failure is the bad byte
        at = max(utf8_at, exc.start)
    line = data.count(b"\n", 0, at) + 1
    raise BadInput(
        [
            Problem(
                "encoding",
                f"neither UTF-8 nor GBK at byte {at} (0x{data[at]:02x})",
                "save the file as UTF-8 or GBK (Excel: CSV UTF-8)",
                name,
                line,
            )
        ],
        what=name,
    ) from None


def read_rows(text: str, name: str) -> list[tuple[int, list[str]]]:
    """CSV records with the file line each starts on; BadInput on malformed CSV."""
    reader = csv.reader(io.StringIO(text, newline=""))
    out, start = [], 1
    try:
        for raw in reader:
            out.append((start, raw))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise BadInput(
            [
                Problem(
                    "csv", str(exc), "save the sheet again as CSV (comma-separated)", name, start
                )
            ],
            what=name,
        ) from None
    return out


def records(data: bytes, name: str) -> list[tuple[int, list[str]]]:
    """The decoded, line-numbered records of a file; BadInput if it has none (no header)."""
    rows = read_rows(decode(data, name), name)
    if not rows:
        raise BadInput([Problem("file", "empty file", "add a header row", name)], what=name)
    return rows


def map_header(
    row: list[str], aliases: dict[str, str], name: str
) -> tuple[list[str | None], list[Problem]]:
    """Each header cell's column (None if unknown); problems for unknown or doubled columns."""
    header = [aliases.get(h.strip()) for h in row]
    problems = []
    unknown = [show(h) for h, k in zip(row, header, strict=True) if k is None and h.strip()]
    if unknown:
        problems.append(
            Problem(
                "header", f"unknown columns {', '.join(unknown)}", f"use {sorted(aliases)}", name, 1
            )
        )
    seen = [k for k in header if k]
    for k in sorted({k for k in seen if seen.count(k) > 1}):
        problems.append(
            Problem("header", f"column {k} given twice", "keep one column per meaning", name, 1)
        )
    return header, problems


def dedupe(
    items: list[T],
    key: Callable[[T], Hashable],
    same: Callable[[T], Hashable],
    conflict: Callable[[T, T], Problem],
) -> tuple[list[T], int, list[Problem]]:
    """(the first item of each key, identical repeats counted, a problem per repeat saying
    something else); ``conflict(item, first)`` words that problem."""
    first: dict[Hashable, T] = {}
    problems, dups = [], 0
    for it in items:
        k = key(it)
        was = first.get(k)
        if was is None:
            first[k] = it
        elif same(was) == same(it):
            dups += 1
        else:
            problems.append(conflict(it, was))
    return list(first.values()), dups, problems
