"""The pure parts of the money pages: the ageing chart and the as-of date."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st

from web.pages.receivables import as_of_from, bar_chart


@given(st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=6))
def test_bars_are_proportional_and_carry_their_fen(values):
    svg = bar_chart([(f"b{i}", v) for i, v in enumerate(values)], "t")
    rects = re.findall(r'<rect [^>]*height="([0-9.]+)" [^>]*data-fen="(\d+)"', svg)
    assert [int(f) for _, f in rects] == values
    heights = [float(h) for h, _ in rects]
    top, tallest = max(values), max(heights)
    assert tallest > 0 or top == 0
    for h, v in zip(heights, values, strict=True):
        # each bar scales with its amount against the tallest, to the drawn 0.1 unit
        assert abs(h - (tallest * v / top if top else 0)) <= 0.1


def test_labels_are_escaped():
    svg = bar_chart([("<script>", 5)], 'a "t" & b')
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&amp;" in svg


def test_as_of_defaults_to_today_and_refuses_what_is_not_a_date():
    today = dt.date(2026, 12, 2)
    assert as_of_from("", today) == today
    assert as_of_from(None, today) == today
    assert as_of_from("2027-06-30", today) == dt.date(2027, 6, 30)
    assert as_of_from("2027-13-40", today) is None
    assert as_of_from("yesterday", today) is None
