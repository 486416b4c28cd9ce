"""statement_missing 缺电网结算单 (county server): no grid statement 45 days after a month.

Per station, the months of the last ``months`` without a statement in revenue.db (`pvledger
import-meter`) ``after_days`` after they ended; by default only stations that have had a
statement imported (the others are settled without one). Found by revenue/watch.py,
evaluated once a day.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from alerts.kinds import _revenue
from alerts.state import Alert, Finding
from core.config import Config
from core.config.alerts import RuleBase

if TYPE_CHECKING:
    from alerts.fleet import FleetIndex
    from alerts.snapshot import Snapshot


class Rule(RuleBase):
    """No grid statement for a month after_days after it ended."""

    kind: Literal["statement_missing"]
    #: days after a month's end its statement must be in [d]
    after_days: int = Field(default=45, ge=1, le=366)
    #: months looked back [months]
    months: int = Field(default=12, ge=1, le=60)
    #: only stations with at least one statement imported
    only_stations_with_statements: bool = True


NAMES = {"zh": "缺电网结算单", "en": "grid statement missing"}
COUNTY_ONLY = True


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per station with months past after_days without a statement."""
    return _revenue.findings(snap, fleet, rule)


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """Which months have no statement, and after how many days."""
    s = alert.seen
    months = ", ".join(s.get("months", []))
    if lang == "zh":
        return f"{months} 月末后 {s.get('after_days')} 天仍无电网结算单"
    return f"no grid statement for {months}, {s.get('after_days')} days after month end"
