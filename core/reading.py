"""The Reading record passed between collector, store, alerts and revenue.

A reading is what one device said at one instant: a handful of canonical
fields (docs/nomenclature.md) with their values, each with a quality flag.
Records are immutable; stages build new ones instead of editing.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType

Value = int | float | None


class Quality(enum.IntEnum):
    """Quality of one field value; stored as a small integer."""

    GOOD = 0
    #: device answered, but the register holds a "not implemented" sentinel
    SENTINEL = 1
    #: transport failure (timeout, connection refused): no answer at all
    COMM_ERROR = 2
    #: the device answered with a Modbus exception (busy, illegal address, ...)
    DEVICE_ERROR = 3
    #: bytes arrived but do not decode to a value (bad scale factor, NaN, garbage)
    DECODE_ERROR = 4
    #: value computed rather than measured (integrated power, interpolation)
    ESTIMATED = 5
    #: payload rejected by a decoder (MQTT) and kept in the dead-letter table
    REJECTED = 6
    #: outside what the station can physically produce (core/plausibility.py): stored
    #: for the record, never used for money, alerts or as the latest value
    IMPLAUSIBLE = 7

    @property
    def label(self) -> str:
        """Lower-case name used in CSV/JSON output."""
        return self.name.lower()


#: measurement names (InfluxDB line protocol) by device class
MEASUREMENT_PV = "pv"
MEASUREMENT_METER = "meter"

_EMPTY: Mapping[str, Quality] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Reading:
    """One device's fields at one instant.

    ``ts_ms`` is UTC epoch milliseconds taken at read time (so replays are
    idempotent). ``values`` maps canonical field names to int/float, or None
    when the value is missing; ``quality`` lists only the fields that are not
    GOOD (a missing value always has a non-GOOD flag).
    """

    station: str
    device: str
    ts_ms: int
    values: Mapping[str, Value]
    quality: Mapping[str, Quality] = field(default_factory=lambda: _EMPTY)
    measurement: str = MEASUREMENT_PV
    village: str = ""
    gateway: str = ""

    def quality_of(self, name: str) -> Quality:
        """Quality flag of one field (GOOD unless flagged)."""
        return self.quality.get(name, Quality.GOOD)

    @property
    def ts(self) -> datetime:
        """Timestamp as an aware UTC datetime."""
        return datetime.fromtimestamp(self.ts_ms / 1000, tz=UTC)

    def samples(self) -> Iterator[Sample]:
        """Flatten into one Sample per field."""
        for name, value in self.values.items():
            q = self.quality.get(name, Quality.GOOD)
            if value is None and q is Quality.GOOD:
                q = Quality.DECODE_ERROR
            yield Sample(
                self.station,
                self.device,
                name,
                self.ts_ms,
                value,
                q,
                self.measurement,
                self.village,
                self.gateway,
            )


@dataclass(frozen=True, slots=True)
class Sample:
    """One field value of one series at one instant: the unit the store keeps."""

    station: str
    device: str
    field: str
    ts_ms: int
    value: Value
    quality: Quality = Quality.GOOD
    measurement: str = MEASUREMENT_PV
    village: str = ""
    gateway: str = ""


def to_ms(ts: datetime) -> int:
    """Aware datetime to UTC epoch milliseconds (naive datetimes are refused)."""
    if ts.tzinfo is None:
        raise ValueError(f"naive datetime {ts!r}: give a time zone")
    return round(ts.timestamp() * 1000)
