"""The receivables section: when each tariff component's money is due (settlement cycles).

```yaml
receivables:
  cycles:                       # per tariff component name; these two are the defaults
    coal_benchmark: {cycle: quarterly, due_months: 1}
    national_subsidy: {cycle: annual, due_months: 3}
```

Money for a period is due on the last day of the ``due_months``-th month after the end of
the monthly / quarterly / annual settlement period containing it. The defaults follow
国开办发〔2017〕61号 Art. 4: the coal part is passed to the village quarterly (here: by the
end of the month after the quarter), the subsidy "before Q1 of the next year" (31 March).
A component named neither here nor in the defaults is due by its tariff's own ``cycle``
with DEFAULT_DUE_MONTHS.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from core.config.types import Section

CycleName = Literal["monthly", "quarterly", "annual"]

#: months after the end of its settlement period money is due, when not configured
DEFAULT_DUE_MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 1, "annual": 3}


class CycleRule(Section):
    """One component's settlement cycle."""

    cycle: CycleName
    due_months: int = Field(ge=0, le=120)


#: the shipped rules (module docstring); a config entry of the same name replaces one
DEFAULT_CYCLES: dict[str, CycleRule] = {
    "coal_benchmark": CycleRule(cycle="quarterly", due_months=1),
    "national_subsidy": CycleRule(cycle="annual", due_months=3),
}


class Receivables(Section):
    """The receivables section (see the module docstring)."""

    cycles: dict[str, CycleRule] = Field(default_factory=dict)

    def rule_for(self, component: str, tariff_cycle: str) -> CycleRule:
        """The cycle of a component: configured, else shipped default, else its tariff's."""
        got = self.cycles.get(component) or DEFAULT_CYCLES.get(component)
        if got is not None:
            return got
        return CycleRule(cycle=tariff_cycle, due_months=DEFAULT_DUE_MONTHS[tariff_cycle])  # type: ignore[arg-type]
