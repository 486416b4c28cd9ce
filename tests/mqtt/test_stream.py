"""Issue 12 Deliver 6: 10,000 mixed messages through a real Mosquitto and `pvledger collect`.

Valid readings, implausible ones (stored flagged) and a dozen kinds of invalid
payloads, interleaved from five loggers. Every valid reading must be stored
with its values, every invalid payload dead-lettered with its reason, and the
collector must still be running and healthy at the end.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

from core.clock import ScaledClock
from core.processes import free_port, stop_process
from core.reading import Quality
from core.store import SqliteStore
from tests.conftest import ROOT
from tests.mqtt.helpers import T0_MS, Publisher, StatusWatcher, payload, wait_for, write_config

N = 10_000
LOGGERS = 5
CST = dt.timezone(dt.timedelta(hours=8))


def _iso(ts_ms: int) -> str:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=CST).isoformat()


def _invalid(kind: str, dev: str, i: int) -> bytes:
    """One invalid payload of a kind, unique by i (the dead-letter table keeps one row
    per distinct payload)."""
    t = _iso(T0_MS + i * 1000 + 500)
    if kind == "malformed json":
        return b'{"sn": "' + dev.encode() + b'", "pac_w": %d' % i
    if kind == "not a json object":
        return json.dumps([dev, i]).encode()
    if kind == "unknown device":
        return json.dumps({"sn": f"intruder-{i}", "time": t, "pac_w": 1.0}).encode()
    if kind == "bad timestamp":
        return json.dumps({"sn": dev, "time": f"day {i}", "pac_w": 1.0}).encode()
    if kind == "no usable field":
        return json.dumps({"sn": dev, "time": t, "pac_w": "lots", "n": i}).encode()
    if kind == "oversized":
        return json.dumps({"sn": dev, "pac_w": 1.0, "pad": "x" * 20_000, "n": i}).encode()
    if kind == "random bytes":
        rnd = random.Random(i)
        return b"\xff" + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 200)))
    if kind == "deep nesting":
        return b"[" * 5000 + str(i).encode() + b"]" * 5000
    if kind == "implausible 64 bits":
        return json.dumps({"sn": dev, "time": t, "etotal_wh": 10**30 + i}).encode()
    if kind == "implausible 2100":
        return json.dumps(
            {"sn": dev, "time": f"2100-01-01T00:00:{i % 60:02d}+08:00", "n": i, "pac_w": 1.0}
        ).encode()
    if kind == "implausible 1970":
        return json.dumps(
            {"sn": dev, "time": "1970-01-02T00:00:00+08:00", "pac_w": float(i)}
        ).encode()
    raise AssertionError(kind)


#: kind -> the reason it is dead-lettered with
REASONS = {
    "malformed json": "malformed json",
    "random bytes": "malformed json",
    "deep nesting": "malformed json",
    "not a json object": "not a json object",
    "unknown device": "unknown device",
    "bad timestamp": "bad timestamp",
    "no usable field": "no usable field",
    "oversized": "oversized",
    "implausible 64 bits": "implausible",
    "implausible 2100": "implausible",
    "implausible 1970": "implausible",
}


def test_ten_thousand_mixed_messages_through_pvledger_collect(tmp_path: Path, mosquitto) -> None:
    cfg = write_config(tmp_path, mqtt_port=mosquitto.port, loggers=LOGGERS)
    # the collector's clock: two days after the first reading, so all of them are history
    clock = tmp_path / "clock.json"
    ScaledClock.starting(T0_MS + 2 * 86_400_000, 1.0).save(clock)
    health = free_port()
    log = open(tmp_path / "collect.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-c",
            str(cfg),
            "collect",
            "--only",
            "mqtt",
            "--sim-clock",
            str(clock),
            "--health-port",
            str(health),
        ],
        cwd=ROOT,
        stdout=log,
        stderr=log,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    log.close()
    rnd = random.Random(12)
    kinds = sorted(REASONS)
    valid: dict[tuple[str, int], int] = {}  # (device, ts) -> energy_total_wh
    flagged: set[tuple[str, int]] = set()
    invalid: Counter[str] = Counter()
    sent_per_dev = Counter[str]()
    status = StatusWatcher(mosquitto.port)
    pub = None
    try:
        status.wait_state("online", 30)
        pub = Publisher(mosquitto.port)
        for i in range(N):
            d = i % LOGGERS
            dev, topic = f"v-{d}-log", f"pv/dongpi/v-{d}"
            roll = rnd.random()
            if roll < 0.65:
                k = sent_per_dev[dev]
                sent_per_dev[dev] += 1
                pub.publish(topic, payload(dev, k))
                valid[(dev, T0_MS + k * 60_000)] = 4_000_000 + k * 17
            elif roll < 0.70:  # a 1e308 W power sample: stored, flagged
                ts = T0_MS + i * 1000 + 250
                pub.publish(
                    topic, json.dumps({"sn": dev, "time": _iso(ts), "pac_w": 1e308}).encode()
                )
                flagged.add((dev, ts))
            else:
                kind = kinds[i % len(kinds)]
                invalid[kind] += 1
                pub.publish(topic, _invalid(kind, dev, i))
        pub.wait_acked(N, 60)
        db = tmp_path / "data" / "pv.db"
        letters = tmp_path / "data" / "deadletter.db"

        def handled() -> bool:
            if not db.exists() or not letters.exists():
                return False
            with sqlite3.connect(letters, timeout=30) as c:
                n_dead = c.execute("SELECT count(*) FROM mqtt_dead_letter").fetchone()[0]
            return (
                n_dead == sum(invalid.values())
                and _metric(health, "pvledger_mqtt_messages_total") >= N
            )

        wait_for(handled, 60, "every message committed", step_s=0.2)
        assert proc.poll() is None, "the collector died"
        with urllib.request.urlopen(f"http://127.0.0.1:{health}/healthz", timeout=10) as r:
            assert r.status == 200
        assert _metric(health, "pvledger_mqtt_pending") == 0
    finally:
        if pub is not None:
            pub.close()
        status.close()
        stop_process(proc, 30)
    assert proc.returncode == 0

    store = SqliteStore(tmp_path / "data" / "pv.db", readonly=True)
    try:
        energy = {
            (s.device, s.ts_ms): (s.value, s.quality)
            for s in store.series(fields=["energy_total_wh"])
        }
        power = {
            (s.device, s.ts_ms): (s.value, s.quality) for s in store.series(fields=["power_w"])
        }
    finally:
        store.close()
    # every valid reading stored, exactly, as good; nothing else has a counter
    assert energy == {k: (v, Quality.GOOD) for k, v in valid.items()}
    assert {k for k, (_, q) in power.items() if q is Quality.GOOD} == set(valid)
    assert {k for k, (v, q) in power.items() if q is Quality.IMPLAUSIBLE and v == 1e308} == flagged
    assert len(power) == len(valid) + len(flagged)
    # every invalid payload dead-lettered once, with its reason
    with sqlite3.connect(tmp_path / "data" / "deadletter.db") as c:
        rows = c.execute("SELECT reason, seen FROM mqtt_dead_letter").fetchall()
    want = Counter()
    for kind, n in invalid.items():
        want[REASONS[kind]] += n
    assert Counter(r for r, _ in rows) == want
    assert all(seen == 1 for _, seen in rows)
    assert len(valid) > 6000 and sum(invalid.values()) > 2500 and len(flagged) > 400


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0
