"""The shipped Mosquitto configs (deploy/mosquitto/) on two real brokers.

A village broker and a county broker start from the shipped files, adapted only in
paths and ports (temp folder, free loopback ports), laid out as on Debian: a main
file like Debian's with include_dir conf.d, our snippets in conf.d. TLS uses a CA
and a broker certificate made here with openssl. The village broker's password file
and ACL are what deploy/bin/pvledger-mosquitto-accounts writes from a gateway
config (one account per logger); the county's users come from mosquitto_passwd.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from collector.metrics import Metrics
from collector.mqtt.deadletter import DeadLetters
from collector.mqtt.ingest import MqttIngest, dead_letter_path
from core.config import load_config
from core.store import SqliteStore
from tests.mqtt.helpers import payload, wait_for
from tests.servers import free_port, require_binary, stop_process, wait_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "mosquitto"
ACCOUNTS_TOOL = ROOT / "deploy" / "bin" / "pvledger-mosquitto-accounts"
#: county broker users (made with mosquitto_passwd); the village's are generated
PASSWORDS = {
    "pvledger-county": "county-secret",
    "gw-dongpi": "bridge-secret",
}
TARIFF = """tariffs:
  - {id: t-v, applies_to: {kind: village}, shape: fixed-subsidy, from: 2018-01-01,
     components: [{name: coal, yuan_per_kwh: "0.4143", payer: grid}]}
"""
#: station -> village of the gateway config: v-3 is only for the outage test
LOGGERS = {"v-0": "dongpi", "v-1": "dongpi", "v-2": "shangxi", "v-3": "dongpi"}


def gateway_config(folder: Path, port: int) -> Path:
    """A village gateway's config: its collector logs in as pvledger-gw on `port`."""
    lines = [
        "site: {name: test, latitude: 27.11, longitude: 114.98, gateway: gw-dongpi}",
        "storage: {backend: sqlite, path: data/pv.db}",
        f"mqtt: {{host: 127.0.0.1, port: {port}, client_id: pvledger-gw-test,"
        " username: pvledger-gw, password_env: PVLEDGER_TEST_MQTT_PASSWORD}",
        "villages: [{id: dongpi, name: 东陂村}, {id: shangxi, name: 上溪村}]",
        "stations:",
    ]
    for sid, village in LOGGERS.items():
        lines.append(
            f"  - {{id: {sid}, kind: village, capacity_kw: 3, owner: {village}, "
            f"village: {village}, devices: [{{id: {sid}-log, source: mqtt, "
            f"topic: pv/{village}/{sid}}}]}}"
        )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.yaml"
    path.write_text("\n".join(lines) + "\n" + TARIFF, encoding="utf-8")
    return path


def generate_accounts(config: Path, etc: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run deploy/bin/pvledger-mosquitto-accounts into etc/ (secrets file beside them)."""
    return subprocess.run(
        [
            sys.executable,
            str(ACCOUNTS_TOOL),
            "-c",
            str(config),
            "--secrets",
            str(etc / "loggers.secrets"),
            "--passwd",
            str(etc / "pvledger.passwd"),
            "--acl",
            str(etc / "pvledger.acl"),
            *extra,
        ],
        capture_output=True,
        text=True,
        check=False,
    )


def read_secrets(path: Path) -> dict[str, str]:
    """account -> password from a generated secrets file (what an installer reads)."""
    pairs = (line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)
    return {a: p for a, p in pairs if not a.startswith("#")}


def directives(text: str) -> list[tuple[str, str]]:
    """(directive, value) pairs of a Mosquitto config, comments and blanks dropped."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out.append((key, value.strip()))
    return out


def adapt(text: str, etc: Path, ports: dict[str, int], county_port: int | None = None) -> str:
    """The shipped snippet with /etc/mosquitto, listener ports and the county address
    moved to the test's folder and free loopback ports, and the bridge's reconnect
    delay shortened from 10 s to 1 s (timing only); nothing else changes."""
    text = text.replace("/etc/mosquitto/", f"{etc}/")

    def listener(m: re.Match[str]) -> str:
        return f"listener {ports[m.group(1)]} 127.0.0.1"

    text = re.sub(r"^listener (\d+)(?: \S+)?$", listener, text, flags=re.M)
    if county_port is not None:
        text = re.sub(r"^address \S+$", f"address 127.0.0.1:{county_port}", text, flags=re.M)
        text = re.sub(
            r"^remote_password \S+$",
            f"remote_password {PASSWORDS['gw-dongpi']}",
            text,
            flags=re.M,
        )
        text = re.sub(r"^restart_timeout \d+ (\d+)$", r"restart_timeout 1 \1", text, flags=re.M)
    return text


def make_certs(certs: Path) -> None:
    """A throw-away CA and one broker certificate for 127.0.0.1 / localhost."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    certs.mkdir(parents=True)

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=certs, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=pvledger test CA")  # fmt: skip
    run("req", *ec, "-keyout", "broker.key", "-out", "broker.csr", "-subj", "/CN=localhost")
    (certs / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "broker.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "broker.crt", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    shutil.copy(certs / "ca.crt", certs / "county-ca.crt")


@dataclass
class Broker:
    """One Mosquitto started from a Debian-like main file plus shipped conf.d snippets."""

    root: Path
    proc: subprocess.Popen | None = None

    def start(self, snippets: dict[str, str], acl: str | None, users: list[str], wait: int) -> None:
        """Write conf.d, password file and ACL (acl None: both already in etc/), start
        and wait for the listener."""
        etc = self.root / "etc"
        (etc / "conf.d").mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        for name, text in snippets.items():
            (etc / "conf.d" / name).write_text(text)
        if acl is not None:
            (etc / "pvledger.acl").write_text(acl)
        passwd = etc / "pvledger.passwd"
        tool = require_binary("mosquitto_passwd")
        for i, user in enumerate(users if acl is not None else ()):
            flags = ["-c"] if i == 0 else []
            subprocess.run(
                [tool, *flags, "-b", str(passwd), user, PASSWORDS[user]],
                check=True,
                capture_output=True,
            )
        main = [
            # what Debian's /etc/mosquitto/mosquitto.conf sets, in the temp folder
            "persistence true",
            f"persistence_location {self.root / 'data'}/",
            f"log_dest file {self.root / 'mosquitto.log'}",
            f"include_dir {etc / 'conf.d'}",
        ]
        if os.geteuid() == 0:
            main.insert(0, "user root")  # files in the temp folder stay root's
        (self.root / "mosquitto.conf").write_text("\n".join(main) + "\n")
        self.relaunch(wait)

    def relaunch(self, wait: int) -> None:
        """Start the broker process on the files already written (also after stop())."""
        self.proc = subprocess.Popen(
            [require_binary("mosquitto"), "-c", str(self.root / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "ab"),  # noqa: SIM115 - the child owns it
        )
        try:
            wait_port(wait)
        except TimeoutError:
            self.stop()
            raise AssertionError(self.log()) from None

    def log(self) -> str:
        """What the broker said (for failure messages)."""
        parts = [p.read_text() for p in self.root.glob("*.log") if p.exists()]
        return "\n".join(parts)

    def stop(self) -> None:
        """Graceful stop."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc.stderr and self.proc.stderr.close()
            self.proc = None


@dataclass
class Setup:
    """Both brokers and where to reach them."""

    certs: Path
    village: Broker
    county: Broker
    village_local: int
    village_tls: int
    county_tls: int
    #: the gateway config the village accounts were generated from
    config: Path
    #: village broker user -> password, from the generated secrets file
    village_passwords: dict[str, str]


@pytest.fixture(scope="module")
def brokers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """County broker, then the village broker whose bridge connects to it."""
    require_binary("mosquitto")
    base = tmp_path_factory.mktemp("brokers")
    certs = base / "certs"
    make_certs(certs)
    county = Broker(base / "county")
    village = Broker(base / "village")
    ports = {"county_local": free_port(), "county_tls": free_port()}
    ports |= {"village_local": free_port(), "village_tls": free_port()}
    try:
        for b in (county, village):
            (b.root / "etc").mkdir(parents=True)
            shutil.copytree(certs, b.root / "etc" / "certs")
        county_conf = adapt(
            (SHIPPED / "county-broker.conf").read_text(),
            county.root / "etc",
            {"1883": ports["county_local"], "8883": ports["county_tls"]},
        )
        county.start(
            {"10-pvledger-county.conf": county_conf},
            (SHIPPED / "county.acl").read_text(),
            ["gw-dongpi", "pvledger-county"],
            ports["county_tls"],
        )
        village_etc = village.root / "etc"
        local = {"1883": ports["village_local"], "8883": ports["village_tls"]}
        snippets = {
            "10-pvledger-village.conf": adapt(
                (SHIPPED / "village-broker.conf").read_text(), village_etc, local
            ),
            "50-pvledger-bridge.conf": adapt(
                (SHIPPED / "village-bridge.conf").read_text(),
                village_etc,
                local,
                county_port=ports["county_tls"],
            ),
        }
        config = gateway_config(base / "gateway", ports["village_local"])
        done = generate_accounts(config, village_etc)
        assert done.returncode == 0, done.stderr
        village.start(snippets, None, [], ports["village_tls"])
        yield Setup(
            certs,
            village,
            county,
            ports["village_local"],
            ports["village_tls"],
            ports["county_tls"],
            config,
            read_secrets(village_etc / "loggers.secrets"),
        )
    finally:
        village.stop()
        county.stop()


class Client:
    """A paho client (TLS on TLS listeners) recording its CONNACK and what it receives."""

    def __init__(
        self,
        setup: Setup,
        port: int,
        user: str | None,
        password: str | None = None,
        client_id: str | None = None,
    ):
        tls = port in (setup.village_tls, setup.county_tls)
        self.connack: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.subacks: queue.Queue = queue.Queue()
        self.c = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or f"t-{user}-{port}",
            clean_session=client_id is None,  # a fixed id keeps its session (QoS 1 queue)
        )
        self.c.reconnect_delay_set(min_delay=1, max_delay=1)
        if tls:
            self.c.tls_set(ca_certs=str(setup.certs / "ca.crt"), cert_reqs=ssl.CERT_REQUIRED)
        if user is not None:
            if password is None:
                village = port in (setup.village_local, setup.village_tls)
                password = (setup.village_passwords if village else PASSWORDS)[user]
            self.c.username_pw_set(user, password)
        self.c.on_connect = lambda c, u, f, rc, p: self.connack.put(rc)
        self.c.on_message = lambda c, u, m: self.messages.put((m.topic, m.payload))
        self.c.on_subscribe = lambda c, u, mid, rcs, p: self.subacks.put(rcs)
        self.c.connect("127.0.0.1", port, keepalive=30)
        self.c.loop_start()

    def connected(self) -> bool:
        """True when the broker accepted the connection."""
        rc = self.connack.get(timeout=10)
        return not rc.is_failure

    def subscribe(self, *topics: str) -> None:
        """Subscribe (QoS 1) and wait for the SUBACK."""
        self.c.subscribe([(t, 1) for t in topics])
        self.subacks.get(timeout=10)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """Publish QoS 1 and wait until the broker acknowledged it."""
        self.c.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def next(self, prefix: str = "") -> tuple[str, bytes]:
        """The next message whose topic starts with prefix (others are skipped)."""
        while True:
            topic, payload = self.messages.get(timeout=15)
            if topic.startswith(prefix):
                return topic, payload

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    """Clients opened in a test, all closed after it."""
    opened: list[Client] = []
    yield opened
    for c in opened:
        c.close()


def test_shipped_configs_are_durable_and_closed() -> None:
    """Persistence on, queues raised above the 1,000 default, no anonymous access, TLS."""
    for name in ("village-broker.conf", "county-broker.conf"):
        d = directives((SHIPPED / name).read_text())
        values = dict(d)
        assert values["persistence"] == "true", name
        assert int(values["max_queued_messages"]) >= 100_000, name
        assert values["allow_anonymous"] == "false", name
        assert values["password_file"] and values["acl_file"], name
        tls = [i for i, (k, v) in enumerate(d) if k == "listener" and v.split()[0] == "8883"]
        assert tls, f"{name}: no TLS listener on 8883"
        after = dict(d[tls[0] + 1 :])
        assert {"cafile", "certfile", "keyfile"} <= after.keys(), name
    bridge = directives((SHIPPED / "village-bridge.conf").read_text())
    values = dict(bridge)
    assert values["cleansession"] == "false"
    topics = [v for k, v in bridge if k == "topic"]
    assert topics == ["pv/# out 1", "pvledger/gateway/# out 1", "pvledger/alerts/# out 1"]


def test_generated_acl_has_no_shared_logger_account(brokers: Setup) -> None:
    """The installed ACL is the shipped template plus the list of generated accounts:
    no account may write pv/# and no logger shares an account."""
    acl = (brokers.village.root / "etc" / "pvledger.acl").read_text()
    rules = directives(acl)
    assert ("pattern", "write pv/+/%u") in rules
    assert not [
        v for k, v in rules if k == "topic" and v.startswith(("write pv/", "readwrite pv/"))
    ]
    assert "pvledger-logger" not in acl
    users = set(brokers.village_passwords)
    assert users == {"pvledger-gw", "pvledger-county", *LOGGERS}
    for sid, village in LOGGERS.items():
        assert f"#   {sid}  ->  pv/{village}/{sid}  (device {sid}-log)" in acl


def test_loggers_publish_only_their_own_topic(brokers: Setup, clients) -> None:
    """A logger may publish its readings but not alerts nor another station's readings;
    the collector's account may not publish readings at all."""
    gw = Client(brokers, brokers.village_local, "pvledger-gw")
    clients.append(gw)
    assert gw.connected()
    gw.subscribe("pv/#", "pvledger/#")

    a = Client(brokers, brokers.village_tls, "v-0")
    clients.append(a)
    assert a.connected()
    a.publish("pvledger/alerts/fake", b"forged alert")  # denied by the ACL
    a.publish("pv/dongpi/v-1", b"not mine")  # pattern pv/+/%u refuses it
    a.publish("pv/dongpi/v-0", b'{"pac_w": 2150.0}')
    # same publisher, same QoS: had a forged one passed, it would come first
    assert gw.next() == ("pv/dongpi/v-0", b'{"pac_w": 2150.0}')

    gw.publish("pv/dongpi/v-1", b"from the gateway's account")  # read-only on pv/#
    gw.publish("pvledger/alerts/probe", b"alert")
    assert gw.next() == ("pvledger/alerts/probe", b"alert")


def test_a_logger_cannot_speak_for_another_station(
    brokers: Setup, clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12, seen 6: logger v-0's account publishes a reading for station v-1 (its
    serial copied): the broker drops it and the real collector stores nothing for v-1;
    v-0's own reading, and v-1's, published after it, are stored."""
    config = load_config(brokers.config)
    monkeypatch.setenv("PVLEDGER_TEST_MQTT_PASSWORD", brokers.village_passwords["pvledger-gw"])
    store = SqliteStore(config.resolve(config.storage.path))
    ingest = MqttIngest(config)
    ingest.open(store, Metrics())
    try:
        assert ingest.wait_connected(10), brokers.village.log()
        t0_ms = time.time_ns() // 1_000_000 - 3_600_000  # an hour ago: a plausible reading
        a = Client(brokers, brokers.village_tls, "v-0")
        b = Client(brokers, brokers.village_tls, "v-1")
        clients.extend((a, b))
        assert a.connected() and b.connected()
        a.publish("pv/dongpi/v-1", payload("v-1-log", 0, t0_ms))  # forged: dropped
        a.publish("pv/dongpi/v-0", payload("v-0-log", 0, t0_ms))
        b.publish("pv/dongpi/v-1", payload("v-1-log", 1, t0_ms))

        def stamps(device: str) -> list[int]:
            return [x.ts_ms for x in store.series(devices=[device], fields=["energy_total_wh"])]

        wait_for(lambda: stamps("v-0-log") and stamps("v-1-log"), 20, "both own readings stored")
        ingest.close()  # commits and acknowledges whatever else had arrived
        assert stamps("v-0-log") == [t0_ms]
        assert stamps("v-1-log") == [t0_ms + 60_000]  # v-1's own; the forged one never came
    finally:
        ingest.close()
        store.close()
    letters = DeadLetters(dead_letter_path(config))
    try:
        assert letters.count() == 0
    finally:
        letters.close()


@pytest.mark.parametrize(
    ("user", "password"),
    [(None, None), ("pvledger-gw", "wrong"), ("nobody", "x")],
    ids=["anonymous", "wrong-password", "unknown-user"],
)
def test_unauthenticated_clients_are_refused(brokers: Setup, clients, user, password) -> None:
    """No anonymous access on either listener; a bad password is refused too."""
    for port in (brokers.village_tls, brokers.village_local):
        c = Client(brokers, port, user, password)
        clients.append(c)
        assert not c.connected(), f"port {port} accepted {user!r}"


def test_bridge_carries_village_messages_to_county(brokers: Setup, clients) -> None:
    """QoS 1 readings, retained status and alerts reach the county; its ACL holds."""
    county = Client(brokers, brokers.county_tls, "pvledger-county")
    clients.append(county)
    assert county.connected()
    county.subscribe("pv/#", "pvledger/#", "$SYS/broker/connection/+/state")
    # the bridge's own notification (retained): the link is up
    assert county.next("$SYS/broker/connection/") == (
        "$SYS/broker/connection/gw-dongpi-bridge/state",
        b"1",
    )

    gw = Client(brokers, brokers.village_local, "pvledger-gw")
    clients.append(gw)
    assert gw.connected()
    other = Client(brokers, brokers.village_tls, "v-2")  # a shangxi logger on this broker
    clients.append(other)
    assert other.connected()
    own = Client(brokers, brokers.village_tls, "v-0")
    clients.append(own)
    assert own.connected()
    # gw-dongpi may publish only pv/dongpi/# on the county: this one stops there
    other.publish("pv/shangxi/v-2", b"other village")
    own.publish("pv/dongpi/v-0", b'{"sn": "v-0-log", "pac_w": 1800.0}')
    gw.publish("pvledger/gateway/gw-dongpi/status", b'{"state": "online"}', retain=True)
    gw.publish("pvledger/alerts/v-0", b'{"kind": "no_output"}')
    assert county.next("pv/") == ("pv/dongpi/v-0", b'{"sn": "v-0-log", "pac_w": 1800.0}')
    assert county.next("pvledger/gateway/") == (
        "pvledger/gateway/gw-dongpi/status",
        b'{"state": "online"}',
    )
    assert county.next("pvledger/alerts/") == ("pvledger/alerts/v-0", b'{"kind": "no_output"}')


def test_bridge_queues_through_a_county_outage(brokers: Setup, clients) -> None:
    """The county is unreachable while the village publishes more than Mosquitto's default
    1,000-message queue; when it is back, every message arrives once, in order."""
    county = Client(brokers, brokers.county_tls, "pvledger-county", client_id="county-watch")
    clients.append(county)
    assert county.connected()
    county.subscribe("pv/dongpi/v-3")
    brokers.county.stop()  # graceful: the county keeps county-watch's session

    logger = Client(brokers, brokers.village_tls, "v-3")
    clients.append(logger)
    assert logger.connected()
    n = 1500
    infos = [logger.c.publish("pv/dongpi/v-3", str(i).encode(), qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(10)  # the village broker holds them for the bridge

    brokers.county.relaunch(brokers.county_tls)
    try:
        got = [int(county.next("pv/dongpi/v-3")[1]) for _ in range(n)]
    finally:
        # the relaunched county broker is a child this test started: stop it here (the
        # leak guard checks each test); this is the module's last test using it
        brokers.county.stop()
    assert got == list(range(n))
