"""The bank's side, for tests: read a batch file and answer it as a bank does.

Written apart from revenue/ (openpyxl's normal workbook for xlsx, the csv module for
CSV), so the return files pvledger reads are not made by the code that reads them.
"""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook, load_workbook

from revenue.bank_template import Template


def read_rows(t: Template, data: bytes) -> list[list[str]]:
    """A batch file's rows as text."""
    if t.format == "csv":
        return [list(r) for r in csv.reader(io.StringIO(data.decode(t.encoding)))]
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = [
        ["" if v is None else str(v) for v in r]
        for r in wb.worksheets[0].iter_rows(values_only=True)
    ]
    wb.close()
    return rows


def write_rows(t: Template, rows: list[list[str]]) -> bytes:
    """Rows back into the template's format."""
    if t.format == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        return buf.getvalue().encode(t.encoding)
    wb = Workbook()
    ws = wb.active
    ws.title = t.sheet
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def line_rows(t: Template, rows: list[list[str]]) -> tuple[int, list[int]]:
    """(index of the column-title row, indexes of the line rows)."""
    titles = t.titles()
    at = next(i for i, r in enumerate(rows) if r[: len(titles)] == titles)
    lines = []
    for i in range(at + 1, len(rows)):
        if rows[i] and rows[i][0].isdigit():
            lines.append(i)
        elif any(rows[i]):
            break
    return at, lines


def answer(t: Template, batch_file: bytes, failed: dict[int, str] | None = None) -> bytes:
    """The bank's return file: every line paid except ``failed`` (line_no -> reason)."""
    failed = failed or {}
    rows = read_rows(t, batch_file)
    at, lines = line_rows(t, rows)
    width = len(t.titles())
    rows[at] = [*rows[at][:width], t.returns.status_title, t.returns.reason_title]
    for i in lines:
        no = int(rows[i][0])
        row = rows[i][:width]
        if no in failed:
            rows[i] = [*row, t.returns.failed[0], failed[no]]
        else:
            rows[i] = [*row, t.returns.paid[0], ""]
    return write_rows(t, rows)
