"""receivable_overdue 应收款逾期 (county server): money owed past its due date by > N days.

Per station and tariff component, the periods a final run accrued that are still
outstanding more than the component's days after their due date (its settlement cycle,
revenue/receivables.py): ``coal_benchmark_days``, ``national_subsidy_days``, and ``days``
for any other component.
Found by revenue/watch.py, evaluated once a day.
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
    """A receivable past its due date by more than its component's days."""

    kind: Literal["receivable_overdue"]
    #: days past due of the coal-benchmark part (paid quarterly by the grid) [d]
    coal_benchmark_days: int = Field(default=30, ge=0, le=3650)
    #: days past due of the national subsidy (it runs late for years, DOMAIN.md) [d]
    national_subsidy_days: int = Field(default=365, ge=0, le=3650)
    #: days past due of any other tariff component [d]
    days: int = Field(default=90, ge=0, le=3650)

    def days_by_component(self) -> dict[str, int]:
        """The components with days of their own."""
        return {
            "coal_benchmark": self.coal_benchmark_days,
            "national_subsidy": self.national_subsidy_days,
        }


NAMES = {"zh": "应收款逾期", "en": "receivable overdue"}
COUNTY_ONLY = True


def evaluate(snap: Snapshot, fleet: FleetIndex, rule: Rule) -> list[Finding]:
    """A finding per station and component with money overdue beyond its days."""
    return _revenue.findings(snap, fleet, rule)


def observed(alert: Alert, lang: str, now_ms: int, config: Config) -> str:
    """What is outstanding, for which periods, how long past due."""
    s = alert.seen
    yuan = f"{s.get('outstanding_fen', 0) / 100:,.2f}"
    periods = ", ".join(s.get("periods", []))
    if lang == "zh":
        return (
            f"{s.get('component')} 欠款 {yuan} 元({periods}),"
            f"已逾期 {s.get('days_past_due')} 天(限 {s.get('limit_days')} 天)"
        )
    return (
        f"{s.get('component')}: {yuan} yuan outstanding ({periods}), "
        f"{s.get('days_past_due')} days past due (limit {s.get('limit_days')})"
    )
