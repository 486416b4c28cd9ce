"""A village's page: its stations from the registry (scoped: 404 outside the user's)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from web import policy, runtime


@policy.requires("fleet.view")
def village(request: HttpRequest, village_id: str) -> HttpResponse:
    """One village: name, town, its stations with kind, capacity and owner."""
    v = policy.village_or_404(request.user, village_id)
    stations = [s for s in runtime.config().stations if s.village == v.id]
    total_kw = sum(s.capacity_kw for s in stations)
    return render(
        request,
        "villages/village.html",
        {"village": v, "stations": stations, "total_kw": total_kw},
    )


urlpatterns = [path("villages/<str:village_id>/", village, name="village")]
