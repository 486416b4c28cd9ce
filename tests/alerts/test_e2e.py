"""Done when (issue 7): `pvledger collect` against `pvledger simulate` (accelerated
time), stopping one household station raises ONE no_output alert on the webhook, MQTT
and email peers within the configured time; restarting it resolves the alert; a grid
outage over the village is one village_outage incident, not a storm."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.config import load_config
from core.store import SqliteStore
from simulator.control import control
from tests.alerts.e2e_config import write
from tests.alerts.peers import SmtpServer, WebhookServer
from tests.alerts.test_notifiers import Subscriber
from tests.conftest import ROOT
from tests.servers import free_port, stop_process, wait_port

START = "2025-07-10T10:00:00+08:00"
#: 60x, not 120x: on a loaded machine (load 6 on 2 cores) the collector fell behind at
#: 120x, its peers' readings went stale and no decision could be made within the wait
SPEED = "60"
#: wall seconds to wait for an event: the rules need at most 20 simulated minutes (20 s
#: at 60x); the rest is room for a busy machine
EVENT_WAIT_S = 120


def wait_hook(hook: WebhookServer, event: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            got = hook.received.get(timeout=0.2)
        except queue.Empty:
            continue
        if got["event"] == event:
            return got
        pytest.fail(f"unexpected event before {event}: {got['title']}")
    pytest.fail(f"no {event} event within {timeout_s} s")


def wait_every_device_stored(cfg: Path, timeout_s: float) -> None:
    """Wait until the collector's store holds a reading of every configured device."""
    config = load_config(cfg)
    want = {d.id for _, d in config.devices()}
    db = config.resolve(config.storage.path)
    deadline = time.monotonic() + timeout_s
    while True:
        if db.exists():
            with SqliteStore(db, readonly=True) as store:
                if want <= {s.device for s in store.latest()}:
                    return
        assert time.monotonic() < deadline, "the collector did not store every device"
        time.sleep(0.2)


def wait_sim(ctl: int, minutes: float, timeout_s: float = 60) -> None:
    """Wait until the simulator's clock has advanced by `minutes` of simulated time."""
    until = control(ctl, "GET", "/clock")["now_ms"] + int(minutes * 60_000)
    deadline = time.monotonic() + timeout_s
    while control(ctl, "GET", "/clock")["now_ms"] < until:
        assert time.monotonic() < deadline, f"simulated time did not advance {minutes} min"
        time.sleep(0.1)


@pytest.mark.slow
def test_stop_one_household_one_alert_on_every_peer(tmp_path: Path, mosquitto):
    hook = WebhookServer().start()
    smtp = SmtpServer(tmp_path).start()
    cfg = write(
        tmp_path,
        mqtt_port=mosquitto.port,
        webhook_url=hook.url,
        smtp_port=smtp.port,
        cert=smtp.cert,
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT), E2E_SMTP_PASSWORD=smtp.password)
    ctl = free_port()
    sub = Subscriber(mosquitto.port, "pvledger/alerts/#")
    procs: list[subprocess.Popen] = []
    try:
        base = [sys.executable, "-m", "pvledger", "-q", "-c", str(cfg)]
        procs.append(
            subprocess.Popen(
                [*base, "simulate", "--speed", SPEED, "--start", START, "--control-port", str(ctl)],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        wait_port(ctl, 20)
        procs.append(
            subprocess.Popen(
                [*base, "collect", "--sim-clock", "run/clock.json"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        )
        # the collector ingesting every logger, then six simulated minutes of producing
        wait_every_device_stored(cfg, 60)
        wait_sim(ctl, minutes=6)
        fault = control(ctl, "POST", "/faults", {"kind": "stop", "station": "s-hh-2"})
        stopped_at = control(ctl, "GET", "/clock")["now_ms"]

        fired = wait_hook(hook, "firing", EVENT_WAIT_S)
        assert (fired["kind"], fired["subject"], fired["station"]) == (
            "no_output",
            "s-hh-2-log",
            "s-hh-2",
        )
        # configured time: 600 simulated seconds of zero, then the next evaluation; at 60x
        # each wall second of ingest/scheduling delay on a busy machine is 1 simulated min
        assert 600_000 <= fired["ts_ms"] - stopped_at <= 2 * 600_000
        assert fired["owner_name"] == "户主2" and fired["lost_income_yuan"] is not None
        mail = smtp.get(timeout=20)
        assert "no output" in mail["Subject"] and "s-hh-2" in mail["Subject"]
        topic, ev, _ = sub.get(timeout=20)
        assert (topic, ev["event"], ev["subject"]) == (
            "pvledger/alerts/events",
            "firing",
            "s-hh-2-log",
        )
        assert sub.get(timeout=10)[0] == "pvledger/alerts/state/s-hh-2"

        control(ctl, "DELETE", f"/faults/{fault['id']}")
        resolved = wait_hook(hook, "resolved", EVENT_WAIT_S)
        assert resolved["id"] == fired["id"]
        assert "RESOLVED" in smtp.get(timeout=20)["Subject"]
        assert sub.get(timeout=10)[1]["event"] == "resolved"
        # one incident, nothing else: no device_fault, no comm_lost, no second mail
        assert hook.drain() == [] and smtp.box.empty()

        # a grid outage over the whole village: one village_outage, not four no_output
        control(ctl, "POST", "/faults", {"kind": "outage", "village": "va"})
        outage = wait_hook(hook, "firing", EVENT_WAIT_S)
        assert (outage["kind"], outage["subject"]) == ("village_outage", "va")
        wait_sim(ctl, minutes=4)  # four more simulated minutes: still no per-station alerts
        assert hook.drain() == []
    finally:
        for p in reversed(procs):
            stop_process(p)
            if p.stderr is not None:
                err = p.stderr.read().decode(errors="replace")
                p.stderr.close()
                # shown by pytest only when the test fails: what each process said
                print(f"--- {p.args[6]} exited {p.returncode}:\n{err[-3000:]}")
        sub.close()
        smtp.stop()
        hook.stop()
