"""deploy/nginx/pvledger-web.conf in front of a real `pvledger serve`, as on a county server.

The shipped site file runs in a real nginx with only its ports and certificate paths
substituted: plain HTTP redirects to HTTPS, a login through the proxy works, the
session and CSRF cookies are Secure (web.behind_tls), and the audit trail records the
client's address as nginx passed it on.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.servers import free_port, require_binary, wait_port
from tests.web.client import CSRF_COOKIE, SESSION_COOKIE, Client
from tests.web.server import start_server

SITE = ROOT / "deploy" / "nginx" / "pvledger-web.conf"

_MAIN = """pid {d}/nginx.pid;
error_log {d}/error.log;
events {{}}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    include {d}/site.conf;
}}
"""


def site_for_test(folder: Path, http_port: int, https_port: int, app_port: int) -> str:
    """The shipped site with this test's ports and certificate; nothing else changed."""
    text = SITE.read_text(encoding="utf-8")
    subs = {
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{app_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/pvledger/fullchain.pem": str(folder / "cert.pem"),
        "/etc/ssl/pvledger/privkey.pem": str(folder / "key.pem"),
    }
    for old, new in subs.items():
        assert old in text, f"{SITE.name} no longer has {old!r}: update this test with it"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def nginx(folder: Path, app_port: int) -> Iterator[tuple[int, int]]:
    """A real nginx running the site file in front of app_port; (http, https) ports."""
    binary = require_binary("nginx")
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    http_port, https_port = free_port(), free_port()
    (folder / "site.conf").write_text(site_for_test(folder, http_port, https_port, app_port))
    conf = folder / "nginx.conf"
    conf.write_text(_MAIN.format(d=folder))
    check = subprocess.run(
        [binary, "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen(
        [binary, "-c", str(conf), "-p", str(folder), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(https_port, 30, proc)
        yield http_port, https_port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stderr:
            proc.stderr.close()


class TlsClient(Client):
    """The tests' client, trusting the test's own certificate."""

    cafile: str = ""

    def __post_init__(self) -> None:
        ctx = ssl.create_default_context(cafile=self.cafile)
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar),
            urllib.request.HTTPSHandler(context=ctx),
            _no_redirect(),
        )


def _no_redirect() -> urllib.request.HTTPRedirectHandler:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    return NoRedirect()


@pytest.mark.timeout(240)
def test_the_site_file_serves_the_app_over_tls_with_secure_cookies(tmp_path: Path) -> None:
    users = {"fin1": ("finance", [])}
    with start_server(tmp_path, users=users, web={"behind_tls": True}) as app:
        app_port = int(app.url.rsplit(":", 1)[1])
        ngx = tmp_path / "nginx"
        ngx.mkdir()
        with nginx(ngx, app_port) as (http_port, https_port):
            base = f"https://localhost:{https_port}"
            # plain HTTP only redirects, to the same path over HTTPS
            r = Client(f"http://localhost:{http_port}").get("/login/")
            assert r.status == 301
            assert r.location == "https://localhost/login/"  # port 443 in production

            TlsClient.cafile = str(ngx / "cert.pem")
            # a client claiming another address: nginx replaces the header with the real one
            c = TlsClient(base, {"Referer": base + "/login/", "X-Forwarded-For": "10.9.9.9"})
            r = c.get("/login/")
            assert r.status == 200, r.body[:500]
            assert "max-age=31536000" in (r.headers.get("Strict-Transport-Security") or "")
            csrf = [h for h in r.set_cookies() if h.startswith(CSRF_COOKIE + "=")]
            assert csrf and "Secure" in csrf[0], r.set_cookies()

            r = c.post("/login/", {"username": "fin1", "password": app.passwords["fin1"]})
            assert r.status == 302, r.body[:800]
            session = [h for h in r.set_cookies() if h.startswith(SESSION_COOKIE + "=")]
            assert session and "Secure" in session[0] and "HttpOnly" in session[0], session
            # the forced first password change, then a page behind the login
            assert c.get("/").location.startswith("/password/")
            app.change_password(c, "fin1")
            assert c.get("/").status == 200

    # the audit trail has the login with the client's real address, not the claimed one
    with contextlib.closing(sqlite3.connect(app.db)) as db:
        logins = db.execute(
            "SELECT content FROM audit_trail WHERE action = 'login' AND username = 'fin1'"
        ).fetchall()
    assert [json.loads(c)["address"] for (c,) in logins] == ["127.0.0.1"]
