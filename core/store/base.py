"""The store boundary: one interface, several backends (DESIGN.md §4)."""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from core.reading import Quality, Reading, Sample, Value


class DayBounds(NamedTuple):
    """First and last good value of one series on one local day (the daily roll-up).

    ``day`` is the site-local date as an int YYYYMMDD. Counter values at period
    boundaries come from here, so revenue never scans raw rows. A named tuple, not a
    dataclass: a province's month is millions of rows, and a tuple is built in C
    (a fifth of a frozen dataclass's cost per row).
    """

    station: str
    device: str
    field: str
    day: int
    first_ts_ms: int | None
    first_value: Value
    last_ts_ms: int | None
    last_value: Value


class Store(abc.ABC):
    """Where readings live. Writes are idempotent on (series, timestamp)."""

    @abc.abstractmethod
    def write(self, readings: Iterable[Reading]) -> int:
        """Store readings atomically (all or none); returns the number of samples."""

    @abc.abstractmethod
    def series(
        self,
        *,
        stations: Sequence[str] | None = None,
        devices: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Sample]:
        """Samples matching the filters, start inclusive, end exclusive, sorted by
        (station, device, field, ts). None means no filter."""

    @abc.abstractmethod
    def latest(
        self, *, stations: Sequence[str] | None = None, devices: Sequence[str] | None = None
    ) -> list[Sample]:
        """The newest sample (any quality) of each series, sorted by (station, device, field)."""

    @abc.abstractmethod
    def daily(
        self,
        *,
        fields: Sequence[str],
        start_day: int,
        end_day: int,
        stations: Sequence[str] | None = None,
    ) -> list[DayBounds]:
        """Daily roll-up rows for local days start_day..end_day inclusive (YYYYMMDD)."""

    def close(self) -> None:  # noqa: B027 - optional for backends without resources
        """Release connections and files."""

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StoreError(Exception):
    """The store cannot be read or written (disk full, schema from a newer version, ...).

    ``transient`` is True when retrying the same write may succeed (disk full, the
    file locked, I/O error) and False when the store refuses this data itself.
    """

    def __init__(self, message: str, *, transient: bool = True):
        super().__init__(message)
        self.transient = transient


def refuses_item(exc: BaseException) -> bool:
    """True when a failed write is to be blamed on its data (an integer beyond 64 bits,
    a value of the wrong type, any error not known to be the store's own), so splitting
    the batch isolates the offending item; False when the store itself failed (disk
    full, locked, I/O, connection) and the same write should be retried later."""
    if isinstance(exc, StoreError):
        return not exc.transient
    # the outbox's sqlite3 errors arrive unwrapped: "disk full", "locked" are operational
    return not isinstance(exc, OSError | MemoryError | sqlite3.OperationalError)


GOOD = Quality.GOOD
