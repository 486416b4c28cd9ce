"""A village's distribution plan from the Excel sheet it keeps -> a `plans.villages` entry.

The layout (docs/payments.md "Village distribution plans"; example
docs/examples/plan-dongpi-2026.xlsx): the first sheet, a header row, then one row per
line; the first column says what the row is. Headers and kinds may be Chinese or English:

| 类别 kind | 名称 name | 户编号 household | 金额(元) yuan | 月份 month | 月数 months |
| 文号 reference | 日期 date | (eight columns, in any order)

- 村 village: name = the village id; 年度 year: name = the year; 收益 income: yuan;
- 公益岗位 post: name, household (the holder), yuan (a month's wage), month (the first
  month paid, default 1), months (default 12);
- 小型公益事业 project: name, yuan (budget), month, reference (its approval);
- 奖励补助 award: name, household, yuan, month (rows with one name and month are one line);
- 村民代表大会 assembly, 乡镇审核 township, 县级备案 county: reference, date.

Money is text or a number with at most two decimals (never rounded). A sheet with any
bad cell imports nothing: every problem names the cell (plan!C7) and the fix.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from core.config import Config
from core.config.plans import Plan, plan_households
from core.problems import BadInput, Problem

#: header text (Chinese or English) -> field
COLUMNS = {
    "类别": "kind", "kind": "kind",
    "名称": "name", "name": "name",
    "户编号": "household", "household": "household",
    "金额(元)": "yuan", "金额": "yuan", "yuan": "yuan",
    "月份": "month", "month": "month",
    "月数": "months", "months": "months",
    "文号": "reference", "reference": "reference",
    "日期": "date", "date": "date",
}  # fmt: skip
#: row kind (Chinese or English) -> kind
KINDS = {
    "村": "village", "village": "village",
    "年度": "year", "year": "year",
    "收益": "income", "income": "income",
    "公益岗位": "post", "post": "post",
    "小型公益事业": "project", "project": "project",
    "奖励补助": "award", "award": "award",
    "村民代表大会": "assembly", "assembly": "assembly",
    "乡镇审核": "township", "township": "township",
    "县级备案": "county", "county": "county",
}  # fmt: skip
_LETTERS = "ABCDEFGH"


class _Sheet:
    """Cell reading with problems gathered under the cell's name."""

    def __init__(self, file: Path, title: str):
        self.file, self.title, self.problems = file, title, []
        self.cols: dict[str, int] = {}

    def bad(self, row: int, field: str | None, message: str, fix: str) -> None:
        col = _LETTERS[self.cols[field]] if field in self.cols else ""
        self.problems.append(Problem(f"{self.title}!{col}{row}", message, fix, file=self.file.name))

    def text(self, cells: tuple, row: int, field: str) -> str:
        i = self.cols.get(field)
        v = cells[i] if i is not None and i < len(cells) else None
        if v is None:
            return ""
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return str(v).strip()

    def yuan(self, cells: tuple, row: int) -> str:
        i = self.cols.get("yuan")
        v = cells[i] if i is not None and i < len(cells) else None
        text = repr(v) if isinstance(v, float) else self.text(cells, row, "yuan")
        try:
            d = Decimal(text)
        except InvalidOperation:
            self.bad(row, "yuan", f"{text!r} is not an amount", 'write yuan, e.g. "600.00"')
            return "0.00"
        if not d.is_finite() or d < 0 or d.as_tuple().exponent < -2:  # type: ignore[operator]
            self.bad(row, "yuan", f"{text} is not yuan with at most two decimals", "fix the amount")
            return "0.00"
        return f"{d:.2f}"

    def integer(self, cells: tuple, row: int, field: str, default: int | None) -> int | None:
        text = self.text(cells, row, field)
        if not text:
            if default is None:
                self.bad(row, field, f"no {field}", f"write the {field} (a whole number)")
            return default
        if not text.isdigit():
            self.bad(row, field, f"{text!r} is not a whole number", f"write the {field}, e.g. 6")
            return default
        return int(text)

    def date(self, cells: tuple, row: int) -> dt.date | None:
        i = self.cols.get("date")
        v = cells[i] if i is not None and i < len(cells) else None
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        text = self.text(cells, row, "date")
        if not text:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.bad(row, "date", f"{text!r} is not a date", "write it as YYYY-MM-DD")
            return None


def read_plan(config: Config, file: Path) -> dict[str, Any]:
    """The plan of an xlsx sheet as a `plans.villages` entry (plain data), validated
    against the plan model and the registry; BadInput (exit 2) listing every bad cell."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(file, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not xlsx
        raise BadInput(
            [Problem(str(file), f"not a readable xlsx workbook ({exc})", "save it as .xlsx")]
        ) from None
    ws = wb.worksheets[0]
    sh = _Sheet(file, ws.title)
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    if not rows:
        raise BadInput(
            [
                Problem(
                    f"{ws.title}!A1",
                    "the sheet is empty",
                    "use the layout of docs/examples/plan-dongpi-2026.xlsx",
                )
            ],
            what=str(file),
        )
    for i, h in enumerate(rows[0]):
        key = COLUMNS.get(str(h).strip().lower() if h is not None else "")
        if key is not None:
            sh.cols[key] = i
    missing = [c for c in ("kind", "name", "yuan") if c not in sh.cols]
    if missing:
        raise BadInput(
            [
                Problem(
                    f"{ws.title}!1",
                    f"no {', '.join(missing)} column in the header row",
                    "start the sheet with the header row of docs/payments.md",
                )
            ],
            what=str(file),
        )
    plan: dict[str, Any] = {"posts": [], "projects": [], "awards": [], "approvals": {}}
    awards: dict[tuple[str, int], dict] = {}
    for n, cells in enumerate(rows[1:], start=2):
        raw = sh.text(cells, n, "kind")
        if not raw and not any(c is not None for c in cells):
            continue
        kind = KINDS.get(raw.lower())
        if kind is None:
            sh.bad(n, "kind", f"unknown row kind {raw!r}", f"use one of {', '.join(KINDS)}")
            continue
        _row(sh, plan, awards, kind, cells, n)
    plan["awards"] = list(awards.values())
    for k in ("village", "year", "income_yuan"):
        if k not in plan:
            sh.bad(1, None, f"no {k} row", f"add a row for the {k} (see docs/payments.md)")
    if not sh.problems:
        _validate(config, plan, sh)
    if sh.problems:
        raise BadInput(sh.problems, what=str(file))
    order = ("village", "year", "income_yuan", "posts", "projects", "awards", "approvals")
    return {k: plan[k] for k in order}


def _row(sh: _Sheet, plan: dict, awards: dict, kind: str, cells: tuple, n: int) -> None:
    name = sh.text(cells, n, "name")
    if kind == "village":
        plan["village"] = name
    elif kind == "year":
        plan["year"] = int(name) if name.isdigit() else sh.bad(n, "name", "no year", "write 2026")
    elif kind == "income":
        plan["income_yuan"] = sh.yuan(cells, n)
    elif kind == "post":
        plan["posts"].append({
            "name": name, "holder": sh.text(cells, n, "household"),
            "yuan_per_month": sh.yuan(cells, n),
            "from_month": sh.integer(cells, n, "month", 1),
            "months": sh.integer(cells, n, "months", 12),
        })  # fmt: skip
    elif kind == "project":
        plan["projects"].append({
            "name": name, "approval": sh.text(cells, n, "reference"),
            "budget_yuan": sh.yuan(cells, n), "month": sh.integer(cells, n, "month", None),
        })  # fmt: skip
    elif kind == "award":
        month = sh.integer(cells, n, "month", None) or 0
        line = awards.setdefault((name, month), {"name": name, "month": month, "beneficiaries": []})
        line["beneficiaries"].append(
            {"household": sh.text(cells, n, "household"), "yuan": sh.yuan(cells, n)}
        )
    else:  # an approval step
        plan["approvals"][kind] = {
            "date": sh.date(cells, n),
            "reference": sh.text(cells, n, "reference"),
        }


def _validate(config: Config, plan: dict, sh: _Sheet) -> None:
    """The plan model's and the registry's checks, named by key path (no cell for those)."""
    try:
        model = Plan.model_validate(plan)
    except ValidationError as exc:
        for e in exc.errors():
            where = ".".join(str(p) for p in e["loc"])
            sh.problems.append(
                Problem(
                    f"{sh.title}: {where}",
                    e["msg"].removeprefix("Value error, "),
                    "correct that row of the sheet",
                    file=sh.file.name,
                )
            )
        return
    if model.village not in config.village_by_id:
        sh.problems.append(
            Problem(
                f"{sh.title}: village",
                f"unknown village {model.village!r}",
                "write the village id of the config",
                file=sh.file.name,
            )
        )
    for kp, hh in plan_households(model):
        if hh not in config.household_by_id:
            sh.problems.append(
                Problem(
                    f"{sh.title}: {'.'.join(map(str, kp))}",
                    f"unknown household {hh!r}",
                    "write a household id of the registry",
                    file=sh.file.name,
                )
            )


def to_yaml(plan: dict[str, Any]) -> str:
    """The plan as a YAML list item for `plans.villages:` (money quoted, dates as dates)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def money(d: _Dumper, s: str):
        style = '"' if _is_money(s) else None
        return d.represent_scalar("tag:yaml.org,2002:str", s, style=style)

    _Dumper.add_representer(str, money)
    return yaml.dump([plan], Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def _is_money(s: str) -> bool:
    head, _, tail = s.partition(".")
    return head.isdigit() and len(tail) == 2 and tail.isdigit()
