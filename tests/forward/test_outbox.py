"""The outbox: committed on disk, budget policy (thin power, keep counters), dead letters."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

from collector.forward.outbox import PROTECTED, THINNABLE, Outbox
from collector.metrics import Metrics
from core.reading import Quality, Reading

T0 = 1782864000000


def _reading(i: int) -> Reading:
    return Reading(
        "s1",
        "s1-inv",
        T0 + i * 1000,
        {"power_w": 1000.0 + i, "temperature_c": 40.0, "energy_total_wh": 5000 + i, "status": 1},
        village="dongpi",
        gateway="gw",
    )


def _classes(path: Path) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {PROTECTED: [], THINNABLE: []}
    with sqlite3.connect(path) as db:
        for cls, line in db.execute("SELECT class, line FROM outbox ORDER BY id"):
            out[cls].append(line)
    return out


def test_readings_survive_a_reopen_split_into_protected_and_thinnable_lines(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path / "outbox.db")
    assert box.write([_reading(0), _reading(1)]) == 8
    box.close()
    box = Outbox(tmp_path / "outbox.db")
    rows = box.peek(10)
    box.close()
    assert len(rows) == 4
    lines = _classes(tmp_path / "outbox.db")
    assert lines[PROTECTED][0] == (
        "pv,device=s1-inv,gateway=gw,station=s1,village=dongpi "
        f"energy_total_wh=5000i,status=1i {T0}"
    )
    assert lines[THINNABLE][0].endswith(f" power_w=1000.0,temperature_c=40.0 {T0}")


def test_over_budget_thins_power_samples_and_never_drops_counters(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = Metrics()
    # 8,000 readings: ~1.0 MB protected lines + ~0.6 MB power lines; budget 1.3 MB
    box = Outbox(tmp_path / "outbox.db", budget_bytes=1_300_000, metrics=metrics)
    n = 8000
    with caplog.at_level(logging.WARNING, logger="collector.forward.outbox"):
        for start in range(0, n, 200):
            box.write(_reading(i) for i in range(start, start + 200))
    lines = _classes(tmp_path / "outbox.db")
    # every energy counter and status is still there, in order
    assert len(lines[PROTECTED]) == n
    assert [int(ln.split("energy_total_wh=")[1].split("i")[0]) for ln in lines[PROTECTED]] == [
        5000 + i for i in range(n)
    ]
    # power samples were thinned, oldest hardest, newest kept
    kept = [int(ln.rsplit(" ", 1)[1]) for ln in lines[THINNABLE]]
    assert 0 < len(kept) < n
    assert kept[-1] == T0 + (n - 1) * 1000
    first_half = sum(1 for ts in kept if ts < T0 + n // 2 * 1000)
    assert first_half < len(kept) - first_half
    assert box.thinned_total == n - len(kept)
    assert metrics.get("pvledger_outbox_thinned_total") == n - len(kept)
    assert box.used_bytes() <= 1_300_000
    warned = [r.getMessage() for r in caplog.records if "of its budget (now" in r.getMessage()]
    assert [w.split(" %")[0].rsplit(" ", 1)[1] for w in warned] == ["50", "80", "95"]
    assert "thinning power samples" in caplog.text
    box.close()


def test_only_protected_rows_left_grows_past_budget_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox(tmp_path / "outbox.db", budget_bytes=100_000)
    with caplog.at_level(logging.ERROR, logger="collector.forward.outbox"):
        for start in range(0, 3000, 500):
            box.write(
                Reading("m1", "m1-meter", T0 + i, {"export_wh": i}, measurement="meter")
                for i in range(start, start + 500)
            )
    assert box.depth() == 3000
    assert box.fill_ratio() > 1
    assert "protected" in caplog.text
    box.close()


def test_metrics_show_depth_and_age_of_the_oldest_reading(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    metrics = Metrics()
    box.register_metrics(metrics)
    box.write([_reading(0)])
    with sqlite3.connect(tmp_path / "outbox.db") as db:  # pretend it has waited 90 s
        db.execute("UPDATE outbox SET enqueued_ms = enqueued_ms - 90000")
    text = metrics.render()
    assert "pvledger_outbox_depth 2" in text
    age = float(text.split("\npvledger_outbox_oldest_age_seconds ")[1].split()[0])
    assert 90 <= age < 120
    box.close()


def test_dead_letter_moves_rows_with_the_servers_message(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.write(_reading(i) for i in range(3))
    rows = box.peek(2)
    assert box.dead_letter(rows[0][0], rows[-1][0], 400, "unable to parse") == 2
    assert box.depth() == 4
    assert [(s, m) for s, m, _ in box.dead_letters()] == [(400, "unable to parse")] * 2
    before = box.used_bytes()
    assert box.requeue_dead_letters() == 2  # after the cause is fixed
    assert box.depth() == 6 and box.dead_letters() == [] and box.used_bytes() > before
    box.close()


def test_missing_values_keep_their_quality_in_the_line(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.write(
        [
            Reading(
                "s1",
                "s1-inv",
                T0,
                {"power_w": None, "energy_total_wh": 7},
                {"power_w": Quality.COMM_ERROR},
            )
        ]
    )
    lines = _classes(tmp_path / "outbox.db")
    assert lines[THINNABLE] == [f"pv,device=s1-inv,station=s1 power_w_quality=2i {T0}"]
    box.close()
