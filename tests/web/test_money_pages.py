"""The money pages (issues 16/17) over HTTP against the real `pvledger serve`.

The site is tests/revenue/cases/several-schemes (dongpi; shangxi gets a household
station s-hh-3 here so that village scope has something to hide), with valid cards for
hh-1 and hh-3 (hh-2 keeps none: its line is unpaid), a bank `gen` (generic CSV), and a
final run of 2026-08 made by `pvledger revenue --final` before the server starts. The
tests run in order and build on each other: receipts are imported through the page,
the run is batched and the bank's answer (one failed transfer) confirmed through the
pages, then the command line's final run of 2026-09 carries the failed and the unpaid
line, which the batch page names. Expected figures come from the command line on the
same ledger (`pvledger receivables --format json`), never from numbers written here.
"""

from __future__ import annotations

import csv
import json
import secrets
import sqlite3
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from stdnum import luhn

from revenue.bank_template import load_template
from revenue.payees import mask_number
from tests.payments import bank
from tests.revenue.helpers import CASES
from tests.web.browser import driver
from tests.web.client import CSRF_COOKIE, SESSION_COOKIE, Client, text_of
from tests.web.server import WebServer, pvledger, start_server

#: one served site per module, its tests in order on one xdist worker (they build on
#: each other's state: drafts, finals, users' changed passwords)
pytestmark = pytest.mark.xdist_group("test_money_pages")

__all__ = ["driver"]  # the fixture, used by name

AS_OF = "2027-06-30"  # a fixed date: ages do not depend on today


def card(n: int) -> str:
    """A 19-digit card number with a correct Luhn digit."""
    body = f"621700{n:012d}"
    return body + luhn.calc_check_digit(body)


CARDS = {"hh-1": card(11), "hh-3": card(33)}
SHANGXI_STATION = """  - id: s-hh-3
    kind: household
    capacity_kw: 3
    owner: hh-3
    village: shangxi
    devices:
      - {id: s-hh-3-inv, source: mqtt, topic: pv/shangxi/s-hh-3}
"""
BANKS = (
    "payments:\n  banks:\n    - {id: gen, template: generic-csv, payer_name: 测试县,"
    " payer_account: '3624010012345678'}\n"
)


def _readings(site: Path) -> list[dict]:
    """The case's August readings, s-hh-3's, and a September for every station."""
    rows = list(csv.DictReader((site / "readings.csv").open(encoding="utf-8")))
    rows += [
        {
            "station": "s-hh-3",
            "device": "s-hh-3-inv",
            "field": "energy_total_wh",
            "measurement": "pv",
            "local_time": t,
            "value": v,
        }
        for t, v in (("2026-08-01 00:00", "400000"), ("2026-09-01 00:00", "650000"))
    ]
    last: dict[tuple, dict] = {}
    first: dict[tuple, dict] = {}
    for r in rows:
        k = (r["station"], r["device"], r["field"], r["measurement"])
        first.setdefault(k, r)
        last[k] = r
    for k, r in last.items():
        delta = int(r["value"]) - int(first[k]["value"])
        rows.append({**r, "local_time": "2026-10-01 00:00", "value": str(int(r["value"]) + delta)})
    return rows


def _prepare(site: Path) -> None:
    """The case as the served site, its readings in the store, the August run final."""
    import shutil

    from core.config import load_config
    from core.store import open_store
    from tests.revenue.helpers import write_rows

    shutil.copytree(CASES / "several-schemes", site, dirs_exist_ok=True)
    config = site / "config.yaml"
    text = config.read_text(encoding="utf-8")
    for hh, number in CARDS.items():
        text = text.replace(f"{{id: {hh}, ", f'{{id: {hh}, account: "{number}", ', 1)
    text = text.replace("tariffs:\n", SHANGXI_STATION + "tariffs:\n", 1) + BANKS
    config.write_text(text, encoding="utf-8")
    with open_store(load_config(config)) as store:
        write_rows(store, _readings(site))
    r = pvledger(config, "revenue", "--period", "2026-08", "--final", "--out", str(site / "o8"))
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """One served site for the module's tests (they run in order)."""
    with start_server(tmp_path_factory.mktemp("money"), prepare=_prepare) as s:
        yield s


def post_file(c: Client, path: str, name: str, content: bytes, **fields: str):
    """POST multipart/form-data (the CSRF token, fields, and `file`); (status, body, location)."""
    if c.cookie(CSRF_COOKIE) is None:
        c.get("/login/")
    b = secrets.token_hex(16)
    parts = [
        f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in {"csrfmiddlewaretoken": c.cookie(CSRF_COOKIE) or "", **fields}.items()
    ]
    parts.append(
        f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{b}--\r\n".encode())
    req = urllib.request.Request(
        c.base + path,
        b"".join(parts),
        method="POST",
        headers={**c.headers, "Content-Type": f"multipart/form-data; boundary={b}"},
    )
    try:
        with c._opener.open(req, timeout=120) as r:
            return r.status, r.read().decode(), r.headers.get("Location", "")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read().decode(errors="replace"), e.headers.get("Location", "")


def fetch_bytes(c: Client, path: str) -> tuple[int, bytes]:
    """GET path with c's session; status and raw body."""
    try:
        with c._opener.open(c.base + path, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, e.read()


def cli_receivables(server: WebServer, by: str) -> dict:
    """`pvledger receivables --as-of AS_OF --by BY --format json` on the served ledger."""
    r = server.cli("receivables", "--as-of", AS_OF, "--by", by, "--format", "json")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def yuan(fen: int) -> str:
    """As the pages print yuan (thousands separated)."""
    from revenue.money import fen_to_yuan_str

    return fen_to_yuan_str(fen, thousands=True)


def ledger_count(server: WebServer, table: str) -> int:
    """Rows of a table of the served revenue ledger."""
    db = sqlite3.connect(server.config.parent / "data" / "revenue.db")
    try:
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def audit_actions(server: WebServer, prefix: str) -> list[tuple[str, str]]:
    """(action, user) of the audit trail entries whose action starts with prefix."""
    db = sqlite3.connect(server.db)
    try:
        q = "SELECT action, username FROM audit_trail WHERE action LIKE ? ORDER BY seq"
        return list(db.execute(q, (prefix + "%",)))
    finally:
        db.close()


def group_row(body: str, group: str) -> str:
    """The text of the totals row of a group."""
    start = body.index(f'data-group="{group}"')
    return text_of(body[start : body.index("</tr>", start)])


# --- receivables -------------------------------------------------------------------------


def test_receivables_totals_equal_the_command_line_and_tie(server):
    c = server.login("fin1")
    want = cli_receivables(server, "village")
    r = c.get(f"/receivables/?as_of={AS_OF}&by=village")
    assert r.status == 200, r.body[:500]
    assert {row["village"] for row in want["rows"]} == {"dongpi", "shangxi"}
    for row in want["rows"]:
        line = group_row(r.body, row["village"])
        for k in ("accrued_fen", "received_fen", "outstanding_fen"):
            assert yuan(row[k]) in line, (k, line)
    total = text_of(r.body[r.body.index('id="total"') :].split("</tr>")[0])
    assert yuan(want["total"]["outstanding_fen"]) in total
    assert want["total"]["outstanding_fen"] == sum(x["outstanding_fen"] for x in want["rows"])
    assert "<svg" in r.body and 'id="bucket-chart"' in r.body
    drawn = sum(int(v) for v in __import__("re").findall(r'data-fen="(-?\d+)"', r.body))
    not_settled = sum(
        v
        for x in want["rows"]
        for k, v in x.items()
        if k.startswith("outstanding_")
        and k.endswith("_fen")
        and k not in ("outstanding_fen", "outstanding_settled_fen")
    )
    assert drawn == not_settled
    status, data = fetch_bytes(c, f"/receivables.csv?as_of={AS_OF}")
    assert status == 200
    lines = list(csv.DictReader(data.decode("utf-8-sig").splitlines()))
    assert lines and all(
        int(x["accrued_fen"]) - int(x["received_fen"]) == int(x["outstanding_fen"]) for x in lines
    )
    assert sum(int(x["outstanding_fen"]) for x in lines) == want["total"]["outstanding_fen"]


def test_village_user_sees_only_its_village_and_bad_date_is_400(server):
    c = server.login("vil1")
    want = {row["village"]: row for row in cli_receivables(server, "village")["rows"]}
    r = c.get(f"/receivables/?as_of={AS_OF}&by=village")
    assert r.status == 200
    assert 'data-group="dongpi"' in r.body and "shangxi" not in r.body and "s-hh-3" not in r.body
    total = text_of(r.body[r.body.index('id="total"') :].split("</tr>")[0])
    assert yuan(want["dongpi"]["outstanding_fen"]) in total
    status, data = fetch_bytes(c, f"/receivables.csv?as_of={AS_OF}")
    assert status == 200 and b"s-hh-3" not in data and b"v-dongpi" in data
    assert c.get("/receivables/?as_of=2027-13-40").status == 400
    # no batches, no receipts for a village user
    assert c.get("/payments/").status == 403
    assert c.get("/payments/2026-08-r1/").status == 403
    assert c.get("/receipts/").status == 403


# --- receipts ----------------------------------------------------------------------------

HEAD = "received_on,payer,station_id,component,period,amount_fen,reference\n"
GOOD = "2026-09-20,grid_company,v-dongpi,coal_benchmark,2026-08,100000,GRID-2026-0801\n"
BAD = (
    "2026-09-20,grid_company,no-such-station,coal_benchmark,2026-08,5000,GRID-X1\n"
    "2026-09-20,grid_company,s-hh-1,coal_benchmark,2026-08,-5,GRID-X2\n"
)


def test_receipts_dry_run_lists_bad_rows_and_import_is_all_or_nothing(server):
    c = server.login("fin1")
    before = cli_receivables(server, "station")
    status, body, _ = post_file(
        c, "/receipts/upload", "r.csv", (HEAD + GOOD + BAD).encode(), dry_run="1"
    )
    assert status == 400
    assert 'data-line="3"' in body and 'data-line="4"' in body and 'data-line="2"' not in body
    assert "no-such-station" in text_of(body)
    status, body, _ = post_file(
        c, "/receipts/upload", "r.csv", (HEAD + GOOD + BAD).encode(), **{"import": "1"}
    )
    assert status == 400
    assert ledger_count(server, "receipts") == 0
    assert cli_receivables(server, "station") == before
    assert audit_actions(server, "receipts.") == [("receipts.refused", "fin1")]
    # GBK, the dry run first: nothing written by it
    gbk = ("到账日期,付款方,电站编号,电价组成,所属期,金额(分),凭证号\n" + GOOD).encode("gbk")
    status, body, _ = post_file(c, "/receipts/upload", "gbk.csv", gbk, dry_run="1")
    assert status == 200 and 'id="outcome"' in body, text_of(body)[:800]
    assert ledger_count(server, "receipts") == 0
    status, body, _ = post_file(c, "/receipts/upload", "gbk.csv", gbk, **{"import": "1"})
    assert status == 200 and ledger_count(server, "receipts") == 1
    after = {r["station"]: r for r in cli_receivables(server, "station")["rows"]}
    old = {r["station"]: r for r in before["rows"]}
    assert after["v-dongpi"]["received_fen"] - old["v-dongpi"]["received_fen"] == 100000
    assert audit_actions(server, "receipts.")[-1] == ("receipts.import", "fin1")
    r = c.get("/receipts/")
    assert "GRID-2026-0801" in r.body


def test_auditor_and_csrf_change_nothing(server):
    a = server.login("aud1")
    assert a.get(f"/receivables/?as_of={AS_OF}").status == 200
    assert a.get("/payments/").status == 200
    assert "make-1" not in a.get("/payments/").body  # no button for what it may not do
    status, _, _ = post_file(
        a, "/receipts/upload", "r.csv", (HEAD + GOOD).encode(), **{"import": "1"}
    )
    assert status == 403
    assert a.post("/payments/batch", {"run": "1", "bank": "gen"}).status == 403
    status, _, _ = post_file(a, "/payments/confirm", "ret.csv", b"x", confirm="1")
    assert status == 403
    v = server.login("vil1")
    assert v.post("/payments/batch", {"run": "1", "bank": "gen"}).status == 403
    f = server.login("fin1")
    assert f.post("/payments/batch", {"run": "1", "bank": "gen"}, csrf=False).status == 403
    assert ledger_count(server, "payment_batches") == 0


# --- payments ----------------------------------------------------------------------------


def test_batch_confirm_and_the_failed_line_carried(server):
    c = server.login("fin1")
    r = c.post("/payments/batch", {"run": "1", "bank": "gen"})
    assert r.status == 302, r.body[:800]
    batch_id = r.location.rstrip("/").rsplit("/", 1)[-1]
    assert batch_id == "2026-08-r1"
    assert audit_actions(server, "payments.") == [("payments.batch", "fin1")]
    t = load_template("generic-csv", server.config.parent)
    on_disk = server.config.parent / "out" / "payments" / f"batch-{batch_id}-gen{t.suffix}"
    assert stat.S_IMODE(on_disk.stat().st_mode) == 0o600
    page = c.get(f"/payments/{batch_id}/").body
    for number in CARDS.values():
        assert number not in page and mask_number(number) in page
    status, data = fetch_bytes(c, f"/payments/{batch_id}/file")
    assert status == 200 and data == on_disk.read_bytes()
    assert all(n.encode() in data for n in CARDS.values())
    a = server.login("aud1")
    assert fetch_bytes(a, f"/payments/{batch_id}/file")[0] == 403
    assert all(n not in a.get(f"/payments/{batch_id}/").body for n in CARDS.values())

    rows = bank.read_rows(t, data)
    _, at = bank.line_rows(t, rows)
    first = int(rows[at[0]][0])
    answer = bank.answer(t, data, {first: "户名不符"})
    # a return file with an amount changed: every problem shown, nothing recorded
    broken = bank.read_rows(t, answer)
    broken[at[0]][3] = "1.00"
    status, body, _ = post_file(
        c, "/payments/confirm", "bad.csv", bank.write_rows(t, broken), dry_run="1"
    )
    assert status == 400 and 'id="problems"' in body
    status, body, _ = post_file(c, "/payments/confirm", "ok.csv", answer, dry_run="1")
    assert status == 200 and 'id="outcome"' in body, text_of(body)[:800]
    assert ledger_count(server, "payment_confirmations") == 0
    status, body, loc = post_file(c, "/payments/confirm", "ok.csv", answer, confirm="1")
    assert status == 302 and loc.endswith(f"/payments/{batch_id}/"), body[:800]
    assert ledger_count(server, "payment_confirmations") == 1
    assert audit_actions(server, "payments.")[-1] == ("payments.confirm", "fin1")
    page = c.get(f"/payments/{batch_id}/").body
    row = page[page.index(f'data-line="{first}"') :].split("</tr>")[0]
    assert 'data-status="failed"' in row and "户名不符" in row
    # a duplicated confirmation is refused and changes nothing
    status, _, _ = post_file(c, "/payments/confirm", "ok.csv", answer, confirm="1")
    assert status == 400 and ledger_count(server, "payment_confirmations") == 1

    r = pvledger(
        server.config,
        "revenue",
        "--period",
        "2026-09",
        "--final",
        "--out",
        str(server.config.parent / "o9"),
    )
    assert r.returncode == 0, r.stderr
    page = c.get(f"/payments/{batch_id}/").body
    rows_html = [chunk.split("</tr>")[0] for chunk in page.split("<tr data-line=")[1:]]
    carried = [h for h in rows_html if 'data-status="failed"' in h or 'data-status="unpaid"' in h]
    assert len(carried) == 2 and all('data-carried="2"' in h for h in carried), carried
    assert all('data-carried=""' in h for h in rows_html if h not in carried)
    assert ledger_count(server, "payment_results") > 0
    assert server.cli("revenue", "verify").returncode == 0


# --- statements --------------------------------------------------------------------------


def test_statements_scoped_and_downloads(server):
    v = server.login("vil1")
    r = v.get("/statements/?year=2026")
    assert r.status == 200
    assert 'data-household="hh-1"' in r.body and 'data-household="hh-3"' not in r.body
    assert 'data-village="dongpi"' in r.body and 'data-village="shangxi"' not in r.body
    assert fetch_bytes(v, "/statements/2026/household/hh-3.pdf")[0] == 404
    assert fetch_bytes(v, "/statements/2026/village/shangxi.xlsx")[0] == 404
    status, pdf = fetch_bytes(v, "/statements/2026/household/hh-1.pdf")
    assert status == 200 and pdf.startswith(b"%PDF")
    status, xlsx = fetch_bytes(v, "/statements/2026/village/dongpi.xlsx")
    assert status == 200 and xlsx.startswith(b"PK")
    f = server.login("fin1")
    assert fetch_bytes(f, "/statements/2026/household/hh-3.xlsx")[0] == 200
    assert fetch_bytes(f, "/statements/2026/household/no-such.pdf")[0] == 404
    assert f.get("/statements/?year=1999").status == 404
    assert server.login("om1").get("/statements/").status == 403


# --- in a real browser -------------------------------------------------------------------


def test_money_pages_in_the_browser(server, driver, tmp_path):
    """fin1 in Chromium: receivables with the chart, a bad receipt row shown with its line,
    the batch with its failed and carried lines; screenshots in tmp_path."""
    from selenium.webdriver.common.by import By

    from tests.web.browser import (
        PHONE,
        overflowing,
        screenshot,
        wait_for,
    )

    d = driver

    def settled() -> None:
        """Wait for the page's fonts: text widths are final only then."""
        d.execute_async_script("document.fonts.ready.then(() => arguments[0](true));")

    # logged in by the HTTP client, its session handed to the browser: browser_login's
    # click_and_wait meets chromedriver's "Node ... does not belong to the document" when
    # the login page goes away under it (tests/web/browser.py, reported, not ours to edit)
    session = server.login("fin1").cookie(SESSION_COOKIE)
    d.get(server.url + "/login/")
    d.add_cookie({"name": SESSION_COOKIE, "value": session, "path": "/"})
    d.get(f"{server.url}/receivables/?as_of={AS_OF}&by=village")
    wait_for(d, "#bucket-chart")
    bars = d.find_elements(By.CSS_SELECTOR, "#bucket-chart rect")
    assert len(bars) == 5 and any(b.size["height"] > 0 for b in bars)
    settled()
    screenshot(d, tmp_path, "receivables")
    # an SVG <text> has no CSS box (its clientWidth is not its drawn width): looked at instead
    assert [o for o in overflowing(d) if not o.startswith("text.")] == []

    bad = tmp_path / "receipts-bad.csv"
    bad.write_text(HEAD + BAD, encoding="utf-8")
    d.get(f"{server.url}/receipts/")
    wait_for(d, "#upload")
    d.find_element(By.ID, "file").send_keys(str(bad))
    d.find_element(By.ID, "dry-run-button").click()
    wait_for(d, "#problems", 60)  # only the answer has it
    lines = [
        e.get_attribute("data-line")
        for e in d.find_elements(By.CSS_SELECTOR, "#problems tr[data-line]")
    ]
    assert "2" in lines and "3" in lines, lines  # both rows of BAD (header is line 1)
    screenshot(d, tmp_path, "receipts-bad")

    d.get(f"{server.url}/payments/2026-08-r1/")
    wait_for(d, "#batch-lines")
    carried = d.find_elements(By.CSS_SELECTOR, "#batch-lines td.carried")
    assert sorted(c.get_attribute("data-carried") for c in carried if c.text.strip()) == [
        "2",
        "2",
    ]
    screenshot(d, tmp_path, "batch")

    # on a phone: the header with the new links and the wide tables still fit
    d.set_window_size(*PHONE)
    for name, page in (
        ("phone-receivables", f"/receivables/?as_of={AS_OF}"),
        ("phone-statements", "/statements/?year=2026"),
    ):
        d.set_window_size(*PHONE)
        d.get(server.url + page)
        wait_for(d, "main h1")
        settled()
        assert [o for o in overflowing(d) if not o.startswith("text.")] == [], name
        screenshot(d, tmp_path, name)
    print(tmp_path)
