"""The plausibility gate, field by field, with the limits as data (core/plausibility.py)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.config.plausibility import Limits
from core.plausibility import (
    COUNTER_FIELDS,
    Gate,
    bounds_for,
    check_counter,
    value_problem,
)
from core.reading import Quality, Reading

NOW = 1_782_864_000_000  # 2026-07-01 08:00 +08:00
MIN = 60_000
KW = 3.0  # the station's nameplate: limits scale with it


def gate(**limits: object) -> Gate:
    return Gate(Limits(**limits), {"s": KW})  # type: ignore[arg-type]


def reading(ts_ms: int = NOW, station: str = "s", **values: object) -> Reading:
    return Reading(station, "d", ts_ms, values)  # type: ignore[arg-type]


def quality(g: Gate, r: Reading, now_ms: int | None = None) -> dict[str, Quality] | str:
    """The flags the gate puts on r, or the reason it refuses r; keeps counter states.

    "Now" is the reading's own time unless given (a live reading)."""
    a = g.assess([r], r.ts_ms if now_ms is None else now_ms)
    g.accept(a)
    if a.refused:
        return a.refused[0][1]
    return dict(a.readings[0].quality)


# power: [-0.05 x nameplate, 1.5 x nameplate]: 3 kW -> [-150, 4500] W
@pytest.mark.parametrize(
    ("power_w", "ok"),
    [
        (0.0, True),
        (4500.0, True),
        (4500.5, False),
        (1e308, False),
        (-150.0, True),
        (-150.5, False),
        (math.nan, False),
        (math.inf, False),
        (-0.0, True),
    ],
)
@pytest.mark.parametrize("name", ["power_w", "dc_power_w"])
def test_power_within_margin_and_one_and_a_half_nameplate(
    name: str, power_w: float, ok: bool
) -> None:
    got = quality(gate(), reading(**{name: power_w}))
    assert got == ({} if ok else {name: Quality.IMPLAUSIBLE})


def test_power_limits_are_data() -> None:
    g = gate(power_max_ratio=1.2, power_margin_ratio=0.0)  # 3 kW -> [0, 3600] W
    assert quality(g, reading(power_w=3600.0)) == {}
    assert quality(g, reading(power_w=3601.0)) == {"power_w": Quality.IMPLAUSIBLE}
    assert quality(g, reading(power_w=-1.0)) == {"power_w": Quality.IMPLAUSIBLE}


def test_an_unknown_station_has_no_power_limit_but_the_other_checks() -> None:
    g = gate()
    assert quality(g, reading(station="elsewhere", power_w=1e9)) == {}
    assert quality(g, reading(station="elsewhere", export_wh=-1)) == {
        "export_wh": Quality.IMPLAUSIBLE
    }


@pytest.mark.parametrize("name", sorted(COUNTER_FIELDS))
def test_counters_non_negative_and_whole(name: str) -> None:
    g = gate()
    assert quality(g, reading(**{name: -5_000_000})) == {name: Quality.IMPLAUSIBLE}
    assert quality(g, reading(**{name: 12.5})) == {name: Quality.IMPLAUSIBLE}
    assert quality(g, reading(**{name: 10.0})) == {}  # a float that is whole is fine


@pytest.mark.parametrize("name", [*sorted(COUNTER_FIELDS), "status", "fault_code"])
def test_an_integer_beyond_64_bits_is_refused_not_stored(name: str) -> None:
    assert quality(gate(), reading(**{name: 2**63 - 1})) in ({}, {name: Quality.IMPLAUSIBLE})
    for v in (2**63, 10**30, -(2**63) - 1):
        assert "does not fit in 64 bits" in quality(gate(), reading(**{name: v}))  # type: ignore[operator]


def test_status_and_fault_code_must_be_whole() -> None:
    assert quality(gate(), reading(status=1.5, fault_code=3.0)) == {"status": Quality.IMPLAUSIBLE}


def test_temperature_limits() -> None:
    g = gate(temperature_min_c=-40, temperature_max_c=100)
    assert quality(g, reading(temperature_c=99.9)) == {}
    assert quality(g, reading(temperature_c=100.1)) == {"temperature_c": Quality.IMPLAUSIBLE}
    assert quality(g, reading(temperature_c=-41.0)) == {"temperature_c": Quality.IMPLAUSIBLE}


def test_counters_rise_no_faster_than_nameplate_allows() -> None:
    # 3 kW x 1.5 for 10 minutes = 750 Wh, + counter_step_wh 100
    g = gate(counter_step_wh=100)
    assert quality(g, reading(NOW, energy_total_wh=1_000_000)) == {}
    assert quality(g, reading(NOW + 10 * MIN, energy_total_wh=1_000_850)) == {}
    flagged = quality(g, reading(NOW + 20 * MIN, energy_total_wh=1_000_850 + 851))
    assert flagged == {"energy_total_wh": Quality.IMPLAUSIBLE}
    # judged against the last GOOD value: 20 minutes from 1_000_850 allow 1,600 Wh
    assert quality(g, reading(NOW + 30 * MIN, energy_total_wh=1_000_850 + 1600)) == {}


def test_a_drop_passes_and_keeps_the_last_good_value() -> None:
    g = gate(counter_step_wh=0)
    assert quality(g, reading(NOW, energy_total_wh=4_000_000)) == {}
    assert quality(g, reading(NOW + MIN, energy_total_wh=0)) == {}  # a glitch, or a reset
    # the next real value is judged against 4,000,000, not 0
    assert quality(g, reading(NOW + 2 * MIN, energy_total_wh=4_000_100)) == {}


def test_a_counter_that_jumped_is_believed_after_rising_plausibly_three_times() -> None:
    g = gate(counter_step_wh=0, counter_rebase_readings=3)
    assert quality(g, reading(NOW, energy_total_wh=1_000)) == {}
    bad = {"energy_total_wh": Quality.IMPLAUSIBLE}
    assert quality(g, reading(NOW + MIN, energy_total_wh=9_000_000)) == bad
    assert quality(g, reading(NOW + 2 * MIN, energy_total_wh=9_000_010)) == bad
    assert quality(g, reading(NOW + 3 * MIN, energy_total_wh=9_000_020)) == {}
    assert quality(g, reading(NOW + 4 * MIN, energy_total_wh=9_000_030)) == {}


def test_counter_state_is_kept_only_for_accepted_assessments() -> None:
    g = gate(counter_step_wh=0)
    g.accept(g.assess([reading(NOW, export_wh=1000)], NOW))
    g.assess([reading(NOW + MIN, export_wh=1010)], NOW + MIN)  # the write failed: not kept
    # still judged against 1000 at NOW: 2 minutes allow 150 Wh
    assert quality(g, reading(NOW + 2 * MIN, export_wh=1150)) == {}


@pytest.mark.parametrize(
    ("ts_ms", "ok"),
    [
        (NOW + 300_000, True),
        (NOW + 300_001, False),
        (NOW - 400 * 86_400_000, True),
        (NOW - 400 * 86_400_000 - 1, False),
        (0, False),  # 1970
        (4_102_444_800_000, False),  # 2100
        (2**70, False),
    ],
)
def test_timestamps_within_backfill_horizon_and_a_few_minutes_ahead(ts_ms: int, ok: bool) -> None:
    got = quality(gate(), reading(ts_ms, power_w=1.0), NOW)
    assert (got == {}) if ok else ("timestamp" in got)  # type: ignore[operator]


def test_the_time_window_is_data() -> None:
    g = gate(future_s=0, backfill_horizon_days=1)
    assert "ahead" in quality(g, reading(NOW + 1, power_w=1.0), NOW)  # type: ignore[operator]
    late = quality(g, reading(NOW - 86_400_001, power_w=1.0), NOW)
    assert "days old" in late  # type: ignore[operator]


def test_fields_already_flagged_are_left_alone() -> None:
    r = Reading(
        "s",
        "d",
        NOW,
        {"power_w": None, "export_wh": -1},
        {"power_w": Quality.COMM_ERROR, "export_wh": Quality.DECODE_ERROR},
    )
    assert quality(gate(), r) == {"power_w": Quality.COMM_ERROR, "export_wh": Quality.DECODE_ERROR}


def test_limits_are_validated_at_load() -> None:
    with pytest.raises(ValueError, match="temperature_min_c"):
        Limits(temperature_min_c=50, temperature_max_c=10)
    with pytest.raises(ValueError):
        Limits(power_max_ratio=0)


numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
)
FIELDS = ["power_w", "dc_power_w", "energy_total_wh", "export_wh", "status", "temperature_c", "x"]


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(FIELDS), value=numbers)
def test_the_fast_path_agrees_with_the_pure_checks(name: str, value: float) -> None:
    """The gate's cheap "clearly fine" test never passes what value_problem refuses."""
    b = bounds_for(Limits(), KW)
    expected = value_problem(name, value, b)
    if expected is None and name in COUNTER_FIELDS:
        expected, _ = check_counter(name, float(value), NOW, None, b)
    got = quality(Gate(Limits(), {"s": KW}), reading(**{name: value}))
    assert (got == {}) == (expected is None), (got, expected)
