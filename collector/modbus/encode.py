"""Pure encoding of canonical field values into register words: the inverse of decode.py.

The simulator builds its register images with this from the same map files the
collector decodes with, so an image and its map cannot disagree; the round-trip
tests prove ``decode(encode(v)) == v`` within each field's scale for every map.

Arithmetic is exact (fractions of the decimal values written), then rounded once:
energy counters (``*_wh``) down, because a counter never shows energy not yet
produced; everything else to the nearest step (half to even). A value a point
cannot hold (out of its type's range, or equal to its "not implemented" sentinel)
raises EncodeError; ``None`` encodes as the point's sentinel.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Collection, Iterable, Mapping
from fractions import Fraction

from collector.modbus.regmap import DEFAULT_SENTINELS, Point

#: raw integer range per type (strings and floats are handled apart)
RANGES: Mapping[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "sunssf": (-10, 10),  # SunSpec allows scale factors -10..10
    "uint16": (0, 2**16 - 1),
    "enum16": (0, 2**16 - 1),
    "bitfield16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "acc32": (0, 2**32 - 1),
    "bitfield32": (0, 2**32 - 1),
    "acc64": (0, 2**64 - 1),
    "uint64": (0, 2**64 - 1),
}
#: types that roll over past their largest value instead of refusing it
ACCUMULATORS = frozenset({"acc32", "acc64"})
_F32 = struct.Struct(">f")
_F32_NAN = 0x7FC00000  # decode reads NaN as "not implemented"
#: (function, 0-based address) -> one 16-bit word
Image = dict[tuple[int, int], int]


class EncodeError(ValueError):
    """The value cannot be written into this point."""


class SentinelCollision(EncodeError):
    """The value's raw bits are the point's "not implemented" marker (SunSpec acc32 0)."""


def _exact(v: float | int) -> Fraction:
    # the decimal the value was written as (23.4 -> 234/10), not its binary neighbour
    return Fraction(v) if isinstance(v, int) else Fraction(repr(float(v)))


def _words(u: int, p: Point) -> list[int]:
    """Unsigned bits -> the point's words (word and byte order applied, as decode undoes)."""
    ws = [(u >> (16 * (p.size - 1 - i))) & 0xFFFF for i in range(p.size)]
    if p.size > 1 and p.word_order == "little":
        ws.reverse()
    if p.byte_order == "little":
        ws = [((w & 0xFF) << 8) | (w >> 8) for w in ws]
    return ws


def sentinel_words(p: Point) -> list[int]:
    """The words meaning "not implemented" for this point; EncodeError if it has none."""
    if p.sentinels:
        return _words(min(p.sentinels), p)
    if p.type == "float32":
        return _words(_F32_NAN, p)
    default = DEFAULT_SENTINELS.get(p.type)
    if default:
        return _words(min(default), p)
    raise EncodeError(f"{p.field}: a {p.type} point has no 'not implemented' value")


def vendor_code(p: Point, canonical: int, prefer: Mapping[int, int] | None = None) -> int:
    """The vendor code to write for a canonical status: ``prefer``'s, else the map's first."""
    assert p.enum is not None
    if prefer and canonical in prefer:
        code = prefer[canonical]
        if p.enum.get(code) != canonical:
            raise EncodeError(f"{p.field}: vendor code {code:#x} does not decode to {canonical}")
        return code
    for code, c in p.enum.items():
        if c == canonical:
            return code
    raise EncodeError(f"{p.field}: no vendor code decodes to {canonical}")


def raw_for(value: float | int, p: Point, sf: int | None = None) -> int | float:
    """The raw register value that decodes to ``value`` (before bits and word order)."""
    if p.type == "float32":
        x = float(value)
        if p.scale != 1.0:
            inv = 1 / p.scale
            # multiply by 10 rather than divide by 0.1: the same float a device computes
            x = x * round(inv) if abs(p.scale) < 1 and inv == round(inv) else x / p.scale
        if sf is not None:
            x = x * 10**-sf if sf < 0 else x / 10**sf
        return x - p.add if p.add else x
    x = _exact(value) / _exact(p.scale)
    if sf is not None:
        x = x / Fraction(10) ** sf
    x -= _exact(p.add)
    if p.field.endswith("_wh"):
        if x < 0:
            raise EncodeError(f"{p.field}: a counter cannot be negative ({value})")
        return math.floor(x)
    return round(x)


def encode_point(
    value: float | int | str | None,
    p: Point,
    sf: int | None = None,
    prefer: Mapping[int, int] | None = None,
) -> list[int]:
    """The words of one point holding ``value`` (canonical units; status canonical 0-5).

    ``sf`` is the exponent in the point's scale-factor register (SunSpec), which the
    caller writes with :func:`encode_sf`; ``prefer`` picks the vendor code of a status
    when several decode to the same canonical one.
    """
    if value is None:
        return sentinel_words(p)
    if (p.sf_address is None) != (sf is None):
        raise EncodeError(f"{p.field}: give sf exactly when the point has a scale factor")
    if p.type == "string":
        b = str(value).encode("ascii")
        if len(b) > 2 * p.size:
            raise EncodeError(f"{p.field}: {value!r} longer than {p.size} registers")
        b = b.ljust(2 * p.size, b"\0")
        return [int.from_bytes(b[i : i + 2], "big") for i in range(0, len(b), 2)]
    if p.enum is not None:
        raw: int | float = vendor_code(p, int(value), prefer)
    else:
        raw = raw_for(value, p, sf)
    if p.type == "float32":
        try:
            u = int.from_bytes(_F32.pack(raw), "big")
        except (OverflowError, struct.error):
            raise EncodeError(f"{p.field}: {value} does not fit a float32") from None
        if math.isinf(_F32.unpack(_F32.pack(raw))[0]):
            raise EncodeError(f"{p.field}: {value} does not fit a float32")
    else:
        lo, hi = RANGES[p.type]
        if p.mask is not None:
            lo, hi = 0, p.mask
        if p.type in ACCUMULATORS and raw > hi:
            raw = int(raw) % (hi + 1)  # an accumulator rolls over (SunSpec acc32/acc64)
        if not lo <= int(raw) <= hi:
            raise EncodeError(f"{p.field}: raw {raw} outside {p.type} {lo}..{hi} ({value})")
        u = int(raw) & ((1 << (16 * p.size)) - 1)
    if u in p.sentinels:
        raise SentinelCollision(f"{p.field}: {value} encodes as the sentinel {u:#x}")
    return _words(u, p)


def encode_sf(sf: int) -> int:
    """A SunSpec scale-factor register (sunssf, -10..10)."""
    if not -10 <= sf <= 10:
        raise EncodeError(f"scale factor {sf} outside -10..10")
    return sf & 0xFFFF


def encode_points(
    points: Iterable[Point],
    values: Mapping[str, float | int | str | None],
    scale_factors: Mapping[int, int] | None = None,
    prefer: Mapping[int, int] | None = None,
    strict: bool = True,
    use_alternate: Collection[str] = (),
) -> Image:
    """Words of every point whose field is in ``values``, scale factors included.

    ``scale_factors`` maps each scale-factor register address to its exponent. A field
    with two points is written to its first point and the alternate left "not
    implemented", or the other way round for fields in ``use_alternate``. With
    ``strict=False`` a value the point cannot hold is written as its sentinel (what a
    device shows for a reading it does not have) instead of raising.
    """
    sfs = scale_factors or {}
    out: Image = {}
    for p in points:
        if p.field not in values:
            continue
        mine = p.alternate == (p.field in use_alternate)
        value = values[p.field] if mine else None
        sf = None if p.sf_address is None else sfs.get(p.sf_address)
        if p.sf_address is not None:
            if sf is None:
                raise EncodeError(f"{p.field}: no exponent given for scale factor {p.sf_address}")
            out[(p.function, p.sf_address)] = encode_sf(sf)
        try:
            words = encode_point(value, p, sf, prefer)
        except EncodeError:
            if strict:
                raise
            words = sentinel_words(p)
        for i, w in enumerate(words):
            out[(p.function, p.address + i)] = w
    return out
