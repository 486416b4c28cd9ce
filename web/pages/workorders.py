"""The work order pages (issue 18): the list with filters, one order with its deadline,
history, escalations, lost energy and income and the alerts that opened it, and the O&M
actions (open by hand, assign, on site, repaired with a note).

Every read and action goes through alerts/workorders/service.py, the functions
`pvledger workorders` calls; a refusal there (unknown person, a state that does not
allow the action) is shown as the page's error and changes nothing. Only roles with
"workorders.act" (om, admin) act; an auditor reads; a village user reads only the
orders of its villages (404 for another's, by link or by a guessed id).
"""

from __future__ import annotations

import threading

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.problems import BadInput
from web import audit, clock, monitoring, policy, runtime
from web.labels import alert_kind_label, local_time
from web.nav import NavItem

nav = NavItem(_("Work orders"), "workorders", "workorders.view", order=32)

audit.label("workorder.open", _("work order opened by hand"))
audit.label("workorder.assign", _("work order assigned"))
audit.label("workorder.onsite", _("work order on site"))
audit.label("workorder.repaired", _("work order marked repaired"))

#: longest repair note kept
NOTE_MAX = 500
_H = 3_600_000

STATE_LABELS = {
    "open": _("open"),
    "assigned": _("assigned"),
    "on_site": _("on site"),
    "repaired": _("repaired"),
    "verified": _("verified"),
    "reopened": _("reopened"),
}
EVENT_LABELS = {
    "opened": _("opened"),
    "alert": _("alert joined"),
    "assign": _("assigned"),
    "onsite": _("on site"),
    "repaired": _("repaired"),
    "verified": _("verified by the data"),
    "reopened": _("reopened by the data"),
    "escalated": _("escalated"),
}

#: history detail keys in the page's language
DETAIL_LABELS = {
    "who": _("Assigned to"),
    "note": _("Note"),
    "level": _("Escalation level"),
    "kind": _("Fault"),
    "alert_id": _("Alerts"),
}

_lock = threading.Lock()
_db: list = []


def order_db():
    """The work order file (om.db_path), one per server process (safe across threads)."""
    from alerts.workorders.service import open_db

    with _lock:
        if not _db:
            _db.append(open_db(runtime.config()))
        return _db[0]


def village_of(order) -> str | None:
    """The village an order concerns: its own, else its station's."""
    if order.village:
        return order.village
    st = runtime.config().station_by_id.get(order.station or "")
    return st.village if st is not None else None


def _order_or_404(request: HttpRequest, order_id: int):
    order = order_db().get(order_id)
    if order is None:
        raise Http404("no such work order")
    policy.require_village(request.user, village_of(order) or "")
    return order


def yuan(fen: int | None) -> str:
    """Fen as yuan with two decimals ("—" for none); integer arithmetic, no float."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def kwh(wh: int | None) -> str:
    """Wh as kWh with one decimal ("—" for none)."""
    if wh is None:
        return "—"
    return f"{wh / 1000:.1f}"


def kind_label(kind: str) -> str:
    """A fault class's name in the page's language ("manual": opened by hand)."""
    return gettext("by hand") if kind == "manual" else alert_kind_label(kind)


def _person_name(config, pid: str | None) -> str:
    p = config.om.person(pid or "") if pid else None
    return f"{p.name} ({p.id})" if p is not None else (pid or "—")


def _row(o, config, now_ms: int) -> dict:
    from alerts.workorders.loop import order_due_ms

    due = order_due_ms(config, o)
    names = {v.id: v.name for v in config.villages}
    return {
        "o": o,
        "state": STATE_LABELS.get(o.state, o.state),
        "kind": kind_label(o.kind),
        "village": names.get(village_of(o) or "", village_of(o) or "—"),
        "opened": local_time(o.opened_ms, config),
        "due": local_time(due, config),
        "overdue": o.state not in ("repaired", "verified") and now_ms > due,
        "assignee": _person_name(config, o.assignee) if o.assignee else "—",
        "lost_kwh": kwh(o.lost_wh),
        "lost_yuan": yuan(o.lost_fen),
    }


@policy.requires("workorders.view")
def workorders(request: HttpRequest) -> HttpResponse:
    """Work orders, newest first, filtered by state, village and overdue."""
    from alerts.workorders.model import STATES

    config = runtime.config()
    now = clock.now_ms()
    allowed = policy.villages_visible(request.user)
    state = request.GET.get("state", "")
    village = request.GET.get("village", "")
    overdue = request.GET.get("overdue", "") == "1"
    orders = [o for o in order_db().orders() if village_of(o) in allowed]
    if state in STATES:
        orders = [o for o in orders if o.state == state]
    if village in allowed:
        orders = [o for o in orders if village_of(o) == village]
    rows = [_row(o, config, now) for o in reversed(orders)]
    if overdue:
        rows = [r for r in rows if r["overdue"]]
    stations = policy.visible(request.user, config.stations, lambda s: s.village)
    return render(
        request,
        "workorders/list.html",
        {
            "rows": rows,
            "states": [(s, STATE_LABELS[s]) for s in STATES],
            "villages": [v for v in config.villages if v.id in allowed],
            "f_state": state,
            "f_village": village,
            "f_overdue": overdue,
            "may_act": policy.can(request.user, "workorders.act"),
            "stations": stations,
            "kinds": [(k, kind_label(k)) for k in sorted(config.om.deadline_h)],
            "now": local_time(now, config),
        },
    )


def _history_row(h, config) -> dict:
    d = dict(h["detail"])
    if h["event"] == "assign" and d.get("who"):
        d["who"] = _person_name(config, d["who"])
    return {
        "at": local_time(h["ts_ms"], config),
        "event": h["event"],
        "label": EVENT_LABELS.get(h["event"], h["event"]),
        "actor": _person_name(config, h["actor"]) if config.om.person(h["actor"]) else h["actor"],
        "detail": "; ".join(
            f"{DETAIL_LABELS.get(k, k)}: {v}" for k, v in d.items() if v not in (None, "")
        ),
    }


def _alerts(ids: list[int], config, user) -> list[dict]:
    """The order's alerts with what the engine observed (the evidence)."""
    from alerts.message import observed_text
    from web.labels import lang

    out = []
    db = monitoring.alert_db()
    for i in ids:
        a = db.get(i)
        if a is None:
            continue
        try:
            seen = observed_text(a, lang(), a.resolved_ms or clock.now_ms(), config)
        except Exception:  # a kind's wording must not take the page down
            seen = ""
        out.append(
            {
                "id": a.id,
                "kind": alert_kind_label(a.kind),
                "since": local_time(a.since_ms, config),
                "observed": seen,
                "link": policy.can(user, "alerts.view"),
            }
        )
    return out


@policy.requires("workorders.view")
def workorder(request: HttpRequest, order_id: int) -> HttpResponse:
    """One work order: state, deadline and remaining working hours, history, losses."""
    from alerts.workorders.deadline import working_ms
    from alerts.workorders.service import described

    config = runtime.config()
    o = _order_or_404(request, order_id)
    now = clock.now_ms()
    d = described(config, order_db(), o, monitoring.store(), now)
    wh, tz = config.om.working_hours, config.site.tz
    active = o.state not in ("repaired", "verified")
    if active and not d["overdue"]:
        left_h = working_ms(now, d["due_ms"], wh, tz) / _H
    elif active:
        left_h = -working_ms(d["due_ms"], now, wh, tz) / _H
    else:
        left_h = None
    history = [_history_row(h, config) for h in d["history"]]
    return render(
        request,
        "workorders/order.html",
        {
            "o": o,
            "row": _row(o, config, now),
            "d": d,
            "left_h": None if left_h is None else f"{left_h:.1f}",
            "history": history,
            "escalations": [h for h in history if h["event"] == "escalated"],
            "lost_kwh": kwh(d["lost_wh"]),
            "lost_yuan": yuan(d["lost_fen"]),
            "repaired_at": local_time(o.repaired_ms, config) if o.repaired_ms else "",
            "repaired_by": _person_name(config, o.repaired_by) if o.repaired_by else "",
            "verified_at": local_time(o.verified_ms, config) if o.verified_ms else "",
            "alerts": _alerts(d["alerts"], config, request.user),
            "may_act": policy.can(request.user, "workorders.act"),
            "people": list(config.om.people),
            "note_max": NOTE_MAX,
        },
    )


def _refused(request: HttpRequest, exc: BadInput, to) -> HttpResponse:
    # the service's own words (the CLI's), after the page's
    why = "; ".join(f"{p.message} ({p.fix})" for p in exc.problems)
    messages.error(request, gettext("Refused: %(why)s") % {"why": why})
    return to


@require_POST
@policy.requires("workorders.act")
def open_order(request: HttpRequest) -> HttpResponse:
    """Open a work order by hand for a station the user may see (service.open_manual)."""
    from alerts.workorders.service import open_manual

    config = runtime.config()
    station = policy.station_or_404(request.user, request.POST.get("station", "").strip())
    kind = request.POST.get("kind", "manual").strip() or "manual"
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    by = request.user.get_username()
    try:
        o = open_manual(
            config,
            order_db(),
            station=station.id,
            kind=kind,
            now_ms=clock.now_ms(),
            by=by,
            note=note,
        )
    except BadInput as exc:
        return _refused(request, exc, redirect("workorders"))
    audit.record(
        request, "workorder.open", {"order": o.id, "station": o.station, "kind": kind, "note": note}
    )
    messages.success(request, gettext("Work order %(id)s opened.") % {"id": o.id})
    return redirect("workorder", order_id=o.id)


def _act(request: HttpRequest, order_id: int, action: str, **detail) -> HttpResponse:
    """One action through service.act, audited after it succeeded."""
    from alerts.workorders.service import act

    config = runtime.config()
    o = _order_or_404(request, order_id)
    by = request.user.get_username()
    try:
        new = act(config, order_db(), o.id, action, now_ms=clock.now_ms(), actor=by, **detail)
    except BadInput as exc:
        return _refused(request, exc, redirect("workorder", order_id=o.id))
    audit.record(
        request,
        f"workorder.{action}",
        {"order": o.id, "state": f"{o.state} → {new.state}", **detail},
    )
    messages.success(
        request,
        gettext("Work order %(id)s is now %(state)s.")
        % {"id": o.id, "state": STATE_LABELS.get(new.state, new.state)},
    )
    return redirect("workorder", order_id=o.id)


@require_POST
@policy.requires("workorders.act")
def assign(request: HttpRequest, order_id: int) -> HttpResponse:
    """Assign to a contractor or caretaker of om.people."""
    return _act(request, order_id, "assign", who=request.POST.get("who", "").strip())


@require_POST
@policy.requires("workorders.act")
def onsite(request: HttpRequest, order_id: int) -> HttpResponse:
    """The assignee is at the station."""
    return _act(request, order_id, "onsite")


@require_POST
@policy.requires("workorders.act")
def repaired(request: HttpRequest, order_id: int) -> HttpResponse:
    """Marked repaired with a note (the data then verifies or reopens it)."""
    note = request.POST.get("note", "").strip()[:NOTE_MAX]
    return _act(request, order_id, "repaired", note=note)


urlpatterns = [
    path("workorders/", workorders, name="workorders"),
    path("workorders/open/", open_order, name="workorder_open"),
    path("workorders/<int:order_id>/", workorder, name="workorder"),
    path("workorders/<int:order_id>/assign/", assign, name="workorder_assign"),
    path("workorders/<int:order_id>/onsite/", onsite, name="workorder_onsite"),
    path("workorders/<int:order_id>/repaired/", repaired, name="workorder_repaired"),
]
