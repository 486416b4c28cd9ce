"""meter_mismatch 电表与逆变器电量不符 (county server): a month's kWh disagree by > ±5 %.

The station's inverter counter against its export meter over one whole month, for the
last ``months`` months; found by revenue/watch.py (through alerts/kinds/_revenue.py),
evaluated once a day. A persistent gap means a meter, a counter or a wiring fault that
the payout's energy (meter first) may be built on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.kinds import _revenue
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase, Share

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """Meter vs inverter kWh of a month outside ±tolerance_percent."""

    kind: Literal["meter_mismatch"]
    #: allowed difference of the inverter's kWh from the meter's, either way [%]
    tolerance_percent: Share = Decimal("5")
    #: whole months looked at, the last one first [months]
    months: int = Field(default=3, ge=1, le=24)


NAMES = {"zh": "电表与逆变器电量不符", "en": "meter and inverter disagree"}
COUNTY_ONLY = True


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per station and month outside the tolerance."""
    return _revenue.findings(snap, fleet, rule)


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """The month, both counters' kWh and the difference."""
    s = alert.seen
    meter, inv = s.get("meter_wh", 0) / 1000, s.get("inverter_wh", 0) / 1000
    if lang == "zh":
        return (
            f"{s.get('month')} 关口表 {meter:,.1f} kWh,逆变器 {inv:,.1f} kWh,"
            f"相差 {s.get('percent')}%(允许 ±{s.get('tolerance_percent')}%)"
        )
    return (
        f"{s.get('month')}: meter {meter:,.1f} kWh, inverter {inv:,.1f} kWh, "
        f"{s.get('percent')} % apart (allowed ±{s.get('tolerance_percent')} %)"
    )
