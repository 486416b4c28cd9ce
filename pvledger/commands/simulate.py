"""`pvledger simulate`: serve the simulated devices of the config, or write their history."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from core.problems import BadInput, Problem
from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "simulate",
        help="serve the simulated devices that the config points at",
        description="Serve every device with a `simulate:` profile on its real protocol "
        "(Modbus TCP, Modbus RTU over a pty, MQTT), or with --backfill-days write "
        "their history into the configured store and exit. See docs/simulator.md.",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    p.add_argument("--start", help="simulated start time, ISO 8601 with offset (default now)")
    p.add_argument("--seed", type=int, default=None, help="weather and device seed (default 1)")
    p.add_argument("--control-port", type=int, default=None, help="HTTP fault control port")
    p.add_argument("--faults", type=Path, default=None, help="YAML file of scheduled faults")
    p.add_argument("--backfill-days", type=float, default=None, help="write N days and exit")
    p.add_argument("--resolution-s", type=int, default=300, help="backfill step [s]")
    p.set_defaults(func=run)


def _start_ms(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadInput([Problem("--start", f"not an ISO 8601 time: {text!r}")]) from None
    if t.tzinfo is None:
        raise BadInput([Problem("--start", "give a UTC offset, e.g. 2026-07-01T08:00+08:00")])
    return int(t.timestamp() * 1000)


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT, or backfill and exit."""
    import asyncio

    from core.problems import raise_if
    from simulator.checks import simulate_problems
    from simulator.fleet import DEFAULT_SEED

    cfg = config_from(args)
    raise_if(simulate_problems(cfg), str(cfg.path))  # profiles exist and serve the map
    seed = DEFAULT_SEED if args.seed is None else args.seed
    start = _start_ms(args.start)
    if args.speed <= 0:
        raise BadInput([Problem("--speed", "must be > 0")])
    horizon_days = cfg.storage.limits.backfill_horizon_days
    if args.backfill_days is not None and args.backfill_days > horizon_days:
        raise BadInput(
            [
                Problem(
                    "--backfill-days",
                    f"{args.backfill_days:g} days reach past the plausibility gate's horizon "
                    f"of {horizon_days:g} days, whose readings it would refuse",
                    "backfill fewer days, or raise storage.limits.backfill_horizon_days",
                )
            ]
        )
    if args.backfill_days is not None:
        from core.store import open_store
        from simulator.backfill import backfill
        from simulator.faults import FaultBook, load_faults_file

        end = start if start is not None else int(time.time() * 1000)
        begin = end - int(args.backfill_days * 86_400_000)
        book = FaultBook(load_faults_file(cfg, args.faults, end)) if args.faults else None
        t0 = time.monotonic()
        with open_store(cfg) as store:
            n = backfill(cfg, store, begin, end, args.resolution_s, seed=seed, faults=book)
        print(
            f"backfilled {n} readings, {args.backfill_days:g} days at "
            f"{args.resolution_s} s, in {time.monotonic() - t0:.1f} s"
        )
        return 0
    from simulator.runner import Simulator

    sim = Simulator(
        cfg,
        seed=seed,
        speed=args.speed,
        start_ms=start,
        control_port=args.control_port,
        faults_file=args.faults,
    )
    return asyncio.run(sim.run())
