"""`pvledger receivables`: accrued, received and outstanding per station, component, period."""

from __future__ import annotations

import argparse

from pvledger.commands.common import config_from

COLUMNS = (
    "station",
    "village",
    "component",
    "payer",
    "period",
    "accrued_fen",
    "received_fen",
    "outstanding_fen",
    "due",
    "days_past_due",
    "bucket",
    "catalogue",
    "last_received",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "receivables",
        help="what is still owed, by whom and for how long (ageing by due date)",
        description="Accrued (final payout runs), received (imported receipts) and "
        "outstanding per station, component and period, with the due date by the "
        "component's settlement cycle, days past due and the ageing bucket (0-90, 91-180, "
        "181-365, over 365). --by prints the totals per group instead of the lines; totals "
        "are the exact sums of the lines. See docs/revenue.md.",
    )
    p.add_argument("--as-of", metavar="DATE", help="YYYY-MM-DD (default: today, site time zone)")
    p.add_argument("--by", choices=["station", "village", "payer", "component"])
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the lines (or totals per group); bad --as-of exits 2."""
    import datetime as dt
    import sys

    from core.problems import BadInput, Problem
    from revenue.accruals import accruals_from_ledger, cycles
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path
    from revenue.receipts import load_received
    from revenue.receivables import receivables, totals

    config = config_from(args)
    today = dt.datetime.now(config.site.tz).date()
    as_of = today
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            raise BadInput(
                [Problem("--as-of", f"{args.as_of!r} is not a date", "write YYYY-MM-DD")]
            ) from None
    path = ledger_path(config)
    if not path.exists():
        accruals, warnings, received = [], ["no revenue ledger yet: no final runs"], []
    else:
        with Ledger(path) as ledger:
            broken = ledger.verify()
            if broken:
                print(
                    f"{path}: the ledger fails verification, no receivables computed:\n"
                    + "\n".join(f"  {p}" for p in broken[:20])
                    + "\nrun `pvledger revenue verify` for every problem",
                    file=sys.stderr,
                )
                return 1
            accruals, warnings = accruals_from_ledger(config, ledger)
            received = load_received(ledger)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    lines = receivables(accruals, received, as_of, cycles(config))
    if args.by:
        rows = [_total_row(args.by, t) for t in totals(lines, args.by)]
    else:
        rows = [_line_row(ln) for ln in lines]
    grand = totals(lines, "payer")
    overall = {
        "accrued_fen": sum(t.accrued_fen for t in grand),
        "received_fen": sum(t.received_fen for t in grand),
        "outstanding_fen": sum(t.outstanding_fen for t in grand),
    }
    sys.stdout.write(render(rows, args.format, as_of, overall))
    return 0


def _line_row(ln) -> dict:
    return {
        c: ("" if getattr(ln, c) is None else str(getattr(ln, c)))
        if c in ("due", "last_received")
        else getattr(ln, c)
        for c in COLUMNS
    }


def _total_row(by: str, t) -> dict:
    row = {
        by: t.group,
        "lines": t.lines,
        "accrued_fen": t.accrued_fen,
        "received_fen": t.received_fen,
        "outstanding_fen": t.outstanding_fen,
    }
    row.update({f"outstanding_{b.replace(' ', '_')}_fen": fen for b, fen in t.by_bucket_fen})
    return row


def render(rows: list[dict], fmt: str, as_of, overall: dict) -> str:
    """Rows as a text table, CSV or JSON (with the as-of date and the overall sums)."""
    import csv
    import io
    import json

    from revenue.money import fen_to_yuan_str

    if fmt == "json":
        return (
            json.dumps(
                {"as_of": str(as_of), "total": overall, "rows": rows}, ensure_ascii=False, indent=1
            )
            + "\n"
        )
    if fmt == "csv":
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        return buf.getvalue()
    if not rows:
        return f"receivables as of {as_of}: nothing accrued or received\n"
    cols = list(rows[0])

    def cell(c: str, v: object) -> str:
        return fen_to_yuan_str(v, thousands=True) if c.endswith("_fen") else str(v)

    heads = [c.removesuffix("_fen") + (" [yuan]" if c.endswith("_fen") else "") for c in cols]
    body = [[cell(c, r[c]) for c in cols] for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(heads)]
    out = [f"receivables as of {as_of}"]
    out.append("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    for b in body:
        out.append(
            "  ".join(
                v.rjust(w) if c.endswith("_fen") or c in ("lines", "days_past_due") else v.ljust(w)
                for c, v, w in zip(cols, b, widths, strict=True)
            )
        )
    out.append(
        "total: accrued {} received {} outstanding {} yuan".format(
            *(fen_to_yuan_str(overall[k], thousands=True) for k in overall)
        )
    )
    return "\n".join(out) + "\n"
