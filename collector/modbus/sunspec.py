"""SunSpec discovery: find the ``SunS`` marker, walk the model chain, place the points.

The layout (which models sit where) is learnt once per connection and kept
until the device fails; values and scale factors are read fresh every cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from collector.modbus.regmap import Point, RegisterMap
from collector.modbus.transport import DecodeFailure, DeviceError

MARKER = (0x5375, 0x6E53)  # "SunS"
END_ID = 0xFFFF
COMMON_ID = 1
COMMON_LENGTH = 66
MAX_MODELS = 64  # a chain longer than this is garbage, not a device
#: integer + scale factor meters 201-204, float meters 211-214
METER_MODELS = frozenset((*range(201, 205), *range(211, 215)))

#: read(function, address, count) -> words; raises DeviceError / TransportError
Reader = Callable[[int, int, int], Awaitable[Sequence[int]]]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a device's models sit: base of the marker and (model id, ID address, L)."""

    base: int
    models: tuple[tuple[int, int, int], ...]

    def describe(self) -> str:
        """``40000: 1@40002 103@40070 120@40122``."""
        return f"{self.base}: " + " ".join(f"{m}@{a}" for m, a, _ in self.models)


async def discover(read: Reader, rmap: RegisterMap, function: int = 3) -> Layout:
    """Find the marker at each base in turn and walk the chain; DecodeFailure if none."""
    tried = []
    for base in rmap.bases:
        try:
            words = await read(function, base, 2)
        except DeviceError as exc:  # illegal address: nothing mapped there, try the next base
            tried.append(f"{base}: {exc}")
            continue
        if tuple(words) != MARKER:
            tried.append(f"{base}: no marker")
            continue
        models = []
        addr = base + 2
        for _ in range(MAX_MODELS):
            mid, length = await read(function, addr, 2)
            if mid == END_ID:
                return Layout(base, tuple(models))
            models.append((mid, addr, length))
            addr += 2 + length
        raise DecodeFailure(f"SunSpec chain at {base} has no end marker after {MAX_MODELS} models")
    raise DecodeFailure("no SunSpec marker (" + "; ".join(tried) + ")")


def typical(rmap: RegisterMap) -> Layout:
    """The layout assumed by --plan: the map's typical chain at its first base."""
    base = rmap.bases[0]
    addr = base + 2
    models = []
    for mid in rmap.typical_layout:
        length = COMMON_LENGTH if mid == COMMON_ID else rmap.models[mid].length
        models.append((mid, addr, length))
        addr += 2 + length
    return Layout(base, tuple(models))


def place_points(layout: Layout, rmap: RegisterMap, role: str) -> tuple[Point, ...]:
    """Concrete points (absolute addresses) for the models a device of this role uses.

    A meter uses the meter models (201-204, 211-214), anything else the inverter
    models. The first model giving a field wins (with its alternates from the same
    model); a point beyond the model's actual length is skipped.
    """
    meter = role == "meter"
    out: dict[tuple[str, int], Point] = {}
    owner: dict[str, int] = {}  # field -> address of the model that gives it
    for mid, start, length in layout.models:
        model = rmap.models.get(mid)
        if model is None or (mid in METER_MODELS) != meter:
            continue
        for p in model.points:
            if owner.get(p.field, start) != start:
                continue
            if max(p.span[1], p.address + p.size - 1) > length + 1:
                continue
            owner[p.field] = start
            out[(p.field, start + p.address)] = Point(
                field=p.field,
                function=p.function,
                address=start + p.address,
                type=p.type,
                size=p.size,
                word_order=p.word_order,
                byte_order=p.byte_order,
                scale=p.scale,
                add=p.add,
                sf_address=None if p.sf_address is None else start + p.sf_address,
                enum=p.enum,
                sentinels=p.sentinels,
                checked=p.checked,
                unit=p.unit,
                mask=p.mask,
                alternate=p.alternate,
            )
    return tuple(out.values())
