"""The fleet, station and alerts pages in a real headless Chromium against the real
`pvledger serve`, over the Jizhou fleet on a set clock (tests/web/monitoring_site.py):
v-shangxi stopped at 09:00 with open no_output alerts, the server's clock at 13:30.

Screenshots of every page (zh and en, desktop and phone) go to the test's tmp_path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from tests.web import monitoring_site as site
from tests.web.browser import PHONE, click_and_wait, driver, overflowing, screenshot, wait_for
from tests.web.client import text_of
from tests.web.server import WebServer, start_server

#: one served site per module, its tests in order on one xdist worker (they build on
#: each other's state: drafts, finals, users' changed passwords)
pytestmark = pytest.mark.xdist_group("test_monitoring_browser")

__all__ = ["driver"]  # the fixture, used by name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One server for the module: building the day of readings is the slow part."""
    folder = tmp_path_factory.mktemp("monitoring")
    with start_server(
        folder,
        prepare=site.prepare,
        serve_args=("--sim-clock", str(Path("run") / "clock.json")),
    ) as s:
        yield s


def _site(server: WebServer) -> Path:
    return server.config.parent


def _left(d: Any, path: str, timeout: float = 60) -> None:
    """Wait until the browser has navigated away from path (a form's POST answered)."""
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(d, timeout).until(lambda drv: path not in drv.current_url)


def _as(d: Any, server: WebServer, name: str) -> None:
    """A fresh browser session logged in as name (first password change done).

    Waits for each form's answer by the URL, not by an element the old page also has:
    on a loaded machine the login page's own h1 is still there when the POST is sent.
    """
    import secrets

    d.delete_all_cookies()
    d.get(server.url + "/login/")
    d.find_element(By.ID, "id_username").send_keys(name)
    d.find_element(By.ID, "id_password").send_keys(server.passwords[name])
    d.find_element(By.CSS_SELECTOR, "form button[type=submit].primary").click()
    _left(d, "/login/")
    if "/password/" in d.current_url:
        new = "N3w-" + secrets.token_urlsafe(12)
        d.find_element(By.ID, "id_old_password").send_keys(server.passwords[name])
        d.find_element(By.ID, "id_new_password1").send_keys(new)
        d.find_element(By.ID, "id_new_password2").send_keys(new)
        d.find_element(By.CSS_SELECTOR, "form button[type=submit].primary").click()
        _left(d, "/password/")
        server.passwords[name] = new
    wait_for(d, "main h1")


def _open(d: Any, server: WebServer, path: str) -> None:
    d.get(server.url + path)
    wait_for(d, "main h1")


def _fleet_rows(d: Any) -> list[tuple[str, str]]:
    return [
        (tr.get_attribute("data-station"), tr.get_attribute("data-state"))
        for tr in d.find_elements(By.CSS_SELECTOR, "#fleet tbody tr[data-station]")
    ]


def _english(d: Any) -> None:
    _click_and_wait(d, d.find_element(By.CSS_SELECTOR, "form.lang button[value=en]"))


def _click_and_wait(d: Any, button: Any, timeout: float = 60) -> None:
    """Click a form's button and wait for the next page (browser.click_and_wait: not by
    the old page going stale, which under load Chrome answers with another error)."""
    click_and_wait(d, button, timeout)


def _submit(d: Any, button_id: str) -> None:
    _click_and_wait(d, d.find_element(By.ID, button_id))
    wait_for(d, ".messages")


def test_each_role_sees_the_stopped_station_first_and_the_pages_render(
    server: WebServer, driver: Any, tmp_path: Path
) -> None:
    for name in ("admin1", "om1", "aud1", "fin1"):
        _as(driver, server, name)
        _open(driver, server, "/fleet/")
        rows = _fleet_rows(driver)
        assert rows[0] == (site.STOPPED, "stopped"), (name, rows[:3])
        # the clock is 13:30 on a June day: everything else produces
        assert {s for _, s in rows[1:]} == {"producing"}, name
        screenshot(driver, tmp_path, f"fleet-{name}")
    assert overflowing(driver) == []
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "停机" in main and "发电中" in main and "停止发电" in main
    assert "截至 2026-06-15 13:3" in main  # the server's clock, not the wall's

    _open(driver, server, f"/stations/{site.STOPPED}/")
    assert driver.find_element(By.ID, "station-state").text == "停机"
    power = driver.find_element(By.CSS_SELECTOR, "#power-chart svg")
    assert power.find_elements(By.CSS_SELECTOR, "polyline.line"), "empty power chart"
    assert not power.find_elements(By.CSS_SELECTOR, "text.empty")
    energy = driver.find_element(By.CSS_SELECTOR, "#energy-chart svg")
    assert len(energy.find_elements(By.CSS_SELECTOR, "rect.bar")) > site.HISTORY_DAYS
    assert energy.find_elements(By.CSS_SELECTOR, "polyline.peer"), "no peer line"
    devices = driver.find_element(By.ID, "devices").text
    assert f"{site.STOPPED}-inv1" in devices and "power_w = 0.0" in devices
    assert "停止发电" in driver.find_element(By.ID, "station-alerts").text
    assert overflowing(driver) == []
    screenshot(driver, tmp_path, "station-zh")

    _open(driver, server, "/alerts/")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#open-alerts tr[data-alert]")) == len(
        site.open_alert_ids(_site(server), site.STOPPED)
    )
    screenshot(driver, tmp_path, "alerts-zh")

    _english(driver)
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text.startswith("Alerts")
    screenshot(driver, tmp_path, "alerts-en")
    _open(driver, server, "/fleet/")
    main = driver.find_element(By.TAG_NAME, "main").text
    assert "stopped" in main and "producing" in main and "no output" in main.lower()
    assert not re.search(
        r"[\u4e00-\u9fff]",
        driver.find_element(By.ID, "fleet").find_element(By.TAG_NAME, "thead").text,
    )
    assert overflowing(driver) == []
    screenshot(driver, tmp_path, "fleet-en")
    _open(driver, server, f"/stations/{site.STOPPED}/")
    assert driver.find_element(By.ID, "station-state").text == "stopped"
    screenshot(driver, tmp_path, "station-en")

    driver.set_window_size(*PHONE)
    for path, name in (("/fleet/", "fleet-phone"), (f"/stations/{site.STOPPED}/", "station-phone")):
        _open(driver, server, path)
        assert overflowing(driver) == [], name
        screenshot(driver, tmp_path, name)
    for png in tmp_path.glob("*.png"):
        assert png.stat().st_size > 5000, png.name


def test_om_acknowledges_assigns_and_the_page_shows_who_and_when(
    server: WebServer, driver: Any, tmp_path: Path
) -> None:
    alert_id = site.open_alert_ids(_site(server), site.STOPPED)[0]
    _as(driver, server, "om1")
    _open(driver, server, "/alerts/")
    driver.find_element(By.CSS_SELECTOR, f"#open-alerts tr[data-alert='{alert_id}'] a").click()
    wait_for(driver, "#actions")
    driver.find_element(By.ID, "ack-note").send_keys("已通知管护员上门检查")
    _submit(driver, "ack")
    acked = driver.find_element(By.ID, "acked").text
    assert acked.startswith("2026-06-15 13:") and "已通知管护员上门检查" in acked, acked
    ack_row = driver.find_element(By.CSS_SELECTOR, "#events tr[data-event=ack]")
    assert ack_row.find_element(By.CSS_SELECTOR, "td.by").text == "om1"
    assert ack_row.find_element(By.TAG_NAME, "td").text.startswith("2026-06-15 13:")

    driver.find_element(By.CSS_SELECTOR, "#assign-to option[value=care-shangxi]").click()
    _submit(driver, "assign")
    assigned = driver.find_element(By.ID, "assigned").text
    assert "王秀英" in assigned and "om1" in assigned and "2026-06-15 13:" in assigned
    assert driver.find_elements(By.ID, "ack") == []  # acknowledged once
    screenshot(driver, tmp_path, "alert-acked")

    # the alert database holds it as `pvledger alerts ack` would, with who
    events = site.alert_events(_site(server), alert_id)
    ack = next(e for e in events if e["event"] == "ack")
    assert ack["payload"] == {"note": "已通知管护员上门检查", "by": "om1"}
    assert ack["ts_ms"] >= site.NOW_MS
    listed = server.cli("alerts", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert '"ack_note": "已通知管护员上门检查"' in listed.stdout

    # and the audit trail says who, from where and what
    c = server.login("aud1")
    trail = text_of(c.get("/audit/").body)
    assert "确认告警" in trail and "指派告警" in trail and "om1" in trail
    assert f"alert: {alert_id}" in trail and "care-shangxi" in trail


def test_resolve_by_hand_closes_the_alert_and_the_fleet_follows(server: WebServer) -> None:
    ids = site.open_alert_ids(_site(server), site.STOPPED)
    c = server.login("om1")
    for alert_id in ids:
        r = c.post(f"/alerts/{alert_id}/resolve/", {"note": "逆变器已重启"})
        assert r.status == 302, r.body[:500]
    assert site.open_alert_ids(_site(server), site.STOPPED) == []
    body = text_of(c.get(f"/alerts/{ids[0]}/").body)
    assert "人工关闭" in body and "逆变器已重启" in body and "om1" in body
    again = c.post(f"/alerts/{ids[0]}/resolve/", {"note": "x"})
    assert again.status == 302 and "已经关闭" in text_of(c.follow(again).body)
    # no open alert left: the data still says zero power by day, so still stopped, first
    fleet = c.get("/fleet/").body
    first = re.search(r'data-station="([^"]+)" data-state="([^"]+)"', fleet)
    assert first is not None and first.groups() == (site.STOPPED, "stopped")


def test_only_om_and_admin_may_act_and_never_without_csrf(server: WebServer) -> None:
    alert_id = max(site.open_alert_ids(_site(server), site.STOPPED) or [1])
    for name in ("aud1", "fin1", "vil1"):
        c = server.login(name)
        r = c.post(f"/alerts/{alert_id}/ack/", {"note": "x"})
        assert r.status in (403, 404), (name, r.status)
        if name == "aud1":
            page = c.get(f"/alerts/{alert_id}/").body
            assert 'id="actions"' not in page
    om = server.login("om1")
    r = om.post(f"/alerts/{alert_id}/assign/", {"to": "care-shangxi"}, csrf=False)
    assert r.status == 403
    r = om.post(f"/alerts/{alert_id}/assign/", {"to": "nobody"})
    assert r.status == 400 and "om.people" in r.body
    admin = server.login("admin1")
    r = admin.post(f"/alerts/{alert_id}/assign/", {"to": "ct-luling"})
    assert r.status == 302
    events = site.alert_events(_site(server), alert_id)
    assigns = [e["payload"] for e in events if e["event"] == "assign"]
    assert {"to": "ct-luling", "by": "admin1"} in assigns
    assert {"to": "nobody", "by": "om1"} not in assigns


def test_village_user_sees_only_its_village(server: WebServer, driver: Any, tmp_path: Path) -> None:
    _as(driver, server, "vil1")
    _open(driver, server, "/fleet/")
    rows = _fleet_rows(driver)
    config_stations = _stations_of(server, site.OWN_VILLAGE)
    assert {s for s, _ in rows} == config_stations
    screenshot(driver, tmp_path, "fleet-village")
    # by a link another user would follow, and by guessing the URL and ids
    alert_id = (site.open_alert_ids(_site(server), site.STOPPED) or [1])[0]
    for path in (
        f"/stations/{site.STOPPED}/",
        f"/alerts/{alert_id}/",
        "/fleet/?village=shangxi&state=stopped",
    ):
        _open(driver, server, path)
        body = driver.find_element(By.TAG_NAME, "main").text
        assert "上溪村" not in body and f"{site.STOPPED}-inv1" not in body, path
        assert site.STOPPED not in body, path
    screenshot(driver, tmp_path, "station-other-village")
    c = server.login("vil1")
    for path in (f"/stations/{site.STOPPED}/", f"/alerts/{alert_id}/", "/alerts/999999/"):
        r = c.get(path)
        assert r.status == 404, path
        assert "上溪村" not in r.body and f"{site.STOPPED}-inv1" not in r.body
    own = c.get(f"/stations/{site.OWN_STATION}/")
    assert own.status == 200 and "东陂村" in own.body
    assert site.STOPPED not in text_of(c.get("/alerts/").body)


def _stations_of(server: WebServer, village: str) -> set[str]:
    from core.config import load_config

    return {s.id for s in load_config(server.config).stations if s.village == village}


def test_without_a_session_every_page_redirects_to_login(server: WebServer) -> None:
    c = server.client()
    for path in ("/fleet/", f"/stations/{site.OWN_STATION}/", "/alerts/", "/alerts/1/"):
        r = c.get(path)
        assert r.status == 302 and r.location.startswith("/login/"), path
    r = c.post("/alerts/1/ack/", {"note": "x"}, csrf=False)
    assert r.status in (302, 403)


def test_fleet_pages_and_filters_cover_every_station_once(server: WebServer) -> None:
    c = server.login("admin1")
    seen: list[str] = []
    page = 1
    while True:
        body = c.get(f"/fleet/?page={page}").body
        seen += re.findall(r'data-station="([^"]+)"', body)
        if f"page={page + 1}" not in body:
            break
        page += 1
    everything = _stations_of_all(server)
    assert page > 1 and sorted(seen) == sorted(everything)
    body = c.get("/fleet/?village=dongpi&kind=household").body
    got = set(re.findall(r'data-station="([^"]+)"', body))
    assert got == {s for s in _stations_of(server, "dongpi") if s.startswith("s-")}
    body = c.get("/fleet/?state=stopped").body
    assert re.findall(r'data-station="([^"]+)"', body) == [site.STOPPED]
    assert c.get("/fleet/?state=bogus&page=999").status == 200  # unknown filter: no filter


def _stations_of_all(server: WebServer) -> list[str]:
    from core.config import load_config

    return [s.id for s in load_config(server.config).stations]
