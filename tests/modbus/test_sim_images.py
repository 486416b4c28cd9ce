"""The simulator's images, now encoded from the map files, are the hand-written ones.

For the shipped SunSpec, Huawei SUN2000 and DTSU666 profiles, any state the fleet model
can produce (powers up to past the rating, counters from 0, every status and fault
code, the scale_change shift) gives the same registers, address by address and word by
word, as the images written by hand before (tests/modbus/legacy_images.py). And every
profile's image decodes, through the collector's own planner and decoder, to the state.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector.modbus.decode import decode_block
from collector.modbus.plan import plan_requests
from collector.modbus.regmap import load_map
from collector.modbus.sunspec import place_points, typical
from simulator import registers
from simulator.fleet import profiles
from tests.modbus import legacy_images

PV_STATE = st.fixed_dictionaries(
    {
        "power_w": st.one_of(st.just(0.0), st.integers(0, 600_000).map(lambda x: x / 10)),
        "energy_total_wh": st.one_of(st.just(0), st.integers(0, 2**32 * 10 - 1)),
        "energy_today_wh": st.integers(0, 400_000),
        "temperature_c": st.integers(-300, 900).map(lambda x: x / 10),
        "status": st.sampled_from([0, 1, 2, 3]),
        "fault_code": st.sampled_from([0, 1, 2062, 2032]),
        "scale_step": st.sampled_from([0, 0, 1, 2]),
    }
)
METER_STATE = st.fixed_dictionaries(
    {
        "power_w": st.integers(-50_000, 600_000).map(lambda x: x / 10),
        "export_wh": st.integers(0, 10**10),
        "import_wh": st.integers(0, 10**8),
    }
)


def _flat(blocks: dict[int, list[int]]) -> dict[tuple[int, int], int]:
    return {(3, a + i): w for a, ws in blocks.items() for i, w in enumerate(ws)}


OLD_KIND = {"sunspec": "sunspec", "huawei-sun2000": "huawei", "dtsu666": "dtsu666"}
SHIPPED_BEFORE = sorted(n for n, p in profiles().items() if p.get("map") in OLD_KIND)


def test_the_profiles_that_existed_are_all_compared() -> None:
    assert len(SHIPPED_BEFORE) == 7  # 4 SunSpec, 2 Huawei, the DTSU666 meter


@pytest.mark.parametrize("name", SHIPPED_BEFORE)
@settings(max_examples=150, deadline=None)
@given(pv=PV_STATE, meter=METER_STATE)
def test_images_are_word_for_word_the_hand_written_ones(name: str, pv: dict, meter: dict) -> None:
    p = profiles()[name]
    state = meter if p["kind"] == "meter" else pv
    rated = float(p.get("rated_w", 1.0))
    old = legacy_images.image(OLD_KIND[p["map"]], state, rated, p.get("model", ""), "s-hh-0042-inv")
    new = registers.image(p["map"], state, rated, p.get("model", ""), "s-hh-0042-inv")
    assert new == _flat(old)


MODBUS = sorted(n for n, p in profiles().items() if "map" in p)


@pytest.mark.parametrize("name", MODBUS)
@settings(max_examples=40, deadline=None)
@given(pv=PV_STATE, meter=METER_STATE)
def test_every_profile_decodes_to_its_state(name: str, pv: dict, meter: dict) -> None:
    p = profiles()[name]
    rmap = load_map(p["map"])
    is_meter = p["kind"] == "meter"
    state = dict(meter if is_meter else pv, scale_step=0)
    if not is_meter:  # below a SunSpec acc32's rollover (4.29 GWh; rollover is tested above)
        state["energy_total_wh"] %= 2**32
    rated = float(p.get("rated_w", 1.0))
    state["power_w"] = min(abs(state["power_w"]), rated) * (1 if state["power_w"] >= 0 else -1)
    img = registers.image(p["map"], state, rated, p.get("model", ""), "x")
    points = (
        rmap.points
        if rmap.kind == "fixed"
        else place_points(typical(rmap), rmap, "meter" if is_meter else "inverter")
    )
    values: dict = {}
    quality: dict = {}
    for req in plan_requests(points, rmap.limits):
        words = [img[(req.function, a)] for a in range(req.address, req.address + req.count)]
        decode_block(words, req.slots, values, quality)  # KeyError: a register not served
    fields = {q.field for q in points}
    if "power_w" in fields:
        step = max(abs(q.scale) for q in points if q.field == "power_w") * 10 ** power_sf(p, rmap)
        assert values["power_w"] == pytest.approx(state["power_w"], abs=step)
    for f in ("energy_total_wh", "export_wh", "import_wh"):
        if f in fields and quality.get(f) is None:
            q = next(q for q in points if q.field == f)
            if q.type == "float32":  # kWh in a float32: its precision, either way
                assert abs(state[f] - values[f]) <= state[f] * 2.0**-23 + 1, (f, state[f])
            else:  # integer counters are floored: never ahead, less than a step behind
                step = q.scale * 10 ** power_sf(p, rmap, f)
                assert 0 <= state[f] - values[f] < step + 1, (f, state[f], values[f])
    if "status" in fields:
        assert values["status"] is not None
        if state["status"] in (1, 3):  # every map has a running and a fault state
            assert values["status"] == state["status"], (state["status"], values["status"])


def power_sf(p: dict, rmap, field: str = "power_w") -> int:
    """The exponent the SunSpec image uses for a field (0 for fixed maps)."""
    if rmap.kind != "sunspec":
        return 0
    return registers.power_sf(float(p.get("rated_w", 1))) if field == "power_w" else 0
