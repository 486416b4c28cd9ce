"""A real headless Chromium for the web tests (selenium + Debian's chromium-driver).

    from tests.web.browser import driver, browser_login, screenshot   # noqa: F401 (fixture)

    def test_page(web_server, driver, tmp_path):
        browser_login(driver, web_server, "fin1")
        driver.get(web_server.url + "/")
        screenshot(driver, tmp_path, "home")

In CI (CI=true) a missing chromium or chromedriver fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = "/usr/bin/chromedriver"
#: desktop and phone window sizes [px]
DESKTOP = (1366, 900)
PHONE = (390, 844)


def _binary() -> str | None:
    return next((p for p in CHROMIUM if Path(p).exists()), shutil.which("chromium"))


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium WebDriver (desktop size, Chinese UI), quit after the test."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = _binary()
    if binary is None or not Path(CHROMEDRIVER).exists():
        message = "chromium / chromium-driver not installed (./scripts/test installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=zh-CN",
        f"--window-size={DESKTOP[0]},{DESKTOP[1]}",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(arg)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    d.set_page_load_timeout(60)
    try:
        yield d
    finally:
        d.quit()


def wait_for(d: Any, css: str, timeout: float = 30) -> Any:
    """The first element matching css, waiting for it to appear."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(d, timeout).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def click_and_wait(d: Any, css: str, timeout: float = 60) -> None:
    """Click the element matching css and wait until the next page has loaded.

    Waiting for an element alone is not enough: the old page has it too until the
    browser replaces it. The old page's window gets a mark; the next page's has none.
    (Waiting for the old <html> to go stale broke under load: Chrome then answers
    "Node ... does not belong to the document", which is not a stale-element error.)
    """
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def replaced(drv: Any) -> bool:
        try:
            return bool(
                drv.execute_script(
                    "return window.__pvledgerOldPage !== true && document.readyState === 'complete'"
                )
            )
        except WebDriverException:  # asked while the page is being replaced
            return False

    d.execute_script("window.__pvledgerOldPage = true")
    d.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(d, timeout, ignored_exceptions=(WebDriverException,)).until(replaced)
    wait_for(d, "main h1", timeout)


def browser_login(d: Any, server: Any, name: str) -> None:
    """Log in through the form (unless logged in); do the forced first password change."""
    import secrets

    from selenium.webdriver.common.by import By

    d.get(server.url + "/login/")
    if d.current_url.rstrip("/").endswith("/login"):
        d.find_element(By.ID, "id_username").send_keys(name)
        d.find_element(By.ID, "id_password").send_keys(server.passwords[name])
        click_and_wait(d, "form button[type=submit].primary")
    else:  # already logged in: a pending password change shows on any page
        d.get(server.url + "/")
        wait_for(d, "main h1")
    if d.current_url.rstrip("/").endswith("/password"):
        new = "N3w-" + secrets.token_urlsafe(12)
        d.find_element(By.ID, "id_old_password").send_keys(server.passwords[name])
        d.find_element(By.ID, "id_new_password1").send_keys(new)
        d.find_element(By.ID, "id_new_password2").send_keys(new)
        click_and_wait(d, "form button[type=submit].primary")
        assert not d.current_url.rstrip("/").endswith("/password"), d.page_source[:2000]
        server.passwords[name] = new


def screenshot(d: Any, folder: Path, name: str) -> Path:
    """Save the whole page as folder/name.png (the window stretched to the page's height)."""
    width = d.get_window_size()["width"]
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, max(int(height), 300))
    path = folder / f"{name}.png"
    d.save_screenshot(str(path))
    return path


def overflowing(d: Any) -> list[str]:
    """Elements whose text runs out of their box horizontally (tag.class: text)."""
    return d.execute_script(
        """
        const out = [];
        for (const el of document.querySelectorAll('main *, header *')) {
          const cs = getComputedStyle(el);
          if (cs.overflowX !== 'visible' || el.closest('.scroll')) continue;
          if (el.scrollWidth > el.clientWidth + 1 && el.clientWidth > 0)
            out.push(el.tagName + '.' + el.className + ': ' + el.textContent.trim().slice(0, 40));
        }
        if (document.documentElement.scrollWidth > window.innerWidth + 1)
          out.push('page wider than the window');
        return out;
        """
    )
