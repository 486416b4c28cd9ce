"""Payments: bank batches of final runs and the bank's return files.

Through revenue.payments, the functions `pvledger payments batch|confirm|list|show`
call: make_batch records a final run's batch once and writes its bank file (mode 0600,
revenue.batch.write_private) to out/payments/ under the config's folder, as the command
writes it; confirm_file checks a return file against its batch and records it, all or
nothing. A dry run confirms into a copy of the ledger. Accounts are masked on every page;
only the batch file download (``payments.act``, finance) carries them. Village users have
no ``payments.view``: every URL here is 403 for them. Changes are audited.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from web import audit, policy, runtime
from web.nav import NavItem
from web.pages.imports import MAX_BYTES, copy_ledger
from web.pages.runs_text import lang

nav = NavItem(_("Payments"), "payments", "payments.view", order=62)
audit.label("payments.batch", _("bank batch made"))
audit.label("payments.confirm", _("bank return file confirmed"))
audit.label("payments.refused", _("bank return file refused"))
for _key, _label in (
    ("batch", _("batch")),
    ("bank", _("bank")),
    ("paid", _("paid")),
    ("failed", _("failed")),
    ("total_fen", _("total [fen]")),
):
    audit.label_detail(_key, _label)


def _ledger_path() -> Path:
    from revenue.payout import ledger_path

    return ledger_path(runtime.config())


def out_dir() -> Path:
    """Where batch files are written: out/payments/ beside the config (as the CLI's default)."""
    return runtime.config().base_dir / "out" / "payments"


def _yuan(fen: int | None) -> str:
    from revenue.money import fen_to_yuan_str

    return "" if fen is None else fen_to_yuan_str(fen, thousands=True)


def _final_runs(ledger) -> list:
    """The effective final run of every period, newest first."""
    periods = sorted({r.period for r in ledger.runs() if r.status == "final"}, reverse=True)
    return [ledger.effective_final(p) for p in periods]


@policy.requires("payments.view")
def payments(request: HttpRequest) -> HttpResponse:
    """Final runs with their batch (or a form to make one) and every batch's status."""
    from revenue.ledger import Ledger
    from revenue.payments import status

    config = runtime.config()
    runs, batches = [], []
    if _ledger_path().exists():
        with Ledger(_ledger_path()) as ledger:
            batches = status(ledger)
            batched = {b["run_seq"]: b["batch_id"] for b in batches}
            runs = [
                {"seq": r.seq, "period": r.period, "batch": batched.get(r.seq, "")}
                for r in _final_runs(ledger)
            ]
    context = {
        "runs": runs,
        "banks": [b.id for b in config.payments.banks],
        "default_bank": getattr(config.payments.bank_by_id(None), "id", ""),
        "can_act": policy.can(request.user, "payments.act"),
        "batches": [
            {
                **b,
                "total": _yuan(b["total_fen"]),
                "paid": _yuan(b["paid_fen"]),
                "failed_yuan": _yuan(b["failed_fen"]),
            }
            for b in batches
        ],
    }
    return render(request, "payments/payments.html", context)


@require_POST
@policy.requires("payments.act")
def make(request: HttpRequest) -> HttpResponse:
    """Make (once) the batch of a final run for a configured bank; audited."""
    from core.problems import BadInput
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.payments import make_batch

    try:
        run_seq = int(request.POST.get("run", ""))
    except ValueError:
        messages.error(request, gettext("Choose a final run."))
        return redirect("payments")
    bank = request.POST.get("bank") or None
    try:
        with Ledger(_ledger_path()) as ledger:
            out = make_batch(runtime.config(), ledger, run_seq, bank_id=bank, out_dir=out_dir())
    except BadInput as exc:
        for p in exc.problems:
            messages.error(request, f"{p.message} — {p.fix}")
        return redirect("payments")
    except LedgerBroken as exc:
        messages.error(request, str(exc))
        return redirect("payments")
    b = out.batch
    if out.new:
        audit.record(
            request,
            "payments.batch",
            {"batch": b.batch_id, "run": b.run_seq, "bank": b.bank, "total_fen": b.total_fen},
        )
    messages.success(
        request,
        gettext("Batch %(id)s: %(n)d transfers, %(total)s yuan; %(u)d unpaid lines.")
        % {
            "id": b.batch_id,
            "n": len(b.transfers),
            "total": _yuan(b.total_fen),
            "u": len(b.unpaid),
        },
    )
    return redirect("payment_batch", batch_id=b.batch_id)


def carried_to(ledger, batch_id: str) -> dict[int, int]:
    """Batch line number -> the final run that paid it again (failed or unpaid lines)."""
    from revenue.adjustments import paid_keys
    from revenue.carry_over import FAILED, UNPAID

    keys = paid_keys(ledger)
    out: dict[int, int] = {}
    for key, period in keys.items():
        source, _, ref = key.partition("/")
        bid, _, no = ref.rpartition("/")
        if source in (FAILED, UNPAID) and bid == batch_id and no.isdigit():
            run = ledger.effective_final(period)
            if run is not None:
                out[int(no)] = run.seq
    return out


@policy.requires("payments.view")
def batch_page(request: HttpRequest, batch_id: str) -> HttpResponse:
    """One batch line by line: masked account, amount, paid / failed (why) / carried to."""
    from revenue import batch as rb
    from revenue.confirm import results
    from revenue.ledger import Ledger
    from revenue.payees import mask_number, unpaid_reason_zh

    if not _ledger_path().exists():
        raise Http404("no ledger")
    with Ledger(_ledger_path()) as ledger:
        b = rb.load(ledger, batch_id)
        if b is None:
            raise Http404("no such batch")
        res = results(ledger, b.batch_id)
        carried = carried_to(ledger, b.batch_id)
    names = {h.id: h.name for h in runtime.config().households}
    words = {
        "paid": gettext("paid"),
        "failed": gettext("failed"),
        "unpaid": gettext("unpaid"),
        "sent": gettext("sent to the bank"),
    }
    lines = []
    for ln in b.lines:
        st, why = res.get(ln.line_no, ("unpaid" if ln.status == "unpaid" else "sent", ""))
        lines.append(
            {
                "no": ln.line_no,
                "payee": ln.payee,
                "name": names.get(ln.payee, ""),
                "village": ln.village,
                "account": mask_number(ln.account) if ln.account else "",
                "yuan": _yuan(ln.amount_fen),
                "status": st,
                "status_text": words.get(st, st),
                # the bank's answer as it came; the batch's own reason in the page's language
                "reason": why or (unpaid_reason_zh(ln.reason) if lang() == "zh" else ln.reason),
                "carried_to": carried.get(ln.line_no, ""),
            }
        )
    context = {
        "b": b,
        "total": _yuan(b.total_fen),
        "lines": lines,
        "can_act": policy.can(request.user, "payments.act"),
    }
    return render(request, "payments/batch.html", context)


@policy.requires("payments.act")
def batch_file(request: HttpRequest, batch_id: str) -> HttpResponse:
    """The bank file of a batch as written to out/payments/ (the only unmasked output)."""
    from revenue import batch as rb
    from revenue.ledger import Ledger
    from revenue.payments import bank_of, template_of

    if not _ledger_path().exists():
        raise Http404("no ledger")
    with Ledger(_ledger_path()) as ledger:
        b = rb.load(ledger, batch_id)
    if b is None:
        raise Http404("no such batch")
    config = runtime.config()
    t = template_of(config, bank_of(config, b.bank))
    f = out_dir() / b.file_name(t)
    if not f.exists():
        rb.write_private(f, rb.render(config, b, bank_of(config, b.bank), t))
    return FileResponse(f.open("rb"), as_attachment=True, filename=f.name)


def attempt_confirm(name: str, content: bytes, *, dry_run: bool):
    """Confirm (or dry-run) a return file; (batch, counts, problems, broken-ledger text)."""
    from core.problems import BadInput
    from revenue.ledger import Ledger, LedgerBroken
    from revenue.payments import confirm_file

    with tempfile.TemporaryDirectory(prefix="pvledger-return-") as tmp:
        folder = Path(tmp)
        upload = folder / "upload" / Path(name).name
        upload.parent.mkdir()
        upload.write_bytes(content)
        target = copy_ledger(_ledger_path(), folder) if dry_run else _ledger_path()
        try:
            with Ledger(target) as ledger:
                b, n = confirm_file(runtime.config(), ledger, upload)
                return b, n, [], None
        except BadInput as exc:
            return None, None, exc.problems, None
        except LedgerBroken as exc:
            return None, None, [], str(exc)


@require_POST
@policy.requires("payments.act")
def confirm(request: HttpRequest) -> HttpResponse:
    """Dry run (button "dry_run") or confirm (button "confirm") of a bank's return file."""
    f = request.FILES.get("file")
    if f is None or f.size > MAX_BYTES:
        messages.error(request, gettext("Choose the bank's return file (at most 20 MB)."))
        return redirect("payments")
    dry_run = "confirm" not in request.POST
    name = Path(f.name).name
    b, n, problems, broken = attempt_confirm(name, f.read(), dry_run=dry_run)
    if not dry_run and b is not None:
        audit.record(
            request,
            "payments.confirm",
            {"batch": b.batch_id, "file": name, "paid": n["paid"], "failed": n["failed"]},
        )
    elif not dry_run:
        audit.record(request, "payments.refused", {"file": name, "problems": len(problems) or 1})
    if b is not None and not dry_run:
        messages.success(
            request,
            gettext("%(file)s: %(p)d paid, %(f)d failed (carried to the next run).")
            % {"file": name, "p": n["paid"], "f": n["failed"]},
        )
        return redirect("payment_batch", batch_id=b.batch_id)
    context = {
        "file": name,
        "problems": [
            {"line": p.line or "", "where": p.where, "message": p.message, "fix": p.fix}
            for p in problems
        ],
        "broken": broken,
        "dry": (
            gettext(
                "%(file)s: the dry run passed for batch %(id)s: %(p)d paid, %(f)d failed "
                "(nothing written)."
            )
            % {"file": name, "id": b.batch_id, "p": n["paid"], "f": n["failed"]}
            if b is not None
            else ""
        ),
    }
    return render(request, "payments/confirm.html", context, status=400 if problems else 200)


urlpatterns = [
    path("payments/", payments, name="payments"),
    path("payments/batch", make, name="payments_make"),
    path("payments/confirm", confirm, name="payments_confirm"),
    path("payments/<str:batch_id>/", batch_page, name="payment_batch"),
    path("payments/<str:batch_id>/file", batch_file, name="payment_batch_file"),
]
