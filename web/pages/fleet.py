"""The fleet page: every station's state now and its energy, worst first, paginated.

Filters by village, kind and state (GET parameters); a village user sees only its
villages (policy.villages_visible). The rows come from web/monitoring.fleet(): the whole
fleet computed from the roll-up at most twice a minute, so a page is a filter and a slice.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from web import monitoring, policy, runtime
from web.fleet_state import STATES, matches
from web.labels import KIND_LABELS, STATE_LABELS, alert_kind_label, local_time
from web.nav import NavItem

nav = NavItem(_("Fleet"), "fleet", "fleet.view", order=10)

#: rows per page: a phone scrolls through 50, an office screen shows them at once
PER_PAGE = 50


def _choice(value: str | None, allowed) -> str | None:
    """A filter's value when it is one of allowed, else None (no filter)."""
    return value if value in allowed else None


@policy.requires("fleet.view")
def fleet(request: HttpRequest) -> HttpResponse:
    """The fleet: counts by state, the filters, one page of stations worst first."""
    config = runtime.config()
    visible = policy.villages_visible(request.user)
    village = _choice(request.GET.get("village"), visible)
    kind = _choice(request.GET.get("kind"), KIND_LABELS)
    state = _choice(request.GET.get("state"), STATES)
    now = monitoring.fleet()
    everything = village is None and kind is None and len(visible) == len(config.villages)
    if everything:
        # the whole fleet: its lists are ready, a page costs only its own rows
        total = len(now.rows)
        counts = {s: len(now.by_state.get(s, ())) for s in STATES}
        rows = now.rows if state is None else now.by_state.get(state, [])
    else:
        pool = now.by_village.get(village, []) if village else now.rows
        base = [r for r in pool if matches(r, villages=visible, village=village, kind=kind)]
        total = len(base)
        counts = {s: 0 for s in STATES}
        for r in base:
            counts[r.state] += 1
        rows = base if state is None else [r for r in base if r.state == state]
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    names = {v.id: v.name for v in config.villages}
    shown = [
        {
            "row": r,
            "village_name": names.get(r.village, r.village),
            "state_label": STATE_LABELS[r.state],
            "kind_label": KIND_LABELS[r.kind],
            "today_kwh": r.today_wh / 1000,
            "month_kwh": r.month_wh / 1000,
            "alerts": [alert_kind_label(k) for k in r.open_kinds],
            "last": local_time(r.last_ts_ms, config),
        }
        for r in page.object_list
    ]
    query = {k: v for k, v in (("village", village), ("kind", kind), ("state", state)) if v}
    villages = [v for v in config.villages if v.id in visible]
    return render(
        request,
        "fleet/fleet.html",
        {
            "page": page,
            "rows": shown,
            "total": total,
            "states": [
                {"id": s, "label": STATE_LABELS[s], "count": counts[s], "current": s == state}
                for s in STATES
            ],
            "villages": villages if len(villages) <= 500 else [],
            "village": village or "",
            "village_text": request.GET.get("village", "") if len(villages) > 500 else "",
            "kinds": list(KIND_LABELS.items()),
            "kind": kind or "",
            "state": state or "",
            "query": urlencode(query),
            "now": local_time(now.now_ms, config),
        },
    )


urlpatterns = [path("fleet/", fleet, name="fleet")]
