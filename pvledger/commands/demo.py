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
        "previous month's payout (final) and write its files, one village's notice PDF, one "
        "household's annual statement and report.html into --out. "
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
        default=None,
        help="language of report.html and the xlsx headers (default: site.language)",
    )
    p.add_argument("--seed", type=int, default=1, help="weather and device seed")
    p.add_argument(
        "--broker",
        choices=("auto", "mosquitto", "embedded"),
        default="auto",
        help="MQTT broker: Mosquitto when installed (auto), or the embedded amqtt",
    )
    p.add_argument(
        "--serve",
        action="store_true",
        help="afterwards, serve the web application on the demo's data with one user per "
        "role (one-time passwords printed) until Ctrl-C",
    )
    p.add_argument("--host", default="127.0.0.1", help="with --serve: address (127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8080, help="with --serve: port (8080; 0 picks a free one)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo; exit 0 when every phase showed what it should."""
    from core.config import default_config_path, load_config
    from pvledger.demo import STOP_STATION, DemoOptions, run_demo

    if args.days is not None and args.days < 1:
        from core.problems import BadInput, Problem

        raise BadInput([Problem("--days", "must be at least 1", "give a number of days")])
    config_path = Path(args.config) if args.config else default_config_path()
    rc = run_demo(
        DemoOptions(
            config=config_path,
            out=args.out,
            days=args.days,
            speed=args.speed,
            live_s=args.live_s,
            lang=args.lang or load_config(config_path).site.language,
            seed=args.seed,
            broker=args.broker,
        )
    )
    if rc or not args.serve:
        return rc
    from pvledger.demo.serve import serve_demo

    work = args.out.resolve() / "demo" / "config.yaml"  # the demo's own config and data
    stopped = load_config(work).station_by_id.get(STOP_STATION)
    village = stopped.village if stopped else load_config(work).villages[0].id
    return serve_demo(work, host=args.host, port=args.port, village=village)
