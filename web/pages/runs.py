"""Payout runs: the ledger's runs, a run's tables and files, and finance's actions.

/runs/ lists every run the ledger recorded (draft, final, superseded) and, for
``runs.compute``, a form to compute a draft. /runs/<seq>/ shows a run's checks, village,
cooperative and household tables, the reconciliation, the differences from the run it
supersedes and who did what, when; /runs/<seq>/files/<name> serves a recorded file.
Actions go through revenue.payout.payout, the function `pvledger revenue` calls.

Four eyes: a run is finalized (or a final run superseded) only from a draft that another
user computed on this site; who computed a draft is the audit trail's ``run.compute``
entry. A village user sees only its villages' lines; its downloads are filtered to them
and the workbook (every village) is 404. Words as zh/en data (web/pages/runs_text.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.functional import lazy
from django.views.decorators.http import require_POST

from web import audit, policy, runtime
from web.nav import NavItem
from web.pages import runs_data as data
from web.pages.runs_text import (
    VALUES_ZH,
    column_label,
    lang,
    pool_label,
    table_label,
    value_label,
    words,
)

nav = NavItem(lazy(lambda: words()["nav"], str)(), "runs", "runs.view", order=40)
for _action in ("run.compute", "run.finalize", "run.correction", "run.supersede", "run.refused"):
    audit.label(_action, lazy(lambda a=_action: words()[a], str)())
for _key in ("run", "period", "draft", "supersedes", "reason", "problem", "same_inputs"):
    audit.label_detail(_key, lazy(lambda k=_key: words()["d." + k], str)())

#: what each role's page offers for a run (policy actions); the view checks them again
ACTIONS = ("runs.compute", "runs.finalize", "runs.supersede")


def _ledger(create: bool = False):
    """The served site's revenue ledger; None when there is none (a page never makes one)."""
    from revenue.ledger import Ledger
    from revenue.payout import ledger_path

    p = ledger_path(runtime.config())
    return Ledger(p) if create or p.exists() else None


@dataclass(frozen=True)
class Act:
    """One audited action on a run: what, who, when (UTC)."""

    action: str
    user: str
    at: str
    details: dict


def run_acts() -> dict[int, list[Act]]:
    """Run seq -> the audited actions that made or used it (compute, finalize, supersede)."""
    from web.models import AuditEntry

    out: dict[int, list[Act]] = {}
    for e in AuditEntry.objects.filter(action__in=ACTION_CODES).order_by("seq"):
        d = audit.details_of(e)
        at = data.local_time(e.recorded_at, runtime.config().site.tz)
        act = Act(e.action, e.username, at, d)
        for key in ("run", "draft", "supersedes"):
            if isinstance(d.get(key), int):
                out.setdefault(d[key], []).append(act)
    return out


#: the actions that record a final run
FINISHING = ("run.finalize", "run.supersede")
ACTION_CODES = ("run.compute", "run.finalize", "run.correction", "run.supersede")


def computed_by(acts: dict[int, list[Act]], seq: int) -> str | None:
    """Who computed run seq on this site (None: on the command line, or not a draft)."""
    return next((a.user for a in acts.get(seq, []) if a.action == "run.compute"), None)


def history_of(acts: dict[int, list[Act]], seq: int) -> list[Act]:
    """What was done to run seq; first, for a final run, how it came about: the computing
    of the draft it finalized, or the correction asked of the run it supersedes."""
    own = acts.get(seq, [])
    made = [a for a in own if a.details.get("run") == seq]
    drafts = sorted({a.details["draft"] for a in made if "draft" in a.details})
    old = sorted({a.details["supersedes"] for a in made if a.action == "run.supersede"})
    before = [a for d in drafts for a in acts.get(d, []) if a.action == "run.compute"]
    before += [a for o in old for a in acts.get(o, []) if a.action == "run.correction"]
    return before + [a for a in own if a not in before]


def _superseded_by(runs) -> dict[int, int]:
    return {r.supersedes: r.seq for r in runs if r.supersedes is not None}


def _status(run, superseded: dict[int, int]) -> str:
    if run.status == "final" and run.seq in superseded:
        return "superseded"
    return run.status


def _refuse(request: HttpRequest, seq: int, text: str, details: dict) -> HttpResponse:
    """Say why an action was refused, record the refusal, back to the run's page."""
    audit.record(request, "run.refused", {"run": seq, **details, "problem": text})
    messages.error(request, text)
    return redirect("run", seq=seq)


def _draft_guard(ledger, run, user: str, acts, t: dict) -> str | None:
    """Why this draft may not be finalized by user now; None when it may."""
    if run.status != "draft":
        return t["not_draft"]
    later = [r for r in ledger.runs(run.period) if r.seq > run.seq]
    if later:
        return t["newer_run"].format(seq=later[-1].seq)
    by = computed_by(acts, run.seq)
    if by is None:
        return t["cli_draft"]
    if by == user:
        return t["four_eyes"].format(user=by)
    entry = ledger.run_entry(run.seq)
    if entry is not None and any(
        e.seq > entry.seq and e.kind != "run" for e in ledger.entries()
    ):  # an import since: the final would be computed on other inputs than were checked
        return t["inputs_changed"]
    return None


def _problems_text(problems) -> str:
    """Problems as one line for a message, in the page's language where they carry it."""
    language = lang()
    zh = language == "zh"
    parts = []
    for p in problems:
        message, fix = p.text(language)
        if fix:
            message += f"（{fix}）" if zh else f" ({fix})"
        parts.append(message)
    return ("；" if zh else "; ").join(parts)


def _publish(period_id: str, **kw):
    """Run revenue.payout.payout as `pvledger revenue` does; (outcome, error text)."""
    from core.problems import BadInput
    from core.store import open_store
    from revenue.ledger import LedgerBroken
    from revenue.payout import ChecksFailed, payout
    from revenue.period import parse_period

    config = runtime.config()
    try:
        period = parse_period(period_id)
    except BadInput as exc:
        return None, _problems_text(exc.problems)
    # as `pvledger revenue`: a SQLite store that was never written is no store (imported
    # meter data alone may pay a period); any other backend is a server to ask
    exists = config.storage.backend != "sqlite" or config.resolve(config.storage.path).exists()
    store = open_store(config, readonly=True) if exists else None
    try:
        with _ledger(create=True) as ledger:
            out = payout(
                config, store, period, out_dir=None, lang=config.site.language, ledger=ledger, **kw
            )
        return out, None
    except BadInput as exc:
        return None, _problems_text(exc.problems)
    except ChecksFailed as exc:
        return None, str(exc)
    except LedgerBroken as exc:
        return None, str(exc)
    finally:
        if store is not None:
            store.close()


@policy.requires("runs.view")
def runs(request: HttpRequest) -> HttpResponse:
    """Every run of the ledger, newest first, with who computed and finalized it."""
    t = words()
    ledger = _ledger()
    rows = []
    if ledger is not None:
        with ledger:
            all_runs = ledger.runs()
        acts = run_acts()
        superseded = _superseded_by(all_runs)
        for r in reversed(all_runs):
            if _scoped(request) and r.status != "final":
                continue  # a village sees what was finalized, never a draft
            status = _status(r, superseded)
            done = history_of(acts, r.seq)
            by = next((a.user for a in done if a.action == "run.compute"), None)
            fin = next(
                (a.user for a in done if a.action in FINISHING and a.details.get("run") == r.seq),
                None,
            )
            rows.append(
                {
                    "seq": r.seq,
                    "period": r.period,
                    "status": status,
                    "status_label": t["s." + status],
                    "at": data.local_time(r.recorded_at, runtime.config().site.tz),
                    "by": by or t["cli"],
                    "finalized_by": fin or ("—" if r.status == "draft" else t["cli"]),
                    "supersedes": r.supersedes,
                }
            )
    return render(
        request,
        "runs/list.html",
        {"t": t, "rows": rows, "can_compute": policy.can(request.user, "runs.compute")},
    )


def _finalized_already(period_id: str) -> str | None:
    """In the page's words: the period has a final run (payout() refuses it too)."""
    ledger = _ledger()
    if ledger is None:
        return None
    with ledger:
        final = next(
            (r for r in ledger.runs() if r.period == period_id and r.status == "final"), None
        )
    return words()["has_final"].format(seq=final.seq) if final else None


@require_POST
@policy.requires("runs.compute")
def compute(request: HttpRequest) -> HttpResponse:
    """Compute a draft for a period (the same function as `pvledger revenue`)."""
    period = request.POST.get("period", "").strip()
    out, error = None, _finalized_already(period)
    if error is None:
        out, error = _publish(period)
    if error is not None:
        audit.record(request, "run.refused", {"period": period, "problem": error[:500]})
        messages.error(request, error)
        return redirect("runs")
    audit.record(request, "run.compute", {"run": out.record.seq, "period": out.record.period})
    messages.success(request, words()["computed"].format(seq=out.record.seq))
    return redirect("run", seq=out.record.seq)


@require_POST
@policy.requires("runs.finalize")
def finalize(request: HttpRequest, seq: int) -> HttpResponse:
    """Finalize a draft another user computed (four eyes)."""
    t = words()
    ledger = _ledger()
    if ledger is None:
        raise Http404("no ledger")
    with ledger:
        run = next((r for r in ledger.runs() if r.seq == seq), None)
        if run is None:
            raise Http404("no such run")
        problem = _draft_guard(ledger, run, request.user.username, run_acts(), t)
        final = ledger.effective_final(run.period)
    if problem is None and final is not None:
        problem = t["has_final"].format(seq=final.seq)
    if problem is not None:
        return _refuse(request, seq, problem, {"period": run.period})
    out, error = _publish(run.period, final=True)
    if error is not None:
        return _refuse(request, seq, error[:500], {"period": run.period})
    same = out.record.inputs_hash == run.inputs_hash
    details = {"run": out.record.seq, "draft": seq, "period": run.period, "same_inputs": same}
    audit.record(request, "run.finalize", details)
    messages.success(request, t["finalized"].format(seq=out.record.seq, draft=seq))
    if not same:  # the store changed between the draft and now (the collector went on)
        messages.warning(request, t["inputs_differ"].format(draft=seq))
    return redirect("run", seq=out.record.seq)


def pending_correction(acts: dict[int, list[Act]], seq: int) -> Act | None:
    """The correction asked for a final run that no supersede has answered yet."""
    pending = None
    for a in acts.get(seq, []):
        if a.action == "run.correction" and a.details.get("run") == seq:
            pending = a
        elif a.action == "run.supersede" and a.details.get("supersedes") == seq:
            pending = None
    return pending


def _final_in_force(seq: int, t: dict):
    """(run, problem): the run, and why it is not a final run in force (None if it is)."""
    ledger = _ledger()
    if ledger is None:
        raise Http404("no ledger")
    with ledger:
        runs_ = ledger.runs()
    run = next((r for r in runs_ if r.seq == seq), None)
    if run is None:
        raise Http404("no such run")
    if run.status != "final" or seq in _superseded_by(runs_):
        return run, t["not_in_force"]
    return run, None


@require_POST
@policy.requires("runs.supersede")
def correction(request: HttpRequest, seq: int) -> HttpResponse:
    """Ask for a final run to be superseded, with the reason; another user carries it out."""
    t = words()
    run, problem = _final_in_force(seq, t)
    reason = request.POST.get("reason", "").strip()
    if problem is None and not reason:
        problem = t["need_reason"]
    if problem is None and pending_correction(run_acts(), seq) is not None:
        problem = t["already_asked"]
    if problem is not None:
        return _refuse(request, seq, problem, {"period": run.period})
    audit.record(request, "run.correction", {"run": seq, "period": run.period, "reason": reason})
    messages.success(request, t["asked"])
    return redirect("run", seq=seq)


@require_POST
@policy.requires("runs.supersede")
def supersede(request: HttpRequest, seq: int) -> HttpResponse:
    """Supersede a final run as another user asked (four eyes), with that user's reason."""
    t = words()
    run, problem = _final_in_force(seq, t)
    asked = pending_correction(run_acts(), seq)
    if problem is None and asked is None:
        problem = t["not_asked"]
    if problem is None and asked.user == request.user.username:
        problem = t["four_eyes_correction"].format(user=asked.user)
    if problem is not None:
        return _refuse(request, seq, problem, {"period": run.period})
    reason = asked.details["reason"]
    out, error = _publish(run.period, supersede=True, reason=reason)
    if error is not None:
        return _refuse(request, seq, error[:500], {"period": run.period})
    details = {"run": out.record.seq, "supersedes": seq, "period": run.period, "reason": reason}
    audit.record(request, "run.supersede", details)
    messages.success(request, t["superseded"].format(seq=out.record.seq, old=seq))
    return redirect("run", seq=out.record.seq)


@policy.requires("runs.view")
def run_page(request: HttpRequest, seq: int) -> HttpResponse:
    """A run: its checks, tables, reconciliation, differences, files and history."""
    t = words()
    config = runtime.config()
    allowed = policy.villages_visible(request.user)
    ledger = _ledger()
    if ledger is None:
        raise Http404("no ledger")
    with ledger:
        all_runs = ledger.runs()
        run = next((r for r in all_runs if r.seq == seq), None)
        if run is None:
            raise Http404("no such run")
        files = ledger.files(seq)
        acts = run_acts()
        guard = _draft_guard(ledger, run, request.user.username, acts, t)
        final = ledger.effective_final(run.period)
    scoped = _scoped(request)
    if scoped and run.status != "final":
        raise Http404("a draft is not shown to a village")  # only what was finalized
    if scoped and not any(
        data.table(files, name, allowed, config) for name in ("households", "villages")
    ):
        raise Http404("no line of the user's villages")  # nothing of theirs in this run
    superseded = _superseded_by(all_runs)
    status = _status(run, superseded)
    tables = []
    for name, cols in data.SHOWN.items():
        rows = data.table(files, name, allowed, config)
        if name == "households":
            people = config.household_by_id
            rows = [{**r, "name": getattr(people.get(r["household_id"]), "name", "")} for r in rows]
        tables.append(
            {
                "name": name,
                "title": table_label(name),
                "columns": [{"label": column_label(c), "num": data.is_numeric(c)} for c in cols],
                "rows": [
                    [{"v": _cell(c, r.get(c, ""), t), "num": data.is_numeric(c)} for c in cols]
                    for r in rows
                ],
            }
        )
    households = data.table(files, "households", allowed, config)
    pools = data.table(files, "villages", allowed, config)
    downloads = [
        {"name": n, "url_name": n}
        for n in sorted(files)
        if not (scoped and n.endswith(".xlsx"))  # the workbook holds every village
    ]
    history = [
        {"label": t[a.action], "user": a.user, "at": a.at, "reason": a.details.get("reason", "")}
        for a in history_of(acts, seq)
    ]
    if not history:
        at = data.local_time(run.recorded_at, config.site.tz)
        history = [{"label": t["recorded_cli"], "user": t["cli"], "at": at, "reason": ""}]
    context = {
        "t": t,
        "run": run,
        "status": status,
        "status_label": t["s." + status],
        "superseded_by": superseded.get(run.seq),
        "tables": tables,
        "differences": data.differences(config, run.diff, allowed) if run.supersedes else [],
        "downloads": downloads,
        "history": history,
        "summary": t["summary"].format(
            count=len(households),
            households=_yuan(data.total_fen(households, "amount_fen")),
            pools=_yuan(data.total_fen(pools, "amount_fen")),
        ),
        "superseded_text": t["superseded_by"].format(seq=superseded.get(run.seq)),
        "inputs_differ": [
            t["inputs_differ"].format(draft=a.details["draft"])
            for a in acts.get(seq, [])
            if a.action == "run.finalize" and a.details.get("same_inputs") is False
        ],
        "can_finalize": guard is None
        and final is None
        and policy.can(request.user, "runs.finalize"),
        "guard": guard
        if run.status == "draft" and policy.can(request.user, "runs.finalize")
        else None,
        **_correction_context(request, run, status, acts, t),
        "notices": [
            {"id": v, "name": config.village_by_id[v].name if v in config.village_by_id else v}
            for v in sorted({r["village_id"] for r in [*households, *pools]})
        ]
        if status == "final"
        else [],
    }
    return render(request, "runs/run.html", context)


def _correction_context(request: HttpRequest, run, status: str, acts, t: dict) -> dict:
    """What a final run in force offers: ask for a correction, or carry out one asked."""
    if status != "final" or not policy.can(request.user, "runs.supersede"):
        return {"can_ask": False, "asked": None, "can_supersede": False, "asked_guard": None}
    asked = pending_correction(acts, run.seq)
    mine = asked is not None and asked.user == request.user.username
    return {
        "can_ask": asked is None,
        "asked": t["asked_by"].format(user=asked.user, at=asked.at, reason=asked.details["reason"])
        if asked
        else None,
        "can_supersede": asked is not None and not mine,
        "asked_guard": t["four_eyes_correction"].format(user=asked.user) if mine else None,
    }


def _scoped(request: HttpRequest) -> bool:
    """Whether the user sees only its villages (and of runs, only the final ones)."""
    return request.user.role in policy.SCOPED_ROLES


def _yuan(fen: int) -> str:
    from revenue.money import fen_to_yuan_str

    return fen_to_yuan_str(fen)


def _cell(column: str, value: str, t: dict) -> str:
    if column == "ok":
        return t["yes"] if value == "yes" else t["no"]
    if column in ("check", "flags", *VALUES_ZH):
        return value_label(column, value)
    if column == "pool":
        return pool_label(value)
    if column == "sources":
        return data.sources_yuan(value)
    if column == "village_id":
        v = runtime.config().village_by_id.get(value)
        return v.name if v is not None else value
    return value


@policy.requires("runs.view")
def run_file(request: HttpRequest, seq: int, name: str) -> HttpResponse:
    """A file the ledger recorded with a run; filtered to a village user's villages."""
    config = runtime.config()
    allowed = policy.villages_visible(request.user)
    scoped = _scoped(request)
    ledger = _ledger()
    if ledger is None:
        raise Http404("no ledger")
    with ledger:
        run = next((r for r in ledger.runs() if r.seq == seq), None)
        files = ledger.files(seq)
    if run is None or (scoped and run.status != "final"):
        raise Http404("no such run")
    if name not in files:
        raise Http404("no such file")
    body = files[name]
    if scoped:
        if not name.endswith(".csv"):
            raise Http404("not for a village user")  # the workbook holds every village
        if not data.table(files, "households", allowed, config) and not data.table(
            files, "villages", allowed, config
        ):
            raise Http404("no line of the user's villages")
        body = data.filtered_csv(body, allowed, config)
    kind = (
        "text/csv; charset=utf-8"
        if name.endswith(".csv")
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urlpatterns = [
    path("runs/", runs, name="runs"),
    path("runs/compute", compute, name="run_compute"),
    path("runs/<int:seq>/", run_page, name="run"),
    path("runs/<int:seq>/finalize", finalize, name="run_finalize"),
    path("runs/<int:seq>/correction", correction, name="run_correction"),
    path("runs/<int:seq>/supersede", supersede, name="run_supersede"),
    path("runs/<int:seq>/files/<str:name>", run_file, name="run_file"),
]
