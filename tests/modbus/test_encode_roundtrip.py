"""encode (collector/modbus/encode.py) is the inverse of decode for every shipped map.

Property: for every map in the maps folder (each SunSpec model on its own), any values
the points can hold, encoded into an image with any scale-factor exponents, planned
into requests by the collector's planner and decoded by the collector's decoder, come
back as the same values within each field's step (counters floored, the rest rounded).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from collector.modbus.decode import decode_block
from collector.modbus.encode import (
    RANGES,
    EncodeError,
    SentinelCollision,
    encode_point,
    encode_points,
)
from collector.modbus.plan import Slot, plan_requests
from collector.modbus.regmap import FIELDS, MAPS_DIR, Point, RegisterMap, load_map

#: raw integers kept within float64's exact range (decode works in floats)
RAW_LIMIT = 2**40


def _groups() -> list[tuple[str, RegisterMap, tuple[Point, ...]]]:
    out = []
    for path in sorted(MAPS_DIR.glob("*.yaml")):
        rmap = load_map(path.stem)
        if rmap.kind == "fixed":
            out.append((rmap.name, rmap, rmap.points))
        else:
            for mid, model in sorted(rmap.models.items()):
                out.append((f"{rmap.name}-{mid}", rmap, model.points))
    return out


GROUPS = _groups()


def _step(p: Point, sf: int | None) -> float:
    return abs(p.scale) * 10.0 ** (sf or 0)


def _value(draw: st.DrawFn, p: Point, sf: int | None) -> float | int:
    """A value the point can hold: drawn raw, moved inside its step, in canonical units."""
    if p.enum is not None:
        return draw(st.sampled_from(sorted(set(p.enum.values()))))
    q = p.scale * 10.0 ** (sf or 0)
    if p.type == "float32":
        lo = 0.0 if p.field.endswith("_wh") else -1e7
        raw = draw(st.floats(lo, 1e7, allow_nan=False, allow_infinity=False))
        if p.field.endswith("_wh") and q < 0:
            raw = -raw
        return (raw + p.add) * q
    lo, hi = (0, p.mask) if p.mask is not None else RANGES[p.type]
    lo, hi = max(lo, -RAW_LIMIT), min(hi, RAW_LIMIT)
    if p.field.endswith("_wh"):
        lo = max(lo, math.ceil(-p.add))  # a counter is never negative
    raw = draw(st.integers(lo, hi))
    # anywhere inside the step that encodes back to raw: floor for counters, round else
    inside = draw(st.floats(0.0, 0.9) if p.field.endswith("_wh") else st.floats(-0.4, 0.4))
    if p.field.endswith("_wh") and raw == hi:
        inside = 0.0
    return (raw + p.add + inside) * q


def _tolerance(p: Point, sf: int | None, v: float) -> float:
    if p.enum is not None:
        return 0.0
    step = _step(p, sf)
    tol = step if p.field.endswith("_wh") else step / 2
    if p.type == "float32":
        tol = abs(v) * 2.0**-23 + 1e-30
    tol += 1e-9 * max(abs(v), 1.0) + 5e-7  # float arithmetic in decode, round(v, 6)
    return tol + (0.5 if FIELDS[p.field] else 0.0)  # integer fields are rounded on decode


def _decode(group: tuple[Point, ...], rmap: RegisterMap, image: dict) -> tuple[dict, dict]:
    values: dict = {}
    quality: dict = {}
    for req in plan_requests(group, rmap.limits):
        words = [
            image.get((req.function, a), 0) for a in range(req.address, req.address + req.count)
        ]
        decode_block(words, req.slots, values, quality)
    return values, quality


@pytest.mark.parametrize(("name", "rmap", "group"), GROUPS, ids=[g[0] for g in GROUPS])
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decode_of_encode_is_the_value(
    name: str, rmap: RegisterMap, group: tuple[Point, ...], data: st.DataObject
) -> None:
    sf_regs = sorted({p.sf_address for p in group if p.sf_address is not None})
    sfs = {a: data.draw(st.integers(-3, 3), label=f"sf@{a}") for a in sf_regs}
    primary = {p.field: p for p in group if not p.alternate}
    values: dict[str, float | int] = {}
    for f, p in primary.items():
        values[f] = data.draw(
            st.composite(lambda draw, p=p: _value(draw, p, sfs.get(p.sf_address)))(), label=f
        )
    alternates = sorted({p.field for p in group if p.alternate})
    use_alt = (
        set(data.draw(st.lists(st.sampled_from(alternates), unique=True))) if alternates else set()
    )
    try:
        image = encode_points(group, values, sfs, use_alternate=use_alt)
    except SentinelCollision:
        assume(False)  # e.g. SunSpec acc32 0: the device cannot say "0", only "not implemented"
        return
    got, quality = _decode(group, rmap, image)
    assert quality == {}, (quality, values, image)
    for f, v in values.items():
        p = next(q for q in group if q.field == f and q.alternate == (f in use_alt))
        sf = sfs.get(p.sf_address)
        assert abs(got[f] - v) <= _tolerance(p, sf, v), (f, v, got[f], sf)
        if p.field.endswith("_wh") and p.type != "float32":
            assert got[f] <= v + 1e-9 * max(abs(v), 1.0) + 0.5, "a counter never runs ahead"


@pytest.mark.parametrize(("name", "rmap", "group"), GROUPS, ids=[g[0] for g in GROUPS])
def test_every_status_code_round_trips_and_none_is_not_implemented(
    name: str, rmap: RegisterMap, group: tuple[Point, ...]
) -> None:
    for p in group:
        slot = Slot(p, 0, None)
        if p.enum is not None:
            for canonical in set(p.enum.values()):
                values: dict = {}
                decode_block(encode_point(canonical, p), [slot], values, {})
                assert values[p.field] == canonical, (p.field, canonical)
        if p.sentinels:
            values, quality = {}, {}
            sf = None if p.sf_address is None else 0
            words = encode_point(None, p, sf)
            decode_block(words, [Slot(p, 0, None)], values, quality)
            assert values[p.field] is None and quality[p.field].name == "SENTINEL"


def test_word_and_byte_order_and_limits() -> None:
    low_first = Point("energy_total_wh", 4, 0, "uint32", 2, word_order="little", scale=1000)
    assert encode_point(0x00010002 * 1000, low_first) == [0x0002, 0x0001]
    swapped = Point("power_w", 3, 0, "int16", 1, byte_order="little")
    assert encode_point(-2, swapped) == [0xFEFF]
    temp = Point("temperature_c", 3, 0, "int16", 1, scale=0.1)
    assert encode_point(23.4, temp) == [234]
    assert encode_point(-0.1, temp) == [0xFFFF]
    with pytest.raises(EncodeError, match="outside"):
        encode_point(3276.8, temp)
    with pytest.raises(EncodeError, match="negative"):
        encode_point(-1, low_first)
    # counters are floored: 1999 Wh in a kWh register is 1 kWh, never 2
    assert encode_point(1999, low_first) == [1, 0]
    acc = load_map("sunspec").models[103].points[1]
    assert acc.field == "energy_total_wh"
    with pytest.raises(SentinelCollision):
        encode_point(0, acc, 0)  # SunSpec acc32 0 means "not implemented"
    assert encode_point(2**32 + 5, acc, 0) == [0, 5]  # an accumulator rolls over


def test_status_prefer_picks_the_vendor_code_and_refuses_a_wrong_one() -> None:
    st_pt = next(p for p in load_map("huawei-sun2000").points if p.field == "status")
    assert encode_point(4, st_pt) == [0x0301]  # the map's first code for "stopped"
    assert encode_point(4, st_pt, prefer={4: 0x0308}) == [0x0308]
    with pytest.raises(EncodeError, match="does not decode"):
        encode_point(4, st_pt, prefer={4: 0x0200})
