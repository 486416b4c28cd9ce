"""The caretaker log pages (管护台账, issue 18): inspections and cleanings per station and
per caretaker, an entry with an optional photo, the photo served back, and the stations
with no inspection in om.inspection_every_days.

Entries go through alerts/workorders/service.add_inspection (as `pvledger workorders
caretaker-log add`). A photo is accepted only when its bytes are a JPEG or PNG (the
name and the browser's content type are not trusted) and at most PHOTO_MAX_BYTES; it is
stored under the data folder (beside om.db_path, in photos/) with a generated name and
served only to users who may see its station (404 otherwise, by link or guessed URL).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from core.problems import BadInput
from web import audit, clock, policy, runtime
from web.labels import local_time
from web.nav import NavItem
from web.pages.workorders import order_db

nav = NavItem(_("Caretaker log"), "caretaker", "workorders.view", order=33)

audit.label("caretaker.add", _("caretaker log entry added"))

#: largest photo accepted [bytes] (a phone's JPEG is 2-6 MB)
PHOTO_MAX_BYTES = 10 * 1024 * 1024
#: leading bytes of the accepted image types -> the stored file's suffix
PHOTO_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", ".png", "image/png"),
)
#: the names this page gives photos (anything else in the column is never served)
_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png)$")
WHAT_MAX = 500


def photo_dir() -> Path:
    """Where photos are kept: photos/ beside the work order file, in the data folder."""
    config = runtime.config()
    return Path(config.resolve(config.om.db_path)).parent / "photos"


def image_kind(head: bytes) -> tuple[str, str] | None:
    """(suffix, content type) when head starts like a JPEG or PNG, else None."""
    for magic, suffix, ctype in PHOTO_MAGIC:
        if head.startswith(magic):
            return suffix, ctype
    return None


def _today(config) -> dt.date:
    return dt.datetime.fromtimestamp(clock.now_ms() / 1000, config.site.tz).date()


@policy.requires("workorders.view")
def caretaker(request: HttpRequest) -> HttpResponse:
    """The log (filter by station or person), the add form and the overdue stations."""
    from alerts.workorders.service import overdue_inspections

    config = runtime.config()
    allowed = policy.villages_visible(request.user)
    vill = {s.id: s.village for s in config.stations}
    station = request.GET.get("station", "")
    person = request.GET.get("person", "")
    if station:
        policy.station_or_404(request.user, station)
    entries = order_db().inspections(station=station or None, person=person or None)
    entries = [e for e in entries if vill.get(e["station"]) in allowed]
    rows = [
        {
            **e,
            "person_name": _name(config, e["person"]),
            "recorded": local_time(e["recorded_ms"], config),
            "has_photo": bool(e["photo"] and _NAME.match(e["photo"])),
        }
        for e in reversed(entries)
    ]
    names = {v.id: v.name for v in config.villages}
    overdue = [
        {**r, "village_name": names.get(r["village"], r["village"])}
        for r in overdue_inspections(config, order_db(), _today(config))
        if r["village"] in allowed
    ]
    stations = policy.visible(request.user, config.stations, lambda s: s.village)
    return render(
        request,
        "caretaker/log.html",
        {
            "rows": rows,
            "overdue": overdue,
            "every_days": config.om.inspection_every_days,
            "stations": stations,
            "people": list(config.om.people),
            "f_station": station,
            "f_person": person,
            "may_act": policy.can(request.user, "workorders.act"),
            "today": _today(config).isoformat(),
            "max_mb": PHOTO_MAX_BYTES // (1024 * 1024),
        },
    )


def _name(config, pid: str) -> str:
    p = config.om.person(pid)
    return p.name if p is not None else pid


def _refuse(request: HttpRequest, text: str) -> HttpResponse:
    messages.error(request, text)
    return redirect("caretaker")


@require_POST
@policy.requires("workorders.act")
def add(request: HttpRequest) -> HttpResponse:
    """Record an inspection or cleaning, with an optional JPEG/PNG photo."""
    from alerts.workorders.service import add_inspection

    config = runtime.config()
    station = policy.station_or_404(request.user, request.POST.get("station", "").strip())
    try:
        day = dt.date.fromisoformat(
            request.POST.get("day", "").strip() or _today(config).isoformat()
        )
    except ValueError:
        return _refuse(request, gettext("Write the date as YYYY-MM-DD."))
    upload = request.FILES.get("photo")
    data, kind = None, None
    if upload is not None and upload.size:
        if upload.size > PHOTO_MAX_BYTES:
            return _refuse(
                request,
                gettext("The photo is larger than %(mb)s MB; send a smaller one.")
                % {"mb": PHOTO_MAX_BYTES // (1024 * 1024)},
            )
        data = upload.read()
        kind = image_kind(data[:16])
        if kind is None:
            return _refuse(request, gettext("The photo must be a JPEG or PNG image."))
    name, target = None, None
    if data is not None and kind is not None:
        name = secrets.token_hex(16) + kind[0]
        target = photo_dir() / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    try:
        entry = add_inspection(
            config,
            order_db(),
            station=station.id,
            person=request.POST.get("person", "").strip(),
            what=request.POST.get("what", "")[:WHAT_MAX],
            day=day,
            photo=name,
            now_ms=clock.now_ms(),
        )
    except BadInput as exc:
        if target is not None:
            target.unlink(missing_ok=True)  # the entry was refused: keep no orphan photo
        why = "; ".join(f"{p.message} ({p.fix})" for p in exc.problems)
        return _refuse(request, gettext("Refused: %(why)s") % {"why": why})
    audit.record(
        request,
        "caretaker.add",
        {
            "entry": entry,
            "station": station.id,
            "person": request.POST.get("person", "").strip(),
            "day": day.isoformat(),
            "photo": name or "",
        },
    )
    messages.success(request, gettext("Log entry recorded."))
    return redirect(reverse("caretaker") + f"?station={station.id}")


@policy.requires("workorders.view")
def photo(request: HttpRequest, entry_id: int) -> HttpResponse:
    """An entry's photo, for users who may see its station; 404 for anyone else."""
    entry = next((e for e in order_db().inspections() if e["id"] == entry_id), None)
    if entry is None or not entry["photo"] or not _NAME.match(entry["photo"]):
        raise Http404("no such photo")
    policy.station_or_404(request.user, entry["station"])
    file = photo_dir() / entry["photo"]
    if not file.is_file():
        raise Http404("no such photo")
    ctype = "image/png" if file.suffix == ".png" else "image/jpeg"
    resp = FileResponse(file.open("rb"), content_type=ctype)
    resp["X-Content-Type-Options"] = "nosniff"
    return resp


urlpatterns = [
    path("caretaker/", caretaker, name="caretaker"),
    path("caretaker/add/", add, name="caretaker_add"),
    path("caretaker/photo/<int:entry_id>/", photo, name="caretaker_photo"),
]
