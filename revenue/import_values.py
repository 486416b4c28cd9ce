"""Cells of an imported CSV -> exact integers (Wh, fen), or a reason they are refused.

A cell is a plain decimal number: digits, an optional point, optionally thousands
separators (12,390.5) or an exponent (1.239E+04, as Excel writes); nothing else (no
NaN, infinity, full-width digits). The value must be exact in the target unit (no
fraction of a Wh or a fen) and fit a signed 64-bit integer, the largest the ledger
(SQLite INTEGER) can hold. Pure functions, no rounding anywhere.
"""

from __future__ import annotations

import re

INT64_MAX = 2**63 - 1
MAX_CELL_CHARS = 40  # a number longer than this is not a meter value
_GROUPED = re.compile(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$")
_NUMBER = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]{1,3}))?$")


class NotExact(ValueError):
    """The cell is not an exact number in range; the message says why (zh: in Chinese)."""

    def __init__(self, message: str, zh: str = ""):
        super().__init__(message)
        self.zh = zh or message


def show(cell: str) -> str:
    """A cell quoted for an error message, cut short (file contents are not echoed whole)."""
    return repr(cell if len(cell) <= MAX_CELL_CHARS else cell[:MAX_CELL_CHARS] + "...")


def scaled_int(cell: str, places: int) -> int:
    """The cell's value x 10**places as an exact int; NotExact if it is not one."""
    text = cell.strip()
    if len(text) > MAX_CELL_CHARS:
        raise NotExact(f"longer than {MAX_CELL_CHARS} characters", f"超过 {MAX_CELL_CHARS} 个字符")
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    m = _NUMBER.fullmatch(text)
    if not m or not (m.group(2) or m.group(3)):
        raise NotExact("not a number", "不是数字")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", int(m.group(4) or 0)
    digits = int((whole + frac) or "0")
    shift = exp + places - len(frac)  # value = digits x 10**shift
    if shift >= 0:
        value = digits * 10**shift
    else:
        value, rest = divmod(digits, 10**-shift)
        if rest:
            raise NotExact(
                f"finer than 1/{10**places} of the unit", f"精度超过单位的 1/{10**places}"
            )
    if value > INT64_MAX:
        raise NotExact("too large for a 64-bit counter", "超出 64 位计数范围")
    return -value if sign == "-" else value


def kwh_to_wh(cell: str) -> int:
    """kWh text -> non-negative Wh, exact (at most 3 decimals)."""
    wh = scaled_int(cell, 3)
    if wh < 0:
        raise NotExact("negative", "为负数")
    return wh


def yuan_to_fen(cell: str) -> int:
    """Yuan text -> fen, exact (at most 2 decimals); may be negative (a grid correction)."""
    return scaled_int(cell, 2)
