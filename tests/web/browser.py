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
import re
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


def click_and_wait(d: Any, css: str | Any, timeout: float = 60) -> None:
    """Click the element matching css (or the element itself) and wait until the next
    page has loaded.

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
    (d.find_element(By.CSS_SELECTOR, css) if isinstance(css, str) else css).click()
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
    """Save the whole page as folder/name.png (the window stretched to the page's height).

    On a Chinese page (html lang zh...) it then asserts that no English prose shows
    (english_text): untranslated strings are bugs (issue 15). The picture is saved first,
    so a failing page can be looked at.
    """
    width = d.get_window_size()["width"]
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, max(int(height), 300))
    path = folder / f"{name}.png"
    d.save_screenshot(str(path))
    if (d.execute_script("return document.documentElement.lang") or "").startswith("zh"):
        found = english_text(d)
        assert found == [], f"English on the zh page {name} ({path}): {found}"
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


#: words that are not English prose on a Chinese page: units, codes, the switch's name
_ALLOWED = "kWh kWp kW MWh CSV PDF xlsx URL SHA ID IDs English Modbus MQTT TCP RTU SMTP HTTP"
ALLOWED_WORDS = frozenset(f"{_ALLOWED} HTTPS JSON YAML API UTC CST fen pvledger".lower().split())
#: CJK text, which splits runs of English words
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
_PUNCT = "()[]{}<>,.;:!?\"'“”‘’«»·…—–*"


def english_words(text: str) -> list[str]:
    """Runs of two or more English words (3+ letters, not ids/units/codes) in text.

    A word is a bare run of ASCII letters once surrounding punctuation is stripped;
    tokens with digits, hyphens, underscores, slashes, dots or @ inside (station and run
    ids, user and file names, hashes) and the allowed units and codes break a run, and
    the words of a command after "pvledger" ("pvledger receipts import") are its name.
    """
    found: list[str] = []
    for chunk in _CJK.split(text):
        run: list[str] = []
        command = 0  # words left of a command's name ("pvledger receipts import"), a code
        for token in [*chunk.split(), ""]:
            word = token.strip(_PUNCT)
            if command and re.fullmatch(r"[a-z][a-z-]*", word):
                command = command - 1 if word == token else 0  # punctuation ends it
                continue
            command = 2 if word.lower() == "pvledger" and word == token else 0
            if re.fullmatch(r"[A-Za-z]{3,}", word) and word.lower() not in ALLOWED_WORDS:
                run.append(token)
                continue
            if re.fullmatch(r"[A-Za-z]{1,2}", word) and run:  # "a", "of", "to" in prose
                run.append(token)
                continue
            while run and len(run[-1].strip(_PUNCT)) < 3:  # "... station 'x'": not "x"
                run.pop()
            if sum(1 for t in run if len(t.strip(_PUNCT)) >= 3) >= 2:
                found.append(" ".join(run).strip(_PUNCT + " "))
            run = []
    return found


def english_text(d: Any) -> list[str]:
    """English prose visible on the page: runs of 2+ English words (see english_words).

    Reads every visible text node of the body and the title, placeholder and aria-label
    attributes (not scripts, styles, code, or the language switch, lang="en", whose
    "English" is meant) so that a Chinese page shows no untranslated message.
    """
    texts = d.execute_script(
        """
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          const el = n.parentElement;
          if (!el || el.closest('script, style, code, kbd, samp, [lang=en]')) continue;
          if (!el.getClientRects().length) continue;
          const t = n.textContent.trim();
          if (t) out.push(t);
        }
        for (const el of document.querySelectorAll('[title], [placeholder], [aria-label]')) {
          for (const a of ['title', 'placeholder', 'aria-label'])
            if (el.getAttribute(a)) out.push(el.getAttribute(a));
        }
        return out;
        """
    )
    out: list[str] = []
    for t in texts:
        for found in english_words(t):
            if found not in out:
                out.append(found)
    return out
