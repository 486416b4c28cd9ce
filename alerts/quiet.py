"""Quiet hours: a site-local window (it may cross midnight) when a contact hears only
urgent kinds; what else arrives is held and sent when the window ends, never dropped.
Pure functions of the window and a local time."""

from __future__ import annotations

import datetime as dt

from core.config.alerts import QuietHours


def minute_of_day(hhmm: str) -> int:
    """'HH:MM' as minutes after local midnight."""
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def in_quiet(q: QuietHours, local: dt.datetime) -> bool:
    """Whether the local time falls inside the window [start, end)."""
    now = local.hour * 60 + local.minute
    start, end = minute_of_day(q.start), minute_of_day(q.end)
    if start < end:
        return start <= now < end
    return now >= start or now < end  # the window crosses midnight


def quiet_end(q: QuietHours, local: dt.datetime) -> dt.datetime:
    """The next end of the window at or after local (when held messages go out)."""
    end = minute_of_day(q.end)
    t = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    return t if t > local else t + dt.timedelta(days=1)
