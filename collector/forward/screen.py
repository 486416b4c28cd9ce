"""What the county database would skip or mangle while answering 204, found before sending.

VictoriaMetrics (1.79, checked against the real server) answers 204 and only
logs a warning when it:

- skips a line with an integer outside 64 bits ("value out of range");
- skips a sample stamped more than 2 days ahead of its clock, or older than
  its ``-retentionPeriod``;
- stores a series' samples in blocks with one decimal exponent per block: a
  single 1e308 makes its neighbours in the block read back as 0 (1500.0 and
  1234.5 both became 0), so a magnitude far beyond any meter is refused here;
- keeps floats only (an integer above 2^53 would be rounded).

InfluxDB 2 refuses out-of-range integers with 400 (the whole batch) and keeps
int64 and float64 exactly, so only the common checks apply to it. A line with
a bad field is split: the good fields go on, the bad ones go to the outbox's
dead-letter table with the reason; a line with a bad timestamp goes there whole.
"""

from __future__ import annotations

import math
import re
import urllib.request
from dataclasses import dataclass

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: VictoriaMetrics stores float64: integers are exact up to 2^53
VM_INT_EXACT = 2**53
#: larger magnitudes zero their neighbours in VictoriaMetrics (and no meter reads them)
VM_FLOAT_MAX = 1e15
#: VictoriaMetrics drops samples more than 2 days ahead of its clock; one day leaves
#: room for a gateway clock that is a day fast [ms]
VM_FUTURE_MS = 86_400_000
#: InfluxDB keeps nanoseconds in int64: the last representable instant [ms]
INFLUX_MAX_TS_MS = INT64_MAX // 1_000_000

_UNESCAPED_SPACE = re.compile(r"(?<!\\) ")
_UNESCAPED_COMMA = re.compile(r"(?<!\\),")


@dataclass(frozen=True)
class Screen:
    """The checks for one database flavour ("victoriametrics" or "influxdb2")."""

    flavour: str = "victoriametrics"
    #: samples older than this are deleted by the database (None: unknown, not checked) [ms]
    retention_ms: int | None = None


def _field_problem(screen: Screen, value: str) -> str | None:
    if value.endswith("i"):
        try:
            n = int(value[:-1])
        except ValueError:
            return None  # not ours to judge
        if not INT64_MIN <= n <= INT64_MAX:
            return "integer beyond 64 bits (the database skips the whole line)"
        if screen.flavour == "victoriametrics" and abs(n) > VM_INT_EXACT:
            return "integer beyond 2^53 (VictoriaMetrics keeps float64 and would round it)"
        return None
    try:
        f = float(value)
    except ValueError:
        return None  # strings and booleans: not written by pvledger
    if not math.isfinite(f):
        return "not a finite number"
    if screen.flavour == "victoriametrics" and abs(f) > VM_FLOAT_MAX:
        return (
            f"|value| > {VM_FLOAT_MAX:g} (VictoriaMetrics stores a block of samples with one "
            "exponent: its neighbours in the series would read back as 0)"
        )
    return None


def _time_problem(screen: Screen, ts_ms: int, now_ms: int) -> str | None:
    if screen.flavour == "victoriametrics":
        if ts_ms > now_ms + VM_FUTURE_MS:
            return "timestamp more than a day ahead (VictoriaMetrics drops it beyond 2 days)"
        if screen.retention_ms is not None and ts_ms < now_ms - screen.retention_ms:
            return "timestamp older than the database's -retentionPeriod (it would be dropped)"
    elif not 0 <= ts_ms <= INFLUX_MAX_TS_MS:
        return "timestamp outside what InfluxDB stores in nanoseconds"
    return None


def screen_line(screen: Screen, line: str, now_ms: int) -> tuple[str | None, list[tuple[str, str]]]:
    """(the line to send or None, [(dead line, reason)]) for one outbox line."""
    parts = _UNESCAPED_SPACE.split(line)
    if len(parts) != 3:
        return line, []  # not pvledger's shape (a pre-built line): sent as it is
    prefix, fields, ts_text = parts
    try:
        ts_ms = int(ts_text)
    except ValueError:
        return line, []
    if (reason := _time_problem(screen, ts_ms, now_ms)) is not None:
        return None, [(line, reason)]
    keep: list[str] = []
    dead: list[tuple[str, str]] = []
    for f in _UNESCAPED_COMMA.split(fields):
        _, _, value = f.partition("=")
        reason = _field_problem(screen, value)
        if reason is None:
            keep.append(f)
        else:
            dead.append((f"{prefix} {f} {ts_text}", f"{f.partition('=')[0]}: {reason}"))
    if not dead:
        return line, []
    return (f"{prefix} {','.join(keep)} {ts_text}" if keep else None), dead


_RETENTION = re.compile(r'^-retentionPeriod="?(\d+(?:\.\d+)?)([hdwy]?)"?\s*$', re.M)
_UNIT_MS = {"h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000, "y": 365 * 86_400_000}


def parse_retention(flags_text: str) -> int | None:
    """-retentionPeriod from VictoriaMetrics' /flags page [ms]; a bare number is months
    of 31 days, as VictoriaMetrics counts them."""
    m = _RETENTION.search(flags_text)
    if m is None:
        return None
    n = float(m.group(1))
    return int(n * _UNIT_MS.get(m.group(2), 31 * 86_400_000))


def probe_retention(url: str, timeout_s: float = 5.0) -> int | None:
    """Ask a VictoriaMetrics at url for its retention (None when it does not say). [ms]"""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/flags", timeout=timeout_s) as r:
            return parse_retention(r.read().decode("utf-8", "replace"))
    except (OSError, ValueError):
        return None
