"""Who a batch line pays, and how payees' numbers are shown outside the bank file.

The bank file (revenue/batch.py) is the only output with a full account number or ID
number; everything else a person reads (the unpaid list, `payments show`, the confirmation
summary, the demo report) shows them through ``mask_number`` (6217********0018). Names
are masked for public lists by revenue/export.mask_name.
"""

from __future__ import annotations

from core.config.model import Household
from core.config.payees import account_digits, account_problem

#: the reason of a line a bank batch cannot pay, as finance staff read it
NO_VALID_ACCOUNT = "unpaid: no valid account"
NOT_REGISTERED = "unpaid: household not in the registry"


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
