"""The numpy receivables (benchmark path) equal the pure function line by line."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from revenue.receivables import ALL_BUCKETS, Accrual, Cycle, Received, receivables, totals
from revenue.receivables_vector import (
    EPOCH,
    AccrualArrays,
    ShareArrays,
    group_totals,
    month_index,
    receivables_arrays,
)

CYCLES = [Cycle("quarterly", 1), Cycle("annual", 3), Cycle("monthly", 0)]
NAMES = ["coal_benchmark", "national_subsidy", "provincial"]
MONTHS = [f"{y}-{m:02d}" for y in (2023, 2024, 2025) for m in range(1, 13)]

rows_st = st.lists(
    st.tuples(
        st.integers(0, 5),  # station
        st.integers(0, 2),  # component
        st.sampled_from(MONTHS),  # period = its last month
        st.integers(0, 10**12),
    ),
    unique_by=lambda r: r[:3],
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(
    rows=rows_st,
    shares=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.integers(0, 10**12),
            st.dates(dt.date(2023, 1, 1), dt.date(2027, 12, 31)),
        ),
        max_size=60,
    ),
    as_of=st.dates(dt.date(2023, 1, 1), dt.date(2028, 12, 31)),
)
def test_vector_equals_pure(rows, shares, as_of):
    shares = [(i % len(rows), fen, on) for i, fen, on in shares] if rows else []
    acc = [
        Accrual(f"s{s}", f"v{s % 2}", NAMES[c], "grid" if c == 0 else "fund", m, m, fen)
        for s, c, m, fen in rows
    ]
    rec = [
        Received("grid_company", f"r{j}", on, acc[i].station, acc[i].component, acc[i].period, fen)
        for j, (i, fen, on) in enumerate(shares)
    ]
    pure = receivables(acc, rec, as_of, dict(zip(NAMES, CYCLES, strict=True)))
    arrays = AccrualArrays(
        np.array([c for _, c, _, _ in rows], dtype=np.int8),
        np.array([month_index(m) for _, _, m, _ in rows], dtype=np.int32),
        np.array([fen for *_, fen in rows], dtype=np.int64),
    )
    sh = ShareArrays(
        np.array([i for i, _, _ in shares], dtype=np.int64),
        np.array([fen for _, fen, _ in shares], dtype=np.int64),
        np.array([(on - EPOCH).days for _, _, on in shares], dtype=np.int64),
    )
    vec = receivables_arrays(arrays, sh, as_of, CYCLES)
    got = {}
    for i, (s, c, m, _) in enumerate(rows):
        if vec.line[i]:
            got[(f"s{s}", NAMES[c], m)] = (
                int(vec.accrued_fen[i]),
                int(vec.received_fen[i]),
                int(vec.outstanding_fen[i]),
                EPOCH + dt.timedelta(days=int(vec.due_day[i])),
                int(vec.days_past_due[i]),
                ALL_BUCKETS[vec.bucket[i]],
            )
    want = {
        (ln.station, ln.component, ln.period): (
            ln.accrued_fen,
            ln.received_fen,
            ln.outstanding_fen,
            ln.due,
            ln.days_past_due,
            ln.bucket,
        )
        for ln in pure
    }
    assert got == want
    # totals per village tie to the pure totals
    village = np.array([s % 2 for s, *_ in rows], dtype=np.int64)
    t = group_totals(village, 2, vec)
    for pt in totals(pure, "village"):
        g = int(pt.group[1:])
        assert (int(t.lines[g]), int(t.accrued_fen[g]), int(t.received_fen[g])) == (
            pt.lines, pt.accrued_fen, pt.received_fen,
        )  # fmt: skip
        assert [int(x) for x in t.by_bucket_fen[g]] == [fen for _, fen in pt.by_bucket_fen]


def test_exact_bincount_is_exact_beyond_float_precision():
    from revenue.receivables_vector import exact_bincount

    big = 2**53 + 1  # not a float64: a float sum would round it
    idx = np.array([0, 1, 0, 1, 2])
    w = np.array([big, 3, 1, -2, 7], dtype=np.int64)
    got = exact_bincount(idx, w, 4)
    assert got.dtype == np.int64
    assert got.tolist() == [big + 1, 1, 7, 0]  # the np.add.at path
    small = exact_bincount(idx, np.array([5, 3, 1, -2, 7], dtype=np.int64), 3)
    assert small.tolist() == [6, 1, 7]  # the float path, below 2**53
