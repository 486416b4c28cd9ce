"""/metrics and /healthz over HTTP on 127.0.0.1 (port from the command line).

/metrics renders the service's Metrics registry (Prometheus text format);
/healthz answers 200 "ok", or 503 with the reasons when a component reports
that it cannot write to the store (gauge ``pvledger_sink_consecutive_failures``
above 0) or when a queue has held data without progress for longer than
``storage.limits.stuck_after_s`` (gauges ``pvledger_<queue>_stalled_seconds``:
``mqtt`` for unacknowledged messages, ``outbox`` for rows the county database
has not accepted). Deliberately tiny: asyncio
streams, GET only, one response per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from collector.metrics import Metrics

log = logging.getLogger("collector.health")

SINK_GAUGE = "pvledger_sink_consecutive_failures"
#: gauges named pvledger_<queue>_stalled_seconds: how long a queue has held data
#: without any progress (0 while it flows or is empty)
STALL_SUFFIX = "_stalled_seconds"
#: /healthz default when no config gives storage.limits.stuck_after_s [s]
STUCK_AFTER_S = 300.0


def register_stall(metrics: Metrics, queue: str, seconds: Callable[[], float]) -> None:
    """Publish how long a queue has held data without progress: pvledger_<queue>_stalled_seconds."""
    metrics.gauge_callback(
        f"pvledger_{queue}{STALL_SUFFIX}",
        f"seconds the {queue} queue has held data without any progress (0: flowing or empty)",
        lambda: {(): float(seconds())},
    )


def _series(rendered: str, match: Callable[[str], bool]) -> list[tuple[str, float]]:
    """(name{labels}, value) of every sample line whose metric name matches."""
    out = []
    for line in rendered.splitlines():
        if not line or line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        if match(series.partition("{")[0]):
            out.append((series, float(value)))
    return out


def health(metrics: Metrics, stuck_after_s: float = STUCK_AFTER_S) -> tuple[bool, list[str]]:
    """(healthy, reasons): unhealthy while any component cannot write to the store, or a
    queue has been stuck for longer than stuck_after_s [s]."""
    text = metrics.render()
    reasons = [
        f"store not writable ({series[len(SINK_GAUGE) :]}: {value:g} failed writes)"
        for series, value in _series(text, lambda n: n == SINK_GAUGE)
        if value > 0
    ]
    reasons += [
        f"queue stuck ({series}: nothing delivered for {value:.0f} s; "
        f"storage.limits.stuck_after_s is {stuck_after_s:g} s)"
        for series, value in _series(text, lambda n: n.endswith(STALL_SUFFIX))
        if value > stuck_after_s
    ]
    return not reasons, reasons


class HealthServer:
    """The HTTP endpoint; a service component started when ``health_port`` is given."""

    name = "health"

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", stuck_after_s: float | None = None
    ):
        self.port = port
        self.host = host
        self.stuck_after_s = stuck_after_s
        self._server: asyncio.AbstractServer | None = None
        self._metrics: Metrics | None = None

    async def start(self, ctx: Any) -> None:
        """Listen on 127.0.0.1:port (port 0 picks a free one; None: do nothing)."""
        port = self.port if self.port is not None else ctx.options.get("health_port")
        if port is None:
            return
        self._metrics = ctx.metrics
        if self.stuck_after_s is None:
            limits = getattr(getattr(ctx.config, "storage", None), "limits", None)
            self.stuck_after_s = limits.stuck_after_s if limits is not None else STUCK_AFTER_S
        register_metrics = getattr(ctx.sink, "register_metrics", None)
        if register_metrics is not None and getattr(ctx.sink, "metrics", True) is None:
            register_metrics(ctx.metrics)  # the gated sink's counters
        self._server = await asyncio.start_server(self._handle, self.host, int(port))
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health endpoint on http://%s:%d/metrics and /healthz", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            parts = head.split(b"\r\n", 1)[0].split()
            method, path = (parts[0], parts[1].decode()) if len(parts) >= 2 else (b"", "")
            status, ctype, body = self._respond(method, path.split("?", 1)[0])
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}"
                "\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _respond(self, method: bytes, path: str) -> tuple[str, str, bytes]:
        assert self._metrics is not None
        if method != b"GET":
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if path == "/metrics":
            return ("200 OK", "text/plain; version=0.0.4", self._metrics.render().encode())
        if path == "/healthz":
            ok, reasons = health(self._metrics, self.stuck_after_s or STUCK_AFTER_S)
            if ok:
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", ("\n".join(reasons) + "\n").encode()
        return "404 Not Found", "text/plain", b"try /metrics or /healthz\n"
