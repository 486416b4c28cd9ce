"""counter_anomaly 电量计数异常: a lifetime energy counter going backwards or rising faster
than nameplate allows (core.counter_anomaly: the one rule the payout run uses too).

Energy for money comes from counters, so finance needs to look at such a station's month.
Claims no income lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.signals import COUNTERS, Condition, Sample
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase
from core.counter_anomaly import BACKWARDS, counter_anomalies

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A counter that jumps or runs backwards."""

    kind: Literal["counter_anomaly"]
    #: a rise above nameplate × time × this factor (+ core.counter_anomaly.SLACK_WH)
    #: is a jump [-]
    jump_factor: float = Field(default=1.5, ge=1)


NAMES = {"zh": "电量计数异常", "en": "energy counter anomaly"}


def condition(
    energy: Sequence[Sample], *, capacity_w: float, jump_factor: float
) -> Condition | None:
    """The newest anomaly of a counter [Wh] in the readings, since the reading that shows
    it; None when there is none (the condition clears once it leaves the window)."""
    found = counter_anomalies([(p.ts_ms, p.value) for p in energy], capacity_w, jump_factor)
    if not found:
        return None
    a = found[-1]
    seen: dict[str, object] = {"anomaly": a.kind, "from_wh": a.from_wh, "to_wh": a.to_wh}
    if a.kind != BACKWARDS and a.max_wh is not None:
        seen["max_wh"] = round(a.max_wh)
    return Condition(a.to_ts_ms, seen)


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per device counter with an anomaly in the recent readings."""
    out = []
    for d in fleet.devices.values():
        if not fleet.applies(rule, d.station):
            continue
        f = snap.fields(d.id)
        for fld in COUNTERS:
            pts = f.get(fld)
            if not pts:
                continue
            cond = condition(pts, capacity_w=d.capacity_kw * 1000, jump_factor=rule.jump_factor)
            if cond is not None:
                out.append(
                    fleet.finding(
                        "counter_anomaly", d.id, cond, rule.for_s, station=d.station, device=d.id
                    )
                )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """Which way the counter went, from what to what."""
    s = alert.seen
    what = s.get("anomaly")
    if lang == "zh":
        w = "倒退" if what == "backwards" else "跳变"
        return f"电量计数{w}: {s.get('from_wh')} → {s.get('to_wh')} Wh"
    return f"energy counter {what}: {s.get('from_wh')} -> {s.get('to_wh')} Wh"
