"""MQTT QoS 1 readings per second into SQLite, beside a bare paho subscriber on the same broker.

    python3 benchmarks/mqtt_ingest.py [--messages 30000] [--loggers 200] [--runs 5]

A real Mosquitto (persistence on, max_inflight_messages 100 as in
deploy/mosquitto) and a logger publisher in its own process pinned to the
other core (QoS 1, JSON payloads as the data loggers send them, built before
the clock starts). Per run, interleaved so load changes hit both alike:

- anchor: a bare paho subscriber (manual ack, persistent session) that only
  acknowledges each message, nothing decoded or stored;
- ingest: the collector's MqttIngest component into a GatedSink over a fresh
  SqliteStore (every reading through the plausibility gate, PUBACK after the
  commit), the same publisher and broker.

Each is timed live (publisher running alongside, from the first publish to the
last acknowledgement/commit) and as a backlog (queued by the broker while the
subscriber was away, from its reconnect). The figures are medians over the runs
with the ratio to the anchor per run; CPU per reading is the subscriber
process's (all threads). The script asserts every store holds exactly the
readings it published, none refused, and exits 1 otherwise.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.metrics import Metrics
from collector.mqtt.ingest import MqttIngest
from collector.sinks import GatedSink
from core.clock import ScaledClock
from core.store import SqliteStore
from tests.mqtt.helpers import T0_MS, load, payload
from tests.servers import Mosquitto

PUBLISHER_CPU, SUBSCRIBER_CPU = 1, 0


def _pin(cpu: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {cpu})


def publish(port: int, n: int, loggers: int, later: int = 0, ready=None, go=None) -> None:
    """Publish n QoS 1 readings round-robin over the loggers, each logger's from its
    ``later``-th on; wait for every PUBACK."""
    _pin(PUBLISHER_CPU)
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    done = threading.Event()
    acked = [0]

    def on_publish(*_a: object) -> None:
        acked[0] += 1
        if acked[0] >= n:
            done.set()

    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    msgs = [
        (f"pv/dongpi/v-{i % loggers}", payload(f"v-{i % loggers}-log", later + i // loggers))
        for i in range(n)
    ]
    if ready is not None:
        ready.set()
        go.wait()
    for topic, data in msgs:
        c.publish(topic, data, qos=1)
    done.wait()
    c.disconnect()
    c.loop_stop()


def run_publisher(port: int, n: int, loggers: int, live: bool, later: int = 0):
    """Start the publisher; for live, return (process, go) once its payloads are built."""
    if not live:
        p = mp.Process(target=publish, args=(port, n, loggers, later))
        p.start()
        p.join()
        assert p.exitcode == 0, "publisher failed"
        return None
    ready, go = mp.Event(), mp.Event()
    p = mp.Process(target=publish, args=(port, n, loggers, later, ready, go))
    p.start()
    ready.wait()
    return p, go


def forget(port: int, client_id: str) -> None:
    """Drop a persistent session so it queues nothing in later runs."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    c.connect("127.0.0.1", port)
    c.disconnect()


class BareSubscriber:
    """The anchor: QoS 1, persistent session, manual ack; acknowledges and counts, nothing else."""

    def __init__(self, port: int, client_id: str, n: int):
        self.n, self.count, self.done = n, 0, threading.Event()
        self.subscribed = threading.Event()
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
        )
        c.on_connect = lambda cl, *_a: cl.subscribe("pv/dongpi/#", qos=1)
        c.on_subscribe = lambda *_a: self.subscribed.set()
        c.on_message = self._on_message
        self.client, self.port = c, port

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        client.ack(msg.mid, msg.qos)
        self.count += 1
        if self.count >= self.n:
            self.done.set()

    def open(self) -> None:
        """Connect and start the network thread."""
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()


def _wait(cond, what: str, timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        time.sleep(0.002)


def anchor(port: int, n: int, k: int, run: int) -> tuple[float, float, float, float]:
    """(live /s, live us CPU per message, backlog /s, backlog us CPU) of the bare subscriber."""
    cid = f"bench-anchor-{run}"
    sub = BareSubscriber(port, cid, n)
    sub.open()
    assert sub.subscribed.wait(10)
    p, go = run_publisher(port, n, k, live=True)
    t, cpu = time.perf_counter(), time.process_time()
    go.set()
    sub.done.wait()
    live, live_cpu = n / (time.perf_counter() - t), (time.process_time() - cpu) / n * 1e6
    p.join()
    sub.close()
    run_publisher(port, n, k, live=False)  # queued for the absent session
    sub = BareSubscriber(port, cid, n)
    t, cpu = time.perf_counter(), time.process_time()
    sub.open()
    sub.done.wait()
    backlog, backlog_cpu = n / (time.perf_counter() - t), (time.process_time() - cpu) / n * 1e6
    sub.close()
    assert sub.count == n, f"anchor backlog: {sub.count} of {n} messages"
    forget(port, cid)
    return live, live_cpu, backlog, backlog_cpu


def ingest(root: Path, port: int, n: int, k: int, run: int, inflight: int):
    """(live /s, us CPU, backlog /s, us CPU, readings stored, refused) of MqttIngest."""
    folder = root / f"run-{run}"
    folder.mkdir()
    cfg = load(folder, mqtt_port=port, loggers=k)
    # "now" just after the last reading of the backlog: every timestamp is plausible
    clock = ScaledClock.starting(T0_MS + (2 * n // k + 1) * 60_000, 1.0)
    store = SqliteStore(cfg.resolve(cfg.storage.path))
    sink = GatedSink.for_config(cfg, store, clock)
    cid = f"bench-ingest-{run}"

    def component() -> MqttIngest:
        return MqttIngest(cfg, client_id=cid, broker_inflight=inflight)

    ing = component()
    ing.open(sink, Metrics(), clock)
    assert ing.wait_connected(10)
    p, go = run_publisher(port, n, k, live=True)
    t, cpu = time.perf_counter(), time.process_time()
    go.set()
    _wait(lambda: ing.stored + ing.rejected >= n, "live ingest")
    live, live_cpu = n / (time.perf_counter() - t), (time.process_time() - cpu) / n * 1e6
    p.join()
    refused = ing.rejected
    ing.close()
    # the backlog: the second half of each logger's day, published while away
    run_publisher(port, n, k, live=False, later=n // k)
    ing = component()
    t, cpu = time.perf_counter(), time.process_time()
    ing.open(sink, Metrics(), clock)
    _wait(lambda: ing.stored + ing.rejected >= n, "backlog ingest")
    backlog, backlog_cpu = n / (time.perf_counter() - t), (time.process_time() - cpu) / n * 1e6
    refused += ing.rejected
    ing.close()
    total = len(store.series(fields=["energy_total_wh"]))
    store.close()
    forget(port, cid)
    return live, live_cpu, backlog, backlog_cpu, total, refused


def main() -> int:
    """Interleave anchor and ingest runs; print medians, ratios, load; assert the counts."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=30_000)
    ap.add_argument("--loggers", type=int, default=200)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--inflight", type=int, default=100, help="broker max_inflight_messages (deploy: 100)"
    )
    args = ap.parse_args()
    n, k = args.messages, args.loggers
    assert n % k == 0, "--messages must be a multiple of --loggers"
    _pin(SUBSCRIBER_CPU)
    load_before = os.getloadavg()
    rows, ok = [], True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = Mosquitto(
            root / "mosquitto", extra_conf=f"max_inflight_messages {args.inflight}\n"
        )
        broker.workdir.mkdir()
        broker.start()
        try:
            for run in range(args.runs):
                a = anchor(broker.port, n, k, run)
                g = ingest(root, broker.port, n, k, run, args.inflight)
                rows.append((a, g))
                ok &= g[4] == 2 * n and g[5] == 0
                print(
                    f"run {run + 1}: live {g[0]:7,.0f}/s vs anchor {a[0]:7,.0f}/s "
                    f"({g[0] / a[0]:.0%}), backlog {g[2]:7,.0f}/s vs {a[2]:7,.0f}/s "
                    f"({g[2] / a[2]:.0%}); stored {g[4]} of {2 * n}, refused {g[5]}",
                    flush=True,
                )
        finally:
            broker.stop()
    load_after = os.getloadavg()
    med = statistics.median
    print(
        f"\n{n} QoS 1 messages per scenario, {k} loggers, {args.runs} interleaved runs, "
        f"broker max_inflight_messages {args.inflight}, publisher pinned to cpu "
        f"{PUBLISHER_CPU}, subscriber to cpu {SUBSCRIBER_CPU}; load average "
        f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min)"
    )
    print(f"{'median':28} {'ingest':>10} {'anchor':>10} {'ratio':>7}")
    for label, i in (("live readings/s", 0), ("backlog readings/s", 2)):
        ratio = med(g[i] / a[i] for a, g in rows)
        print(
            f"{label:28} {med(g[i] for _, g in rows):10,.0f} "
            f"{med(a[i] for a, _ in rows):10,.0f} {ratio:7.0%}"
        )
    for label, i in (("live CPU us/reading", 1), ("backlog CPU us/reading", 3)):
        ratio = med(g[i] / a[i] for a, g in rows)
        print(
            f"{label:28} {med(g[i] for _, g in rows):10.1f} "
            f"{med(a[i] for a, _ in rows):10.1f} {ratio:6.1f}x"
        )
    print(f"readings stored per run: {[g[4] for _, g in rows]} (expected {2 * n} each, 0 refused)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
