"""Issue 20: a province on real engines, with real processes on loopback.

Two VictoriaMetrics nodes, vmagent replicating to both and vmauth with one token per
county, all from the shipped units and vmauth.yml (tests/province/topology.py);
Mosquitto, the real collector (MQTT + outbox + forwarder) and QoS 1 loggers, or
`pvledger collect` against `pvledger simulate`. Counts are taken on each node
directly (they deduplicate, so a replayed point counts once and a lost one is
missing).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from core.config import load_config
from core.processes import stop_process
from core.reading import to_ms
from core.store import open_store
from core.store.base import StoreError
from core.store.influx import InfluxWriter, WriteFailure
from tests.mqtt.helpers import T0_MS, StatusWatcher, wait_for, write_config
from tests.province.gateway import (
    FIELDS,
    Stream,
    env_with_tokens,
    gateway_config,
    outbox_depth,
    start_collector,
    storage,
)
from tests.province.topology import (
    ROOT,
    SCRAPE_YML,
    VMAUTH_YML,
    Province,
    exec_start,
    shipped_flags,
    token_env,
)
from tests.revenue.helpers import CASES, write_rows
from tests.servers import free_port, require_binary

JIZHOU = '{__name__="pv_energy_total_wh",county="jizhou"}'
JIZHOU_ALL = '{__name__=~"pv_.*",county="jizhou"}'


def _pvledger(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    out = open(log, "ab")  # noqa: SIM115 - handed to the child
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "pvledger", *args], cwd=ROOT, stdout=out, stderr=out, env=env
        )
    finally:
        out.close()


def _expected_energy(n: int, loggers: int, dev: int) -> list[int]:
    return [4_000_000 + (i // loggers) * 17 for i in range(n) if i % loggers == dev]


# -- (a) steady ingest ----------------------------------------------------------------
@pytest.mark.slow
def test_a_steady_ingest_lands_every_sample_on_both_nodes(
    tmp_path: Path, mosquitto, topology: Province
) -> None:
    """`pvledger collect` against `pvledger simulate`, through vmauth and vmagent:
    every reading the loggers published is on node 1 and on node 2, once."""
    cfg = write_config(
        tmp_path,
        mqtt_port=mosquitto.port,
        loggers=3,
        simulate=True,
        storage=storage(topology, "jizhou"),
    )
    env = env_with_tokens(topology)
    published: set[tuple[str, int]] = set()
    watch = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="province-watch")

    def on_message(c: object, u: object, m: mqtt.MQTTMessage) -> None:
        body = json.loads(m.payload)
        published.add((body["sn"], to_ms(dt.datetime.fromisoformat(body["time"]))))

    watch.on_message = on_message
    watch.connect("127.0.0.1", mosquitto.port)
    watch.subscribe("pv/#", qos=1)
    watch.loop_start()
    # MQTT loggers only: their readings carry the simulator's time, the collector
    # keeps the real clock (a simulated July lies in its past, as after an outage)
    collect = _pvledger(
        ["-c", str(cfg), "collect", "--health-port", str(free_port())],
        tmp_path / "collect.log",
        env,
    )
    status = StatusWatcher(mosquitto.port)
    sim = None
    try:
        status.wait_state("online", 30)
        sim = _pvledger(
            ["-c", str(cfg), "simulate", "--speed", "60", "--start", "2026-07-01T10:00:00+08:00"],
            tmp_path / "simulate.log",
            env,
        )
        wait_for(lambda: len(published) >= 24, 60, "loggers publishing", step_s=0.2)
        stop_process(sim, 30)  # no new readings from here on
        n = len(published)
        wait_for(lambda: min(topology.counts(JIZHOU)) >= n, 60, f"{n} readings on both nodes")
        for i in range(2):
            got = topology.node_reader(i).series(fields=["energy_total_wh"])
            landed = [(s.device, s.ts_ms) for s in got]
            assert set(landed) == published, f"node {i + 1}"  # every reading, none invented
            assert len(landed) == len(set(landed)), f"node {i + 1} holds duplicates"
        assert topology.counts(JIZHOU_ALL)[0] == topology.counts(JIZHOU_ALL)[1]
        # the county reads the same through vmauth
        via = topology.county_reader("jizhou").series(fields=["energy_total_wh"])
        assert {(s.device, s.ts_ms) for s in via} == published
    finally:
        if sim is not None:
            stop_process(sim, 30)
        stop_process(collect, 30)
        status.close()
        watch.loop_stop()
        watch.disconnect()


# -- (b) a node down for two minutes --------------------------------------------------
@pytest.mark.slow
def test_b_node_down_two_minutes_loses_nothing_and_reads_never_fail(
    tmp_path: Path, mosquitto, topology: Province
) -> None:
    """Node 2 stopped for 120 s mid-stream: vmagent buffers its share on disk and
    catches up; reads through vmauth keep working from node 1 all the while."""
    loggers = 5
    cfg = gateway_config(tmp_path / "gw", topology, "jizhou", mosquitto.port, loggers)
    proc = start_collector(cfg, topology, tmp_path / "collector.log")
    watcher = StatusWatcher(mosquitto.port)
    stream = None
    reader = topology.county_reader("jizhou")
    try:
        watcher.wait_state("online", 20)
        stream = Stream(mosquitto.port, loggers)
        wait_for(lambda: min(topology.counts(JIZHOU)) > 0, 30, "first readings on both nodes")
        topology.nodes[1].stop()  # SIGTERM: the node keeps what it acknowledged
        down_at = time.monotonic()
        reads, last = 0, 0
        while time.monotonic() - down_at < 120:
            got = reader.series(devices=["v-0-log"], fields=["energy_total_wh"])  # must not raise
            assert len(got) >= last, "a read went backwards: served by a node missing data"
            last = len(got)
            reads += 1
            time.sleep(0.25)
        assert last > 0
        assert reader.retried_reads > 0, "no read hit the stopped node: fallback not exercised"
        topology.nodes[1].start()
        n = stream.stop()
        wait_for(lambda: topology.counts(JIZHOU) == [n, n], 120, f"{n} readings on both nodes")
        wait_for(lambda: outbox_depth(cfg) == 0, 30, "outbox drained")
        assert topology.counts(JIZHOU_ALL) == [FIELDS * n, FIELDS * n]  # none lost, none twice
        for i in range(2):
            got = topology.node_reader(i).series(devices=["v-3-log"], fields=["energy_total_wh"])
            assert [s.value for s in got] == _expected_energy(n, loggers, 3), f"node {i + 1}"
            want_ts = [T0_MS + (k // loggers) * 60_000 for k in range(n) if k % loggers == 3]
            assert [s.ts_ms for s in got] == want_ts
        assert reads > 100
    finally:
        if stream is not None:
            stream.close()
        watcher.close()
        stop_process(proc, 20)


# -- (c) vmagent SIGKILLed -------------------------------------------------------------
@pytest.mark.slow
def test_c_vmagent_sigkilled_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, mosquitto, topology: Province
) -> None:
    """vmagent killed with SIGKILL mid-stream loses what it held in memory; the
    gateway's writer re-sends what vmagent had accepted in the last 30 s after its
    first failed write, its outbox holds the rest; the nodes' dedup removes copies."""
    loggers = 4
    cfg = gateway_config(tmp_path / "gw", topology, "jizhou", mosquitto.port, loggers)
    proc = start_collector(cfg, topology, tmp_path / "collector.log")
    watcher = StatusWatcher(mosquitto.port)
    stream = None
    try:
        watcher.wait_state("online", 20)
        stream = Stream(mosquitto.port, loggers)
        wait_for(lambda: min(topology.counts(JIZHOU)) > 50, 30, "stream under way")
        topology.agent.kill()
        # systemd restarts it after RestartSec; here: once the gateway saw it gone
        wait_for(lambda: outbox_depth(cfg) > 100, 30, "gateway holds readings in its outbox")
        topology.agent.start()
        wait_for(lambda: outbox_depth(cfg) < 100, 30, "forwarding again")
        n = stream.stop()
        wait_for(lambda: topology.counts(JIZHOU) == [n, n], 90, f"{n} readings on both nodes")
        wait_for(lambda: outbox_depth(cfg) == 0, 30, "outbox drained")
        assert topology.counts(JIZHOU_ALL) == [FIELDS * n, FIELDS * n]
        for i in range(2):
            got = topology.node_reader(i).series(devices=["v-1-log"], fields=["energy_total_wh"])
            assert [s.value for s in got] == _expected_energy(n, loggers, 1), f"node {i + 1}"
    finally:
        if stream is not None:
            stream.close()
        watcher.close()
        stop_process(proc, 20)
    log = (tmp_path / "collector.log").read_text()
    assert "re-sent" in log, "the writer did not replay after the failure"


# -- (d) counties kept apart ----------------------------------------------------------
def _line(station: str, value: int, ts_ms: int, extra: str = "") -> str:
    return f"pv,station={station},device={station}-inv{extra} energy_total_wh={value}i {ts_ms}"


def test_d_a_county_token_cannot_read_or_write_another_county(topology: Province) -> None:
    """Same station id in two counties: each token writes and reads only its county;
    a forged county tag is overwritten; admin paths and unknown tokens are refused."""
    ts = T0_MS
    b_writer = InfluxWriter(topology.url, token=topology.tokens["qingyuan"])
    a_writer = InfluxWriter(topology.url, token=topology.tokens["jizhou"])
    b_writer.write_lines([_line("s-1", 100 + i, ts + i * 60_000) for i in range(10)])
    # county A writes the same station id, once even claiming county B in its tags
    a_writer.write_lines([_line("s-1", 900 + i, ts + i * 60_000) for i in range(5)])
    a_writer.write_lines([_line("s-1", 999, ts + 5 * 60_000, ",county=qingyuan")])
    wait_for(lambda: topology.counts('{station="s-1"}') == [16, 16], 30, "on both nodes")

    b_view = topology.county_reader("qingyuan").series(stations=["s-1"])
    assert [s.value for s in b_view] == [100 + i for i in range(10)]  # B's series untouched
    a_view = topology.county_reader("jizhou").series(stations=["s-1"])
    assert [s.value for s in a_view] == [900, 901, 902, 903, 904, 999]
    # a selector naming the other county finds nothing: vmauth adds county=<own>
    a_reader = topology.county_reader("jizhou")
    assert a_reader.count('{station="s-1",county="qingyuan"}') == 0
    assert a_reader.count('{station="s-1"}') == 6
    # the province's read-only token sees both and cannot write
    both = topology.county_reader("province_read").count('{station="s-1"}')
    assert both == 16
    ro = InfluxWriter(topology.url, token=topology.tokens["province_read"])
    with pytest.raises(WriteFailure) as refused:
        ro.write_lines([_line("s-1", 1, ts)])
    assert refused.value.status == 404 and not refused.value.retryable
    # no route for admin or internal paths
    for path in (
        "/api/v1/admin/tsdb/delete_series?match[]=%7Bstation%3D%22s-1%22%7D",
        "/internal/force_flush",
        "/snapshot/create",
    ):
        with pytest.raises(StoreError):
            a_reader._get(path)
    assert topology.counts('{station="s-1"}') == [16, 16]
    # an unknown token: vmauth says 400, which the writer reports as 401 so that the
    # forwarder keeps the rows instead of dead-lettering them
    stranger = InfluxWriter(topology.url, token="not-a-county")
    with pytest.raises(WriteFailure) as bad:
        stranger.write_lines([_line("s-1", 1, ts)])
    assert bad.value.status == 401 and not bad.value.retryable
    for w in (a_writer, b_writer, ro, stranger):
        w.close()


# -- (e) revenue through vmauth == revenue from SQLite ---------------------------------
@pytest.mark.parametrize("case", ["worked-july", "several-schemes"])
def test_e_revenue_through_vmauth_matches_sqlite_byte_for_byte(
    tmp_path: Path, topology: Province, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same readings in the SQLite store and, through vmauth and vmagent, in the
    province: `pvledger revenue` writes identical files from both."""
    rows = list(csv.DictReader((CASES / case / "readings.csv").open(encoding="utf-8")))
    period = (CASES / case / "period.txt").read_text().strip()
    env = env_with_tokens(topology)
    outs = {}
    for kind in ("sqlite", "province"):
        folder = tmp_path / f"case-{kind}"
        shutil.copytree(CASES / case, folder)
        conf = folder / "config.yaml"
        if kind == "province":
            text = conf.read_text(encoding="utf-8")
            old = "storage: {backend: sqlite, path: data/store.db}"
            assert old in text
            # writes and reads with the county's token; the ledger stays in data/
            text = text.replace(
                old,
                f"storage: {{backend: victoriametrics, url: '{topology.url}', "
                f"read_url: '{topology.url}', token_env: {token_env('qingyuan')}, "
                "path: data/store.db}",
            )
            conf.write_text(text, encoding="utf-8")
        monkeypatch.setenv(token_env("qingyuan"), topology.tokens["qingyuan"])
        with open_store(load_config(conf)) as store:
            write_rows(store, rows)
        if kind == "province":
            want = len({(r["station"], r["device"], r["field"], r["local_time"]) for r in rows})
            wait_for(
                lambda n=want: topology.counts('{county="qingyuan"}') == [n, n],
                30,
                "readings on both nodes",
            )
        out = folder / "out"
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pvledger",
                "-c",
                str(conf),
                "revenue",
                "--period",
                period,
                "--out",
                str(out),
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outs[kind] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert outs["sqlite"], "revenue wrote no files"
    assert outs["province"].keys() == outs["sqlite"].keys()
    for name in outs["sqlite"]:
        if name.startswith("ledger-head-"):
            # the ledger head records when the run was made (and chains that time into
            # its hash): the same in both but for those two lines
            def stable(data: bytes) -> list[bytes]:
                return [ln for ln in data.splitlines() if not ln.startswith((b"at:", b"hash:"))]

            assert stable(outs["province"][name]) == stable(outs["sqlite"][name])
            continue
        assert outs["province"][name] == outs["sqlite"][name], name
    assert any(n.endswith(".xlsx") for n in outs["sqlite"])


# -- the shipped files pass their own checks -------------------------------------------
def test_vmagent_unit_flags_pass_dry_run(tmp_path: Path) -> None:
    """`vmagent -dryRun` with the shipped unit's flags and scrape config (paths local)."""
    argv = [
        a
        for a in exec_start("pvledger-vmagent.service")[1:]
        if not a.startswith(("-remoteWrite.tmpDataPath", "-promscrape.config"))
    ]
    argv += [f"-remoteWrite.tmpDataPath={tmp_path}", f"-promscrape.config={SCRAPE_YML}"]
    assert "-promscrape.config=/etc/pvledger/vmagent-scrape.yml" in exec_start(
        "pvledger-vmagent.service"
    )
    proc = subprocess.run(
        [require_binary("vmagent"), *argv, "-dryRun"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    bad = subprocess.run(
        [require_binary("vmagent"), *argv, "-remoteWrite.maxDiskUsagePerURL=lots", "-dryRun"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode != 0  # the check can fail


def test_node_unit_keeps_history_and_deduplicates() -> None:
    """The node unit carries the two flags a county's node needs (TECH-NOTES.md)."""
    flags = dict(a.split("=", 1) for a in shipped_flags("pvledger-vm-node.service"))
    assert flags["-retentionPeriod"] == "100y"
    assert flags["-dedup.minScrapeInterval"] == "1ms"


def test_vmauth_check_refuses_an_unset_or_shared_token(topology: Province) -> None:
    """pvledger-vmauth-check (the unit's ExecStartPre): vmauth 1.79 would take an unset
    %{NAME} literally as a valid token."""
    check = str(ROOT / "deploy" / "bin" / "pvledger-vmauth-check")
    env = {"PATH": os.environ["PATH"], **topology.env()}
    ok = subprocess.run([check, str(VMAUTH_YML)], env=env, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    missing = {k: v for k, v in env.items() if k != token_env("qingyuan")}
    r = subprocess.run([check, str(VMAUTH_YML)], env=missing, capture_output=True, text=True)
    assert r.returncode == 2 and token_env("qingyuan") in r.stderr
    shared = {**env, token_env("qingyuan"): env[token_env("jizhou")]}
    r = subprocess.run([check, str(VMAUTH_YML)], env=shared, capture_output=True, text=True)
    assert r.returncode == 2 and "same value" in r.stderr
    # and the literal placeholder is indeed a token to vmauth 1.79 when unchecked
    assert "%{" + token_env("qingyuan") + "}" in VMAUTH_YML.read_text()


def test_check_validates_read_and_write_urls(tmp_path: Path) -> None:
    """`pvledger check`: separate read URL and token accepted; refused for sqlite or
    with credentials, naming the key."""

    def check(storage_yaml: str) -> subprocess.CompletedProcess:
        folder = tmp_path / str(abs(hash(storage_yaml)))
        folder.mkdir()
        cfg = write_config(folder, mqtt_port=1883, loggers=1, storage=storage_yaml)
        return subprocess.run(
            [sys.executable, "-m", "pvledger", "-c", str(cfg), "check"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    good = check(
        "{backend: victoriametrics, url: 'http://10.8.0.1:8427', token_env: PVLEDGER_W,"
        " read_url: 'http://10.8.0.1:8427', read_token_env: PVLEDGER_R}"
    )
    assert good.returncode == 0, good.stdout + good.stderr
    for bad, words in (
        ("{backend: sqlite, read_url: 'http://x:8427'}", "read_url"),
        (
            "{backend: victoriametrics, url: 'http://x:8427', read_url: 'http://u:p@x:8427'}",
            "credentials",
        ),
        ("{backend: victoriametrics, url: 'http://x:8427', read_url: 'x:8427'}", "read_url"),
    ):
        r = check(bad)
        assert r.returncode == 2, r.stdout
        assert "storage" in r.stderr + r.stdout and words in r.stderr + r.stdout


def test_writer_replays_after_a_failure_only(tmp_path: Path, topology: Province) -> None:
    """The writer re-sends what was accepted before a connection failure, once, and
    nothing when nothing failed; the replayed copies count once on the nodes."""
    w = InfluxWriter(topology.agent.url)
    w.write_lines([_line("r-1", i, T0_MS + i * 1000) for i in range(100)])
    w.write_lines([_line("r-1", 100 + i, T0_MS + (100 + i) * 1000) for i in range(100)])
    assert w.replayed_requests == 0
    topology.agent.stop()
    with pytest.raises(WriteFailure) as down:
        w.write_lines([_line("r-1", 999, T0_MS + 999_000)])
    assert down.value.status == 0 and down.value.retryable
    topology.agent.start()
    w.write_lines([_line("r-1", 999, T0_MS + 999_000)])
    assert w.replayed_requests == 2
    wait_for(lambda: topology.counts('{station="r-1"}') == [201, 201], 30, "once on both nodes")
    w.write_lines([_line("r-1", 1000, T0_MS + 1_000_000)])
    assert w.replayed_requests == 2  # no failure, no replay
    w.close()
    with urllib.request.urlopen(f"{topology.nodes[0].url}/health", timeout=5) as r:
        assert r.status == 200
