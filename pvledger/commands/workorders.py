"""`pvledger workorders`: list and show work orders, open, assign, on site, repaired;
the caretaker log (管护台账) and stations overdue for an inspection (docs/om.md).

pvledger workorders [list] [--state S] [--station S] [--format table|json]
pvledger workorders show ID [--format table|json]
pvledger workorders open --station S --kind K [--by NAME] [--note TEXT]
pvledger workorders assign ID WHO | onsite ID | repaired ID --note TEXT [--by WHO]
pvledger workorders caretaker-log add --station S --person P --what TEXT [--date D] [--photo F]
pvledger workorders caretaker-log list [--station S] [--person P] [--format table|json]
pvledger workorders overdue-inspections [--date D] [--format table|json]

Times are the wall clock's unless --at T (site-local ISO) or --sim-clock FILE (the
simulator's clock anchor, as `collect --sim-clock`) is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.clock import Clock, ScaledClock
from core.problems import BadInput, Problem
from pvledger.commands.common import config_from

if TYPE_CHECKING:
    from core.config import Config


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand and its actions."""
    p = sub.add_parser(
        "workorders",
        help="work orders: list, show, open, assign, onsite, repaired; caretaker log",
        description="Work orders opened by alerts (om.open_on) or by hand, their deadlines, "
        "escalation and the repair the data verifies; the caretaker log (管护台账).",
    )
    _clock_args(p)
    _list_args(p)
    p.set_defaults(func=run_list)
    acts = p.add_subparsers(dest="action", metavar="ACTION")
    ls = acts.add_parser("list", help="work orders, oldest first")
    _clock_args(ls)
    _list_args(ls)
    ls.set_defaults(func=run_list)
    sh = acts.add_parser("show", help="one work order with its history and lost income")
    sh.add_argument("id", type=int, metavar="ID")
    sh.add_argument("--format", choices=("table", "json"), default="table")
    _clock_args(sh)
    sh.set_defaults(func=run_show)
    op = acts.add_parser("open", help="open a work order by hand")
    op.add_argument("--station", required=True)
    op.add_argument("--kind", default="manual", help="fault class (a key of om.deadline_h)")
    op.add_argument("--by", default="staff", help="who opens it")
    op.add_argument("--note", default="")
    _clock_args(op)
    op.set_defaults(func=run_open)
    a = acts.add_parser("assign", help="assign to a contractor or caretaker (om.people)")
    a.add_argument("id", type=int, metavar="ID")
    a.add_argument("who", metavar="WHO")
    _clock_args(a)
    a.set_defaults(func=run_act, act="assign")
    o = acts.add_parser("onsite", help="the person is at the station")
    o.add_argument("id", type=int, metavar="ID")
    o.add_argument("--by", default="staff")
    _clock_args(o)
    o.set_defaults(func=run_act, act="onsite")
    r = acts.add_parser("repaired", help="mark repaired (the data then verifies or reopens it)")
    r.add_argument("id", type=int, metavar="ID")
    r.add_argument("--note", required=True, help="what was found and done")
    r.add_argument("--by", default="staff", help="who repaired it (default: the assignee)")
    _clock_args(r)
    r.set_defaults(func=run_act, act="repaired")
    log = acts.add_parser("caretaker-log", help="inspections and cleanings per station (管护台账)")
    la = log.add_subparsers(dest="log_action", metavar="ACTION", required=True)
    add = la.add_parser("add", help="record an inspection or cleaning")
    add.add_argument("--station", required=True)
    add.add_argument("--person", required=True, help="a caretaker of om.people")
    add.add_argument("--what", required=True, help="what was done")
    add.add_argument("--date", help="YYYY-MM-DD (default today, site-local)")
    add.add_argument("--photo", help="path of a photo, kept as given")
    _clock_args(add)
    add.set_defaults(func=run_log_add)
    lst = la.add_parser("list", help="the log, per station or per caretaker")
    lst.add_argument("--station")
    lst.add_argument("--person")
    lst.add_argument("--format", choices=("table", "json"), default="table")
    lst.set_defaults(func=run_log_list)
    ov = acts.add_parser(
        "overdue-inspections", help="stations without an inspection in om.inspection_every_days"
    )
    ov.add_argument("--date", help="YYYY-MM-DD (default today, site-local)")
    ov.add_argument("--format", choices=("table", "json"), default="table")
    _clock_args(ov)
    ov.set_defaults(func=run_overdue)


def _clock_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--at", metavar="T", default=argparse.SUPPRESS, help="act at site-local time T")
    p.add_argument("--sim-clock", metavar="FILE", default=argparse.SUPPRESS)


def _list_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", default=argparse.SUPPRESS, help="only orders in this state")
    p.add_argument("--station", default=argparse.SUPPRESS)
    p.add_argument("--format", choices=("table", "json"), default=argparse.SUPPRESS)


def now_ms(args: argparse.Namespace, config: Config) -> int:
    """The time of an action: --at, else the simulator's clock, else the wall clock."""
    at = getattr(args, "at", None)
    if at:
        try:
            t = dt.datetime.fromisoformat(at)
        except ValueError:
            raise BadInput(
                [Problem("--at", f"cannot read {at!r}", "write 2018-07-10T14:30")], what="arguments"
            ) from None
        if t.tzinfo is None:
            t = t.replace(tzinfo=config.site.tz)
        return int(t.timestamp() * 1000)
    sim = getattr(args, "sim_clock", None)
    clock = ScaledClock.load(Path(sim)) if sim else Clock()
    return clock.now_ms()


def _day(text: str | None, config: Config, at_ms: int) -> dt.date:
    if not text:
        return dt.datetime.fromtimestamp(at_ms / 1000, config.site.tz).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(
            [Problem("--date", f"cannot read {text!r}", "write YYYY-MM-DD")], what="arguments"
        ) from None


def _t(config: Config, ms: int | None) -> str:
    from alerts.wording import local_time

    return local_time(ms, config) if ms else "-"


def _yuan(fen: int | None) -> str:
    from alerts.income import yuan

    return "-" if fen is None else yuan(fen)


def run_list(args: argparse.Namespace) -> int:
    """Print work orders as a table or JSON."""
    from alerts.workorders.model import STATES
    from alerts.workorders.service import open_db

    config = config_from(args)
    state = getattr(args, "state", None)
    if state is not None and state not in STATES:
        raise BadInput(
            [Problem("--state", f"unknown state {state!r}", f"use one of {', '.join(STATES)}")],
            what="arguments",
        )
    db = open_db(config)
    try:
        orders = db.orders(
            station=getattr(args, "station", None), states=(state,) if state else None
        )
    finally:
        db.close()
    if getattr(args, "format", "table") == "json":
        print(json.dumps([o.as_dict() for o in orders], ensure_ascii=False, indent=1))
        return 0
    print(
        f"{'ID':>4}  {'STATE':<9} {'KIND':<15} {'SUBJECT':<14} {'OPENED':<16} "
        f"{'ASSIGNEE':<12} {'LVL':>3} {'LOST kWh':>9} {'LOST yuan':>10}"
    )
    for o in orders:
        kwh = "-" if o.lost_wh is None else f"{o.lost_wh / 1000:.1f}"
        print(
            f"{o.id:>4}  {o.state:<9} {o.kind:<15} {o.subject:<14} {_t(config, o.opened_ms):<16} "
            f"{o.assignee or '-':<12} {o.level:>3} {kwh:>9} {_yuan(o.lost_fen):>10}"
        )
    if not orders:
        print("(no work orders)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """One order: its record, deadline, history and lost energy and income."""
    from alerts.workorders.service import described, get_order, open_db
    from core.store import open_store

    config = config_from(args)
    at = now_ms(args, config)
    db = open_db(config)
    try:
        order = get_order(db, args.id)
        try:
            store = open_store(config, readonly=True)
        except Exception:  # no readings yet: the order without an estimate
            store = None
        try:
            d = described(config, db, order, store, at)
        finally:
            if store is not None:
                store.close()
    finally:
        db.close()
    if args.format == "json":
        print(json.dumps(d, ensure_ascii=False, indent=1))
        return 0
    est = " (estimated so far)" if d["lost_estimated"] else ""
    lines: list[tuple[str, Any]] = [
        ("work order", f"#{d['id']} {d['kind']} {d['station'] or d['village']} ({d['state']})"),
        ("village", d["village"]),
        ("fault since", _t(config, d["fault_start_ms"])),
        ("opened", f"{_t(config, d['opened_ms'])} by {d['opened_by']}"),
        ("repair due", _t(config, d["due_ms"]) + (" OVERDUE" if d["overdue"] else "")),
        ("assigned to", d["assignee"] or "-"),
        ("escalation level", d["level"]),
        (
            "repaired",
            f"{_t(config, d['repaired_ms'])} by {d['repaired_by'] or '-'}: "
            f"{d['repair_note'] or '-'}",
        ),
        ("verified", _t(config, d["verified_ms"])),
        ("lost energy", f"{(d['lost_wh'] or 0) / 1000:.1f} kWh{est}"),
        ("lost income", f"{_yuan(d['lost_fen'])} yuan{est}"),
        ("alerts", ", ".join(f"#{a}" for a in d["alerts"]) or "-"),
    ]
    for k, v in lines:
        print(f"{k:<17} {v}")
    print("history:")
    for h in d["history"]:
        detail = ", ".join(f"{k}={v}" for k, v in h["detail"].items())
        print(f"  {_t(config, h['ts_ms'])}  {h['event']:<10} {h['actor']:<12} {detail}")
    return 0


def run_open(args: argparse.Namespace) -> int:
    """Open an order by hand."""
    from alerts.workorders.service import open_db, open_manual

    config = config_from(args)
    db = open_db(config)
    try:
        o = open_manual(
            config,
            db,
            station=args.station,
            kind=args.kind,
            now_ms=now_ms(args, config),
            by=args.by,
            note=args.note,
        )
    finally:
        db.close()
    print(f"work order #{o.id} opened: {o.kind} {o.subject}")
    return 0


def run_act(args: argparse.Namespace) -> int:
    """assign / onsite / repaired."""
    from alerts.workorders.service import act, open_db

    config = config_from(args)
    detail: dict[str, Any] = {}
    actor = getattr(args, "by", "staff")
    if args.act == "assign":
        detail["who"] = args.who
    elif args.act == "repaired":
        detail["note"] = args.note
    db = open_db(config)
    try:
        o = act(config, db, args.id, args.act, now_ms=now_ms(args, config), actor=actor, **detail)
    finally:
        db.close()
    print(f"work order #{o.id} {o.subject}: {o.state}" + (f" ({o.assignee})" if o.assignee else ""))
    return 0


def run_log_add(args: argparse.Namespace) -> int:
    """Record one inspection or cleaning."""
    from alerts.workorders.service import add_inspection, open_db

    config = config_from(args)
    at = now_ms(args, config)
    db = open_db(config)
    try:
        i = add_inspection(
            config,
            db,
            station=args.station,
            person=args.person,
            what=args.what,
            day=_day(args.date, config, at),
            photo=args.photo,
            now_ms=at,
        )
    finally:
        db.close()
    print(f"caretaker log #{i}: {args.station} by {args.person}")
    return 0


def run_log_list(args: argparse.Namespace) -> int:
    """The caretaker log, per station or per person."""
    from alerts.workorders.service import open_db

    config = config_from(args)
    db = open_db(config)
    try:
        rows = db.inspections(station=args.station, person=args.person)
    finally:
        db.close()
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    print(f"{'DATE':<10}  {'STATION':<12} {'PERSON':<12} WHAT")
    for r in rows:
        photo = f" [photo {r['photo']}]" if r["photo"] else ""
        print(f"{r['day']:<10}  {r['station']:<12} {r['person']:<12} {r['what']}{photo}")
    if not rows:
        print("(no entries)")
    return 0


def run_overdue(args: argparse.Namespace) -> int:
    """Stations without an inspection in om.inspection_every_days."""
    from alerts.workorders.service import open_db, overdue_inspections

    config = config_from(args)
    day = _day(args.date, config, now_ms(args, config))
    db = open_db(config)
    try:
        rows = overdue_inspections(config, db, day)
    finally:
        db.close()
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False, indent=1))
        return 0
    n = config.om.inspection_every_days
    print(f"{len(rows)} of {len(config.stations)} stations without an inspection in {n} days:")
    for r in rows:
        since = (
            "never"
            if r["last_inspection"] is None
            else f"{r['last_inspection']} ({r['days_since']} d)"
        )
        print(f"  {r['station']:<12} {r['village']:<10} {since}")
    return 0
