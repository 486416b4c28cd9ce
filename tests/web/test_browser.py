"""A real headless Chromium logs in to the real `pvledger serve` (screenshots in tmp_path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By

from tests.web.browser import (
    PHONE,
    browser_login,
    click_and_wait,
    driver,
    overflowing,
    screenshot,
    wait_for,
)
from tests.web.server import WebServer

__all__ = ["driver"]  # the fixture, used by name


def test_login_pages_on_desktop_and_phone(
    web_server: WebServer, driver: Any, tmp_path: Path
) -> None:
    driver.get(web_server.url + "/")
    assert "/login/" in driver.current_url
    screenshot(driver, tmp_path, "login")
    browser_login(driver, web_server, "admin1")
    header = driver.find_element(By.CSS_SELECTOR, "header.top").text
    assert "admin1" in header and "管理员" in header
    assert "东陂村" in driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, tmp_path, "home")
    for path, name in (("/users/", "users"), ("/users/vil1/", "user"), ("/audit/", "audit")):
        driver.get(web_server.url + path)
        wait_for(driver, "main h1")
        assert overflowing(driver) == [], name
        screenshot(driver, tmp_path, name)
    assert "哈希链校验通过" in driver.find_element(By.ID, "chain-ok").text
    click_and_wait(driver, "form.lang button[value=en]")
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text == "Audit trail"
    screenshot(driver, tmp_path, "audit-en")
    driver.set_window_size(*PHONE)
    driver.get(web_server.url + "/users/")
    wait_for(driver, "main h1")
    assert overflowing(driver) == [], "phone"
    screenshot(driver, tmp_path, "users-phone")
    for name in ("login", "home", "users", "user", "audit", "audit-en", "users-phone"):
        assert (tmp_path / f"{name}.png").stat().st_size > 5000, name


def test_forced_password_page_and_not_found_for_a_village_user(
    web_server: WebServer, driver: Any, tmp_path: Path
) -> None:
    driver.get(web_server.url + "/login/")
    driver.find_element(By.ID, "id_username").send_keys("vil1")
    driver.find_element(By.ID, "id_password").send_keys(web_server.passwords["vil1"])
    click_and_wait(driver, "form button[type=submit].primary")
    assert driver.current_url.endswith("/password/")
    assert "只能使用一次" in driver.find_element(By.CSS_SELECTOR, "p.notice").text
    assert driver.find_elements(By.CSS_SELECTOR, "nav.nav a") == []  # nowhere else to go
    screenshot(driver, tmp_path, "password-forced")
    browser_login(driver, web_server, "vil1")  # now changes the password
    driver.get(web_server.url + "/villages/shangxi/")
    wait_for(driver, "main h1")
    assert driver.find_element(By.CSS_SELECTOR, "main h1").text == "未找到"
    assert "上溪村" not in driver.page_source
    screenshot(driver, tmp_path, "not-found")
    driver.get(web_server.url + "/villages/dongpi/")
    wait_for(driver, "main h1")
    assert "东陂村" in driver.find_element(By.CSS_SELECTOR, "main h1").text
    screenshot(driver, tmp_path, "village")
