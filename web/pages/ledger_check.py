"""The ledger check page: `pvledger revenue verify`'s result (revenue/ledger_check.py).

Action ``ledger.verify`` (auditor, admin). Reading only: opens the ledger when it exists
(never creates one) and lists every problem the same check names on the command line.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.functional import lazy

from web import policy, runtime
from web.nav import NavItem
from web.pages.imports_text import words
from web.pages.runs_text import lang

nav = NavItem(lazy(lambda: words()["l.nav"], str)(), "ledger_check", "ledger.verify", order=85)


def check() -> dict | None:
    """The verify result: counts, chain head and problems; None when there is no ledger."""
    from revenue.ledger import Ledger
    from revenue.ledger_check import summary
    from revenue.payout import ledger_path

    p = ledger_path(runtime.config())
    if not p.exists():
        head = p.with_name(p.name + ".head")
        if head.exists():
            return {"problems": [f"ledger: missing, but {head.name} exists"], "counts": None}
        return None
    with Ledger(p) as ledger:
        problems = ledger.verify()
        return {"problems": problems, "counts": summary(ledger), "head": ledger.head()}


@policy.requires("ledger.verify")
def ledger_check(request: HttpRequest) -> HttpResponse:
    """The whole ledger checked now."""
    from revenue.ledger_check import problem_zh

    t = words()
    result = check()
    zh = lang() == "zh"
    counts = result and result.get("counts")
    context = {
        "title": t["l.title"],
        "intro": t["l.intro"],
        "none": t["l.none"],
        "ok": t["l.ok"],
        "result": result,
        # the command line's problems, in the page's language (revenue/ledger_check)
        "problems": [problem_zh(p) if zh else p for p in result["problems"]] if result else [],
        "counts": t["l.counts"].format(**counts) if counts else "",
        "head": t["l.head"].format(entries=result["head"].entries) if counts else "",
        "head_hash": result["head"].hash if counts else "",
        "bad": t["l.bad"].format(n=len(result["problems"])) if result else "",
    }
    return render(request, "ledger/check.html", context)


urlpatterns = [path("ledger/check", ledger_check, name="ledger_check")]
