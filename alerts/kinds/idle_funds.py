"""idle_funds 村集体资金闲置 (county server): undistributed money sits in a village too long.

A village's jobs-pool balance (the public-welfare post money its final runs carry
forward) above ``above_yuan`` for more than ``days`` days: money for the poor that is
not being paid out. Found by revenue/watch.py, evaluated once a day.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.kinds import _revenue
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase
from core.config.types import DecimalStr

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """A village balance above above_yuan for more than days."""

    kind: Literal["idle_funds"]
    #: balance above which money counts as idle [yuan]
    above_yuan: DecimalStr = Decimal("10000.00")
    #: how long it may stay above [d]
    days: int = Field(default=90, ge=1, le=3650)


NAMES = {"zh": "村集体资金闲置", "en": "village funds idle"}
COUNTY_ONLY = True


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per village whose balance stayed above the amount too long."""
    return _revenue.findings(snap, fleet, rule)


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """The balance, the limit, and since when."""
    s = alert.seen
    bal, lim = s.get("balance_fen", 0) / 100, s.get("above_fen", 0) / 100
    if lang == "zh":
        return f"结余 {bal:,.2f} 元,自 {s.get('since')} 起超过 {lim:,.2f} 元已 {s.get('days')} 天"
    since, days = s.get("since"), s.get("days")
    return f"balance {bal:,.2f} yuan, above {lim:,.2f} since {since} ({days} days)"
