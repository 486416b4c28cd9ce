"""Payees (issue 17 item 2): accounts by their Luhn digit, ID numbers by stdnum's cn.ric,
warnings at `pvledger check` naming file, line and key, numbers masked outside the bank file."""

from __future__ import annotations

import subprocess
import sys

import pytest

from core.config import load_config
from core.config.payees import account_problem, id_number_problem
from revenue.payees import NO_VALID_ACCOUNT, mask_number, payable
from tests.conftest import ROOT
from tests.payments.helpers import bad_card, card, write_config

# 11010519491231002X is the example number of GB 11643-1999 (the check character X);
# the others differ from it in one place
VALID_ID = "11010519491231002X"
PRINTED = "6228 4804 0256 4890 018"


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (card(1), None),
        ("6228480402564890018", None),  # a published 19-digit example card
        ("6228 4804 0256 4890 018", None),  # as printed on the card: groups of four
        ("6228480402564890017", "Luhn"),
        ("", "no bank account"),
        ("62284804", "12-19 digits"),
        ("62284804025648900181234", "12-19 digits"),
        ("6228A80402564890018", "12-19 digits"),
    ],
)
def test_accounts_are_checked_by_length_and_luhn_digit(account, problem):
    got = account_problem(account)
    if problem is None:
        assert got is None
    else:
        assert got is not None and problem in got
        assert account.replace(" ", "") not in got or not account  # never quoted


@pytest.mark.parametrize(
    ("number", "problem"),
    [
        (VALID_ID, None),
        ("", None),  # not given: no warning (the bank file then leaves the cell empty)
        ("110105194912310021", "check character"),
        ("110105194913310021", "birth date"),  # month 13, check character right
        ("11010519491231002", "18 characters"),
        ("1101051949123100AX", "only digits"),
    ],
)
def test_id_numbers_are_checked_with_checksum_and_birth_date(number, problem):
    got = id_number_problem(number)
    assert (got is None) if problem is None else (problem in got)


def test_mask_keeps_four_digits_each_end():
    assert mask_number("6228480402564890018") == "6228***********0018"
    assert mask_number(VALID_ID) == "1101**********002X"
    assert mask_number("12345678") == "********"
    assert mask_number("") == ""


def test_payable_gives_digits_or_the_unpaid_reason(tmp_path):
    cfg = write_config(
        tmp_path,
        [
            {"id": "hh-1", "name": "张三华", "village": "dongpi", "account": PRINTED},
            {"id": "hh-2", "name": "李四", "village": "dongpi"},
            {"id": "hh-3", "name": "王五", "village": "dongpi", "account": bad_card(3)},
        ],
    )
    hh = cfg.household_by_id
    assert payable(hh["hh-1"]) == ("6228480402564890018", "")
    for h in ("hh-2", "hh-3"):
        digits, reason = payable(hh[h])
        assert digits == "" and reason.startswith(NO_VALID_ACCOUNT)
    # stored as given, spaces and all
    assert hh["hh-1"].account == "6228 4804 0256 4890 018"


def test_registry_csv_takes_id_number_and_check_warns_with_file_and_line(tmp_path):
    reg = tmp_path / "registry.csv"
    reg.write_text(
        "id,name,village,account,id_number\n"
        f"hh-1,张三华,dongpi,{card(1)},{VALID_ID}\n"
        f"hh-2,李四,dongpi,{bad_card(2)},110105194912310021\n"
        "hh-3,王五,dongpi,,\n",
        encoding="gbk",  # as Chinese Excel saves it
    )
    cfg = write_config(tmp_path, [])
    text = cfg.path.read_text(encoding="utf-8")
    text = text.replace("households:\n", "households: registry.csv\n")
    cfg.path.write_text(text, encoding="utf-8")
    cfg = load_config(cfg.path)
    assert cfg.household_by_id["hh-1"].id_number == VALID_ID
    proc = subprocess.run(
        [sys.executable, "-m", "pvledger", "-c", str(cfg.path), "check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr  # a warning, not a refusal
    assert "payees    3 warnings" in proc.stdout
    err = proc.stderr
    assert "registry.csv:3: households[hh-2].account: wrong check digit" in err
    assert "registry.csv:3: households[hh-2].id_number: wrong check character" in err
    assert "registry.csv:4: households[hh-3].account: no bank account" in err
    assert "hh-1" not in err
    for secret in (bad_card(2), "110105194912310021"):
        assert secret not in err + proc.stdout  # never quoted
