"""Bank batch templates: data (revenue/bank_templates/NAME.yaml or a file beside config.yaml).

A template names the file format (csv or xlsx), the text encoding of a CSV (utf-8 or
gbk), the header rows, the line columns in order, the trailer rows and how the bank's
return file says paid or failed. Header and trailer cells may hold placeholders:
{batch_id} {count} {total} {payer_name} {payer_account} {purpose} {period} {run}.
Line columns take one field each (LINE_FIELDS). This module turns a template and a
batch's lines into rows and rows back into cells; revenue/batch.py and revenue/confirm.py
do the rest.
"""

from __future__ import annotations

import csv
import io
import string
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.config.yamlsrc import load_yaml
from core.problems import BadInput, Problem

#: what a line column may show
LINE_FIELDS = ("line_no", "account", "name", "amount", "id_number", "memo", "ref", "payee")
#: what header and trailer cells may name
PLACEHOLDERS = (
    "batch_id",
    "count",
    "total",
    "payer_name",
    "payer_account",
    "purpose",
    "period",
    "run",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Column(_Strict):
    """One line column: its title in the file and the field it shows."""

    title: str = Field(min_length=1)
    field: Literal["line_no", "account", "name", "amount", "id_number", "memo", "ref", "payee"]


class ReturnFormat(_Strict):
    """How the bank's return file marks each line: the two added columns and their words."""

    status_title: str = Field(min_length=1)
    reason_title: str = Field(min_length=1)
    paid: list[str] = Field(min_length=1)
    failed: list[str] = Field(min_length=1)


class Template(_Strict):
    """A bank's batch file layout (see the module docstring)."""

    name: str
    description: str = ""
    format: Literal["csv", "xlsx"]
    encoding: Literal["utf-8", "gbk"] = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    sheet: str = "Sheet1"
    amount_unit: Literal["yuan", "fen"] = "yuan"
    header: list[list[str]] = Field(default_factory=list)
    columns: list[Column] = Field(min_length=1)
    trailer: list[list[str]] = Field(default_factory=list)
    returns: ReturnFormat = Field(alias="return")

    @model_validator(mode="after")
    def _sound(self) -> Template:
        fields = [c.field for c in self.columns]
        for need in ("line_no", "account", "amount"):
            if need not in fields:
                raise ValueError(f"columns must include the field {need}")
        dup = sorted({f for f in fields if fields.count(f) > 1})
        if dup:
            raise ValueError(f"field(s) {', '.join(dup)} in two columns")
        for where, rows in (("header", self.header), ("trailer", self.trailer)):
            for row in rows:
                for cell in row:
                    for _, name, _, _ in string.Formatter().parse(cell):
                        if name is not None and name not in PLACEHOLDERS:
                            raise ValueError(
                                f"{where} cell {cell!r} names {{{name}}}; "
                                f"use only {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
                            )
        if not any("{batch_id}" in c for row in self.header for c in row):
            raise ValueError("the header must show {batch_id}: the return file is matched by it")
        return self

    @property
    def suffix(self) -> str:
        """The batch file's extension."""
        return "." + self.format

    def titles(self) -> list[str]:
        """The line columns' titles, in order."""
        return [c.title for c in self.columns]


def shipped_names() -> list[str]:
    """The templates that ship with pvledger."""
    root = resources.files("revenue.bank_templates")
    return sorted(p.name.removesuffix(".yaml") for p in root.iterdir() if p.name.endswith(".yaml"))


def load_template(spec: str, base_dir: Path) -> Template:
    """A template by shipped name or by the path of a YAML file (relative to base_dir)."""
    if spec.endswith((".yaml", ".yml")):
        path = (base_dir / spec).resolve()
    else:
        if spec not in shipped_names():
            raise BadInput(
                [
                    Problem(
                        "payments.banks[].template",
                        f"no shipped template {spec!r}",
                        f"use one of {', '.join(shipped_names())} or a .yaml file",
                    )
                ]
            )
        path = Path(str(resources.files("revenue.bank_templates") / f"{spec}.yaml"))
    src, problems = load_yaml(path)
    if problems:
        raise BadInput(problems, what=str(path))
    try:
        return Template.model_validate(src.data if isinstance(src.data, dict) else {})
    except ValidationError as exc:
        raise BadInput(
            [
                Problem(
                    ".".join(str(p) for p in e["loc"]) or "(template)",
                    e["msg"].removeprefix("Value error, "),
                    "correct the template (docs/payments.md, bank templates)",
                    file=str(path),
                    line=src.line_of(tuple(e["loc"])),
                )
                for e in exc.errors()
            ],
            what=str(path),
        ) from None


def fill(rows: list[list[str]], values: dict[str, str]) -> list[list[str]]:
    """Header or trailer rows with their placeholders filled in."""
    return [[cell.format(**values) for cell in row] for row in rows]


def encode(t: Template, rows: list[list[str]]) -> bytes:
    """The file's bytes: CSV in the template's encoding, or an xlsx of text cells."""
    if t.format == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, delimiter=t.delimiter, lineterminator="\r\n")
        w.writerows(rows)
        return buf.getvalue().encode(t.encoding)
    from revenue.xlsx import PLAIN, Sheet, write_workbook

    # every cell text: a 19-digit card number as a number would lose its last digits
    return write_workbook([Sheet(t.sheet, iter([[(c, PLAIN) for c in r] for r in rows]))])


def decode(t: Template, data: bytes, shown: str) -> list[list[str]]:
    """The rows of a batch or return file, every cell as stripped text."""
    if t.format == "csv":
        try:
            text = data.decode(t.encoding)
        except UnicodeDecodeError:
            raise BadInput(
                [Problem("(file)", f"not {t.encoding} text", f"the bank file is {t.encoding}")],
                what=shown,
            ) from None
        text = text.removeprefix("\ufeff")
        reader = csv.reader(io.StringIO(text), delimiter=t.delimiter)
        return [[c.strip() for c in r] for r in reader]
    import zipfile

    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise BadInput(
            [Problem("(file)", "not an xlsx workbook", "give the bank's return workbook")],
            what=shown,
        ) from None
    ws = wb[t.sheet] if t.sheet in wb.sheetnames else wb.worksheets[0]
    rows = [[_cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
    wb.close()
    return rows


def _cell_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()
