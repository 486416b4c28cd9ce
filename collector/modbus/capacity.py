"""Endpoint capacity: can one connection carry the polls its devices are planned for?

An endpoint (a TCP socket or an RS485 bus) carries one request at a time, so its
devices' polls need sum(poll duration / poll period) of its time. When that
share passes CAPACITY_SHARE the endpoint is overloaded: instead of letting polls
queue and skip at random (a device skipped often enough looks lost), the
schedule is stretched by one factor for every device of the endpoint, and its
devices are polled in turn at an even spacing. The figures are measured, not
assumed: the time each poll held the endpoint, smoothed per device.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

#: share of an endpoint's time the schedule may fill (the rest absorbs jitter, timeouts)
CAPACITY_SHARE = 0.9
#: an overloaded endpoint counts as recovered once its load falls below this share
RECOVER_SHARE = 0.7
#: weight of the newest poll duration in the smoothed figure: a longer poll (a stall
#: of the machine) counts a little, a shorter one a lot, so a figure measured while
#: the machine was busy does not keep an endpoint stretched (and rarely measured)
SMOOTHING_UP = 0.3
SMOOTHING_DOWN = 0.7


def smoothed(prev: float | None, new: float) -> float:
    """Smoothed duration [s]: rises slowly, falls fast; the first measurement as is."""
    if prev is None:
        return new
    return prev + (SMOOTHING_UP if new > prev else SMOOTHING_DOWN) * (new - prev)


def load_share(pairs: Iterable[tuple[float, float]]) -> float:
    """Share of an endpoint's time its polls need: sum of duration [s] / period [s]."""
    return sum(d / p for d, p in pairs if p > 0)


def stretch_factor(share: float, cap: float = CAPACITY_SHARE) -> float:
    """How much longer every poll period must be so the load fits the capacity (>= 1)."""
    return max(1.0, share / cap)


def in_turn(candidates: Sequence[tuple[float | None, str]], k: int) -> list[str]:
    """The k candidates polled longest ago (never polled first): (last poll, id) pairs."""
    ranked = sorted(candidates, key=lambda c: (-1.0 if c[0] is None else c[0], c[1]))
    return [c[1] for c in ranked[: max(k, 0)]]


@dataclass
class EndpointLoad:
    """Load, stretch and poll counts of one endpoint."""

    key: str
    #: smoothed time one poll of each device holds the endpoint [s]
    bus_s: dict[str, float] = field(default_factory=dict)
    #: planned period of each device [wall s] (day interval, night heartbeat, back-off)
    period_s: dict[str, float] = field(default_factory=dict)
    share: float = 0.0
    stretch: float = 1.0
    overloaded: bool = False
    planned: int = 0
    achieved: int = 0
    #: polls owed but not yet given, per interval class (fractions carry over)
    credit: dict[float, float] = field(default_factory=dict)

    def observe(self, device: str, bus_s: float) -> None:
        """Record how long one poll of device held the endpoint [s]."""
        self.bus_s[device] = smoothed(self.bus_s.get(device), bus_s)

    def plan(self, device: str, period_s: float) -> None:
        """Record the period [wall s] the configured schedule wants for device now."""
        self.period_s[device] = period_s

    def mean_bus_s(self) -> float:
        """Mean smoothed poll duration over the devices measured so far [s] (0: none)."""
        return sum(self.bus_s.values()) / len(self.bus_s) if self.bus_s else 0.0

    def update(self) -> str | None:
        """Recompute load and stretch; 'overloaded' or 'recovered' when the state changes."""
        mean = self.mean_bus_s()
        self.share = load_share((self.bus_s.get(d, mean), p) for d, p in self.period_s.items())
        self.stretch = stretch_factor(self.share)
        if not self.overloaded and self.share > CAPACITY_SHARE:
            self.overloaded = True
            return "overloaded"
        if self.overloaded and self.share < RECOVER_SHARE:
            self.overloaded = False
            return "recovered"
        return None

    def take(self, interval_class: float, planned: int) -> int:
        """How many of this cycle's planned polls of one interval class to make now."""
        credit = self.credit.get(interval_class, 0.0) + planned / self.stretch
        k = int(credit)
        self.credit[interval_class] = credit - k
        return k

    def planned_per_min(self) -> float:
        """Polls per wall minute the configured schedule asks of this endpoint."""
        return sum(60 / p for p in self.period_s.values() if p > 0)

    def achievable_per_min(self) -> float:
        """Polls per wall minute the stretched schedule makes (the endpoint can carry)."""
        return self.planned_per_min() / self.stretch
