"""The notices (公示) of final runs, for the villages a user may see, as printable PDFs.

/notices/ lists every final run in force with a line per visible village (period, run,
households and their total, the pools, the check code); /notices/<run>/<village>.pdf is
the sheet revenue/notice_pdf.py prints, dated ?date=YYYY-MM-DD (default: today in the
site's time zone). Action ``notice.view``; village scope through policy (a village user
gets 404 for another village's sheet). Reading only: nothing is recorded.

Like the public check page (web/pages/notice_check.py) its words are zh/en data here.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.functional import lazy
from django.utils.translation import get_language

from web import policy, runtime
from web.nav import NavItem

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "nav": "公示",
        "title": "公示",
        "intro": "各村定稿结算的公示，可下载 A4 PDF 打印张贴。核对码可在公示核对页核对。",
        "none": "还没有定稿的结算。",
        "period": "结算期",
        "run": "结算批次",
        "village": "村",
        "households": "农户数",
        "households_yuan": "农户收益（元）",
        "pools_yuan": "村集体收益（元）",
        "code": "核对码",
        "pdf": "PDF",
        "download": "下载",
    },
    "en": {
        "nav": "Notices",
        "title": "Notices (公示)",
        "intro": "The notice of every final run per village, as an A4 PDF to print and pin "
        "up. Anyone can check a code on the notice check page.",
        "none": "No final run yet.",
        "period": "Period",
        "run": "Run",
        "village": "Village",
        "households": "Households",
        "households_yuan": "Households (yuan)",
        "pools_yuan": "Village pools (yuan)",
        "code": "Check code",
        "pdf": "PDF",
        "download": "download",
    },
}


def _lang() -> str:
    return "zh" if (get_language() or "").startswith("zh") else "en"


nav = NavItem(lazy(lambda: TEXT[_lang()]["nav"], str)(), "notices", "notice.view", order=45)


def _ledger():
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path

    path = ledger_path(runtime.config())
    return Ledger(path) if path.exists() else None  # never create one from a page


@policy.requires("notice.view")
def notices(request: HttpRequest) -> HttpResponse:
    """Every final run in force, one row per village the user may see."""
    from revenue import notice
    from revenue.money import fen_to_yuan_str

    config = runtime.config()
    allowed = policy.villages_visible(request.user)
    rows = []
    ledger = _ledger()
    if ledger is not None:
        with ledger:
            for run in reversed(ledger.runs()):
                if run.status != "final" or notice.superseded_by(ledger, run) is not None:
                    continue
                for v in notice.villages_of(notice.notice_files(ledger, run), run.period):
                    if v not in allowed:
                        continue
                    n = notice.build(config, ledger, run, v)
                    rows.append(
                        {
                            "period": n.period,
                            "run": n.run_seq,
                            "village": n.village_name,
                            "village_id": n.village_id,
                            "households": len(n.lines),
                            "households_yuan": fen_to_yuan_str(n.households_fen),
                            "pools_yuan": fen_to_yuan_str(n.pools_fen),
                            "code": n.check_code,
                        }
                    )
    return render(request, "notices/list.html", {"t": TEXT[_lang()], "rows": rows})


@policy.requires("notice.view")
def notice_pdf(request: HttpRequest, run_seq: int, village_id: str) -> HttpResponse:
    """One village's sheet of a final run in force; 404 outside the user's villages."""
    from core.problems import BadInput
    from revenue import notice
    from revenue.notice_pdf import file_name, render_notice

    policy.require_village(request.user, village_id)
    config = runtime.config()
    try:
        published = dt.date.fromisoformat(request.GET["date"]) if "date" in request.GET else None
    except ValueError:
        raise Http404("not a date") from None
    published = published or dt.datetime.now(config.site.tz).date()
    ledger = _ledger()
    if ledger is None:
        raise Http404("no ledger")
    with ledger:
        try:
            run = notice.final_run(ledger, run_seq)
            if notice.superseded_by(ledger, run) is not None:
                raise Http404("superseded")
            n = notice.build(config, ledger, run, village_id)
        except BadInput:
            raise Http404("no such notice") from None
    data = render_notice(config, n, published)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{file_name(n)}"'
    return response


urlpatterns = [
    path("notices/", notices, name="notices"),
    path("notices/<int:run_seq>/<str:village_id>.pdf", notice_pdf, name="notice_pdf"),
]
