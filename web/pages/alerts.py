"""The alerts pages: open and recent alerts, one alert with the evidence the engine
recorded, and the O&M actions on it (acknowledge with a note, assign, resolve by hand).

Actions go through alerts/state.py (the same AlertDb.ack the CLI's `alerts ack` uses),
are recorded in the audit trail and shown on the alert's page with who and when. Only
roles with "alerts.act" (om, admin) may act; others read; a village user sees only the
alerts of its villages (404 for another's, by link or by a guessed id).
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from web import audit, clock, monitoring, policy, runtime
from web.labels import ALERT_STATE_LABELS, EVENT_LABELS, alert_kind_label, lang, local_time
from web.nav import NavItem

nav = NavItem(_("Alerts"), "alerts", "alerts.view", order=30)

audit.label("alert.ack", _("alert acknowledged"))
audit.label("alert.assign", _("alert assigned"))
audit.label("alert.resolve", _("alert resolved by hand"))

#: resolved alerts listed below the open ones [ms]
RECENT_MS = 7 * 86_400_000
#: longest note kept with an action
NOTE_MAX = 500


def village_of(alert) -> str | None:
    """The village an alert concerns: its own, its station's, or None (a gateway's)."""
    if alert.village:
        return alert.village
    st = runtime.config().station_by_id.get(alert.station or "")
    return st.village if st is not None else None


def _may_see(user, alert) -> bool:
    v = village_of(alert)
    if v is None:
        return user.role not in policy.SCOPED_ROLES
    return v in policy.villages_visible(user)


def _alert_or_404(request: HttpRequest, alert_id: int):
    alert = monitoring.alert_db().get(alert_id)
    if alert is None or not _may_see(request.user, alert):
        raise Http404("no such alert")
    return alert


def _row(alert, config) -> dict:
    names = {v.id: v.name for v in config.villages}
    v = village_of(alert)
    return {
        "alert": alert,
        "kind": alert_kind_label(alert.kind),
        "state": ALERT_STATE_LABELS.get(alert.state, alert.state),
        "village": names.get(v or "", v or "—"),
        "since": local_time(alert.since_ms, config),
        "resolved": local_time(alert.resolved_ms, config),
        "acked": local_time(alert.acked_ms, config) if alert.acked_ms else "",
    }


@policy.requires("alerts.view")
def alerts(request: HttpRequest) -> HttpResponse:
    """Open alerts (newest first), then those resolved in the last seven days."""
    config = runtime.config()
    now = clock.now_ms()
    got = [
        a
        for a in monitoring.alert_db().alerts(since_ms=now - RECENT_MS)
        if _may_see(request.user, a)
    ]
    got.sort(key=lambda a: a.since_ms, reverse=True)
    open_rows = [_row(a, config) for a in got if a.state != "resolved"]
    recent = [_row(a, config) for a in got if a.state == "resolved"]
    return render(
        request,
        "alerts/alerts.html",
        {"open": open_rows, "recent": recent, "now": local_time(now, config)},
    )


def _event_row(e, config) -> dict:
    p = e.payload
    staff = e.event in ("ack", "assign", "resolved_by_hand")
    people = {x.id: x.name for x in config.om.people} if config.om else {}
    return {
        "event": e,
        "label": EVENT_LABELS.get(e.event, e.event),
        "at": local_time(e.ts_ms, config),
        "by": (p.get("by") or "") if staff else "",
        "note": (p.get("note") or "") if staff else "",
        "to": people.get(p.get("to") or "", p.get("to") or "") if e.event == "assign" else "",
        "text": p.get("text", "") if not staff else "",
        "seen": json.dumps(p.get("seen"), ensure_ascii=False, indent=1, sort_keys=True)
        if p.get("seen")
        else "",
    }


def _people(config, village: str | None) -> list:
    """The O&M people an alert can go to: those of its village first, then the rest."""
    people = list(config.om.people) if config.om else []
    mine = [p for p in people if village and p.villages and village in p.villages]
    return mine + [p for p in people if p not in mine]


@policy.requires("alerts.view")
def alert(request: HttpRequest, alert_id: int) -> HttpResponse:
    """One alert: what the engine saw, its events, who acted and when; the action forms."""
    from alerts.message import observed_text

    config = runtime.config()
    a = _alert_or_404(request, alert_id)
    events = [_event_row(e, config) for e in monitoring.alert_db().events_of(a.id)]
    assigned = next((r for r in reversed(events) if r["event"].event == "assign"), None)
    acked = next((r for r in reversed(events) if r["event"].event == "ack"), None)
    try:
        observed = observed_text(a, lang(), a.resolved_ms or clock.now_ms(), config)
    except Exception:  # a kind's wording must not take the page down
        observed = json.dumps(a.seen, ensure_ascii=False)
    return render(
        request,
        "alerts/alert.html",
        {
            "row": _row(a, config),
            "a": a,
            "observed": observed,
            "events": events,
            "assigned": assigned,
            "acked_by": (acked["by"] or "") if acked else "",
            "may_act": policy.can(request.user, "alerts.act"),
            "people": _people(config, village_of(a)),
            "note_max": NOTE_MAX,
        },
    )


def _note(request: HttpRequest) -> str | None:
    note = request.POST.get("note", "").strip()
    return note[:NOTE_MAX] or None


def _done(request: HttpRequest, alert_id: int, text: str) -> HttpResponse:
    monitoring.invalidate()
    messages.success(request, text)
    return redirect("alert", alert_id=alert_id)


@require_POST
@policy.requires("alerts.act")
def ack(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Acknowledge with an optional note (AlertDb.ack, as `pvledger alerts ack`)."""
    a = _alert_or_404(request, alert_id)
    note = _note(request)
    by = request.user.get_username()
    monitoring.alert_db().ack(a.id, now_ms=clock.now_ms(), note=note, by=by)
    audit.record(
        request,
        "alert.ack",
        {"alert": a.id, "kind": a.kind, "subject": a.subject, "note": note or ""},
    )
    return _done(request, a.id, gettext("Alert acknowledged."))


@require_POST
@policy.requires("alerts.act")
def assign(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Assign to a person of om.people (the config's O&M registry)."""
    config = runtime.config()
    a = _alert_or_404(request, alert_id)
    to = request.POST.get("to", "").strip()
    if not config.om or config.om.person(to) is None:
        return HttpResponseBadRequest(
            gettext("Choose a person from om.people in the config; %(to)s is not one.") % {"to": to}
        )
    monitoring.alert_db().assign(a.id, now_ms=clock.now_ms(), to=to, by=request.user.get_username())
    audit.record(request, "alert.assign", {"alert": a.id, "kind": a.kind, "to": to})
    return _done(request, a.id, gettext("Alert assigned."))


@require_POST
@policy.requires("alerts.act")
def resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    """Resolve by hand with an optional note (the engine opens a new alert if it persists)."""
    a = _alert_or_404(request, alert_id)
    note = _note(request)
    try:
        monitoring.alert_db().resolve_by_hand(
            a.id, now_ms=clock.now_ms(), note=note, by=request.user.get_username()
        )
    except ValueError:
        messages.error(request, gettext("This alert is already resolved."))
        return redirect("alert", alert_id=a.id)
    audit.record(request, "alert.resolve", {"alert": a.id, "kind": a.kind, "note": note or ""})
    return _done(request, a.id, gettext("Alert resolved."))


urlpatterns = [
    path("alerts/", alerts, name="alerts"),
    path("alerts/<int:alert_id>/", alert, name="alert"),
    path("alerts/<int:alert_id>/ack/", ack, name="alert_ack"),
    path("alerts/<int:alert_id>/assign/", assign, name="alert_assign"),
    path("alerts/<int:alert_id>/resolve/", resolve, name="alert_resolve"),
]
