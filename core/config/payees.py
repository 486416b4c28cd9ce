"""Payees' bank accounts and national ID numbers: validity, and the problems `check` warns of.

Both are stored as given. An account is valid when, without spaces and dashes, it is 12
to 19 digits ending in a correct Luhn check digit (bank cards, the 一卡通/惠农卡 included);
an ID number when python-stdnum's ``cn.ric`` accepts it (18 characters, a real birth date,
the ISO 7064 check character). Neither refuses the config: a household without a valid
account is paid nothing by a bank batch, its line is listed as "unpaid: no valid account"
and carried to the next run (docs/payments.md), so `pvledger check` warns instead.
"""

from __future__ import annotations

import re

from stdnum import luhn
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from core.problems import Problem

_ACCOUNT_RE = re.compile(r"^[0-9]{12,19}$")


def account_digits(account: str) -> str:
    """The account as the bank file needs it: spaces and dashes removed."""
    return re.sub(r"[\s-]", "", account)


def account_problem(account: str) -> str | None:
    """What is wrong with a bank account (None when valid); never quotes it."""
    digits = account_digits(account)
    if not digits:
        return "no bank account"
    if not _ACCOUNT_RE.match(digits):
        return f"not 12-19 digits ({len(digits)} characters)"
    if not luhn.is_valid(digits):
        return "wrong check digit (Luhn): a digit is mistyped"
    return None


def id_number_problem(id_number: str) -> str | None:
    """What is wrong with a national ID number (None when valid or not given)."""
    if not id_number:
        return None
    try:
        ric.validate(id_number)
    except ValidationError as exc:
        return {
            "InvalidChecksum": "wrong check character: a digit is mistyped",
            "InvalidComponent": "no such birth date or region in the number",
            "InvalidLength": f"not 18 characters ({len(id_number)})",
            "InvalidFormat": "only digits, and X as the last character",
        }.get(type(exc).__name__, str(exc))
    return None


def household_problems(
    households: list[tuple[object, str, int | None]],
) -> list[Problem]:
    """Warnings for every (household, file, line) with a missing or invalid account or ID."""
    out = []
    for h, file, line in households:
        where = f"households[{h.id}]"  # type: ignore[attr-defined]
        bad = account_problem(h.account)  # type: ignore[attr-defined]
        if bad:
            out.append(
                Problem(
                    f"{where}.account",
                    f"{bad}: this household's lines stay unpaid (no valid account) "
                    "and are carried to the next run",
                    "enter the 一卡通 card number from the bank",
                    file=file,
                    line=line,
                )
            )
        bad = id_number_problem(h.id_number)  # type: ignore[attr-defined]
        if bad:
            out.append(
                Problem(
                    f"{where}.id_number",
                    bad,
                    "copy the 18-character number from the ID card",
                    file=file,
                    line=line,
                )
            )
    return out


def registry_problems(config) -> list[Problem]:
    """`pvledger check`'s payee warnings, each naming the registry file and line."""
    from core.config.households_csv import load_households_csv
    from core.config.yamlsrc import load_yaml

    src, _ = load_yaml(config.path)
    raw = src.data.get("households") if isinstance(src.data, dict) else None
    if isinstance(raw, str):
        path = config.resolve(raw)
        rows, _ = load_households_csv(path)
        located = [(h, raw, line) for h, line in rows]
    else:
        located = [
            (h, config.path.name, src.line_of(("households", i)))
            for i, h in enumerate(config.households)
        ]
    return household_problems(located)
