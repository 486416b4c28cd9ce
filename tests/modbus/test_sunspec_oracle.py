"""The SunSpec map against the SunSpec Alliance's own library (pysunspec2) as an oracle.

1. Structure: every point of collector/modbus/maps/sunspec.yaml sits at the offset,
   with the type, size and scale-factor register that pysunspec2's model definition gives
   the point of that name, and each model's length is the definition's.
2. Values: register images filled with random raw values and scale factors are decoded
   by pysunspec2 (``cvalue``) and by our decoder; the results must agree.
"""

from __future__ import annotations

import math
import random
import struct

import pytest
import sunspec2.device as ssd

from collector.modbus.decode import decode_point
from collector.modbus.plan import Slot
from collector.modbus.regmap import FIELDS, load_map
from collector.modbus.sunspec import METER_MODELS

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


def _oracle(mid: int, words: list[int] | None = None) -> ssd.Model:
    """pysunspec2's model over a register image starting at the ID register."""
    length = SUN.models[mid].length
    regs = words or [mid, length] + [0] * length
    return ssd.Model(model_id=mid, data=b"".join(struct.pack(">H", w) for w in regs))


def _by_offset(model: ssd.Model) -> dict[int, object]:
    return {p.offset: p for p in model.points.values()}


@pytest.mark.parametrize("mid", MODELS)
def test_offsets_types_and_scale_factors_match_pysunspec2(mid: int) -> None:
    ours = SUN.models[mid]
    oracle = _oracle(mid)
    assert oracle.len - 2 == ours.length, f"model {mid}: L"
    at = _by_offset(oracle)
    for p in ours.points:
        op = at.get(p.address)
        assert op is not None, f"model {mid}: no point at offset {p.address} ({p.field})"
        assert op.pdef["type"] in TYPES[p.type], (mid, p.field, op.pdef["name"], op.pdef["type"])
        assert op.len == p.size, (mid, p.field)
        sf_name = op.pdef.get("sf")
        if p.sf_address is None:
            assert sf_name is None or p.type == "float32", (mid, p.field, "missing sf")
        else:
            assert oracle.points[sf_name].offset == p.sf_address, (mid, p.field, sf_name)


def _random_image(mid: int, rng: random.Random) -> list[int]:
    """Random raw values in every mapped point and scale factor (within -3..3)."""
    model = SUN.models[mid]
    words = [mid, model.length] + [0] * model.length
    for p in model.points:
        if p.sf_address is not None:
            words[p.sf_address] = rng.randint(-3, 3) & 0xFFFF
    for p in model.points:
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
    model = SUN.models[mid]
    for _ in range(25):
        words = _random_image(mid, rng)
        oracle = _by_offset(_oracle(mid, words))
        for p in model.points:
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
