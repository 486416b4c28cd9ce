"""The central backend: line protocol through influxdb-client's synchronous v2 write API.

Why not the library's batching mode (../shared/TECH-NOTES.md): its queue lives
in memory, drops a batch after ``max_retry_time`` and loses points at close and
exit. Here every write is one synchronous HTTP request whose answer we see:
the collector's outbox (collector/forward) decides what to retry, split or
dead-letter, and only a 2xx removes anything.

``InfluxWriter`` sends pre-built line protocol (gzip level 1 by default: the
library's own gzip is level 9 and costs more CPU than a 4G uplink saves);
``InfluxStore`` is the ``Store`` on top of it, reading back through
VictoriaMetrics' ``/api/v1/export`` (flavour ``victoriametrics``) or Flux
(flavour ``influxdb2``), from ``read_url`` when reads go elsewhere than writes
(a province's vmauth, deploy/victoriametrics/province/README.md).

A 2xx is not always durable: vmagent acknowledges a write once it is in its
memory queue, and a SIGKILLed vmagent lost ~1 s of acknowledged samples (7,800
of 376,000 in a 6 s stream, measured); a SIGKILLed VictoriaMetrics loses its
last seconds too (../shared/TECH-NOTES.md). So the writer keeps what was
accepted in the last ``replay_window_s`` and, after a write fails the way a
crashed peer fails (connection refused, 502/503/504), sends it again before
anything new. Points are idempotent on (series, timestamp) and the databases
deduplicate, so a replay doubles nothing.
"""

from __future__ import annotations

import contextlib
import email.utils
import gzip
import logging
import os
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import urllib3
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from influxdb_client.service.write_service import WriteService

from core.reading import Reading, Sample
from core.store.base import DayBounds, Store, StoreError
from core.store.lineproto import LineEncoder, sample_count

log = logging.getLogger("core.store.influx")

#: statuses after which the same request may succeed later
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
#: failures that say the peer (or the node behind a proxy) may have crashed, losing
#: writes it had acknowledged: 0 is a connection error or timeout
PEER_LOST = frozenset({0, 500, 502, 503, 504})
#: vmauth 1.79 answers an unknown token or an unrouted path with HTTP 400, which
#: would dead-letter good readings: (start of its message, the status it means)
VMAUTH_MESSAGES = (
    ("cannot find the provided auth token", 401),
    ("missing `Authorization` request header", 401),
    ("cannot determine targetURL: missing route", 404),
)


@dataclass(frozen=True)
class WriteFailure(Exception):
    """A write the database did not accept.

    ``status`` is the HTTP status (0 for a connection error or timeout),
    ``message`` the server's explanation, ``retry_after_s`` its Retry-After.
    """

    status: int
    message: str
    retry_after_s: float | None = None

    def __str__(self) -> str:
        return f"HTTP {self.status}: {self.message}" if self.status else self.message

    @property
    def retryable(self) -> bool:
        """True for connection errors, 429 and 5xx (try again later)."""
        return self.status == 0 or self.status in RETRYABLE


def proxy_status(status: int, message: str) -> int:
    """The status a proxy's answer stands for (vmauth's 400 for a bad token is a 401)."""
    if status == 400:
        for prefix, meant in VMAUTH_MESSAGES:
            if prefix in message[:300]:
                return meant
    return status


def _message(exc: ApiException) -> str:
    """The server's explanation: the JSON message, else the plain-text body (vmauth)."""
    if isinstance(exc.message, str) and exc.message:
        return exc.message
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    return str(body or exc.reason or exc.message)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After header as seconds (delta-seconds or an HTTP date). [s]"""
    if not value:
        return None
    value = value.strip()
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


class InfluxWriter:
    """Synchronous InfluxDB v2 writes of line protocol (one request per call).

    Requests accepted in the last ``replay_window_s`` (at most ``replay_max_bytes``
    of request bodies) are sent again once after a failure that may mean a crashed
    peer (module docstring); 0 turns this off.
    """

    def __init__(
        self,
        url: str,
        *,
        org: str = "pvledger",
        bucket: str = "pvledger",
        token: str | None = None,
        gzip_level: int = 1,
        timeout_s: float = 30.0,
        replay_window_s: float = 30.0,
        replay_max_bytes: int = 32 * 1024 * 1024,
    ):
        self.url = url.rstrip("/")
        self.org = org
        self.bucket = bucket
        self.gzip_level = gzip_level
        self.replay_window_s = replay_window_s
        self.replay_max_bytes = replay_max_bytes
        #: (monotonic time accepted, body as sent): candidates for a replay
        self._recent: deque[tuple[float, bytes]] = deque()
        self._recent_bytes = 0
        self._lost_at: float | None = None  # when a failure said the peer may be gone
        self.replayed_requests = 0
        self._client = InfluxDBClient(
            url=self.url, token=token or "", org=org, timeout=int(timeout_s * 1000)
        )
        # the generated v2 write binding, called synchronously with our own body:
        # the library's write_api would gzip at level 9 and re-serialize records
        self._service = WriteService(self._client.api_client)

    def write_lines(self, lines: Sequence[str]) -> int:
        """POST lines as one request; returns the body size sent [bytes]. Raises WriteFailure."""
        if not lines:
            return 0
        return self.write_body("\n".join(lines).encode())

    def write_body(self, body: bytes) -> int:
        """POST a newline-separated line protocol body; raises WriteFailure on any non-2xx.

        After a failure that may mean a crashed peer, first re-sends what was
        accepted in the replay window before it (a failing replay raises too).
        """
        if self.gzip_level > 0:
            body = gzip.compress(body, compresslevel=self.gzip_level)
        if self._lost_at is not None:
            self._replay()
        self._post(body)
        self._remember(body)
        return len(body)

    def _replay(self) -> None:
        assert self._lost_at is not None
        since = self._lost_at - self.replay_window_s
        bodies = [b for t, b in self._recent if t >= since]
        for b in bodies:
            self._post(b)
        if bodies:
            log.warning(
                "%s: re-sent %d requests accepted in the %.0f s before it failed "
                "(a crashed peer may have lost them; duplicates are removed)",
                self.url,
                len(bodies),
                self.replay_window_s,
            )
        self.replayed_requests += len(bodies)
        now = time.monotonic()  # accepted again now: in the window of the next failure
        self._recent = deque((now, b) for b in bodies)
        self._lost_at = None

    def _remember(self, body: bytes) -> None:
        if self.replay_window_s <= 0:
            return
        now = time.monotonic()
        self._recent.append((now, body))
        self._recent_bytes += len(body)
        while self._recent and (
            self._recent[0][0] < now - self.replay_window_s
            or self._recent_bytes > self.replay_max_bytes
        ):
            self._recent_bytes -= len(self._recent.popleft()[1])

    def _post(self, body: bytes) -> None:
        extra: dict[str, str] = {}
        if self.gzip_level > 0:
            extra["content_encoding"] = "gzip"
        try:
            self._service.post_write(
                org=self.org,
                bucket=self.bucket,
                body=body,
                precision="ms",
                content_type="text/plain; charset=utf-8",
                **extra,
            )
        except ApiException as exc:
            msg = _message(exc)
            retry = parse_retry_after(exc.retry_after) if exc.headers else None
            status = proxy_status(int(exc.status or 0), str(msg))
            self._failed(status)
            raise WriteFailure(status, str(msg)[:2000], retry) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self._failed(0)
            raise WriteFailure(0, f"{type(exc).__name__}: {exc}") from None

    def _failed(self, status: int) -> None:
        if status in PEER_LOST and self._lost_at is None and self._recent:
            self._lost_at = time.monotonic()

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


class InfluxStore(Store):
    """The ``influxdb`` / ``victoriametrics`` backend (DESIGN.md §4).

    Writes go straight to the database in batches of ``batch_size`` lines (the
    collector puts an outbox in front of this; see collector/forward). Reads go
    through the flavour's reader, to ``read_url`` with ``read_token`` when given
    (else to ``url`` with ``token``).
    """

    def __init__(
        self,
        url: str,
        *,
        flavour: str = "victoriametrics",
        org: str = "pvledger",
        bucket: str = "pvledger",
        token: str | None = None,
        timezone: str = "Asia/Shanghai",
        batch_size: int = 5000,
        gzip_level: int = 1,
        consistent_reads: bool = False,
        read_url: str | None = None,
        read_token: str | None = None,
    ):
        self.writer = InfluxWriter(url, org=org, bucket=bucket, token=token, gzip_level=gzip_level)
        self.batch_size = batch_size
        self.flavour = flavour
        self._encoder = LineEncoder()
        self._read_client: InfluxDBClient | None = None
        if read_url is None:  # one URL and token for both
            read_url, read_token = url, token
        if flavour == "victoriametrics":
            from core.store.victoriametrics import ExportReader

            self.reader = ExportReader(
                read_url, timezone=timezone, flush_first=consistent_reads, token=read_token
            )
        elif flavour == "influxdb2":
            from core.store.flux import FluxReader

            client = self.writer._client
            if (read_url.rstrip("/"), read_token) != (self.writer.url, token):
                client = self._read_client = InfluxDBClient(
                    url=read_url.rstrip("/"), token=read_token or "", org=org
                )
            self.reader = FluxReader(client, bucket=bucket, timezone=timezone)
        else:
            raise StoreError(f"unknown flavour {flavour!r}: use victoriametrics or influxdb2")

    def write(self, readings: Iterable[Reading]) -> int:
        """Send readings in batches; raises StoreError when the database refuses.

        Batches already sent stay written; resending everything is harmless
        because points are idempotent on (series, timestamp).
        """
        readings = list(readings)
        lines = self._encoder.lines(readings)
        for i in range(0, len(lines), self.batch_size):
            try:
                self.writer.write_lines(lines[i : i + self.batch_size])
            except WriteFailure as exc:
                raise StoreError(f"{self.writer.url}: write failed ({exc})") from exc
        return sample_count(readings)

    def series(
        self,
        *,
        stations: Sequence[str] | None = None,
        devices: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[Sample]:
        """Samples over a range (see Store.series)."""
        return self.reader.series(
            stations=stations, devices=devices, fields=fields, start_ms=start_ms, end_ms=end_ms
        )

    def latest(
        self, *, stations: Sequence[str] | None = None, devices: Sequence[str] | None = None
    ) -> list[Sample]:
        """Newest sample of each series (see Store.latest)."""
        return self.reader.latest(stations=stations, devices=devices)

    def daily(
        self,
        *,
        fields: Sequence[str],
        start_day: int,
        end_day: int,
        stations: Sequence[str] | None = None,
    ) -> list[DayBounds]:
        """First/last good value per series and local day (see Store.daily)."""
        return self.reader.daily(
            fields=fields, start_day=start_day, end_day=end_day, stations=stations
        )

    def close(self) -> None:
        """Close HTTP connections."""
        self.writer.close()
        self.reader.close()
        if self._read_client is not None:
            self._read_client.close()


def token_from_env(name: str | None) -> str | None:
    """The API token from the environment variable named in the config (None if unset)."""
    if not name:
        return None
    return os.environ.get(name)
