"""The MQTT ingestion component: loggers -> decoders -> sink, PUBACK only after the commit.

paho-mqtt 2.x (callback API version 2) with a persistent session: a fixed
client id and no clean start (MQTT 3.1.1 ``clean_session=False``; MQTT 5
``clean_start=False`` plus a SessionExpiryInterval), so the broker keeps
what loggers publish while the gateway is away. Subscriptions are made in
``on_connect`` so every reconnect re-subscribes; paho's loop reconnects with a
capped back-off.

``manual_ack=True``: the network thread only decodes and queues each message;
a flusher thread commits a batch (readings to the sink, refused payloads to
the dead-letter table) and then sends the PUBACKs. A crash before the commit
means the broker redelivers; a redelivery after the commit overwrites the
same points (idempotent store writes). A batch closes when no message arrived
for ``idle_flush_s``, when it holds half of ``broker_inflight`` messages (the
broker's max_inflight_messages, 100 in deploy/mosquitto: it sends no more
until we acknowledge, so one half commits while the other half arrives), or
after ``max_delay_s``.

The gateway's own status is retained on ``pvledger/gateway/<id>/status``
with a last will, so the county sees a gateway go silent.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from collector.health import register_stall
from collector.mqtt.deadletter import DeadLetter, DeadLetters
from collector.mqtt.decode import DecoderSpec, Rejected, decode, load_decoders
from collector.sinks import GatedSink
from core.clock import Clock
from core.reading import MEASUREMENT_METER, MEASUREMENT_PV, Reading
from core.store.base import refuses_item

if TYPE_CHECKING:
    from collector.metrics import Metrics
    from collector.service import ServiceContext, Sink
    from core.config import Config

log = logging.getLogger("collector.mqtt")

#: session kept by the broker while the gateway is away (MQTT 5) [s]
SESSION_EXPIRY_S = 7 * 24 * 3600
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 60
LOG_EVERY_S = 3600.0


def status_topic(gateway: str) -> str:
    """The retained status topic of a gateway."""
    return f"pvledger/gateway/{gateway}/status"


def dead_letter_path(config: Config) -> Path:
    """deadletter.db next to the store file (sqlite) or the outbox (remote backends)."""
    st = config.storage
    base = st.path if st.backend == "sqlite" else st.outbox_path
    return config.resolve(base).with_name("deadletter.db")


@dataclass(frozen=True, slots=True)
class _Held:
    """A received message until its commit: the PUBACK it owes and what it became."""

    generation: int
    mid: int
    qos: int
    item: Reading | DeadLetter
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Route:
    station: str
    device: str
    decoder: DecoderSpec
    measurement: str
    village: str


class MqttIngest:
    """Service component: subscribe, decode, commit, then acknowledge."""

    name = "mqtt"

    def __init__(
        self,
        config: Config,
        *,
        client_id: str | None = None,
        batch_max: int = 2000,
        idle_flush_s: float = 0.002,
        max_delay_s: float = 0.1,
        broker_inflight: int = 100,
        dead_letters: DeadLetters | None = None,
    ):
        self.config = config
        self.cfg = config.mqtt
        self.gateway = config.site.gateway
        self.client_id = client_id or self.cfg.client_id or f"pvledger-{self.gateway}"
        self.batch_max = batch_max
        self.idle_flush_s = idle_flush_s
        self.max_delay_s = max_delay_s
        self._dead_letters = dead_letters
        decoders = load_decoders()
        self.routes: dict[str, _Route] = {}
        for st, dev in config.devices("mqtt"):
            spec = decoders.get(dev.decoder)  # type: ignore[union-attr]
            if spec is None:
                raise ValueError(
                    f"device {dev.id}: no decoder {dev.decoder!r} "  # type: ignore[union-attr]
                    f"(known: {', '.join(sorted(decoders))})"
                )
            meas = MEASUREMENT_METER if dev.role == "meter" else MEASUREMENT_PV
            self.routes[dev.topic] = _Route(st.id, dev.id, spec, meas, st.village)  # type: ignore[union-attr]
        self.sink: Sink | None = None
        self.metrics: Metrics | None = None
        self.clock: Clock = Clock()
        self.client: mqtt.Client | None = None
        self._cond = threading.Condition()
        self._pending: list[_Held] = []
        #: messages taken for the commit in progress (still unacknowledged)
        self._committing = 0
        #: monotonic time since when the oldest unacknowledged message waits without a
        #: commit having succeeded (None: nothing held)
        self._held_since: float | None = None
        # close a batch at half the broker's in-flight window: the other half keeps
        # arriving while this one commits (measured: backlog drain 5.5k -> 8k/s)
        self._window = max(1, broker_inflight // 2)
        self._stopping = False
        self._flusher: threading.Thread | None = None
        self._generation = 0
        self._connected = threading.Event()
        # set when the broker has acknowledged this connection's subscriptions (SUBACK):
        # a message published before then by another client may never reach us
        self._subscribed = threading.Event()
        self._subscribe_mid: int | None = None
        self._last_log: dict[str, float] = {}
        self.stored = 0
        self.rejected = 0
        self.isolated = 0

    # -- lifecycle -------------------------------------------------------------
    async def start(self, ctx: ServiceContext) -> None:
        """Connect (in the background) and start the flusher."""
        self.open(ctx.sink, ctx.metrics, ctx.clock)

    async def stop(self) -> None:
        """Commit and acknowledge what is queued, publish "offline", disconnect."""
        self.close()

    def open(self, sink: Sink, metrics: Metrics, clock: Clock | None = None) -> None:
        """Start outside a Service (tests, benchmarks): same as start()."""
        self.sink = sink
        self.metrics = metrics
        self.clock = clock or Clock()
        self.client = self._make_client()  # first: a bad setting opens nothing
        if self._dead_letters is None:
            self._dead_letters = DeadLetters(dead_letter_path(self.config))
        self._describe_metrics(metrics)
        self._stopping = False
        self._flusher = threading.Thread(target=self._flush_loop, name="mqtt-flusher")
        self._flusher.start()
        kw: dict[str, Any] = {}
        if self.cfg.protocol == "5":
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            kw = {"clean_start": False, "properties": props}
        self.client.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive_s, **kw)
        self.client.loop_start()

    def close(self) -> None:
        """Stop: flush, ack, publish offline status, disconnect, join threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._flusher is not None:
            self._flusher.join()
            self._flusher = None
        if self.client is not None:
            if self._connected.is_set():
                info = self.client.publish(
                    status_topic(self.gateway),
                    self._status("offline", clean=True),
                    qos=1,
                    retain=True,
                )
                deadline = time.monotonic() + 2
                while not info.is_published() and time.monotonic() < deadline:
                    time.sleep(0.01)
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None
        if self._dead_letters is not None:
            self._dead_letters.close()
            self._dead_letters = None

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Block until the broker has acknowledged the subscriptions (tests)."""
        return self._subscribed.wait(timeout_s)

    # -- client ----------------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        v5 = self.cfg.protocol == "5"
        kw: dict[str, Any] = {
            "callback_api_version": CallbackAPIVersion.VERSION2,
            "client_id": self.client_id,
            "protocol": mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            "manual_ack": True,
        }
        if not v5:
            kw["clean_session"] = False
        c = mqtt.Client(**kw)
        c.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        if self.cfg.username:
            password = None
            if self.cfg.password_env:
                password = os.environ.get(self.cfg.password_env)
                if password is None:
                    raise RuntimeError(
                        f"mqtt.password_env names {self.cfg.password_env}, which is not set"
                    )
            c.username_pw_set(self.cfg.username, password)
        if self.cfg.tls is not None:
            t = self.cfg.tls
            c.tls_set(
                ca_certs=str(self.config.resolve(t.ca_file)) if t.ca_file else None,
                certfile=str(self.config.resolve(t.cert_file)) if t.cert_file else None,
                keyfile=str(self.config.resolve(t.key_file)) if t.key_file else None,
            )
            if t.insecure:
                c.tls_insecure_set(True)
        c.will_set(
            status_topic(self.gateway), self._status("offline", clean=False), qos=1, retain=True
        )
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        return c

    def _status(self, state: str, **extra: Any) -> str:
        return json.dumps(
            {"gateway": self.gateway, "state": state, "ts_ms": time.time_ns() // 1_000_000, **extra}
        )

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if reason_code.is_failure:
            log.error(
                "broker %s:%d refused the connection: %s", self.cfg.host, self.cfg.port, reason_code
            )
            return
        self._generation += 1
        # a configured topic already covered by a watched filter is not subscribed
        # twice (the broker would deliver two copies)
        extra = list(self.cfg.subscribe)
        own = [t for t in self.routes if not any(mqtt.topic_matches_sub(f, t) for f in extra)]
        topics = [(t, 1) for t in (*own, *extra)]
        self._subscribed.clear()
        if topics:
            self._subscribe_mid = client.subscribe(topics)[1]
        else:
            self._subscribed.set()
        client.publish(status_topic(self.gateway), self._status("online"), qos=1, retain=True)
        log.info(
            "connected to %s:%d (session present: %s), %d subscriptions",
            self.cfg.host,
            self.cfg.port,
            getattr(flags, "session_present", "?"),
            len(topics),
        )
        self._set("pvledger_mqtt_connected", 1)
        self._connected.set()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any, properties: Any
    ) -> None:
        if self._connected.is_set() and not self._stopping:
            log.warning(
                "disconnected from %s:%d (%s); reconnecting with back-off",
                self.cfg.host,
                self.cfg.port,
                reason_code,
            )
        self._connected.clear()
        self._subscribed.clear()
        self._set("pvledger_mqtt_connected", 0)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reason_codes: Any, properties: Any
    ) -> None:
        if mid == self._subscribe_mid:
            self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        payload = bytes(msg.payload)
        item = self.decode_message(msg.topic, payload, self.clock.now_ms())
        held = _Held(self._generation, msg.mid, msg.qos, item, msg.topic, payload)
        with self._cond:
            if self._held_since is None:
                self._held_since = time.monotonic()
            self._pending.append(held)
            n = len(self._pending)
            # wake the flusher for the first message and a full window only: it
            # polls for quiet itself, and a wake-up per message costs a thread switch
            if n == 1 or n >= self._window:
                self._cond.notify()

    # -- decoding --------------------------------------------------------------
    def decode_message(self, topic: str, payload: bytes, receipt_ms: int) -> Reading | DeadLetter:
        """One message to a Reading, or a DeadLetter with the reason (never raises)."""
        route = self.routes.get(topic)
        device = route.device if route is not None else ""
        try:
            if route is None:
                raise Rejected("unknown device", f"no device configured for topic {topic}")
            if len(payload) > self.cfg.max_payload_bytes:
                raise Rejected(
                    "oversized",
                    f"{len(payload)} bytes > max_payload_bytes {self.cfg.max_payload_bytes}",
                )
            return decode(
                route.decoder,
                payload,
                device=route.device,
                station=route.station,
                receipt_ms=receipt_ms,
                measurement=route.measurement,
                village=route.village,
                gateway=self.gateway,
            )
        except Rejected as exc:
            self._note_rejected(topic, device, exc)
            return DeadLetter(receipt_ms, topic, device, exc.reason, exc.detail, bytes(payload))
        except Exception as exc:  # a decoder bug must cost one message, never the loop
            rej = Rejected("decoder error", f"{type(exc).__name__}: {exc}"[:300])
            self._note_rejected(topic, device, rej)
            return DeadLetter(receipt_ms, topic, device, rej.reason, rej.detail, bytes(payload))

    def _note_rejected(self, topic: str, device: str, exc: Rejected) -> None:
        self.rejected += 1
        if self.metrics is not None:
            self.metrics.inc("pvledger_mqtt_rejected_total", 1, {"reason": exc.reason})
        key = device or topic
        now = time.monotonic()
        last = self._last_log.get(key)
        if last is None or now - last >= LOG_EVERY_S:  # once per device per hour
            self._last_log[key] = now
            log.warning(
                "%s: payload refused (%s); kept in the dead-letter table; "
                "further refusals of this device are counted, not logged, for an hour",
                key,
                exc,
            )

    # -- commit, then ack -----------------------------------------------------
    def _take_batch(self) -> list[_Held] | None:
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait(0.5)
            if not self._pending:
                return None  # stopping and nothing left
            started = time.monotonic()
            while len(self._pending) < self.batch_max and not self._stopping:
                n = len(self._pending)
                if n >= self._window:
                    break  # the broker's in-flight window is full: nothing more will come
                self._cond.wait(self.idle_flush_s)
                if len(self._pending) == n:
                    break
                if time.monotonic() - started >= self.max_delay_s:
                    break
            batch = self._pending[: self.batch_max]
            del self._pending[: self.batch_max]
            self._committing = len(batch)
            return batch

    def _flush_loop(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is None:
                return
            if not self._commit(batch):
                return  # stopping with an uncommitted batch: the broker redelivers it
            self._ack(batch)
            with self._cond:
                self._committing = 0
                self._held_since = time.monotonic() if self._pending else None

    def _commit(self, batch: list[_Held]) -> bool:
        """Store the batch's readings and dead letters; False when stopping before it could.

        A store failure of the data (refuses_item) splits the batch down to the
        offending messages, which are dead-lettered with the store's reason; a
        failure of the store itself (disk full, locked) holds the PUBACKs and retries.
        """
        failing = False
        while True:
            try:
                letters = [h.item for h in batch if isinstance(h.item, DeadLetter)]
                held = [h for h in batch if isinstance(h.item, Reading)]
                stored, isolated = self._store(held) if held else (0, [])
                letters.extend(isolated)
                if letters:
                    assert self._dead_letters is not None
                    self._dead_letters.add(letters)
                break
            except Exception:
                if not failing:
                    log.exception(
                        "cannot commit %d MQTT messages; holding their PUBACKs and retrying",
                        len(batch),
                    )
                failing = True
                if self.metrics is not None:
                    self.metrics.inc("pvledger_mqtt_commit_errors_total")
                with self._cond:
                    if self._stopping:
                        return False
                    self._cond.wait(1.0)
        if failing:
            log.warning("MQTT commits work again")
        self.stored += stored
        if self.metrics is not None:
            self.metrics.inc("pvledger_mqtt_messages_total", len(batch))
            self.metrics.inc("pvledger_mqtt_readings_total", stored)
        return True

    def _store(self, held: list[_Held]) -> tuple[int, list[DeadLetter]]:
        """Write readings; (readings stored, dead letters for what the gate or store refused).

        Raises only for a failure of the store itself (then the caller retries).
        """
        assert self.sink is not None
        readings = [h.item for h in held]
        try:
            checked = getattr(self.sink, "write_checked", None)
            if checked is not None:
                _, refused = checked(readings)
            else:
                self.sink.write(readings)
                refused = []
        except Exception as exc:
            if not refuses_item(exc):
                raise
            if len(held) == 1:
                return 0, [self._isolated(held[0], exc)]
            half = len(held) // 2  # bisect: log2(n) small writes find one bad message
            a_n, a_dead = self._store(held[:half])
            b_n, b_dead = self._store(held[half:])
            return a_n + b_n, a_dead + b_dead
        letters = [self._letter(held[i], "implausible", reason) for i, reason in refused]
        return len(held) - len(refused), letters

    def _isolated(self, h: _Held, exc: BaseException) -> DeadLetter:
        self.isolated += 1
        detail = f"{type(exc).__name__}: {exc}"[:500]
        log.error(
            "%s: the store refused one message (%s); dead-lettered, the rest goes on",
            h.topic,
            detail,
        )
        if self.metrics is not None:
            self.metrics.inc("pvledger_mqtt_isolated_total")
        return self._letter(h, "store refused", detail)

    def _letter(self, h: _Held, reason: str, detail: str) -> DeadLetter:
        r = h.item
        assert isinstance(r, Reading)
        self._note_rejected(h.topic, r.device, Rejected(reason, detail))
        return DeadLetter(self.clock.now_ms(), h.topic, r.device, reason, detail, h.payload)

    def _ack(self, batch: list[_Held]) -> None:
        client = self.client
        if client is None:
            return
        gen = self._generation
        for h in batch:
            # a mid from an earlier connection means nothing now: the broker
            # redelivers that message on this connection and we ack that copy
            if h.qos > 0 and h.generation == gen:
                client.ack(h.mid, h.qos)

    def held(self) -> int:
        """Messages received and not yet acknowledged (queued or in the commit)."""
        with self._cond:
            return len(self._pending) + self._committing

    def stalled_s(self) -> float:
        """Seconds the oldest unacknowledged message has waited with no commit succeeding
        (0 when nothing is held). [s]"""
        with self._cond:
            since = self._held_since
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    # -- metrics ---------------------------------------------------------------
    def _describe_metrics(self, m: Metrics) -> None:
        for name, kind, text in (
            ("pvledger_mqtt_messages_total", "counter", "MQTT messages committed"),
            ("pvledger_mqtt_readings_total", "counter", "readings stored from MQTT"),
            ("pvledger_mqtt_rejected_total", "counter", "payloads refused, by reason"),
            ("pvledger_mqtt_commit_errors_total", "counter", "failed commits (retried)"),
            (
                "pvledger_mqtt_isolated_total",
                "counter",
                "messages the store refused, split out of their batch and dead-lettered",
            ),
            ("pvledger_mqtt_connected", "gauge", "1 while connected to the broker"),
        ):
            m.describe(name, kind, text)
        m.gauge_callback(
            "pvledger_mqtt_pending",
            "messages received, not yet committed and acknowledged",
            lambda: {(): float(self.held())},
        )
        register_stall(m, "mqtt", self.stalled_s)
        if isinstance(self.sink, GatedSink) and self.sink.metrics is None:
            self.sink.register_metrics(m)

    def _set(self, name: str, value: float) -> None:
        if self.metrics is not None:
            self.metrics.set(name, value)


def component(config: Config) -> MqttIngest | None:
    """The MQTT ingestion component, when the config has MQTT devices or watched filters."""
    if not any(True for _ in config.devices("mqtt")) and not config.mqtt.subscribe:
        return None
    return MqttIngest(config)
