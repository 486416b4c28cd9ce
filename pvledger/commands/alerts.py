"""`pvledger alerts`: list the alert history, acknowledge an alert, or watch (county side).

pvledger alerts [--open] [--since T] [--format table|json]
pvledger alerts ack ID [--note TEXT]
pvledger alerts watch [--once] [--sim-clock FILE] [--no-gateway-events]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import re
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from core.clock import Clock, ScaledClock
from core.problems import BadInput, Problem
from pvledger.commands.common import config_from

if TYPE_CHECKING:
    from alerts.state import AlertDb
    from core.config import Config

log = logging.getLogger("pvledger.alerts")

#: the revenue alert kinds' findings (alerts/kinds/_revenue.py): alerts may not import
#: revenue, so the county watch names the provider here
REVENUE_FINDINGS = "revenue.watch:findings"


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand and its actions."""
    p = sub.add_parser(
        "alerts",
        help="list alerts; ack ID; watch (county server)",
        description="List the alert history (newest last), acknowledge an alert, or run the "
        "alert engine against the central store (`watch`, county side, with gateway_silent).",
    )
    p.add_argument("--open", action="store_true", help="only pending and firing alerts")
    p.add_argument(
        "--since",
        metavar="T",
        help="only alerts open since T: YYYY-MM-DD[THH:MM] (site-local) or 24h / 7d ago",
    )
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    a = actions.add_parser("ack", help="acknowledge an alert (stops its reminders)")
    a.add_argument("id", type=int, metavar="ID")
    a.add_argument("--note", help="what was done or who takes it")
    a.set_defaults(func=run_ack)
    w = actions.add_parser("watch", help="evaluate the rules on a schedule against the store")
    w.add_argument("--once", action="store_true", help="one evaluation, then exit")
    w.add_argument("--sim-clock", metavar="FILE", help="share the simulator's clock anchor")
    w.add_argument(
        "--no-gateway-events",
        action="store_true",
        help="do not take the gateways' alert events and status from the MQTT broker",
    )
    w.set_defaults(func=run_watch)


def parse_since(text: str, config: Config, now_ms: int) -> int:
    """--since as UTC ms: a site-local date/time, or a relative '24h' / '7d' / '90m'."""
    m = re.fullmatch(r"(\d+)\s*([mhd])", text.strip())
    if m:
        unit = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}[m.group(2)]
        return now_ms - int(m.group(1)) * unit
    try:
        t = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(
            [
                Problem(
                    "--since", f"cannot read {text!r}", "write 2018-07-01, 2018-07-01T08:00 or 24h"
                )
            ],
            what="arguments",
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=config.site.tz)
    return int(t.timestamp() * 1000)


def _db(config: Config) -> AlertDb:
    from alerts.state import AlertDb

    return AlertDb(config.resolve(config.alerts.db_path))


def run_list(args: argparse.Namespace) -> int:
    """Print alerts as a table or JSON."""
    from alerts.message import kind_name, local_time

    config = config_from(args)
    since = parse_since(args.since, config, Clock().now_ms()) if args.since else None
    db = _db(config)
    try:
        alerts = db.alerts(open_only=args.open, since_ms=since)
    finally:
        db.close()
    if args.format == "json":
        print(json.dumps([a.as_dict() for a in alerts], ensure_ascii=False, indent=1))
        return 0
    lang = config.alerts.language
    head = (
        f"{'ID':>5}  {'STATE':<8} {'KIND':<16} {'SUBJECT':<18} {'SINCE':<16} {'RESOLVED':<16} ACK"
    )
    print(head)
    for a in alerts:
        print(
            f"{a.id:>5}  {a.state:<8} {a.kind:<16} {a.subject:<18} "
            f"{local_time(a.since_ms, config):<16} {local_time(a.resolved_ms, config):<16} "
            f"{'yes' if a.acked_ms else '-'}"
        )
    if not alerts:
        print("(no alerts)")
    else:
        print(
            f"{len(alerts)} alerts; kinds: "
            + ", ".join(f"{k}={kind_name(k, lang)}" for k in sorted({a.kind for a in alerts}))
        )
    return 0


def run_ack(args: argparse.Namespace) -> int:
    """Acknowledge one alert; unknown ids are bad input."""
    config = config_from(args)
    db = _db(config)
    try:
        a = db.ack(args.id, now_ms=Clock().now_ms(), note=args.note)
    except KeyError:
        raise BadInput(
            [Problem("ID", f"no alert #{args.id}", "list them with `pvledger alerts`")],
            what="arguments",
        ) from None
    finally:
        db.close()
    print(f"alert #{a.id} ({a.kind} {a.subject}) acknowledged")
    return 0


def _forwards(notifier: object) -> bool:
    """Whether a notifier is a gateway's county forwarder (alerts/notify/county.py)."""
    return hasattr(notifier, "send_event")


def run_watch(args: argparse.Namespace) -> int:
    """Evaluate every alerts.evaluate_every_s until SIGTERM/SIGINT (or once)."""
    from alerts.component import close_engine, open_engine
    from core.store import open_store

    config = config_from(args)
    clock: Clock = ScaledClock.load(Path(args.sim_clock)) if args.sim_clock else Clock()
    store = open_store(config, readonly=True)
    engine = open_engine(config, store, county=True)
    wire_revenue(store)
    forwarders = [n for n in engine.notifiers if _forwards(n)]
    if forwarders:
        # the county is where events are forwarded to: forwarding its own would bring
        # them back as a gateway's
        log.warning("alerts watch ignores the county forwarder %s", forwarders[0].name)
        engine.notifiers = [n for n in engine.notifiers if n not in forwarders]
    inbox = None
    if not (args.once or args.no_gateway_events):
        from alerts.remote import GatewayInbox

        # the gateways' forwarded alert events and their status (last will) topics
        owed = [n.name for n in engine.notifiers if n.takes_events]
        inbox = GatewayInbox(config, engine.db, owed, clock.now_ms)
        inbox.start()
    stop = threading.Event()
    old = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            events = engine.step(clock.now_ms())
            for ev in events:
                print(ev.payload["title"], flush=True)
            if args.once or stop.wait(clock.sleep_s(config.alerts.evaluate_every_s)):
                break
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if inbox is not None:
            inbox.stop()
        close_engine(engine)
        wire_revenue(None)
        store.close()
    return 0


def wire_revenue(store) -> None:
    """Give the revenue alert kinds their findings provider and store (None: unwire)."""
    from alerts.kinds import _revenue

    if store is None:
        _revenue.use(None)
    else:
        _revenue.use(REVENUE_FINDINGS, store)
