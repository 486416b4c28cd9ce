"""The shipped Mosquitto configs (deploy/mosquitto/) on two real brokers.

A village broker and a county broker start from the shipped files, adapted only in
paths and ports (temp folder, free loopback ports), laid out as on Debian: a main
file like Debian's with include_dir conf.d, our snippets in conf.d. TLS uses a CA
and a broker certificate made here with openssl; users come from mosquitto_passwd.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.servers import free_port, require_binary, stop_process, wait_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "mosquitto"
PASSWORDS = {
    "pvledger-gw": "gw-secret",
    "pvledger-logger": "logger-secret",
    "pvledger-county": "county-secret",
    "s-hh-0021": "own-secret",
    "gw-dongpi": "bridge-secret",
}


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

    def start(self, snippets: dict[str, str], acl: str, users: list[str], wait: int) -> None:
        """Write conf.d, password file and ACL, start and wait for the listener."""
        etc = self.root / "etc"
        (etc / "conf.d").mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        for name, text in snippets.items():
            (etc / "conf.d" / name).write_text(text)
        (etc / "pvledger.acl").write_text(acl)
        passwd = etc / "pvledger.passwd"
        tool = require_binary("mosquitto_passwd")
        for i, user in enumerate(users):
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
        village.start(
            snippets,
            (SHIPPED / "village.acl").read_text(),
            ["pvledger-gw", "pvledger-logger", "pvledger-county", "s-hh-0021"],
            ports["village_tls"],
        )
        yield Setup(
            certs,
            village,
            county,
            ports["village_local"],
            ports["village_tls"],
            ports["county_tls"],
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
            self.c.username_pw_set(user, password if password is not None else PASSWORDS[user])
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


def test_authorised_client_publishes_and_acl_limits_topics(brokers: Setup, clients) -> None:
    """A logger may publish readings but not alerts; a per-station logger only its topic."""
    gw = Client(brokers, brokers.village_local, "pvledger-gw")
    clients.append(gw)
    assert gw.connected()
    gw.subscribe("pv/#", "pvledger/#")

    logger = Client(brokers, brokers.village_tls, "pvledger-logger")
    clients.append(logger)
    assert logger.connected()
    logger.publish("pvledger/alerts/fake", b"forged alert")  # denied by the ACL
    logger.publish("pv/dongpi/s-hh-0030", b'{"pac_w": 2150.0}')
    # same publisher, same QoS: had the forged alert passed, it would come first
    assert gw.next() == ("pv/dongpi/s-hh-0030", b'{"pac_w": 2150.0}')

    own = Client(brokers, brokers.village_tls, "s-hh-0021")
    clients.append(own)
    assert own.connected()
    own.publish("pv/dongpi/s-hh-0022", b"not mine")  # pattern pv/+/%u refuses it
    own.publish("pv/dongpi/s-hh-0021", b"mine")
    assert gw.next() == ("pv/dongpi/s-hh-0021", b"mine")


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
    # gw-dongpi may publish only pv/dongpi/# on the county: this one stops there
    gw.publish("pv/shangxi/s-hh-0002", b"other village")
    gw.publish("pv/dongpi/s-hh-0001", b'{"sn": "s-hh-0001-inv", "pac_w": 1800.0}')
    gw.publish("pvledger/gateway/gw-dongpi/status", b'{"state": "online"}', retain=True)
    gw.publish("pvledger/alerts/s-hh-0001", b'{"kind": "no_output"}')
    assert county.next("pv/") == (
        "pv/dongpi/s-hh-0001",
        b'{"sn": "s-hh-0001-inv", "pac_w": 1800.0}',
    )
    assert county.next("pvledger/gateway/") == (
        "pvledger/gateway/gw-dongpi/status",
        b'{"state": "online"}',
    )
    assert county.next("pvledger/alerts/") == (
        "pvledger/alerts/s-hh-0001",
        b'{"kind": "no_output"}',
    )


def test_bridge_queues_through_a_county_outage(brokers: Setup, clients) -> None:
    """The county is unreachable while the village publishes more than Mosquitto's default
    1,000-message queue; when it is back, every message arrives once, in order."""
    county = Client(brokers, brokers.county_tls, "pvledger-county", client_id="county-watch")
    clients.append(county)
    assert county.connected()
    county.subscribe("pv/dongpi/outage/#")
    brokers.county.stop()  # graceful: the county keeps county-watch's session

    gw = Client(brokers, brokers.village_local, "pvledger-gw")
    clients.append(gw)
    assert gw.connected()
    n = 1500
    infos = [gw.c.publish(f"pv/dongpi/outage/{i % 7}", str(i).encode(), qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(10)  # the village broker holds them for the bridge

    brokers.county.relaunch(brokers.county_tls)
    got = [int(county.next("pv/dongpi/outage/")[1]) for _ in range(n)]
    assert got == list(range(n))
