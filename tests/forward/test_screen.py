"""Issue 12, "What was seen" 3: silent loss on the way to VictoriaMetrics, against the real one.

Before: one 1e308 power sample made its neighbours read back as 0; lines with an
out-of-range integer or a 2100 timestamp were skipped by VictoriaMetrics with a
204, and the forwarder deleted them as delivered (no dead letter).
"""

from __future__ import annotations

import time
from pathlib import Path

from collector.forward.forwarder import Forwarder
from collector.forward.outbox import Outbox
from collector.forward.screen import Screen, parse_retention, probe_retention, screen_line
from collector.health import health, register_stall
from collector.metrics import Metrics
from core.reading import Quality, Reading
from core.store.influx import InfluxWriter
from core.store.victoriametrics import ExportReader
from tests.mqtt.helpers import wait_for
from tests.servers import free_port

DAY_MS = 86_400_000


def _now_ms() -> int:
    # VictoriaMetrics judges "future" and retention by its own (wall) clock
    return time.time_ns() // 1_000_000 - 3_600_000


def _drain(box: Outbox, url: str, metrics: Metrics | None = None) -> Forwarder:
    fwd = Forwarder(box, InfluxWriter(url), batch_size=1000, flush_interval_s=0.05)
    fwd.metrics = metrics
    fwd.start_thread()
    try:
        wait_for(lambda: box.depth() == 0, 30, "outbox drained")
    finally:
        fwd.stop_thread()
    return fwd


def test_a_huge_float_does_not_zero_its_neighbours(tmp_path: Path, victoriametrics) -> None:
    t = _now_ms()
    box = Outbox(tmp_path / "outbox.db")
    powers = [1500.0, 1e308, 1234.5]
    box.write(
        Reading(
            "s1",
            "s1-inv",
            t + i * 1000,
            {"power_w": p},
            ({"power_w": Quality.IMPLAUSIBLE} if p > 1e6 else {}),
        )
        for i, p in enumerate(powers)
    )
    _drain(box, victoriametrics.url)
    got = ExportReader(victoriametrics.url, flush_first=True).series(fields=["power_w"])
    by_ts = {s.ts_ms - t: (s.value, s.quality) for s in got}
    assert by_ts[0] == (1500.0, Quality.GOOD)
    assert by_ts[2000] == (1234.5, Quality.GOOD)
    # the 1e308 sample: its flag arrived, its value waits in the dead letters
    assert by_ts[1000] == (None, Quality.IMPLAUSIBLE)
    ((status, reason, line),) = box.dead_letters()
    assert status == 0 and "power_w" in reason and "neighbours" in reason
    assert "power_w=1e+308" in line and line.endswith(str(t + 1000))
    box.close()


def test_lines_victoriametrics_would_skip_are_dead_lettered_not_deleted(
    tmp_path: Path, victoriametrics
) -> None:
    t = _now_ms()
    box = Outbox(tmp_path / "outbox.db")
    readings = [
        Reading("s1", "s1-inv", t, {"energy_total_wh": 4_000_000, "status": 1}),
        Reading("s1", "s1-inv", t + 1000, {"energy_total_wh": 2**64, "status": 1}),
        Reading("s1", "s1-inv", 4_102_444_800_000, {"energy_total_wh": 4_000_100}),  # 2100
        Reading("s1", "s1-inv", t + 2000, {"energy_total_wh": 2**53 + 1}),
        Reading("s1", "s1-inv", t + 3000, {"energy_total_wh": 4_000_200, "status": 1}),
    ]
    box.write(readings)
    metrics = Metrics()
    _drain(box, victoriametrics.url, metrics)
    got = ExportReader(victoriametrics.url, flush_first=True).series(
        fields=["energy_total_wh", "status"]
    )
    energy = {s.ts_ms - t: s.value for s in got if s.field == "energy_total_wh"}
    status = {s.ts_ms - t: s.value for s in got if s.field == "status"}
    assert energy == {0: 4_000_000, 3000: 4_000_200}
    # the good field of the line with the overflowing counter was delivered
    assert status == {0: 1, 1000: 1, 3000: 1}
    dead = box.dead_letters()
    reasons = sorted(r for _, r, _ in dead)
    assert len(dead) == 3 and all(s == 0 for s, _, _ in dead)
    assert any("beyond 64 bits" in r for r in reasons)
    assert any("beyond 2^53" in r for r in reasons)
    assert any("ahead" in r for r in reasons)
    assert metrics.get("pvledger_forward_dead_letter_total") == 3
    # and they can be sent again once the cause is fixed (here: they still are bad)
    assert box.requeue_dead_letters() == 3
    _drain(box, victoriametrics.url)
    assert len(box.dead_letters()) == 3
    box.close()


def test_the_retention_of_the_real_server_is_read_and_old_lines_kept_back(
    tmp_path: Path, victoriametrics
) -> None:
    # tests.servers starts VictoriaMetrics with -retentionPeriod=100y
    assert probe_retention(victoriametrics.url) == 100 * 365 * DAY_MS
    now = _now_ms()
    s = Screen("victoriametrics", retention_ms=31 * DAY_MS)
    line = f"pv,device=d energy_total_wh=5i {now - 32 * DAY_MS}"
    assert screen_line(s, line, now)[0] is None
    assert "retention" in screen_line(s, line, now)[1][0][1]
    assert screen_line(s, f"pv,device=d energy_total_wh=5i {now - 30 * DAY_MS}", now)[1] == []


def test_parse_retention_units() -> None:
    assert parse_retention('-retentionPeriod="1"\n') == 31 * DAY_MS  # months of 31 days
    assert parse_retention('-retentionPeriod="2w"') == 14 * DAY_MS
    assert parse_retention('-retentionPeriod="36h"') == 36 * 3_600_000
    assert parse_retention("-search.latencyOffset=30s") is None


def test_influxdb_keeps_what_victoriametrics_would_round() -> None:
    s = Screen("influxdb2")
    ok = f"pv,device=d energy_total_wh={2**60}i,power_w=1e+300 1782864000000"
    assert screen_line(s, ok, 1782864000000) == (ok, [])
    bad = f"pv,device=d energy_total_wh={2**64}i,status=1i 1782864000000"
    send, dead = screen_line(s, bad, 1782864000000)
    assert send == "pv,device=d status=1i 1782864000000"
    assert dead == [
        (
            f"pv,device=d energy_total_wh={2**64}i 1782864000000",
            "energy_total_wh: integer beyond 64 bits (the database skips the whole line)",
        )
    ]


def test_escaped_spaces_in_tags_survive_the_split() -> None:
    line = r"pv,station=a\ b power_w=1e+20,status=1i 1782864000000"
    send, dead = screen_line(Screen(), line, 1782864000000)
    assert send == r"pv,station=a\ b status=1i 1782864000000"
    assert dead[0][0] == r"pv,station=a\ b power_w=1e+20 1782864000000"


def test_an_outbox_that_cannot_deliver_makes_healthz_unhealthy(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.write([Reading("s1", "s1-inv", _now_ms(), {"power_w": 1.0})])
    metrics = Metrics()
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    fwd = Forwarder(box, InfluxWriter(url), flush_interval_s=0.05, backoff_min_s=0.05)

    register_stall(metrics, "outbox", fwd.stalled_s)
    fwd.start_thread()
    try:
        wait_for(lambda: fwd.failures >= 1, 10, "a failed send")
        start = fwd.stalled_s()
        assert health(metrics, stuck_after_s=start + 60)[0]
        wait_for(lambda: fwd.stalled_s() > start + 0.3, 10, "stall grows")
        ok, reasons = health(metrics, stuck_after_s=start + 0.2)
        assert not ok and "pvledger_outbox_stalled_seconds" in reasons[0]
    finally:
        fwd.stop_thread()
    assert box.depth() == 1  # nothing lost
    box.close()
