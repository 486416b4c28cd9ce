"""gateway_silent 网关失联 (county server): no reading from any device of a gateway.

Counted like comm_lost (daylight silence by default); the comm_lost, no_output and
village_outage findings of its devices are held under it. A gateway cannot see its own
silence, so only `alerts watch` on the county server evaluates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from alerts.signals import Condition, daylight_silence, silence_grace_s
from alerts.state import Alert, Finding
from alerts.wording import silence_text
from core.config import Config
from core.config.alerts import MarginS, RuleBase

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """Silence of every device of a gateway (fleet-wide rule only)."""

    kind: Literal["gateway_silent"]
    #: count silence only while the sun is up
    daylight_only: bool = True
    #: with daylight_only, silence counts from sunrise + margin until sunset [s]
    window_margin_s: MarginS = 3600


NAMES = {"zh": "网关失联", "en": "gateway silent"}
COUNTY_ONLY = True


def lookback_s(rule: Rule) -> float:
    """Its silence must be seen for for_s, with half an hour to spare [s]."""
    return rule.for_s + 1800


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per gateway none of whose devices sends (the fleet-wide rule only)."""
    if not fleet.applies(rule):
        return []
    out = []
    for gw, devs in fleet.gateway_devices.items():
        lasts = [snap.last_good_ms[d] for d in devs if d in snap.last_good_ms]
        grace = silence_grace_s(max(fleet.devices[d].interval_s for d in devs))
        cond, hold = daylight_silence(
            max(lasts) if lasts else None,
            snap.now_ms,
            grace,
            sun=snap.sun,
            daylight_only=rule.daylight_only,
            margin_s=rule.window_margin_s,
        )
        if cond is not None:
            seen = {**cond.seen, "devices": len(devs)}
            cond = Condition(cond.since_ms, seen)
            out.append(fleet.finding("gateway_silent", gw, cond, rule.for_s, hold=hold, gateway=gw))
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """When the gateway's last reading came, how long nothing has, how many devices."""
    n = alert.seen.get("devices", "?")
    extra = f"({n} 台设备)" if lang == "zh" else f" ({n} devices)"
    return silence_text(alert, lang, now_ms, config, extra)
