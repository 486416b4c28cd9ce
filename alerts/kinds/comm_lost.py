"""comm_lost 通讯中断: a device sends no good reading (a Modbus device: its requests fail).

Counts only daylight silence by default (loggers and inverters sleep at night); an open
alert is held overnight. Claims no income lost: generation may well continue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.signals import daylight_silence, silence_grace_s
from alerts.state import Alert, Finding
from alerts.wording import silence_text
from core.config import Config
from core.config.alerts import MarginS, RuleBase

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """Silence of one device."""

    kind: Literal["comm_lost"]
    #: wait at least this many poll intervals of the device (slow pollers) [-]
    poll_multiple: float = Field(default=3, ge=1)
    #: count silence only while the sun is up (loggers and inverters sleep at night, and
    #: a night-time polling plan polls rarely)
    daylight_only: bool = True
    #: with daylight_only, silence counts from sunrise + margin until sunset [s]
    window_margin_s: MarginS = 3600


NAMES = {"zh": "通讯中断", "en": "communication lost"}
SUPPRESSED_BY = {"gateway_silent": "gateway", "village_outage": "village"}


def lookback_s(rule: Rule) -> float:
    """Its silence must be seen for for_s, with half an hour to spare [s]."""
    return rule.for_s + 1800


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per silent device the rule applies to (a hold outside daylight)."""
    out = []
    for d in fleet.devices.values():
        if not fleet.applies(rule, d.station):
            continue
        cond, hold = daylight_silence(
            snap.last_good_ms.get(d.id),
            snap.now_ms,
            silence_grace_s(d.interval_s),
            sun=snap.sun,
            daylight_only=rule.daylight_only,
            margin_s=rule.window_margin_s,
            floor_ms=snap.floor_ms,
            polled=d.polled,
            failed_ms=snap.failed_ms.get(d.id, ()),
        )
        if cond is not None:
            for_s = max(rule.for_s, rule.poll_multiple * d.interval_s)
            out.append(
                fleet.finding(
                    "comm_lost", d.id, cond, for_s, hold=hold, station=d.station, device=d.id
                )
            )
    return out


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """When the last reading came and how long nothing has."""
    return silence_text(alert, lang, now_ms, config)
