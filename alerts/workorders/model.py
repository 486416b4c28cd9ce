"""A work order and its state machine: pure functions over immutable records.

    open -> assigned -> on_site -> repaired -> verified
                 ^          |          |
                 +----------+----------+--> reopened (the data contradicts "repaired")

A transition returns the new record and the event that records it; one that the state
does not allow raises Refused, naming the states it is allowed from. Escalation is an
event that raises the contact level; it does not change the state.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

STATES = ("open", "assigned", "on_site", "repaired", "verified", "reopened")
#: states in which the fault is still there (the deadline clock runs, escalation applies)
ACTIVE = ("open", "assigned", "on_site", "reopened")
#: action -> the states it may start from
ALLOWED: dict[str, tuple[str, ...]] = {
    "assign": ("open", "assigned", "on_site", "reopened"),
    "onsite": ("assigned", "reopened"),
    "repaired": ("open", "assigned", "on_site", "reopened"),
    "verified": ("repaired",),
    "reopened": ("repaired",),
}
#: action -> the state it leads to
TARGET = {
    "assign": "assigned",
    "onsite": "on_site",
    "repaired": "repaired",
    "verified": "verified",
    "reopened": "reopened",
}


class Refused(ValueError):
    """A transition the order's state does not allow."""


@dataclass(frozen=True)
class WorkOrder:
    """One work order as stored (times UTC [ms], energy [Wh], money [fen])."""

    id: int
    kind: str
    station: str | None
    village: str | None
    alert_id: int | None
    opened_ms: int
    opened_by: str
    fault_start_ms: int
    state: str = "open"
    assignee: str | None = None
    level: int = 0
    onsite_ms: int | None = None
    repaired_ms: int | None = None
    repaired_by: str | None = None
    repair_note: str | None = None
    verified_ms: int | None = None
    #: where the normal production that verified the repair began (the loss ends here)
    restored_ms: int | None = None
    reopened_count: int = 0
    lost_wh: int | None = None
    lost_fen: int | None = None
    updated_ms: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict (JSON output, the web pages)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def subject(self) -> str:
        """What the order is about: its station, else its village."""
        return self.station or self.village or "?"


@dataclass(frozen=True)
class OrderEvent:
    """One entry of an order's append-only history."""

    order_id: int
    ts_ms: int
    event: str
    actor: str
    detail: dict[str, Any]


def _check(order: WorkOrder, action: str) -> None:
    if order.state not in ALLOWED[action]:
        raise Refused(
            f"work order #{order.id} is {order.state}: '{action}' is allowed only from "
            f"{', '.join(ALLOWED[action])}"
        )


def transition(
    order: WorkOrder, action: str, *, now_ms: int, actor: str, **detail: Any
) -> tuple[WorkOrder, OrderEvent]:
    """The order after one action, and its history entry; Refused when not allowed.

    detail: assign -> who; repaired -> note (the actor is the person who repaired).
    """
    _check(order, action)
    changes: dict[str, Any] = {"state": TARGET[action], "updated_ms": now_ms}
    if action == "assign":
        who = detail.get("who")
        if not who:
            raise Refused("assign needs the person or contractor it goes to")
        changes["assignee"] = who
    elif action == "onsite":
        changes["onsite_ms"] = now_ms
    elif action == "repaired":
        note = (detail.get("note") or "").strip()
        if not note:
            raise Refused("repaired needs a note: what was found and done")
        changes.update(repaired_ms=now_ms, repaired_by=actor, repair_note=note)
    elif action == "verified":
        changes["verified_ms"] = now_ms
        changes["restored_ms"] = detail.get("restored_ms", now_ms)
    elif action == "reopened":
        changes["reopened_count"] = order.reopened_count + 1
    return replace(order, **changes), OrderEvent(order.id, now_ms, action, actor, dict(detail))


def escalate(
    order: WorkOrder, level: int, *, now_ms: int, **detail: Any
) -> tuple[WorkOrder, OrderEvent]:
    """The order raised to contact level `level` (> its own), and the history entry."""
    if order.state not in ACTIVE:
        raise Refused(f"work order #{order.id} is {order.state}: nothing to escalate")
    if level <= order.level:
        raise Refused(f"work order #{order.id} is already at level {order.level}")
    new = replace(order, level=level, updated_ms=now_ms)
    return new, OrderEvent(order.id, now_ms, "escalated", "deadline", {"level": level, **detail})
