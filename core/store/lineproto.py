"""InfluxDB line protocol for readings (DESIGN.md §4), in both directions.

One reading becomes one line: measurement ``pv`` or ``meter``; tags
``gateway``, ``village``, ``station``, ``device`` (empty tags omitted, as the
protocol requires); canonical fields with integer counters written with the
``i`` suffix; timestamp in milliseconds. A missing value is never written as a
number: the field is left out and its quality travels as an integer field
``<field>_quality`` (written only when not GOOD). Strings are never fields
(VictoriaMetrics would turn them into series of zeros).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from core.reading import Quality, Reading

#: fields that are integers by definition (docs/nomenclature.md); always written "123i"
INT_FIELDS = frozenset(
    {
        "energy_total_wh",
        "energy_today_wh",
        "export_wh",
        "import_wh",
        "status",
        "fault_code",
        "capacity_w",
    }
)
#: fields that are floats by definition; always written without the suffix so a
#: whole-number power never changes the field's type in InfluxDB
FLOAT_FIELDS = frozenset({"power_w", "dc_power_w", "temperature_c"})
QUALITY_SUFFIX = "_quality"

_TAG_ESC = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ ", "\n": "\\n"})
_MEAS_ESC = str.maketrans({",": "\\,", " ": "\\ ", "\n": "\\n"})


def escape_tag(value: str) -> str:
    """Escape a tag key/value or field key for line protocol."""
    return value.translate(_TAG_ESC)


def _format_value(name: str, value: int | float) -> str | None:
    if isinstance(value, bool):
        return f"{int(value)}i"
    if name in INT_FIELDS:
        return f"{int(value)}i"
    if isinstance(value, int) and name not in FLOAT_FIELDS:
        return f"{value}i"
    f = float(value)
    if math.isnan(f) or math.isinf(f):
        return None  # not representable; the caller flags it
    return repr(f)


class LineEncoder:
    """Encodes readings to line protocol, caching the tag prefix of each device."""

    def __init__(self) -> None:
        self._prefix: dict[tuple[str, str, str, str, str], str] = {}

    def prefix(self, r: Reading) -> str:
        """``measurement,tag=value,...`` for the reading's device (cached)."""
        key = (r.measurement, r.gateway, r.village, r.station, r.device)
        p = self._prefix.get(key)
        if p is None:
            parts = [r.measurement.translate(_MEAS_ESC)]
            for tag, val in (
                ("device", r.device),
                ("gateway", r.gateway),
                ("station", r.station),
                ("village", r.village),
            ):
                if val:  # tags sorted by key, the order InfluxDB prefers
                    parts.append(f"{tag}={escape_tag(val)}")
            p = self._prefix[key] = ",".join(parts)
        return p

    def fields(self, r: Reading, names: Iterable[str] | None = None) -> str:
        """The field set of a reading (optionally only some fields); "" if none."""
        out: list[str] = []
        qmap = r.quality
        for name in names if names is not None else r.values:
            if name not in r.values:
                continue
            value = r.values[name]
            q = qmap.get(name, Quality.GOOD) if qmap else Quality.GOOD
            text = None if value is None else _format_value(name, value)
            if text is not None:
                out.append(f"{escape_tag(name)}={text}")
            elif q == Quality.GOOD:
                q = Quality.DECODE_ERROR  # a missing value always carries a flag
            if q != Quality.GOOD:
                out.append(f"{escape_tag(name)}{QUALITY_SUFFIX}={int(q)}i")
        return ",".join(out)

    def line(self, r: Reading, names: Iterable[str] | None = None) -> str | None:
        """One line for the reading (None when it has no fields to write)."""
        fields = self.fields(r, names)
        if not fields:
            return None
        return f"{self.prefix(r)} {fields} {r.ts_ms}"

    def lines(self, readings: Iterable[Reading]) -> list[str]:
        """Lines for many readings, skipping readings without fields."""
        out = []
        for r in readings:
            ln = self.line(r)
            if ln is not None:
                out.append(ln)
        return out


def sample_count(readings: Iterable[Reading]) -> int:
    """Number of field samples in readings (what Store.write returns)."""
    return sum(len(r.values) for r in readings)
