"""`pvledger users`: add, list, disable, reset-password; bad input exits 2, changes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.web.server import WebServer, make_site, pvledger


def test_add_list_and_refusals(tmp_path: Path) -> None:
    config = make_site(tmp_path / "site")
    r = pvledger(
        config,
        "users",
        "add",
        "w1",
        "--role",
        "village",
        "--village",
        "nowhere",
        input="Good-pass-2026\n",
    )
    assert r.returncode == 2
    assert "village 'nowhere' is not in config.yaml" in r.stderr
    assert "fix: use a villages[].id of the config" in r.stderr
    r = pvledger(config, "users", "add", "w1", "--role", "village", input="Good-pass-2026\n")
    assert r.returncode == 2 and "needs at least one village" in r.stderr
    r = pvledger(config, "users", "add", "w1", "--role", "om", "--password", "Good-pass-2026")
    assert r.returncode == 2  # never as an argument
    r = pvledger(config, "users", "add", "w1", "--role", "om", input="12345678901\n")
    assert r.returncode == 2 and "password" in r.stderr
    r = pvledger(config, "users", "add", "w1", "--role", "om", "--password-env", "PW_W1")
    assert r.returncode == 2 and "$PW_W1 is unset" in r.stderr
    listed = pvledger(config, "users", "list")
    assert listed.returncode == 0 and "w1" not in listed.stdout  # nothing was added
    r = pvledger(
        config,
        "users",
        "add",
        "w1",
        "--role",
        "village",
        "--village",
        "dongpi",
        "--village",
        "hexia",
        input="Good-pass-2026\n",
    )
    assert r.returncode == 0, r.stderr
    r = pvledger(
        config,
        "users",
        "add",
        "w2",
        "--role",
        "auditor",
        "--password-env",
        "PW_W2",
        env={"PW_W2": "Other-pass-2026"},
    )
    assert r.returncode == 0, r.stderr
    assert (
        pvledger(config, "users", "add", "w2", "--role", "om", input="Good-pass-2026\n").returncode
        == 2
    )
    lines = pvledger(config, "users", "list").stdout.splitlines()
    assert lines[1].split() == ["w1", "village", "dongpi,hexia", "must-change-password", "-"]
    assert lines[2].split() == ["w2", "auditor", "-", "must-change-password", "-"]
    assert pvledger(config, "users", "disable", "nobody").returncode == 2
    v = pvledger(config, "users", "verify-audit")
    assert v.returncode == 0 and "(2 entries, head matches)" in v.stdout


def test_disable_ends_sessions_and_reset_forces_a_change(web_server: WebServer) -> None:
    c = web_server.login("om1")
    assert c.get("/").status == 200
    r = web_server.cli("users", "disable", "om1")
    assert r.returncode == 0 and "om1: disabled" in r.stdout
    assert c.get("/").location.startswith("/login/")  # the session no longer works
    again = web_server.client()
    again.get("/login/")
    refused = again.post("/login/", {"username": "om1", "password": web_server.passwords["om1"]})
    assert refused.status == 200 and "用户名或密码错误" in refused.body
    assert web_server.cli("users", "enable", "om1").returncode == 0
    r = web_server.cli("users", "reset-password", "om1", input="Reset-pass-2026\n")
    assert r.returncode == 0, r.stderr
    web_server.passwords["om1"] = "Reset-pass-2026"
    fresh = web_server.login("om1", change_password=False)
    assert fresh.get("/").location == "/password/"
    assert "om1" in web_server.cli("users", "list").stdout
