"""The site's URLs: one line per area; each area is web/pages/<area>.py.

A page module defines ``urlpatterns`` (its own paths, e.g. "fleet/", "fleet/<id>/")
and optionally ``nav = NavItem(...)`` for the header. Add an area: one line below.
"""

from __future__ import annotations

from importlib import import_module

from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from web.nav import register

AREAS: tuple[str, ...] = (
    "accounts",
    "home",
    "villages",
    "users",
    "audit",
    "notice_check",
    "notices",
    "fleet",
    "station",
    "alerts",
    "runs",
    "imports",
    "ledger_check",
    "receivables",
    "receipts",
    "payments",
    "statements",
    "workorders",
    "caretaker",
    "appraisal",
    "plans",
)

# the language switch works on the login page too
urlpatterns = [path("i18n/setlang/", login_not_required(set_language), name="set_language")]
for _area in AREAS:
    _module = import_module(f"web.pages.{_area}")
    urlpatterns.append(path("", include(_module)))
    if getattr(_module, "nav", None) is not None:
        register(_module.nav)
