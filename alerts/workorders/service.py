"""What staff do with work orders and the caretaker log, for the CLI and the web pages.

Each function takes the config, the time (the caller's clock: the simulated one in demos
and tests) and plain values; bad input raises core.problems.BadInput naming the argument
and the fix, and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from alerts.fleet import FleetIndex
from alerts.workorders import evidence
from alerts.workorders.loop import busy_stations, order_due_ms
from alerts.workorders.model import Refused, WorkOrder, transition
from alerts.workorders.store import WorkOrderDb
from core.config import Config
from core.problems import BadInput, Problem
from core.store.base import Store


def _bad(where: str, message: str, fix: str) -> BadInput:
    return BadInput([Problem(where, message, fix)], what="arguments")


def open_db(config: Config) -> WorkOrderDb:
    """The config's work order file."""
    return WorkOrderDb(config.resolve(config.om.db_path))


def get_order(db: WorkOrderDb, order_id: int) -> WorkOrder:
    """One order; BadInput for an unknown id."""
    o = db.get(order_id)
    if o is None:
        raise _bad("ID", f"no work order #{order_id}", "list them with `pvledger workorders`")
    return o


def open_manual(
    config: Config,
    db: WorkOrderDb,
    *,
    station: str,
    kind: str,
    now_ms: int,
    by: str,
    note: str = "",
) -> WorkOrder:
    """Open an order by hand (a fault staff saw; the fault starts now)."""
    st = config.station_by_id.get(station)
    if st is None:
        raise _bad("--station", f"unknown station {station!r}", "use a station id from config.yaml")
    if kind not in config.om.deadline_h:
        raise _bad(
            "--kind",
            f"{kind!r} has no repair deadline",
            f"use one of {', '.join(sorted(config.om.deadline_h))} (om.deadline_h)",
        )
    existing = db.active_for(station, None)
    if existing is not None:
        raise _bad(
            "--station",
            f"{station} already has work order #{existing.id} ({existing.state})",
            f"see `pvledger workorders show {existing.id}`",
        )
    return db.open_order(
        kind=kind,
        station=station,
        village=st.village,
        fault_start_ms=now_ms,
        now_ms=now_ms,
        opened_by=by,
        detail={"note": note} if note else {},
    )


def act(
    config: Config,
    db: WorkOrderDb,
    order_id: int,
    action: str,
    *,
    now_ms: int,
    actor: str,
    **detail: Any,
) -> WorkOrder:
    """assign / onsite / repaired an order; BadInput when the person is unknown or the
    state does not allow it."""
    o = get_order(db, order_id)
    if action == "assign" and config.om.person(detail.get("who") or "") is None:
        known = ", ".join(p.id for p in config.om.people) or "none (add them under om.people)"
        raise _bad(
            "WHO", f"{detail.get('who')!r} is not in the O&M registry", f"use one of {known}"
        )
    if action == "repaired" and actor == "staff" and o.assignee:
        actor = o.assignee
    try:
        new, ev = transition(o, action, now_ms=now_ms, actor=actor, **detail)
    except Refused as exc:
        raise _bad("ID", str(exc), "see `pvledger workorders show ID` for its state") from None
    return db.save(new, ev)


def described(
    config: Config, db: WorkOrderDb, order: WorkOrder, store: Store | None, now_ms: int
) -> dict[str, Any]:
    """An order with its deadline, alerts, history and lost energy/income (stored for a
    verified order, estimated up to now otherwise)."""
    d = order.as_dict()
    d["due_ms"] = order_due_ms(config, order)
    d["overdue"] = order.state not in ("repaired", "verified") and now_ms > d["due_ms"]
    d["alerts"] = db.alert_ids(order.id)
    d["history"] = [
        {"ts_ms": h.ts_ms, "event": h.event, "actor": h.actor, "detail": h.detail}
        for h in db.history(order.id)
    ]
    d["lost_estimated"] = False
    if order.lost_wh is None and store is not None:
        busy = busy_stations(db, order, order.fault_start_ms, now_ms)
        wh, fen = evidence.estimate(store, FleetIndex(config), order, now_ms, exclude=busy)
        d.update(lost_wh=wh, lost_fen=fen, lost_estimated=True)
    return d


# -- caretaker log (管护台账) ---------------------------------------------------------------
def add_inspection(
    config: Config,
    db: WorkOrderDb,
    *,
    station: str,
    person: str,
    what: str,
    day: dt.date,
    photo: str | None,
    now_ms: int,
) -> int:
    """Record an inspection or cleaning; BadInput for an unknown station or person."""
    if station not in config.station_by_id:
        raise _bad("--station", f"unknown station {station!r}", "use a station id from config.yaml")
    if config.om.person(person) is None:
        known = ", ".join(p.id for p in config.om.people) or "none (add them under om.people)"
        raise _bad("--person", f"{person!r} is not in the O&M registry", f"use one of {known}")
    if not what.strip():
        raise _bad("--what", "empty", "say what was done, e.g. 'cleaned panels, checked cables'")
    return db.add_inspection(
        station=station,
        day=day.isoformat(),
        person=person,
        what=what.strip(),
        photo=photo,
        now_ms=now_ms,
    )


def overdue_inspections(config: Config, db: WorkOrderDb, today: dt.date) -> list[dict[str, Any]]:
    """Stations with no inspection in om.inspection_every_days (or none at all), with
    the date of their last one and the days since."""
    last = db.last_inspection_days()
    limit = config.om.inspection_every_days
    out = []
    for st in config.stations:
        day = last.get(st.id)
        since = None if day is None else (today - dt.date.fromisoformat(day)).days
        if since is None or since > limit:
            out.append(
                {
                    "station": st.id,
                    "village": st.village,
                    "last_inspection": day,
                    "days_since": since,
                }
            )
    return out
