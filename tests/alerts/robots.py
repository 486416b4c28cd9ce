"""A local receiver that answers like the WeCom group robot and the DingTalk custom
robot: real HTTP on a free port, the key / access token checked, DingTalk's signature
verified the way DingTalk does (HMAC-SHA256 of "timestamp\\nsecret" keyed by the secret,
base64; the timestamp within an hour of the receiver's own clock), and refusals
answered as they do: HTTP 200 with a non-zero errcode."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers import free_port

WECOM_PATH = "/cgi-bin/webhook/send"
DINGTALK_PATH = "/robot/send"
#: DingTalk's answer to a bad signature or a timestamp more than an hour off
SIGN_NOT_MATCH = 310000
#: WeCom's answer to an unknown key
INVALID_KEY = 93000


def dingtalk_expected_sign(timestamp: str, secret: str) -> str:
    """What DingTalk computes from the request's timestamp and the robot's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class RobotReceiver:
    """Accepts what a real robot would accept; records every request and its verdict."""

    def __init__(self, *, wecom_key: str, ding_token: str, ding_secret: str):
        self.wecom_key, self.ding_token, self.ding_secret = wecom_key, ding_token, ding_secret
        self.accepted: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        #: (path, query, body, errcode) of every request, accepted or not
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, Any], int]] = []
        #: answer this many requests with HTTP 503 first (an overloaded front end)
        self.fail_next = 0
        self.port = free_port()
        self._srv: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def base(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _verdict(self, path: str, q: dict[str, list[str]]) -> tuple[int, str]:
        if path == WECOM_PATH:
            if q.get("key") != [self.wecom_key]:
                return INVALID_KEY, "invalid webhook url"
            return 0, "ok"
        if path == DINGTALK_PATH:
            if q.get("access_token") != [self.ding_token]:
                return 300001, "token is not exist"
            ts, sign = q.get("timestamp", [""])[0], q.get("sign", [""])[0]
            if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 3_600_000:
                return SIGN_NOT_MATCH, "invalid timestamp"
            if not hmac.compare_digest(sign, dingtalk_expected_sign(ts, self.ding_secret)):
                return SIGN_NOT_MATCH, "sign not match"
            return 0, "ok"
        return 404, "no such robot"

    def start(self) -> RobotReceiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(parts.query)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.fail_next > 0:
                    outer.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                body = json.loads(raw.decode("utf-8"))
                code, msg = outer._verdict(parts.path, q)
                outer.requests.append((parts.path, q, body, code))
                if code == 0:
                    outer.accepted.put((parts.path, body))
                answer = json.dumps({"errcode": code, "errmsg": msg}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._srv.daemon_threads = True
        self._thread = threading.Thread(target=self._srv.serve_forever, name="robot-peer")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._srv = None

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while not self.accepted.empty():
            out.append(self.accepted.get_nowait())
        return out
