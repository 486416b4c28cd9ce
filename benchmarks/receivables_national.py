"""Receivables of the national registry as of one date (issue 16 figures for docs/benchmarks.md).

A synthetic registry generated here (a national registry is not a YAML file): 2.68 M
stations (86,000 village arrays of 100 kW, the rest 3 kW household stations), 3 % of them
outside the subsidy catalogue; 8 quarters (2024Q1..2025Q4) of export energy priced at
the 2018 poverty tariff (coal 0.4143, subsidy 0.4357 yuan/kWh, ROUND_HALF_UP per line in
integer arithmetic); coal and subsidy = 42.9 M accrual lines. Receipt shares as the
grid and the fund pay in practice: coal of each quarter received 20-40 days after its
end (3 % of stations only half of it, the last quarter not yet for 10 %), the 2024
subsidy received in September 2025 for 80 % of the catalogued stations, 2025 none.

Timed: revenue/receivables_vector.py over every line (receivables_arrays), then the totals
by village and by payer (group_totals), asserted to tie exactly to the sum of the lines.
Beside it, the pure per-line function revenue/receivables.receivables over a sample of
stations (--sample, default 1 %), timed and scaled up, and compared with the numpy lines
of the same stations line by line (exit 1 on any difference). Peak RSS of the process.

    /usr/bin/time -v python3 benchmarks/receivables_national.py
    python3 benchmarks/receivables_national.py --stations 100000        # quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from revenue.receivables import ALL_BUCKETS, Accrual, Cycle, Received, receivables
from revenue.receivables_vector import (
    EPOCH,
    AccrualArrays,
    ShareArrays,
    group_totals,
    month_index,
    receivables_arrays,
)

AS_OF = dt.date(2026, 6, 30)
QUARTERS = [(y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)]
COMPONENTS = ["coal_benchmark", "national_subsidy"]
PAYERS = ["grid", "renewable_fund"]
CYCLES = [Cycle("quarterly", 1), Cycle("annual", 3)]  # core/config/receivables.py defaults
COAL_PER_100K_WH = 4143  # fen per 100,000 Wh = 0.4143 yuan/kWh
SUBSIDY_PER_100K_WH = 4357
VILLAGES = 86_000


def rss_mb() -> float:
    """Peak RSS of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quarter_end_day(y: int, q: int) -> int:
    """Days since 1970-01-01 of the last day of a quarter."""
    nxt = dt.date(y + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return (nxt - EPOCH).days - 1


def generate(n: int, rng: np.random.Generator):
    """Accrual rows (station-major: station, quarter, component) and receipt shares."""
    village = np.zeros(n, dtype=bool)
    village[: min(VILLAGES * n // 2_680_000 or 1, n)] = True
    kw = np.where(village, 100, 3)
    in_catalogue = rng.random(n) >= 0.03
    village_of = (np.where(village, np.arange(n), rng.integers(0, VILLAGES, n)) % VILLAGES).astype(
        np.int32
    )
    nq = len(QUARTERS)
    # export per station and quarter [Wh]: ~262 kWh/kWp a quarter, +-30 %
    wh = (kw[:, None] * 262_000 * rng.uniform(0.7, 1.3, (n, nq))).astype(np.int64)
    coal = (wh * COAL_PER_100K_WH + 50_000) // 100_000  # ROUND_HALF_UP, positive amounts
    subsidy = np.where(in_catalogue[:, None], (wh * SUBSIDY_PER_100K_WH + 50_000) // 100_000, 0)
    accrued = np.stack([coal, subsidy], axis=2).reshape(-1)  # (station, quarter, component)
    rows = n * nq * 2
    component = np.tile(np.array([0, 1], dtype=np.int8), n * nq)
    last_month = np.tile(
        np.repeat(
            np.array([month_index(f"{y}-{3 * q:02d}") for y, q in QUARTERS], dtype=np.int32), 2
        ),
        n,
    )
    del wh, coal, subsidy
    # coal shares: every (station, quarter) except 10 % of the last quarter's
    coal_rows = np.arange(0, rows, 2, dtype=np.int32)
    q_of = (coal_rows // 2) % nq
    paid = ~((q_of == nq - 1) & (rng.random(len(coal_rows)) < 0.10))
    coal_rows = coal_rows[paid]
    half = rng.random(len(coal_rows)) < 0.03
    coal_fen = np.where(half, accrued[coal_rows] // 2, accrued[coal_rows])
    ends = np.array([quarter_end_day(y, q) for y, q in QUARTERS], dtype=np.int32)
    coal_day = ends[(coal_rows // 2) % nq] + rng.integers(20, 41, len(coal_rows), dtype=np.int32)
    # subsidy 2024 (quarters 0..3), received 2025-09-15 for 80 % of catalogued stations
    st_paid = in_catalogue & (rng.random(n) < 0.80)
    stations = np.nonzero(st_paid)[0].astype(np.int32)
    sub_rows = (stations[:, None] * nq * 2 + np.arange(4, dtype=np.int32)[None, :] * 2 + 1).reshape(
        -1
    )
    sub_day = np.full(len(sub_rows), (dt.date(2025, 9, 15) - EPOCH).days, dtype=np.int32)
    shares = ShareArrays(
        np.concatenate([coal_rows, sub_rows]),
        np.concatenate([coal_fen, accrued[sub_rows]]),
        np.concatenate([coal_day, sub_day]),
    )
    acc = AccrualArrays(component, last_month, accrued)
    return acc, shares, village_of, in_catalogue


def pure_sample(acc, shares, stations: np.ndarray):
    """The sample's accruals and receipts as objects for revenue/receivables.receivables."""
    nq2 = len(QUARTERS) * 2
    rows = (stations[:, None] * nq2 + np.arange(nq2)[None, :]).reshape(-1)
    period = {
        month_index(f"{y}-{3 * q:02d}"): (f"{y}Q{q}", f"{y}-{3 * q:02d}") for y, q in QUARTERS
    }
    accruals = [
        Accrual(
            f"st-{r // nq2}",
            "",
            COMPONENTS[acc.component[r]],
            PAYERS[acc.component[r]],
            *period[int(acc.last_month[r])],
            int(acc.accrued_fen[r]),
        )
        for r in rows.tolist()
    ]
    wanted = np.isin(shares.row // nq2, stations)
    received = [
        Received(
            "grid_company",
            f"ref-{i}",
            EPOCH + dt.timedelta(days=int(d)),
            f"st-{r // nq2}",
            COMPONENTS[acc.component[r]],
            period[int(acc.last_month[r])][0],
            int(fen),
        )
        for i, (r, fen, d) in enumerate(
            zip(
                shares.row[wanted].tolist(),
                shares.amount_fen[wanted].tolist(),
                shares.received_day[wanted].tolist(),
                strict=True,
            )
        )
    ]
    return rows, accruals, received


def main() -> int:
    """Generate, compute, check, print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=2_680_000)
    ap.add_argument(
        "--sample", type=float, default=0.01, help="share of stations the pure path runs"
    )
    ap.add_argument("--seed", type=int, default=16)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    acc, shares, village_of, _cat = generate(args.stations, rng)
    t_gen = time.perf_counter() - t0
    n_lines = len(acc.accrued_fen)
    print(
        f"registry: {args.stations:,} stations x {len(QUARTERS)} quarters x 2 components = "
        f"{n_lines:,} accrual lines, {len(shares.row):,} receipt shares (generated in "
        f"{t_gen:.1f} s, RSS {rss_mb():,.0f} MB)"
    )
    t0 = time.perf_counter()
    r = receivables_arrays(acc, shares, AS_OF, CYCLES)
    t_lines = time.perf_counter() - t0
    nq2 = len(QUARTERS) * 2
    vil = np.repeat(village_of.astype(np.int32), nq2)
    by_village = group_totals(vil, VILLAGES, r)
    by_payer = group_totals(acc.component, 2, r)
    t_all = time.perf_counter() - t0
    problems = []
    for name, t in (("village", by_village), ("payer", by_payer)):
        for col in ("accrued_fen", "received_fen", "outstanding_fen"):
            lines_sum = int(getattr(r, col)[r.line].sum())
            if int(getattr(t, col).sum()) != lines_sum:
                problems.append(f"totals by {name}: {col} does not tie to the lines")
        if int(t.by_bucket_fen.sum()) != int(r.outstanding_fen[r.line].sum()):
            problems.append(f"totals by {name}: buckets do not tie")
    if not np.array_equal(r.outstanding_fen, r.accrued_fen - r.received_fen):
        problems.append("outstanding != accrued - received")
    if int(r.received_fen.sum()) != int(
        shares.amount_fen[shares.received_day <= (AS_OF - EPOCH).days].sum()
    ):
        problems.append("received money created or lost")
    print(
        f"numpy: lines {t_lines:.2f} s, with totals by village and payer {t_all:.2f} s "
        f"for {int(r.line.sum()):,} lines"
    )
    for p, name in enumerate(PAYERS):
        buckets = ", ".join(
            f"{b} {by_payer.by_bucket_fen[p, i] / 100:,.2f}" for i, b in enumerate(ALL_BUCKETS)
        )
        print(
            f"  {name}: accrued {by_payer.accrued_fen[p] / 100:,.2f} received "
            f"{by_payer.received_fen[p] / 100:,.2f} outstanding "
            f"{by_payer.outstanding_fen[p] / 100:,.2f} yuan ({buckets})"
        )
    k = max(1, int(args.stations * args.sample))
    sample = np.sort(rng.choice(args.stations, k, replace=False)).astype(np.int64)
    rows, accruals, received = pure_sample(acc, shares, sample)
    cycles = dict(zip(COMPONENTS, CYCLES, strict=True))
    t0 = time.perf_counter()
    pure = receivables(accruals, received, AS_OF, cycles)
    t_pure = time.perf_counter() - t0
    want = {
        (f"st-{ri // nq2}", COMPONENTS[acc.component[ri]], int(acc.last_month[ri])): ri
        for ri in rows.tolist()
    }
    diffs = 0
    for ln in pure:
        y, q = int(ln.period[:4]), int(ln.period[-1])
        ri = want[(ln.station, ln.component, month_index(f"{y}-{3 * q:02d}"))]
        vec = (
            int(r.accrued_fen[ri]), int(r.received_fen[ri]), int(r.outstanding_fen[ri]),
            EPOCH + dt.timedelta(days=int(r.due_day[ri])), int(r.days_past_due[ri]),
            ALL_BUCKETS[r.bucket[ri]],
        )  # fmt: skip
        if vec != (ln.accrued_fen, ln.received_fen, ln.outstanding_fen, ln.due,
                   ln.days_past_due, ln.bucket):  # fmt: skip
            diffs += 1
    if diffs or len(pure) != int(r.line[rows].sum()):
        problems.append(f"pure and numpy differ on {diffs} of {len(pure)} sample lines")
    print(
        f"pure per-line function: {len(pure):,} lines of {k:,} stations in {t_pure:.2f} s "
        f"(x{args.stations / k:.0f} = {t_pure * args.stations / k:.0f} s for all), equal to numpy"
        + ("" if not diffs else " NOT")
    )
    print(f"peak RSS {rss_mb():,.0f} MB")
    for p in problems:
        print(f"FAIL {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
