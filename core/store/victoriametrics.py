"""Read path of the ``victoriametrics`` flavour: raw samples through ``/api/v1/export``.

VictoriaMetrics turns measurement ``pv`` + field ``power_w`` into the series
``pv_power_w`` with the tags as labels; ``power_w_quality`` carries a non-GOOD
quality. The helpers here put a field's value and quality back together into
``Sample`` records and compute ``latest`` and the daily roll-up from them
(the Flux reader reuses them).
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from zoneinfo import ZoneInfo

from core.reading import MEASUREMENT_METER, MEASUREMENT_PV, Quality, Sample
from core.store.base import DayBounds, StoreError
from core.store.lineproto import INT_FIELDS, QUALITY_SUFFIX

MEASUREMENTS = (MEASUREMENT_PV, MEASUREMENT_METER)
_DAY_MS = 86_400_000
#: answers after which a read is tried again: vmauth 1.79 balances reads round-robin
#: over the nodes and answers 502 when it picked one that is down (measured; it does
#: not try the next itself), so the next attempt lands on a live node
READ_RETRY_STATUSES = frozenset({0, 429, 502, 503, 504})
#: pauses between read attempts [s]: 4 attempts in well under a second
READ_RETRY_PAUSES_S = (0.05, 0.1, 0.2)

#: (measurement, station, device, field) -> {ts: [value, quality, village, gateway]}
Collected = dict[tuple[str, str, str, str], dict[int, list]]


#: "no end" for an export: 2100-01-01 UTC [ms], past anything VictoriaMetrics accepts
OPEN_END_MS = 4_102_444_800_000


def collect_point(
    out: Collected,
    measurement: str,
    name: str,
    tags: dict[str, str],
    ts_ms: int,
    value: float,
) -> None:
    """Add one raw point (a value field or its ``_quality`` companion) to ``out``."""
    is_q = name.endswith(QUALITY_SUFFIX)
    fld = name[: -len(QUALITY_SUFFIX)] if is_q else name
    key = (measurement, tags.get("station", ""), tags.get("device", ""), fld)
    slot = out.setdefault(key, {}).get(ts_ms)
    if slot is None:
        slot = out[key][ts_ms] = [None, None, tags.get("village", ""), tags.get("gateway", "")]
    if is_q:
        slot[1] = int(value)
    else:
        slot[0] = int(value) if fld in INT_FIELDS else float(value)


def to_samples(points: Collected) -> list[Sample]:
    """Samples sorted by (station, device, field, ts); a value without a flag is GOOD."""
    out = []
    for (meas, st, dev, fld), by_ts in points.items():
        for ts, (value, q, village, gateway) in by_ts.items():
            if q is None:
                quality = Quality.GOOD if value is not None else Quality.DECODE_ERROR
            else:
                quality = Quality(q)
            out.append(Sample(st, dev, fld, ts, value, quality, meas, village, gateway))
    out.sort(key=lambda s: (s.station, s.device, s.field, s.ts_ms))
    return out


def latest_of(samples: Iterable[Sample]) -> list[Sample]:
    """The newest sample of each (station, device, field)."""
    best: dict[tuple[str, str, str], Sample] = {}
    for s in samples:
        k = (s.station, s.device, s.field)
        b = best.get(k)
        if b is None or s.ts_ms >= b.ts_ms:
            best[k] = s
    return [best[k] for k in sorted(best)]


def local_day(ts_ms: int, tz: ZoneInfo) -> int:
    """Site-local date of a UTC instant as YYYYMMDD."""
    d = dt.datetime.fromtimestamp(ts_ms / 1000, tz=tz).date()
    return d.year * 10000 + d.month * 100 + d.day


def day_start_ms(day: int, tz: ZoneInfo) -> int:
    """UTC epoch ms of local midnight starting day YYYYMMDD."""
    d = dt.datetime(day // 10000, day // 100 % 100, day % 100, tzinfo=tz)
    return int(d.timestamp() * 1000)


def next_day(day: int) -> int:
    """The calendar day after YYYYMMDD."""
    d = dt.date(day // 10000, day // 100 % 100, day % 100) + dt.timedelta(days=1)
    return d.year * 10000 + d.month * 100 + d.day


def daily_of(samples: Iterable[Sample], tz: ZoneInfo) -> list[DayBounds]:
    """First and last GOOD value per series and local day."""
    acc: dict[tuple[str, str, str, int], list] = {}
    for s in samples:
        if s.quality is not Quality.GOOD or s.value is None:
            continue
        k = (s.station, s.device, s.field, local_day(s.ts_ms, tz))
        a = acc.get(k)
        if a is None:
            acc[k] = [s.ts_ms, s.value, s.ts_ms, s.value]
            continue
        if s.ts_ms < a[0]:
            a[0], a[1] = s.ts_ms, s.value
        if s.ts_ms >= a[2]:
            a[2], a[3] = s.ts_ms, s.value
    return [
        DayBounds(st, dev, fld, day, *acc[(st, dev, fld, day)])
        for (st, dev, fld, day) in sorted(acc)
    ]


def _alternation(values: Sequence[str]) -> str:
    # ids are [A-Za-z0-9_.-]; only the dot is a regex metacharacter among them
    return "|".join(v.replace(".", "\\\\.") for v in values)


def export_selector(
    stations: Sequence[str] | None, devices: Sequence[str] | None, fields: Sequence[str] | None
) -> str:
    """The series selector for /api/v1/export."""
    meas = "|".join(MEASUREMENTS)
    fld = _alternation(fields) if fields is not None else ".+"
    parts = [f'__name__=~"({meas})_({fld})({QUALITY_SUFFIX})?"']
    if stations is not None:
        parts.append(f'station=~"{_alternation(stations)}"')
    if devices is not None:
        parts.append(f'device=~"{_alternation(devices)}"')
    return "{" + ",".join(parts) + "}"


class DerivedReads:
    """latest() and daily() computed from series(), for readers of remote databases.

    Subclasses give ``series(...)`` and ``tz``. Reads every sample in range: fine for
    a county, see docs/forwarding.md.
    """

    tz: ZoneInfo

    def series(self, **kw: object) -> list[Sample]:  # pragma: no cover - overridden
        raise NotImplementedError

    def latest(
        self, *, stations: Sequence[str] | None = None, devices: Sequence[str] | None = None
    ) -> list[Sample]:
        """Newest sample of each series."""
        return latest_of(self.series(stations=stations, devices=devices))

    def daily(
        self,
        *,
        fields: Sequence[str],
        start_day: int,
        end_day: int,
        stations: Sequence[str] | None = None,
    ) -> list[DayBounds]:
        """First/last good value per series and local day."""
        samples = self.series(
            stations=stations,
            fields=fields,
            start_ms=day_start_ms(start_day, self.tz),
            end_ms=day_start_ms(next_day(end_day), self.tz),
        )
        return daily_of(samples, self.tz)


class ExportReader(DerivedReads):
    """Reads raw samples from VictoriaMetrics' export API."""

    def __init__(
        self,
        url: str,
        *,
        timezone: str = "Asia/Shanghai",
        flush_first: bool = False,
        timeout_s: float = 60.0,
        token: str | None = None,
    ):
        self.url = url.rstrip("/")
        self.tz = ZoneInfo(timezone)
        self.flush_first = flush_first
        self.timeout_s = timeout_s
        # vmauth takes "Bearer" (and InfluxDB's "Token"); a single node ignores it
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.retried_reads = 0

    def _get(self, path: str) -> bytes:
        """GET with the token; retries what a proxy in front of two nodes may answer."""
        req = urllib.request.Request(f"{self.url}{path}", headers=self._headers)
        for pause in (*READ_RETRY_PAUSES_S, None):
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                    return r.read()
            except urllib.error.HTTPError as exc:
                status, detail = exc.code, exc.read()[:300].decode(errors="replace").strip()
                err: OSError = exc
            except OSError as exc:
                status, detail, err = 0, str(exc), exc
            if pause is None or status not in READ_RETRY_STATUSES:
                raise StoreError(f"{self.url}: read failed (HTTP {status}: {detail})") from err
            self.retried_reads += 1
            time.sleep(pause)
        raise AssertionError("unreachable")

    def export(
        self,
        *,
        stations: Sequence[str] | None = None,
        devices: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> Collected:
        """Raw points of the matching series, end exclusive."""
        if any(v is not None and not v for v in (stations, devices, fields)):
            return {}
        if self.flush_first:  # make just-written samples visible (tests, read-your-writes)
            self._get("/internal/force_flush")
        q: dict[str, str] = {"match[]": export_selector(stations, devices, fields)}
        q["start"] = f"{(start_ms or 0) / 1000:.3f}"
        # export's end is inclusive; without one the database would stop at ITS now,
        # hiding samples a gateway with a clock ahead of it wrote (the gate allows some)
        q["end"] = f"{((end_ms or OPEN_END_MS) - 1) / 1000:.3f}"
        body = self._get("/api/v1/export?" + urllib.parse.urlencode(q))
        out: Collected = {}
        for raw in body.splitlines():
            if not raw.strip():
                continue
            row = json.loads(raw)
            labels = row["metric"]
            name = labels.pop("__name__")
            meas, _, fld = name.partition("_")
            for ts, value in zip(row["timestamps"], row["values"], strict=True):
                if start_ms is not None and ts < start_ms:
                    continue
                if end_ms is not None and ts >= end_ms:
                    continue
                collect_point(out, meas, fld, labels, int(ts), value)
        return out

    def series(self, **kw: object) -> list[Sample]:
        """Samples matching the filters (see Store.series)."""
        return to_samples(self.export(**kw))  # type: ignore[arg-type]

    def count(self, selector: str, start_ms: int = 0) -> int:
        """Number of raw samples of a selector (tests and checks: duplicates show here)."""
        if self.flush_first:
            self._get("/internal/force_flush")
        q = {"match[]": selector, "start": f"{start_ms / 1000:.3f}"}
        q["end"] = f"{OPEN_END_MS / 1000:.3f}"
        body = self._get("/api/v1/export?" + urllib.parse.urlencode(q))
        return sum(len(json.loads(x)["timestamps"]) for x in body.splitlines() if x.strip())

    def close(self) -> None:
        """Nothing to release (one HTTP request per call)."""
