"""Gateway alert events reach the county once: a gateway forwards every event over MQTT
(QoS 1, owed in its alert database until the broker acknowledged it), the county takes
them with a persistent session and records each event id once. On a simulated clock,
against a real Mosquitto that is stopped for an hour of gateway time: every event
raised meanwhile arrives afterwards, exactly once, across a gateway restart, a
re-sent copy and a county restart. And the gateway's last will (a collector killed
with SIGKILL) turns its status offline, which gateway_silent reads."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from alerts import remote
from alerts.delivery import deliver
from alerts.kinds.gateway_silent import offline_condition
from alerts.message import build_payload
from alerts.notify import build_notifiers
from alerts.notify.county import events_topic
from alerts.remote import GatewayInbox, check_envelope, ingest_event
from alerts.state import AlertDb, Finding
from core.config import Config, load_config
from tests.alerts.fleet import local_ms, write_config
from tests.mqtt.helpers import wait_for

DAY = "2018-07-10"
MIN = 60_000
ROOT = Path(__file__).resolve().parents[2]


def gateway_config(
    tmp: Path, port: int, notify: str = "    - {type: county, timeout_s: 2}\n"
) -> Config:
    """The test fleet as gateway gw-va, forwarding its alert events to the county."""
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = write_config(tmp, notify=notify, gateways=True)
    text = cfg.path.read_text().replace("gateway: gw-1}", "gateway: gw-va}", 1)
    text += f"mqtt: {{host: 127.0.0.1, port: {port}, client_id: county-test, keepalive_s: 5}}\n"
    cfg.path.write_text(text)
    return load_config(cfg.path)


def finding(station: str) -> Finding:
    return Finding(
        kind="comm_lost",
        subject=f"{station}-log",
        since_ms=0,
        for_s=0,
        station=station,
        village="va",
        device=f"{station}-log",
        gateway="gw-va",
    )


class Gateway:
    """The gateway's side: its alert database and notifiers (reopened on 'restart')."""

    def __init__(self, config: Config):
        self.config = config
        self.open()

    def open(self) -> None:
        self.db = AlertDb(self.config.resolve(self.config.alerts.db_path))
        self.notifiers = build_notifiers(self.config)

    def close(self) -> None:
        for n in self.notifiers:
            n.close()
        self.db.close()

    def step(self, now: int, seen: list[str]) -> list:
        """One evaluation at now where the stations in seen are silent, then delivery."""

        def describe(alert, event, t):
            return build_payload(self.config, alert, event, t, expected_wh=None, lost_fen=None)

        fs = [
            Finding(**{**finding(s).__dict__, "since_ms": now - 40 * MIN, "for_s": 1800})
            for s in seen
        ]
        events = self.db.apply(
            fs,
            now_ms=now,
            kinds=["comm_lost"],
            clear_s={"comm_lost": 0},
            renotify_s=10**9,
            notifiers=[n.name for n in self.notifiers],
            describe=describe,
        )
        deliver(self.notifiers, self.db, self.config, now)
        return events

    def owed(self) -> list[tuple[int, int, str | None]]:
        return self.db._db.execute(
            "SELECT event_id, attempts, error FROM deliveries WHERE sent_ms IS NULL ORDER BY 1"
        ).fetchall()


def county_events(db: AlertDb) -> list[tuple[str, str, str]]:
    """(uid, event, subject) of every forwarded event recorded by the county."""
    rows = db._db.execute(
        "SELECT g.uid, e.event, a.subject FROM gateway_events g JOIN events e ON e.id = g.event_id "
        "JOIN alerts a ON a.id = e.alert_id ORDER BY e.id"
    ).fetchall()
    return [tuple(r) for r in rows]


def test_an_hour_offline_then_every_event_once(tmp_path: Path, mosquitto):
    config = gateway_config(tmp_path / "gw", mosquitto.port)
    county_db = AlertDb(tmp_path / "county" / "alerts.db")
    clock = {"now": local_ms(DAY, "10:00")}
    inbox = GatewayInbox(config, county_db, ["county-hook"], lambda: clock["now"])
    inbox.start()
    gw = Gateway(config)
    try:
        assert inbox.subscribed.wait(10)
        t0 = clock["now"]
        gw.step(t0, ["s-a1"])  # s-a1 silent: fires, forwarded at once
        wait_for(lambda: inbox.recorded == 1, 20, "the first event at the county")
        assert gw.owed() == []

        mosquitto.stop()  # the uplink is gone for an hour of gateway time
        t = t0
        plan = {10: ["s-a1", "s-a2"], 30: ["s-a2"], 50: ["s-a2", "s-a3"]}
        silent = ["s-a1"]
        raised = 1
        for minute in range(5, 65, 5):
            t = t0 + minute * MIN
            clock["now"] = t
            silent = plan.get(minute, silent)
            raised += len(gw.step(t, silent))
            if minute == 35:  # the gateway restarts in the middle of the outage
                gw.close()
                gw.open()
        # s-a2 fired, s-a1 resolved, s-a3 fired: all owed, in order; the oldest was
        # tried at every round since it was raised (minute 10) and failed with the reason,
        # the later ones wait behind it (a notifier stops at its first failure)
        assert raised == 4
        owed = gw.owed()
        assert len(owed) == 3
        assert owed[0][1:] == (len(range(10, 65, 5)), "[Errno 111] Connection refused")
        assert [a for _, a, _ in owed[1:]] == [0, 0]

        mosquitto.start()
        assert inbox.subscribed.wait(30)  # the county reconnects on its own
        t += 5 * MIN
        clock["now"] = t
        gw.step(t, silent)
        wait_for(lambda: inbox.recorded == 4, 30, "the hour's events at the county")
        assert gw.owed() == []

        # a copy (a PUBACK lost after the broker took it): sent again, recorded once
        first = gw.db.events()[0]
        gw.notifiers[0].send_event(first, gw.db)
        wait_for(lambda: inbox.duplicates == 1, 20, "the copy seen and dropped")

        # the county restarts; what the gateway sends meanwhile waits in its session
        inbox.stop()
        t += 5 * MIN
        clock["now"] = t
        assert len(gw.step(t, ["s-a3"])) == 1  # s-a2 resolved while the county is away
        inbox = GatewayInbox(config, county_db, ["county-hook"], lambda: clock["now"])
        inbox.start()
        wait_for(lambda: inbox.recorded == 1, 30, "the event sent while the county was away")

        got = county_events(county_db)
        assert [(e, s) for _, e, s in got] == [
            ("firing", "s-a1-log"),
            ("firing", "s-a2-log"),
            ("resolved", "s-a1-log"),
            ("firing", "s-a3-log"),
            ("resolved", "s-a2-log"),
        ]
        assert len({u for u, _, _ in got}) == 5
        states = {a.subject: a.state for a in county_db.alerts()}
        assert states == {"s-a1-log": "resolved", "s-a2-log": "resolved", "s-a3-log": "firing"}
        # each event owed once to the county's own notifier (routing, work orders)
        owed_county = county_db._db.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM deliveries "
            "WHERE notifier = 'county-hook'"
        ).fetchone()
        assert owed_county == (5, 5)

        # the county's own evaluation leaves the gateway's open alert alone
        county_db.apply(
            [finding("s-a3")],
            now_ms=t + MIN,
            kinds=["comm_lost"],
            clear_s={"comm_lost": 0},
            renotify_s=10**9,
            notifiers=[],
            describe=lambda a, e, n: {},
        )
        county_db.apply(
            [],
            now_ms=t + 2 * MIN,
            kinds=["comm_lost"],
            clear_s={"comm_lost": 0},
            renotify_s=10**9,
            notifiers=[],
            describe=lambda a, e, n: {},
        )
        assert [(a.subject, a.state) for a in county_db.open_alerts()] == [("s-a3-log", "firing")]
    finally:
        inbox.stop()
        gw.close()
        county_db.close()


def test_a_forged_or_broken_message_is_refused(tmp_path: Path):
    db = AlertDb(tmp_path / "alerts.db")
    try:
        remote.ensure_schema(db)
        good = {
            "uid": "gw-va:ab12:3:7",
            "gateway": "gw-va",
            "instance": "ab12",
            "alert_id": 3,
            "event_id": 7,
            "event": "firing",
            "ts_ms": 1000,
            "payload": {"kind": "comm_lost", "subject": "d1", "fired_ms": 1000},
        }
        for bad, why in (
            ({**good, "gateway": "gw-vb"}, "published on the topic of"),
            ({**good, "uid": "gw-va:ab12:3:8"}, "does not match"),
            ({**good, "payload": {"kind": "comm_lost"}}, "kind and subject"),
            ({k: v for k, v in good.items() if k != "instance"}, "envelope"),
        ):
            try:
                check_envelope(bad, "gw-va")
            except remote.BadMessage as exc:
                assert why in str(exc)
            else:
                raise AssertionError(f"accepted {bad}")
        msg = check_envelope(good, "gw-va")
        assert ingest_event(db, msg, now_ms=2000, notifiers=["n"]) is not None
        assert ingest_event(db, msg, now_ms=3000, notifiers=["n"]) is None
        assert len(db.events()) == 1
    finally:
        db.close()


def test_last_will_turns_the_gateway_offline(tmp_path: Path, mosquitto):
    """A collector killed without a goodbye: the broker publishes its last will, the
    county records the gateway offline at the county's time, gateway_silent reads it."""
    config = gateway_config(tmp_path / "gw", mosquitto.port)
    county_db = AlertDb(tmp_path / "county" / "alerts.db")
    clock = {"now": local_ms(DAY, "21:00")}  # night: data silence alone would not count
    inbox = GatewayInbox(config, county_db, [], lambda: clock["now"], client_id="county-will")
    inbox.start()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.forward.collector_proc", str(config.path)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
    )
    try:
        assert inbox.subscribed.wait(10)
        wait_for(
            lambda: remote.gateway_status(county_db).get("gw-va", ("",))[0] == "online",
            30,
            "the gateway online",
        )
        clock["now"] += 10 * MIN
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # the broker publishes the will after 1.5 x keepalive (5 s) without a packet
        wait_for(
            lambda: remote.gateway_status(county_db)["gw-va"][0] == "offline",
            30,
            "the last will",
        )
        state, since = remote.gateway_status(county_db)["gw-va"]
        assert since == clock["now"]
        cond = offline_condition((state, since), last_good_ms=since - 30 * MIN)
        assert cond is not None and cond.since_ms == since and cond.seen["status"] == "offline"
        assert offline_condition((state, since), last_good_ms=since + MIN) is None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stderr.close()
        inbox.stop()
        county_db.close()


def test_events_topic_is_under_the_bridged_gateway_tree():
    # deploy/mosquitto/village-bridge.conf bridges pvledger/gateway/# out at QoS 1
    assert mqtt.topic_matches_sub("pvledger/gateway/#", events_topic("gw-va"))
    assert mqtt.topic_matches_sub(remote.EVENTS_FILTER, events_topic("gw-va"))
    assert CallbackAPIVersion.VERSION2 and json.dumps({}) == "{}"


def test_alerts_watch_takes_gateway_events(tmp_path: Path, mosquitto):
    """`pvledger alerts watch` (a real process) subscribes and records a gateway's event
    published while it runs, once, and stops cleanly on SIGTERM."""
    from core.clock import ScaledClock
    from tests.alerts.fleet import fill

    # a county config copied from a gateway's, county forwarder included: the watch must
    # not forward its own events (they would come back as a gateway's)
    config = gateway_config(tmp_path, mosquitto.port)
    t = local_ms(DAY, "10:00")
    fill(config, t - 2 * 3_600_000, t, lambda sid, ts: 0.8).close()
    clock = tmp_path / "clock.json"
    ScaledClock.starting(t, 1.0).save(clock)
    watch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pvledger",
            "-v",
            "-c",
            str(config.path),
            "alerts",
            "watch",
            "--sim-clock",
            str(clock),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gw-va-test")
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    db_path = config.resolve(config.alerts.db_path)
    msg = {
        "uid": "gw-va:cafe:9:21",
        "gateway": "gw-va",
        "instance": "cafe",
        "alert_id": 9,
        "event_id": 21,
        "event": "firing",
        "ts_ms": t - 600_000,
        "payload": {
            "kind": "comm_lost",
            "subject": "s-a1-log",
            "station": "s-a1",
            "village": "va",
            "fired_ms": t - 600_000,
            "since_ms": t - 2_400_000,
            "title": "[ALERT] communication lost: s-a1",
        },
    }

    def recorded() -> int:
        if not db_path.exists():
            return -1
        c = sqlite3.connect(db_path)
        try:
            return c.execute("SELECT count(*) FROM gateway_events").fetchone()[0]
        except sqlite3.OperationalError:
            return -1  # the watch has not made its tables yet
        finally:
            c.close()

    try:
        wait_for(lambda: recorded() == 0, 60, "the watch's gateway tables")

        # twice: the copy must change nothing; re-sent until the watch has subscribed
        def sent_twice() -> bool:
            for _ in range(2):
                pub.publish(events_topic("gw-va"), json.dumps(msg), qos=1).wait_for_publish(5)
            return recorded() == 1

        wait_for(sent_twice, 60, "the event recorded", step_s=0.5)
        watch.send_signal(signal.SIGTERM)
        _, err = watch.communicate(timeout=60)
        assert watch.returncode == 0, err.decode()
        assert "alerts watch ignores the county forwarder county-0" in err.decode()
        c = sqlite3.connect(db_path)
        try:
            rows = c.execute("SELECT kind, subject, state, origin FROM alerts").fetchall()
            events = c.execute("SELECT event FROM events").fetchall()
        finally:
            c.close()
        assert rows == [("comm_lost", "s-a1-log", "firing", "gw-va:cafe:9")]
        assert events == [("firing",)]
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.communicate(timeout=10)
        pub.disconnect()
        pub.loop_stop()


def test_gateway_silent_from_its_last_will_at_night(tmp_path: Path):
    """The county engine: a gateway whose status turned offline (its last will) at night
    and whose devices sent nothing since fires gateway_silent after for_s, at night,
    where silence alone is only held; it resolves when the gateway is back."""
    from alerts.engine import Engine
    from tests.alerts.fleet import fill

    cfg = write_config(tmp_path, gateways=True)  # gateway_silent for_s 1800
    gone = local_ms(DAY, "21:00")

    def share(sid: str, t: int) -> float | None:
        return None if sid.startswith("s-a") and gone <= t < gone + 3 * 3_600_000 else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms("2018-07-11", "01:00"), share)
    db = AlertDb(cfg.resolve(cfg.alerts.db_path))
    blind = AlertDb(tmp_path / "without-status.db")
    try:
        # without the status topic, the night's silence alone fires nothing
        other = Engine(cfg, store, blind, [], county=True)
        for minutes in (5, 10, 40, 70):
            assert other.step(gone + minutes * MIN) == []
        assert [a for a in blind.open_alerts() if a.state == "firing"] == []
        engine = Engine(cfg, store, db, [], county=True)
        engine.step(gone + 5 * MIN)
        assert [a.kind for a in db.open_alerts()] == []
        remote.ingest_status(
            db, "gw-va", {"state": "offline", "clean": False}, now_ms=gone + 6 * MIN
        )
        engine.step(gone + 10 * MIN)
        [pending] = db.open_alerts()
        assert (pending.kind, pending.subject, pending.state) == (
            "gateway_silent",
            "gw-va",
            "pending",
        )
        assert pending.since_ms == gone + 6 * MIN
        [ev] = engine.step(gone + 40 * MIN)
        assert (ev.event, ev.payload["subject"]) == ("firing", "gw-va")
        assert "gateway status: offline" in ev.payload["seen_text"]
        # back at midnight: online again and its readings arrive
        back = gone + 3 * 3_600_000
        remote.ingest_status(db, "gw-va", {"state": "online"}, now_ms=back)
        engine.step(back + 5 * MIN)
        events = engine.step(back + 20 * MIN)
        assert [(e.event, e.payload["subject"]) for e in events] == [("resolved", "gw-va")]
    finally:
        db.close()
        blind.close()
        store.close()
