"""National-scale payout run from daily energy (issue 6 figures for docs/benchmarks.md).

A synthetic registry the size of the programme: ~4.15 M households, of which ~62 % own a
3 kW household station and ~40 % hold shares in 100-share cooperatives (so many are in
two schemes), plus 86,000 village stations. One month of daily counter values (the
store's daily roll-up: the counter at each local midnight) goes through the whole rule
set with the numpy kernels of benchmarks/revenue_vector.py: boundary energy and counter checks,
tariff components, withholdings, cooperative deductions and per-share lines with the
overshoot rule, village deductions, pools and posts, household totals, the mandatory
checks and the inputs hash. Beside it, the plain per-line Decimal path (revenue/money.py
and revenue/allocate.py, what `pvledger revenue` runs per county) over a 1 % sample,
timed and scaled up, and compared with the numpy result line by line.

    python3 benchmarks/revenue_national.py                      # full scale
    python3 benchmarks/revenue_national.py --households 200000 --villages 4000   # quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import resource
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import revenue_vector as vx  # benchmarks/: the numpy kernels serve no payout run

from core.config.allocation import (
    CooperativeRule,
    Deduction,
    HouseholdRule,
    Pool,
    Post,
    VillageRule,
    Withholding,
)
from core.config.model import Cooperative, Member
from revenue import allocate as al
from revenue.money import energy_amount_fen

COAL = Decimal("0.4143")
SUBSIDY = Decimal("0.85") - COAL
HH_WITHHOLD_YUAN = Decimal("30.00")
COOP_DED = [Deduction(name="om", percent="2.9"), Deduction(name="reserve", percent="5")]
VIL_DED = [
    Deduction(name="om", percent="2.9"),
    Deduction(name="reserve", percent="2"),
    Deduction(name="insurance", yuan_per_month="25.00"),
    Deduction(name="land_rent", yuan_per_month="125.00"),
]
POOLS = [
    Pool(name="jobs", percent="60"),
    Pool(name="projects", percent="25"),
    Pool(name="awards", remainder=True),
]
POST_FEN = 50_000  # 500 yuan a month, 5 posts per village
POSTS = 5
DAYS = 31  # July


def rss_mb() -> float:
    """Peak resident memory of this process [MB]."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def registry(n_hh: int, n_vil: int, seed: int) -> dict:
    """The synthetic fleet and one month of daily counters (not timed)."""
    rng = np.random.default_rng(seed)
    n_hs = int(n_hh * 0.62)
    hs_owner = np.sort(rng.choice(n_hh, n_hs, replace=False)).astype(np.int64)
    n_mem = int(n_hh * 0.40)
    members = np.sort(rng.choice(n_hh, n_mem, replace=False)).astype(np.int64)
    # members in id order, cut into cooperatives of ~80 households (1 or 2 shares each)
    n_coop = max(n_mem // 80, 1)
    cuts = np.sort(rng.choice(np.arange(1, n_mem), n_coop - 1, replace=False))
    mem_coop = np.zeros(n_mem, dtype=np.int64)
    mem_coop[cuts] = 1
    mem_coop = np.cumsum(mem_coop)
    starts = np.concatenate([[0], cuts])
    mem_rank = np.arange(n_mem) - starts[mem_coop]
    mem_shares = rng.integers(1, 3, n_mem).astype(np.int64)
    coop_kw = np.zeros(n_coop, dtype=np.int64)
    np.add.at(coop_kw, mem_coop, mem_shares)  # 1 share = 1 kW
    cap_kw = np.concatenate(
        [np.full(n_hs, 3, dtype=np.int64), coop_kw, rng.choice([100, 100, 100, 200], n_vil)]
    )
    n_st = len(cap_kw)
    # July: ~4 kWh per kWp per day, weather factor per station-day; in chunks to keep
    # the generator's own memory small beside the counters
    counters = np.empty((n_st, DAYS + 1), dtype=np.int64)
    counters[:, 0] = rng.integers(0, 50_000_000, n_st) * cap_kw
    for lo in range(0, n_st, 250_000):
        hi = min(lo + 250_000, n_st)
        daily = (cap_kw[lo:hi, None] * 4000 * rng.uniform(0.15, 1.35, (hi - lo, DAYS))).astype(
            np.int64
        )
        np.cumsum(daily, axis=1, out=counters[lo:hi, 1:])
        counters[lo:hi, 1:] += counters[lo:hi, :1]
    # a few boundary readings missing (no data at all around month start/end)
    missing = rng.random(n_st) < 0.002
    counters[missing, 0] = -1
    return {
        "n_hh": n_hh,
        "n_hs": n_hs,
        "n_coop": n_coop,
        "n_vil": n_vil,
        "hs_owner": hs_owner,
        "withhold": rng.random(n_hs) < 0.03,
        "catalogue": rng.random(n_st) > 0.01,
        "mem_hh": members,
        "mem_coop": mem_coop,
        "mem_rank": mem_rank,
        "mem_shares": mem_shares,
        "cap_kw": cap_kw,
        "counters": counters,
    }


def run_numpy(r: dict) -> dict:
    """The whole month with the numpy kernels; returns lines and check results."""
    n_hs, n_coop, n_vil = r["n_hs"], r["n_coop"], r["n_vil"]
    c = r["counters"]
    h = hashlib.sha256()
    h.update(c.data)
    for k in ("hs_owner", "mem_hh", "mem_coop", "mem_shares", "cap_kw"):
        h.update(r[k].data)
    inputs_hash = h.hexdigest()
    have = c[:, 0] >= 0
    steps = np.diff(c, axis=1)
    backwards = have & (steps < 0).any(axis=1)
    jump = have & (steps > r["cap_kw"][:, None] * 24_000).any(axis=1)
    energy = np.where(have, c[:, -1] - c[:, 0], 0)
    errors = int(backwards.sum() + jump.sum())
    coal = vx.energy_amount_fen(energy, COAL)
    subsidy = np.where(r["catalogue"], vx.energy_amount_fen(energy, SUBSIDY), 0)
    cash = coal
    # household stations
    hs = slice(0, n_hs)
    want = np.where(r["withhold"], int(HH_WITHHOLD_YUAN * 100), 0)
    withheld = np.minimum(want, cash[hs])
    hs_dist = cash[hs] - withheld
    # cooperatives: one station each here; deductions on gross cash
    cs = slice(n_hs, n_hs + n_coop)
    coop_ded = sum(vx.percent_fen(cash[cs], d.percent) for d in COOP_DED)
    coop_dist = cash[cs] - coop_ded
    mem_lines, residue = vx.shares_half_up(r["mem_coop"], r["mem_rank"], r["mem_shares"], coop_dist)
    # villages
    vs = slice(n_hs + n_coop, None)
    vcash = cash[vs]
    left = vcash.copy()
    for d in VIL_DED:
        want_v = (
            vx.percent_fen(vcash, d.percent)
            if d.percent is not None
            else np.full(n_vil, int(d.yuan_per_month * 100))
        )
        take = np.minimum(want_v, left)
        left -= take
    v_dist = left
    jobs = vx.percent_fen(v_dist, POOLS[0].percent)
    projects = vx.percent_fen(v_dist, POOLS[1].percent)
    awards = v_dist - jobs - projects
    posts_paid = np.minimum(POSTS * POST_FEN, jobs)
    jobs_balance = jobs - posts_paid
    # household totals, one line per source
    total = np.zeros(r["n_hh"], dtype=np.int64)
    np.add.at(total, r["hs_owner"], hs_dist)
    np.add.at(total, r["mem_hh"], mem_lines)
    dist_total = int(hs_dist.sum() + coop_dist.sum() + v_dist.sum())
    out_total = int(total.sum() + residue.sum() + jobs.sum() + projects.sum() + awards.sum())
    checks = {
        "invariant": dist_total == out_total,
        "no negative line": bool(
            min(hs_dist.min(), mem_lines.min(), residue.min(), awards.min(), jobs_balance.min())
            >= 0
        ),
        "every shareholder has a line": len(mem_lines) == len(r["mem_hh"]),
        "every station has a line": len(energy) == len(r["cap_kw"]),
    }
    return {
        "inputs_hash": inputs_hash,
        "energy": energy,
        "coal": coal,
        "subsidy": subsidy,
        "hs_dist": hs_dist,
        "coop_dist": coop_dist,
        "mem_lines": mem_lines,
        "residue": residue,
        "v_dist": v_dist,
        "pools": (jobs, projects, awards),
        "total": total,
        "checks": checks,
        "errors": errors,
        "missing": int((~have).sum()),
        "distributable_fen": dist_total,
    }


def write_households_csv(total: np.ndarray, path: Path) -> None:
    """households-PERIOD.csv for the whole country (UTF-8 with BOM)."""
    idx = np.nonzero(total)[0]
    vals = total[idx]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("household_id,amount_fen,amount_yuan\n")
        step = 500_000
        for s in range(0, len(idx), step):
            ii, vv = idx[s : s + step].tolist(), vals[s : s + step].tolist()
            f.write(
                "".join(
                    f"hh-{i:07d},{v},{v // 100}.{v % 100:02d}\n"
                    for i, v in zip(ii, vv, strict=True)
                )
            )


def run_decimal_sample(r: dict, res: dict, frac: float, seed: int) -> tuple[float, int]:
    """The per-line Decimal path over a sample; asserts every line equals numpy's."""
    rng = np.random.default_rng(seed + 1)
    n_hs, n_coop, n_vil = r["n_hs"], r["n_coop"], r["n_vil"]
    c = r["counters"]
    hs_pick = np.sort(rng.choice(n_hs, max(int(n_hs * frac), 1), replace=False))
    coop_pick = np.sort(rng.choice(n_coop, max(int(n_coop * frac), 1), replace=False))
    vil_pick = np.sort(rng.choice(n_vil, max(int(n_vil * frac), 1), replace=False))
    mem_by_coop = np.split(np.arange(len(r["mem_hh"])), np.nonzero(np.diff(r["mem_coop"]))[0] + 1)
    hh_rule = HouseholdRule.model_validate({"from": "2018-01-01"})
    coop_rule = CooperativeRule.model_validate({"from": "2018-01-01", "deductions": COOP_DED})
    lines = 0
    t0 = time.perf_counter()
    for i in hs_pick.tolist():
        wh = int(c[i, -1] - c[i, 0]) if c[i, 0] >= 0 else 0
        coal = energy_amount_fen(wh, COAL)
        sub = energy_amount_fen(wh, SUBSIDY) if r["catalogue"][i] else 0
        hh = f"hh-{int(r['hs_owner'][i]):07d}"
        rule = hh_rule
        if r["withhold"][i]:
            rule = HouseholdRule.model_validate(
                {
                    "from": "2018-01-01",
                    "withholdings": [
                        Withholding(household=hh, name="loan", yuan_per_month="30.00")
                    ],
                }
            )
        _, dist, _ = al.household_station(f"s-{i}", hh, "v", coal, rule, 1, {})
        assert (coal, sub, dist) == (
            int(res["coal"][i]),
            int(res["subsidy"][i]),
            int(res["hs_dist"][i]),
        ), i
        lines += 3
    for k in coop_pick.tolist():
        i = n_hs + k
        wh = int(c[i, -1] - c[i, 0]) if c[i, 0] >= 0 else 0
        coal = energy_amount_fen(wh, COAL)
        _, dist = al.deduct(f"c-{k}", coal, COOP_DED, 1)
        mem = mem_by_coop[k]
        coop = Cooperative(
            id=f"coop-{k}",
            name="x",
            village="v",
            members=[
                Member(household=f"hh-{int(r['mem_hh'][m]):07d}", shares=int(r["mem_shares"][m]))
                for m in mem
            ],
        )
        payouts, cl = al.cooperative(coop, dist, coop_rule, {})
        assert dist == int(res["coop_dist"][k])
        assert [p.amount_fen for p in payouts] == res["mem_lines"][mem].tolist(), k
        assert cl.residue_fen == int(res["residue"][k])
        lines += 2 + len(payouts)
    posts = [Post(village="v", name="保洁员", count=POSTS, yuan_per_month="500.00")]
    vrule = VillageRule.model_validate(
        {
            "from": "2018-01-01",
            "deductions": VIL_DED,
            "pools": POOLS,
            "posts": posts,
        }
    )
    jobs, projects, awards = res["pools"]
    for k in vil_pick.tolist():
        i = n_hs + n_coop + k
        wh = int(c[i, -1] - c[i, 0]) if c[i, 0] >= 0 else 0
        coal = energy_amount_fen(wh, COAL)
        _, dist = al.deduct(f"v-{k}", coal, vrule.deductions, 1)
        _, pools = al.village("v", dist, vrule, 1, 0, {})
        assert dist == int(res["v_dist"][k])
        assert [p.amount_fen for p in pools] == [int(jobs[k]), int(projects[k]), int(awards[k])]
        lines += 2 + len(pools)
    return time.perf_counter() - t0, lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--households", type=int, default=4_150_000)
    ap.add_argument("--villages", type=int, default=86_000)
    ap.add_argument("--sample", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--write", type=Path, default=None, help="also write households CSV here")
    a = ap.parse_args()
    t = time.perf_counter()
    r = registry(a.households, a.villages, a.seed)
    t_gen = time.perf_counter() - t
    n_st = len(r["cap_kw"])
    print(
        f"registry: {a.households:,} households, {r['n_hs']:,} household stations, "
        f"{r['n_coop']:,} cooperatives with {len(r['mem_hh']):,} members, "
        f"{a.villages:,} village stations = {n_st:,} stations x {DAYS + 1} daily counters "
        f"(generated in {t_gen:.1f} s, not timed)"
    )
    t = time.perf_counter()
    res = run_numpy(r)
    t_np = time.perf_counter() - t
    print(
        f"numpy run: {t_np:.2f} s; distributable {res['distributable_fen'] / 100:,.2f} yuan; "
        f"{res['missing']:,} missing-data lines, {res['errors']} counter errors; "
        f"checks {'all passed' if all(res['checks'].values()) else res['checks']}; "
        f"inputs {res['inputs_hash'][:12]}"
    )
    if a.write:
        a.write.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_households_csv(res["total"], a.write / "households-2026-07.csv")
        print(f"households CSV written in {time.perf_counter() - t:.2f} s")
    t_dec, lines = run_decimal_sample(r, res, a.sample, a.seed)
    scale = 1 / a.sample
    print(
        f"Decimal per-line path over a {a.sample:.0%} sample: {lines:,} lines in {t_dec:.2f} s, "
        f"identical to numpy; scaled up x{scale:g}: ~{t_dec * scale:,.0f} s"
    )
    print(f"peak RSS {rss_mb():,.0f} MB; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
