"""`pvledger serve`: the web application (web/), on the config's data."""

from __future__ import annotations

import argparse

from pvledger.commands.common import config_from


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "serve",
        help="serve the web application (users, roles, audit trail; docs/web.md)",
        description="Serve the web pages staff work in, on the config's stores. Applies the "
        "web database's migrations first (web.db_path, default data/web.db). Users are "
        "created with `pvledger users add`. Stops cleanly on SIGTERM or Ctrl-C.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port", type=int, default=8080, help="port to listen on (default 8080; 0: a free one)"
    )
    p.add_argument(
        "--sim-clock",
        metavar="FILE",
        help="read now from the simulator's clock anchor (as collect --sim-clock), not the wall",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until stopped."""
    from core.problems import BadInput, Problem

    if not 0 <= args.port <= 65535:
        raise BadInput([Problem("--port", f"{args.port} is not a port", "use 1..65535")], "serve")
    config = config_from(args)
    if args.sim_clock:
        from pathlib import Path

        from web import clock

        path = Path(args.sim_clock)
        if not path.is_absolute() and not path.exists():
            path = config.resolve(args.sim_clock)
        if not path.exists():
            raise BadInput(
                [Problem("--sim-clock", f"{args.sim_clock}: no such file", "name the clock file")],
                "serve",
            )
        clock.set_clock(clock.load(path))
    from web.server import serve

    serve(config, args.host, args.port)
    return 0
