"""Availability: daylight minutes producing over daylight minutes, a village outage
excluded, a station's own stop counted against it."""

from __future__ import annotations

from pathlib import Path

from alerts.availability import fleet_availability, outage_mask
from alerts.fleet import FleetIndex
from tests.alerts.fleet import fill, local_ms
from tests.workorders.helpers import om_config

DAY = "2018-07-10"


def test_village_outage_is_excluded_own_stop_is_not(tmp_path: Path):
    cfg = om_config(tmp_path)
    out_a, out_b = local_ms(DAY, "11:00"), local_ms(DAY, "12:00")
    stop_a, stop_b = local_ms(DAY, "13:00"), local_ms(DAY, "14:00")

    def share(sid, t):
        if sid.startswith("s-a") and out_a <= t < out_b:
            return 0.0  # the grid is off in village va: every inverter at 0 W
        if sid == "s-a1" and stop_a <= t < stop_b:
            return 0.0  # s-a1's own stop
        return 0.7

    start, end = local_ms(DAY, "04:00"), local_ms(DAY, "21:00")
    store = fill(cfg, start, end, share)
    try:
        got = fleet_availability(store, FleetIndex(cfg), start, end)
    finally:
        store.close()
    full = got["s-b1"].daylight_min  # a village without outage: every daylight minute
    assert full > 600 and got["s-b1"].producing_min == full
    # va: the outage hour is left out of both counts
    assert got["s-a2"].daylight_min == full - 60 and got["s-a2"].share == 1.0
    # s-a1's own stop counts against it
    assert got["s-a1"].daylight_min == full - 60
    assert got["s-a1"].producing_min == full - 120
    assert got["s-a1"].share == (full - 120) / (full - 60)


def test_outage_alert_interval_masks_bins():
    start, bin_ms = 0, 300_000
    mask = outage_mask(6, start, bin_ms, [(600_000, 1_200_000)], [[0.5] * 6, [0.5] * 6])
    assert mask == [False, False, True, True, False, False]  # end exclusive
    assert outage_mask(4, start, bin_ms, [(650_000, 700_000)], [])[2]
    # two stations both at zero (and reporting): the grid, masked without an alert
    mask = outage_mask(3, start, bin_ms, [], [[0.5, 0.0, None], [0.5, 0.0, 0.0]])
    assert mask == [False, True, False]
