"""`pvledger collect [--once] [--plan]`: run the collector service against config.yaml.

Without options it runs every collector component (Modbus polling and whatever
else is registered in collector.service.COMPONENTS) until SIGTERM/SIGINT, then
stops them and flushes what they hold. ``--once`` polls every Modbus device once
and writes the readings; ``--plan`` prints the request plan per device without
touching the network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from core.clock import Clock, ScaledClock
from core.problems import BadInput, Problem
from pvledger.commands.common import config_from

if TYPE_CHECKING:
    from collector.modbus.component import ModbusComponent
    from core.config import Config


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "collect",
        help="run the collector service (or one polling cycle, or print the request plan)",
        description="Poll the configured Modbus devices (and run the other collector "
        "components) and write readings to the configured store. Stops cleanly on "
        "SIGTERM/SIGINT, flushing what it holds.",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--once", action="store_true", help="poll every Modbus device once, write, exit"
    )
    mode.add_argument(
        "--plan",
        action="store_true",
        help="print the Modbus request plan per device without polling",
    )
    p.add_argument(
        "--sim-clock",
        metavar="FILE",
        help="stamp readings with the simulator's clock (e.g. run/clock.json)",
    )
    p.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /metrics and /healthz on 127.0.0.1:PORT (0 = any free port)",
    )
    p.add_argument(
        "--only",
        action="append",
        metavar="COMPONENT",
        help="run only this component (modbus, mqtt, ...); repeatable",
    )
    p.set_defaults(func=run)


def clock_from(args: argparse.Namespace, config: Config) -> Clock:
    """The wall clock, or the simulator's shared clock from --sim-clock."""
    if not args.sim_clock:
        return Clock()
    path = (
        config.resolve(args.sim_clock)
        if not Path(args.sim_clock).is_absolute()
        else Path(args.sim_clock)
    )
    if not path.exists() and not Path(args.sim_clock).exists():
        raise BadInput(
            [
                Problem(
                    "--sim-clock",
                    f"{args.sim_clock}: no such file",
                    "start `pvledger simulate` first, it writes the clock file",
                )
            ],
            what="arguments",
        )
    return ScaledClock.load(path if path.exists() else Path(args.sim_clock))


def print_plan(comp: ModbusComponent, out: TextIO | None = None) -> None:
    """The request plan of every device, and the totals against one request per value."""
    from collector.modbus.plan import naive_request_count

    out = out or sys.stdout
    comp.open(Clock())
    total = naive_total = 0
    for p in comp.pollers:
        rqs = p.planned()
        pts = [s.point for r in rqs for s in r.slots]
        naive = naive_request_count(pts)
        total += len(rqs)
        naive_total += naive
        lim = p.rmap.limits
        note = (
            " (SunSpec: typical layout; the real one is discovered)"
            if p.rmap.kind == "sunspec"
            else ""
        )
        print(
            f"{p.spec.device} [{p.spec.station}] {p.spec.endpoint} unit {p.spec.unit} "
            f"map {p.spec.map_name} every {p.spec.interval_s:g} s: {len(rqs)} requests, "
            f"one-per-value {naive}{note}",
            file=out,
        )
        print(
            f"    limits: max {lim.max_registers} regs, gap {lim.max_gap}, pause "
            f"{lim.pause_ms} ms, connect wait {lim.connect_wait_ms} ms, timeout "
            f"{lim.timeout_s:g} s{', single connection' if lim.single_connection else ''}",
            file=out,
        )
        for r in rqs:
            print(f"    {r.describe()}", file=out)
    print(
        f"total: {len(comp.pollers)} devices on {len(comp.endpoints)} endpoints, "
        f"{total} requests per cycle (one-per-value: {naive_total})",
        file=out,
    )


async def _once(comp: ModbusComponent, sink) -> int:
    from core.reading import Quality

    readings = await comp.poll_once()
    # a device that did not answer gets one more try once the others are done: on a
    # busy bus or a busy device one timeout is not yet a lost device. Both attempts
    # are stored (the failed one happened); the summary shows the last.
    retry = [i for i, p in enumerate(comp.pollers) if p.state.consecutive_failures]
    final = list(readings)
    for i in retry:
        final[i] = await comp.pollers[i].poll()
    for ep in comp.endpoints.values():
        ep.close()
    n = sink.write(readings + [final[i] for i in retry])
    answered = 0
    for p, r in zip(comp.pollers, final, strict=True):
        bad = {f: q.label for f, q in r.quality.items() if q is not Quality.GOOD}
        good = {f: v for f, v in r.values.items() if f not in bad}
        answered += p.state.consecutive_failures == 0
        state = "ok" if p.state.consecutive_failures == 0 else f"FAILED ({p.state.last_error})"
        print(f"{r.device}: {state} {good}" + (f" flagged {bad}" if bad else ""))
    again = f" ({len(retry)} tried twice)" if retry else ""
    print(f"{n} samples from {answered}/{len(readings)} devices written{again}")
    return 0 if answered or not readings else 1


def run(args: argparse.Namespace) -> int:
    """Dispatch on --plan / --once / service."""
    import asyncio

    from collector.health import HealthServer
    from collector.modbus.component import from_config

    config = config_from(args)
    comp = from_config(config)
    if args.plan:
        if comp is None:
            print("no Modbus devices in the config")
            return 0
        print_plan(comp)
        return 0
    clock = clock_from(args, config)
    from collector.sinks import open_sink

    if args.once:
        if comp is None:
            print("no Modbus devices in the config")
            return 0
        comp.open(clock)
        sink = open_sink(config, clock)  # the gate judges "now" by the service clock
        try:
            return asyncio.run(_once(comp, sink))
        finally:
            sink.close()
    from collector.service import Service, build_components

    components = build_components(config, only=args.only)
    components.append(HealthServer(args.health_port))
    sink = open_sink(config, clock)  # the gate judges "now" by the service clock
    try:
        service = Service(
            config, sink, components, clock=clock, options={"health_port": args.health_port}
        )
        asyncio.run(service.run())
    finally:
        sink.close()
    return 0


__all__ = ["add_parser", "print_plan", "run"]
