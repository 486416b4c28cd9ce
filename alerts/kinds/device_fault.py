"""device_fault 设备故障: the device reports a fault status or a non-zero fault code while
it still produces, inside the daylight window.

A stopped device with a fault code is one incident told as no_output (with the code in
what was seen), so under a no_output of the same device this kind only holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from alerts.fleet import PRODUCING_ROLES
from alerts.signals import reported_fault
from alerts.state import Alert, Finding
from alerts.wording import fault_text
from core.config import Config
from core.config.alerts import MarginS, RuleBase

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A fault reported by an inverter or logger."""

    kind: Literal["device_fault"]
    #: opens only inside sunrise + margin .. sunset - margin [s]
    window_margin_s: MarginS = 3600


NAMES = {"zh": "设备故障", "en": "device fault"}
SUPPRESSED_BY = {"no_output": "device", "village_outage": "village"}
LOSS = "stop"


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per producing device reporting a fault (a hold outside the window)."""
    out = []
    lo, hi = snap.window(rule.window_margin_s)
    for d in fleet.devices.values():
        if d.role not in PRODUCING_ROLES or not fleet.applies(rule, d.station):
            continue
        f = snap.fields(d.id)
        cond = reported_fault(f.get("status", []), f.get("fault_code", []))
        if cond is None:
            continue
        hold = not (lo <= snap.now_ms <= hi)
        out.append(
            fleet.finding(
                "device_fault", d.id, cond, rule.for_s, hold=hold, station=d.station, device=d.id
            )
        )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """The status and fault code the device reports."""
    return fault_text(alert.seen, lang == "zh")
