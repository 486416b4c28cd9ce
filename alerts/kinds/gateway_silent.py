"""gateway_silent 网关失联 (county server): no reading from any device of a gateway.

Counted like comm_lost (daylight silence by default), or, on the gateway's own word,
from the moment its MQTT status topic turned offline (its last will) when no reading
came since (day or night); the comm_lost, no_output and village_outage findings of its
devices are held under it. A gateway cannot see its own
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


def offline_condition(status: tuple[str, int] | None, last_good_ms: int | None) -> Condition | None:
    """The gateway's own word: its status topic says offline (its last will, published by
    the broker when the gateway vanished, or a clean stop) and no reading came since.

    That is evidence at any hour, so it counts day and night, from the moment the county
    heard it; a reading newer than it means the gateway is back (or only its MQTT link
    is down), and the silence rule decides.
    """
    if status is None or status[0] != "offline":
        return None
    since = status[1]
    if last_good_ms is not None and last_good_ms >= since:
        return None
    return Condition(since, {"last_reading_ms": last_good_ms, "status": "offline"})


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per gateway none of whose devices sends (the fleet-wide rule only)."""
    if not fleet.applies(rule):
        return []
    out = []
    for gw, devs in fleet.gateway_devices.items():
        lasts = [snap.last_good_ms[d] for d in devs if d in snap.last_good_ms]
        last = max(lasts) if lasts else None
        cond = offline_condition(snap.gateway_status.get(gw), last)
        hold = False
        if cond is None:
            grace = silence_grace_s(max(fleet.devices[d].interval_s for d in devs))
            cond, hold = daylight_silence(
                last,
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
    if alert.seen.get("status") == "offline":
        extra += ",网关状态: 离线" if lang == "zh" else ", gateway status: offline"
    return silence_text(alert, lang, now_ms, config, extra)
