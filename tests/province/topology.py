"""The province topology from the shipped files, on free loopback ports.

Two VictoriaMetrics nodes and vmagent start with the flags of their shipped units
(deploy/systemd/pvledger-vm-node.service, pvledger-vmagent.service), with only the
addresses and folders made local; vmauth starts with the shipped
deploy/victoriametrics/province/vmauth.yml, its %{NAME} placeholders filled from
the environment exactly as the unit does.
"""

from __future__ import annotations

import contextlib
import secrets
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from core.store.victoriametrics import ExportReader
from tests.servers import VictoriaMetrics, VmAgent, VmAuth

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
VMAUTH_YML = ROOT / "deploy" / "victoriametrics" / "province" / "vmauth.yml"
SCRAPE_YML = ROOT / "deploy" / "victoriametrics" / "province" / "vmagent-scrape.yml"
COUNTIES = ("jizhou", "qingyuan")
#: flags the tests set themselves (addresses, folders, the nodes' URLs)
LOCAL_FLAGS = frozenset(
    {
        "-httpListenAddr",
        "-storageDataPath",
        "-remoteWrite.tmpDataPath",
        "-remoteWrite.url",
        "-promscrape.config",  # scrapes the production addresses
    }
)


def exec_start(unit: str) -> list[str]:
    """ExecStart of a shipped unit as argv (continuation lines joined)."""
    text = (UNITS / unit).read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.startswith("ExecStart="):
            return shlex.split(line.removeprefix("ExecStart="))
    raise AssertionError(f"{unit} has no ExecStart")


def shipped_flags(unit: str) -> list[str]:
    """The unit's flags without the ones a test machine must set itself."""
    return [a for a in exec_start(unit)[1:] if a.split("=", 1)[0] not in LOCAL_FLAGS]


def token_env(county: str) -> str:
    """The environment variable holding a county's token (as in vmauth.yml)."""
    return f"PVLEDGER_TOKEN_{county.upper()}"


@dataclass
class Province:
    """Nodes, vmagent and vmauth of one province, in one folder."""

    root: Path
    tokens: dict[str, str] = field(
        default_factory=lambda: {c: secrets.token_hex(16) for c in (*COUNTIES, "province_read")}
    )

    def __post_init__(self) -> None:
        node_flags = shipped_flags("pvledger-vm-node.service")
        self.nodes = [VictoriaMetrics(self.root / f"node{i}", flags=node_flags) for i in (1, 2)]
        self.agent = VmAgent(
            self.root / "vmagent",
            [f"{n.url}/api/v1/write" for n in self.nodes],
            flags=shipped_flags("pvledger-vmagent.service"),
        )
        self.auth = VmAuth(self.root / "vmauth", VMAUTH_YML, env=self.env())

    def env(self) -> dict[str, str]:
        """What the vmauth unit and pvledger.env give vmauth."""
        out = {token_env(c): t for c, t in self.tokens.items()}
        out["PVLEDGER_VMAGENT_URL"] = self.agent.url
        out["PVLEDGER_VM_NODE_1_URL"] = self.nodes[0].url
        out["PVLEDGER_VM_NODE_2_URL"] = self.nodes[1].url
        return out

    @property
    def url(self) -> str:
        """The one URL counties see (vmauth)."""
        return self.auth.url

    def start(self) -> Province:
        """Start everything, nodes first."""
        for server in (*self.nodes, self.agent, self.auth):
            server.workdir.mkdir(parents=True, exist_ok=True)
            server.start()
        return self

    def stop(self) -> None:
        """Stop everything gracefully, clients' side first."""
        for server in (self.auth, self.agent, *self.nodes):
            with contextlib.suppress(Exception):
                server.stop()

    def node_reader(self, i: int) -> ExportReader:
        """A reader of one node directly (flushes first: just-written samples count)."""
        return ExportReader(self.nodes[i].url, flush_first=True)

    def county_reader(self, county: str) -> ExportReader:
        """A reader through vmauth with the county's token."""
        return ExportReader(self.url, token=self.tokens[county])

    def counts(self, selector: str) -> list[int]:
        """Raw samples of a selector on each node."""
        return [self.node_reader(i).count(selector) for i in range(len(self.nodes))]


@contextlib.contextmanager
def province(root: Path) -> Iterator[Province]:
    """A started province, stopped however the block ends."""
    p = Province(root)
    try:
        yield p.start()
    finally:
        p.stop()
