"""MQTT ingestion against a real Mosquitto: sessions, acknowledgement after commit, status."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from collector.metrics import Metrics
from collector.mqtt.deadletter import DeadLetters
from collector.mqtt.ingest import MqttIngest, dead_letter_path
from core.config import Config
from core.reading import Reading
from core.store import SqliteStore, StoreError
from tests.mqtt.helpers import Publisher, StatusWatcher, load, payload, wait_for
from tests.servers import Mosquitto, free_port, require_binary


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "data" / "pv.db")
    yield s
    s.close()


def _energy(store: SqliteStore) -> list[int]:
    return [s.value for s in store.series(fields=["energy_total_wh"])]  # type: ignore[misc]


def _run(cfg: Config, sink, metrics: Metrics | None = None) -> MqttIngest:
    ing = MqttIngest(cfg)
    ing.open(sink, metrics or Metrics())
    assert ing.wait_connected(10)
    return ing


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_messages_published_while_the_gateway_is_away_arrive(
    tmp_path: Path, mosquitto, store: SqliteStore, protocol: str
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port, mqtt_extra=f", protocol: '{protocol}'")
    ing = _run(cfg, store)
    ing.close()  # the broker keeps the session: fixed client id, no clean start
    pub = Publisher(mosquitto.port)
    try:
        for i in range(300):
            pub.publish("pv/dongpi/v-1", payload("v-1-log", i))
        pub.wait_acked(300)
    finally:
        pub.close()
    assert _energy(store) == []
    ing = _run(cfg, store)
    try:
        wait_for(lambda: len(_energy(store)) == 300, 20, "queued messages delivered")
    finally:
        ing.close()
    assert _energy(store) == [4_000_000 + i * 17 for i in range(300)]
    got = store.series(devices=["v-1-log"], fields=["energy_today_wh", "status", "power_w"])
    first = {s.field: s for s in got if s.ts_ms == got[0].ts_ms}
    assert first["status"].value == 1 and first["power_w"].value == 1000.0
    assert first["energy_today_wh"].value == 0 and isinstance(first["status"].value, int)


class FlakySink:
    """The real store behind a switch that makes commits fail (a full disk, say)."""

    def __init__(self, store: SqliteStore):
        self.store = store
        self.failing = True
        self.attempts = 0

    def write(self, readings: Iterable[Reading]) -> int:
        self.attempts += 1
        if self.failing:
            raise StoreError("disk full (test)")
        return self.store.write(readings)


def test_puback_only_after_commit_so_nothing_is_lost_when_commits_fail(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    sink = FlakySink(store)
    metrics = Metrics()
    ing = _run(cfg, sink, metrics)
    pub = Publisher(mosquitto.port)
    try:
        for i in range(50):
            pub.publish("pv/dongpi/v-0", payload("v-0-log", i))
        pub.wait_acked(50)
        wait_for(lambda: sink.attempts >= 2, 10, "commit retried")
        # stop while the commit still fails: nothing was acknowledged, so the broker
        # must hand every message to the next session
        ing.close()
        assert metrics.get("pvledger_mqtt_commit_errors_total") >= 2
        assert _energy(store) == []
        sink.failing = False
        ing = _run(cfg, sink)
        wait_for(lambda: len(_energy(store)) == 50, 20, "redelivered after restart")
        assert _energy(store) == [4_000_000 + i * 17 for i in range(50)]
    finally:
        pub.close()
        ing.close()


def test_gateway_status_is_retained_online_then_offline_on_clean_stop(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    ing = _run(cfg, store)
    try:
        watcher = StatusWatcher(mosquitto.port)  # subscribes after the publish: retained
        assert watcher.wait_state("online")["gateway"] == "gw-test"
    finally:
        ing.close()
    try:
        assert watcher.wait_state("offline")["clean"] is True
    finally:
        watcher.close()


def test_duplicates_and_out_of_order_messages_are_harmless(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(tmp_path, mqtt_port=mosquitto.port)
    ing = _run(cfg, store)
    pub = Publisher(mosquitto.port)
    try:
        order = list(range(100)) + list(reversed(range(100))) + list(range(0, 100, 3))
        for i in order:
            pub.publish("pv/dongpi/v-2", payload("v-2-log", i))
        pub.wait_acked(len(order))
        wait_for(lambda: ing.stored == len(order), 20, "all messages committed")
    finally:
        pub.close()
        ing.close()
    assert _energy(store) == [4_000_000 + i * 17 for i in range(100)]


def test_refused_payloads_go_to_the_dead_letter_table_and_ingestion_goes_on(
    tmp_path: Path, mosquitto, store: SqliteStore
) -> None:
    cfg = load(
        tmp_path,
        mqtt_port=mosquitto.port,
        mqtt_extra=", max_payload_bytes: 1024, subscribe: ['pv/#']",
    )
    metrics = Metrics()
    ing = _run(cfg, store, metrics)
    pub = Publisher(mosquitto.port)
    bad = {
        "pv/dongpi/v-0": b"{not json",
        "pv/dongpi/v-1": b"[1, 2, 3]",
        "pv/dongpi/v-2": payload("v-9-log", 0),  # another device's serial number
        "pv/dongpi/ghost": payload("ghost-log", 0),  # no such device in the config
    }
    try:
        for topic, data in bad.items():
            pub.publish(topic, data)
        pub.publish(
            "pv/dongpi/v-0", b'{"sn": "v-0-log", "pac_w": 1, "pad": "' + b"x" * 2000 + b'"}'
        )
        pub.publish("pv/dongpi/v-0", b'{"sn": "v-0-log", "time": "yesterday", "pac_w": 1}')
        pub.publish("pv/dongpi/v-0", b'{"sn": "v-0-log", "colour": "blue"}')
        pub.publish("pv/dongpi/v-0", payload("v-0-log", 7))
        pub.publish("pv/dongpi/v-0", b"{not json")  # a redelivered bad message: one row
        pub.wait_acked(9)
        wait_for(lambda: ing.stored == 1 and ing.rejected == 8, 20, "all handled")
    finally:
        pub.close()
        ing.close()
    letters = DeadLetters(dead_letter_path(cfg))
    try:
        reasons = sorted(r[2] for r in letters.rows())
    finally:
        letters.close()
    assert reasons == sorted(
        [
            "malformed json",
            "not a json object",
            "unknown device",
            "unknown device",
            "oversized",
            "bad timestamp",
            "no usable field",
        ]
    )
    assert _energy(store) == [4_000_000 + 7 * 17]
    assert metrics.get("pvledger_mqtt_rejected_total", {"reason": "malformed json"}) == 2


def test_username_and_password_from_the_environment(
    tmp_path: Path, store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    passwd = tmp_path / "passwd"
    subprocess.run(
        [require_binary("mosquitto_passwd"), "-c", "-b", str(passwd), "pvledger-gw", "s3cret"],
        check=True,
        capture_output=True,
    )
    broker = Mosquitto(tmp_path / "auth", extra_conf=f"password_file {passwd}\n")
    broker.workdir.mkdir()
    broker.start()
    try:
        cfg = load(
            tmp_path,
            mqtt_port=broker.port,
            mqtt_extra=", username: pvledger-gw, password_env: PVLEDGER_TEST_MQTT_PW",
        )
        monkeypatch.setenv("PVLEDGER_TEST_MQTT_PW", "wrong")
        ing = MqttIngest(cfg)
        ing.open(store, Metrics())
        try:
            assert not ing.wait_connected(1.5)  # refused: bad password
        finally:
            ing.close()
        monkeypatch.setenv("PVLEDGER_TEST_MQTT_PW", "s3cret")
        ing = _run(cfg, store)
        ing.close()
        monkeypatch.delenv("PVLEDGER_TEST_MQTT_PW")
        with pytest.raises(RuntimeError, match="PVLEDGER_TEST_MQTT_PW"):
            MqttIngest(cfg).open(store, Metrics())
    finally:
        broker.stop()


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run([require_binary("openssl"), *args], cwd=cwd, check=True, capture_output=True)


def _make_ca_and_server_cert(folder: Path, name: str) -> None:
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}-ca.key",
        "-out",
        f"{name}-ca.crt",
        "-days",
        "2",
        "-subj",
        f"/CN={name} test CA",
        cwd=folder,
    )
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        f"{name}.key",
        "-out",
        f"{name}.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=folder,
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        f"{name}.csr",
        "-CA",
        f"{name}-ca.crt",
        "-CAkey",
        f"{name}-ca.key",
        "-CAcreateserial",
        "-out",
        f"{name}.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=folder,
    )


def test_tls_listener_with_the_configured_ca(tmp_path: Path, store: SqliteStore) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    _make_ca_and_server_cert(certs, "broker")
    _make_ca_and_server_cert(certs, "other")  # a CA that did not sign the broker
    tls_port = free_port()
    broker = Mosquitto(
        tmp_path / "tls",
        extra_conf=(
            f"listener {tls_port} 127.0.0.1\ncafile {certs / 'broker-ca.crt'}\n"
            f"certfile {certs / 'broker.crt'}\nkeyfile {certs / 'broker.key'}\n"
        ),
    )
    broker.workdir.mkdir()
    broker.start()
    try:
        wrong = load(
            tmp_path,
            mqtt_port=tls_port,
            mqtt_extra=f", tls: {{ca_file: '{certs / 'other-ca.crt'}'}}",
        )
        ing = MqttIngest(wrong)
        ing.open(store, Metrics())
        try:
            assert not ing.wait_connected(1.5)  # the broker's certificate is not trusted
        finally:
            ing.close()
        cfg = load(
            tmp_path,
            mqtt_port=tls_port,
            mqtt_extra=f", tls: {{ca_file: '{certs / 'broker-ca.crt'}'}}",
        )
        ing = _run(cfg, store)
        pub = Publisher(broker.port)  # a logger on the plain LAN listener
        try:
            pub.publish("pv/dongpi/v-0", payload("v-0-log", 3))
            pub.wait_acked(1)
            wait_for(lambda: len(_energy(store)) == 1, 10, "reading over TLS")
        finally:
            pub.close()
            ing.close()
    finally:
        broker.stop()
