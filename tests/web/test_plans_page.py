"""The village distribution plans page (issue 17 item 1) over HTTP against `pvledger serve`.

The site is the shipped config (an approved plan for every village and year) with one
change: dongpi's 2025 plan pays its first post 300 instead of 600 yuan a month, so its
post wages fall below the policy's 60 %. What the page must show is computed from the
served config by revenue/plans.py (the functions `pvledger plans check` runs), never
written here. A second, small site has a final run in its ledger for the pool balances.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import load_config
from revenue.export import mask_name
from revenue.plans import plan_violations, violations
from tests.web.browser import PHONE, browser_login, driver, overflowing, screenshot, wait_for
from tests.web.server import WebServer, pvledger, start_server

#: one served site per module, its tests in order on one xdist worker (they build on
#: each other's state: drafts, finals, users' changed passwords)
pytestmark = pytest.mark.xdist_group("test_plans_page")

__all__ = ["driver"]  # the fixture, used by name

BROKEN = ("dongpi", 2025)


def _break_dongpi_2025(site: Path) -> None:
    """Lower the first post wage of dongpi's 2025 plan to half (below the 60 % share)."""
    config = site / "config.yaml"
    text = config.read_text(encoding="utf-8")
    head = "    - village: dongpi\n      year: 2025\n"
    at = text.index(head)
    posts = text.index("posts:", at)
    wage = text.index('yuan_per_month: "600.00"', posts)
    text = text[:wage] + 'yuan_per_month: "300.00"' + text[wage + len('yuan_per_month: "600.00"') :]
    config.write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The shipped config with dongpi 2025 broken, served for the module's tests."""
    with start_server(tmp_path_factory.mktemp("plans"), prepare=_break_dongpi_2025) as s:
        yield s


def _text(body: str) -> str:
    """The page's text: tags dropped, entities decoded, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_the_broken_plan_shows_the_violation_the_check_finds(server: WebServer):
    config = load_config(server.config)
    plan = config.plans.plan_for(*BROKEN)
    expected = plan_violations(config, plan)
    assert expected and any(v.line == "posts" for v in expected)  # the edit broke the policy
    c = server.login("fin1")
    r = c.get("/plans/dongpi/2025/")
    assert r.status == 200, r.body[:500]
    page = _text(r.body)
    for v in expected:  # the site is Chinese: each violation in Chinese, not in English
        assert v.message_zh, v.render()
        assert v.line in page and v.message_zh in page and v.message not in page, v.render()
    assert 'id="violations"' in r.body and 'id="keeps"' not in r.body
    # the list counts them, and a clean plan keeps the policy
    listing = c.get("/plans/?year=2025")
    row = re.search(r'<tr data-village="dongpi" data-year="2025">(.*?)</tr>', listing.body, re.S)
    assert row is not None and f">{len(expected)}</td>" in row.group(1)
    assert not plan_violations(config, config.plans.plan_for("dongpi", 2026))
    clean = c.get("/plans/dongpi/2026/")
    assert clean.status == 200 and 'id="keeps"' in clean.body
    assert 'id="violations"' not in clean.body


def test_the_plan_page_shows_posts_masked_works_awards_and_approvals(server: WebServer):
    config = load_config(server.config)
    plan = config.plans.plan_for("shangxi", 2026)
    r = server.login("aud1").get("/plans/shangxi/2026/")
    assert r.status == 200
    page = _text(r.body)
    for p in plan.posts:
        name = config.household_by_id[p.holder].name
        assert p.name in page and mask_name(name) in page
        assert name not in page and p.holder not in page  # only the masked name
        assert f"{p.yuan_per_month:.2f}" in page
    for j in plan.projects:
        assert j.name in page and j.approval in page and f"{j.budget_yuan:.2f}" in page
    for a in plan.awards:
        assert a.name in page
        for b in a.beneficiaries:
            assert mask_name(config.household_by_id[b.household].name) in page
    for step in ("assembly", "township", "county"):
        approval = getattr(plan.approvals, step)
        assert approval.reference in page and approval.date.isoformat() in page
    assert 'id="no-ledger"' in r.body  # no final run on this site


def test_a_village_user_sees_only_its_villages_plans(server: WebServer):
    config = load_config(server.config)
    c = server.login("vil1")  # dongpi only
    listing = c.get("/plans/")
    assert listing.status == 200
    shown = set(re.findall(r'<tr data-village="([^"]+)"', listing.body))
    assert shown == {"dongpi"}
    years = {p.year for p in config.plans.villages if p.village == "dongpi"}
    assert (
        set(map(int, re.findall(r'data-village="dongpi" data-year="(\d+)"', listing.body))) == years
    )
    assert c.get("/plans/dongpi/2026/").status == 200
    other = c.get("/plans/shangxi/2026/")  # another village's plan by guessed URL
    assert other.status == 404 and "上溪" not in other.body
    assert c.get("/plans/dongpi/1999/").status == 404  # no such plan
    assert server.login("om1").get("/plans/").status == 403  # not an om page
    # finance sees every village's plans
    every = set(re.findall(r'<tr data-village="([^"]+)"', server.login("fin2").get("/plans/").body))
    assert every == {p.village for p in config.plans.villages}


def test_the_pool_balances_of_the_latest_final_run(tmp_path: Path):
    """A one-village site, two months finalized by the command line: the page shows the
    balances the ledger's latest final run recorded."""
    import json

    from revenue.ledger import Ledger
    from revenue.payout import ledger_path
    from tests.revenue.test_plans import GOOD_PLAN, _config

    def prepare(site: Path) -> None:
        path = _config(site, GOOD_PLAN)
        rows = ["station_id,period,export_kwh", "v-dongpi,2026-07,12390", "v-dongpi,2026-08,11000"]
        (site / "statements.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
        for args in (
            ("import-meter", str(site / "statements.csv")),
            ("revenue", "--period", "2026-07", "--final", "--out", str(site / "o7")),
            ("revenue", "--period", "2026-08", "--final", "--out", str(site / "o8")),
        ):
            r = pvledger(path, *args)
            assert r.returncode == 0, r.stderr

    users = {"fin1": ("finance", []), "vil2": ("village", ["shangxi"])}
    with start_server(tmp_path, prepare=prepare, users=users) as s:
        config = load_config(s.config)
        with Ledger(ledger_path(config)) as ledger:
            latest = ledger.effective_final("2026-08")
        state = json.loads(latest.state)
        expected = {"jobs": state["jobs_balance_fen"]["dongpi"]}
        expected |= {
            k.partition("/")[2]: f
            for k, f in state["pool_balance_fen"].items()
            if k[:7] == "dongpi/"
        }
        assert set(expected) == {"jobs", "projects", "awards"}
        body = s.login("fin1").get("/plans/dongpi/2026/").body
        assert f"(run {latest.seq})" in _text(body) or f"（批次 {latest.seq}）" in _text(body)
        table = re.search(r'<table class="data" id="balances">(.*?)</table>', body, re.S)
        assert table is not None, body[-2000:]
        cells = r'<tr data-pool="([^"]+)"><td>[^<]+</td><td class="num">([^<]+)</td></tr>'
        rows = dict(re.findall(cells, table.group(1)))
        assert rows == {k: f"{f // 100}.{f % 100:02d}" for k, f in expected.items()}
        assert not violations(config, 2026)  # the clean plan: nothing listed
        assert s.login("vil2").get("/plans/dongpi/2026/").status == 404


def test_zh_page_in_a_real_browser(server: WebServer, driver, tmp_path: Path):
    """The broken plan in Chinese at desktop and phone width: nothing overflows, the page's
    own words and the check's violation messages are Chinese."""
    from selenium.webdriver.common.by import By

    browser_login(driver, server, "fin1")
    driver.get(server.url + "/plans/dongpi/2025/")
    wait_for(driver, "#violations")
    text = driver.find_element(By.TAG_NAME, "main").text
    for zh in ("收益分配方案", "政策检查", "审批流程", "公益岗位", "小型公益事业", "奖励补助"):
        assert zh in text
    assert "公益事业资金池" in text and "projects" not in text  # the pool by its name
    for en in ("Policy check", "Approval chain", "Public-welfare posts", "Holder", "Pool"):
        assert en not in text
    assert overflowing(driver) == []
    screenshot(driver, tmp_path, "plan-desktop")
    driver.set_window_size(*PHONE)
    driver.get(server.url + "/plans/?year=2025")
    wait_for(driver, "#plans")
    assert overflowing(driver) == []
    screenshot(driver, tmp_path, "plans-phone")
    print(tmp_path)
