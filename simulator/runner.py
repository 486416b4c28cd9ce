"""``pvledger simulate``: clock, faults, the Modbus process, MQTT loggers, control interface.

The parent process owns simulated time (writes run/clock.json), the fault book
(run/sim-faults.json, read by the Modbus process), the MQTT loggers and the
HTTP control interface on 127.0.0.1. Modbus devices are served by a child
process (simulator/modbus_proc.py). SIGTERM/SIGINT stop everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt

from core.clock import ScaledClock
from core.config import Config
from simulator.faults import FaultBook, load_faults_file, make_fault
from simulator.fleet import Fleet

log = logging.getLogger("pvledger.simulate")

STATE_WORD = {0: "standby", 1: "run", 2: "run", 3: "fault", 4: "off", 5: "standby"}


class Simulator:
    """One running simulator."""

    def __init__(
        self,
        config: Config,
        *,
        seed: int,
        speed: float = 1.0,
        start_ms: int | None = None,
        control_port: int | None = None,
        faults_file: Path | None = None,
    ):
        self.config = config
        self.seed = seed
        self.fleet = Fleet(config, seed)
        self.run_dir = config.resolve("run")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        now = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
        self.clock = ScaledClock.starting(start_ms if start_ms is not None else now, speed)
        self.clock.save(self.run_dir / "clock.json")
        self.lock = threading.Lock()
        self.book = FaultBook()
        if faults_file is not None:
            self.book = FaultBook(load_faults_file(config, faults_file, self.clock.now_ms()))
        self.book.save(self.run_dir / "sim-faults.json")
        self.control_port = control_port
        self.child: subprocess.Popen | None = None
        self.http: ThreadingHTTPServer | None = None
        self.mqtt: mqtt.Client | None = None
        self._mqtt_down_logged = False
        self._topics: dict[int, str] = {}
        self.fleet.warm_up(self.clock.now_ms())

    # ---- faults ----------------------------------------------------------------------
    def add_fault(self, spec: dict) -> dict:
        """Inject a fault now (ValueError on a bad spec); returns it as JSON."""
        with self.lock:
            f = make_fault(self.config, spec, self.clock.now_ms())
            if any(x.id == f.id for x in self.book.faults):
                raise ValueError(f"fault id {f.id!r} exists")
            self.book = self.book.added(f)
            self.book.save(self.run_dir / "sim-faults.json")
            return f.to_json()

    def end_fault(self, fault_id: str) -> None:
        """End a fault now (KeyError if unknown)."""
        with self.lock:
            self.book = self.book.ended(fault_id, self.clock.now_ms())
            self.book.save(self.run_dir / "sim-faults.json")

    def faults_json(self) -> list[dict]:
        """Every fault with an "active" flag."""
        now = self.clock.now_ms()
        return [{**f.to_json(), "active": f.active(now)} for f in self.book.faults]

    # ---- MQTT loggers ----------------------------------------------------------------
    def _mqtt_client(self) -> mqtt.Client:
        m = self.config.mqtt
        c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"pvledger-sim-{self.config.site.gateway}",
            protocol=mqtt.MQTTv311,
        )
        if m.username:
            c.username_pw_set(m.username, os.environ.get(m.password_env or "", None))
        c.max_queued_messages_set(100_000)
        c.reconnect_delay_set(1, 30)

        def on_connect(_c, _u, _f, rc, _p) -> None:
            if not rc.is_failure and self._mqtt_down_logged:
                log.warning("MQTT broker %s:%d reachable again", m.host, m.port)
                self._mqtt_down_logged = False

        c.on_connect = on_connect
        c.connect_async(m.host, m.port, keepalive=m.keepalive_s)
        c.loop_start()
        return c

    def payload(self, idx: int, t_ms: int) -> tuple[str, bytes] | None:
        """Topic and JSON payload of one logger at simulated time t_ms (None = silent)."""
        dev = self.fleet.devices[idx]
        if self.book.active(dev.id, "comm_loss", t_ms):
            return None
        st = {k: v[0] for k, v in self.fleet.pv_state(idx, t_ms, self.book).items()}
        skew = float(st["skew_s"])
        tz = self.config.site.tz
        stamp = dt.datetime.fromtimestamp(t_ms / 1000 + skew, tz).isoformat(timespec="seconds")
        body = {
            "sn": dev.id,
            "time": stamp,
            "pac_w": float(st["power_w"]),
            "etoday_kwh": round(int(st["energy_today_wh"]) / 1000.0, 3),
            "etotal_wh": int(st["energy_total_wh"]),
            "state": STATE_WORD.get(int(st["status"]), "standby"),
            "fault": int(st["fault_code"]),
            "temp_c": float(st["temperature_c"]),
        }
        if self.book.active(dev.id, "garbage", t_ms):
            return self._topics[idx], b"\x00\xff garbage {"
        if self.book.active(dev.id, "truncated", t_ms):
            return self._topics[idx], json.dumps(body).encode()[:20]
        return self._topics[idx], json.dumps(body).encode()

    async def run_loggers(self, stop: asyncio.Event) -> None:
        """Publish each logger every interval_s of simulated time, staggered."""
        cfg = self.config
        loggers = []
        for i, dev in enumerate(self.fleet.devices):
            _, d = cfg.device_index[dev.id]
            if d.source == "mqtt":
                loggers.append((i, int(d.interval_s * 1000)))
                self._topics[i] = d.topic
        if not loggers:
            await stop.wait()
            return
        self.mqtt = self._mqtt_client()
        now = self.clock.now_ms()
        due = {i: now + (k * 997) % iv for k, (i, iv) in enumerate(loggers)}
        ivs = dict(loggers)
        while not stop.is_set():
            now = self.clock.now_ms()
            for i, t in list(due.items()):
                if t > now:
                    continue
                due[i] = t + ivs[i]
                if due[i] <= now:  # far behind (slow machine): skip ahead, keep the phase
                    due[i] = now + ivs[i] - (now - t) % ivs[i]
                msg = self.payload(i, t)
                if msg is None:
                    continue
                info = self.mqtt.publish(msg[0], msg[1], qos=1)
                if info.rc == mqtt.MQTT_ERR_NO_CONN and not self._mqtt_down_logged:
                    m = cfg.mqtt
                    log.warning("MQTT broker %s:%d unreachable; retrying", m.host, m.port)
                    self._mqtt_down_logged = True
            wait_ms = max(min(due.values()) - self.clock.now_ms(), 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), min(self.clock.sleep_s(wait_ms / 1000), 0.5))

    # ---- control interface -------------------------------------------------------------
    def start_http(self) -> None:
        """Serve the control interface on 127.0.0.1:control_port in a thread."""
        sim = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:  # quiet
                return

            def _send(self, code: int, obj: object) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/faults":
                    self._send(200, sim.faults_json())
                elif self.path == "/clock":
                    self._send(200, {"now_ms": sim.clock.now_ms(), "factor": sim.clock.factor})
                else:
                    self._send(404, {"error": "GET /faults or /clock"})

            def do_POST(self) -> None:
                if self.path != "/faults":
                    self._send(404, {"error": "POST /faults"})
                    return
                try:
                    n = int(self.headers.get("Content-Length") or 0)
                    spec = json.loads(self.rfile.read(n) or b"{}")
                    if not isinstance(spec, dict):
                        raise ValueError("body must be a JSON object")
                    self._send(201, sim.add_fault(spec))
                except (ValueError, KeyError) as e:
                    self._send(400, {"error": str(e)})

            def do_DELETE(self) -> None:
                if not self.path.startswith("/faults/"):
                    self._send(404, {"error": "DELETE /faults/<id>"})
                    return
                try:
                    sim.end_fault(self.path.rsplit("/", 1)[1])
                    self._send(200, {"ended": self.path.rsplit("/", 1)[1]})
                except KeyError:
                    self._send(404, {"error": "no such fault"})

        self.http = ThreadingHTTPServer(("127.0.0.1", self.control_port or 0), Handler)
        self.control_port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, name="sim-control", daemon=True).start()

    # ---- lifecycle ---------------------------------------------------------------------
    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        has_modbus = any(
            self.config.device_index[d.id][1].source != "mqtt" for d in self.fleet.devices
        )
        if has_modbus:
            self.child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "simulator.modbus_proc",
                    str(self.config.path),
                    "--seed",
                    str(self.seed),
                    "--run-dir",
                    str(self.run_dir),
                ],
            )
        if self.control_port is not None:
            self.start_http()
        print(
            f"simulating {len(self.fleet.devices)} devices, speed {self.clock.factor:g}x, "
            f"clock {self.run_dir / 'clock.json'}"
            + (f", control http://127.0.0.1:{self.control_port}/faults" if self.http else ""),
            flush=True,
        )
        try:
            logger_task = asyncio.create_task(self.run_loggers(stop))
            while not stop.is_set():
                if self.child is not None and self.child.poll() is not None:
                    log.error("Modbus process exited with %s", self.child.returncode)
                    stop.set()
                    return 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
            await logger_task
            return 0
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        """Stop the child, the HTTP server and MQTT; remove run files."""
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()
            try:
                self.child.wait(10)
            except subprocess.TimeoutExpired:
                self.child.kill()
                self.child.wait(5)
        if self.http is not None:
            self.http.shutdown()
            self.http.server_close()
        if self.mqtt is not None:
            self.mqtt.loop_stop()
            self.mqtt.disconnect()
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / "sim-faults.json").unlink()
