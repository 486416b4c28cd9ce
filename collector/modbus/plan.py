"""Request planning: merge points into as few reads as the device's limits allow.

Points are grouped by function code and merged into blocks when the merged
read stays within ``max_registers`` and skips at most ``max_gap`` unused
registers. A value and its scale factor form one unit that is never split,
so every scale factor is read in the same request as its values (and never
cached across cycles: a device may change it at any time).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from collector.modbus.regmap import Limits, Point


@dataclass(frozen=True, slots=True)
class Slot:
    """A point placed in a request: offsets of its value and scale factor in the block."""

    point: Point
    offset: int
    sf_offset: int | None


@dataclass(frozen=True, slots=True)
class Request:
    """One read: function code, first register (0-based), count, and what decodes from it."""

    function: int
    address: int
    count: int
    slots: tuple[Slot, ...]

    def describe(self) -> str:
        """``FC3 40084+45 -> power_w, energy_total_wh`` for --plan."""
        names = ", ".join(s.point.field for s in self.slots)
        return (
            f"FC{self.function} {self.address}..{self.address + self.count - 1} "
            f"({self.count} regs) -> {names}"
        )


def plan_requests(points: Iterable[Point], limits: Limits) -> tuple[Request, ...]:
    """Merge points into requests within the limits (greedy over address order)."""
    by_fc: dict[int, list[Point]] = {}
    for p in points:
        by_fc.setdefault(p.function, []).append(p)
    out: list[Request] = []
    for fc in sorted(by_fc):
        group: list[Point] = []
        lo = hi = -1
        for p in sorted(by_fc[fc], key=lambda q: q.span):
            plo, phi = p.span
            if (
                group
                and plo - hi - 1 <= limits.max_gap
                and max(hi, phi) - lo + 1 <= limits.max_registers
            ):
                hi = max(hi, phi)
                group.append(p)
                continue
            if group:
                out.append(_request(fc, lo, hi, group))
            group, lo, hi = [p], plo, phi
        if group:
            out.append(_request(fc, lo, hi, group))
    return tuple(out)


def _request(fc: int, lo: int, hi: int, group: Sequence[Point]) -> Request:
    slots = tuple(
        Slot(p, p.address - lo, None if p.sf_address is None else p.sf_address - lo) for p in group
    )
    return Request(fc, lo, hi - lo + 1, slots)


def naive_request_count(points: Iterable[Point]) -> int:
    """Requests a one-request-per-value poller needs: each value, plus each scale factor."""
    pts = list(points)
    return len(pts) + len({(p.function, p.sf_address) for p in pts if p.sf_address is not None})
