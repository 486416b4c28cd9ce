"""Notifiers against real peers on localhost (HTTP server, Mosquitto, aiosmtpd with
STARTTLS + AUTH), and the lifecycle across a restart: nothing forgotten, nothing re-sent."""

from __future__ import annotations

import json
import queue
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alerts.component import close_engine, open_engine
from tests.alerts.fleet import fill, local_ms, write_config
from tests.alerts.peers import SmtpServer, WebhookServer

DAY = "2018-07-10"


def times(start: str, end: str, minutes: int = 5) -> list[int]:
    t, e = local_ms(DAY, start), local_ms(DAY, end)
    return list(range(t, e + 1, minutes * 60_000))


class Subscriber:
    """A paho client collecting everything under a topic filter."""

    def __init__(self, port: int, topic: str):
        self.q: queue.Queue[tuple[str, dict, bool]] = queue.Queue()
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{id(self)}")
        subscribed = queue.Queue()

        def on_connect(c, u, f, rc, p):
            c.subscribe(topic, qos=1)

        self.c.on_connect = on_connect
        self.c.on_subscribe = lambda *a: subscribed.put(True)
        self.c.on_message = lambda c, u, m: self.q.put(
            (m.topic, json.loads(m.payload) if m.payload else None, bool(m.retain))
        )
        self.c.connect("127.0.0.1", port)
        self.c.loop_start()
        subscribed.get(timeout=10)

    def get(self, timeout: float = 10) -> tuple[str, dict, bool]:
        return self.q.get(timeout=timeout)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def smtp(tmp_path: Path):
    s = SmtpServer(tmp_path).start()
    yield s
    s.stop()


@pytest.fixture
def webhook():
    w = WebhookServer().start()
    yield w
    w.stop()


def stop_scenario(cfg):
    stop_from, stop_to = local_ms(DAY, "10:30"), local_ms(DAY, "12:30")

    def share(sid, t):
        return 0.0 if sid == "s-a1" and stop_from <= t < stop_to else 0.8

    return fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "14:00"), share)


def test_one_stop_reaches_every_peer_once_across_a_restart(
    tmp_path: Path, mosquitto, smtp: SmtpServer, webhook: WebhookServer, monkeypatch
):
    monkeypatch.setenv("PV_SMTP_PASSWORD", smtp.password)
    cfg = write_config(
        tmp_path,
        notify=(
            f"    - {{type: webhook, url: '{webhook.url}', retries: 2, backoff_s: 0.05}}\n"
            f"    - {{type: mqtt, topic: t/alerts, host: 127.0.0.1, port: {mosquitto.port}}}\n"
            f"    - {{type: email, host: 127.0.0.1, port: {smtp.port}, username: om, "
            f"password_env: PV_SMTP_PASSWORD, ca_file: {smtp.cert}, sender: pv@county.test, "
            "to: [om@county.test]}\n"
        ),
    )
    store = stop_scenario(cfg)
    sub = Subscriber(mosquitto.port, "t/alerts/#")
    eng = open_engine(cfg, store)
    try:
        for t in times("10:00", "11:35"):
            eng.step(t)
        hooks = webhook.drain()
        assert [(h["event"], h["kind"], h["subject"]) for h in hooks] == [
            ("firing", "no_output", "s-a1-log")
        ]
        assert hooks[0]["station"] == "s-a1" and hooks[0]["lost_income_yuan"]
        topic, ev, retained = sub.get()
        assert (topic, ev["kind"], retained) == ("t/alerts/events", "no_output", False)
        topic, state, _ = sub.get()  # a live subscriber never sees the retain flag
        assert topic == "t/alerts/state/s-a1"
        assert [a["kind"] for a in state["firing"]] == ["no_output"]
        mail = smtp.get()
        assert "no output" in mail["Subject"] and "s-a1" in mail["Subject"]
        body = mail.get_payload(decode=True).decode()
        assert "Owner a1" in body and "Estimated income lost" in body
        assert smtp.logins == ["om"]

        # restart: a new engine over the same lifecycle database
        close_engine(eng)
        eng = open_engine(cfg, store)
        for t in times("11:40", "12:25"):
            eng.step(t)
        assert webhook.drain() == []
        assert smtp.box.empty()
        with pytest.raises(queue.Empty):
            sub.get(timeout=0.3)

        for t in times("12:30", "12:50"):
            eng.step(t)
        assert [h["event"] for h in webhook.drain()] == ["resolved"]
        assert "RESOLVED" in smtp.get()["Subject"]
        assert sub.get()[1]["event"] == "resolved"
        topic, state, _ = sub.get()
        assert topic == "t/alerts/state/s-a1" and state["firing"] == []
    finally:
        close_engine(eng)
        store.close()
        sub.close()
    # a late subscriber sees the retained all-clear state for the station
    late = Subscriber(mosquitto.port, "t/alerts/state/#")
    try:
        topic, state, retained = late.get()
        assert retained and topic == "t/alerts/state/s-a1" and state["firing"] == []
    finally:
        late.close()


def test_webhook_retries_with_back_off_and_owes_what_it_could_not_send(
    tmp_path: Path, webhook: WebhookServer
):
    cfg = write_config(
        tmp_path,
        notify=f"    - {{type: webhook, url: '{webhook.url}', retries: 3, backoff_s: 0.02}}\n",
    )
    store = stop_scenario(cfg)
    eng = open_engine(cfg, store)
    try:
        webhook.fail_next = 2  # two 503s, then accepted
        for t in times("10:00", "11:35"):
            eng.step(t)
        assert [h["event"] for h in webhook.drain()] == ["firing"]
        assert webhook.requests == 3
        # the receiver is down when the alert resolves: the event stays owed
        webhook.stop()
        for t in times("12:30", "12:45"):
            eng.step(t)
        owed = eng.db.undelivered("webhook-0")
        assert [e.event for e in owed] == ["resolved"]
        webhook.start()
        eng.step(local_ms(DAY, "12:50"))
        assert [h["event"] for h in webhook.drain()] == ["resolved"]
        assert eng.db.undelivered("webhook-0") == []
    finally:
        close_engine(eng)
        store.close()


def test_reminders_until_acknowledged_and_chinese_text(tmp_path: Path, webhook: WebhookServer):
    cfg = write_config(
        tmp_path,
        language="zh",
        notify=f"    - {{type: webhook, url: '{webhook.url}', retries: 0}}\n",
    )
    stop_from = local_ms(DAY, "08:30")

    def share(sid, t):
        return 0.0 if sid == "s-b1" and t >= stop_from else 0.8

    store = fill(cfg, local_ms(DAY, "05:00"), local_ms(DAY, "16:00"), share)
    eng = open_engine(cfg, store)
    try:
        for t in times("08:00", "09:35"):
            eng.step(t)
        (first,) = webhook.drain()
        assert first["event"] == "firing" and "停止发电" in first["title"]
        assert "估计损失收入" in first["text"] and "元" in first["text"]
        for t in times("09:40", "11:40"):  # renotify_s is 2 h
            eng.step(t)
        assert [h["event"] for h in webhook.drain()] == ["reminder"]
        eng.db.ack(first["id"], now_ms=local_ms(DAY, "11:45"), note="派人去看")
        for t in times("11:45", "15:30"):
            eng.step(t)
        assert webhook.drain() == []
        assert eng.db.get(first["id"]).ack_note == "派人去看"
    finally:
        close_engine(eng)
        store.close()


def test_daily_digest_by_email_once_a_day(tmp_path: Path, smtp: SmtpServer, monkeypatch):
    monkeypatch.setenv("PV_SMTP_PASSWORD", smtp.password)
    cfg = write_config(
        tmp_path,
        notify=(
            f"    - {{type: email, host: 127.0.0.1, port: {smtp.port}, username: om, "
            f"password_env: PV_SMTP_PASSWORD, ca_file: {smtp.cert}, sender: pv@county.test, "
            "to: [om@county.test], events: false, digest_hour: 12}\n"
        ),
    )
    store = stop_scenario(cfg)
    eng = open_engine(cfg, store)
    try:
        for t in times("10:00", "11:55"):
            eng.step(t)
        assert smtp.box.empty()  # events: false, and not yet digest time
        eng.step(local_ms(DAY, "12:00"))
        mail = smtp.get()
        assert "digest" in mail["Subject"] and "1 open" in mail["Subject"]
        assert "s-a1" in mail.get_payload(decode=True).decode()
        for t in times("12:05", "13:00"):
            eng.step(t)
        assert smtp.box.empty()
    finally:
        close_engine(eng)
        store.close()
