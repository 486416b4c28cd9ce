"""The `om:` section: work orders, their deadlines, the O&M registry and the caretaker log.

```yaml
om:
  db_path: data/workorders.db
  open_on: {no_output: 0, device_fault: 0, village_outage: 0, comm_lost: 7200}
  deadline_h: {no_output: 48, device_fault: 48, village_outage: 24, comm_lost: 72, manual: 72}
  working_hours: {start: "08:00", end: "18:00", days: [1, 2, 3, 4, 5]}
  verify_daylight_min: 60
  people:
    - {id: ct-jx, name: 吉祥运维, role: contractor, villages: [v1, v2]}
    - {id: hh-care-1, name: 王师傅, role: caretaker, stations: [s-hh-0001]}
```

``open_on``: alert kind -> seconds it must have been firing before a work order opens
(comm_lost "longer than a configured time"); a kind not named opens none. ``deadline_h``:
repair deadline per fault class (the alert kind, or ``manual``) in hours of the
deadline clock, which runs only inside ``working_hours`` when they are given. A work
order past its deadline escalates one contact level (alerts.contacts ``level``) every
``escalate_every_h`` further hours, up to the highest level configured.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, model_validator

from core.config.types import Identifier, PercentStr, Section

_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

#: the alert kinds that open a work order by default, and how long they must fire [s]
DEFAULT_OPEN_ON: dict[str, float] = {
    "no_output": 0,
    "device_fault": 0,
    "village_outage": 0,
    "comm_lost": 7200,
}
#: repair deadlines per fault class [h] (no national rule: DOMAIN.md, set per contract)
DEFAULT_DEADLINE_H: dict[str, float] = {
    "no_output": 48,
    "device_fault": 48,
    "village_outage": 24,
    "comm_lost": 72,
    "manual": 72,
}


class WorkingHours(Section):
    """When the deadline clock runs: site-local hours on some ISO weekdays (1 = Monday)."""

    start: Annotated[str, Field(pattern=_HHMM)] = "08:00"
    end: Annotated[str, Field(pattern=_HHMM)] = "18:00"
    days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], min_length=1
    )
    #: public holidays: the clock does not run on these dates
    holidays: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _start_before_end(self) -> WorkingHours:
        if self.start >= self.end:
            raise ValueError(
                f"working_hours start {self.start} must be before end {self.end} "
                '(a window within one day, e.g. start: "08:00", end: "18:00")'
            )
        return self


class Person(Section):
    """A contractor (运维单位), caretaker (管护员) or staff member work orders go to."""

    id: Identifier
    name: str = Field(min_length=1)
    role: Literal["contractor", "caretaker", "staff"]
    phone: str = ""
    #: the stations and villages this person looks after (None: none named)
    stations: list[Identifier] | None = None
    villages: list[Identifier] | None = None
    #: the contractor a caretaker works for (appraisal counts the caretaker's orders there)
    contractor: Identifier | None = None


class Om(Section):
    """The om section (see the module docstring)."""

    #: work orders and the caretaker log (SQLite), relative to config.yaml
    db_path: str = "data/workorders.db"
    open_on: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_OPEN_ON)
    )
    deadline_h: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: dict(DEFAULT_DEADLINE_H)
    )
    #: None: the deadline clock runs around the clock
    working_hours: WorkingHours | None = None
    #: after the deadline, one more contact level every this many deadline-clock hours
    escalate_every_h: float = Field(default=24, gt=0)
    #: daylight minutes of normal production after "repaired" that verify the repair
    verify_daylight_min: float = Field(default=60, gt=0)
    #: daylight minutes of no or low production after "repaired" that reopen the order
    reopen_daylight_min: float = Field(default=60, gt=0)
    #: "normal": the station's output / clear sky at least this share of its peers' [%]
    normal_share_of_peers: PercentStr = Field(default="60")  # type: ignore[assignment]
    #: a bin is daylight when clear sky gives at least this per kWp [W/kWp]
    daylight_w_per_kwp: float = Field(default=100, gt=0, le=1000)
    #: time bins of verification, lost energy and availability [s]
    bin_s: int = Field(default=300, ge=60, le=3600)
    #: a station with no inspection in this many days is reported
    inspection_every_days: int = Field(default=30, ge=1, le=366)
    people: list[Person] = Field(default_factory=list)

    @model_validator(mode="after")
    def _people_unique(self) -> Om:
        ids = [p.id for p in self.people]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"om.people ids {dup} repeat; give each person their own id")
        contractors = {p.id for p in self.people if p.role == "contractor"}
        for p in self.people:
            if p.contractor is not None and p.contractor not in contractors:
                raise ValueError(
                    f"om.people {p.id}: contractor {p.contractor!r} is not a person with "
                    f"role contractor (contractors: {sorted(contractors) or 'none'})"
                )
        if "manual" not in self.deadline_h:
            raise ValueError("om.deadline_h needs a 'manual' entry (orders opened by hand)")
        missing = sorted(k for k in self.open_on if k not in self.deadline_h)
        if missing:
            raise ValueError(
                f"om.open_on opens work orders for {missing} but om.deadline_h gives them "
                "no deadline; add them to deadline_h"
            )
        return self

    def person(self, person_id: str) -> Person | None:
        """A person of the registry by id."""
        return next((p for p in self.people if p.id == person_id), None)


def om_problems(
    om: Om, station_ids: set[str], village_ids: set[str]
) -> list[tuple[tuple[str | int, ...], str, str]]:
    """(key path, message, fix) for registry entries naming unknown stations or villages,
    and a db_path that is not a plain relative or absolute path."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    for i, p in enumerate(om.people):
        for s in p.stations or ():
            if s not in station_ids:
                out.append(
                    (("om", "people", i, "stations"), f"unknown station {s!r}", "use a station id")
                )
        for v in p.villages or ():
            if v not in village_ids:
                out.append(
                    (("om", "people", i, "villages"), f"unknown village {v!r}", "use a village id")
                )
    return out
