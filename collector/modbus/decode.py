"""Pure decoding of register words into canonical field values with quality flags.

No I/O here: a block of 16-bit words (as read in one request) and the slots
planned into it go in; values and quality flags come out. A sentinel becomes
None + SENTINEL, a value that cannot be made sense of None + DECODE_ERROR;
never 0. Scale factors are taken from the same block as their values.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

from collector.modbus.plan import Slot
from collector.modbus.regmap import FIELDS, Point
from core.reading import Quality, Value

_F32 = struct.Struct(">f")
_SENTINEL = Quality.SENTINEL
_DECODE = Quality.DECODE_ERROR
#: SunSpec allows scale factors -10..10; anything else is a garbled register
_SF_RANGE = range(-10, 11)


def _swap(w: int) -> int:
    return ((w & 0xFF) << 8) | (w >> 8)


def unsigned(words: Sequence[int], i: int, p: Point) -> int:
    """The point's raw bits as an unsigned integer (word and byte order applied)."""
    n = p.size
    ws = words[i : i + n]
    if p.byte_order == "little":
        ws = [_swap(w) for w in ws]
    if n == 1:
        return ws[0]
    if p.word_order == "little":
        ws = list(reversed(ws))
    u = 0
    for w in ws:
        u = (u << 16) | w
    return u


def raw_value(u: int, p: Point) -> int | float:
    """Interpret unsigned bits as the point's type (sign, float)."""
    t = p.type
    if t in ("int16", "sunssf"):
        return u - 0x10000 if u & 0x8000 else u
    if t == "int32":
        return u - 0x100000000 if u & 0x80000000 else u
    if t == "float32":
        return float(_F32.unpack(u.to_bytes(4, "big"))[0])
    return u


def decode_string(words: Sequence[int]) -> str:
    """A SunSpec/vendor string register range (2 ASCII bytes per word, NUL padded)."""
    b = b"".join(w.to_bytes(2, "big") for w in words)
    return b.split(b"\x00", 1)[0].decode("ascii", "replace").strip()


def decode_point(words: Sequence[int], slot: Slot) -> tuple[Value, Quality]:
    """One field's value and quality from a block of words (value, GOOD) or (None, flag)."""
    p = slot.point
    i = slot.offset
    # the common layouts inline (one big-endian word, two in big word order); the
    # general case (little byte or word order, 64-bit) through unsigned()
    if p.byte_order == "big" and p.size <= 2 and (p.size == 1 or p.word_order == "big"):
        u = words[i] if p.size == 1 else (words[i] << 16) | words[i + 1]
    else:
        u = unsigned(words, i, p)
    if u in p.sentinels:
        return None, _SENTINEL
    if p.mask is not None:
        u &= p.mask
    raw = raw_value(u, p)
    if isinstance(raw, float):
        if math.isnan(raw):
            return None, _SENTINEL
        if math.isinf(raw):
            return None, _DECODE
    if p.enum is not None:
        code = p.enum.get(int(raw))
        return (None, _DECODE) if code is None else (code, Quality.GOOD)
    v: float | int = raw + p.add if p.add else raw
    if slot.sf_offset is not None:
        sfu = words[slot.sf_offset]
        if sfu == 0x8000:
            return None, _SENTINEL
        sf = sfu - 0x10000 if sfu & 0x8000 else sfu
        if sf not in _SF_RANGE:
            return None, _DECODE
        # dividing by a power of ten keeps decimal values exact-looking (1234.5, not 1234.50001)
        v = v * 10**sf if sf >= 0 else v / 10**-sf
    if p.scale != 1.0:
        v = v * p.scale
    if FIELDS[p.field]:
        if p.field.endswith("_wh") and v < 0:
            return None, _DECODE
        return round(v), Quality.GOOD
    return (round(v, 6) if isinstance(v, float) else float(v)), Quality.GOOD


def decode_block(
    words: Sequence[int],
    slots: Sequence[Slot],
    values: dict[str, Value],
    quality: dict[str, Quality],
) -> None:
    """Decode every slot planned into this block into values/quality (in place).

    A field with two points (one marked ``alternate``) keeps the first good value:
    a good value replaces a flagged one, never the other way round.
    """
    for slot in slots:
        f = slot.point.field
        try:
            v, q = decode_point(words, slot)
        except (IndexError, ValueError, OverflowError, struct.error):
            v, q = None, _DECODE
        if f in values and f not in quality:
            continue  # already good from the field's other point
        if f in values and q is not Quality.GOOD:
            continue  # keep the other point's flag; this one has nothing better
        values[f] = v
        if q is Quality.GOOD:
            quality.pop(f, None)
        else:
            quality[f] = q
