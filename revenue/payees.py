"""Who a batch line pays, and how payees' numbers are shown outside the bank file.

The bank file (revenue/batch.py) is the only output with a full account number or ID
number; everything else a person reads (the unpaid list, `payments show`, the confirmation
summary, the demo report) shows them through ``mask_number`` (6217********0018). Names
are masked for public lists by revenue/export.mask_name.
"""

from __future__ import annotations

import re

from core.config.model import Household
from core.config.payees import account_digits, account_problem

#: the reason of a line a bank batch cannot pay, as finance staff read it
NO_VALID_ACCOUNT = "unpaid: no valid account"
NOT_REGISTERED = "unpaid: household not in the registry"
#: the account problems of core/config/payees.account_problem, in Chinese
_ACCOUNT_PROBLEM_ZH = (
    (re.compile(r"no bank account"), "没有银行账户"),
    (re.compile(r"not 12-19 digits \((\d+) characters\)"), r"不是 12–19 位数字（\1 个字符）"),
    (
        re.compile(r"wrong check digit \(Luhn\): a digit is mistyped"),
        "校验位（Luhn）不符：有数字输错",
    ),
)


def unpaid_reason_zh(reason: str) -> str:
    """An unpaid reason of ``payable`` in Chinese (any other text is returned as it is)."""
    if reason == NOT_REGISTERED:
        return "未付：农户不在登记名册中"
    m = re.fullmatch(re.escape(NO_VALID_ACCOUNT) + r"(?: \((.*)\))?", reason)
    if m is None:
        return reason
    if m[1] is None:
        return "未付：无有效银行账户"
    for pattern, zh in _ACCOUNT_PROBLEM_ZH:
        if pattern.fullmatch(m[1]):
            return f"未付：无有效银行账户（{pattern.sub(zh, m[1])}）"
    return f"未付：无有效银行账户（{m[1]}）"


def mask_number(number: str, keep: int = 4) -> str:
    """A card or ID number with all but its first and last ``keep`` characters starred."""
    s = account_digits(number)
    if len(s) <= 2 * keep:
        return "*" * len(s)
    return s[:keep] + "*" * (len(s) - 2 * keep) + s[-keep:]


def payable(household: Household | None) -> tuple[str, str]:
    """(account digits, "") for a household a bank can pay, else ("", the unpaid reason)."""
    if household is None:
        return "", NOT_REGISTERED
    bad = account_problem(household.account)
    if bad:
        return "", f"{NO_VALID_ACCOUNT} ({bad})"
    return account_digits(household.account), ""
