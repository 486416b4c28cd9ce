"""Real notification peers on localhost: an HTTP server for webhooks and an aiosmtpd
server with STARTTLS (self-signed certificate made with openssl) and AUTH."""

from __future__ import annotations

import json
import queue
import ssl
import subprocess
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port, require_binary


class WebhookServer:
    """Records JSON POSTs; answers `fail_next` requests with 503 first."""

    def __init__(self, port: int | None = None):
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()
        self.fail_next = 0
        self.requests = 0
        self.port = port or free_port()
        self._srv: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests += 1
                if outer.fail_next > 0:
                    outer.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.received.put(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._srv = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._srv.daemon_threads = True
        self._thread = threading.Thread(target=self._srv.serve_forever, name="webhook-peer")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._srv is not None:
            self._srv.shutdown()
            self._srv.server_close()
            assert self._thread is not None
            self._thread.join(5)
            self._srv = None

    def drain(self) -> list[dict[str, Any]]:
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    openssl = require_binary("openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class _Handler:
    def __init__(self, box: queue.Queue[Message]):
        self.box = box

    async def handle_DATA(self, server, session, envelope):
        self.box.put(message_from_bytes(envelope.original_content or envelope.content))
        return "250 OK"


class SmtpServer:
    """aiosmtpd requiring STARTTLS before AUTH (LOGIN/PLAIN) with one user."""

    def __init__(self, folder: Path, user: str = "om", password: str = "s3cret"):
        self.cert, key = self_signed_cert(folder)
        self.user, self.password = user, password
        self.port = free_port()
        self.box: queue.Queue[Message] = queue.Queue()
        self.logins: list[str] = []
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, key)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == self.user
                and auth_data.password.decode() == self.password
            )
            if ok:
                self.logins.append(auth_data.login.decode())
            return AuthResult(success=ok)

        self.controller = Controller(
            _Handler(self.box),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=ctx,
            require_starttls=True,
            auth_required=True,
            auth_require_tls=True,
            authenticator=authenticator,
        )

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def get(self, timeout: float = 10) -> Message:
        return self.box.get(timeout=timeout)
