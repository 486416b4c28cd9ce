"""`pvledger demo --serve`: the web application on the demo's data, one user per role.

After the demo, its work folder (``out/demo``: config, reading store, alerts, ledger)
is served by ``pvledger serve``. A user is created for each role with a one-time
password, printed once: each must choose a new password at the first login. The
village user sees the village of the station the demo stopped. Ctrl-C or SIGTERM
stops the server.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config

#: the role names and what the printed table says each can do (docs/web.md)
DEMO_ROLES: tuple[tuple[str, str], ...] = (
    ("admin", "users; sees everything"),
    ("finance", "payout runs, imports"),
    ("om", "alerts: acknowledge, assign, resolve"),
    ("village", "read-only, one village"),
    ("auditor", "read-only everything, ledger check, audit trail"),
)


@dataclass(frozen=True)
class DemoUser:
    """A user created for the demo, with the one-time password printed to the console."""

    name: str
    role: str
    villages: tuple[str, ...]
    password: str
    can: str


def demo_users(village: str) -> list[DemoUser]:
    """One user per role (``demo-<role>``) with a fresh one-time password each."""
    return [
        DemoUser(
            f"demo-{role}",
            role,
            (village,) if role == "village" else (),
            secrets.token_urlsafe(9),
            can,
        )
        for role, can in DEMO_ROLES
    ]


def data_end_ms(config: Config) -> int | None:
    """The newest reading's time in the demo's store (its simulated "now" at the end)."""
    from core.store import open_store

    if not config.resolve(config.storage.path).is_file():
        return None
    with open_store(config, readonly=True) as store:
        return max((s.ts_ms for s in store.latest()), default=None)


def free_port(host: str) -> int:
    """A port nobody listens on now (for --port 0: the URL is printed before serving)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_demo(config_path: Path, *, host: str, port: int, village: str) -> int:
    """Create the demo users on the demo's config and serve until Ctrl-C; exit code.

    The pages see the fleet from the moment the demo's data ends, on a clock running at
    wall speed from there: the demo ran on simulated time, and the wall clock's "now"
    would show every station silent.
    """
    from core.clock import ScaledClock
    from core.config import load_config
    from web import clock
    from web.server import serve
    from web.setup import configure

    config = load_config(config_path)
    end_ms = data_end_ms(config)
    if end_ms is not None:
        clock.set_clock(ScaledClock.starting(end_ms, 1.0))
    port = port or free_port(host)
    configure(config)
    from django.contrib.auth import get_user_model

    from web import accounts

    users = demo_users(village)
    User = get_user_model()
    for u in users:
        existing = User.objects.filter(username=u.name).first()
        if existing is None:
            accounts.create(u.name, u.role, u.villages, u.password, by="demo")
        else:  # a second --serve on the same work folder: new one-time passwords
            accounts.reset_password(existing, u.password, by="demo")
    shown = f"[{host}]" if ":" in host else host
    print(flush=True)
    print(f"web application: http://{shown}:{port}/  (Ctrl-C stops it)", flush=True)
    print("one-time passwords (each user chooses a new one at the first login):", flush=True)
    for u in users:
        where = f" ({', '.join(u.villages)})" if u.villages else ""
        print(f"  {u.name:<15} {u.password}   {u.role}{where}: {u.can}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how the demo server ends
        serve(config, host, port)
    return 0
