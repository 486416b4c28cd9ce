"""Receivables: accrued, received and outstanding as of a date, grouped, with ageing.

The same functions as `pvledger receivables` (revenue.accruals, revenue.receipts,
revenue.receivables; the CSV through the command's own render), filtered to the user's
villages before any total is made, so the totals a village user sees are the sums of
the lines it sees. Action ``receivables.view``. Reading only: nothing is recorded.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from web import policy, runtime
from web.nav import NavItem

nav = NavItem(_("Receivables"), "receivables", "receivables.view", order=60)

#: the buckets drawn in the chart (settled lines owe nothing)
CHART_BUCKETS = ("not due", "0-90", "91-180", "181-365", "over 365")
#: the groupings of revenue.receivables.GROUPS, named for the page
GROUP_LABELS = {
    "station": _("Station"),
    "village": _("Village"),
    "payer": _("Payer"),
    "component": _("Component"),
}


def _bucket_label(name: str) -> str:
    labels = {
        "not due": gettext("not due"),
        "0-90": gettext("0-90 days"),
        "91-180": gettext("91-180 days"),
        "181-365": gettext("181-365 days"),
        "over 365": gettext("over 365 days"),
        "settled": gettext("settled"),
    }
    return labels.get(name, name)


def as_of_from(text: str | None, today: dt.date) -> dt.date | None:
    """The as-of date of the query (today when empty); None when it is not a date."""
    if not text:
        return today
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def lines_for(user, as_of: dt.date) -> tuple[list, list[str], str]:
    """The receivable lines of the user's villages, warnings, and a broken-ledger text."""
    from revenue.accruals import accruals_from_ledger, cycles
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path
    from revenue.receipts import load_received
    from revenue.receivables import receivables

    config = runtime.config()
    p = ledger_path(config)
    if not p.exists():
        return [], [gettext("No revenue ledger yet: no final runs.")], ""
    with Ledger(p) as ledger:
        broken = ledger.verify()
        if broken:
            return [], [], "\n".join(str(b) for b in broken[:20])
        accruals, warnings = accruals_from_ledger(config, ledger)
        received = load_received(ledger)
    lines = receivables(accruals, received, as_of, cycles(config))
    return policy.visible(user, lines, lambda ln: ln.village), warnings, ""


def bar_chart(values_fen: list[tuple[str, int]], title: str) -> str:
    """An inline SVG bar per (label, fen), heights to the largest, amounts on the bars."""
    from django.utils.html import escape

    from revenue.money import fen_to_yuan_str

    w, h, top, bottom = 520, 220, 28, 40
    n = max(len(values_fen), 1)
    slot = w / n
    biggest = max((v for _, v in values_fen), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" role="img" '
        f'class="chart" id="bucket-chart" style="width:100%;max-width:{w}px">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (label, fen) in enumerate(values_fen):
        bar_h = (h - top - bottom) * fen / biggest
        x = i * slot + slot * 0.15
        y = h - bottom - bar_h
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="#c0392b" data-fen="{fen}"><title>{escape(label)}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" text-anchor="middle" '
            f'font-size="12">{fen_to_yuan_str(fen, thousands=True)}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{h - bottom + 16:.1f}" text-anchor="middle" '
            f'font-size="12">{escape(label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _yuan(fen: int) -> str:
    from revenue.money import fen_to_yuan_str

    return fen_to_yuan_str(fen, thousands=True)


@policy.requires("receivables.view")
def receivables_page(request: HttpRequest) -> HttpResponse:
    """Totals per group with ageing buckets, a chart by bucket, and every line."""
    from revenue.receivables import ALL_BUCKETS, GROUPS, totals

    config = runtime.config()
    today = dt.datetime.now(config.site.tz).date()
    as_of = as_of_from(request.GET.get("as_of"), today)
    by = request.GET.get("by") or "station"
    if as_of is None or by not in GROUPS:
        error = (
            gettext("%(text)s is not a date: write YYYY-MM-DD.")
            % {"text": request.GET.get("as_of")}
            if as_of is None
            else gettext("Group by one of: station, village, payer, component.")
        )
        return render(request, "receivables/receivables.html", {"error": error}, status=400)
    lines, warnings, broken = lines_for(request.user, as_of)
    groups = totals(lines, by)
    outstanding = {b: 0 for b in ALL_BUCKETS}
    for ln in lines:
        outstanding[ln.bucket] += ln.outstanding_fen
    chart = bar_chart(
        [(_bucket_label(b), outstanding[b]) for b in CHART_BUCKETS],
        gettext("Outstanding by age [yuan]"),
    )
    rows = [
        {
            "group": t.group,
            "lines": t.lines,
            "accrued": _yuan(t.accrued_fen),
            "received": _yuan(t.received_fen),
            "outstanding": _yuan(t.outstanding_fen),
            "buckets": [_yuan(f) for _, f in t.by_bucket_fen],
        }
        for t in groups
    ]
    context = {
        "as_of": as_of.isoformat(),
        "by": by,
        "groups_choice": [(g, GROUP_LABELS[g]) for g in GROUPS],
        "by_label": GROUP_LABELS[by],
        "bucket_names": [_bucket_label(b) for b in ALL_BUCKETS],
        "rows": rows,
        "total": {
            "accrued": _yuan(sum(ln.accrued_fen for ln in lines)),
            "received": _yuan(sum(ln.received_fen for ln in lines)),
            "outstanding": _yuan(sum(ln.outstanding_fen for ln in lines)),
            "buckets": [_yuan(outstanding[b]) for b in ALL_BUCKETS],
        },
        "lines": [
            {
                "station": ln.station,
                "village": ln.village,
                "component": ln.component,
                "payer": ln.payer,
                "period": ln.period,
                "accrued": _yuan(ln.accrued_fen),
                "received": _yuan(ln.received_fen),
                "outstanding": _yuan(ln.outstanding_fen),
                "due": ln.due.isoformat() if ln.due else "",
                "days": ln.days_past_due,
                "bucket": _bucket_label(ln.bucket),
            }
            for ln in lines
        ],
        "chart": chart,
        "warnings": warnings,
        "broken": broken,
    }
    return render(request, "receivables/receivables.html", context)


@policy.requires("receivables.view")
def receivables_csv(request: HttpRequest) -> HttpResponse:
    """The lines (or, with by=, the totals per group) as `pvledger receivables --format csv`."""
    from pvledger.commands.receivables import _line_row, _total_row
    from pvledger.commands.receivables import render as render_rows
    from revenue.receivables import GROUPS, totals

    config = runtime.config()
    as_of = as_of_from(request.GET.get("as_of"), dt.datetime.now(config.site.tz).date())
    by = request.GET.get("by") or ""
    if as_of is None or (by and by not in GROUPS):
        return HttpResponse(gettext("Bad as_of or by."), status=400, content_type="text/plain")
    lines, _warnings, broken = lines_for(request.user, as_of)
    if broken:
        return HttpResponse(broken, status=409, content_type="text/plain; charset=utf-8")
    rows = [_total_row(by, t) for t in totals(lines, by)] if by else [_line_row(x) for x in lines]
    body = render_rows(rows, "csv", as_of, {})
    r = HttpResponse(("\ufeff" + body).encode(), content_type="text/csv; charset=utf-8")
    name = f"receivables-{as_of}{'-' + by if by else ''}.csv"
    r["Content-Disposition"] = f'attachment; filename="{name}"'
    return r


urlpatterns = [
    path("receivables/", receivables_page, name="receivables"),
    path("receivables.csv", receivables_csv, name="receivables_csv"),
]
