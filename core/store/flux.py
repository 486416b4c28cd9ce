"""Read path of the ``influxdb2`` flavour: Flux through influxdb-client's query API.

Tested only where an InfluxDB 2 is reachable (PVLEDGER_TEST_INFLUXDB_URL);
the reconstruction of samples is shared with the VictoriaMetrics reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from influxdb_client import InfluxDBClient

from core.reading import Sample
from core.store.base import StoreError
from core.store.lineproto import QUALITY_SUFFIX
from core.store.victoriametrics import (
    MEASUREMENTS,
    Collected,
    DerivedReads,
    collect_point,
    to_samples,
)


def _rfc3339(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _set(column: str, values: Sequence[str]) -> str:
    quoted = ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return f"contains(value: r.{column}, set: [{quoted}])"


def flux_query(
    bucket: str,
    *,
    stations: Sequence[str] | None,
    devices: Sequence[str] | None,
    fields: Sequence[str] | None,
    start_ms: int | None,
    end_ms: int | None,
) -> str:
    """The Flux query for raw points of the matching series (end exclusive)."""
    start = _rfc3339(start_ms) if start_ms is not None else "1970-01-01T00:00:00Z"
    stop = f", stop: {_rfc3339(end_ms)}" if end_ms is not None else ""
    preds = [_set("_measurement", MEASUREMENTS)]
    if stations is not None:
        preds.append(_set("station", stations))
    if devices is not None:
        preds.append(_set("device", devices))
    if fields is not None:
        preds.append(_set("_field", [*fields, *(f + QUALITY_SUFFIX for f in fields)]))
    filters = "".join(f"\n  |> filter(fn: (r) => {p})" for p in preds)
    return f'from(bucket: "{bucket}")\n  |> range(start: {start}{stop}){filters}'


class FluxReader(DerivedReads):
    """Reads raw points with Flux from InfluxDB 2.x."""

    def __init__(self, client: InfluxDBClient, *, bucket: str, timezone: str = "Asia/Shanghai"):
        self._query = client.query_api()
        self.bucket = bucket
        self.tz = ZoneInfo(timezone)

    def series(
        self,
        *,
        stations: Sequence[str] | None = None,
        devices: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Sample]:
        """Samples matching the filters (see Store.series)."""
        if any(v is not None and not v for v in (stations, devices, fields)):
            return []
        q = flux_query(
            self.bucket,
            stations=stations,
            devices=devices,
            fields=fields,
            start_ms=start_ms,
            end_ms=end_ms,
        )
        out: Collected = {}
        try:
            tables = self._query.query(q)
        except Exception as exc:  # the client raises ApiException and urllib3 errors
            raise StoreError(f"Flux query failed ({exc})") from exc
        for table in tables:
            for rec in table.records:
                v = rec.values
                ts = int(rec.get_time().timestamp() * 1000)
                tags = {k: str(v.get(k) or "") for k in ("station", "device", "village", "gateway")}
                collect_point(
                    out, rec.get_measurement(), rec.get_field(), tags, ts, rec.get_value()
                )
        return to_samples(out)

    def close(self) -> None:
        """The client is closed by the store's writer."""
