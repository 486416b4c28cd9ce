"""The home page: who you are, what your role lets you do, your villages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from web import policy, runtime
from web.nav import NavItem

nav = NavItem(_("Home"), "home", None, order=0)


def home(request: HttpRequest) -> HttpResponse:
    """Landing page after login."""
    config = runtime.config()
    ids = policy.villages_visible(request.user)
    villages = [v for v in config.villages if v.id in ids]
    counts = {v.id: 0 for v in villages}
    for s in policy.visible(request.user, config.stations, lambda s: s.village):
        counts[s.village] += 1
    rows = [{"village": v, "stations": counts[v.id]} for v in villages]
    actions = sorted(policy.ROLE_ACTIONS.get(request.user.role, ()))
    return render(
        request,
        "home/home.html",
        {"site": config.site, "rows": rows, "actions": actions},
    )


urlpatterns = [path("", home, name="home")]
