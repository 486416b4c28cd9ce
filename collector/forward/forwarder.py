"""The forwarder: drains the outbox into InfluxDB / VictoriaMetrics, losing nothing.

One thread runs the batching loop: take the oldest ``batch_size`` rows (or
fewer once the oldest has waited ``flush_interval_s``), send them with one
synchronous write, and only then delete them. The answer decides:

- 2xx: delete the rows;
- 429, 5xx, connection error or timeout: keep them, wait (Retry-After when
  the server gives one, else exponential back-off with jitter up to a cap);
- 413: split the batch in halves and send each (a single row too large is
  dead-lettered);
- 400 / 422: move the batch to the dead-letter table with the server's message;
- before sending, collector/forward/screen.py keeps back what the database would
  skip while answering 204 (VictoriaMetrics: integers beyond 64 bits, samples more
  than 2 days ahead or older than its retention, magnitudes that zero a block's
  neighbours); those fields or lines go to the dead-letter table with the reason
  when the rest of the batch is delivered, never deleted as if delivered;
- any other status (401, 403, 404: configuration): keep the rows, back off, log.

A crash between the 2xx and the delete resends the batch after restart;
points are idempotent on (series, timestamp), so nothing is doubled.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from collector.forward.outbox import Outbox
from collector.forward.screen import Screen, probe_retention, screen_line
from collector.health import register_stall
from core.store.influx import InfluxWriter, WriteFailure, token_from_env

if TYPE_CHECKING:
    from collector.metrics import Metrics
    from collector.service import ServiceContext
    from core.config import Config

log = logging.getLogger("collector.forward")

DEAD_LETTER_STATUSES = frozenset({400, 422})


class Forwarder:
    """Service component draining the outbox to the database."""

    name = "forwarder"

    def __init__(
        self,
        outbox: Outbox | None,
        writer: InfluxWriter,
        *,
        batch_size: int = 5000,
        flush_interval_s: float = 2.0,
        backoff_min_s: float = 0.5,
        backoff_max_s: float = 30.0,
        config: Config | None = None,
        screen: Screen | None = None,
    ):
        self.outbox = outbox
        self.writer = writer
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.config = config
        self.metrics: Metrics | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owns_outbox = False
        self.sent_rows = 0
        self.failures = 0
        self.screen = screen or Screen("victoriametrics")
        self._probed = -1e9
        #: monotonic time of the last delivery, or of the outbox last seen empty
        self._progress = time.monotonic()

    # -- one step ------------------------------------------------------------
    def drain_once(self, *, force: bool = True) -> int:
        """Send one batch; returns rows removed (sent or dead-lettered).

        With force=False a partial batch waits until its oldest row is
        flush_interval_s old. Raises WriteFailure when the batch must be retried.
        """
        assert self.outbox is not None
        rows = self.outbox.peek(self.batch_size)
        if not rows:
            self._progress = time.monotonic()
            return 0
        if (
            not force
            and len(rows) < self.batch_size
            and self.outbox.oldest_age_s() < self.flush_interval_s
        ):
            return 0
        return self._send(rows)

    def _screened(self, rows: list[tuple[int, str]]) -> tuple[list[str], list[tuple[str, str]]]:
        """(lines to send, [(dead line, reason)]): what the database would skip, kept back."""
        if self.screen.flavour == "victoriametrics" and self.screen.retention_ms is None:
            self._probe_retention()
        now = time.time_ns() // 1_000_000
        send: list[str] = []
        dead: list[tuple[str, str]] = []
        for _, line in rows:
            ok, bad = screen_line(self.screen, line, now)
            if ok is not None:
                send.append(ok)
            dead.extend(bad)
        return send, dead

    def _probe_retention(self) -> None:
        now = time.monotonic()
        if now - self._probed < 600:
            return
        self._probed = now
        ms = probe_retention(self.writer.url)
        if ms is not None:
            self.screen = replace(self.screen, retention_ms=ms)
            log.info("%s keeps samples for %.0f days", self.writer.url, ms / 86_400_000)

    def _send(self, rows: list[tuple[int, str]]) -> int:
        assert self.outbox is not None
        first, last = rows[0][0], rows[-1][0]
        lines, dead = self._screened(rows)
        try:
            if lines:
                self.writer.write_lines(lines)
        except WriteFailure as exc:
            if exc.status == 413 and len(rows) > 1:
                half = len(rows) // 2
                log.info("database refused %d rows as too large: splitting", len(rows))
                return self._send(rows[:half]) + self._send(rows[half:])
            if exc.status == 413 or exc.status in DEAD_LETTER_STATUSES:
                n = self.outbox.dead_letter(first, last, exc.status, exc.message)
                self._progress = time.monotonic()
                log.error(
                    "database refused %d rows (HTTP %d: %s): moved to dead letters",
                    n,
                    exc.status,
                    exc.message[:300],
                )
                self._count("pvledger_forward_dead_letter_total", n)
                return n
            raise
        if dead:
            n = self.outbox.settle(first, last, dead)
            log.error(
                "%d fields or lines the database would skip silently (%s): kept in the "
                "outbox's dead letters",
                len(dead),
                dead[0][1],
            )
            self._count("pvledger_forward_dead_letter_total", len(dead))
        else:
            n = self.outbox.remove(first, last)
        self.sent_rows += len(lines)
        self._count("pvledger_forward_sent_total", len(lines))
        self._progress = time.monotonic()
        return n

    def _count(self, name: str, n: float, labels: dict[str, str] | None = None) -> None:
        if self.metrics is not None:
            self.metrics.inc(name, n, labels)

    # -- the loop ------------------------------------------------------------
    def run(self) -> None:
        """Forward until stop() is called (blocking; the component runs it in a thread)."""
        delay = self.backoff_min_s
        failing = False
        while not self._stop.is_set():
            try:
                n = self.drain_once(force=False)
            except WriteFailure as exc:
                self.failures += 1
                kind = "connection" if exc.status == 0 else str(exc.status)
                self._count("pvledger_forward_errors_total", 1, {"kind": kind})
                if exc.retry_after_s is not None:
                    wait = min(exc.retry_after_s, max(self.backoff_max_s, 300.0))
                else:
                    wait = delay * random.uniform(0.8, 1.2)
                    delay = min(delay * 2, self.backoff_max_s)
                if not failing:  # log the transition, not every retry
                    log.warning(
                        "forwarding to %s failed (%s); retrying with back-off", self.writer.url, exc
                    )
                elif not exc.retryable:
                    log.error(
                        "forwarding to %s refused (%s): check storage settings",
                        self.writer.url,
                        exc,
                    )
                failing = True
                self._stop.wait(wait)
                continue
            except Exception:
                log.exception("forwarding failed unexpectedly; retrying")
                self._stop.wait(self.backoff_max_s)
                continue
            if failing:
                log.warning("forwarding to %s works again", self.writer.url)
                failing = False
            delay = self.backoff_min_s
            if n == 0:
                assert self.outbox is not None
                if self.outbox.peek(1):  # a partial batch: let it fill for a moment
                    self._stop.wait(0.05)
                else:
                    self._wake.wait(0.5)
                    self._wake.clear()

    def stalled_s(self) -> float:
        """Seconds rows have waited in the outbox with nothing delivered (0 when empty). [s]"""
        if self.outbox is None or not self.outbox.peek(1):
            return 0.0
        return max(0.0, time.monotonic() - self._progress)

    def wake(self) -> None:
        """Check the outbox now (called after each outbox write)."""
        self._wake.set()

    # -- component -----------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        """Use the service's outbox (or open the configured one) and start the thread."""
        self.metrics = ctx.metrics
        if self.outbox is None:
            inner = getattr(ctx.sink, "inner", ctx.sink)  # behind the plausibility gate
            if isinstance(inner, Outbox):
                self.outbox = inner
            else:
                assert self.config is not None
                self.outbox = Outbox.for_config(self.config)
                self._owns_outbox = True
        self.outbox.register_metrics(ctx.metrics)
        register_stall(ctx.metrics, "outbox", self.stalled_s)
        self.outbox.add_listener(self.wake)
        for name, help_text in (
            ("pvledger_forward_sent_total", "rows accepted by the database"),
            ("pvledger_forward_errors_total", "failed writes by kind (retried)"),
            ("pvledger_forward_dead_letter_total", "rows refused by the database (400/413/422)"),
        ):
            ctx.metrics.describe(name, "counter", help_text)
        self.start_thread()

    def start_thread(self) -> None:
        """Start the forwarding thread (outside a service: tests, benchmarks)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="forwarder")
        self._thread.start()

    async def stop(self) -> None:
        """Finish the request in flight and stop; unsent rows stay on disk."""
        self.stop_thread()

    def stop_thread(self) -> None:
        """Stop the forwarding thread and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self.writer.close()
        if self._owns_outbox and self.outbox is not None:
            self.outbox.close()


def component(config: Config) -> Forwarder | None:
    """The forwarder for remote backends (None for the embedded SQLite store)."""
    st = config.storage
    if st.backend == "sqlite":
        return None
    writer = InfluxWriter(
        st.url or "", org=st.org, bucket=st.bucket, token=token_from_env(st.token_env)
    )
    flavour = "influxdb2" if st.backend == "influxdb" else "victoriametrics"
    return Forwarder(
        None,
        writer,
        batch_size=st.batch_size,
        flush_interval_s=st.flush_interval_s,
        config=config,
        screen=Screen(flavour),
    )
