"""The appraisal page (考核, issue 18): per contractor for a month (work orders, median and
worst time to repair, share within the deadline, availability, lost kWh and yuan) and
the fleet's KPIs per village and station, with the workbook download.

The figures are alerts/workorders/appraisal.appraise(), and the table rows and the
workbook are `pvledger appraisal`'s own (_rows, write_xlsx): the page and the command
give the same numbers and the same file.
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from web import clock, monitoring, policy, runtime
from web.nav import NavItem
from web.pages.workorders import order_db

nav = NavItem(_("Appraisal"), "appraisal", "appraisal.view", order=34)

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _this_month(config) -> str:
    return dt.datetime.fromtimestamp(clock.now_ms() / 1000, config.site.tz).strftime("%Y-%m")


def _compute(month: str, contractor: str | None):
    """(contractors, stations, villages) rows as the command prints them; None: no store."""
    from alerts.workorders.appraisal import appraise
    from pvledger.commands.appraisal import _rows

    store = monitoring.store()
    if store is None:
        return None
    config = runtime.config()
    result = appraise(
        config,
        store,
        order_db(),
        monitoring.alert_db().alerts(),
        month,
        now_ms=clock.now_ms(),
        contractor=contractor,
    )
    return _rows(result)


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f} %"


def _num(v, digits: int = 1) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


@policy.requires("appraisal.view")
def appraisal(request: HttpRequest) -> HttpResponse:
    """The month's appraisal; ?month=YYYY-MM (default this month), ?contractor=ID."""
    config = runtime.config()
    month = request.GET.get("month", "") or _this_month(config)
    contractors_known = [p for p in config.om.people if p.role == "contractor"]
    contractor = request.GET.get("contractor", "") or None
    problem = None
    if not _MONTH.match(month):
        problem = gettext("Write the month as YYYY-MM, e.g. 2026-06.")
    elif contractor and contractor not in {p.id for p in contractors_known}:
        problem = gettext("Choose a contractor of om.people.")
    rows = None if problem else _compute(month, contractor)
    if rows is not None and request.GET.get("format") == "xlsx":
        return _xlsx(month, rows)
    ctx = {
        "month": month,
        "contractor": contractor or "",
        "contractors_known": contractors_known,
        "problem": problem,
        "no_store": rows is None and problem is None,
    }
    if rows is not None:
        allowed = policy.villages_visible(request.user)
        names = {v.id: v.name for v in config.villages}
        cs, ss, vs = rows
        ctx["contractors"] = [
            {
                **c,
                "median": _num(c["median_repair_h"]),
                "worst": _num(c["worst_repair_h"]),
                "within": _pct(c["within_deadline_share"]),
                "avail": _pct(c["availability"]),
            }
            for c in cs
        ]
        ctx["villages"] = [
            {
                **v,
                "village_name": names.get(v["village"], v["village"]),
                "avail": _pct(v["availability"]),
                "per_kwp": _num(v["kwh_per_kwp"], 2),
            }
            for v in vs
            if v["village"] in allowed
        ]
        ctx["stations"] = [
            {
                **s,
                "village_name": names.get(s["village"], s["village"]),
                "avail": _pct(s["availability"]),
                "vs": _num(s["vs_peers"], 2),
                "per_kwp": _num(s["kwh_per_kwp"], 2),
                "per_day": _num(s["kwh_per_kwp_day"], 2),
            }
            for s in ss
            if s["village"] in allowed
        ]
    return render(request, "appraisal/appraisal.html", ctx)


def _xlsx(month: str, rows) -> HttpResponse:
    """The workbook `pvledger appraisal --xlsx` writes, as a download."""
    from pvledger.commands.appraisal import write_xlsx

    contractors, stations, villages = rows
    with tempfile.TemporaryDirectory(prefix="pvledger-appraisal-") as tmp:
        file = Path(tmp) / f"appraisal-{month}.xlsx"
        write_xlsx(file, month, contractors, stations, villages)
        data = file.read_bytes()
    resp = HttpResponse(data, content_type=XLSX)
    resp["Content-Disposition"] = f'attachment; filename="appraisal-{month}.xlsx"'
    return resp


urlpatterns = [path("appraisal/", appraisal, name="appraisal")]
