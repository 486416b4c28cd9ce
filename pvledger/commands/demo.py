"""`pvledger demo`: the simulated fleet end to end on embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "demo",
        help="run the whole pipeline on the simulated fleet; writes out/ and a summary",
        description="Start the simulated fleet of the config (default: the Jizhou demo fleet), "
        "backfill the previous full month of history, run the real collector live at "
        "accelerated time, stop one household station and show its alert, then run the "
        "previous month's payout (draft) and write its files and report.html into --out. "
        "Needs nothing installed: uses Mosquitto when present, else an embedded broker.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out"),
        metavar="DIR",
        help="folder for payout files and report.html (default: out)",
    )
    p.add_argument(
        "--days",
        type=int,
        default=None,
        metavar="N",
        help="days of history before the live start (default: from the start of "
        "the previous month)",
    )
    p.add_argument(
        "--speed",
        type=float,
        default=120.0,
        help="simulated seconds per second in the live phase (default 120)",
    )
    p.add_argument(
        "--live-s",
        type=float,
        default=60.0,
        metavar="S",
        help="wall seconds of live collection (default 60)",
    )
    p.add_argument(
        "--lang",
        choices=("en", "zh"),
        default="en",
        help="language of report.html and the xlsx headers",
    )
    p.add_argument("--seed", type=int, default=1, help="weather and device seed")
    p.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "embedded"),
        default="auto",
        help="MQTT broker: Mosquitto when installed (auto), or the embedded amqtt",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when every phase showed what it should."""
    from core.config import default_config_path
    from pvledger.demo import DemoOptions, run_demo

    if args.days is not None and args.days < 1:
        from core.problems import BadInput, Problem

        raise BadInput([Problem("--days", "must be at least 1", "give a number of days")])
    return run_demo(
        DemoOptions(
            config=Path(args.config) if args.config else default_config_path(),
            out=args.out,
            days=args.days,
            speed=args.speed,
            live_s=args.live_s,
            lang=args.lang,
            seed=args.seed,
            broker=args.broker,
        )
    )
