"""The public notice check (no login): /notice/check?code=... says whether a printed
notice (公示) matches the ledger.

It shows only what the sheet itself shows: village, period, run number, the number of
households and the totals, and whether the run is still in force or was superseded. No
name, no account, no line. The code is revenue/notice.check_code (10 hex digits of a hash
of the run hash and the village), so guessing one is hopeless and a typo matches nothing.

Its words are data here, in both languages, not in the site's gettext catalogue: the page
is for the public reading a Chinese sheet, and it stays one module.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import get_language

from web import runtime

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "公示核对",
        "intro": "输入公示上印的核对码（10 位），核对公示与收益台账是否一致。",
        "code": "核对码",
        "submit": "核对",
        "malformed": "核对码应为 10 位数字或字母 a–f，请对照公示重新输入。",
        "nomatch": "台账中没有与此核对码相符的公示。请核对输入；"
        "如公示上的码确实如此，请拨打公示上的投诉电话反映。",
        "match": "此公示与收益台账一致。",
        "superseded": "注意：该结算已被第 {n} 次结算更正，请以更正后的公示为准。",
        "village": "村",
        "period": "结算期",
        "run": "结算批次",
        "run_value": "第 {n} 次结算",
        "status": "状态",
        "final": "有效（定稿）",
        "superseded_status": "已被第 {n} 次结算更正",
        "households": "农户收益",
        "households_value": "{count} 户，合计 {yuan} 元（{capital}）",
        "pools": "村集体收益",
        "pools_value": "{yuan} 元（{capital}）",
        "total": "合计",
        "total_value": "{yuan} 元",
    },
    "en": {
        "title": "Check a notice",
        "intro": "Enter the check code printed on the notice (10 characters) to see whether "
        "it matches the ledger.",
        "code": "Check code",
        "submit": "Check",
        "malformed": "A check code is 10 digits or letters a-f; compare with the notice and "
        "enter it again.",
        "nomatch": "No notice in the ledger has this check code. Check what you typed; if the "
        "sheet really says this, call the complaint telephone printed on it.",
        "match": "This notice matches the ledger.",
        "superseded": "Note: this run was corrected by run {n}; the corrected notice applies.",
        "village": "Village",
        "period": "Period",
        "run": "Payout run",
        "run_value": "run {n}",
        "status": "Status",
        "final": "in force (final)",
        "superseded_status": "corrected by run {n}",
        "households": "Households",
        "households_value": "{count} households, {yuan} yuan in all ({capital})",
        "pools": "Village collective",
        "pools_value": "{yuan} yuan ({capital})",
        "total": "Total",
        "total_value": "{yuan} yuan",
    },
}


def _lang() -> str:
    return "zh" if (get_language() or "").startswith("zh") else "en"


def summary(n, t: dict[str, str]) -> list[tuple[str, str]]:
    """(label, value) rows of a matching notice: only what the printed sheet shows."""
    from revenue.capital_numerals import capital_yuan
    from revenue.money import fen_to_yuan_str

    later = n.superseded_by
    return [
        (t["village"], n.village_name),
        (t["period"], f"{n.period_zh}（{n.period}）" if _lang() == "zh" else n.period),
        (t["run"], t["run_value"].format(n=n.run_seq)),
        (t["status"], t["final"] if later is None else t["superseded_status"].format(n=later)),
        (
            t["households"],
            t["households_value"].format(
                count=len(n.lines),
                yuan=fen_to_yuan_str(n.households_fen),
                capital=capital_yuan(n.households_fen),
            ),
        ),
        (
            t["pools"],
            t["pools_value"].format(
                yuan=fen_to_yuan_str(n.pools_fen), capital=capital_yuan(n.pools_fen)
            ),
        ),
        (t["total"], t["total_value"].format(yuan=fen_to_yuan_str(n.total_fen))),
    ]


def lookup(code: str):
    """The notice of a normalized code, or None; never creates a ledger that is not there."""
    from revenue import notice
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path

    config = runtime.config()
    path = ledger_path(config)
    if not path.exists():
        return None
    with Ledger(path) as ledger:
        return notice.find(config, ledger, code)


@login_not_required
def check(request: HttpRequest) -> HttpResponse:
    """The form; with ?code=, the answer (404 when the code matches no notice)."""
    from revenue.notice import normalize_code

    t = TEXT[_lang()]
    raw = request.GET.get("code", "").strip()
    ctx: dict[str, object] = {"t": t, "code": raw, "state": "form", "rows": []}
    status = 200
    if raw:
        code = normalize_code(raw)
        found = lookup(code) if code else None
        if code is None:
            ctx["state"], status = "malformed", 400
        elif found is None:
            ctx["state"], status = "nomatch", 404
        else:
            ctx.update(state="match", rows=summary(found, t), code=code)
            if found.superseded_by is not None:
                ctx["warning"] = t["superseded"].format(n=found.superseded_by)
    return render(request, "notice/check.html", ctx, status=status)


urlpatterns = [path("notice/check", check, name="notice_check")]
