"""SunSpec discovery: find the ``SunS`` marker, walk the model chain, place the points.

The layout (which models sit where, and how many repeating blocks a model such
as 160 holds) is learnt once per connection and kept until the device fails;
values and scale factors are read fresh every cycle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from collector.modbus.regmap import INDEX, Point, RegisterMap, Repeat, SunSpecModel

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
    #: ID address -> the block count N a repeating model reports (read at discovery)
    counts: Mapping[int, int] = field(default_factory=lambda: MappingProxyType({}))

    def describe(self) -> str:
        """``40000: 1@40002 103@40070 160@40122x2``  (x: the blocks of a repeating model)."""
        return f"{self.base}: " + " ".join(
            f"{m}@{a}" + (f"x{self.counts[a]}" if a in self.counts else "")
            for m, a, _ in self.models
        )


def block_count(rep: Repeat, length: int, n: int | None = None) -> int:
    """How many repeating blocks to read: those that fit in L, at most N (when read) and max.

    N beyond what L holds is a device error (L wins); N below it leaves padding unread;
    an unimplemented N (0xFFFF) is not trusted and L alone decides.
    """
    fit = max(0, (length + 2 - rep.start) // rep.size)
    if n is not None and n != 0xFFFF:
        fit = min(fit, n)
    return min(fit, rep.max_count)


async def discover(read: Reader, rmap: RegisterMap, function: int = 3) -> Layout:
    """Find the marker at each base in turn and walk the chain; DecodeFailure if none."""
    # here, not at the top: the config check uses this module's layouts without the
    # transport (and pymodbus behind it)
    from collector.modbus.transport import DecodeFailure, DeviceError

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
        counts: dict[int, int] = {}
        addr = base + 2
        for _ in range(MAX_MODELS):
            mid, length = await read(function, addr, 2)
            if mid == END_ID:
                return Layout(base, tuple(models), MappingProxyType(counts))
            models.append((mid, addr, length))
            rep = _repeat_of(rmap, mid)
            if rep is not None and rep.count_offset is not None and rep.count_offset <= length + 1:
                # N once per connection: the number of MPPT inputs does not change
                (n,) = await read(function, addr + rep.count_offset, 1)
                counts[addr] = block_count(rep, length, n)
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


def _repeat_of(rmap: RegisterMap, mid: int) -> Repeat | None:
    model = rmap.models.get(mid)
    return None if model is None else model.repeat


def reachable(rep: Repeat, max_registers: int) -> int:
    """Blocks whose every value is read in one request with its scale factor.

    The scale factors sit before the first block, and a value is never decoded with a
    scale factor from another request (it may change between two reads), so with 125
    registers per request model 160 gives at most 6 MPPT inputs.
    """
    k = 0
    while k < rep.max_count:
        at = rep.start + k * rep.size
        for p in rep.points:
            lo, hi = at + p.address, at + p.address + p.size - 1
            if p.sf_address is not None:
                lo, hi = min(lo, p.sf_address), max(hi, p.sf_address)
            if hi - lo + 1 > max_registers:
                return k
        k += 1
    return k


def model_points(
    model: SunSpecModel, length: int, n: int | None = None, max_registers: int | None = None
) -> Iterator[Point]:
    """A model's points, offsets from its ID: the fixed ones, then each repeating block's
    with ``{n}`` in the field replaced by the block's 1-based index (blocks that fit in L,
    at most N, and only those readable with their scale factor in max_registers)."""
    yield from model.points
    rep = model.repeat
    if rep is None:
        return
    count = block_count(rep, length, n)
    if max_registers is not None:
        count = min(count, reachable(rep, max_registers))
    for k in range(count):
        at = rep.start + k * rep.size
        for p in rep.points:
            yield replace(p, field=p.field.replace(INDEX, str(k + 1)), address=at + p.address)


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
        n = layout.counts.get(start)
        for p in model_points(model, length, n, rmap.limits.max_registers):
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
