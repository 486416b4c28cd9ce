"""tests/web/browser.english_words: what counts as English prose on a Chinese page."""

from __future__ import annotations

import pytest

from tests.web.browser import english_words


@pytest.mark.parametrize(
    "text",
    [
        "未知电站 'no-such-station'",  # an id with hyphens
        "今日发电量 33.5 kWh (0.34 kWh/kWp)",  # units
        "下载 payouts-2026-08.xlsx",  # a file name
        "fin1 · 财务 English 退出",  # a user name, the language switch
        "与 pvledger receipts import 相同",  # a command's name
        "s-hh-1 coal_benchmark grid",  # ids and codes, one bare word
        "输入哈希 3bf5a5252ccf1e19",  # a hash
    ],
)
def test_ids_units_codes_and_names_are_not_english(text: str):
    assert english_words(text) == []


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("'-5' is not positive", ["not positive"]),
        ("2 unknown station 'x'", ["unknown station"]),
        ("草稿 the finalizer must differ。", ["the finalizer must differ"]),
        ("post wages 18000.00 yuan are 50.0 %", ["post wages", "yuan are"]),
        ("pvledger is the best tool", ["best tool"]),  # a command has two words at most
    ],
)
def test_runs_of_english_words_are_found(text: str, found: list[str]):
    assert english_words(text) == found


@pytest.mark.parametrize("account", ["", "12345", "6217000000000000001", None])
def test_every_unpaid_reason_of_a_batch_line_has_chinese(account: str | None):
    """The batch page shows payable()'s reason; on a zh page it is Chinese, no English."""
    from core.config.model import Household
    from revenue.payees import payable, unpaid_reason_zh

    hh = (
        None if account is None else Household(id="hh-1", name="张三", village="v", account=account)
    )
    digits, reason = payable(hh)
    assert reason and not digits, (account, digits)  # none of these can be paid
    zh = unpaid_reason_zh(reason)
    assert zh != reason and zh.startswith("未付") and english_words(zh) == [], (reason, zh)
