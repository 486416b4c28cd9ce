"""MQTT readings per second ingested end to end into the SQLite store with QoS 1.

    python3 benchmarks/mqtt_ingest.py [--messages 50000] [--loggers 200]

A real Mosquitto (persistence on, max_inflight_messages 100 as in
deploy/mosquitto), the collector's MqttIngest component with a SqliteStore
sink (PUBACK after each commit), and a logger publisher in a separate process
(QoS 1, JSON payloads as the data loggers send them). Two figures:

- live: publisher and collector running together, timed from the first
  publish to the last reading committed;
- backlog: messages queued by the broker while the gateway was away (its
  persistent session), timed from the gateway's reconnect to the last commit.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from collector.metrics import Metrics
from collector.mqtt.ingest import MqttIngest
from core.store import SqliteStore
from tests.mqtt.helpers import load, payload
from tests.servers import Mosquitto


def publish(port: int, n: int, loggers: int, offset: int, ready=None, go=None) -> None:
    """Publish n QoS 1 readings round-robin over the loggers; wait for every PUBACK."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{offset}")
    c.max_inflight_messages_set(1000)
    c.max_queued_messages_set(0)
    acked = [0]
    c.on_publish = lambda *a: acked.__setitem__(0, acked[0] + 1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    msgs = [
        (f"pv/dongpi/v-{i % loggers}", payload(f"v-{i % loggers}-log", (offset + i) // loggers))
        for i in range(n)
    ]
    if ready is not None:
        ready.set()
        go.wait()
    for topic, data in msgs:
        c.publish(topic, data, qos=1)
    while acked[0] < n:
        time.sleep(0.005)
    c.disconnect()
    c.loop_stop()


def stored(store: SqliteStore) -> int:
    """Readings committed (one energy_total_wh sample per reading)."""
    return len(store.series(fields=["energy_total_wh"]))


def main() -> int:
    """Run both scenarios once and print readings/s."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=50_000)
    ap.add_argument("--loggers", type=int, default=200)
    ap.add_argument(
        "--inflight",
        type=int,
        default=100,
        help="broker max_inflight_messages (deploy/mosquitto: 100)",
    )
    args = ap.parse_args()
    n, k = args.messages, args.loggers
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = Mosquitto(
            root / "mosquitto", extra_conf=f"max_inflight_messages {args.inflight}\n"
        )
        broker.workdir.mkdir()
        broker.start()
        try:
            cfg = load(root, mqtt_port=broker.port, loggers=k)
            store = SqliteStore(cfg.resolve(cfg.storage.path))
            ing = MqttIngest(cfg, broker_inflight=args.inflight)
            ing.open(store, Metrics())
            assert ing.wait_connected(10)
            # live (payloads built before the clock starts)
            ready, go = mp.Event(), mp.Event()
            p = mp.Process(target=publish, args=(broker.port, n, k, 0, ready, go))
            p.start()
            ready.wait()
            t, cpu = time.perf_counter(), time.process_time()
            go.set()
            while ing.stored < n:
                time.sleep(0.01)
            live = n / (time.perf_counter() - t)
            live_cpu = (time.process_time() - cpu) / n * 1e6
            p.join()
            ing.close()
            # backlog: published while the gateway is away
            p = mp.Process(target=publish, args=(broker.port, n, k, n))
            p.start()
            p.join()
            ing = MqttIngest(cfg, broker_inflight=args.inflight)
            t, cpu = time.perf_counter(), time.process_time()
            ing.open(store, Metrics())
            while ing.stored < n:
                time.sleep(0.01)
            backlog = n / (time.perf_counter() - t)
            backlog_cpu = (time.process_time() - cpu) / n * 1e6
            ing.close()
            total = stored(store)
            store.close()
        finally:
            broker.stop()
    print(
        f"{n} QoS 1 messages per scenario, {k} loggers, SQLite store, PUBACK after commit, "
        f"broker max_inflight_messages {args.inflight}"
    )
    # CPU per reading of the collector process (all its threads) is steadier than
    # wall-clock rates on a shared machine; 1e6 / it is the one-core ceiling
    print(
        f"live (publisher running alongside): {live:10,.0f} readings/s, "
        f"collector CPU {live_cpu:.0f} us/reading (one core: {1e6 / live_cpu:,.0f}/s)"
    )
    print(
        f"backlog (queued while away):        {backlog:10,.0f} readings/s, "
        f"collector CPU {backlog_cpu:.0f} us/reading (one core: {1e6 / backlog_cpu:,.0f}/s)"
    )
    print(f"readings in the store: {total} (expected {2 * n})")
    return 0 if total == 2 * n else 1


if __name__ == "__main__":
    sys.exit(main())
