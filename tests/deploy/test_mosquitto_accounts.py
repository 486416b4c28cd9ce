"""deploy/bin/pvledger-mosquitto-accounts, and the collector's exact-topic routing.

The generator is run as an installer runs it, with the real mosquitto_passwd; the
broker side (a logger refused another station's topic) is in test_mosquitto.py.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.metrics import Metrics
from collector.mqtt.deadletter import DeadLetters
from collector.mqtt.ingest import MqttIngest, dead_letter_path
from core.config import load_config
from core.store import SqliteStore
from tests.deploy.test_mosquitto import ACCOUNTS_TOOL, LOGGERS, gateway_config, read_secrets
from tests.mqtt.helpers import Publisher, payload, wait_for, write_config
from tests.servers import require_binary


def _run(etc: Path, config: Path, *args: str, stdin: str | None = None, env=None):
    return subprocess.run(
        [sys.executable, str(ACCOUNTS_TOOL), "-c", str(config), *args,
         "--passwd", str(etc / "pvledger.passwd"), "--acl", str(etc / "pvledger.acl")],
        input=stdin, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    folder = tmp_path / "etc"
    folder.mkdir()
    return folder


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return gateway_config(tmp_path / "gateway", 1883)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_secrets_file_created_private_and_passwords_never_in_argv(
    tmp_path: Path, etc: Path, config: Path
) -> None:
    """mosquitto_passwd is seen through a recording stand-in on PATH: its arguments
    and the password file hold no password; the secrets file is 0600."""
    shim = tmp_path / "shim"
    shim.mkdir()
    log = tmp_path / "argv.log"
    real = require_binary("mosquitto_passwd")
    (shim / "mosquitto_passwd").write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n')
    (shim / "mosquitto_passwd").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}:{os.environ['PATH']}"}
    secrets = etc / "loggers.secrets"
    done = _run(etc, config, "--secrets", str(secrets), env=env)
    assert done.returncode == 0, done.stderr
    passwords = read_secrets(secrets)
    assert set(passwords) == {"pvledger-gw", "pvledger-county", *LOGGERS}
    assert len(set(passwords.values())) == len(passwords)  # one each, random
    assert _mode(secrets) == 0o600 and _mode(etc / "pvledger.passwd") == 0o640
    argv = log.read_text()
    assert argv.startswith("-U ")
    hashed = (etc / "pvledger.passwd").read_text()
    for pw in passwords.values():
        assert pw not in argv and pw not in hashed and pw not in done.stdout + done.stderr
    users = [line.split(":", 1)[0] for line in hashed.splitlines()]
    assert users == ["pvledger-gw", "pvledger-county", *LOGGERS]
    assert sorted(p.name for p in etc.iterdir()) == [
        "loggers.secrets",
        "pvledger.acl",
        "pvledger.passwd",
    ]  # no plaintext temporary file left behind


def test_rerun_keeps_passwords_and_adds_a_new_station(
    tmp_path: Path, etc: Path, config: Path
) -> None:
    secrets = etc / "loggers.secrets"
    assert _run(etc, config, "--secrets", str(secrets)).returncode == 0
    before = read_secrets(secrets)
    text = config.read_text().replace(
        "tariffs:",
        "  - {id: v-9, kind: village, capacity_kw: 3, owner: dongpi, village: dongpi,"
        " devices: [{id: v-9-log, source: mqtt, topic: pv/dongpi/v-9}]}\ntariffs:",
    )
    config.write_text(text)
    done = _run(etc, config, "--secrets", str(secrets))
    assert done.returncode == 0, done.stderr
    assert "1 new passwords" in done.stdout
    after = read_secrets(secrets)
    assert {k: after[k] for k in before} == before and set(after) - set(before) == {"v-9"}
    assert "#   v-9  ->  pv/dongpi/v-9  (device v-9-log)" in (etc / "pvledger.acl").read_text()


def test_passwords_from_stdin(etc: Path, config: Path) -> None:
    users = ["pvledger-gw", "pvledger-county", *LOGGERS]
    lines = "".join(f"{u}:pw-{u}-{i}\n" for i, u in enumerate(users))
    done = _run(etc, config, "--secrets", "-", stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "pw-" not in (etc / "pvledger.passwd").read_text()
    short = _run(etc, config, "--secrets", "-", stdin=lines.split("\n", 1)[1])
    assert short.returncode == 2 and "stdin: no password for pvledger-gw" in short.stderr


def test_refusals_exit_2_and_quote_no_secret(tmp_path: Path, etc: Path, config: Path) -> None:
    secrets = etc / "loggers.secrets"
    secrets.write_text("v-0:hunter2\nthis line has the-password-text\n")
    secrets.chmod(0o600)
    bad_line = _run(etc, config, "--secrets", str(secrets))
    assert bad_line.returncode == 2
    assert f"{secrets}:2: not an account:password line" in bad_line.stderr
    assert "hunter2" not in bad_line.stderr and "password-text" not in bad_line.stderr
    secrets.chmod(0o644)
    readable = _run(etc, config, "--secrets", str(secrets))
    assert readable.returncode == 2 and "lets others read it" in readable.stderr
    # a config pvledger check refuses is refused here too, with the key path
    config.write_text(config.read_text().replace("topic: pv/dongpi/v-1", "topic: pv/dongpi/v-0x"))
    wrong = _run(etc, config, "--secrets", str(tmp_path / "new.secrets"))
    assert wrong.returncode == 2
    assert "stations[1].devices[0].topic: topic 'pv/dongpi/v-0x'" in wrong.stderr
    assert not (etc / "pvledger.passwd").exists() and not (tmp_path / "new.secrets").exists()


def test_only_an_exact_topic_is_stored_as_its_device(
    tmp_path: Path, mosquitto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runtime routing: the collector watches pv/# (mqtt.subscribe), and every topic that
    is not exactly a configured device's is dead-lettered, never stored as that device."""
    cfg = load_config(
        write_config(
            tmp_path, mqtt_port=mosquitto.port, loggers=2, mqtt_extra=", subscribe: [pv/#]"
        )
    )
    near = [
        "pv/dongpi/v-0/extra",
        "pv/dongpi/v-0/",
        "pv/dongpi/V-0",
        "pv/shangxi/v-0",
        "pv//dongpi/v-0",
        "pv/dongpi/v-0 ",
    ]
    store = SqliteStore(tmp_path / "data" / "pv.db")
    ingest = MqttIngest(cfg)
    ingest.open(store, Metrics())
    pub = None
    try:
        assert ingest.wait_connected(10)
        t0_ms = time.time_ns() // 1_000_000 - 3_600_000
        pub = Publisher(mosquitto.port, client_id="spoofer")
        for i, topic in enumerate(near):
            pub.publish(topic, payload("v-0-log", i, t0_ms))  # serial copied, topic close
        pub.publish("pv/dongpi/v-1", payload("v-1-log", 0, t0_ms))  # the one valid message
        pub.wait_acked(len(near) + 1)
        wait_for(lambda: ingest.rejected == len(near) and ingest.stored > 0, 20, "all handled")
        ingest.close()
        assert store.series(devices=["v-0-log"]) == []
        assert {s.device for s in store.series()} == {"v-1-log"}
    finally:
        if pub is not None:
            pub.close()
        ingest.close()
        store.close()
    letters = DeadLetters(dead_letter_path(cfg))
    try:
        rows = letters.rows()
    finally:
        letters.close()
    assert sorted(t for t, _, _, _ in rows) == sorted(near)
    assert {(device, reason) for _, device, reason, _ in rows} == {("", "unknown device")}
