"""Serve the web application with waitress until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config

log = logging.getLogger("pvledger.web")

#: worker threads: pages are short; a payout draft may hold one for a while
THREADS = 8


def serve(config: Config, host: str, port: int, *, ready: threading.Event | None = None) -> None:
    """Apply migrations, then serve on host:port (0: a free port) until a signal stops it."""
    from waitress import create_server

    from core.problems import BadInput, Problem
    from web.settings import db_path
    from web.setup import configure

    configure(config)
    from django.core.wsgi import get_wsgi_application

    app = get_wsgi_application()
    proxy = {}
    if config.web.behind_tls:
        # only the local TLS proxy (deploy/nginx) may say who the client is and that
        # it came over HTTPS; waitress drops these headers from anyone else
        proxy = {
            "trusted_proxy": "127.0.0.1",
            "trusted_proxy_count": 1,
            "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
            "clear_untrusted_proxy_headers": True,
        }
    try:
        server = create_server(
            app, host=host, port=port, threads=THREADS, ident="pvledger", **proxy
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        raise BadInput(
            [
                Problem(
                    "--host/--port", f"cannot listen on {host}:{port}: {exc}", "choose a free port"
                )
            ],
            "serve",
        ) from None
    shown = (
        f"[{server.effective_host}]" if ":" in str(server.effective_host) else server.effective_host
    )
    log.info(
        "serving http://%s:%s/ (config %s, users and audit trail in %s)",
        shown,
        server.effective_port,
        config.path,
        db_path(config),
    )

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # SIGINT too: a server started in the background inherits SIGINT ignored
    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    if ready is not None:
        ready.set()
    try:
        server.run()  # returns on KeyboardInterrupt/SystemExit, dispatcher shut down
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        server.close()
        log.info("stopped")
