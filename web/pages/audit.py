"""The audit trail page (auditor, admin): newest entries first, and the chain's check."""

from __future__ import annotations

from pathlib import Path

from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _

from web import audit as trail
from web import audit_check, policy
from web.accounts import CLI
from web.models import AuditEntry
from web.nav import NavItem

nav = NavItem(_("Audit trail"), "audit", "audit.view", order=90)
PAGE_SIZE = 50


@policy.requires("audit.view")
def audit(request: HttpRequest) -> HttpResponse:
    """A page of entries (newest first) with the verify result of the whole chain."""
    page = Paginator(AuditEntry.objects.order_by("-seq"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = [
        {
            "entry": e,
            "at": e.recorded_at[:19].replace("T", " "),
            "user": e.username if e.username != CLI else _("(command line)"),
            "address": _("this server") if (a := trail.address_of(e)) == "local" else a,
            "action": trail.ACTION_LABELS.get(e.action, e.action),
            "details": trail.details_text(trail.details_of(e)),
        }
        for e in page
    ]
    problems = audit_check.problems(Path(connection.settings_dict["NAME"]))
    return render(request, "audit/audit.html", {"page": page, "rows": rows, "problems": problems})


urlpatterns = [path("audit/", audit, name="audit")]
