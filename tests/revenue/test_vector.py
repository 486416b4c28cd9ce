"""The numpy kernels agree with the Decimal money functions, line by line."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import revenue_vector as vector
from revenue import money


@settings(max_examples=100, deadline=None)
@given(
    wh=st.lists(st.integers(0, 10**9), min_size=1, max_size=50),
    rate=st.decimals("0", "2", places=4),
    pct=st.decimals("0", "100", places=2),
)
def test_amounts_match_decimal(wh, rate, pct):
    arr = np.array(wh, dtype=np.int64)
    got = vector.energy_amount_fen(arr, rate)
    assert got.tolist() == [money.energy_amount_fen(w, rate) for w in wh]
    assert vector.percent_fen(got, pct).tolist() == [money.percent_fen(int(f), pct) for f in got]


@settings(max_examples=100, deadline=None)
@given(
    groups=st.lists(
        st.tuples(st.integers(0, 10**7), st.lists(st.integers(1, 5), min_size=1, max_size=12)),
        min_size=1,
        max_size=8,
    )
)
def test_shares_match_decimal(groups):
    g, rank, shares, totals = [], [], [], []
    want_lines, want_res = [], []
    for gi, (total, sh) in enumerate(groups):
        keys = {f"m{j:03d}": s for j, s in enumerate(sh)}
        lines, residue = money.shares_half_up(total, keys)
        want_lines += [lines[k] for k in sorted(keys)]
        want_res.append(residue)
        for j, s in enumerate(sh):
            g.append(gi)
            rank.append(j)
            shares.append(s)
        totals.append(total)
    lines, res = vector.shares_half_up(
        np.array(g), np.array(rank), np.array(shares), np.array(totals, dtype=np.int64)
    )
    assert lines.tolist() == want_lines
    assert res.tolist() == want_res
