"""Simulator calibration: specific yield at Ji'an per month against DOMAIN.md's shape.

    python3 benchmarks/sim_calibrate.py [--seeds 6] [--years 2018-2023]

Prints, for one 1 kWp array at 27.11 N 114.98 E under the shipped climate
(simulator/climate.yaml), the mean monthly yield over seeds x years, the
ratio to DOMAIN.md's monthly estimate, and the spread of the annual yield and of
the worst month per simulated year. Adjust clearness_mean by the printed ratio
(divide) to recalibrate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulator.physics import DAY_MS, Curves, PowerModel, Weather

DOMAIN = np.array([63, 59, 67, 79, 88, 88, 124, 122, 107, 99, 81, 74], dtype=float)
TZ = dt.timezone(dt.timedelta(hours=8))


def _ms(y: int, m: int) -> int:
    return int(dt.datetime(y, m, 1, tzinfo=TZ).timestamp() * 1000)


def main() -> None:
    """Print the calibration table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--years", default="2018-2023")
    a = ap.parse_args()
    y0, y1 = (int(x) for x in a.years.split("-"))
    rows = []
    for seed in range(a.seeds):
        model = PowerModel(
            Weather(seed, [("dongpi", "zhangshan")]),
            Curves(np.array([0]), np.array([1000.0]), np.array([1000.0])),
            27.11,
            114.98,
            _ms(y0, 1) // DAY_MS - 1,
        )
        for y in range(y0, y1 + 1):
            b = np.array([_ms(y, m) for m in range(1, 13)] + [_ms(y + 1, 1)])
            rows.append(np.diff(model.ecum(np.zeros(13, dtype=int), b)) / 1000.0)
    ys = np.array(rows)
    mean = ys.mean(axis=0)
    print("month  kWh/kWp  DOMAIN  ratio")
    for m in range(12):
        print(f"{m + 1:>5}  {mean[m]:7.1f}  {DOMAIN[m]:6.0f}  {mean[m] / DOMAIN[m]:5.3f}")
    annual = ys.sum(axis=1)
    worst = np.abs(ys / DOMAIN - 1).max(axis=1)
    print(
        f"annual mean {annual.mean():.0f} kWh/kWp (DOMAIN ~1,050); "
        f"range {annual.min():.0f}..{annual.max():.0f} over {len(ys)} seed-years"
    )
    print(
        f"worst month per year, deviation from DOMAIN: median {np.median(worst):.0%}, "
        f"90th percentile {np.quantile(worst, 0.9):.0%}"
    )


if __name__ == "__main__":
    main()
