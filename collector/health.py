"""/metrics and /healthz over HTTP on 127.0.0.1 (port from the command line).

/metrics renders the service's Metrics registry (Prometheus text format);
/healthz answers 200 "ok", or 503 with the reasons when a component reports
that it cannot write to the store (gauge ``pvledger_sink_consecutive_failures``
above 0). Deliberately tiny: asyncio streams, GET only, one response per
connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from collector.metrics import Metrics

log = logging.getLogger("collector.health")

SINK_GAUGE = "pvledger_sink_consecutive_failures"


def health(metrics: Metrics) -> tuple[bool, list[str]]:
    """(healthy, reasons): unhealthy while any component cannot write to the store."""
    reasons = []
    for line in metrics.render().splitlines():
        if line.startswith(SINK_GAUGE + "{") or line.startswith(SINK_GAUGE + " "):
            labels, _, value = line.rpartition(" ")
            if float(value) > 0:
                reasons.append(
                    f"store not writable ({labels[len(SINK_GAUGE) :]}: "
                    f"{float(value):g} failed writes)"
                )
    return not reasons, reasons


class HealthServer:
    """The HTTP endpoint; a service component started when ``health_port`` is given."""

    name = "health"

    def __init__(self, port: int | None = None, host: str = "127.0.0.1"):
        self.port = port
        self.host = host
        self._server: asyncio.AbstractServer | None = None
        self._metrics: Metrics | None = None

    async def start(self, ctx: Any) -> None:
        """Listen on 127.0.0.1:port (port 0 picks a free one; None: do nothing)."""
        port = self.port if self.port is not None else ctx.options.get("health_port")
        if port is None:
            return
        self._metrics = ctx.metrics
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
            ok, reasons = health(self._metrics)
            if ok:
                return "200 OK", "text/plain", b"ok\n"
            return "503 Service Unavailable", "text/plain", ("\n".join(reasons) + "\n").encode()
        return "404 Not Found", "text/plain", b"try /metrics or /healthz\n"
