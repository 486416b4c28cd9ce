"""Names the monitoring pages show for codes: states, station kinds, alert kinds, flags."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

#: station states (web/fleet_state.STATES)
STATE_LABELS: dict[str, Any] = {
    "stopped": _("stopped"),
    "fault": _("fault"),
    "silent": _("silent"),
    "producing": _("producing"),
    "night": _("night"),
}
#: station kinds (config stations[].kind)
KIND_LABELS: dict[str, Any] = {
    "household": _("household"),
    "village": _("village array"),
    "cooperative": _("cooperative"),
}
#: alert lifecycle states (alerts/state.py)
ALERT_STATE_LABELS: dict[str, Any] = {
    "pending": _("pending"),
    "firing": _("firing"),
    "resolved": _("resolved"),
}
#: events of an alert's history (alerts/state.py; the staff actions last)
EVENT_LABELS: dict[str, Any] = {
    "firing": _("fired"),
    "reminder": _("reminder"),
    "resolved": _("resolved"),
    "ack": _("acknowledged"),
    "assign": _("assigned"),
    "resolved_by_hand": _("resolved by hand"),
}
#: config devices[].role
DEVICE_ROLE_LABELS: dict[str, Any] = {
    "inverter": _("inverter"),
    "meter": _("meter"),
    "logger": _("data logger"),
}
#: core.reading.Quality labels
QUALITY_LABELS: dict[str, Any] = {
    "good": _("good"),
    "sentinel": _("not implemented"),
    "comm_error": _("no answer"),
    "device_error": _("device error"),
    "decode_error": _("undecodable"),
    "estimated": _("estimated"),
    "rejected": _("rejected"),
    "implausible": _("implausible"),
}


def lang() -> str:
    """The page's language as the alert texts name it: "zh" or "en"."""
    return "zh" if (get_language() or "").startswith("zh") else "en"


def alert_kind_label(kind: str) -> str:
    """An alert kind's name in the page's language (the kinds' own zh/en names)."""
    from alerts.kinds import kind_name

    return kind_name(kind, lang())


def local_time(ts_ms: int | None, config: Any) -> str:
    """UTC ms as site-local 'YYYY-MM-DD HH:MM', or an em dash."""
    if ts_ms is None:
        return "—"
    return dt.datetime.fromtimestamp(ts_ms / 1000, config.site.tz).strftime("%Y-%m-%d %H:%M")
