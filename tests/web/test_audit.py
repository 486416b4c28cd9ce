"""The audit trail: append-only, hash-chained, checked by `pvledger users verify-audit`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.server import WebServer, cli_env, make_site, pvledger


def sql(server: WebServer, *statements: str) -> None:
    """Run statements on the web database as an intruder with file access would."""
    con = sqlite3.connect(server.db)
    try:
        for s in statements:
            con.execute(s)
        con.commit()
    finally:
        con.close()


def entries(server: WebServer) -> list[tuple[int, str, str, str]]:
    con = sqlite3.connect(server.db)
    try:
        return con.execute(
            "SELECT seq, action, username, content FROM audit_trail ORDER BY seq"
        ).fetchall()
    finally:
        con.close()


def test_every_change_is_recorded_with_user_time_and_address(web_server: WebServer) -> None:
    c = web_server.login("admin1")  # login + forced password change
    bad = web_server.client()
    bad.get("/login/")
    bad.post("/login/", {"username": "om1", "password": "not-the-password"})
    c.post("/logout/", {})
    rows = entries(web_server)
    actions = [(a, n) for _, a, n, _ in rows]
    assert ("login", "admin1") in actions
    assert ("password.change", "admin1") in actions
    assert ("login.failed", "om1") in actions
    assert ("logout", "admin1") in actions
    assert ("user.add", "(command line)") in actions  # the fixture's users
    login = next(r for r in rows if r[1] == "login")
    assert json.loads(login[3])["address"] == "127.0.0.1"
    assert "not-the-password" not in json.dumps(rows)  # a tried password is never kept
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    ok = web_server.cli("users", "verify-audit")
    assert ok.returncode == 0, ok.stderr
    assert f"({len(rows)} entries, head matches)" in ok.stdout


def test_triggers_refuse_update_and_delete(web_server: WebServer) -> None:
    for statement in (
        "UPDATE audit_trail SET username = 'someone' WHERE seq = 1",
        "DELETE FROM audit_trail WHERE seq = 1",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            sql(web_server, statement)


def test_an_edited_entry_is_named(web_server: WebServer) -> None:
    web_server.login("fin1")
    target = next(r for r in entries(web_server) if r[1] == "login")
    forged = target[3].replace("127.0.0.1", "10.0.0.9")
    sql(
        web_server,
        "DROP TRIGGER audit_trail_no_update",
        f"UPDATE audit_trail SET content = '{forged}' WHERE seq = {target[0]}",
    )
    r = web_server.cli("users", "verify-audit")
    assert r.returncode == 1
    assert (
        f"chain entry {target[0]} (login fin1): content does not match its hash (edited)"
        in r.stderr
    )
    assert "trigger audit_trail_no_update was dropped" in r.stderr
    page = web_server.login("aud1").get("/audit/").body
    assert "审计日志已被破坏" in page
    assert f"chain entry {target[0]} (login fin1)" in page


def test_a_deleted_entry_is_named(web_server: WebServer) -> None:
    web_server.login("om1")
    rows = entries(web_server)
    middle, last = rows[2][0], rows[-1][0]
    # the last one gone: the chain left is whole, only the head file shows the loss
    sql(
        web_server,
        "DROP TRIGGER audit_trail_no_delete",
        f"DELETE FROM audit_trail WHERE seq = {last}",
    )
    r = web_server.cli("users", "verify-audit")
    assert r.returncode == 1
    assert f"says {last} entries" in r.stderr
    assert "entries were removed (audit trail truncated)" in r.stderr
    assert "trigger audit_trail_no_delete was dropped" in r.stderr
    sql(web_server, f"DELETE FROM audit_trail WHERE seq = {middle}")
    r = web_server.cli("users", "verify-audit")
    assert r.returncode == 1
    assert f"chain: entry {middle} is missing (next is {middle + 1}): deleted" in r.stderr


_ROLLBACK = """
import sys
from core.config import load_config
from web.setup import configure
configure(load_config(sys.argv[1]))
from django.db import transaction
from web import audit
audit.record(None, "test.kept", {"n": 1}, username="tester")
try:
    with transaction.atomic():
        audit.record(None, "test.undone", {"n": 2}, username="tester")
        raise RuntimeError("the change failed")
except RuntimeError:
    pass
"""


def test_an_entry_rolls_back_with_its_change(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    r = subprocess.run(
        [sys.executable, "-c", _ROLLBACK, str(config)],
        capture_output=True,
        text=True,
        cwd=config.parent,
        env=cli_env(),
        timeout=180,
    )
    assert r.returncode == 0, r.stderr
    con = sqlite3.connect(config.parent / "data" / "web.db")
    try:
        actions = [a for (a,) in con.execute("SELECT action FROM audit_trail ORDER BY seq")]
    finally:
        con.close()
    assert actions == ["test.kept"]
    v = pvledger(config, "users", "verify-audit")
    assert v.returncode == 0, v.stderr  # the head file did not move for the undone entry
    assert "(1 entries, head matches)" in v.stdout
