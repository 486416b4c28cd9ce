"""Capital numerals (大写金额): worked examples, cn2an as an independent implementation,
and a round trip through a parser written here from the rules alone."""

from __future__ import annotations

import itertools

import pytest
from cn2an import an2cn
from hypothesis import given, settings
from hypothesis import strategies as st

from revenue.capital_numerals import MAX_FEN, capital_yuan

# hand-checked against the rules in the module docstring (and the PBOC examples)
WORKED = [
    (1, "壹分"),  # 0.01: no 零元 in front
    (50, "伍角"),  # 0.50
    (1000, "壹拾元整"),  # 10.00: a leading ten is 壹拾; 整 after 元
    (10010, "壹佰元壹角"),  # 100.10: nothing after 角
    (12345, "壹佰贰拾叁元肆角伍分"),
    (32504, "叁佰贰拾伍元零肆分"),  # PBOC: jiao 0, fen not -> 零 after 元
    (100456, "壹仟零肆元伍角陆分"),  # PBOC: one 零 for the zeros inside
    (168032, "壹仟陆佰捌拾元叁角贰分"),  # PBOC allows 元零叁角 too: not taken
    (1640902, "壹万陆仟肆佰零玖元零贰分"),  # PBOC example
    (10700053, "壹拾万柒仟元伍角叁分"),  # PBOC allows 壹拾万零柒仟: not taken
    (100000500, "壹佰万零伍元整"),  # 1,000,005.00: zeros crossing 万 -> one 零
    (1000000009, "壹仟万元零玖分"),  # 10,000,000.09
    (10001000, "壹拾万零壹拾元整"),  # 100,010.00
    (9999999999, "玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    (10000000000, "壹亿元整"),
    (10000050000, "壹亿零伍佰元整"),
    (0, "零元整"),
]


@pytest.mark.parametrize(("fen", "text"), WORKED)
def test_worked_examples(fen: int, text: str) -> None:
    assert capital_yuan(fen) == text
    assert parse(text) == fen


@pytest.mark.parametrize("bad", [-1, MAX_FEN + 1])
def test_out_of_range_refused(bad: int) -> None:
    with pytest.raises(ValueError):
        capital_yuan(bad)


def test_float_refused() -> None:
    with pytest.raises(TypeError):
        capital_yuan(1.5)  # type: ignore[arg-type]


def _cn2an(fen: int) -> str:
    # a string, never a float: cn2an would otherwise see 0.1 + 0.2
    return an2cn(f"{fen // 100}.{fen % 100:02d}", "rmb")


def test_every_zero_pattern_matches_cn2an() -> None:
    """Every amount whose ten digits are 0, 1 or 9 (59,048 of them): each placement of
    zeros that the 零 rules are about, against cn2an and back through the parser."""
    for digits in itertools.product("019", repeat=10):
        fen = int("".join(digits))
        if fen == 0:
            continue
        text = capital_yuan(fen)
        assert text == _cn2an(fen), fen
        assert parse(text) == fen, fen


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=1, max_value=9_999_999_999))
def test_any_amount_to_99999999_99(fen: int) -> None:
    """0.01 .. 99,999,999.99 yuan: equal to cn2an's rmb mode and round trip exact."""
    text = capital_yuan(fen)
    assert text == _cn2an(fen)
    assert parse(text) == fen


_D = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_P = {"拾": 10, "佰": 100, "仟": 1000}


def parse(text: str) -> int:
    """Capital numerals -> fen, written from the rules (independent of the module)."""
    text = text.removesuffix("整")
    yuan_text, _, rest = text.partition("元") if "元" in text else ("", "", text)
    fen = 0
    if "角" in rest:
        j, rest = rest.split("角")
        fen += _D[j.removeprefix("零")] * 10
    if rest.endswith("分"):
        fen += _D[rest.removesuffix("分").removeprefix("零")]
    total, group, digit = 0, 0, 0
    for ch in yuan_text:
        if ch in _D:
            digit = _D[ch]
        elif ch in _P:
            group += digit * _P[ch]
            digit = 0
        elif ch == "万":
            total += (group + digit) * 10_000
            group = digit = 0
        elif ch == "亿":
            total = (total + group + digit) * 100_000_000
            group = digit = 0
        else:
            raise ValueError(ch)
    total += group + digit
    return total * 100 + fen
