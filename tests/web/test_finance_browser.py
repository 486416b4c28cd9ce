"""The finance pages in a real headless Chromium against the real `pvledger serve`.

The site is tests/revenue/cases/several-schemes (villages dongpi and shangxi, a month of
August 2026 readings in the store; site-local times, never the wall clock's hour). fin1
computes a draft in the browser and cannot finalize it; fin2 can; the downloaded
workbook's totals equal `pvledger revenue --period 2026-08` run as a subprocess on a copy
of the same data; the village user of dongpi sees nothing of shangxi by link or guessed
URL; a POST without the CSRF token and every auditor POST are refused; a dry-run import
lists its bad lines. Screenshots of each page (zh and en) go to tmp_path.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import sqlite3
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from selenium.webdriver.common.by import By

from core.config import load_config
from core.store import open_store
from revenue.ledger_check import problem_zh
from tests.revenue.helpers import CASES, write_rows
from tests.web.browser import (
    PHONE,
    browser_login,
    click_and_wait,
    driver,
    overflowing,
    screenshot,
    wait_for,
)
from tests.web.client import Client, text_of
from tests.web.server import USERS, WebServer, pvledger, start_server

#: one served site per module, its tests in order on one xdist worker (they build on
#: each other's state: drafts, finals, users' changed passwords)
pytestmark = pytest.mark.xdist_group("test_finance_browser")

__all__ = ["driver"]  # the fixture, used by name

PERIOD = "2026-08"
TZ = ZoneInfo("Asia/Shanghai")  # the case's site.timezone
OTHER_VILLAGE = "shangxi"  # vil1 (tests/web/server.USERS) sees dongpi only
OTHER_HOUSEHOLD = "hh-3"  # the shangxi household of the case
CLI_COPY = "cli-copy"  # the same data, before any run, for the command line's run

BAD_CSV = (
    "station_id,timestamp,export_kwh\n"
    "v-dongpi,2026-08-15 12:00,abc\n"
    "no-such-station,2026-08-15 12:00,10\n"
    "v-dongpi,2026-08-16 12:00,-5\n"
)
STATEMENT_CSV = (  # a settlement statement: the second row's month does not exist
    "station_id,period,export_kwh,statement_no,amount_yuan\n"
    "v-dongpi,2026-08,10000,JS-2026-08-001,4143.00\n"
    "c-a,2026-13,1100,JS-2026-08-002,455.73\n"
)
GOOD_CSV = "station_id,timestamp,export_kwh\nv-dongpi,2026-08-20 12:00,10250.5\n"


def _prepare(site: Path) -> None:
    """The several-schemes case as the served site (Chinese), its readings in the store;
    a copy of it all beside the site for the command line."""
    shutil.copytree(CASES / "several-schemes", site, dirs_exist_ok=True)
    config = site / "config.yaml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("site: {", "site: {language: zh, ", 1), encoding="utf-8")
    cfg = load_config(config)
    rows = list(csv.DictReader((site / "readings.csv").open(encoding="utf-8")))
    with open_store(cfg) as store:
        write_rows(store, rows)
    shutil.copytree(site, site.parent / CLI_COPY)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One served site for the module's tests (they run in order and build on each other)."""
    users = {**USERS, "vil2": ("village", [OTHER_VILLAGE])}
    with start_server(tmp_path_factory.mktemp("finance"), prepare=_prepare, users=users) as s:
        yield s


def _fetch_bytes(c: Client, path: str) -> tuple[int, bytes]:
    """GET path with c's session; status and the raw body (a workbook is not text)."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(c.jar))
    try:
        with opener.open(c.base + path, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()


def _ledger_runs(server: WebServer) -> list[tuple[int, str, str]]:
    """(seq, period, status) of every run, read from the served ledger file itself."""
    db = sqlite3.connect(server.config.parent / "data" / "revenue.db")
    try:
        return list(db.execute("SELECT seq, period, status FROM runs ORDER BY seq"))
    finally:
        db.close()


def _audit_runs(server: WebServer) -> list[tuple[str, str, str]]:
    """(action, user, recorded_at UTC) of the run entries of the served audit trail."""
    db = sqlite3.connect(server.db)
    try:
        q = "SELECT action, username, recorded_at FROM audit_trail WHERE action LIKE 'run.%'"
        return list(db.execute(q + " ORDER BY seq"))
    finally:
        db.close()


def _workbook_totals(data: bytes) -> dict[str, Any]:
    """Per sheet: the sum of every yuan column (header -> sum), and the row count."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    out: dict[str, Any] = {}
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        if not rows:
            out[ws.title] = {}
            continue
        sums: dict[str, Any] = {"rows": len(rows)}
        header = rows[0]
        for i, h in enumerate(header):
            values = [r[i] for r in rows[1:] if i < len(r) and isinstance(r[i], int | float)]
            if values:
                sums[str(h)] = round(sum(values), 2)
        out[ws.title] = sums
    return out


def _run_page(d: Any, server: WebServer, seq: int) -> None:
    d.get(f"{server.url}/runs/{seq}/")
    wait_for(d, "main h1")


def _logout(d: Any) -> None:
    d.delete_all_cookies()


def test_four_eyes_downloads_and_the_command_line(server: WebServer, driver: Any, tmp_path):
    d = driver
    browser_login(d, server, "fin1")
    d.get(server.url + "/runs/")
    wait_for(d, "main h1")
    assert d.find_element(By.CSS_SELECTOR, "main h1").text == "收益结算"
    assert "还没有结算" in d.find_element(By.TAG_NAME, "main").text
    screenshot(d, tmp_path, "runs-empty")
    d.find_element(By.ID, "period").send_keys(PERIOD)
    click_and_wait(d, "#compute-button")
    assert _ledger_runs(server) == [(1, PERIOD, "draft")]
    assert "/runs/1/" in d.current_url
    assert d.find_element(By.ID, "run-status").get_attribute("data-status") == "draft"
    # fin1 computed it: no finalize button, the four-eyes sentence instead
    assert d.find_elements(By.ID, "finalize-button") == []
    assert "双人复核" in d.find_element(By.ID, "guard").text
    history = d.find_element(By.ID, "history").text
    assert "计算草稿" in history and "fin1" in history
    for name in ("checks", "villages", "cooperatives", "households", "reconciliation"):
        table = d.find_element(By.ID, f"table-{name}")
        assert table.find_elements(By.CSS_SELECTOR, "tbody tr"), name  # no empty table
    checks = d.find_element(By.ID, "table-checks").text
    assert "没有负数行" in checks and "no negative line" not in checks  # in the page's words
    households = d.find_element(By.ID, "table-households").text
    assert "张三华" in households and "coop-a 139.91" in households  # names, yuan not fen
    assert "关口表" in d.find_element(By.ID, "table-reconciliation").text
    assert overflowing(d) == []
    screenshot(d, tmp_path, "run-draft-fin1")

    # and the server refuses it too, when fin1 posts the form by hand
    c1 = server.login("fin1")
    r = c1.post("/runs/1/finalize", {})
    assert r.status == 302
    assert "双人复核" in text_of(c1.follow(r).body)
    assert _ledger_runs(server) == [(1, PERIOD, "draft")]

    # a second finance user finalizes
    _logout(d)
    browser_login(d, server, "fin2")
    _run_page(d, server, 1)
    click_and_wait(d, "#finalize-button")
    assert _ledger_runs(server) == [(1, PERIOD, "draft"), (2, PERIOD, "final")]
    assert "/runs/2/" in d.current_url
    history = d.find_element(By.ID, "history").text
    assert "fin1" in history and "fin2" in history and "定稿" in history
    for action, user, at in _audit_runs(server):  # when, in the site's time
        local = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(TZ)
        if action in ("run.compute", "run.finalize"):
            assert f"{user} {local:%Y-%m-%d %H:%M:%S}" in history, (action, history)
    assert d.find_elements(By.CSS_SELECTOR, ".inputs-differ") == []  # nothing changed since
    links = [a.text for a in d.find_elements(By.CSS_SELECTOR, "#downloads a")]
    assert f"payouts-{PERIOD}.xlsx" in links and f"households-{PERIOD}.csv" in links
    assert any("公示表" in t for t in links)
    screenshot(d, tmp_path, "run-final-fin2")

    # the workbook as the ledger recorded it = the command line's run of the same data
    c2 = server.login("fin2")
    status, xlsx = _fetch_bytes(c2, f"/runs/2/files/payouts-{PERIOD}.xlsx")
    assert status == 200 and xlsx[:2] == b"PK"
    copy = server.config.parent.parent / CLI_COPY / "config.yaml"
    out = copy.parent / "out"
    cli = pvledger(copy, "revenue", "--period", PERIOD, "--final", "--out", str(out))
    assert cli.returncode == 0, cli.stderr
    web_totals = _workbook_totals(xlsx)
    cli_totals = _workbook_totals((out / f"payouts-{PERIOD}.xlsx").read_bytes())
    assert web_totals == cli_totals
    households = web_totals["农户"]
    assert households["rows"] > 1 and households["金额(元)"] > 0

    # the run list says who did what
    d.get(server.url + "/runs/")
    wait_for(d, "#runs")
    statuses = [
        tr.get_attribute("data-status")
        for tr in d.find_elements(By.CSS_SELECTOR, "#runs tr[data-run]")
    ]
    assert statuses == ["final", "draft"]
    screenshot(d, tmp_path, "runs-list")

    # English
    click_and_wait(d, "form.lang button[value=en]")
    assert d.find_element(By.CSS_SELECTOR, "main h1").text == "Payout runs"
    _run_page(d, server, 2)
    main = d.find_element(By.TAG_NAME, "main").text
    assert "Reconciliation against the grid statement" in main and "run finalized" in main
    assert overflowing(d) == []
    screenshot(d, tmp_path, "run-final-en")
    d.set_window_size(*PHONE)
    _run_page(d, server, 2)
    assert overflowing(d) == [], "phone"
    screenshot(d, tmp_path, "run-final-phone")


def test_supersede_with_a_reason(server: WebServer, driver: Any, tmp_path: Path):
    d = driver
    c1 = server.login("fin1")
    # a finalized period takes no new draft: a correction is asked, then carried out
    r = c1.post("/runs/compute", {"period": PERIOD})
    assert r.status == 302 and r.location == "/runs/"
    assert "定稿不可更改" in text_of(c1.follow(r).body)
    assert c1.post("/runs/2/correction", {"reason": " "}).status == 302  # no reason: refused
    assert c1.post("/runs/2/supersede", {}).status == 302  # nothing asked: refused
    assert len(_ledger_runs(server)) == 2
    browser_login(d, server, "fin1")
    _run_page(d, server, 2)
    d.find_element(By.ID, "reason").send_keys("结算单更正（测试）")
    click_and_wait(d, "#correction-button")
    assert "结算单更正（测试）" in d.find_element(By.ID, "asked").text
    assert d.find_elements(By.ID, "supersede-button") == []  # fin1 asked: not fin1
    assert "双人复核" in d.find_element(By.ID, "asked-guard").text
    assert c1.post("/runs/2/supersede", {}).status == 302
    assert len(_ledger_runs(server)) == 2
    screenshot(d, tmp_path, "run-correction-asked")
    _logout(d)
    browser_login(d, server, "fin2")
    _run_page(d, server, 2)
    click_and_wait(d, "#supersede-button")
    assert _ledger_runs(server)[-1] == (3, PERIOD, "final")
    main = d.find_element(By.TAG_NAME, "main").text
    assert "结算单更正（测试）" in main and "与被更正批次的差异" in main
    # the same inputs computed again: the correction changes no line, and says so
    assert "没有一行金额变化" in d.find_element(By.ID, "no-differences").text
    history = d.find_element(By.ID, "history").text
    assert "申请更正 fin1" in history and "更正定稿 fin2" in history
    screenshot(d, tmp_path, "run-superseding")
    _run_page(d, server, 2)
    assert d.find_element(By.ID, "run-status").get_attribute("data-status") == "superseded"
    assert d.find_elements(By.CSS_SELECTOR, "main form") == []  # nothing left to do on it
    screenshot(d, tmp_path, "run-superseded")


def test_village_user_sees_only_its_villages(server: WebServer, driver: Any, tmp_path: Path):
    vil = server.login("vil1")
    page = vil.get("/runs/3/")
    assert page.status == 200
    body = text_of(page.body)
    assert "东陂村" in body and OTHER_HOUSEHOLD not in body and "上溪村" not in body
    for r in (
        vil.get(f"/notices/3/{OTHER_VILLAGE}.pdf"),
        vil.get(f"/runs/3/files/payouts-{PERIOD}.xlsx"),  # the workbook holds every village
        vil.get("/runs/999/"),
        vil.get("/runs/1/"),  # a draft: a village sees only what was finalized
        vil.get(f"/runs/1/files/households-{PERIOD}.csv"),
        vil.get(f"/runs/3/files/nothing-{PERIOD}.csv"),
    ):
        assert r.status == 404, r.url
        assert OTHER_HOUSEHOLD not in r.body and "上溪村" not in r.body and "139.90" not in r.body
    status, pdf = _fetch_bytes(vil, "/notices/3/dongpi.pdf")  # its own village's sheet
    assert status == 200 and pdf.startswith(b"%PDF")
    csv_page = vil.get(f"/runs/3/files/households-{PERIOD}.csv")
    assert csv_page.status == 200
    rows = list(csv.DictReader(io.StringIO(csv_page.body.lstrip("\ufeff"))))
    assert rows and {r["village_id"] for r in rows} == {"dongpi"}
    # no action for a village user
    assert vil.post("/runs/compute", {"period": PERIOD}).status == 403
    listed = vil.get("/runs/").body
    assert 'data-run="3"' in listed and 'data-run="1"' not in listed
    # the other way round: the shangxi user sees its household and nothing of dongpi
    vil2 = server.login("vil2")
    body = text_of(vil2.get("/runs/3/").body)
    assert OTHER_HOUSEHOLD in body and "hh-1" not in body and "张三华" not in body
    assert "东陂村" not in body and "1161.85" not in body  # dongpi's pools
    assert vil2.get("/notices/3/dongpi.pdf").status == 404
    d = driver
    browser_login(d, server, "vil1")
    _run_page(d, server, 3)
    assert OTHER_HOUSEHOLD not in d.page_source and "上溪村" not in d.page_source
    assert d.find_elements(By.CSS_SELECTOR, "#downloads a[href$='.xlsx']") == []
    screenshot(d, tmp_path, "run-village")
    d.get(f"{server.url}/notices/3/{OTHER_VILLAGE}.pdf")
    wait_for(d, "main h1")
    assert d.find_element(By.CSS_SELECTOR, "main h1").text == "未找到"
    assert "上溪村" not in d.page_source
    screenshot(d, tmp_path, "notice-other-village")


def test_csrf_and_auditor_read_only(server: WebServer, driver: Any, tmp_path: Path):
    before = _ledger_runs(server)
    c1 = server.login("fin1")
    assert c1.post("/runs/compute", {"period": PERIOD}, csrf=False).status == 403
    aud = server.login("aud1")
    for path, data in (
        ("/runs/compute", {"period": PERIOD}),
        ("/runs/1/finalize", {}),
        ("/runs/3/correction", {"reason": "x"}),
        ("/runs/3/supersede", {}),
        ("/imports/upload", {}),
    ):
        assert aud.post(path, data).status == 403, path
    admin = server.login("admin1")  # finance acts, and nobody else
    assert admin.post("/runs/compute", {"period": PERIOD}).status == 403
    assert admin.post("/runs/3/correction", {"reason": "x"}).status == 403
    assert _ledger_runs(server) == before
    d = driver
    browser_login(d, server, "aud1")
    for path, name in (
        ("/runs/", "runs-auditor"),
        ("/runs/3/", "run-auditor"),
        ("/imports/", "imports-auditor"),
    ):
        d.get(server.url + path)
        wait_for(d, "main h1")
        assert d.find_elements(By.CSS_SELECTOR, "main form") == [], path  # no action at all
        assert overflowing(d) == [], path
        screenshot(d, tmp_path, name)
    trail = text_of(aud.get("/audit/").body)  # the actions named in the page's words
    for words in ("计算草稿", "定稿", "申请更正", "更正定稿", "结算操作被拒绝"):
        assert words in trail, words
    d.get(server.url + "/ledger/check")
    wait_for(d, "main h1")
    assert "哈希链完整" in d.find_element(By.ID, "ledger-ok").text
    screenshot(d, tmp_path, "ledger-check")


def test_dry_run_lists_bad_lines_and_import_is_all_or_nothing(
    server: WebServer, driver: Any, tmp_path: Path
):
    bad = tmp_path / "bad-readings.csv"
    bad.write_text(BAD_CSV, encoding="utf-8")
    good = tmp_path / "good-readings.csv"
    good.write_text(GOOD_CSV, encoding="utf-8")
    d = driver
    browser_login(d, server, "fin1")
    d.get(server.url + "/imports/")
    wait_for(d, "#upload")
    d.find_element(By.ID, "file").send_keys(str(bad))
    click_and_wait(d, "#dry-run-button")
    lines = [
        tr.get_attribute("data-line")
        for tr in d.find_elements(By.CSS_SELECTOR, "#problems tbody tr")
    ]
    assert lines == ["2", "3", "4"]
    assert "bad-readings.csv" in d.find_element(By.ID, "problems").text
    assert overflowing(d) == []
    screenshot(d, tmp_path, "import-dry-run-bad")
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT_CSV, encoding="utf-8")
    d.find_element(By.ID, "file").send_keys(str(statement))
    click_and_wait(d, "#dry-run-button")
    rows = d.find_elements(By.CSS_SELECTOR, "#problems tbody tr")
    assert [tr.get_attribute("data-line") for tr in rows] == ["3"]
    assert "period" in rows[0].text
    # importing the bad file: nothing at all
    d.find_element(By.ID, "file").send_keys(str(bad))
    click_and_wait(d, "#import-button")
    assert len(d.find_elements(By.CSS_SELECTOR, "#problems tbody tr")) == 3
    db = sqlite3.connect(server.config.parent / "data" / "revenue.db")
    try:
        assert db.execute("SELECT count(*) FROM meter_readings").fetchone()[0] == 0
        d.find_element(By.ID, "file").send_keys(str(good))
        click_and_wait(d, "#dry-run-button")
        assert "试导入通过" in d.find_element(By.ID, "outcome").text
        assert db.execute("SELECT count(*) FROM meter_imports").fetchone()[0] == 0
        d.find_element(By.ID, "file").send_keys(str(good))
        click_and_wait(d, "#import-button")
        assert "已导入" in d.find_element(By.ID, "outcome").text
        assert db.execute("SELECT count(*) FROM meter_readings").fetchone()[0] == 1
    finally:
        db.close()
    history = d.find_element(By.ID, "history").text
    assert "good-readings.csv" in history and "fin1" in history
    screenshot(d, tmp_path, "import-done")
    # every action above is in an intact audit trail
    audit = server.cli("users", "verify-audit")
    assert audit.returncode == 0, audit.stderr


def test_ledger_check_page_names_an_edit_like_revenue_verify(
    server: WebServer, driver: Any, tmp_path: Path
):
    # last in the module: it breaks the served ledger on purpose
    db = sqlite3.connect(server.config.parent / "data" / "revenue.db")
    try:
        for (name,) in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'run_files'"
        ).fetchall():
            db.execute(f"DROP TRIGGER {name}")
        db.execute(
            "UPDATE run_files SET content = CAST('edited' AS BLOB) WHERE seq = 2 AND name = ?",
            (f"households-{PERIOD}.csv",),
        )
        db.commit()
    finally:
        db.close()
    # the page first: whoever opens the ledger first also sees the dropped trigger (the
    # open puts it back), then the command line names the rest
    aud = server.login("aud1")
    page = aud.get("/ledger/check")
    assert page.status == 200 and 'id="ledger-bad"' in page.body
    shown = text_of(page.body)
    assert "_no_update 曾被删除" in shown  # the site is Chinese
    cli = server.cli("revenue", "verify")
    assert cli.returncode == 1
    expected = [ln.strip() for ln in cli.stderr.splitlines()[1:] if ln.strip()]
    assert any(f"households-{PERIOD}.csv" in p for p in expected), cli.stderr
    for problem in expected:  # every problem the command line names, on the page in zh
        assert problem_zh(problem) != problem and text_of(problem_zh(problem)) in shown, problem
    # and nothing is computed on a broken ledger
    c1 = server.login("fin1")
    r = c1.post("/runs/compute", {"period": "2026-09"})
    assert r.status == 302 and "revenue verify" in text_of(c1.follow(r).body)
    assert all(p != "2026-09" for _, p, _ in _ledger_runs(server))
    browser_login(driver, server, "aud1")
    driver.get(server.url + "/ledger/check")
    wait_for(driver, "#ledger-bad")
    assert overflowing(driver) == []
    screenshot(driver, tmp_path, "ledger-check-broken")
