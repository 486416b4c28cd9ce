"""Gateway retention of raw samples: which local days may leave the SQLite store.

A day goes only when it is older than ``storage.raw_retention_days`` AND the county
database has acknowledged every reading of that day: a reading still waiting in the
outbox (or refused into its dead letters) keeps its day and every later day.
"""

from __future__ import annotations

import datetime as dt


def day_number(d: dt.date) -> int:
    """A date as the store's partition key YYYYMMDD."""
    return d.year * 10000 + d.month * 100 + d.day


def cutoff_day(today: dt.date, retention_days: int, oldest_unacked: dt.date | None) -> dt.date:
    """The first local day to keep: days before it may be dropped.

    ``today`` is the site-local date, ``oldest_unacked`` the site-local day of the
    oldest reading the county has not acknowledged (None when everything was).
    """
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    keep_from = today - dt.timedelta(days=retention_days)
    if oldest_unacked is not None and oldest_unacked < keep_from:
        return oldest_unacked
    return keep_from
