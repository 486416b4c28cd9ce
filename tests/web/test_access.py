"""Logins, roles and village scope against the real `pvledger serve` (issue 15)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import urllib.parse

from tests.web.client import text_of
from tests.web.server import WebServer

#: pages of the foundation; each area's own tests cover the pages it adds
PAGES = ("/", "/users/", "/users/admin1/", "/audit/", "/villages/dongpi/", "/password/")


def audit_rows(server: WebServer) -> list[tuple[str, str, str]]:
    """(action, username, content) of every audit entry, in order."""
    con = sqlite3.connect(server.db)
    try:
        return con.execute(
            "SELECT action, username, content FROM audit_trail ORDER BY seq"
        ).fetchall()
    finally:
        con.close()


def test_without_a_session_every_page_redirects_to_login(web_server: WebServer) -> None:
    c = web_server.client()
    for page in PAGES:
        r = c.get(page)
        assert r.status == 302, page
        assert r.location == "/login/?next=" + urllib.parse.quote(page), page
    assert c.get("/no-such-page/").status == 404  # nothing there to log in for
    assert c.get("/static/web/site.css").status == 200  # the login page's style is public


def test_post_without_csrf_token_is_refused(web_server: WebServer) -> None:
    anonymous = web_server.client()
    r = anonymous.post(
        "/login/", {"username": "admin1", "password": web_server.passwords["admin1"]}, csrf=False
    )
    assert r.status == 403
    assert anonymous.cookie("pvledger_session") is None  # not logged in
    admin = web_server.login("admin1")
    before = audit_rows(web_server)
    r = admin.post("/users/om1/active/", {"active": "0"}, csrf=False)
    assert r.status == 403
    assert audit_rows(web_server) == before  # nothing changed, nothing recorded
    assert admin.post("/users/om1/active/", {"active": "0"}).status == 302  # with it: done
    assert audit_rows(web_server)[-1][0] == "user.change"


def test_five_wrong_passwords_lock_the_login(web_server: WebServer) -> None:
    c = web_server.client()
    c.get("/login/")
    for _ in range(5):
        r = c.post("/login/", {"username": "fin1", "password": "wrong-password-1"})
        assert r.status in (200, 429)
    right = {"username": "fin1", "password": web_server.passwords["fin1"]}
    r = c.post("/login/", right)
    assert r.status == 429
    assert "登录已锁定" in r.body
    assert c.cookie("pvledger_session") is None
    actions = [a for a, name, _ in audit_rows(web_server) if name == "fin1"]
    assert actions.count("login.failed") >= 5
    assert "login.locked" in actions
    assert "login" not in actions
    # the lock is per user and address: another user from here still logs in
    assert web_server.login("fin2").get("/").status == 200


def test_first_login_forces_the_password_change(web_server: WebServer) -> None:
    c = web_server.login("om1", change_password=False)
    for page in ("/", "/villages/dongpi/", "/audit/"):
        r = c.get(page)
        assert (r.status, r.location) == (302, "/password/"), page
    assert "修改密码" in c.get("/password/").body
    old = web_server.passwords["om1"]
    web_server.change_password(c, "om1")
    assert c.get("/").status == 200
    again = web_server.client()
    again.get("/login/")
    assert again.post("/login/", {"username": "om1", "password": old}).status == 200  # refused
    assert web_server.login("om1", change_password=False).get("/").status == 200  # no 2nd change
    changes = [(a, name) for a, name, _ in audit_rows(web_server) if a == "password.change"]
    assert changes == [("password.change", "om1")]


def test_village_user_sees_only_its_villages(web_server: WebServer) -> None:
    c = web_server.login("vil1")
    home = text_of(c.get("/").body)
    assert "东陂村" in home
    assert "上溪村" not in home  # another village, not listed
    own = c.get("/villages/dongpi/")
    assert own.status == 200
    assert "dongpi" in own.body
    for guessed in ("/villages/shangxi/", "/villages/no-such-village/"):
        r = c.get(guessed)
        assert r.status == 404, guessed
        assert "上溪村" not in r.body
        assert "shangxi-" not in r.body  # none of its station ids
    assert c.get("/users/").status == 403
    assert c.get("/audit/").status == 403
    # everyone else sees every village
    assert web_server.login("aud1").get("/villages/shangxi/").status == 200


def test_auditor_reads_but_cannot_change(web_server: WebServer) -> None:
    c = web_server.login("aud1")
    assert c.get("/audit/").status == 200
    before = audit_rows(web_server)
    assert c.get("/users/").status == 403
    assert (
        c.post("/users/", {"username": "x1", "role": "admin", "password": "Longer-pass-99"}).status
        == 403
    )
    assert c.post("/users/om1/active/", {"active": "0"}).status == 403
    assert audit_rows(web_server) == before
    nav = c.get("/").body
    assert 'href="/audit/"' in nav
    assert 'href="/users/"' not in nav


def test_admin_adds_and_disables_users_audited(web_server: WebServer) -> None:
    admin = web_server.login("admin1")
    bad = admin.post(
        "/users/", {"username": "v2", "role": "village", "password": "Fresh-pass-2026"}
    )
    assert bad.status == 200  # the form again: a village user needs a village
    assert "村级用户至少要指定一个村" in bad.body
    ok = admin.post(
        "/users/",
        {
            "username": "v2",
            "role": "village",
            "villages": ["shangxi"],
            "password": "Fresh-pass-2026",
        },
    )
    assert ok.status == 302
    web_server.passwords["v2"] = "Fresh-pass-2026"
    v2 = web_server.login("v2")
    assert v2.get("/villages/shangxi/").status == 200
    assert v2.get("/villages/dongpi/").status == 404
    assert admin.post("/users/v2/", {"role": "village", "villages": ["dongpi"]}).status == 302
    assert v2.get("/villages/dongpi/").status == 200  # the scope changed at once
    assert v2.get("/villages/shangxi/").status == 404
    assert admin.post("/users/v2/active/", {"active": "0"}).status == 302
    r = v2.get("/")
    assert r.status == 302 and r.location.startswith("/login/")  # a disabled user's session ends
    rows = [(a, n) for a, n, content in audit_rows(web_server) if '"v2"' in content]
    assert rows == [("user.add", "admin1"), ("user.change", "admin1"), ("user.change", "admin1")]
    assert '"127.0.0.1"' in audit_rows(web_server)[-1][2]


def test_language_defaults_to_site_language_and_switches(web_server: WebServer) -> None:
    c = web_server.client(**{"Accept-Language": "en-US,en;q=0.9"})
    assert "登录" in c.get("/login/").body  # site.language zh, whatever the browser says
    r = c.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert r.status == 302
    page = c.get("/login/").body
    assert "Log in" in page and "登录" not in text_of(page).replace("简体中文", "")
    c.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"})
    assert "登录" in c.get("/login/").body


def test_session_ends_with_the_browser_and_after_the_configured_hours(
    web_server: WebServer,
) -> None:
    c = web_server.client()
    c.get("/login/")
    r = c.post("/login/", {"username": "fin1", "password": web_server.passwords["fin1"]})
    cookie = next(h for h in r.set_cookies() if h.startswith("pvledger_session="))
    assert "expires" not in cookie.lower() and "max-age" not in cookie.lower()  # browser close
    assert "HttpOnly" in cookie and "Secure" not in cookie  # not behind TLS here
    con = sqlite3.connect(web_server.db)
    try:
        (expires,) = con.execute(
            "SELECT expire_date FROM django_session WHERE session_key = ?",
            (c.cookie("pvledger_session"),),
        ).fetchone()
    finally:
        con.close()
    # against this process's clock, as the server's (SQLite's own 'now' is the C library's,
    # which a test run with a shifted Python clock does not move)
    expires_at = dt.datetime.fromisoformat(expires).replace(tzinfo=dt.UTC)
    left_s = (expires_at - dt.datetime.now(dt.UTC)).total_seconds()
    assert 7.9 * 3600 < left_s <= 8 * 3600  # web.session_hours default 8


def test_admin_sets_a_one_time_password(web_server: WebServer) -> None:
    admin = web_server.login("admin1")
    weak = admin.post("/users/om1/password/", {"password": "12345678901"})
    assert weak.status == 200 and 'class="error"' in weak.body
    assert [a for a, _, c in audit_rows(web_server) if a == "user.password_reset"] == []
    assert admin.post("/users/om1/password/", {"password": "Given-pass-2026"}).status == 302
    web_server.passwords["om1"] = "Given-pass-2026"
    om = web_server.login("om1", change_password=False)
    assert om.get("/").location == "/password/"
    resets = [(n, c) for a, n, c in audit_rows(web_server) if a == "user.password_reset"]
    assert len(resets) == 1 and resets[0][0] == "admin1" and '"om1"' in resets[0][1]
    assert "Given-pass-2026" not in json.dumps(audit_rows(web_server))
    assert (
        web_server.login("aud1")
        .post("/users/om1/password/", {"password": "Other-pass-2026"})
        .status
        == 403
    )
