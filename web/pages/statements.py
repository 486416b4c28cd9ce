"""Annual statements: per household and per village of a year, as xlsx and PDF.

Through revenue.statements and revenue.statements_out, what `pvledger statements`
writes, never a second implementation. Action ``statements.view``; a village user sees
and downloads only its own villages' households and villages (anything else is 404, by
link or guessed URL). Reading only: nothing is recorded.
"""

from __future__ import annotations

from pathlib import Path

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from web import policy, runtime
from web.nav import NavItem

nav = NavItem(_("Statements"), "statements", "statements.view", order=63)

#: download format -> content type
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _ledger_path() -> Path:
    from revenue.payout import ledger_path

    return ledger_path(runtime.config())


def years(ledger) -> list[int]:
    """The years with a final run, newest first."""
    from revenue.period import parse_period

    periods = {r.period for r in ledger.runs() if r.status == "final"}
    return sorted({parse_period(p).start.year for p in periods}, reverse=True)


def _yuan(fen: int) -> str:
    from revenue.money import fen_to_yuan_str

    return fen_to_yuan_str(fen, thousands=True)


@policy.requires("statements.view")
def statements(request: HttpRequest) -> HttpResponse:
    """The households and villages of a year the user may see, with their downloads."""
    from core.problems import BadInput
    from revenue import statements as st
    from revenue.ledger import Ledger

    config = runtime.config()
    context: dict = {"years": [], "households": [], "villages": [], "year": None}
    if not _ledger_path().exists():
        return render(request, "statements/statements.html", context)
    allowed = policy.villages_visible(request.user)
    with Ledger(_ledger_path()) as ledger:
        context["years"] = years(ledger)
        text = request.GET.get("year") or (str(context["years"][0]) if context["years"] else "")
        if not text:
            return render(request, "statements/statements.html", context)
        if not text.isdigit():
            context["error"] = gettext("%(text)s is not a year.") % {"text": text}
            return render(request, "statements/statements.html", context, status=400)
        year = int(text)
        context["year"] = year
        try:
            households = st.household_statements(config, ledger, year)
            villages = st.village_statements(config, ledger, year)
        except BadInput as exc:
            context["error"] = "; ".join(p.message for p in exc.problems)
            return render(request, "statements/statements.html", context, status=404)
    names = {v.id: v.name for v in config.villages}
    context["households"] = [
        {
            "id": s.household_id,
            "name": s.name,
            "village": names.get(s.village_id, s.village_id),
            "total": _yuan(s.total_fen),
            "unpaid": len(s.unpaid),
        }
        for s in households
        if s.village_id in allowed
    ]
    context["villages"] = [
        {"id": v.village_id, "name": v.village_name, "households": _yuan(v.households_fen)}
        for v in villages
        if v.village_id in allowed
    ]
    return render(request, "statements/statements.html", context)


def _download(stem: str, data: bytes, fmt: str) -> HttpResponse:
    r = HttpResponse(data, content_type=FORMATS[fmt])
    r["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return r


def _one(kind: str, year: int, item_id: str):
    """The statement of one household or village of the year; 404 when there is none."""
    from core.problems import BadInput
    from revenue import statements as st
    from revenue.ledger import Ledger

    if not _ledger_path().exists():
        raise Http404("no ledger")
    make = st.household_statements if kind == "household" else st.village_statements
    try:
        with Ledger(_ledger_path()) as ledger:
            found = make(runtime.config(), ledger, year, item_id)
    except BadInput:
        raise Http404("no such statement") from None
    if not found:
        raise Http404("no such statement")
    return found[0]


@policy.requires("statements.view")
def household_file(request: HttpRequest, year: int, household_id: str, fmt: str) -> HttpResponse:
    """A household's statement of the year (xlsx or pdf); 404 outside the user's villages."""
    from revenue import statements_out as so

    if fmt not in FORMATS:
        raise Http404("no such format")
    hh = runtime.config().household_by_id.get(household_id)
    if hh is None:
        raise Http404("no such household")
    policy.require_village(request.user, hh.village)
    s = _one("household", year, household_id)
    data = so.household_xlsx(s) if fmt == "xlsx" else so.household_pdf(s)
    return _download(so.file_stem(s), data, fmt)


@policy.requires("statements.view")
def village_file(request: HttpRequest, year: int, village_id: str, fmt: str) -> HttpResponse:
    """A village's statement of the year (xlsx or pdf); 404 outside the user's villages."""
    from revenue import statements_out as so

    if fmt not in FORMATS:
        raise Http404("no such format")
    policy.village_or_404(request.user, village_id)
    s = _one("village", year, village_id)
    data = so.village_xlsx(s) if fmt == "xlsx" else so.village_pdf(s)
    return _download(so.file_stem(s), data, fmt)


urlpatterns = [
    path("statements/", statements, name="statements"),
    path(
        "statements/<int:year>/household/<str:household_id>.<str:fmt>",
        household_file,
        name="statement_household",
    ),
    path(
        "statements/<int:year>/village/<str:village_id>.<str:fmt>",
        village_file,
        name="statement_village",
    ),
]
