"""`pvledger serve` as a process: ports, signals, TLS proxy headers, concurrent writers."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.web.server import WebServer, cli_env, make_site, pvledger, start_server, wait_for_line


def last_entry(server: WebServer, action: str) -> tuple[str, dict]:
    con = sqlite3.connect(server.db)
    try:
        name, content = con.execute(
            "SELECT username, content FROM audit_trail WHERE action = ? ORDER BY seq DESC LIMIT 1",
            (action,),
        ).fetchone()
    finally:
        con.close()
    return name, json.loads(content)


def test_bad_or_taken_port_exits_2(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    r = pvledger(config, "serve", "--port", "70000")
    assert r.returncode == 2 and "--port" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = pvledger(config, "serve", "--port", str(port))
    assert r.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr


def test_ctrl_c_stops_cleanly_and_the_key_is_private(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    log = tmp_path / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pvledger.cli", "-c", str(config), "serve", "--port", "0"],
            stderr=err,
            stdout=subprocess.DEVNULL,
            cwd=config.parent,
            env=cli_env(),
        )
    try:
        line = wait_for_line(log, proc, "serving http://", 120)
        assert str(config.parent / "data" / "web.db") in line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log.read_text()
    assert text.count("serving http://") == 1
    assert text.rstrip().endswith("stopped")
    secret = config.parent / "data" / "web.db.secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert len(secret.read_text().strip()) >= 48


def _tls_request(
    server: WebServer, method: str, path: str, headers: dict[str, str], body: str = ""
):
    u = urllib.parse.urlsplit(server.url)
    con = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        con.request(method, path, body=body or None, headers=headers)
        r = con.getresponse()
        return r.status, r.getheaders(), r.read().decode()
    finally:
        con.close()


def test_behind_tls_cookies_are_secure_and_the_proxy_names_the_client(tmp_path: Path) -> None:
    with start_server(
        tmp_path, web={"behind_tls": True}, users={"fin1": ("finance", [])}
    ) as server:
        host = urllib.parse.urlsplit(server.url).netloc
        proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
        status, headers, _ = _tls_request(server, "GET", "/login/", proxy)
        assert status == 200
        cookies = [v for k, v in headers if k.lower() == "set-cookie"]
        csrf = next(c for c in cookies if c.startswith("pvledger_csrf="))
        assert "Secure" in csrf
        token = csrf.split(";", 1)[0].split("=", 1)[1]
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": "fin1", "password": server.passwords["fin1"]}
        )
        status, headers, body = _tls_request(
            server,
            "POST",
            "/login/",
            {
                **proxy,
                "Cookie": f"pvledger_csrf={token}",
                "Referer": f"https://{host}/login/",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            form,
        )
        assert status == 302, body[:500]
        session = next(
            v for k, v in headers if k.lower() == "set-cookie" and v.startswith("pvledger_session=")
        )
        assert "Secure" in session and "HttpOnly" in session
        name, content = last_entry(server, "login")
        assert (name, content["address"]) == ("fin1", "203.0.113.7")


def test_without_tls_forwarded_headers_are_not_believed(web_server: WebServer) -> None:
    c = web_server.client(**{"X-Forwarded-For": "203.0.113.7"})
    c.get("/login/")
    assert (
        c.post("/login/", {"username": "fin1", "password": web_server.passwords["fin1"]}).status
        == 302
    )
    assert last_entry(web_server, "login")[1]["address"] == "127.0.0.1"


def test_a_reset_password_lifts_the_lockout(web_server: WebServer) -> None:
    c = web_server.client()
    c.get("/login/")
    for _ in range(5):
        c.post("/login/", {"username": "fin1", "password": "wrong-password-1"})
    assert (
        c.post("/login/", {"username": "fin1", "password": web_server.passwords["fin1"]}).status
        == 429
    )
    assert (
        web_server.cli("users", "reset-password", "fin1", input="Reset-pass-2026\n").returncode == 0
    )
    assert c.post("/login/", {"username": "fin1", "password": "Reset-pass-2026"}).status == 302


def test_concurrent_writers_keep_one_unbroken_chain(web_server: WebServer) -> None:
    """Logins in the server's threads and `users add` processes append at the same time."""

    def add(i: int) -> int:
        return web_server.cli(
            "users", "add", f"extra{i}", "--role", "om", input="Parallel-pass-2026\n"
        ).returncode

    def login(name: str) -> int:
        c = web_server.client()
        c.get("/login/")
        return c.post("/login/", {"username": name, "password": web_server.passwords[name]}).status

    with ThreadPoolExecutor(max_workers=8) as pool:
        adds = [pool.submit(add, i) for i in range(3)]
        logins = [pool.submit(login, n) for n in ("admin1", "fin1", "fin2", "om1", "aud1") * 2]
        assert [f.result() for f in adds] == [0, 0, 0]
        assert [f.result() for f in logins] == [302] * 10
    r = web_server.cli("users", "verify-audit")
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(web_server.db)
    try:
        seqs = [s for (s,) in con.execute("SELECT seq FROM audit_trail ORDER BY seq")]
        n_login = con.execute("SELECT count(*) FROM audit_trail WHERE action = 'login'").fetchone()[
            0
        ]
    finally:
        con.close()
    assert seqs == list(range(1, len(seqs) + 1))
    assert n_login == 10
    assert len(seqs) == 6 + 3 + 10  # the fixture's users, the added ones, the logins
