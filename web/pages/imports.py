"""Imports: upload a grid meter or statement CSV; dry run or import, all or nothing.

Both go through revenue.meter_import.import_file, the function `pvledger import-meter`
calls. A dry run imports into a copy of the ledger in a temporary folder (SQLite's
backup of the file, with its head file), so it sees every problem the real import would
(rows already imported, conflicts with earlier files) and changes nothing. Action
``imports.upload`` (finance); ``imports.view`` shows the ledger's import history.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.functional import lazy
from django.views.decorators.http import require_POST

from web import audit, policy, runtime
from web.nav import NavItem
from web.pages.imports_text import words
from web.pages.runs_data import local_time
from web.pages.runs_text import lang

nav = NavItem(lazy(lambda: words()["nav"], str)(), "imports", "imports.view", order=50)
for _action in ("import.meter", "import.refused"):
    audit.label(_action, lazy(lambda a=_action: words()[a], str)())
for _key in ("file", "sha256", "statements", "readings", "problems"):
    audit.label_detail(_key, lazy(lambda k=_key: words()["d." + k], str)())

#: the largest file a page accepts [bytes] (a county's month of statements is far less)
MAX_BYTES = 20 * 1024 * 1024


def _ledger_path() -> Path:
    from revenue.payout import ledger_path

    return ledger_path(runtime.config())


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def problem_rows(problems) -> list[dict]:
    """An import's problems as table rows, in the page's language where they carry it."""
    language = lang()
    rows = []
    for p in problems:
        message, fix = p.text(language)
        rows.append({"line": p.line or "", "where": p.where, "message": message, "fix": fix})
    return rows


def copy_ledger(src: Path, folder: Path) -> Path:
    """A consistent copy of the ledger (and its head file) in folder; the copy's path."""
    dst = folder / src.name
    if src.exists():
        with sqlite3.connect(str(src)) as a, sqlite3.connect(str(dst)) as b:
            a.backup(b)
        a.close()
        b.close()
        head = src.with_name(src.name + ".head")
        if head.exists():
            shutil.copy2(head, dst.with_name(dst.name + ".head"))
    return dst


def attempt(upload_name: str, content: bytes, *, dry_run: bool):
    """Import (or dry-run) an uploaded file; (summary, problems, broken-ledger text)."""
    from core.problems import BadInput
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.meter_import import import_file

    config = runtime.config()
    with tempfile.TemporaryDirectory(prefix="pvledger-import-") as tmp:
        folder = Path(tmp)
        upload = folder / "upload" / Path(upload_name).name  # the file's own name in messages
        upload.parent.mkdir()
        upload.write_bytes(content)
        target = copy_ledger(_ledger_path(), folder) if dry_run else _ledger_path()
        try:
            with Ledger(target) as ledger:
                return import_file(config, ledger, upload, _now()), [], None
        except BadInput as exc:
            return None, exc.problems, None
        except LedgerBroken as exc:
            return None, [], str(exc)


@policy.requires("imports.view")
def imports(request: HttpRequest) -> HttpResponse:
    """The upload form (finance) and the ledger's imports, newest first."""
    return render(request, "imports/imports.html", _context(request))


def _history() -> list[dict]:
    from revenue.ledger import Ledger

    p = _ledger_path()
    if not p.exists():
        return []
    with Ledger(p) as ledger:
        rows = ledger.db.execute(
            "SELECT file_name, file_sha256, rows, recorded_at FROM meter_imports "
            "ORDER BY recorded_at DESC"
        ).fetchall()
    by = _importers()
    tz = runtime.config().site.tz
    return [
        {
            "file": f,
            "sha": s[:12],
            "rows": n,
            "at": local_time(at, tz),
            "by": by.get(s, words()["cli"]),
        }
        for f, s, n, at in rows
    ]


def _importers() -> dict[str, str]:
    """File sha256 -> who imported it on this site (the audit trail's import entries)."""
    from web.models import AuditEntry

    return {
        audit.details_of(e).get("sha256", ""): e.username
        for e in AuditEntry.objects.filter(action="import.meter")
    }


def _context(request: HttpRequest, **extra) -> dict:
    return {
        "t": words(),
        "history": _history(),
        "can_upload": policy.can(request.user, "imports.upload"),
        **extra,
    }


@require_POST
@policy.requires("imports.upload")
def upload(request: HttpRequest) -> HttpResponse:
    """Dry run (button "dry_run") or import (button "import") of the uploaded file."""
    t = words()
    f = request.FILES.get("file")
    if f is None:
        messages.error(request, t["no_file"])
        return redirect("imports")
    if f.size > MAX_BYTES:
        messages.error(request, t["too_big"].format(mb=MAX_BYTES // 1024 // 1024))
        return redirect("imports")
    dry_run = "import" not in request.POST
    content = f.read()
    summary, problems, broken = attempt(f.name, content, dry_run=dry_run)
    name = Path(f.name).name
    if not dry_run:
        if summary is not None and not summary.already_imported:
            audit.record(
                request,
                "import.meter",
                {
                    "file": name,
                    "sha256": summary.sha256,
                    "statements": summary.statements,
                    "readings": summary.readings,
                },
            )
        elif summary is None:
            audit.record(request, "import.refused", {"file": name, "problems": len(problems) or 1})
    rows = problem_rows(problems)
    context = _context(
        request,
        problems=rows,
        broken=broken,
        problems_heading=t["bad_rows"].format(file=name, n=len(rows)),
        outcome=_outcome(t, name, summary, dry_run),
    )
    return render(request, "imports/imports.html", context, status=200 if not rows else 400)


def _outcome(t: dict, name: str, summary, dry_run: bool) -> str:
    if summary is None:
        return ""
    if summary.already_imported:
        return t["already"].format(file=name)
    key = "dry_ok" if dry_run else "imported"
    return t[key].format(file=name, statements=summary.statements, readings=summary.readings)


urlpatterns = [
    path("imports/", imports, name="imports"),
    path("imports/upload", upload, name="imports_upload"),
]
