"""Receipts import: upload a receipts CSV (UTF-8 or GBK); dry run or import, all or none.

Both go through revenue.receipt_import.import_file, the function `pvledger receipts
import` calls. A dry run imports into a copy of the ledger (web/pages/imports.copy_ledger),
so it sees every problem the real import would, including conflicts with receipts
imported before, and changes nothing. Action ``receipts.import`` (finance only); each
real import (or refusal) is audited.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from web import audit, policy, runtime
from web.nav import NavItem
from web.pages.imports import MAX_BYTES, copy_ledger, problem_rows

nav = NavItem(_("Receipts"), "receipts", "receipts.import", order=61)
audit.label("receipts.import", _("receipts imported"))
audit.label("receipts.refused", _("receipts import refused"))
for _key, _label in (("receipts", _("receipts")), ("shares", _("shares"))):
    audit.label_detail(_key, _label)


def _ledger_path() -> Path:
    from revenue.payout import ledger_path

    return ledger_path(runtime.config())


def attempt(upload_name: str, content: bytes, *, dry_run: bool):
    """Import (or dry-run) an uploaded receipts file; (summary, problems, broken text)."""
    from core.problems import BadInput
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.receipt_import import import_file

    config = runtime.config()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with tempfile.TemporaryDirectory(prefix="pvledger-receipts-") as tmp:
        folder = Path(tmp)
        upload = folder / "upload" / Path(upload_name).name
        upload.parent.mkdir()
        upload.write_bytes(content)
        target = copy_ledger(_ledger_path(), folder) if dry_run else _ledger_path()
        try:
            with Ledger(target) as ledger:
                return import_file(config, ledger, upload, now), [], None
        except BadInput as exc:
            return None, exc.problems, None
        except LedgerBroken as exc:
            return None, [], str(exc)


def _history() -> list[dict]:
    from revenue.ledger import Ledger
    from revenue.money import fen_to_yuan_str

    p = _ledger_path()
    if not p.exists():
        return []
    with Ledger(p) as ledger:
        rows = ledger.db.execute(
            "SELECT received_on, payer, reference, component, amount_fen FROM receipts "
            "ORDER BY received_on DESC, reference"
        ).fetchall()
    return [
        {"on": on, "payer": payer, "ref": ref, "component": comp, "yuan": fen_to_yuan_str(fen)}
        for on, payer, ref, comp, fen in rows
    ]


@policy.requires("receipts.import")
def receipts(request: HttpRequest) -> HttpResponse:
    """The upload form and the receipts in the ledger, newest first."""
    return render(request, "receipts/receipts.html", {"history": _history()})


@require_POST
@policy.requires("receipts.import")
def upload(request: HttpRequest) -> HttpResponse:
    """Dry run (button "dry_run") or import (button "import") of the uploaded file."""
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, gettext("Choose a CSV file."))
        return redirect("receipts")
    if f.size > MAX_BYTES:
        messages.error(request, gettext("The file is larger than %(mb)d MB.") % {"mb": 20})
        return redirect("receipts")
    dry_run = "import" not in request.POST
    summary, problems, broken = attempt(f.name, f.read(), dry_run=dry_run)
    name = Path(f.name).name
    if not dry_run and summary is not None and not summary.already_imported:
        audit.record(
            request,
            "receipts.import",
            {
                "file": name,
                "sha256": summary.sha256,
                "receipts": summary.receipts,
                "shares": summary.shares,
            },
        )
    elif not dry_run and summary is None:
        audit.record(request, "receipts.refused", {"file": name, "problems": len(problems) or 1})
    rows = problem_rows(problems)
    outcome = ""
    if summary is not None:
        if summary.already_imported:
            outcome = gettext("%(file)s: imported before; nothing changed.") % {"file": name}
        elif dry_run:
            outcome = gettext(
                "%(file)s: the dry run passed: %(n)d receipts as %(s)d shares (nothing written)."
            ) % {"file": name, "n": summary.receipts, "s": summary.shares}
        else:
            outcome = gettext("%(file)s: imported %(n)d receipts as %(s)d shares.") % {
                "file": name,
                "n": summary.receipts,
                "s": summary.shares,
            }
    context = {
        "history": _history(),
        "problems": rows,
        "broken": broken,
        "file": name,
        "outcome": outcome,
    }
    return render(request, "receipts/receipts.html", context, status=400 if rows else 200)


urlpatterns = [
    path("receipts/", receipts, name="receipts"),
    path("receipts/upload", upload, name="receipts_upload"),
]
