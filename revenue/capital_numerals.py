"""Amounts in Chinese capital numerals (中文大写金额), as written on bank forms and notices.

Convention (中国人民银行《支付结算办法》附件一《正确填写票据和结算凭证的基本规定》),
where that text leaves a choice, the one taken is named; it is the one cn2an's "rmb"
mode takes too, and tests/revenue/test_capital_numerals.py holds the two equal:

- digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿, 元角分; a leading ten is 壹拾 (10 -> 壹拾元整);
- 整 after 元 when there are no jiao and no fen (123.00 -> 壹佰贰拾叁元整); after 角 the rules
  allow 整 or nothing: nothing is written (100.10 -> 壹佰元壹角); never 整 after 分;
- a zero (or a run of zeros) between two non-zero digits inside a group of four is one 零
  (1004.56 -> 壹仟零肆元伍角陆分; 1040 -> 壹仟零肆拾元整);
- a lower group of four that starts with zeros is preceded by one 零 (1,000,005.00 ->
  壹佰万零伍元整; 100,010 -> 壹拾万零壹拾元整); zeros ending a higher group write no 零 of
  their own (107,000.53 -> 壹拾万柒仟元伍角叁分: the rules allow 壹拾万零柒仟元, not taken);
- jiao zero and fen not: 零 after 元, as the rules require (325.04 -> 叁佰贰拾伍元零肆分;
  10,000,000.09 -> 壹仟万元零玖分);
- yuan digit zero and jiao not: no 零 after 元 (1680.32 -> 壹仟陆佰捌拾元叁角贰分; the rules
  allow 壹仟陆佰捌拾元零叁角贰分, not taken);
- under one yuan, no 零元 before the jiao or fen (0.01 -> 壹分, 0.50 -> 伍角); nothing at
  all is 零元整.

Amounts are integer fen (docs/nomenclature.md); a negative amount or one of 10^12 yuan
(壹万亿) or more is refused: no notice or bank form carries either.
"""

from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
#: the unit of each place inside a group of four, from the lowest
PLACE_UNITS = ("", "拾", "佰", "仟")
#: the unit of each group of four, from the lowest
GROUP_UNITS = ("", "万", "亿")
MAX_FEN = 10**12 * 100 - 1  # 9999亿9999万9999元9角9分


def _group(value: int, *, leading: bool) -> str:
    """One group of four digits (0 < value < 10000); ``leading`` when it is the highest.

    A group that is not the highest and has zeros in front gets one 零 in front (the
    zeros between it and the group above)."""
    digits = f"{value:04d}"
    out = []
    # zeros in front of a lower group are a run between it and the group above
    zero = not leading and digits[0] == "0"
    started = False
    for i, ch in enumerate(digits):
        d = int(ch)
        if d == 0:
            zero = zero or started
            continue
        if zero:
            out.append("零")
        out.append(DIGITS[d] + PLACE_UNITS[3 - i])
        zero = False
        started = True
    return "".join(out)


def _yuan(value: int) -> str:
    """The whole yuan (value > 0) in capital numerals, without 元."""
    groups = []
    while value:
        value, g = divmod(value, 10000)
        groups.append(g)
    out = []
    top = len(groups) - 1
    for idx in range(top, -1, -1):
        g = groups[idx]
        if g == 0:
            continue
        out.append(_group(g, leading=idx == top) + GROUP_UNITS[idx])
    return "".join(out)


def capital_yuan(amount_fen: int) -> str:
    """An amount [fen] in capital numerals (convention above): 12345 -> 壹佰贰拾叁元肆角伍分."""
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool):
        raise TypeError("amount_fen must be an int number of fen")
    if amount_fen < 0 or amount_fen > MAX_FEN:
        raise ValueError(f"{amount_fen} fen cannot be written in capital numerals here")
    yuan, rest = divmod(amount_fen, 100)
    jiao, fen = divmod(rest, 10)
    if yuan == 0:
        if rest == 0:
            return "零元整"
        return (DIGITS[jiao] + "角" if jiao else "") + (DIGITS[fen] + "分" if fen else "")
    text = _yuan(yuan) + "元"
    if rest == 0:
        return text + "整"
    if jiao == 0:
        return text + "零" + DIGITS[fen] + "分"
    return text + DIGITS[jiao] + "角" + (DIGITS[fen] + "分" if fen else "")
