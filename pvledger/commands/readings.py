"""`pvledger readings`: print what the store holds, with quality, for O&M staff.

Without --since/--until it prints the newest sample of every series (what each
device last said); with them, every sample in the range. Times are given and
shown in the site's time zone; T is an ISO date/time (``2018-06-01``,
``2018-06-01T08:00``, with or without offset) or a span back from now (``2h``,
``30m``, ``7d``).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from core.problems import BadInput, Problem
from pvledger.commands.common import config_from

if TYPE_CHECKING:
    from core.reading import Sample

_SPAN = re.compile(r"^(\d+)\s*([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "readings",
        help="print stored readings with their quality",
        description="Print stored readings (timestamp, station, device, field, value, "
        "quality). Without --since/--until: the newest sample of every series.",
    )
    p.add_argument(
        "--station", action="append", metavar="ID", help="only this station (repeatable)"
    )
    p.add_argument("--device", action="append", metavar="ID", help="only this device (repeatable)")
    p.add_argument("--field", action="append", metavar="NAME", help="only this field (repeatable)")
    p.add_argument("--since", metavar="T", help="from T (inclusive): ISO date/time or 2h, 7d")
    p.add_argument("--until", metavar="T", help="to T (exclusive): ISO date/time or 2h, 7d")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.set_defaults(func=run)


def parse_time(text: str, tz: ZoneInfo, now_ms: int, what: str) -> int:
    """UTC epoch ms of an ISO date/time (naive = site-local) or of a span back from now."""
    m = _SPAN.match(text.strip())
    if m:
        return now_ms - int(m.group(1)) * _UNIT_S[m.group(2)] * 1000
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(
            [
                Problem(
                    what,
                    f"cannot read {text!r} as a time",
                    "write 2018-06-01, 2018-06-01T08:00+08:00, or 2h / 7d",
                )
            ],
            what="arguments",
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=tz)
    return int(t.timestamp() * 1000)


def _rows(samples: list[Sample], tz: ZoneInfo) -> list[dict[str, object]]:
    return [
        {
            "time": dt.datetime.fromtimestamp(s.ts_ms / 1000, tz).isoformat(timespec="seconds"),
            "station": s.station,
            "device": s.device,
            "field": s.field,
            "value": s.value,
            "quality": s.quality.label,
        }
        for s in samples
    ]


def run(args: argparse.Namespace) -> int:
    """Query the store and print."""
    from core.store import open_store

    config = config_from(args)
    tz = config.site.tz
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    start = parse_time(args.since, tz, now_ms, "--since") if args.since else None
    end = parse_time(args.until, tz, now_ms, "--until") if args.until else None
    with open_store(config, readonly=True) as store:
        if start is None and end is None:
            samples = store.latest(stations=args.station, devices=args.device)
            if args.field:
                samples = [s for s in samples if s.field in args.field]
        else:
            samples = store.series(
                stations=args.station,
                devices=args.device,
                fields=args.field,
                start_ms=start,
                end_ms=end,
            )
    rows = _rows(samples, tz)
    cols = ["time", "station", "device", "field", "value", "quality"]
    if args.format == "json":
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
        print()
    elif args.format == "csv":
        w = csv.DictWriter(sys.stdout, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    else:
        text = [[str(r[c]) if r[c] is not None else "-" for c in cols] for r in rows]
        widths = [max([len(c)] + [len(t[i]) for t in text]) for i, c in enumerate(cols)]
        print("  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip())
        for t in text:
            print("  ".join(v.ljust(w) for v, w in zip(t, widths, strict=True)).rstrip())
        print(f"({len(rows)} samples)")
    return 0
