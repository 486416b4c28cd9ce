"""The SunSpec map against the SunSpec Alliance's own library (pysunspec2) as an oracle.

1. Structure: every point of collector/modbus/maps/sunspec.yaml sits at the offset,
   with the type, size and scale-factor register that pysunspec2's model definition gives
   the point of that name, and each model's length is the definition's.
2. Values: register images filled with random raw values and scale factors are decoded
   by pysunspec2 (``cvalue``) and by our decoder; the results must agree.
3. Repeating blocks (model 160, one block per MPPT input): the same checks for every
   block of images with a random number of blocks N, and the "unimplemented" values
   (0xFFFF, a 0x8000 scale factor) missing with the sentinel flag in both.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
import sunspec2.device as ssd

from collector.modbus.decode import decode_point
from collector.modbus.plan import Slot
from collector.modbus.regmap import FIELDS, Point, load_map
from collector.modbus.sunspec import METER_MODELS, model_points
from core.reading import Quality

SUN = load_map("sunspec")
MODELS = sorted(SUN.models)
#: our canonical type -> pysunspec2 type names it may stand for
TYPES = {
    "int16": {"int16"},
    "uint16": {"uint16"},
    "acc32": {"acc32"},
    "uint64": {"uint64"},
    "float32": {"float32"},
    "enum16": {"enum16"},
    "bitfield32": {"bitfield32"},
}


REPEATING = sorted(mid for mid, m in SUN.models.items() if m.repeat is not None)


def _blank(mid: int, length: int | None = None) -> list[int]:
    """ID, L and zeros; a repeating model's N set to the blocks its L holds."""
    model = SUN.models[mid]
    length = model.length if length is None else length
    words = [mid, length] + [0] * length
    rep = model.repeat
    if rep is not None and rep.count_offset is not None:
        words[rep.count_offset] = (length + 2 - rep.start) // rep.size
    return words


def _oracle(mid: int, words: list[int] | None = None) -> ssd.Model:
    """pysunspec2's model over a register image starting at the ID register."""
    regs = words or _blank(mid)
    data = b"".join(struct.pack(">H", w) for w in regs)
    return ssd.Model(model_id=mid, model_len=regs[1], data=data)


def _by_offset(group: ssd.Group) -> dict[int, object]:
    """Every point of a pysunspec2 model, its repeating groups' included, by offset."""
    out = {p.offset: p for p in group.points.values()}
    for g in group.groups.values():
        for sub in g if isinstance(g, list) else [g]:
            out.update(_by_offset(sub))
    return out


def _ours(mid: int, length: int) -> list[Point]:
    """Our points of a model of length L (every repeating block placed)."""
    return list(model_points(SUN.models[mid], length))


@pytest.mark.parametrize("mid", MODELS)
def test_offsets_types_and_scale_factors_match_pysunspec2(mid: int) -> None:
    ours = SUN.models[mid]
    oracle = _oracle(mid)
    assert oracle.len - 2 == ours.length, f"model {mid}: L"
    at = _by_offset(oracle)
    points = _ours(mid, ours.length)
    assert points, f"model {mid}: no points"
    for p in points:
        op = at.get(p.address)
        assert op is not None, f"model {mid}: no point at offset {p.address} ({p.field})"
        assert op.pdef["type"] in TYPES[p.type], (mid, p.field, op.pdef["name"], op.pdef["type"])
        assert op.len == p.size, (mid, p.field)
        sf_name = op.pdef.get("sf")
        if p.sf_address is None:
            assert sf_name is None or p.type == "float32", (mid, p.field, "missing sf")
        else:
            assert oracle.points[sf_name].offset == p.sf_address, (mid, p.field, sf_name)


def _random_length(mid: int, rng: random.Random) -> int:
    """The model's L; a repeating model's for a random number of blocks (1..what we read)."""
    model = SUN.models[mid]
    rep = model.repeat
    if rep is None:
        return model.length
    blocks = rng.randint(1, len(_ours(mid, 0xFFF)) // len(rep.points))
    return rep.start - 2 + blocks * rep.size


def _random_image(mid: int, rng: random.Random, length: int) -> list[int]:
    """Random raw values in every mapped point and scale factor (within -3..3)."""
    words = _blank(mid, length)
    points = _ours(mid, length)
    for p in points:
        if p.sf_address is not None:
            words[p.sf_address] = rng.randint(-3, 3) & 0xFFFF
    for p in points:
        if p.enum:
            words[p.address] = rng.choice(sorted(p.enum))
        elif p.type == "float32":
            lo_v = 0.0 if p.field.endswith("_wh") else -50000.0  # a counter is never negative
            hi, lo = struct.unpack(">HH", struct.pack(">f", rng.uniform(lo_v, 50000.0)))
            words[p.address : p.address + 2] = [hi, lo]
        elif p.type == "int16":
            words[p.address] = rng.randint(-30000, 30000) & 0xFFFF
        else:  # unsigned: counters and bitfields, never the "unimplemented" value
            # 64-bit counters below 2**40: exact in a float, as pysunspec2 computes cvalue
            v = rng.randint(1, min(2 ** (16 * p.size) - 2, 2**40))
            for i in range(p.size):
                words[p.address + i] = (v >> (16 * (p.size - 1 - i))) & 0xFFFF
    return words


@pytest.mark.parametrize("mid", MODELS)
def test_decoded_values_match_pysunspec2(mid: int) -> None:
    rng = random.Random(mid)  # deterministic per model
    for _ in range(25):
        length = _random_length(mid, rng)
        words = _random_image(mid, rng, length)
        oracle = _by_offset(_oracle(mid, words))
        for p in _ours(mid, length):
            ours, _q = decode_point(words, Slot(p, p.address, p.sf_address))
            op = oracle[p.address]
            if p.enum:
                assert ours == p.enum[op.value], (mid, p.field)
                continue
            want = op.cvalue if op.pdef.get("sf") else op.value
            if mid in METER_MODELS and p.field == "power_w":
                want = -want  # SunSpec meters: + import; ours: + export
            if FIELDS[p.field]:  # integer fields (Wh counters, W rating, codes) are rounded
                assert ours == round(want), (mid, p.field, ours, want)
            else:
                assert math.isclose(ours, want, rel_tol=1e-6, abs_tol=1e-6), (mid, p.field)


@pytest.mark.parametrize("mid", REPEATING)
def test_every_block_is_placed_where_pysunspec2_puts_it(mid: int) -> None:
    rep = SUN.models[mid].repeat
    assert rep is not None
    for blocks in (1, 2, 6):
        length = rep.start - 2 + blocks * rep.size
        oracle = _oracle(mid, _blank(mid, length))
        groups = next(iter(oracle.groups.values()))
        assert len(groups) == blocks
        ours = _ours(mid, length)
        assert len(ours) == blocks * len(rep.points)
        for k, group in enumerate(groups, start=1):
            at = {p.offset: p for p in group.points.values()}
            for p in ours:
                if not p.field.endswith(f"_mppt{k}"):
                    continue
                op = at[p.address]
                assert op.pdef["type"] in TYPES[p.type], (k, p.field)
                assert oracle.points[op.pdef["sf"]].offset == p.sf_address, (k, p.field)
                assert op.pdef["units"] == p.unit, (k, p.field)


@pytest.mark.parametrize("mid", REPEATING)
def test_unimplemented_values_are_missing_in_both(mid: int) -> None:
    """0xFFFF values: pysunspec2 gives None, we give the sentinel flag.

    A 0x8000 (unimplemented) scale factor: pysunspec2 reads the scale factor as None and
    then returns the raw value unscaled; we flag the value as a sentinel instead, as a
    value of unknown scale is no measurement.
    """
    rng = random.Random(mid + 1)
    seen = 0
    for _ in range(25):
        length = _random_length(mid, rng)
        words = _random_image(mid, rng, length)
        points = _ours(mid, length)
        for p in points:
            if rng.random() < 0.3:
                words[p.address] = 0xFFFF
            if p.sf_address is not None and rng.random() < 0.1:
                words[p.sf_address] = 0x8000
        oracle = _by_offset(_oracle(mid, words))
        for p in points:
            ours, q = decode_point(words, Slot(p, p.address, p.sf_address))
            op = oracle[p.address]
            if op.value is None or oracle[p.sf_address].value is None:
                seen += 1
                assert (ours, q) == (None, Quality.SENTINEL), (p.field, words[p.address])
            else:
                assert q is Quality.GOOD and math.isclose(ours, op.cvalue, abs_tol=1e-6)
    assert seen > 0  # the draw did exercise the unimplemented values
