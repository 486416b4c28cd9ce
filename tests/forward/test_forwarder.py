"""The forwarder: 2xx removes, 429/5xx/connection errors retry, 413 splits, 400/422 dead-letter.

The main path runs against a real VictoriaMetrics. VictoriaMetrics never
answers 413, 422 or 429 with Retry-After, so those answers come from a small
scripted HTTP server that speaks the /api/v2/write endpoint (gzip included)
and records what it accepted.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from collector.forward.forwarder import Forwarder
from collector.forward.outbox import Outbox
from collector.metrics import Metrics
from core.reading import Reading
from core.store.influx import InfluxWriter, parse_retry_after
from core.store.victoriametrics import ExportReader
from tests.mqtt.helpers import wait_for
from tests.servers import free_port

T0 = 1782864000000

#: (lines in the request, request number) -> (status, headers, body)
Answer = Callable[[list[str], int], tuple[int, dict[str, str], bytes]]


class ScriptedDb:
    """An HTTP peer answering /api/v2/write by a script; keeps accepted lines and times."""

    def __init__(self, answer: Answer):
        self.answer = answer
        self.accepted: list[str] = []
        self.requests: list[tuple[float, int, int]] = []  # (time, lines, status)
        db = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                lines = body.decode().split("\n")
                status, headers, reply = db.answer(lines, len(db.requests))
                db.requests.append((time.monotonic(), len(lines), status))
                if 200 <= status < 300:
                    db.accepted.extend(lines)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="scripted-db")
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def scripted() -> Iterator[Callable[[Answer], ScriptedDb]]:
    made: list[ScriptedDb] = []

    def make(answer: Answer) -> ScriptedDb:
        made.append(ScriptedDb(answer))
        return made[-1]

    yield make
    for d in made:
        d.close()


def _fill(box: Outbox, n: int) -> None:
    box.write(
        Reading("s1", "s1-meter", T0 + i * 1000, {"export_wh": 1000 + i}, measurement="meter")
        for i in range(n)
    )


def _run(fwd: Forwarder, until: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    fwd.start_thread()
    try:
        wait_for(until, timeout_s, what)
    finally:
        fwd.stop_thread()


def test_drains_the_outbox_into_victoriametrics_in_batches(tmp_path: Path, victoriametrics) -> None:
    box = Outbox(tmp_path / "outbox.db")
    _fill(box, 2500)
    metrics = Metrics()
    fwd = Forwarder(box, InfluxWriter(victoriametrics.url), batch_size=1000, flush_interval_s=0.1)
    fwd.metrics = metrics
    _run(fwd, lambda: box.depth() == 0, "outbox drained")
    got = ExportReader(victoriametrics.url, flush_first=True).series(fields=["export_wh"])
    assert [s.value for s in got] == [1000 + i for i in range(2500)]
    assert metrics.get("pvledger_forward_sent_total") == 2500
    box.close()


def test_a_partial_batch_waits_for_the_flush_interval(tmp_path: Path, scripted) -> None:
    db = scripted(lambda lines, k: (204, {}, b""))
    box = Outbox(tmp_path / "outbox.db")
    fwd = Forwarder(box, InfluxWriter(db.url), batch_size=100, flush_interval_s=0.5)
    _fill(box, 10)
    started = time.monotonic()
    _run(fwd, lambda: box.depth() == 0, "partial batch sent")
    assert len(db.accepted) == 10 and len(db.requests) == 1
    assert db.requests[0][0] - started >= 0.45  # sent by time, not by size
    box.close()


def test_429_honours_retry_after_and_5xx_is_retried(tmp_path: Path, scripted) -> None:
    def answer(lines: list[str], k: int) -> tuple[int, dict[str, str], bytes]:
        if k == 0:
            return 429, {"Retry-After": "1"}, b'{"message": "slow down"}'
        if k == 1:
            return 503, {}, b'{"message": "restarting"}'
        return 204, {}, b""

    db = scripted(answer)
    box = Outbox(tmp_path / "outbox.db")
    _fill(box, 50)
    fwd = Forwarder(
        box,
        InfluxWriter(db.url),
        batch_size=100,
        flush_interval_s=0.01,
        backoff_min_s=0.05,
        backoff_max_s=0.2,
    )
    _run(fwd, lambda: box.depth() == 0, "sent after retries")
    assert [s for _, _, s in db.requests] == [429, 503, 204]
    assert db.requests[1][0] - db.requests[0][0] >= 0.95  # waited Retry-After, not back-off
    assert len(db.accepted) == 50
    assert fwd.failures == 2
    box.close()


def test_connection_refused_keeps_rows_until_the_database_listens(tmp_path: Path) -> None:
    port = free_port()
    box = Outbox(tmp_path / "outbox.db")
    _fill(box, 20)
    fwd = Forwarder(
        box,
        InfluxWriter(f"http://127.0.0.1:{port}", timeout_s=1),
        batch_size=100,
        flush_interval_s=0.01,
        backoff_min_s=0.05,
        backoff_max_s=0.1,
    )
    _run(fwd, lambda: fwd.failures >= 3, "retried")
    assert box.depth() == 20
    box.close()


def test_413_splits_the_batch_until_it_fits(tmp_path: Path, scripted) -> None:
    db = scripted(lambda lines, k: (413, {}, b"too large") if len(lines) > 30 else (204, {}, b""))
    box = Outbox(tmp_path / "outbox.db")
    _fill(box, 200)
    fwd = Forwarder(box, InfluxWriter(db.url), batch_size=200, flush_interval_s=0.01)
    _run(fwd, lambda: box.depth() == 0, "sent in pieces")
    assert sorted(db.accepted) == sorted(ln for _, ln in _reference_lines(tmp_path, 200))
    assert max(n for _, n, s in db.requests if s == 204) <= 30
    assert box.dead_letters() == []
    box.close()


def _reference_lines(tmp_path: Path, n: int) -> list[tuple[int, str]]:
    """The lines the same readings make in a fresh outbox."""
    other = Outbox(tmp_path / "reference.db")
    _fill(other, n)
    rows = other.peek(n)
    other.close()
    return rows


@pytest.mark.parametrize("status", [400, 422])
def test_400_and_422_move_the_batch_to_dead_letters_and_go_on(
    tmp_path: Path, scripted, status: int
) -> None:
    def answer(lines: list[str], k: int) -> tuple[int, dict[str, str], bytes]:
        if any("export_wh=1013i" in ln for ln in lines):
            return status, {}, b'{"code": "invalid", "message": "unable to parse line 14"}'
        return 204, {}, b""

    db = scripted(answer)
    box = Outbox(tmp_path / "outbox.db")
    _fill(box, 60)  # rows 0-19, 20-39, 40-59 in three batches; the first one is refused
    fwd = Forwarder(box, InfluxWriter(db.url), batch_size=20, flush_interval_s=0.01)
    _run(fwd, lambda: box.depth() == 0, "outbox emptied")
    dead = box.dead_letters()
    assert [(s, m) for s, m, _ in dead] == [(status, "unable to parse line 14")] * 20
    assert len(db.accepted) == 40
    box.close()


def test_retry_after_parses_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    later = parse_retry_after(
        time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    )
    assert later is not None and 25 <= later <= 31
    assert parse_retry_after("soon") is None
