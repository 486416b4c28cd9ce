"""The demo's work order: the injected stop's alert opens one (in the collector's alert
component), the demo restores the station through the simulator's control interface and
marks the order repaired as the caretaker would, and the data verifies the repair; the
order's lost energy and income are shown. Read from the work order file the collector
writes (never from the broker, whose events the live phase already consumes)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from subprocess import Popen
from typing import Any

from alerts.income import yuan
from alerts.workorders.model import WorkOrder
from alerts.workorders.service import act, open_db
from core.config import Config
from simulator.control import control


class WorkOrderMissing(RuntimeError):
    """The stop's work order did not open or was not verified in time."""


def _wait(
    config: Config, station: str, ok: Callable[[WorkOrder], bool], until: float, coll: Popen
) -> WorkOrder:
    while time.monotonic() < until:
        if coll.poll() is not None:
            raise WorkOrderMissing(f"collector exited with {coll.returncode}")
        db = open_db(config)
        try:
            found = [o for o in db.orders(station=station) if ok(o)]
        finally:
            db.close()
        if found:
            return found[-1]
        time.sleep(0.5)
    raise WorkOrderMissing(f"no work order of {station} in the expected state in time")


def follow_work_order(
    config: Config,
    ctl_port: int,
    fault: dict[str, Any],
    coll: Popen,
    station: str,
    say: Callable[[str], None],
    *,
    wait_s: float = 120.0,
) -> WorkOrder:
    """Wait for the stop's order, restore the station, mark it repaired, wait for the
    data to verify it; returns the verified order (with its lost energy and income)."""
    tz = config.site.tz

    def hhmm(ms: int | None) -> str:
        return "-" if ms is None else f"{dt.datetime.fromtimestamp(ms / 1000, tz):%H:%M}"

    order = _wait(config, station, lambda o: True, time.monotonic() + wait_s, coll)
    say(
        f"  work order   #{order.id} {order.kind} {station} opened at simulated "
        f"{hhmm(order.opened_ms)}"
    )
    control(ctl_port, "DELETE", f"/faults/{fault['id']}")
    now = int(control(ctl_port, "GET", "/clock")["now_ms"])
    care = next(
        (
            p.id
            for p in config.om.people
            if p.role == "caretaker"
            and p.villages
            and config.station_by_id[station].village in p.villages
        ),
        None,
    )
    db = open_db(config)
    try:
        if care is not None:
            act(config, db, order.id, "assign", now_ms=now, actor="demo", who=care)
        act(
            config,
            db,
            order.id,
            "repaired",
            now_ms=now,
            actor=care or "demo",
            note="inverter restarted, breaker reset (demo)",
        )
    finally:
        db.close()
    say(f"  repaired     station restored, #{order.id} marked repaired at simulated {hhmm(now)}")
    done = _wait(
        config,
        station,
        lambda o: o.id == order.id and o.state == "verified",
        time.monotonic() + wait_s,
        coll,
    )
    kwh = (done.lost_wh or 0) / 1000
    say(
        f"  verified     #{done.id} by the data at simulated {hhmm(done.verified_ms)}: "
        f"lost {kwh:.2f} kWh, {yuan(done.lost_fen or 0)} yuan"
    )
    return done
