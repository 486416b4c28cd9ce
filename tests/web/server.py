"""The REAL `pvledger serve` process on a free port, with a temp config and users.

Reusable by every web test (HTTP and browser):

    with start_server(tmp_path) as server:          # or the `web_server` fixture
        c = server.login("fin1")                     # logged in, first password changed
        r = c.get("/")

The data folder is tmp_path/site (config.yaml + registry/ copied from the repository,
data/ beside it). Pass `prepare=callable(site_dir)` to put demo data there before the
server starts, `web={...}` for the web: section, `users={...}` for other users.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT
from tests.web.client import Client

#: name -> (role, villages): one user per role, two finance users (four eyes)
USERS: dict[str, tuple[str, list[str]]] = {
    "admin1": ("admin", []),
    "fin1": ("finance", []),
    "fin2": ("finance", []),
    "om1": ("om", []),
    "vil1": ("village", ["dongpi"]),
    "aud1": ("auditor", []),
}

_MAKE_USERS = """
import json, sys
from core.config import load_config
from web.setup import configure
configure(load_config(sys.argv[1]))
from web import accounts
for name, (role, villages, password) in json.loads(sys.stdin.read()).items():
    accounts.create(name, role, villages, password)
from django.db import connection
connection.close()  # the last connection: SQLite folds the WAL into web.db
"""


def cli_env() -> dict[str, str]:
    """Environment for pvledger child processes run from the repository."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


def pvledger(
    config: Path, *args: str, input: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `pvledger -c config ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "pvledger.cli", "-c", str(config), *args],
        input=input,
        capture_output=True,
        text=True,
        cwd=config.parent,
        env={**cli_env(), **(env or {})},
        timeout=180,
    )


def make_site(folder: Path, web: dict[str, object] | None = None) -> Path:
    """A copy of the shipped config (and its registry) in folder; its config path."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "registry", folder / "registry", dirs_exist_ok=True)
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    if web:
        text += "web: " + json.dumps(web) + "\n"  # JSON is YAML
    config = folder / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


@dataclass
class WebServer:
    """A running `pvledger serve` and what the tests need to talk to it."""

    config: Path
    proc: subprocess.Popen[bytes]
    log: Path
    url: str
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> Path:
        """The web database (users, sessions, audit trail)."""
        return self.config.parent / "data" / "web.db"

    def client(self, **headers: str) -> Client:
        """A fresh session (no cookies)."""
        return Client(self.url, dict(headers))

    def login(self, name: str, *, change_password: bool = True) -> Client:
        """A session logged in as name; the forced first password change done."""
        c = self.client()
        c.get("/login/")
        r = c.post("/login/", {"username": name, "password": self.passwords[name]})
        assert r.status == 302, f"login of {name} failed: {r.status} {r.body[:300]}"
        if change_password and c.get("/").location.startswith("/password/"):
            self.change_password(c, name)
        return c

    def change_password(self, c: Client, name: str) -> str:
        """Change name's password through the page; the new one is remembered."""
        new = "N3w-" + secrets.token_urlsafe(12)
        r = c.post(
            "/password/",
            {"old_password": self.passwords[name], "new_password1": new, "new_password2": new},
        )
        assert r.status == 302, f"password change of {name} failed: {r.status} {r.body[:500]}"
        self.passwords[name] = new
        return new

    def cli(self, *args: str, input: str | None = None, env: dict[str, str] | None = None):
        """Run another pvledger command on the same config (users, verify-audit, ...)."""
        return pvledger(self.config, *args, input=input, env=env)

    def log_text(self) -> str:
        """What the server wrote to stderr so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def wait_for_line(log: Path, proc: subprocess.Popen[bytes], marker: str, timeout: float) -> str:
    """Wait until the log holds a line containing marker; that line. Fails if proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        for line in text.splitlines():
            if marker in line:
                return line
        if proc.poll() is not None:
            raise AssertionError(f"pvledger serve exited {proc.returncode}:\n{text[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"pvledger serve did not log {marker!r} within {timeout} s")


#: json of a users dict -> (folder holding a web.db with exactly those users, passwords)
_TEMPLATES: dict[str, tuple[Path, dict[str, str]]] = {}


def _drop_templates() -> None:
    for folder, _ in _TEMPLATES.values():
        shutil.rmtree(folder.parent.parent, ignore_errors=True)


atexit.register(_drop_templates)


def users_from_template(config: Path, users: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """Put a web.db with these users into config's data folder; name -> one-time password.

    Hashing with Argon2 takes most of a server's start on a loaded machine, so the users
    are created once per process (by the same code as `pvledger users add`) and their
    database is copied for each server.
    """
    key = json.dumps(users, sort_keys=True)
    if key not in _TEMPLATES:
        site = make_site(Path(tempfile.mkdtemp(prefix="pvledger-web-users-")) / "site")
        _TEMPLATES[key] = (site.parent / "data", create_users(site, users))
    folder, passwords = _TEMPLATES[key]
    data = config.parent / "data"
    data.mkdir(parents=True, exist_ok=True)
    for f in folder.iterdir():
        if f.name.startswith("web.db") and not f.name.endswith((".secret", ".lock")):
            shutil.copy2(f, data / f.name)
    return dict(passwords)


def create_users(config: Path, users: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """Create users (one process for all of them); name -> one-time password."""
    passwords = {name: "Once-" + secrets.token_urlsafe(12) for name in users}
    payload = {n: (r, v, passwords[n]) for n, (r, v) in users.items()}
    proc = subprocess.run(
        [sys.executable, "-c", _MAKE_USERS, str(config)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=cli_env(),
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return passwords


@contextlib.contextmanager
def start_server(
    folder: Path,
    *,
    users: dict[str, tuple[str, list[str]]] | None = None,
    web: dict[str, object] | None = None,
    prepare: Callable[[Path], None] | None = None,
    timeout: float = 120,
    serve_args: tuple[str, ...] = (),
) -> Iterator[WebServer]:
    """Start `pvledger serve --port 0` on a site in folder; SIGTERM it afterwards (exit 0)."""
    config = make_site(folder / "site", web)
    if prepare is not None:
        prepare(config.parent)
    passwords = users_from_template(config, USERS if users is None else users)
    log = folder / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "pvledger.cli", "-c", str(config)),
                *("serve", "--port", "0", *serve_args),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
            cwd=config.parent,
            env=cli_env(),
        )
    try:
        line = wait_for_line(log, proc, "serving http://", timeout)
        url = line.split("serving ", 1)[1].split()[0].rstrip("/")
        server = WebServer(config, proc, log, url, passwords)
        yield server
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError("pvledger serve did not stop on SIGTERM within 30 s") from None
    assert rc == 0, f"pvledger serve exited {rc}:\n{log.read_text()[-3000:]}"
